"""Typed answers in the review flow (a sponsor's name, a note to the worker), and /batal."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import review
from bot.access import Access, access_of
from bot.context import JagaContext
from bot.registration import CHAT_FILLER, normalise
from handlers import router
from handlers.common import Turn, say
from handlers.review.approve import approve
from handlers.review.buttons import ACTIONS
from handlers.review.card import next_card
from handlers.review.common import clear_step, decided_text, locked_text
from handlers.review.fix import send_fix
from handlers.review.reject import reject
from storage import registrations
from storage import review as store
from storage.registrations import Registration, Status

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
    if not access.is_reviewer or not review.may_review(access, row):
        await clear_step(context, turn)
        await say(
            context,
            turn.chat_id,
            _("Tidak ada langkah tinjauan yang menunggu. Ketik /tinjau untuk membuka antrean."),
        )
        return
    assert row is not None and message is not None
    if step["action"] is None:  # a card (or its payer question) is open: a typed press?
        await _typed_press(update, context, turn, access, row, step, message.text or "")
        return
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
    if not await _still_ours(context, turn, row):
        return
    if step["action"] == "sponsor":
        await approve(context, turn, access, row, str(step["program_id"] or 0), text)
    elif step["action"] == "reject":
        await reject(context, turn, access, row, step["reason_code"] or "lain", text)
    else:
        await send_fix(context, turn, access, row, text)


async def _still_ours(context: JagaContext, turn: Turn, row: Registration) -> bool:
    """Whether the card is still waiting and locked for this reviewer; else the step is
    forgotten and the reviewer told who decided it, or who has it open."""
    if row.status != Status.SUBMITTED:
        await clear_step(context, turn)
        await say(context, turn.chat_id, await decided_text(context, turn, row))
        return False
    if not await store.lock(context.db, row.id, turn.id, review.LOCK_MINUTES):
        await clear_step(context, turn)
        await say(context, turn.chat_id, locked_text(turn, row))
        return False
    return True


async def on_cancel(context: JagaContext, user_id: int) -> None:
    """Forgets the unfinished review step (/batal); the card is left for later."""
    await store.clear_step(context.db, user_id)


# Words a reviewer types instead of pressing a card's button (normalised, filler dropped).
_CARD_WORDS = {
    "OK": {"setujui", "setuju", "disetujui", "acc", "approve", "terima", "ok setujui"},
    "NO": {"tolak", "ditolak", "reject", "tidak setuju"},
    "FIX": {"minta perbaikan", "perbaikan", "perbaiki", "revisi", "fix"},
    "SKIP": {"lewati", "lewat", "skip", "berikutnya", "selanjutnya", "next", "nanti"},
    "D": {"rincian", "detail", "detil"},
}
_YES = {"ya", "iya", "y", "ok", "oke", "okey", "ya setujui", "setujui", "setuju", "acc", "yes"}
_SELF_PAID = {"mandiri", "sendiri", "dibayar sendiri", "bayar sendiri", "pekerja sendiri"}


def typed_action(text: str, confirming: bool) -> tuple[str, str] | None:
    """The card action (and its argument) a typed word stands for, or None.

    `confirming`: the reviewer was just asked "Setujui ..., iuran dibayar ...?", so a yes is
    the approval itself."""
    words = [w for w in normalise(text).split() if w not in CHAT_FILLER]
    said = " ".join(words)
    if confirming and said in _YES:
        return ("A", "")
    if said in _SELF_PAID:
        return ("P", "0")
    for action, forms in _CARD_WORDS.items():
        if said in forms:
            return (action, "")
    return None


async def _typed_press(
    update: Update,
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: Registration,
    step: dict[str, Any],
    text: str,
) -> None:
    """Acts on the open card as if the typed word's button were pressed; any other message
    leaves the desk and is read as usual (a question, a typed command)."""
    confirming = step["program_id"] is not None
    found = typed_action(text, confirming)
    if found is None:
        await clear_step(context, turn)  # the card stays locked for a while; /tinjau reopens
        await router.message(update, context)
        return
    action, arg = found
    if action == "A":
        arg = str(step["program_id"])
    if not await _still_ours(context, turn, row):
        return
    if action == "SKIP":
        await clear_step(context, turn)
        await store.unlock(context.db, row.id, turn.id)
        await next_card(context, turn, access, after=(row.submitted_at, row.id), skipped=row.id)
        return
    await ACTIONS[action](context, turn, access, row, arg)
