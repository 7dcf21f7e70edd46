"""The card's buttons (`REV <id> <action> [arg]`): every press re-checks the presser's role, the
submission's district, its state and the lock, then runs the step the action names."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import BadRequest

from bot import review
from bot.access import access_of
from bot.context import JagaContext
from handlers.common import Turn, answer_button, edit_choices, say
from handlers.review.approve import approve_now, ask_sponsor, choose_program, confirm_program
from handlers.review.card import details, next_card, view
from handlers.review.common import clear_step, decided_text, locked_text, log_refusal
from handlers.review.fix import (
    ask_fix_note,
    choose_fields,
    fix_keyboard,
    send_fix_now,
    toggle_field,
)
from handlers.review.reject import ask_reject_note, choose_reason, reject_now
from storage import registrations
from storage import review as store
from storage.registrations import Registration, Status

log = logging.getLogger(__name__)


async def button(update: Update, context: JagaContext) -> None:
    """Handles every card button after re-checking role, district, state and lock."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    if len(parts) < 3 or not parts[1].isdigit():
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    registration_id, action, arg = int(parts[1]), parts[2], (parts[3] if len(parts) > 3 else "")
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_reviewer:
        log_refusal(turn, query.data, "role")
        await answer_button(query, _("Anda tidak berwenang meninjau pengajuan."))
        return
    row = await registrations.get(context.db, registration_id)
    if not review.may_review(access, row):
        log_refusal(turn, query.data, "scope")
        await answer_button(query, _("Anda tidak berwenang meninjau pengajuan ini."))
        return
    assert row is not None
    if action == "SKIP":
        await answer_button(query)
        await clear_step(context, turn)
        await store.unlock(context.db, row.id, turn.id)
        await next_card(context, turn, access, after=(row.submitted_at, row.id), skipped=row.id)
        return
    if not await _still_open(context, turn, query, row):
        return
    if action == "F" and arg in review.FIX_FIELDS:
        await answer_button(query)
        chosen = await toggle_field(context, turn, row, arg)
        try:
            await edit_choices(query, fix_keyboard(turn, row.id, chosen))
        except BadRequest:  # "message is not modified" after a double press
            log.debug("event=fix_keyboard_unchanged registration=%s", row.id)
        return
    handler = ACTIONS.get(action)
    if handler is None:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    await answer_button(query)
    await handler(context, turn, access, row, arg)


async def _still_open(context: JagaContext, turn: Turn, query: Any, row: Registration) -> bool:
    """Whether the card may still be acted on by this reviewer; refreshes its lock if so."""
    if row.status != Status.SUBMITTED:
        await answer_button(query)
        await say(context, turn.chat_id, await decided_text(context, turn, row))
        return False
    if not await store.lock(context.db, row.id, turn.id, review.LOCK_MINUTES):
        await answer_button(query)
        await say(context, turn.chat_id, locked_text(turn, row))
        return False
    return True


ACTIONS = {
    "V": view,
    "D": details,
    "OK": choose_program,
    "P": confirm_program,
    "A": approve_now,
    "S": ask_sponsor,
    "NO": choose_reason,
    "R": ask_reject_note,
    "X": reject_now,
    "FIX": choose_fields,
    "FN": ask_fix_note,
    "FS": send_fix_now,
}
