"""The reminder scan: one repeating job finds who is due a reminder and queues it in the outbox.

Everything it decides is stored (storage/reminders.py records each reminder with a key that
makes it happen once), so a restart neither loses nor repeats one; the outbox sender delivers.
Reminders go out only between the configured hours in WIB:

* protection ending within `protection_reminder_days`, or already ended (until membership ends
  three months later, domain.md §4): how much and how to pay, at most once a week per member;
* a registration sent back for fixing, `fix_reminder_days` after the request, with the FIX button;
* an abandoned draft, once after `draft_reminder_hours` idle (deleting it after
  `draft_retention_days` is the daily retention job's, handlers/privacy.py);
* each cadre's weekly summary on `cadre_summary_weekday`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from bot import contributions
from bot.clock import WIB, utc_iso
from bot.contributions import Mark
from bot.i18n import Translator, translator
from bot.registration import region_name
from bot.settings import Settings
from storage import cadres, funding, registrations
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
        tr = await languages.of(draft["operator_id"])
        text = tr.gettext(
            "Pendaftaran BPJS Ketenagakerjaan yang Anda mulai belum selesai. "
            "Ketik /daftar untuk melanjutkan dari langkah terakhir. Jawaban yang sudah Anda isi "
            "tetap tersimpan."
        )
        if await store.queue_once(
            db,
            kind="draft",
            subject=str(draft["id"]),
            period=str(draft["updated_at"]),
            recipient_id=draft["operator_id"],
            text=text,
            at=utc_iso(now),
        ):
            queued += 1
        # After the record: a crash in between makes the next scan mark it, not remind again.
        await registrations.mark_reminded(db, draft["id"])
    return queued


async def _fixes(db: Database, settings: Settings, now: dt.datetime, languages: _Languages) -> int:
    queued = 0
    before = utc_iso(now - dt.timedelta(days=settings.fix_reminder_days))
    for row in await store.fixes_due(db, before):
        tr = await languages.of(row["operator_id"])
        _ = tr.gettext
        if row["for_self"]:
            text = _(
                "Pendaftaran Anda ({ref}) masih perlu diperbaiki sebelum bisa disetujui. "
                "Tekan tombol di bawah untuk memperbaikinya."
            ).format(ref=row["ref"])
        else:
            text = _(
                "Pendaftaran {name} ({ref}) masih perlu diperbaiki sebelum bisa disetujui. "
                "Tekan tombol di bawah untuk memperbaikinya."
            ).format(name=row["name"], ref=row["ref"])
        if await store.queue_once(
            db,
            kind="fix",
            subject=str(row["id"]),
            period=str(row["fix_id"]),
            recipient_id=row["operator_id"],
            text=text,
            buttons=[[(_("Perbaiki sekarang"), f"FIX {row['id']}")]],
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
        tr = await languages.of(member["recipient_id"])
        text = protection_text(tr, member, today)
        if await store.queue_once(
            db,
            kind="protection",
            subject=member["nik_hash"],
            period=today.isoformat(),
            recipient_id=member["recipient_id"],
            text=text,
            at=utc_iso(local),
            not_since=not_since,
        ):
            queued += 1
    return queued


def protection_text(tr: Translator, member: dict[str, Any], today: dt.date) -> str:
    """The reminder about protection ending (or ended): when, how much, how to pay."""
    _ = tr.gettext
    until = dt.date.fromisoformat(member["protected_until"])
    who = member["name"] or member["nik_masked"]
    if member["for_cadre"]:
        if until >= today:
            lines = [
                _("Perlindungan BPJS Ketenagakerjaan {who} berakhir pada {date}.").format(
                    who=who, date=tr.date(until)
                )
            ]
        else:
            lines = [
                _("Perlindungan BPJS Ketenagakerjaan {who} sudah berakhir pada {date}.").format(
                    who=who, date=tr.date(until)
                )
            ]
        lines.append(_("Mohon sampaikan kepada yang bersangkutan:"))
    elif until >= today:
        lines = [
            _("Perlindungan BPJS Ketenagakerjaan Anda berakhir pada {date}.").format(
                date=tr.date(until)
            )
        ]
    else:
        lines = [
            _("Perlindungan BPJS Ketenagakerjaan Anda sudah berakhir pada {date}.").format(
                date=tr.date(until)
            )
        ]
    lines.append(_amount_line(tr, member, today))
    lines.append(
        _(
            "Cara membayar: sebutkan NIK di kantor pos, gerai ritel, bank mitra, agen Perisai "
            "atau kantor BPJS Ketenagakerjaan, atau bayar lewat aplikasi JMO. Iuran bisa dibayar "
            "untuk 1, 3, 6 atau 12 bulan sekaligus."
        )
    )
    lines.append(
        _(
            "Tidak ada denda keterlambatan, tetapi jika iuran tidak dibayar lebih dari 3 bulan "
            "setelah perlindungan berakhir, kepesertaan berakhir dan harus mulai dari awal."
        )
    )
    return "\n\n".join(lines)


def _amount_line(tr: Translator, member: dict[str, Any], today: dt.date) -> str:
    _ = tr.gettext
    table = contributions.load_table()
    with_jht = member["programs"] == "JKK_JKM_JHT"
    occupation = member["occupation"]
    transport = occupation in contributions.TRANSPORT_OCCUPATIONS if occupation else False
    if member["income"] is None:
        # No income on record: the lowest bracket is the least anyone pays.
        lowest = table.monthly(
            table.brackets[0], with_jht=with_jht, on=today, transport=False, government_paid=False
        )
        text = _(
            "Iuran mulai {amount} per bulan, tergantung penghasilan (tanyakan jumlah pastinya "
            "saat membayar)."
        )
        return text.format(amount=tr.money(lowest.total))
    bracket = table.bracket_for(int(member["income"]))
    contribution = table.monthly(
        bracket, with_jht=with_jht, on=today, transport=transport, government_paid=False
    )
    if contribution.mark is Mark.CONFIRMED:
        return _("Iuran yang perlu dibayar: {amount} per bulan.").format(
            amount=tr.money(contribution.total)
        )
    return _(
        "Iuran yang perlu dibayar sekitar {amount} per bulan (pastikan jumlahnya saat membayar)."
    ).format(amount=tr.money(contribution.total))


async def desa_quota(db: Database, desa_code: str, day: dt.date) -> list[dict[str, Any]]:
    """Funding programs paying for a desa today: name, places and places used."""
    result = []
    for program in await funding.open_for(db, desa_code, day.isoformat()):
        per_desa = program.quota_per_desa is not None
        used = await funding.used(db, program.id, desa_code if per_desa else None)
        limit = program.quota_per_desa if program.quota_per_desa is not None else program.quota
        result.append({"name": program.name, "limit": limit, "used": used, "per_desa": per_desa})
    return result


def quota_lines(tr: Translator, quotas: list[dict[str, Any]]) -> list[str]:
    """One line per funding program: places used of the desa's (or the program's) quota."""
    _ = tr.gettext
    lines = []
    for q in quotas:
        if q["per_desa"]:
            text = _("{program}: {used} dari {limit} kuota desa terpakai, sisa {left}.")
        else:
            text = _("{program}: {used} dari {limit} kuota program terpakai, sisa {left}.")
        lines.append(
            text.format(
                program=q["name"],
                used=tr.number(q["used"]),
                limit=tr.number(q["limit"]),
                left=tr.number(max(q["limit"] - q["used"], 0)),
            )
        )
    return lines


async def _cadre_summaries(db: Database, local: dt.datetime, languages: _Languages) -> int:
    year, week, _day = local.isocalendar()
    period = f"{year}-W{week:02d}"
    since = utc_iso(local - dt.timedelta(days=7))
    queued = 0
    for cadre in await cadres.active_cadres(db):
        desa = cadre["desa_code"]
        tr = await languages.of(cadre["telegram_id"])
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
            subject=f"{cadre['telegram_id']} {desa}",
            period=period,
            recipient_id=cadre["telegram_id"],
            text="\n".join(lines),
            at=utc_iso(local),
        ):
            queued += 1
    return queued
