"""/tinjau lists the correction requests from /data_saya and lets the reviewer act on them."""

from __future__ import annotations

from typing import Any

from bot.fakeapi import ApiCall
from storage import privacy, registrations, roles
from storage import review as store
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import submitted_registration

WORKER = 7101
REVIEWER = 7102
OTHER_DISTRICT = 7103
STRANGER = 7104


def answers(calls: list[ApiCall]) -> list[Any]:
    """The texts of the button answers (toasts) among the calls."""
    return [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]


async def ask_correction(h: Harness, status: str = "diajukan") -> Registration:
    """The worker's submission in `status`, and a correction request sent through /data_saya."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await roles.grant(h.db, OTHER_DISTRICT, "reviewer", "12.05", "test")
    row = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=WORKER, status=status
    )
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    await h.send(WORKER, "Nama ibu yang benar Siti Rahma")
    assert "sudah diteruskan ke petugas kabupaten" in h.text(WORKER)
    return row


async def test_a_correction_of_a_submission_under_review_becomes_a_fix_request(
    harness: Harness,
) -> None:
    h = harness
    row = await ask_correction(h)
    await h.send(REVIEWER, "/tinjau")
    summary = h.api.last(REVIEWER)  # the card, with the desk's lines and buttons below
    assert "Permintaan perbaikan data dari pekerja: 1" in summary.text
    assert ("Lihat permintaan perbaikan data", "REVQ C") in summary.buttons

    await h.press(REVIEWER, "REVQ C", summary)
    listing = h.text(REVIEWER)
    assert f"Permintaan perbaikan data untuk {row.ref}" in listing
    assert "«Nama ibu yang benar Siti Rahma»" in listing and "Status: diajukan" in listing
    assert h.labels(REVIEWER) == ["Minta pekerja memperbaiki"]

    await h.tap(REVIEWER, "Minta pekerja memperbaiki")
    chooser = h.text(REVIEWER)
    assert chooser.startswith(f"Minta perbaikan {row.ref}")
    assert "«Nama ibu yang benar Siti Rahma»" in chooser
    await h.tap(REVIEWER, "☐ Nama ibu kandung")
    await h.tap(REVIEWER, "Lanjut")
    calls = await h.send(REVIEWER, "Silakan perbaiki nama ibu kandung")
    # The worker gets the usual fix request with its button (bot/notify.py).
    [to_worker] = [c for c in calls if c.chat_id == WORKER]
    assert to_worker.buttons == [("Perbaiki data", f"FIX {row.id}")]
    assert await store.open_fix_request(h.db, row.id) == (
        ["mother_name"],
        "Silakan perbaiki nama ibu kandung",
    )
    done = [c.text for c in calls if c.chat_id == REVIEWER]
    assert any(
        f"Permintaan perbaikan data dari pekerja untuk {row.ref} ditandai selesai." in t
        for t in done
    )
    assert await privacy.open_corrections(h.db, "12.10") == []
    request = await h.db.fetchone("SELECT * FROM privacy_requests WHERE kind = 'correction'")
    assert request["outcome"] == "done" and request["resolved_by"] == REVIEWER
    # The desk no longer counts it.
    await h.send(REVIEWER, "/tinjau")
    assert "Permintaan perbaikan data" not in h.text(REVIEWER)


async def test_a_correction_of_an_approved_enrolment_is_marked_done_after_confirming(
    harness: Harness,
) -> None:
    h = harness
    row = await ask_correction(h, status="disetujui")
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Lihat permintaan perbaikan data")
    assert "Status: disetujui" in h.text(REVIEWER)
    assert h.labels(REVIEWER) == ["Sudah diubah, tandai selesai"]
    [request] = await privacy.open_corrections(h.db, "12.10")
    done_data = f"REVQ C {request.id} DY"

    # Outsiders and another district's reviewer cannot close it, even with forged data.
    calls = await h.press(STRANGER, done_data)
    assert answers(calls) == ["Anda tidak berwenang meninjau pengajuan."]
    calls = await h.press(OTHER_DISTRICT, done_data)
    assert answers(calls) == ["Permintaan perbaikan ini sudah selesai ditangani."]
    assert len(await privacy.open_corrections(h.db, "12.10")) == 1

    await h.tap(REVIEWER, "Sudah diubah, tandai selesai")
    assert "diubah di luar bot" in h.text(REVIEWER)
    assert h.labels(REVIEWER) == ["Ya, sudah diubah", "Belum, kembali"]
    assert len(await privacy.open_corrections(h.db, "12.10")) == 1  # not before confirming
    calls = await h.tap(REVIEWER, "Ya, sudah diubah")
    assert f"Permintaan perbaikan untuk {row.ref} ditandai selesai." in h.text(REVIEWER)
    [to_worker] = [c for c in calls if c.chat_id == WORKER]
    assert f"untuk {row.ref} sudah ditangani petugas kabupaten" in to_worker.text
    assert await privacy.open_corrections(h.db, "12.10") == []
    stored = await registrations.get(h.db, row.id)
    assert stored is not None and stored.status == "disetujui"  # the desk changed nothing
    # A second press (double tap, stale message) changes nothing and says so.
    calls = await h.press(REVIEWER, done_data)
    assert answers(calls) == ["Permintaan perbaikan ini sudah selesai ditangani."]
    assert [c for c in calls if c.chat_id == WORKER] == []


async def test_a_fix_request_is_refused_once_the_submission_was_decided(
    harness: Harness,
) -> None:
    h = harness
    row = await ask_correction(h)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Lihat permintaan perbaikan data")
    listing = h.last(REVIEWER)
    await h.db.execute("UPDATE registrations SET status = 'ditolak' WHERE id = ?", (row.id,))
    await h.tap(REVIEWER, "Minta pekerja memperbaiki")
    texts = [c.text for c in h.api.sent(REVIEWER)[-2:]]
    assert f"Status {row.ref} sekarang: ditolak." in texts[0]
    assert h.labels(REVIEWER) == ["Sudah diubah, tandai selesai"]
    assert await store.open_fix_request(h.db, row.id) is None
    assert listing.buttons  # the old listing's button was the one pressed
