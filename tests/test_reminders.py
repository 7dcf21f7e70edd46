"""The reminder scan on fixture data with known dates: who is reminded, when, and only once."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

from bot import contributions
from bot.clock import WIB
from bot.crypto import mask_nik
from bot.i18n import translator
from bot.reminders import scan
from storage import funding, membership, reminders, roles
from storage.db import now_text
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

# A Monday, 09:00 WIB (the default cadre summary weekday, inside the default 08–20 window).
MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
TODAY = MONDAY.date()
_kpj = itertools.count(10_000_000_001)


async def add_member(h: Harness, nik: str, protected_until: dt.date, status: str = "aktif") -> str:
    """An imported member; returns the NIK hash."""
    cipher = h.app.bot_data.cipher
    nik_hash = cipher.lookup_hash("nik", nik)
    async with h.db.write() as conn:
        await membership.upsert_member(
            conn,
            membership.Member(
                nik_hash=nik_hash,
                nik_enc=cipher.encrypt(nik),
                nik_masked=mask_nik(nik),
                kpj=str(next(_kpj)),
                programs="JKK_JKM",
                protected_until=protected_until.isoformat(),
                last_paid=None,
                status=membership.MemberStatus(status),
                birth_date=None,
            ),
        )
    return nik_hash


async def queued(h: Harness, kind: str) -> list[dict[str, Any]]:
    """Reminders of a kind with the text queued in the outbox."""
    rows = await h.db.fetchall(
        "SELECT s.subject, s.recipient_id, o.text, o.buttons FROM reminders_sent s "
        "JOIN outbox o ON o.id = s.outbox_id WHERE s.kind = ? ORDER BY s.id",
        (kind,),
    )
    return [dict(r) for r in rows]


async def test_protection_ending_soon_or_late_is_reminded_once_a_week(harness: Harness) -> None:
    db, settings, cipher = harness.db, harness.app.bot_data.settings, harness.app.bot_data.cipher
    # Linked account, ends in 3 days.
    soon = nik_for()
    soon_hash = await add_member(harness, soon, TODAY + dt.timedelta(days=3))
    await membership.link(db, 701, soon_hash, proof="kpj")
    # Registered themselves, ended 20 days ago (late, still within the three months).
    late = nik_for()
    await submitted_registration(
        db, cipher, operator_id=702, nik=late, status="terdaftar", payer="sendiri"
    )
    await add_member(harness, late, TODAY - dt.timedelta(days=20))
    # Registered by a cadre, no Telegram of their own: the cadre hears about it.
    by_cadre = nik_for()
    await submitted_registration(
        db, cipher, operator_id=703, for_self=False, nik=by_cadre, name="Sari Lubis",
        status="terdaftar", payer="sendiri",
    )  # fmt: skip
    await add_member(harness, by_cadre, TODAY + dt.timedelta(days=7))
    # Not due: ends in 10 days; ended 4 months ago; not active.
    for nik, until, status in (
        (nik_for(), TODAY + dt.timedelta(days=10), "aktif"),
        (nik_for(), TODAY - dt.timedelta(days=125), "aktif"),
        (nik_for(), TODAY + dt.timedelta(days=2), "berakhir"),
    ):
        await add_member(harness, nik, until, status)

    counts = await scan(db, settings, MONDAY)
    assert counts["protection"] == 3
    sent = {r["recipient_id"]: r["text"] for r in await queued(harness, "protection")}
    assert set(sent) == {701, 702, 703}
    tr = translator("id")
    assert tr.date(TODAY + dt.timedelta(days=3)) in sent[701]
    assert "sudah berakhir" in sent[702]
    assert "Sari Lubis" in sent[703] and "Mohon sampaikan" in sent[703]
    # The amount comes from the contribution table (income 1 juta, JKK + JKM).
    expected = contributions.quote(1_000_000, "JKK_JKM", "non_transport", "mandiri", TODAY)
    assert f"Iuran yang dibayar: {tr.money(expected.to_pay)} per bulan." in sent[702]
    assert "JMO" in sent[701]
    # Late: until when arrears can be paid, and the same words as the knowledge base.
    assert "Bayar paling lambat 10 Mei 2026 agar tetap menjadi peserta" in sent[702]
    for text in sent.values():
        assert "Tidak ada denda" in text and "lebih dari 3 bulan" in text
        assert "BPJS 175" in text and len(text) <= 600
    buttons = {r["recipient_id"]: r["buttons"] for r in await queued(harness, "protection")}
    assert all(b and "IUR PAY" in b for b in buttons.values())

    # Same day, three days later: nothing new. Eight days later: the still-due ones again.
    assert (await scan(db, settings, MONDAY + dt.timedelta(hours=2)))["protection"] == 0
    assert (await scan(db, settings, MONDAY + dt.timedelta(days=3)))["protection"] == 0
    assert (await scan(db, settings, MONDAY + dt.timedelta(days=8)))["protection"] == 3


async def test_nothing_is_sent_outside_the_reminder_hours(harness: Harness) -> None:
    db, settings = harness.db, harness.app.bot_data.settings
    nik_hash = await add_member(harness, nik_for(), TODAY + dt.timedelta(days=1))
    await membership.link(db, 711, nik_hash, proof="kpj")
    late_evening = MONDAY.replace(hour=21)
    assert await scan(db, settings, late_evening) == {
        "protection": 0, "fix": 0, "draft": 0, "cadre_summary": 0
    }  # fmt: skip
    # 08:00 WIB is 01:00 UTC: the window is in local time.
    assert (await scan(db, settings, MONDAY.replace(hour=8).astimezone(dt.UTC)))["protection"] == 1


async def test_registration_to_fix_is_reminded_after_two_days_with_the_fix_button(
    harness: Harness,
) -> None:
    db, settings, cipher = harness.db, harness.app.bot_data.settings, harness.app.bot_data.cipher
    old = await submitted_registration(db, cipher, operator_id=721, status="perlu_perbaikan")
    new = await submitted_registration(db, cipher, operator_id=722, status="perlu_perbaikan")
    for row, days in ((old, 3), (new, 1)):
        requested = (MONDAY - dt.timedelta(days=days)).astimezone(dt.UTC)
        await db.execute(
            "INSERT INTO fix_requests(registration_id, fields, requested_by, requested_at) "
            "VALUES (?, '[\"nama\"]', 9001, ?)",
            (row.id, requested.strftime("%Y-%m-%dT%H:%M:%SZ")),
        )
    assert (await scan(db, settings, MONDAY))["fix"] == 1
    [reminder] = await queued(harness, "fix")
    assert reminder["recipient_id"] == 721 and old.ref in reminder["text"]
    assert f"FIX {old.id}" in reminder["buttons"]
    assert (await scan(db, settings, MONDAY + dt.timedelta(days=1)))["fix"] == 1  # the newer one
    assert (await scan(db, settings, MONDAY + dt.timedelta(days=2)))["fix"] == 0


async def test_idle_draft_is_reminded_once(harness: Harness) -> None:
    db, settings = harness.db, harness.app.bot_data.settings
    from storage import registrations

    idle = await registrations.create_draft(db, 731, "nik")
    fresh = await registrations.create_draft(db, 732, "nik")
    for draft_id, hours in ((idle, 25), (fresh, 2)):
        at = (MONDAY - dt.timedelta(hours=hours)).astimezone(dt.UTC)
        await db.execute(
            "UPDATE registrations SET updated_at = ? WHERE id = ?",
            (at.strftime("%Y-%m-%dT%H:%M:%SZ"), draft_id),
        )
    assert (await scan(db, settings, MONDAY))["draft"] == 1
    [reminder] = await queued(harness, "draft")
    assert reminder["recipient_id"] == 731 and "/daftar" in reminder["text"]
    idle_draft = await registrations.get(db, idle)
    assert idle_draft is not None and idle_draft.reminded_at is not None
    assert (await scan(db, settings, MONDAY + dt.timedelta(hours=1)))["draft"] == 0


async def test_cadres_get_a_weekly_summary_on_the_configured_day(harness: Harness) -> None:
    db, settings, cipher = harness.db, harness.app.bot_data.settings, harness.app.bot_data.cipher
    await roles.grant(db, 741, "cadre", "12.10.19.1001", "test")
    await submitted_registration(db, cipher, operator_id=741, for_self=False)
    await submitted_registration(
        db, cipher, operator_id=741, for_self=False, status="perlu_perbaikan"
    )
    # A funding program with a quota per desa, one place taken.
    program = await db.insert(
        "INSERT INTO funding_programs(name, source_type, region_code, quota, quota_per_desa, "
        "starts_on, ends_on) VALUES ('APBD Labuhanbatu', 'apbd_kabupaten', '12.10', 500, 10, "
        "'2026-01-01', '2026-12-31') RETURNING id"
    )
    approved = await submitted_registration(db, cipher, operator_id=741, for_self=False)
    await db.execute(
        "UPDATE registrations SET status = 'disetujui', funding_program_id = ?, "
        "reviewed_at = ? WHERE id = ?",
        (program, now_text(), approved.id),
    )
    tuesday = MONDAY + dt.timedelta(days=1)
    assert (await scan(db, settings, tuesday))["cadre_summary"] == 0
    # The registrations above were made "now", so the week to report is the real one.
    this_monday = dt.datetime.now(WIB).replace(hour=9, minute=0)
    this_monday -= dt.timedelta(days=this_monday.weekday())
    assert (await scan(db, settings, this_monday))["cadre_summary"] == 1
    [summary] = await queued(harness, "cadre_summary")
    assert summary["recipient_id"] == 741
    text = summary["text"]
    assert "Sei Berombang" in text
    assert "pendaftaran baru: 3" in text and "perlu diperbaiki: 1" in text
    assert "disetujui: 1" in text
    assert "1 dari 10 kuota desa terpakai, sisa 9" in text
    assert (await scan(db, settings, this_monday + dt.timedelta(hours=3)))["cadre_summary"] == 0
    assert len(await reminders.sent(db, "cadre_summary")) == 1


async def test_queued_reminder_is_delivered_with_its_fix_button(harness: Harness) -> None:
    from tests.test_outbox import fast_sender

    db, settings, cipher = harness.db, harness.app.bot_data.settings, harness.app.bot_data.cipher
    row = await submitted_registration(db, cipher, operator_id=751, status="perlu_perbaikan")
    requested = (MONDAY - dt.timedelta(days=3)).astimezone(dt.UTC)
    await db.execute(
        "INSERT INTO fix_requests(registration_id, fields, requested_by, requested_at) "
        "VALUES (?, '[\"nama\"]', 9001, ?)",
        (row.id, requested.strftime("%Y-%m-%dT%H:%M:%SZ")),
    )
    await scan(db, settings, MONDAY)
    sender = await fast_sender(harness)
    [reminder] = await reminders.sent(db, "fix")
    for _ in range(500):
        if (
            await db.fetchval("SELECT status FROM outbox WHERE id = ?", (reminder.outbox_id,))
            == "sent"
        ):
            break
        await asyncio.sleep(0.01)
    await sender.stop()
    message = harness.last(751)
    assert row.ref is not None and row.ref in message.text
    assert message.buttons == [("Perbaiki sekarang", f"FIX {row.id}")]


async def test_a_program_paid_worker_is_told_who_pays_and_never_asked_to_pay(
    harness: Harness,
) -> None:
    db, settings, cipher = harness.db, harness.app.bot_data.settings, harness.app.bot_data.cipher
    program_id = await funding.add(
        db, name="Jamsostek Pekerja Rentan 2026", source_type="apbd_kabupaten",
        region_code="12.10", quota=10, quota_per_desa=None, starts_on="2026-01-01",
        ends_on="2026-12-31",
    )  # fmt: skip
    nik = nik_for()
    row = await submitted_registration(
        db, cipher, operator_id=704, nik=nik, status="terdaftar", payer="program",
        sumber_iuran="apbd_kabupaten",
    )  # fmt: skip
    await db.execute(
        "UPDATE registrations SET funding_program_id = ? WHERE id = ?", (program_id, row.id)
    )
    await add_member(harness, nik, TODAY - dt.timedelta(days=5))
    assert (await scan(db, settings, MONDAY))["protection"] == 1
    [reminder] = await queued(harness, "protection")
    assert "Iuran dibayar oleh Jamsostek Pekerja Rentan 2026 (APBD kabupaten)" in reminder["text"]
    assert "Anda tidak perlu membayar" in reminder["text"]
    assert "Bayar di" not in reminder["text"] and "Iuran yang dibayar" not in reminder["text"]
    assert reminder["buttons"] is None


def test_the_longest_reminder_fits_one_message() -> None:
    # A cadre, protection ended, a long name, the highest (uncertain) bracket, three programs,
    # the discount on: still one message of at most 600 characters.
    from bot.reminders import protection_text
    from storage.reminders import MemberDue

    member = MemberDue(
        nik_hash="h", recipient_id=1,
        protected_until="2026-05-20", for_cadre=True, nik_masked="1210********0001",
        name="Muhammad Abdurrahman Sulaiman Siregar Harahap Nasution Lubis Batubara",
        income=19_500_000, programs="JKK_JKM_JHT", occupation="ojek_sopir",
        payer="sendiri", sumber_iuran="mandiri",
    )  # fmt: skip
    text = protection_text(translator("id"), member, dt.date(2026, 6, 1))
    assert len(text) <= 600
    assert "Pastikan jumlahnya" in text and "dipotong sampai 31 Maret 2027" in text


async def test_a_revoked_cadre_gets_no_reminder_about_the_people_they_registered(
    harness: Harness,
) -> None:
    db, settings, cipher = harness.db, harness.app.bot_data.settings, harness.app.bot_data.cipher
    cadre = 731
    await roles.grant(db, cadre, "cadre", "12.10.19.1001", "test")
    await roles.revoke(db, cadre, "cadre")
    nik = nik_for()
    fixing = await submitted_registration(
        db, cipher, operator_id=cadre, for_self=False, status="perlu_perbaikan"
    )
    requested = (MONDAY - dt.timedelta(days=3)).astimezone(dt.UTC)
    await db.execute(
        "INSERT INTO fix_requests(registration_id, fields, requested_by, requested_at) "
        "VALUES (?, '[\"nama\"]', 9001, ?)",
        (fixing.id, requested.strftime("%Y-%m-%dT%H:%M:%SZ")),
    )
    await submitted_registration(
        db, cipher, operator_id=cadre, for_self=False, nik=nik, status="terdaftar"
    )
    await add_member(harness, nik, TODAY + dt.timedelta(days=5))
    counts = await scan(db, settings, MONDAY)
    assert (counts["fix"], counts["protection"]) == (0, 0)
    # The same people registered by a cadre who still holds the role are reminded.
    await roles.grant(db, cadre, "cadre", "12.10.19.1001", "test")
    counts = await scan(db, settings, MONDAY + dt.timedelta(days=1))
    assert (counts["fix"], counts["protection"]) == (1, 1)
