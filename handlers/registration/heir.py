"""The heir: a name (with the relation read from it when typed, to confirm) or skipped, then
the relation."""

from __future__ import annotations

from bot.context import JagaContext
from bot.registration import (
    HEIR_RELATIONS,
    Step,
    check_name,
    is_chat_word,
    name_of_answer,
    split_heir,
)
from handlers.common import Turn
from handlers.registration.common import TextAnswer, scratch_with
from handlers.registration.flow import advance, again, stale
from handlers.registration.person import NAME_RULE, NOT_A_NAME_HINT
from storage.registrations import Registration


async def _heir_skip(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    await advance(context, turn, r, Step.HEIR_NAME, heir_name=None, heir_relation=None)


async def _heir_name(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    # "istri sy rina wati": the name is Rina Wati, the relation (to confirm) Suami / istri.
    relation, rest = split_heir(text)
    if is_chat_word(rest):
        await again(context, turn, turn.gettext(NOT_A_NAME_HINT), r)
        return
    name = check_name(name_of_answer(rest))
    if name is None:
        await again(context, turn, turn.gettext(NAME_RULE), r)
        return
    scratch = scratch_with(r, heir_guess=relation)
    await advance(context, turn, r, Step.HEIR_NAME, heir_name=name, scratch=scratch)


async def _heir_relation(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value not in HEIR_RELATIONS:
        await stale(context, turn)
        return
    scratch = scratch_with(r, heir_guess=None)
    await advance(context, turn, r, Step.HEIR_RELATION, heir_relation=value, scratch=scratch)


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
TEXT_ANSWERS: dict[Step, TextAnswer] = {Step.HEIR_NAME: _heir_name}
CHOICES: dict[Step, TextAnswer] = {
    Step.HEIR_NAME: _heir_skip,
    Step.HEIR_RELATION: _heir_relation,
}
