"""Correction requests from /data_saya (`REVQ C [<request id> F|D|DY]`): list them, ask the worker
to fix a submission under review, or mark one done after the change was made outside the bot."""

from __future__ import annotations

import logging
from typing import Any

from bot import notify, review
from bot.access import Access
from bot.context import JagaContext
from bot.i18n import translator
from handlers.common import Turn, answer_button, layout, say
from handlers.review.common import correction_text, locked_text, log_refusal, open_corrections
from handlers.review.fix import choose_fields
from storage import privacy, registrations, users
from storage import review as store
from storage.registrations import Registration, Status

log = logging.getLogger(__name__)

# Correction requests listed at once (the oldest first; the rest after these are done).
MAX_CORRECTIONS_SHOWN = 10
# Registrations BPJS already has: their data is changed outside the bot.
APPROVED_STATES = (Status.APPROVED, Status.REGISTERED)


async def correction_button(
    context: JagaContext, turn: Turn, access: Access, query: Any, args: list[str]
) -> None:
    """Lists open correction requests, or acts on one after re-checking scope and state."""
    _ = turn.gettext
    if not args:
        await answer_button(query)
        await _list_corrections(context, turn, access)
        return
    if len(args) != 2 or not args[0].isdigit() or args[1] not in ("F", "D", "DY"):
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    request_id, action = int(args[0]), args[1]
    request = next(
        (c for c in await open_corrections(context, access) if c.id == request_id), None
    )
    if request is None:  # done by another reviewer, or not this reviewer's district
        await answer_button(query, _("Permintaan perbaikan ini sudah selesai ditangani."))
        return
    row = (
        await registrations.get(context.db, request.registration_id)
        if request.registration_id is not None
        else None
    )
    if row is not None and not review.may_review(access, row):
        log_refusal(turn, query.data, "scope")
        await answer_button(query, _("Anda tidak berwenang meninjau pengajuan ini."))
        return
    await answer_button(query)
    ref = request.ref or "-"
    if action == "F":
        if row is None or row.status != Status.SUBMITTED:
            await say(context, turn.chat_id, _correction_state_changed(turn, ref, row))
            await _list_corrections(context, turn, access)
            return
        if not await store.lock(context.db, row.id, turn.id, review.LOCK_MINUTES):
            await say(context, turn.chat_id, locked_text(turn, row))
            return
        await choose_fields(context, turn, access, row, "")
        return
    if row is not None and row.status == Status.SUBMITTED:
        # Under review: the worker should fix it themselves (the F button), not the reviewer.
        await say(context, turn.chat_id, _correction_state_changed(turn, ref, row))
        await _list_corrections(context, turn, access)
        return
    if action == "D":
        if row is not None and row.status in APPROVED_STATES:
            text = _(
                "Pengajuan {ref} sudah disetujui, jadi datanya diubah di luar bot (misalnya di "
                "kantor BPJS Ketenagakerjaan dan di catatan dinas). Apakah perubahan itu sudah "
                "dilakukan?"
            ).format(ref=ref)
        else:
            text = _(
                "Tandai permintaan perbaikan untuk {ref} selesai? Lakukan ini setelah "
                "perubahannya dibuat."
            ).format(ref=ref)
        await say(
            context,
            turn.chat_id,
            text,
            layout(
                [
                    [(_("Ya, sudah diubah"), f"REVQ C {request_id} DY")],
                    [(_("Belum, kembali"), "REVQ C")],
                ]
            ),
        )
        return
    told = notify.QueuedNotices([await _requester_notice(context, request)])
    if not await privacy.resolve_correction(context.db, request_id, turn.id, then=told.queue):
        await say(context, turn.chat_id, _("Permintaan perbaikan ini sudah selesai ditangani."))
        return
    log.info("event=correction_resolved request=%s reviewer=%s", request_id, turn.id)
    await say(
        context,
        turn.chat_id,
        _("Permintaan perbaikan untuk {ref} ditandai selesai. Peminta sudah diberi tahu.").format(
            ref=ref
        ),
    )
    await told.dispatch(context.services.outbox)


def _correction_state_changed(turn: Turn, ref: str, row: Registration | None) -> str:
    _ = turn.gettext
    if row is None:
        return _("Data pendaftaran {ref} sudah dihapus.").format(ref=ref)
    status = _(review.STATUS_LABELS.get(row.status, row.status))
    return _("Status {ref} sekarang: {status}. Pilih lagi dari daftar.").format(
        ref=ref, status=status
    )


async def _list_corrections(context: JagaContext, turn: Turn, access: Access) -> None:
    """One message per open correction request, with the action its state allows."""
    _ = turn.gettext
    requests = await open_corrections(context, access)
    if not requests:
        await say(
            context, turn.chat_id, _("Tidak ada permintaan perbaikan data yang belum ditangani.")
        )
        return
    for request in requests[:MAX_CORRECTIONS_SHOWN]:
        row = (
            await registrations.get(context.db, request.registration_id)
            if request.registration_id is not None
            else None
        )
        ref = request.ref or "-"
        by = _("kader, atas nama pekerja") if request.on_behalf else _("pekerja sendiri")
        lines = [_("Permintaan perbaikan data untuk {ref}").format(ref=ref)]
        if row is not None:
            status = _(review.STATUS_LABELS.get(row.status, row.status))
            lines.append(
                _("Nama: {name} · Status: {status}").format(name=row.name or "-", status=status)
            )
        sent = review.wib_date(request.created_at)
        if sent is not None:
            lines.append(_("Dikirim {date} oleh {by}").format(date=turn.tr.date(sent), by=by))
        lines.append(f"«{correction_text(context, request)}»")
        rid = request.id
        if row is None:
            lines.append(_("Data pendaftaran ini sudah dihapus."))
            button = (_("Tandai selesai"), f"REVQ C {rid} D")
        elif row.status == Status.SUBMITTED:
            button = (_("Minta pekerja memperbaiki"), f"REVQ C {rid} F")
        else:
            button = (_("Sudah diubah, tandai selesai"), f"REVQ C {rid} D")
        await say(context, turn.chat_id, "\n".join(lines), layout([[button]]))
    if len(requests) > MAX_CORRECTIONS_SHOWN:
        await say(
            context,
            turn.chat_id,
            _("Masih ada {n} permintaan lagi. Selesaikan yang di atas, lalu buka /tinjau.").format(
                n=turn.tr.number(len(requests) - MAX_CORRECTIONS_SHOWN)
            ),
        )


async def _requester_notice(
    context: JagaContext, request: privacy.PrivacyRequest
) -> notify.OutgoingMessage:
    """The note telling whoever asked for the correction that it was handled (UU 27/2022
    Pasal 30)."""
    language = await users.language_of(context.db, request.requested_by)
    _ = translator(language or context.settings.language).gettext
    text = _(
        "Permintaan perbaikan data Anda untuk {ref} sudah ditangani petugas kabupaten. "
        "Lihat data Anda lewat /data_saya."
    ).format(ref=request.ref or "-")
    return notify.OutgoingMessage(request.requested_by, text)
