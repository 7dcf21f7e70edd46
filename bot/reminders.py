"""The reminder scan: one repeating job finds who is due a reminder and queues it in the outbox.

Everything it decides is stored (storage/reminders.py records each reminder with a key that
makes it happen once), so a restart neither loses nor repeats one; the outbox sender delivers.
Reminders go out only between the configured hours in WIB:

* protection ending within `protection_reminder_days`, or already ended (arrears can be paid for
  three months after, BPJS Ketenagakerjaan Perdir 22/PERDIR.02/072022): how much, where to pay
  and what being late means, at most once a week per member; a program-paid worker is told who
  pays instead;
* a registration sent back for fixing, `fix_reminder_days` after the request, with the FIX button;
* an abandoned draft, once after `draft_reminder_hours` idle (deleting it after
  `draft_retention_days` is the daily retention job's, handlers/privacy.py);
* each cadre's weekly summary on `cadre_summary_weekday`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import contributions, paying
from bot.clock import WIB, utc_iso
from bot.i18n import Translator, translator
from bot.registration import region_name
from bot.review import SOURCE_LABELS
from bot.settings import Settings
from storage import cadres, funding, registrations, roles
from storage import reminders as store
from storage.db import Database

if TYPE_CHECKING:
    from bot.context import JagaContext

log = logging.getLogger(__name__)


async def job(context: JagaContext) -> None:
    """The JobQueue callback: scan now (errors are logged; the next scan tries again)."""
    try:
        counts = await scan(context.db, context.settings, dt.datetime.now(WIB))
    except Exception:
        log.exception("event=reminder_scan_failed")
        return
    if any(counts.values()):
        log.info("event=reminders_queued %s", " ".join(f"{k}={v}" for k, v in counts.items()))


def in_window(settings: Settings, now: dt.datetime) -> bool:
    """Whether reminders may go out at this moment (WIB hours from the settings)."""
    hour = now.astimezone(WIB).hour
    return settings.reminder_start_hour <= hour < settings.reminder_end_hour


async def scan(db: Database, settings: Settings, now: dt.datetime) -> dict[str, int]:
    """Queue every reminder due at `now`; returns how many of each kind were queued."""
    local = now.astimezone(WIB)
    counts = {"protection": 0, "fix": 0, "draft": 0, "cadre_summary": 0}
    if not in_window(settings, now):
        return counts
    languages = _Languages(db, settings.language)
    counts["draft"] = await _drafts(db, settings, now, languages)
    counts["fix"] = await _fixes(db, settings, now, languages)
    counts["protection"] = await _protection(db, settings, local, languages)
    if local.weekday() == settings.cadre_summary_weekday:
        counts["cadre_summary"] = await _cadre_summaries(db, local, languages)
    return counts


class _Languages:
    """Each recipient's translator, looked up once per scan."""

    def __init__(self, db: Database, default: str):
        self.db = db
        self.default = default
        self._cache: dict[int, Translator] = {}

    async def of(self, telegram_id: int) -> Translator:
        if telegram_id not in self._cache:
            language = await self.db.fetchval(
                "SELECT language FROM users WHERE telegram_id = ?", (telegram_id,)
            )
            self._cache[telegram_id] = translator(language or self.default)
        return self._cache[telegram_id]


async def _drafts(
    db: Database, settings: Settings, now: dt.datetime, languages: _Languages
) -> int:
    queued = 0
    idle_since = utc_iso(now - dt.timedelta(hours=settings.draft_reminder_hours))
    for draft in await registrations.idle_drafts(db, idle_since):
        tr = await languages.of(draft.operator_id)
        text = tr.gettext(
            "Pendaftaran BPJS Ketenagakerjaan yang Anda mulai belum selesai. "
            "Ketik /daftar untuk melanjutkan dari langkah terakhir. Jawaban yang sudah Anda isi "
            "tetap tersimpan."
        )
        if await store.queue_once(
            db,
            kind="draft",
            subject=str(draft.id),
            period=str(draft.updated_at),
            recipient_id=draft.operator_id,
            text=text,
            at=utc_iso(now),
        ):
            queued += 1
        # After the record: a crash in between makes the next scan mark it, not remind again.
        await registrations.mark_reminded(db, draft.id)
    return queued


async def _fixes(db: Database, settings: Settings, now: dt.datetime, languages: _Languages) -> int:
    queued = 0
    before = utc_iso(now - dt.timedelta(days=settings.fix_reminder_days))
    for row in await store.fixes_due(db, before):
        if not row.for_self and await roles.lost(db, row.operator_id, "cadre"):
            continue  # a revoked cadre: the district office handles the fix (handlers/status/)
        tr = await languages.of(row.operator_id)
        _ = tr.gettext
        if row.for_self:
            text = _(
                "Pendaftaran Anda ({ref}) masih perlu diperbaiki sebelum bisa disetujui. "
                "Tekan tombol di bawah untuk memperbaikinya."
            ).format(ref=row.ref)
        else:
            text = _(
                "Pendaftaran {name} ({ref}) masih perlu diperbaiki sebelum bisa disetujui. "
                "Tekan tombol di bawah untuk memperbaikinya."
            ).format(name=row.name, ref=row.ref)
        if await store.queue_once(
            db,
            kind="fix",
            subject=str(row.id),
            period=str(row.fix_id),
            recipient_id=row.operator_id,
            text=text,
            buttons=[[(_("Perbaiki sekarang"), f"FIX {row.id}")]],
            at=utc_iso(now),
        ):
            queued += 1
    return queued


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def _protection(
    db: Database, settings: Settings, local: dt.datetime, languages: _Languages
) -> int:
    today = local.date()
    ends_by = today + dt.timedelta(days=settings.protection_reminder_days)
    # Arrears can be paid up to three months after the protection ends; then membership ends.
    ended_after = _add_months(today, -3)
    not_since = utc_iso(local - dt.timedelta(days=7))
    queued = 0
    for member in await store.members_due(db, ends_by.isoformat(), ended_after.isoformat()):
        if member.for_cadre and await roles.lost(db, member.recipient_id, "cadre"):
            continue  # the cadre who registered them lost the role: nobody to tell here
        tr = await languages.of(member.recipient_id)
        text, pay = await protection_message(db, tr, member, today)
        if await store.queue_once(
            db,
            kind="protection",
            subject=member.nik_hash,
            period=today.isoformat(),
            recipient_id=member.recipient_id,
            text=text,
            buttons=[[(tr.gettext(paying.PAY_BUTTON_LABEL), paying.PAY_BUTTON_DATA)]]
            if pay
            else None,
            at=utc_iso(local),
            not_since=not_since,
        ):
            queued += 1
    return queued


def protection_text(tr: Translator, member: store.MemberDue, today: dt.date) -> str:
    """The reminder about protection ending (or ended): when, how much, where to pay.

    A worker whose contribution a program pays is told who pays and is not asked to pay (use
    `protection_message` for that: it names the program).
    """
    return "\n".join(_protection_lines(tr, member, today, paid_by=None))


async def protection_message(
    db: Database, tr: Translator, member: store.MemberDue, today: dt.date
) -> tuple[str, bool]:
    """The reminder's text, and whether it asks to pay (then it gets the [Cara bayar] button)."""
    paid_by = None
    if _payer(member) != contributions.SELF_PAID:
        label = SOURCE_LABELS.get(member.sumber_iuran or "", "")
        who = tr.gettext(label) if label else tr.gettext("program pemerintah")
        if member.funding_program_id:
            program = await funding.get(db, member.funding_program_id)
            if program is not None:
                who = f"{program.name} ({who})"
        if member.sponsor:
            who = f"{member.sponsor}, {who}"
        paid_by = who
    lines = _protection_lines(tr, member, today, paid_by=paid_by)
    return "\n".join(lines), paid_by is None


def _payer(member: store.MemberDue) -> str:
    """Who pays: from the registration; a member with no registration here pays themselves."""
    if member.payer is None and member.sumber_iuran is None:
        return contributions.SELF_PAID
    return contributions.payer_of(member.sumber_iuran, member.payer)


# A cadre's reminder names the worker; a very long name is shortened to keep it to one screen.
_NAME_SHOWN = 40


def _protection_lines(
    tr: Translator, member: store.MemberDue, today: dt.date, *, paid_by: str | None
) -> list[str]:
    _ = tr.gettext
    until = dt.date.fromisoformat(member.protected_until)
    grace = _add_months(until, paying.rules().grace_months)
    who = member.name or member.nik_masked
    if len(who) > _NAME_SHOWN:
        who = who[: _NAME_SHOWN - 1].rstrip() + "…"
    cadre = member.for_cadre
    ended = until < today and paid_by is None  # arrears are for the worker who pays
    if cadre:
        text = (
            _("Perlindungan BPJS Ketenagakerjaan {who} sudah berakhir pada {date}.")
            if ended
            else _("Perlindungan BPJS Ketenagakerjaan {who} berakhir pada {date}.")
        )
    else:
        text = (
            _("Perlindungan BPJS Ketenagakerjaan Anda sudah berakhir pada {date}.")
            if ended
            else _("Perlindungan BPJS Ketenagakerjaan Anda berakhir pada {date}.")
        )
    lines = [text.format(who=who, date=tr.date(until))]
    if paid_by is not None:
        lines.append(paying.paid_by_line(tr, paid_by, cadre=cadre))
        lines.append(_("Tanyakan ke petugas kabupaten apakah program ini diperpanjang."))
        return lines
    if cadre:
        lines[0] += " " + _("Mohon sampaikan kepadanya.")
    lines.append(_amount_line(tr, member, today))
    lines.append(paying.where_line(tr))
    lines.append(paying.late_text(tr, grace if ended else None))
    return lines


def _amount_line(tr: Translator, member: store.MemberDue, today: dt.date) -> str:
    sector = contributions.sector_of(member.occupation)
    if member.income is None:
        # No income on record: the lowest bracket is the least anyone pays.
        lowest = contributions.quote(0, member.programs, sector, contributions.SELF_PAID, today)
        text = tr.gettext(
            "Iuran mulai {amount} per bulan, tergantung penghasilan (tanyakan jumlah pastinya "
            "saat membayar)."
        )
        return text.format(amount=tr.money(lowest.to_pay))
    q = contributions.quote(member.income, member.programs, sector, contributions.SELF_PAID, today)
    return paying.amount_line(tr, q)


@dataclass(frozen=True)
class Quota:
    """A funding program paying for a desa: its name, its places and how many are used."""

    name: str
    limit: int
    used: int
    per_desa: bool  # the places are the desa's own share, not the whole program's


async def desa_quota(db: Database, desa_code: str, day: dt.date) -> list[Quota]:
    """Funding programs paying for a desa today: name, places and places used."""
    result = []
    for program in await funding.open_for(db, desa_code, day.isoformat()):
        per_desa = program.quota_per_desa is not None
        used = await funding.used(db, program.id, desa_code if per_desa else None)
        limit = program.quota_per_desa if program.quota_per_desa is not None else program.quota
        result.append(Quota(program.name, limit, used, per_desa))
    return result


def quota_lines(tr: Translator, quotas: list[Quota]) -> list[str]:
    """One line per funding program: places used of the desa's (or the program's) quota."""
    _ = tr.gettext
    lines = []
    for q in quotas:
        if q.per_desa:
            text = _("{program}: {used} dari {limit} kuota desa terpakai, sisa {left}.")
        else:
            text = _("{program}: {used} dari {limit} kuota program terpakai, sisa {left}.")
        lines.append(
            text.format(
                program=q.name,
                used=tr.number(q.used),
                limit=tr.number(q.limit),
                left=tr.number(max(q.limit - q.used, 0)),
            )
        )
    return lines


async def _cadre_summaries(db: Database, local: dt.datetime, languages: _Languages) -> int:
    year, week, _day = local.isocalendar()
    period = f"{year}-W{week:02d}"
    since = utc_iso(local - dt.timedelta(days=7))
    queued = 0
    for cadre in await cadres.active_cadres(db):
        desa = cadre.desa_code
        tr = await languages.of(cadre.telegram_id)
        _ = tr.gettext
        counts = await cadres.desa_counts_since(db, desa, since)
        lines = [
            _("Ringkasan minggu ini untuk Desa {desa}:").format(desa=region_name(desa)),
            _("• pendaftaran baru: {n}").format(n=tr.number(counts["new"])),
            _("• perlu diperbaiki: {n}").format(n=tr.number(counts["fixing"])),
            _("• disetujui: {n}").format(n=tr.number(counts["approved"])),
        ]
        quotas = await desa_quota(db, desa, local.date())
        lines += ["• " + line for line in quota_lines(tr, quotas)]
        if not quotas:
            lines.append(_("• belum ada program pembiayaan untuk desa ini."))
        lines.append(_("Ketik /kader untuk melihat rinciannya."))
        if await store.queue_once(
            db,
            kind="cadre_summary",
            subject=f"{cadre.telegram_id} {desa}",
            period=period,
            recipient_id=cadre.telegram_id,
            text="\n".join(lines),
            at=utc_iso(local),
        ):
            queued += 1
    return queued
