"""The heir: a name (with the relation read from it when typed, to confirm) or skipped, then
the relation; a relation said alone ("ibunya") is kept and its name asked."""

from __future__ import annotations

import json

from bot.context import JagaContext
from bot.registration import (
    HEIR_MOTHER_WORDS,
    HEIR_RELATIONS,
    Step,
    check_name,
    is_chat_word,
    name_of_answer,
    normalise,
    split_heir,
)
from handlers.common import Turn
from handlers.registration.asking import ask_current
from handlers.registration.common import FLOW, StepDef, scratch_with
from handlers.registration.flow import advance, again, stale
from handlers.registration.person import NAME_RULE, NOT_A_NAME_HINT, name_like
from storage import registrations
from storage.registrations import Registration

# What the heir question keeps in the draft's scratch while the name is asked.
_SAID = {"heir_guess": None, "heir_said": None, "heir_mother": None}


async def _heir_button(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value == "mother" and r.mother_name:
        # "ibunya" said, then the mother's name pressed: both heir answers are given.
        await advance(
            context,
            turn,
            r,
            Step.HEIR_RELATION,
            heir_name=r.mother_name,
            heir_relation="orang_tua",
            scratch=scratch_with(r, **_SAID),
        )
        return
    if value != "skip":
        await stale(context, turn)
        return
    await advance(
        context,
        turn,
        r,
        Step.HEIR_NAME,
        heir_name=None,
        heir_relation=None,
        scratch=scratch_with(r, **_SAID),
    )


async def _heir_name(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    # "istri sy rina wati": the name is Rina Wati, the relation (to confirm) Suami / istri.
    relation, rest = split_heir(text)
    if relation is not None and not rest.strip():
        # "ibunya", "istri saya": the relation alone; its name is asked (the mother's offered).
        first = normalise(text).split()[0]
        scratch = scratch_with(
            r,
            heir_guess=relation,
            heir_said=relation,
            heir_mother=True if first in HEIR_MOTHER_WORDS else None,
        )
        await registrations.save_step(context.db, r.id, turn.id, FLOW, scratch=scratch)
        await ask_current(context, turn, r.with_answers(scratch=scratch))
        return
    said = json.loads(r.scratch or "{}").get("heir_said")
    if is_chat_word(rest):
        await again(context, turn, turn.gettext(NOT_A_NAME_HINT), r)
        return
    name = check_name(name_of_answer(rest))
    if name is None:
        await again(context, turn, turn.gettext(NAME_RULE), r)
        return
    if relation is None and said in HEIR_RELATIONS:
        # The relation was said first ("ibunya"), the name now: both are taken.
        await advance(
            context,
            turn,
            r,
            Step.HEIR_RELATION,
            heir_name=name,
            heir_relation=said,
            scratch=scratch_with(r, **_SAID),
        )
        return
    scratch = scratch_with(r, heir_guess=relation, heir_said=None, heir_mother=None)
    await advance(context, turn, r, Step.HEIR_NAME, heir_name=name, scratch=scratch)


async def _heir_relation(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value not in HEIR_RELATIONS:
        await stale(context, turn)
        return
    scratch = scratch_with(r, heir_guess=None)
    await advance(context, turn, r, Step.HEIR_RELATION, heir_relation=value, scratch=scratch)


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
def _reads_heir(r: Registration, text: str) -> bool:
    return name_like(split_heir(text)[1])


STEPS: dict[Step, StepDef] = {
    Step.HEIR_NAME: StepDef(typed=_heir_name, pressed=_heir_button, reads=_reads_heir),
    Step.HEIR_RELATION: StepDef(pressed=_heir_relation),
}
