"""A worker as /status shows them: registration, history, membership and payments."""

from __future__ import annotations

import datetime as dt

from bot import contributions, membership, paying
from bot.context import JagaContext
from bot.i18n import Translator
from bot.membership import Worker
from bot.review import SOURCE_LABELS
from handlers.common import Button, Turn, layout, say
from handlers.status.common import (
    EVENT_WORDS,
    GENERAL_WORDS,
    MAX_EVENTS,
    MEMBER_GENERAL,
    NOT_ENTITLED,
    PROGRAM_WORDS,
    REF_GENERAL_WORDS,
    RESENT,
    STATE_WORDS,
    sender_sees,
)
from storage import audit
from storage import membership as store
from storage.db import Database
from storage.registrations import Registration, Status


def _event_date(at: str) -> dt.date:
    """The WIB date of a stored UTC timestamp."""
    moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment.astimezone(membership.WIB).date()


async def describe(db: Database, tr: Translator, worker: Worker, *, own: bool) -> str:
    """The worker's registration, their membership and any arrears, in plain words (the
    history is a separate message: `history`). Only for an account `entitled` to it."""
    _ = tr.gettext
    lines: list[str] = []
    registration = worker.registration
    if registration is not None:
        if not own and registration.name:
            lines.append(_("Nama: {name}").format(name=registration.name))
        lines.append(_("Nomor pendaftaran: {ref}").format(ref=registration.ref))
        if registration.status != Status.REGISTERED or worker.member is None:
            state = STATE_WORDS[registration.status]
            lines.append(_("Status: {state}").format(state=_(state)))
        if registration.status in (Status.NEEDS_FIX, Status.REJECTED) and registration.reason:
            lines.append(_("Alasan: {reason}").format(reason=registration.reason))
        next_step = {
            "diajukan": _("Petugas kabupaten akan memeriksanya. Tidak perlu mendaftar lagi."),
            "perlu_perbaikan": _(
                "Silakan perbaiki sesuai catatan petugas. Kader desa atau petugas kabupaten "
                "bisa membantu."
            ),
            "disetujui": _(
                "Setelah terdaftar, data baru biasanya muncul di aplikasi JMO setelah 7–14 hari."
            ),
            "ditolak": _(
                "Bila keadaan Anda sudah berubah, Anda bisa mendaftar lagi dengan /daftar."
            ),
        }.get(registration.status)
        if next_step:
            lines += ["", next_step]
    member = worker.member
    if member is not None:
        lines += ["", *member_lines(tr, member, registration)]
    elif registration is None:
        lines.append(_("Belum ada data kepesertaan dari BPJS untuk pekerja ini."))
    return "\n".join(lines).strip()


async def history(db: Database, tr: Translator, registration: Registration) -> str:
    """The registration's changes of state, newest last (at most MAX_EVENTS)."""
    _ = tr.gettext
    lines = [_("Riwayat pendaftaran {ref}:").format(ref=registration.ref)]
    for event in (await audit.history(db, registration.id))[-MAX_EVENTS:]:
        words = (
            _(RESENT)
            if event.from_status == "perlu_perbaikan" and event.to_status == "diajukan"
            else _(EVENT_WORDS.get(event.to_status, event.to_status))
        )
        if event.reason and event.to_status in ("perlu_perbaikan", "ditolak"):
            words += f" ({event.reason})"
        lines.append(f"• {tr.date(_event_date(event.at))}: {words}")
    return "\n".join(lines)


def general_state(tr: Translator, worker: Worker) -> str:
    """The state of a NIK's registration in general words: no name, KPJ, reason or amounts."""
    _ = tr.gettext
    if worker.registration is not None:
        state = worker.registration.status
        return _(GENERAL_WORDS[state])
    return _(MEMBER_GENERAL)


def member_lines(
    tr: Translator, member: store.Member, registration: Registration | None
) -> list[str]:
    """KPJ, programs, protection period and a warning when contributions are late."""
    _ = tr.gettext
    protected = dt.date.fromisoformat(member.protected_until)
    programs = PROGRAM_WORDS[member.programs]
    lines = [
        _("Kepesertaan BPJS Ketenagakerjaan (data BPJS per {date}):").format(
            date=tr.date(_event_date(member.updated_at))
        ),
        _("Nomor KPJ: {kpj}").format(kpj=member.kpj),
        _("Program: {programs}").format(programs=_(programs)),
        _("Terlindungi sampai: {date}").format(date=tr.date(protected)),
    ]
    if member.last_paid:
        last = dt.date.fromisoformat(member.last_paid)
        lines.append(_("Pembayaran terakhir: {date}").format(date=tr.date(last)))
    lines.append("")
    if member.status == store.MemberStatus.ENDED:
        lines.append(
            _(
                "Menurut data BPJS, kepesertaan ini sudah berakhir. Untuk terlindungi lagi, "
                "perlu mendaftar ulang, dan masa iuran dimulai dari nol."
            )
        )
        return lines
    if member.status == store.MemberStatus.INACTIVE:
        lines.append(
            _(
                "Menurut data BPJS, kepesertaan ini tidak aktif. Tanyakan ke kantor cabang "
                "BPJS Ketenagakerjaan atau BPJS 175."
            )
        )
        return lines
    late = membership.arrears(protected, membership.today())
    return [*lines, *_payment_lines(tr, member, registration, protected, late)]


def _payer(registration: Registration | None) -> str:
    """Who pays: from the registration here; a member registered elsewhere pays themselves."""
    if registration is None:
        return contributions.SELF_PAID
    return contributions.payer_of(registration.sumber_iuran, registration.payer)


def asks_to_pay(worker: Worker) -> bool:
    """Whether /status asks this worker to pay now (late, self-paying, still a member)."""
    member = worker.member
    if (
        member is None
        or member.status != store.MemberStatus.ACTIVE
        or _payer(worker.registration) != "mandiri"
    ):
        return False
    protected = dt.date.fromisoformat(member.protected_until)
    late = membership.arrears(protected, membership.today())
    return not late.covered and not late.lapsed


def _payment_lines(
    tr: Translator,
    member: store.Member,
    registration: Registration | None,
    protected: dt.date,
    late: membership.Arrears,
) -> list[str]:
    """By when, how much and what being late means; a program-paid worker is told who pays."""
    _ = tr.gettext
    payer = _payer(registration)
    if payer != contributions.SELF_PAID:
        assert registration is not None
        who = _(SOURCE_LABELS[payer]) if payer in SOURCE_LABELS else _("program pemerintah")
        if registration.sponsor:
            who = f"{registration.sponsor}, {who}"
        return [paying.paid_by_line(tr, who, cadre=False)]
    if late.covered:
        return [
            _("Bayar iuran berikutnya paling lambat {date} agar tetap terlindungi.").format(
                date=tr.date(protected)
            )
        ]
    if late.lapsed:
        return [
            _("PERHATIAN: iuran belum dibayar lebih dari {months} bulan sejak {date}.").format(
                months=membership.GRACE_MONTHS, date=tr.date(protected)
            ),
            paying.late_text(tr),
        ]
    warning = (
        _("PERINGATAN: iuran sudah {months} bulan belum dibayar.").format(months=late.months)
        if late.months >= 2
        else _("Masa perlindungan sudah lewat: iuran bulan ini belum dibayar.")
    )
    lines = [warning]
    if registration is not None and registration.income:
        q = contributions.quote(
            registration.income,
            member.programs,
            contributions.sector_of(registration.occupation),
            contributions.SELF_PAID,
            membership.today(),
        )
        lines.append(paying.amount_line(tr, q))
    lines.append(paying.late_text(tr, late.ends_on))
    return lines


def own_buttons(turn: Turn, worker: Worker, *, others: bool = False) -> list[list[Button]]:
    _ = turn.gettext
    buttons: list[list[Button]] = []
    if asks_to_pay(worker):
        buttons.append([(_(paying.PAY_BUTTON_LABEL), paying.PAY_BUTTON_DATA)])
    if worker.registration is not None:
        buttons.append([(_("Riwayat pendaftaran"), "STS HIST")])
    buttons.append([(_("Status klaim"), "MENU klaim")])
    if others:
        buttons.append([(_("Pekerja yang saya daftarkan"), "STS MINE")])
    buttons.append([(_("Cek status orang lain"), "STS OTHER")])
    return buttons


async def show_registration(context: JagaContext, turn: Turn, registration: Registration) -> None:
    """One registration, for whoever asks by its reference or its button: in full (with the BPJS
    membership) to an account `entitled` to its worker, as the NIK path does; to its worker's
    account and to the account that sent it (`sender_sees`: not a cadre whose role was revoked),
    what the notices already told them (no BPJS membership data); to anyone else only its state
    in general words. A reference number proves nothing."""
    _ = turn.gettext
    nik_hash = str(registration.nik_hash or "")
    worker = await membership.worker_of_nik_hash(context.db, nik_hash) if nik_hash else None
    current = (
        worker is not None
        and worker.registration is not None
        and worker.registration.id == registration.id
    )
    if (
        worker is not None
        and current
        and await membership.entitled(context.db, turn.id, worker, context.settings.admins)
    ):
        own = membership.own_account(worker.registration) == turn.id
        own = own or await store.linked_nik_hash(context.db, turn.id) == worker.nik_hash
        body = await describe(context.db, turn.tr, worker, own=own)
        await say(context, turn.chat_id, body, layout(own_buttons(turn, worker)) if own else None)
        return
    if turn.id == registration.worker_telegram_id or await sender_sees(
        context.db, turn.id, registration
    ):
        own = turn.id == membership.own_account(registration)
        body = await describe(context.db, turn.tr, Worker(nik_hash, registration, None), own=own)
        await say(context, turn.chat_id, body)
        return
    await say(
        context,
        turn.chat_id,
        _(REF_GENERAL_WORDS[registration.status]) + "\n\n" + _(NOT_ENTITLED),
    )
