"""/status itself, the people an account registered, and the STS buttons."""

from __future__ import annotations

from telegram import Update

from bot import membership
from bot.context import JagaContext
from bot.registration import STATUS_WORDS, progress
from handlers.common import Button, Turn, answer_button, layout, say
from handlers.registration.common import MAX_MESSAGE
from handlers.status.common import FLOW, MAX_LISTED, limit_reached, sender_sees
from handlers.status.linking import answer_request
from handlers.status.showing import describe, history, own_buttons, show_registration
from storage import membership as store
from storage import registrations, roles
from storage.db import Database
from storage.registrations import Registration


async def status(update: Update, context: JagaContext) -> None:
    """Shows the worker this account is (or is linked to); else the people it registered, if
    any, each a button away; and offers to link or check a NIK."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    worker = await membership.worker_of(context.db, turn.id)
    if worker is None and await _list_submitted(context, turn, has_own=False):
        return
    if worker is None and await _unsent_draft(context, turn):
        return
    if worker is None:
        text = _(
            "Akun ini belum terhubung dengan data pekerja.\n\n"
            "Bila Anda sudah terdaftar (sendiri, lewat kader atau Pemda), hubungkan akun ini "
            "dengan data Anda. Ini cukup dilakukan sekali."
        )
        rows: list[list[Button]] = [
            [(_("Hubungkan data saya"), "STS SELF")],
            [(_("Cek status orang lain"), "STS OTHER")],
        ]
        if "daftar" in context.services.commands:
            rows.append([(_("Daftar sekarang"), "MENU daftar")])
        await say(context, turn.chat_id, text, layout(rows))
        return
    text = await describe(context.db, turn.tr, worker, own=True)
    others = bool(await _submitted_for_others(context.db, turn.id, limit=1))
    await say(context, turn.chat_id, text, layout(own_buttons(turn, worker, others=others)))


async def _unsent_draft(context: JagaContext, turn: Turn) -> bool:
    """Says that the registration being filled in has no status until it is sent, with a way to
    continue it; False when there is none."""
    draft = await registrations.draft_under_way(context.db, turn.id)
    if draft is None:
        return False
    _ = turn.gettext
    done, total = progress(draft)
    text = _(
        "Ada pendaftaran yang belum selesai ({done} dari {total} terisi). Statusnya baru ada "
        "setelah dikirim. Lanjutkan sekarang?"
    ).format(done=done, total=total)
    rows: list[list[Button]] = [
        [(_("Lanjutkan pendaftaran"), "REGX go")],
        [(_("Cek status orang lain"), "STS OTHER")],
    ]
    await say(context, turn.chat_id, text, layout(rows))
    return True


async def _list_submitted(context: JagaContext, turn: Turn, *, has_own: bool) -> bool:
    """Lists the people this account registered (a cadre's or relative's), newest first, each
    with a button to its status; False when there are none. `has_own`: the account has its own
    data too, so linking is not offered."""
    _ = turn.gettext
    rows = await _submitted_for_others(context.db, turn.id, limit=MAX_LISTED)
    if not rows:
        return False
    head = _("Pekerja yang Anda daftarkan:")
    tail = [_("Tekan nama untuk melihat statusnya.")]
    if not has_own:
        tail.append(
            _(
                "Akun ini belum terhubung dengan data Anda sendiri. Bila Anda sendiri sudah "
                "terdaftar, tekan «Hubungkan data saya»."
            )
        )
    room = MAX_MESSAGE - len(head) - sum(len(t) + 1 for t in tail) - 2
    lines: list[str] = []
    buttons: list[list[Button]] = []
    for row in rows:
        line = f"• {(row.name or '')[:30]} ({row.ref}): {_(STATUS_WORDS[row.status])}"
        if len(line) + 1 > room:
            break
        room -= len(line) + 1
        lines.append(line)
        buttons.append([(f"{(row.name or '')[:24]} ({row.ref})", f"STS REG {row.id}")])
    if not has_own:
        buttons.append([(_("Hubungkan data saya"), "STS SELF")])
    buttons.append([(_("Cek status orang lain"), "STS OTHER")])
    text = "\n".join([head, *lines, "", *tail])
    await say(context, turn.chat_id, text, layout(buttons))
    return True


async def _submitted_for_others(
    db: Database, telegram_id: int, *, limit: int
) -> list[Registration]:
    """The people this account registered that it still follows, newest first: none once a
    cadre's role was revoked (a relative who was never a cadre keeps theirs)."""
    if await roles.lost(db, telegram_id, "cadre"):
        return []
    return await registrations.for_others_by(db, telegram_id, limit=limit)


async def button(update: Update, context: JagaContext) -> None:
    """STS SELF|OTHER asks for a NIK; STS HIST shows the history; STS MINE lists the people
    this account registered and STS REG <id> shows one of them; STS OK|NO <id> is a cadre's
    or reviewer's answer to a link request (OK then asks for the code)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    action = parts[1] if len(parts) > 1 else ""
    if action in ("OK", "NO") and len(parts) == 3 and parts[2].isascii() and parts[2].isdigit():
        await answer_request(context, turn, query, int(parts[2]), confirm=action == "OK")
        return
    await answer_button(query)
    if action == "REG" and len(parts) == 3 and parts[2].isascii() and parts[2].isdigit():
        registration = await registrations.get(context.db, int(parts[2]))
        if (
            registration is None
            or not registration.ref
            or not await sender_sees(context.db, turn.id, registration)
        ):
            await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
            return
        await show_registration(context, turn, registration)
        return
    if action == "MINE" and len(parts) == 2:
        if not await _list_submitted(context, turn, has_own=True):
            await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    if action == "HIST" and len(parts) == 2:
        worker = await membership.worker_of(context.db, turn.id)
        if worker is None or worker.registration is None:
            await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
            return
        await say(context, turn.chat_id, await history(context.db, turn.tr, worker.registration))
        return
    if action not in ("SELF", "OTHER") or len(parts) != 2:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return
    await store.set_flow_state(context.db, turn.id, FLOW, "nik", purpose=action.lower())
    question = (
        _("Ketik NIK Anda (16 angka di KTP).")
        if action == "SELF"
        else _(
            "Ketik NIK pekerja yang ingin dicek (16 angka di KTP), atau nomor pendaftarannya "
            "(diawali JP)."
        )
    )
    await say(context, turn.chat_id, question + "\n" + _("Ketik /batal untuk berhenti."))


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow; forgets the NIK typed so far (or the link request being confirmed)."""
    await store.end_flow(context.db, telegram_id, FLOW)
