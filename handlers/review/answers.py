"""Typed answers in the review flow (a sponsor's name, a note to the worker), and /batal."""

from __future__ import annotations

from telegram import Update

from bot import review
from bot.access import access_of
from bot.context import JagaContext
from handlers.common import Turn, say
from handlers.review.approve import approve
from handlers.review.common import clear_step, decided_text, locked_text
from handlers.review.fix import send_fix
from handlers.review.reject import reject
from storage import registrations
from storage import review as store

# A sponsor's name or a note to the worker: long enough for a sentence, short enough to read.
MAX_NOTE = 300


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes the sponsor's name or the note the reviewer was asked for, then decides."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.effective_message
    access = await access_of(context.db, context.settings, turn.id)
    step = await store.step_of(context.db, turn.id)
    row = (
        await registrations.get(context.db, step["registration_id"])
        if step["registration_id"]
        else None
    )
    if not access.is_reviewer or step["action"] is None or not review.may_review(access, row):
        await clear_step(context, turn)
        await say(
            context,
            turn.chat_id,
            _("Tidak ada langkah tinjauan yang menunggu. Ketik /tinjau untuk membuka antrean."),
        )
        return
    assert row is not None and message is not None
    text = (message.text or "").strip()
    if not text:
        await say(
            context,
            turn.chat_id,
            _("Mohon kirim teks biasa, atau tekan salah satu tombol di atas."),
        )
        return
    if len(text) > MAX_NOTE:
        await say(
            context,
            turn.chat_id,
            _(
                "Terlalu panjang: paling banyak {n} huruf. Silakan kirim yang lebih singkat."
            ).format(n=MAX_NOTE),
        )
        return
    if row["status"] != "diajukan":
        await clear_step(context, turn)
        await say(context, turn.chat_id, decided_text(turn, row))
        return
    if not await store.lock(context.db, row["id"], turn.id, review.LOCK_MINUTES):
        await clear_step(context, turn)
        await say(context, turn.chat_id, locked_text(turn, row))
        return
    if step["action"] == "sponsor":
        await approve(context, turn, access, row, str(step["program_id"] or 0), text)
    elif step["action"] == "reject":
        await reject(context, turn, access, row, step["reason_code"] or "lain", text)
    else:
        await send_fix(context, turn, access, row, text)


async def on_cancel(context: JagaContext, user_id: int) -> None:
    """Forgets the unfinished review step (/batal); the card is left for later."""
    await store.clear_step(context.db, user_id)
