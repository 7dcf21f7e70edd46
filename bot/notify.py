"""Telling the worker (and the cadre who registered them) that their registration changed state."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, TelegramError

from bot.i18n import Translator, translator
from bot.review import FIX_FIELDS, SELF_PAID, SOURCE_LABELS, STATUS_LABELS
from storage import funding, users
from storage import review as review_store
from storage.db import Database

log = logging.getLogger(__name__)

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one chat, not sent yet: sent directly or put in the outbox."""

    chat_id: int
    text: str
    buttons: Buttons | None = None


async def status_messages(
    db: Database,
    registration_row: dict[str, Any],
    new_status: str,
    reason: str | None,
    *,
    note: str | None = None,
    default_language: str = "id",
) -> list[OutgoingMessage]:
    """The messages telling the worker and the registering cadre, each in their own language.

    `reason` is an Indonesian source string (a reason label, translated here) or free text;
    `note` is the reviewer's own words, passed on as written. Only reads (committed data), so
    it may be called while a write transaction is open (the import does).
    """
    row = registration_row
    worker = row.get("worker_telegram_id")
    operator = row.get("operator_id")
    fixer = worker or operator
    recipients: list[int] = []
    for person in (worker, operator):
        if person and int(person) not in recipients:
            recipients.append(int(person))
    messages: list[OutgoingMessage] = []
    for person in recipients:
        language = await users.language_of(db, person) or default_language
        tr = translator(language)
        text = await _message(tr, db, row, new_status, reason, note, cadre=person != worker)
        buttons = None
        if new_status == "perlu_perbaikan" and person == fixer:
            buttons = [[(tr.gettext("Perbaiki data"), f"FIX {row['id']}")]]
        messages.append(OutgoingMessage(person, text, buttons))
    return messages


async def notify_status_change(
    bot: Bot,
    db: Database,
    registration_row: dict[str, Any],
    new_status: str,
    reason: str | None,
    *,
    note: str | None = None,
    default_language: str = "id",
) -> None:
    """Message the worker and the registering cadre now (see `status_messages`).

    A blocked bot (403) or any other send failure is logged and never undoes the decision.
    """
    messages = await status_messages(
        db, registration_row, new_status, reason, note=note, default_language=default_language
    )
    for message in messages:
        keyboard = None
        if message.buttons:
            keyboard = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                    for row in message.buttons
                ]
            )
        try:
            await bot.send_message(message.chat_id, message.text, reply_markup=keyboard)
        except Forbidden:
            log.warning(
                "event=notify_blocked registration=%s user=%s status=%s",
                registration_row["id"],
                message.chat_id,
                new_status,
            )
        except TelegramError as exc:
            log.warning(
                "event=notify_failed registration=%s user=%s status=%s error=%s",
                registration_row["id"],
                message.chat_id,
                new_status,
                exc,
            )


async def _message(
    tr: Translator,
    db: Database,
    row: dict[str, Any],
    status: str,
    reason: str | None,
    note: str | None,
    *,
    cadre: bool,
) -> str:
    _ = tr.gettext
    name = row.get("name") or ""
    ref = row.get("ref") or ""
    lines: list[str] = []
    if cadre:
        lines.append(_("Kabar untuk pekerja yang Anda daftarkan:"))
    if status == "disetujui":
        lines.append(
            _(
                "Pendaftaran BPJS Ketenagakerjaan atas nama {name} (nomor {ref}) sudah "
                "disetujui petugas kabupaten."
            ).format(name=name, ref=ref)
        )
        label = SOURCE_LABELS.get(row.get("sumber_iuran") or "", SELF_PAID)
        source = _(label)
        program = None
        if row.get("funding_program_id"):
            program = await funding.get(db, int(row["funding_program_id"]))
        if program is not None:
            lines.append(
                _("Iuran dibayar oleh: {program} ({source}).").format(
                    program=program.name, source=source
                )
            )
        else:
            lines.append(_("Iuran dibayar: {source}.").format(source=source))
        lines.append(
            _(
                "Langkah berikutnya: data dikirim ke BPJS Ketenagakerjaan. Kami kabari lagi "
                "setelah nomor kepesertaan (KPJ) terbit."
            )
        )
    elif status == "ditolak":
        lines.append(
            _("Maaf, pendaftaran atas nama {name} (nomor {ref}) tidak disetujui.").format(
                name=name, ref=ref
            )
        )
        if reason:
            lines.append(_("Alasan: {reason}").format(reason=_(reason)))
        if note:
            lines.append(_("Catatan petugas: {note}").format(note=note))
        lines.append(
            _(
                "Jika menurut Anda ada yang keliru, hubungi dinas tenaga kerja kabupaten, atau "
                "daftar lagi dengan data yang benar lewat /daftar."
            )
        )
    elif status == "perlu_perbaikan":
        lines.append(
            _("Petugas meminta perbaikan pendaftaran atas nama {name} (nomor {ref}).").format(
                name=name, ref=ref
            )
        )
        request = await review_store.open_fix_request(db, int(row["id"]))
        if request is not None:
            fields, stored_note = request
            labels = ", ".join(_(FIX_FIELDS[f]) for f in fields if f in FIX_FIELDS)
            lines.append(_("Yang perlu diperbaiki: {fields}").format(fields=labels))
            note = note or stored_note
        if note:
            lines.append(_("Catatan petugas: {note}").format(note=note))
        if cadre and row.get("worker_telegram_id"):
            lines.append(_("Pekerja sudah menerima tombol untuk memperbaiki datanya."))
        else:
            lines.append(_("Tekan tombol di bawah. Hanya bagian itu yang perlu diisi ulang."))
    elif status == "terdaftar":
        lines.append(
            _("Selamat, {name} sudah terdaftar di BPJS Ketenagakerjaan (nomor {ref}).").format(
                name=name, ref=ref
            )
        )
        if row.get("kpj"):
            lines.append(_("Nomor kepesertaan (KPJ): {kpj}").format(kpj=row["kpj"]))
    else:
        lines.append(
            _("Status pendaftaran atas nama {name} (nomor {ref}) sekarang: {status}.").format(
                name=name, ref=ref, status=_(STATUS_LABELS.get(status, status))
            )
        )
        if reason:
            lines.append(_("Alasan: {reason}").format(reason=_(reason)))
    return "\n".join(lines)
