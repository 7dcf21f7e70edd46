"""Rejecting a card: choose the reason, optionally type a note to the worker, then reject."""

from __future__ import annotations

import json

from bot import review
from bot.access import Access
from bot.context import JagaContext
from handlers.common import Turn, columns, layout, say
from handlers.review.card import next_card
from handlers.review.common import FLOW, begin_step, clear_step, tell_refused
from storage import review as store
from storage.registrations import Registration


async def choose_reason(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Lists the rejection reasons (a reason is pressed or typed next)."""
    await choose_reason_with_note(context, turn, row, "")


async def choose_reason_with_note(
    context: JagaContext, turn: Turn, row: Registration, note: str, matched: str | None = None
) -> None:
    """Lists the rejection reasons; `note` (typed with "tolak, ...") goes to the worker with the
    reason picked next; `matched`, the reason the note seems to give, is named, not chosen."""
    # The reason list: a reject step with no reason yet; its `fields` keep the typed note.
    await begin_step(
        context, turn, row, "reject", fields=json.dumps([note] if note else []), flow=FLOW
    )
    _ = turn.gettext
    rid = row.id
    buttons = [(_(label), f"REV {rid} R {code}") for code, label in review.REJECT_REASONS.items()]
    buttons.append((_("Kembali"), f"REV {rid} V"))
    if note and matched in review.REJECT_REASONS:
        text = _(
            "Tolak {ref} ({name}) dengan catatan «{note}».\nAlasan yang cocok: {reason}. "
            "Tekan alasan itu untuk menolak, atau pilih yang lain:"
        ).format(
            ref=row.ref, name=row.name or "-", note=note, reason=_(review.REJECT_REASONS[matched])
        )
    elif note:
        text = _("Tolak {ref} ({name}) dengan catatan «{note}». Pilih alasannya:").format(
            ref=row.ref, name=row.name or "-", note=note
        )
    else:
        text = _("Tolak {ref} ({name}). Pilih alasannya:").format(
            ref=row.ref, name=row.name or "-"
        )
    await say(context, turn.chat_id, text, layout(columns(buttons, 1)))


async def pending_note(context: JagaContext, turn: Turn, row: Registration) -> str:
    """The note typed with "tolak, ..." for this card's reason list, or ""."""
    step = await store.step_of(context.db, turn.id)
    if (
        step.action != store.StepAction.REJECT
        or step.reason_code
        or step.registration_id != row.id
    ):
        return ""
    kept = json.loads(step.fields or "[]")
    return str(kept[0]) if kept else ""


async def ask_reject_note(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Asks for an optional note to the worker about the rejection (or rejects at once with
    the note already typed with "tolak, ...")."""
    _ = turn.gettext
    code = arg if arg in review.REJECT_REASONS else "lain"
    note = await pending_note(context, turn, row)
    if note:
        await reject(context, turn, access, row, code, note)
        return
    await begin_step(context, turn, row, "reject", reason_code=code, flow=FLOW)
    await say(
        context,
        turn.chat_id,
        _(
            "Alasan: {reason}\nTulis catatan untuk pekerja jika perlu, lalu kirim. "
            "Atau tekan tombol di bawah."
        ).format(reason=_(review.REJECT_REASONS[code])),
        layout(
            [
                [(_("Tolak tanpa catatan"), f"REV {row.id} X {code}")],
                [(_("Kembali"), f"REV {row.id} NO")],
            ]
        ),
    )


async def reject_now(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Rejects without a note."""
    await reject(context, turn, access, row, arg, "")


async def reject(
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: Registration,
    code: str,
    note: str,
) -> None:
    _ = turn.gettext
    try:
        await review.reject(
            context.services.outbox, context.db, context.settings, row.id, turn.id, code, note
        )
    except store.DecisionRefused as refused:
        await tell_refused(context, turn, refused)
        return
    await clear_step(context, turn)
    text = _("Ditolak: {ref} ({name}). Alasan: {reason}\nPekerja sudah diberi tahu.").format(
        ref=row.ref,
        name=row.name or "-",
        # The label only: the reviewer has just written the note; the worker gets both.
        reason=_(review.REJECT_REASONS.get(code, review.REJECT_REASONS["lain"])),
    )
    await next_card(context, turn, access, lead="❌ " + text)
