"""Telling the worker (and the cadre who registered them) that their registration changed state."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot import clock, paying
from bot.contributions import payer_of, quote, sector_of
from bot.i18n import Translator, translator
from bot.labels import FIX_FIELDS, SOURCE_LABELS, STATUS_LABELS
from bot.outbox import OutboxSender, dispatch
from storage import funding, roles, users
from storage import membership as membership_store
from storage import outbox as outbox_store
from storage import review as review_store
from storage.db import Conn, Database
from storage.registrations import Registration, Status

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
    registration_row: Registration,
    new_status: str,
    reason: str | None,
    *,
    note: str | None = None,
    default_language: str = "id",
    district_contacts: Mapping[str, str] | None = None,
) -> list[OutgoingMessage]:
    """The messages telling the worker and the registering cadre (while still a cadre), each in
    their own language.

    `reason` is an Indonesian source string (a reason label, translated here) or free text;
    `note` is the reviewer's own words, passed on as written; `district_contacts` (kabupaten
    code -> office and phone, from the settings) is named in rejection and fix notices. Only
    reads (committed data), so it may be called while a write transaction is open (the import
    does).
    """
    row = registration_row
    worker = row.worker_telegram_id
    operator: int | None = row.operator_id
    if operator and not row.for_self and await roles.lost(db, int(operator), "cadre"):
        # A cadre whose role was revoked no longer hears about the people they registered
        # (the worker's own account and linked accounts still do; a fix goes to the district).
        operator = None
    fixer = worker or operator
    recipients: list[int] = []
    for person in (worker, operator):
        if person and int(person) not in recipients:
            recipients.append(int(person))
    # Accounts linked to the worker by a proof (a worker a cadre registered, who then linked
    # their own Telegram) hear it too, as the worker; a fix is left to whoever has the button.
    linked: list[int] = []
    if new_status != Status.NEEDS_FIX and row.nik_hash:
        for link in await membership_store.links_to(db, row.nik_hash):
            if int(link.telegram_id) not in recipients:
                linked.append(int(link.telegram_id))
                recipients.append(int(link.telegram_id))
    messages: list[OutgoingMessage] = []
    for person in recipients:
        language = await users.language_of(db, person) or default_language
        tr = translator(language)
        contact = (district_contacts or {}).get(row.kabupaten_code or "")
        as_cadre = person != worker and person not in linked
        text, pay = await _message(
            tr, db, row, new_status, reason, note, cadre=as_cadre, contact=contact
        )
        buttons = None
        if new_status == Status.NEEDS_FIX and person == fixer:
            buttons = [[(tr.gettext("Perbaiki data"), f"FIX {row.id}")]]
        elif pay:
            buttons = [[(tr.gettext(paying.PAY_BUTTON_LABEL), paying.PAY_BUTTON_DATA)]]
        messages.append(OutgoingMessage(person, text, buttons))
    return messages


# --- delivery: through the outbox, in the caller's transaction -----------------------------

NOTICE_KIND = "notice"


async def queue_messages(
    conn: Conn, messages: Sequence[OutgoingMessage], kind: str = NOTICE_KIND
) -> list[int]:
    """Put each message in the outbox inside the caller's write transaction; the row ids.

    Called in the transaction that makes the change the messages tell about, so that a crash
    can neither lose them (change committed, messages not) nor send them for a change that was
    rolled back. After the commit, `bot.outbox.dispatch` sends them; the sender retries.
    """
    return [await outbox_store.enqueue(conn, kind, m.chat_id, m.text, m.buttons) for m in messages]


@dataclass
class QueuedNotices:
    """Notices to other people about a change, queued by the change's own transaction.

    Pass `queue` as the storage function's `then=` hook: it runs inside the `db.write()` block
    only if the change applied, so the change and its outbox rows commit together or not at all.
    After the commit, `dispatch` delivers them (the outbox paces, retries and skips people who
    blocked the bot). The texts are rendered before the transaction, since they need reads.
    """

    messages: Sequence[OutgoingMessage]
    ids: list[int] = field(default_factory=list)

    async def queue(self, conn: Conn) -> None:
        """Put one outbox row per message, inside the caller's write transaction."""
        self.ids = await queue_messages(conn, self.messages)

    async def dispatch(self, sender: OutboxSender | None) -> list[int]:
        """Deliver what was queued (nothing if the change did not apply); the row ids."""
        await dispatch(sender, self.ids)
        return self.ids


async def _message(
    tr: Translator,
    db: Database,
    row: Registration,
    status: str,
    reason: str | None,
    note: str | None,
    *,
    cadre: bool,
    contact: str | None = None,
) -> tuple[str, bool]:
    """The notice's text, and whether it tells the worker to pay (then it gets [Cara bayar])."""
    _ = tr.gettext
    pay = False
    name = row.name or ""
    ref = row.ref or ""
    lines: list[str] = []
    if cadre:
        lines.append(_("Kabar untuk pekerja yang Anda daftarkan:"))
    if status == Status.APPROVED:
        lines.append(
            _(
                "Pendaftaran BPJS Ketenagakerjaan atas nama {name} (nomor {ref}) sudah "
                "disetujui petugas kabupaten."
            ).format(name=name, ref=ref)
        )
        paying_lines = await _paying_lines(tr, db, row, cadre=cadre)
        if paying_lines is not None:
            pay = True
            lines += [
                paying_lines[0],
                _(
                    "Bayar setelah nomor kepesertaan (KPJ) terbit; kami kabari. Perlindungan "
                    "mulai setelah iuran pertama dibayar."
                ),
                paying_lines[1],
            ]
        else:
            lines.append(await _paid_by(tr, db, row, cadre=cadre))
            lines.append(
                _(
                    "Langkah berikutnya: data dikirim ke BPJS Ketenagakerjaan. Kami kabari lagi "
                    "setelah nomor kepesertaan (KPJ) terbit."
                )
            )
    elif status == Status.REJECTED:
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
        if contact:
            lines.append(_("Kontak dinas: {contact}").format(contact=contact))
    elif status == Status.NEEDS_FIX:
        lines.append(
            _("Petugas meminta perbaikan pendaftaran atas nama {name} (nomor {ref}).").format(
                name=name, ref=ref
            )
        )
        request = await review_store.open_fix_request(db, row.id)
        if request is not None:
            fields, stored_note = request
            labels = ", ".join(_(FIX_FIELDS[f]) for f in fields if f in FIX_FIELDS)
            lines.append(_("Yang perlu diperbaiki: {fields}").format(fields=labels))
            note = note or stored_note
        if note:
            lines.append(_("Catatan petugas: {note}").format(note=note))
        if cadre and row.worker_telegram_id:
            lines.append(_("Pekerja sudah menerima tombol untuk memperbaiki datanya."))
        else:
            lines.append(_("Tekan tombol di bawah. Hanya bagian itu yang perlu diisi ulang."))
        if contact:
            lines.append(_("Ada pertanyaan? Hubungi {contact}.").format(contact=contact))
    elif status == Status.REGISTERED:
        lines.append(
            _("Selamat, {name} sudah terdaftar di BPJS Ketenagakerjaan (nomor {ref}).").format(
                name=name, ref=ref
            )
        )
        if row.kpj:
            lines.append(_("Nomor kepesertaan (KPJ): {kpj}").format(kpj=row.kpj))
        paying_lines = await _paying_lines(tr, db, row, cadre=cadre)
        if paying_lines is not None:
            pay = True
            lines += [
                paying_lines[0],
                _("Bayar sekarang: perlindungan mulai setelah iuran pertama dibayar."),
                paying_lines[1],
            ]
    else:
        lines.append(
            _("Status pendaftaran atas nama {name} (nomor {ref}) sekarang: {status}.").format(
                name=name, ref=ref, status=_(STATUS_LABELS.get(status, status))
            )
        )
        if reason:
            lines.append(_("Alasan: {reason}").format(reason=_(reason)))
    return "\n".join(lines), pay


async def _paying_lines(
    tr: Translator, db: Database, row: Registration, *, cadre: bool
) -> tuple[str, str] | None:
    """How much and where, for a worker who pays their own contribution; None otherwise."""
    if payer_of(row.sumber_iuran, row.payer) != "mandiri" or not row.income:
        return None
    q = quote(
        int(row.income),
        row.programs,
        sector_of(row.occupation),
        "mandiri",
        clock.today(),
    )
    return paying.amount_line(tr, q, row.pay_period_months), paying.where_line(tr)


async def _paid_by(tr: Translator, db: Database, row: Registration, *, cadre: bool) -> str:
    """Who pays for a program-paid worker: the sponsor, the program and its kind of budget."""
    # No source assigned yet: a program pays (never "Mandiri", which would contradict the line).
    label = SOURCE_LABELS.get(row.sumber_iuran or "")
    who = tr.gettext(label) if label else tr.gettext("program pemerintah")
    program = None
    if row.funding_program_id:
        program = await funding.get(db, row.funding_program_id)
    if program is not None:
        who = f"{program.name} ({who})"
    if row.sponsor:
        who = f"{row.sponsor}, {who}"
    return paying.paid_by_line(tr, who, cadre=cadre)
