"""/siaran: writing, audience and scope, preview, sending, scheduling; /berhenti and /mulai."""

from __future__ import annotations

import datetime as dt

from bot import outbox as sender_module
from storage import outbox, roles
from tests.conftest import Harness
from tests.factories import submitted_registration
from tests.test_outbox import delivered, fast_sender, wait_until_done

REVIEWER = 8101  # Labuhanbatu (12.10)
DESA = "12.10.19.1001"


async def people(h: Harness) -> None:
    """Cadres and self-registered workers inside and outside the reviewer's kabupaten."""
    cipher = h.app.bot_data.cipher
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await roles.grant(h.db, 7001, "cadre", DESA, "test")
    await roles.grant(h.db, 7002, "cadre", "12.05.01.2001", "test")  # another kabupaten
    await submitted_registration(h.db, cipher, operator_id=7101, status="perlu_perbaikan")
    await submitted_registration(h.db, cipher, operator_id=7102)  # diajukan
    await submitted_registration(
        h.db, cipher, operator_id=7103, desa_code="12.05.01.2001", status="perlu_perbaikan"
    )


async def write(h: Harness, text: str, audience: str, workers: str | None = None) -> None:
    """The reviewer writes a broadcast and picks its audience, up to the region question."""
    await h.send(REVIEWER, "/siaran")
    await h.tap(REVIEWER, "Tulis siaran baru")
    await h.send(REVIEWER, text)
    await h.tap(REVIEWER, audience)
    if workers is not None:
        await h.tap(REVIEWER, workers)


async def test_only_reviewers_and_admins_can_broadcast(harness: Harness) -> None:
    await harness.send(7001, "/siaran")
    assert "hanya bisa dikirim oleh petugas dinas" in harness.text(7001)
    await harness.press(7001, "SIA NEW")
    assert await harness.db.fetchval("SELECT COUNT(*) FROM broadcasts") == 0


async def test_broadcast_to_workers_who_must_fix_within_scope(harness: Harness) -> None:
    await people(harness)
    sender = await fast_sender(harness)
    await write(harness, "Mohon segera perbaiki data Anda.", "Kader dan pekerja",
                "Yang perlu memperbaiki data")  # fmt: skip
    assert harness.labels(REVIEWER)[0] == "Seluruh Kabupaten Labuhanbatu"
    await harness.tap(REVIEWER, "Seluruh Kabupaten Labuhanbatu")
    preview = [c.text for c in harness.api.sent(REVIEWER)[-3:]]
    assert preview[1] == "Mohon segera perbaiki data Anda."
    assert "Penerima: 2 orang (1 kader, 1 pekerja)." in preview[2]
    await harness.tap(REVIEWER, "Kirim sekarang")
    assert "masuk antrean untuk 2 penerima" in harness.text(REVIEWER)
    broadcast_id = await harness.db.fetchval("SELECT MAX(id) FROM broadcasts")
    await wait_until_done(harness, broadcast_id)
    await sender.stop()
    # The cadre and the worker to fix in Labuhanbatu; not the one waiting, nor other kabupaten.
    got = set(delivered(harness.api, "Mohon segera perbaiki data Anda.")) - {REVIEWER}  # preview
    assert got == {7001, 7101}
    assert "Terkirim: 2" in harness.text(REVIEWER)
    await harness.send(REVIEWER, "/siaran")
    assert f"#{broadcast_id} (selesai): 2 penerima – terkirim 2" in harness.text(REVIEWER)


async def test_region_outside_the_reviewers_scope_is_refused(harness: Harness) -> None:
    await people(harness)
    await write(harness, "Halo", "Kader desa")
    draft = await outbox.draft_of(harness.db, REVIEWER)
    assert draft is not None
    await harness.press(REVIEWER, f"SIA RA {draft.id} 12.05")
    assert "di luar wilayah tugas Anda" in harness.text(REVIEWER)
    await harness.press(REVIEWER, f"SIA GO {draft.id}")
    assert await harness.db.fetchval("SELECT COUNT(*) FROM outbox") == 0
    # Choosing a desa inside the kabupaten narrows the audience.
    await harness.press(REVIEWER, f"SIA R {draft.id} 12.10.19")
    await harness.tap(REVIEWER, "Sei Berombang")
    assert "Penerima: 1 orang (1 kader, 0 pekerja)." in harness.text(REVIEWER)


async def test_scheduled_broadcast_waits_and_can_be_cancelled(harness: Harness) -> None:
    await people(harness)
    await write(harness, "Besok ada sosialisasi.", "Kader desa")
    await harness.tap(REVIEWER, "Seluruh Kabupaten Labuhanbatu")
    await harness.tap(REVIEWER, "Jadwalkan")
    await harness.tap(REVIEWER, "Besok")
    await harness.tap(REVIEWER, "08:00")
    assert "Dijadwalkan:" in harness.text(REVIEWER) and "08:00 WIB" in harness.text(REVIEWER)
    await harness.tap(REVIEWER, "Jadwalkan siaran")
    assert "dijadwalkan" in harness.text(REVIEWER)
    broadcast_id = await harness.db.fetchval("SELECT MAX(id) FROM broadcasts")
    row = await outbox.get(harness.db, broadcast_id)
    assert row is not None and row.status == "scheduled"
    assert row.send_at is not None
    send_at = outbox.parse_stamp(row.send_at)
    assert send_at.hour == 1 and send_at.minute == 0  # 08:00 WIB is 01:00 UTC
    # Nothing is due before that moment; everything is due after it.
    before = outbox.stamp(send_at - dt.timedelta(seconds=1))
    assert await outbox.claim(harness.db, 10, before, before) == []
    await harness.send(REVIEWER, "/siaran")
    await harness.tap(REVIEWER, f"Batalkan siaran #{broadcast_id}")
    assert f"Siaran #{broadcast_id} dibatalkan." in harness.text(REVIEWER)
    after = outbox.stamp(send_at + dt.timedelta(seconds=1))
    assert await outbox.claim(harness.db, 10, after, after) == []
    assert (await outbox.counts(harness.db, broadcast_id))["skipped"] == 1


async def test_berhenti_stops_broadcasts_and_mulai_resumes(harness: Harness) -> None:
    await people(harness)
    await harness.send(7001, "/berhenti")
    assert "/mulai" in harness.text(7001)
    await write(harness, "Info", "Kader desa")
    await harness.tap(REVIEWER, "Seluruh Kabupaten Labuhanbatu")
    assert "Tidak ada penerima" in harness.text(REVIEWER)
    await harness.send(7001, "/mulai")
    await write(harness, "Info", "Kader desa")
    await harness.tap(REVIEWER, "Seluruh Kabupaten Labuhanbatu")
    assert "Penerima: 1 orang" in harness.text(REVIEWER)
    # Stopping after the broadcast was queued is respected by the sender too.
    await sender_module.stop_background(harness.app)
    await harness.tap(REVIEWER, "Kirim sekarang")
    await harness.send(7001, "/berhenti")
    sender = await fast_sender(harness)
    broadcast_id = await harness.db.fetchval("SELECT MAX(id) FROM broadcasts")
    await wait_until_done(harness, broadcast_id)
    await sender.stop()
    assert set(delivered(harness.api, "Info")) <= {REVIEWER}  # only the previews
    assert (await outbox.counts(harness.db, broadcast_id))["skipped"] == 1


async def test_non_text_and_cancel_while_writing(harness: Harness) -> None:
    await people(harness)
    await harness.send(REVIEWER, "/siaran")
    await harness.tap(REVIEWER, "Tulis siaran baru")
    await harness.send(REVIEWER, "x" * 5000)
    assert "terlalu panjang" in harness.text(REVIEWER)
    await harness.send(REVIEWER, "/batal")
    assert await outbox.draft_of(harness.db, REVIEWER) is None
