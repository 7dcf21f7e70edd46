"""Asking the worker to fix a card: tick the parts to fix, optionally type a note, then send;
the worker's own correction requests for that submission are marked done."""

from __future__ import annotations

import json

from bot import review
from bot.access import Access
from bot.context import JagaContext
from handlers.common import Keyboard, Turn, columns, layout, say
from handlers.review.card import next_card
from handlers.review.common import (
    FLOW,
    begin_step,
    clear_step,
    correction_text,
    open_corrections,
    tell_refused,
)
from storage import privacy
from storage import review as store
from storage.registrations import Registration


def fix_keyboard(turn: Turn, registration_id: int, chosen: list[str]) -> Keyboard:
    _ = turn.gettext
    rid = registration_id
    buttons = [
        (("☑ " if name in chosen else "☐ ") + _(label), f"REV {rid} F {name}")
        for name, label in review.FIX_FIELDS.items()
    ]
    rows = columns(buttons, 2)
    rows.append([(_("Lanjut"), f"REV {rid} FN"), (_("Kembali"), f"REV {rid} V")])
    return layout(rows)


# A fix step's `reason_code` once the note is asked for (before: the field list is shown).
NOTE_ASKED = "note"


async def _fix_step(context: JagaContext, turn: Turn, row: Registration) -> list[str]:
    """The fields chosen so far for this card (a fix step for another card starts afresh)."""
    step = await store.step_of(context.db, turn.id)
    if step.action == store.StepAction.FIX and step.registration_id == row.id:
        return [f for f in json.loads(step.fields) if f in review.FIX_FIELDS]
    return []


async def choose_fields(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Asks which parts the worker must fix (several may be ticked), then Lanjut."""
    _ = turn.gettext
    await begin_step(context, turn, row, "fix", flow=FLOW)  # a typed field name ticks it
    text = _(
        "Minta perbaikan {ref} ({name}). Pilih bagian yang perlu diperbaiki (boleh lebih "
        "dari satu), lalu tekan Lanjut."
    ).format(ref=row.ref, name=row.name or "-")
    wishes = [
        correction_text(context, c)
        for c in await open_corrections(context, access)
        if c.registration_id == row.id
    ]
    if wishes:
        text += "\n\n" + _("Permintaan perbaikan dari pekerja:") + "\n"
        text += "\n".join(f"«{w}»" for w in wishes)
    await say(context, turn.chat_id, text, fix_keyboard(turn, row.id, []))


async def toggle_field(context: JagaContext, turn: Turn, row: Registration, arg: str) -> list[str]:
    """Ticks or unticks one part; returns the parts now ticked."""
    chosen = await _fix_step(context, turn, row)
    chosen = [f for f in chosen if f != arg] if arg in chosen else [*chosen, arg]
    await begin_step(context, turn, row, "fix", fields=json.dumps(chosen))
    return chosen


async def ask_fix_note(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Asks for the note that tells the worker what is wrong."""
    _ = turn.gettext
    chosen = await _fix_step(context, turn, row)
    if not chosen:
        await say(
            context,
            turn.chat_id,
            _("Pilih minimal satu bagian yang perlu diperbaiki."),
            fix_keyboard(turn, row.id, []),
        )
        return
    await begin_step(
        context, turn, row, "fix", reason_code=NOTE_ASKED, fields=json.dumps(chosen), flow=FLOW
    )
    labels = ", ".join(_(review.FIX_FIELDS[f]) for f in chosen)
    await say(
        context,
        turn.chat_id,
        _(
            "Yang perlu diperbaiki: {fields}\nTulis catatan untuk pekerja: apa yang salah dan "
            "bagaimana memperbaikinya. Lalu kirim."
        ).format(fields=labels),
        layout([[(_("Kirim tanpa catatan"), f"REV {row.id} FS")]]),
    )


async def send_fix_now(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Sends the fix request without a note."""
    await send_fix(context, turn, access, row, "")


async def send_fix(
    context: JagaContext, turn: Turn, access: Access, row: Registration, note: str
) -> None:
    _ = turn.gettext
    chosen = await _fix_step(context, turn, row)
    if not chosen:
        await choose_fields(context, turn, access, row, "")
        return
    try:
        await review.request_fix(
            context.services.outbox, context.db, context.settings, row.id, turn.id, chosen, note
        )
    except store.DecisionRefused as refused:
        await tell_refused(context, turn, refused)
        return
    await clear_step(context, turn)
    labels = ", ".join(_(review.FIX_FIELDS[f]) for f in chosen)
    text = _(
        "Permintaan perbaikan {ref} terkirim ({fields}). Setelah diperbaiki, pengajuan "
        "kembali ke antrean."
    ).format(ref=row.ref, fields=labels)
    # The worker now corrects the data themselves: their correction requests are answered.
    resolved = 0
    for request in await open_corrections(context, access):
        if request.registration_id == row.id:
            resolved += await privacy.resolve_correction(context.db, request.id, turn.id)
    if resolved:
        text += "\n" + _(
            "Permintaan perbaikan data dari pekerja untuk {ref} ditandai selesai."
        ).format(ref=row.ref)
    await next_card(context, turn, access, lead="✏️ " + text)
