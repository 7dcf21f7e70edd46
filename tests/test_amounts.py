"""One amount everywhere, and the step after approval: paying.

For one person and one day, the registration buttons, the summary, /iuran, the approval notice,
the protection reminder and the export show the same figures (normal amount, PP 50/2025
discount for that payer and sector that day, amount to pay). A self-paying worker is told how
much, by when and where, with a [Cara bayar] button; a program-paid worker is told who pays and
is never asked to pay.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot import clock, membership
from bot import export as exporter
from bot import review as desk
from bot.clock import WIB
from bot.crypto import mask_nik
from bot.reminders import scan
from storage import funding, registrations, roles
from storage import membership as member_store
from tests.conftest import Harness, HarnessFactory, make_settings
from tests.factories import nik_for, submitted_registration

WORKER = 611
REVIEWER = 7101
DISCOUNT_DAY = dt.date(2026, 6, 1)  # inside the non-transport window (Apr-Dec 2026)
NORMAL_DAY = dt.date(2027, 6, 1)  # every window has ended


def rp(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def pin_today(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    """Every screen's "today" is this day."""
    monkeypatch.setattr(clock, "today", lambda: day)
    monkeypatch.setattr(membership, "today", lambda: day)


async def walk_to_programs(h: Harness, uid: int, nik: str) -> None:
    """A fisherman registers himself up to the programs question (income up to Rp1.099.000)."""
    await h.send(uid, "/daftar")
    await h.tap(uid, "Setuju")
    await h.tap(uid, "Diri saya sendiri")
    await h.send(uid, nik)
    await h.send(uid, "budi santoso")
    await h.tap(uid, "Benar")
    await h.send(uid, "siti aminah")
    await h.update(h.updates.contact(uid, "0812-3456-7890"))
    await h.tap(uid, "Kabupaten Labuhanbatu")
    await h.tap(uid, "Panai Hilir")
    await h.tap(uid, "Sei Berombang")
    await h.tap(uid, "Nelayan")
    await h.tap(uid, "Sampai Rp1.099.000")


async def approve(h: Harness, registration_id: int, program_id: int) -> list[str]:
    """The reviewer approves at the desk (program 0: the worker pays); the worker's messages."""
    await h.send(REVIEWER, "/tinjau")
    await h.press(REVIEWER, f"REV {registration_id} OK")
    await h.press(REVIEWER, f"REV {registration_id} P {program_id}")
    calls = await h.press(REVIEWER, f"REV {registration_id} A {program_id}")
    return [c.text for c in calls if c.chat_id == WORKER and c.text]


async def reminder_of(h: Harness, nik: str, day: dt.date) -> dict[str, Any]:
    """The member's protection ends in three days: the reminder queued on that day."""
    cipher = h.app.bot_data.cipher
    nik_hash = cipher.lookup_hash("nik", nik)
    async with h.db.write() as conn:
        await member_store.upsert_member(
            conn,
            member_store.Member(
                nik_hash=nik_hash,
                nik_enc=cipher.encrypt(nik),
                nik_masked=mask_nik(nik),
                kpj="12345678901",
                programs="JKK_JKM",
                protected_until=(day + dt.timedelta(days=3)).isoformat(),
                last_paid=None,
                status=member_store.MemberStatus.ACTIVE,
                birth_date=None,
            ),
        )
    now = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=WIB)
    assert (await scan(h.db, h.app.bot_data.settings, now))["protection"] == 1
    row = await h.db.fetchone(
        "SELECT o.chat_id, o.text, o.buttons FROM reminders_sent s "
        "JOIN outbox o ON o.id = s.outbox_id WHERE s.kind = 'protection'"
    )
    assert row is not None
    return dict(row)


async def exported(h: Harness, tmp_path: Path) -> dict[str, str]:
    """The worker's row of the CSV export."""
    path = tmp_path / "export.csv"
    await exporter.export(h.db, h.app.bot_data.cipher, path, "csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    return row


@pytest.mark.parametrize(
    ("day", "to_pay", "discount"),
    [(DISCOUNT_DAY, 8_400, 8_400), (NORMAL_DAY, 16_800, 0)],
)
async def test_a_self_paying_worker_sees_one_amount_everywhere(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    day: dt.date,
    to_pay: int,
    discount: int,
) -> None:
    h = harness
    pin_today(monkeypatch, day)
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    nik = nik_for("12.10.19")
    await walk_to_programs(h, WORKER, nik)
    # The program buttons show the normal amount (who pays is asked next).
    assert "JKK + JKM: Rp16.800/bulan" in h.labels(WORKER)
    await h.press(WORKER, "REG programs JKK_JKM")
    assert h.text(WORKER).startswith("Siapa yang membayar iuran?")  # payer before period
    await h.press(WORKER, "REG payer sendiri")
    # The period buttons: what this worker pays, month by month from today.
    question = h.text(WORKER)
    assert question.startswith("Iuran dibayar untuk berapa bulan sekaligus?")
    assert f"1 bulan ({rp(to_pay)})" in h.labels(WORKER)
    assert f"3 bulan ({rp(3 * to_pay)})" in h.labels(WORKER)
    await h.press(WORKER, "REG period 3")
    await h.tap(WORKER, "Lewati")
    summary = h.text(WORKER)
    assert len(summary) <= 600
    if discount:
        assert (
            f"Iuran per bulan: {rp(to_pay)} (normal Rp16.800, dipotong sampai 31 Desember 2026 "
            "menurut PP 50/2025)"
        ) in summary
        assert "dipotong sampai 31 Desember 2026" in question
    else:
        assert "Iuran per bulan: Rp16.800\n" in summary
        assert "dipotong" not in summary
    assert f"Dibayar sekaligus untuk: 3 bulan ({rp(3 * to_pay)})" in summary
    await h.tap(WORKER, "Kirim")
    row = (await registrations.by_operator(h.db, WORKER))[0]

    # /iuran (a question with an income) for the same person and day.
    await h.send(WORKER, "berapa iuran kalau penghasilan 1 juta?")
    assert f"JKK + JKM (2 program): {rp(to_pay)} per bulan" in h.text(WORKER)

    # Approved, paid by the worker: how much, by when, where, and [Cara bayar].
    [notice] = await approve(h, row.id, 0)
    lines = notice.splitlines()
    assert len(lines) <= 4
    if discount:
        assert lines[1] == (
            f"Iuran yang dibayar: {rp(to_pay)} per bulan (normal Rp16.800, dipotong sampai "
            f"31 Desember 2026). Untuk 3 bulan: {rp(3 * to_pay)}."
        )
    else:
        assert lines[1] == "Iuran yang dibayar: Rp16.800 per bulan. Untuk 3 bulan: Rp50.400."
    assert "Perlindungan mulai setelah iuran pertama dibayar." in lines[2]
    assert "kantor pos" in lines[3] and "aplikasi JMO" in lines[3] and "NIK" in lines[3]
    assert "Cara bayar" in h.labels(WORKER)
    await h.tap(WORKER, "Cara bayar")
    how = h.text(WORKER)
    assert how.startswith("Cara membayar iuran BPJS Ketenagakerjaan:") and len(how) <= 600

    # The protection reminder on the same day: the same line.
    reminder = await reminder_of(h, nik, day)
    assert lines[1].split(". Untuk")[0] in reminder["text"]
    assert "IUR PAY" in reminder["buttons"]

    # The export on the same day: the same figures.
    line = await exported(h, tmp_path)
    assert line["sumber_iuran"] == "mandiri"
    assert (line["iuran_normal"], line["potongan"], line["iuran_dibayar"]) == (
        "16800",
        str(discount),
        str(to_pay),
    )


@pytest.mark.parametrize(
    ("source", "exported_to_pay", "asked"),
    [
        # Paid from APBD: no PP 50/2025 discount.
        ("apbd_kabupaten", 16_800, "Rp16.800"),
        # A CSR/SERTAKAN payer is not APBN/APBD: the discount stays.
        ("csr_sertakan", 8_400, "Rp8.400"),
    ],
)
async def test_a_program_paid_worker_is_told_who_pays_and_never_asked_to_pay(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    source: str,
    exported_to_pay: int,
    asked: str,
) -> None:
    h = harness
    pin_today(monkeypatch, DISCOUNT_DAY)
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    program_id = await funding.add(
        h.db, name="Peduli Nelayan 2026", source_type=source, region_code="12.10", quota=10,
        quota_per_desa=None, starts_on="2026-01-01", ends_on="2026-12-31",
    )  # fmt: skip
    nik = nik_for("12.10.19")
    await walk_to_programs(h, WORKER, nik)
    await h.press(WORKER, "REG programs JKK_JKM")
    await h.press(WORKER, "REG payer program")
    # No period to choose: the heir is asked next.
    assert "ahli waris" in h.text(WORKER).lower()
    await h.tap(WORKER, "Lewati")
    summary = h.text(WORKER)
    assert "Iuran per bulan: Rp16.800, dibayar program" in summary
    assert "Dibayar sekaligus" not in summary
    assert "Ubah masa bayar" not in h.labels(WORKER)
    await h.tap(WORKER, "Kirim")
    row = (await registrations.by_operator(h.db, WORKER))[0]

    [notice] = await approve(h, row.id, program_id)
    assert "Iuran dibayar oleh Peduli Nelayan 2026" in notice
    assert "Anda tidak perlu membayar." in notice
    assert "Iuran yang dibayar" not in notice and "Bayar di" not in notice
    assert "Cara bayar" not in h.labels(WORKER)

    # /iuran for the same person and day follows who pays.
    await h.send(WORKER, "berapa iuran kalau penghasilan 1 juta?")
    assert f"JKK + JKM (2 program): {asked} per bulan" in h.text(WORKER)

    reminder = await reminder_of(h, nik, DISCOUNT_DAY)
    assert "Anda tidak perlu membayar." in reminder["text"]
    assert "Iuran yang dibayar" not in reminder["text"] and reminder["buttons"] is None

    line = await exported(h, tmp_path)
    assert line["sumber_iuran"] == source
    assert line["iuran_dibayar"] == str(exported_to_pay)
    assert line["potongan"] == str(16_800 - exported_to_pay)


async def test_changing_to_self_paying_from_the_summary_asks_the_period(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    pin_today(monkeypatch, DISCOUNT_DAY)
    await walk_to_programs(h, WORKER, nik_for("12.10.19"))
    await h.press(WORKER, "REG programs JKK_JKM")
    await h.press(WORKER, "REG payer program")
    await h.tap(WORKER, "Lewati")
    await h.tap(WORKER, "Ubah pembayar")
    await h.press(WORKER, "REG payer sendiri")
    assert h.text(WORKER).startswith("Iuran dibayar untuk berapa bulan sekaligus?")
    await h.press(WORKER, "REG period 6")
    summary = h.text(WORKER)
    assert summary.startswith("Periksa data berikut:")
    assert f"Dibayar sekaligus untuk: 6 bulan ({rp(6 * 8_400)})" in summary
    # And back to a program: the period is dropped.
    await h.tap(WORKER, "Ubah pembayar")
    await h.press(WORKER, "REG payer program")
    assert "Dibayar sekaligus" not in h.text(WORKER)
    row = await registrations.active_of(h.db, WORKER)
    assert row is not None and row.pay_period_months is None


@pytest.mark.parametrize("contact", [None, "Disnaker Labuhanbatu, 0624-21234"])
async def test_reject_and_fix_notices_name_the_district_office_only_when_set(
    harness_factory: HarnessFactory, tmp_path: Path, contact: str | None
) -> None:
    values = {"district_contacts": f"12.10={contact}"} if contact else {}
    settings = make_settings(tmp_path, **values)
    async with harness_factory(settings) as h:
        cipher = h.app.bot_data.cipher
        rejected = await submitted_registration(h.db, cipher, operator_id=WORKER)
        fixed = await submitted_registration(h.db, cipher, operator_id=WORKER + 1)
        await desk.reject(None, h.db, settings, rejected.id, REVIEWER, "usia", "")
        await desk.request_fix(None, h.db, settings, fixed.id, REVIEWER, ["name"], "")
        texts = {
            r["chat_id"]: r["text"]
            for r in await h.db.fetchall("SELECT chat_id, text FROM outbox ORDER BY id")
        }
    assert "tidak disetujui" in texts[WORKER]
    assert "perbaikan" in texts[WORKER + 1]
    for text in (texts[WORKER], texts[WORKER + 1]):
        assert (contact in text) if contact else ("Disnaker" not in text and "0624" not in text)
        assert len(text) <= 600


async def test_the_cadre_hears_the_paying_step_and_the_kpj_notice_repeats_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import notify

    pin_today(monkeypatch, DISCOUNT_DAY)
    cadre = 612
    row = await submitted_registration(
        harness.db, harness.app.bot_data.cipher, operator_id=cadre, for_self=False,
        payer="sendiri", sumber_iuran="mandiri", occupation="ojek_sopir", pay_period_months=1,
    )  # fmt: skip
    [approved] = await notify.status_messages(harness.db, row, "disetujui", None)
    assert approved.chat_id == cadre
    assert approved.text.startswith("Kabar untuk pekerja yang Anda daftarkan:")
    # Transport sector: discounted until the end of March 2027.
    assert (
        "Iuran yang dibayar: Rp8.400 per bulan (normal Rp16.800, dipotong sampai 31 Maret 2027)."
    ) in approved.text
    assert approved.buttons == [[("Cara bayar", "IUR PAY")]]
    [registered] = await notify.status_messages(
        harness.db, row.with_answers(kpj="12345678901"), "terdaftar", None
    )
    assert "Nomor kepesertaan (KPJ): 12345678901" in registered.text
    assert "Bayar sekarang: perlindungan mulai setelah iuran pertama dibayar." in registered.text
    assert "dipotong sampai 31 Maret 2027" in registered.text
    assert registered.buttons == [[("Cara bayar", "IUR PAY")]]


def test_district_contacts_are_read_from_either_form(tmp_path: Path) -> None:
    from pydantic import ValidationError

    listed = make_settings(
        tmp_path, district_contacts="12.10=Disnaker Labuhanbatu, 0624-21234; 12.07=Disnaker DS"
    )
    assert listed.district_contacts == {
        "12.10": "Disnaker Labuhanbatu, 0624-21234",
        "12.07": "Disnaker DS",
    }
    as_json = make_settings(tmp_path, district_contacts='{"12.10": "Disnaker, 0624-21234"}')
    assert as_json.district_contacts == {"12.10": "Disnaker, 0624-21234"}
    assert make_settings(tmp_path).district_contacts == {}
    with pytest.raises(ValidationError, match="JAGA_DISTRICT_CONTACTS"):
        make_settings(tmp_path, district_contacts="Labuhanbatu 0624-21234")
