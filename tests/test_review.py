"""The review desk in Telegram: the whole cycle, rejection, scope, forged presses, locks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.fakeapi import ApiCall
from storage import audit, registrations, roles
from storage import review as store
from storage.registrations import Registration
from tests.conftest import ADMIN_ID, Harness
from tests.factories import nik_for, submitted_registration

REVIEWER = 7001
REVIEWER_2 = 7002
OTHER_DISTRICT = 7003  # reviewer of Kabupaten Langkat (12.05)
WORKER = 601
CADRE = 602
STRANGER = 603


async def setup_reviewers(h: Harness) -> None:
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await roles.grant(h.db, REVIEWER_2, "reviewer", "12.10", "test")
    await roles.grant(h.db, OTHER_DISTRICT, "reviewer", "12.05", "test")


async def submission(h: Harness, **fields: Any) -> Registration:
    return await submitted_registration(h.db, h.app.bot_data.cipher, **fields)


def texts(calls: list[ApiCall], chat_id: int) -> list[str]:
    return [c.text for c in calls if c.chat_id == chat_id and c.text]


def notice(calls: list[ApiCall]) -> str:
    """The short notice of the answered button press."""
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, "the press was not answered"
    return str(answers[0].params.get("text") or "")


async def status_of(h: Harness, registration_id: int) -> str:
    row = await registrations.get(h.db, registration_id)
    assert row is not None
    return str(row.status)


async def test_whole_cycle_fix_then_approve_notifies_the_worker(harness: Harness) -> None:
    from tests.test_registration import answer_until_summary

    h = harness
    await setup_reviewers(h)
    nik = nik_for("12.10.19")
    await answer_until_summary(h, WORKER, nik=nik)
    await h.tap(WORKER, "Kirim")
    row = (await registrations.by_operator(h.db, WORKER))[0]
    assert row.status == "diajukan"

    # The reviewer opens the queue: counts, then the card with the full NIK and the flags.
    await h.send(REVIEWER, "/tinjau")
    card = h.text(REVIEWER)  # one message: the card (the counts only when none waits)
    assert card.startswith(f"Pengajuan {row.ref} (1 dari 1 menunggu)")
    assert f"NIK: {nik}" in card
    assert "Didaftarkan oleh: pekerja sendiri" in card
    assert h.labels(REVIEWER) == [
        "Setujui",
        "Tolak",
        "Minta perbaikan",
        "Lewati",
        "Hanya desil 1–2 P3KE",
    ]

    # Minta perbaikan: tick the mother's name, write a note.
    await h.tap(REVIEWER, "Minta perbaikan")
    await h.tap(REVIEWER, "☐ Nama ibu kandung")
    assert "☑ Nama ibu kandung" in h.labels(REVIEWER)
    await h.tap(REVIEWER, "Lanjut")
    calls = await h.send(REVIEWER, "Nama ibu tidak sesuai KK")
    assert await status_of(h, row.id) == "perlu_perbaikan"
    assert await store.open_fix_request(h.db, row.id) == (
        ["mother_name"],
        "Nama ibu tidak sesuai KK",
    )
    to_worker = [c for c in calls if c.chat_id == WORKER]
    assert len(to_worker) == 1
    assert "Yang perlu diperbaiki: Nama ibu kandung" in to_worker[0].text
    assert "Catatan petugas: Nama ibu tidak sesuai KK" in to_worker[0].text
    assert to_worker[0].buttons == [("Perbaiki data", f"FIX {row.id}")]
    assert "Tidak ada pengajuan yang menunggu" in h.text(REVIEWER)

    # The worker fixes exactly that field and sends it back to the queue.
    await h.tap(WORKER, "Perbaiki data")
    assert h.text(WORKER).startswith("Ketik nama ibu kandung Anda.")
    await h.send(WORKER, "nur aisyah")
    await h.tap(WORKER, "Kirim perbaikan")
    assert await status_of(h, row.id) == "diajukan"

    # Approve against a funded program.
    from storage import funding

    program_id = await funding.add(
        h.db,
        name="APBD Labuhanbatu 2026",
        source_type="apbd_kabupaten",
        region_code="12.10",
        quota=100,
        quota_per_desa=None,
        starts_on="2020-01-01",
        ends_on="2099-12-31",
    )
    await h.send(REVIEWER, "/tinjau")
    assert "Ibu kandung: Nur Aisyah" in h.text(REVIEWER)
    await h.tap(REVIEWER, "Setujui")
    assert "APBD Labuhanbatu 2026 – APBD kabupaten: terpakai 0 dari 100" in h.text(REVIEWER)
    await h.tap(REVIEWER, "APBD Labuhanbatu 2026 (sisa 100)")
    calls = await h.tap(REVIEWER, "Ya, setujui")
    approved = await registrations.get(h.db, row.id)
    assert approved is not None
    assert (approved.status, approved.funding_program_id, approved.sumber_iuran) == (
        "disetujui",
        program_id,
        "apbd_kabupaten",
    )
    assert approved.reviewed_by == REVIEWER
    told = texts(calls, WORKER)
    assert len(told) == 1
    assert "sudah disetujui petugas kabupaten" in told[0]
    assert "Iuran dibayar oleh APBD Labuhanbatu 2026 (APBD kabupaten)." in told[0]
    assert "Anda tidak perlu membayar." in told[0]
    history = [(e.actor, e.from_status, e.to_status) for e in await audit.history(h.db, row.id)]
    assert history[1:] == [
        (str(REVIEWER), "diajukan", "perlu_perbaikan"),
        (str(WORKER), "perlu_perbaikan", "diajukan"),
        (str(REVIEWER), "diajukan", "disetujui"),
    ]


async def test_rejection_with_reason_and_note_tells_worker_and_cadre(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    row = await submission(h, operator_id=CADRE, for_self=False, worker_telegram_id=WORKER)
    await h.send(WORKER, "/bahasa")
    await h.tap(WORKER, "English")
    await h.send(REVIEWER, "/tinjau")
    assert "Didaftarkan oleh: kader (namanya belum tercatat)" in h.text(REVIEWER)
    await h.tap(REVIEWER, "Tolak")
    await h.tap(REVIEWER, "Usia di luar batas program")
    calls = await h.send(REVIEWER, "Umur 70 tahun menurut KTP")
    rejected = await registrations.get(h.db, row.id)
    assert rejected is not None
    assert rejected.status == "ditolak"
    assert rejected.reason_code == "usia"
    assert rejected.reason == "Usia di luar batas program: Umur 70 tahun menurut KTP"
    events = await audit.history(h.db, row.id)
    assert events[-1].reason == rejected.reason
    assert events[-1].actor == str(REVIEWER)
    cadre_text = texts(calls, CADRE)
    assert len(cadre_text) == 1
    assert cadre_text[0].startswith("Kabar untuk pekerja yang Anda daftarkan:")
    assert "Alasan: Usia di luar batas program" in cadre_text[0]
    assert "Catatan petugas: Umur 70 tahun menurut KTP" in cadre_text[0]
    # The worker chose English: the message reaches them (in English once the catalog has it).
    assert len(texts(calls, WORKER)) == 1
    assert "Umur 70 tahun menurut KTP" in texts(calls, WORKER)[0]
    assert "Ditolak:" in texts(calls, REVIEWER)[0]


async def test_reject_without_note_and_blocked_worker_does_not_undo(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    row = await submission(h, operator_id=WORKER)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Tolak")
    await h.tap(REVIEWER, "Sudah terdaftar atau pengajuan ganda")
    h.api.fail_next("sendMessage", status=403, chat_id=WORKER)
    await h.tap(REVIEWER, "Tolak tanpa catatan")
    assert await status_of(h, row.id) == "ditolak"
    assert "Ditolak:" in h.text(REVIEWER)


async def test_people_without_the_role_get_no_desk(harness: Harness) -> None:
    h = harness
    await h.send(STRANGER, "/tinjau")
    assert "khusus petugas peninjau" in h.text(STRANGER)
    await h.send(STRANGER, "/ekspor")
    assert "khusus petugas peninjau" in h.text(STRANGER)
    await h.send(STRANGER, "/laporan")
    assert "khusus petugas peninjau" in h.text(STRANGER)


async def test_reviewer_sees_only_their_district(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    await submission(h, desa_code="12.05.01.2001")  # Langkat
    await h.send(REVIEWER, "/tinjau")
    assert "Tidak ada pengajuan yang menunggu" in h.text(REVIEWER)
    await h.send(OTHER_DISTRICT, "/tinjau")
    assert h.text(OTHER_DISTRICT).startswith("Pengajuan JP-1205-")


async def test_forged_and_stale_presses_are_refused_and_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await setup_reviewers(h)
    row = await submission(h)
    caplog.set_level(logging.WARNING, logger="handlers.review")
    # Someone with no role forges an approval button.
    await h.send(STRANGER, "/start")
    calls = await h.press(STRANGER, f"REV {row.id} A 0")
    assert notice(calls) == "Anda tidak berwenang meninjau pengajuan."
    # A reviewer of another district forges one for this submission.
    await h.send(OTHER_DISTRICT, "/tinjau")
    calls = await h.press(OTHER_DISTRICT, f"REV {row.id} X lain")
    assert notice(calls) == "Anda tidak berwenang meninjau pengajuan ini."
    calls = await h.press(OTHER_DISTRICT, f"REV {row.id} FIX")
    assert notice(calls) == "Anda tidak berwenang meninjau pengajuan ini."
    assert await status_of(h, row.id) == "diajukan"
    refusals = [r.getMessage() for r in caplog.records if "review_refused" in r.getMessage()]
    assert any(f"user={STRANGER}" in m and "reason=role" in m for m in refusals)
    assert any(f"user={OTHER_DISTRICT}" in m and "reason=scope" in m for m in refusals)
    # Garbage and unknown ids are stale, not errors.
    await h.send(REVIEWER, "/tinjau")
    for data in ("REV x OK", "REV 99999 OK", f"REV {row.id} ZZ"):
        calls = await h.press(REVIEWER, data)
        assert notice(calls) in (
            "Tombol ini sudah tidak berlaku.",
            "Anda tidak berwenang meninjau pengajuan ini.",
        )
    assert await status_of(h, row.id) == "diajukan"


async def test_revoked_reviewer_cannot_use_old_buttons(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await roles.revoke(h.db, REVIEWER, "reviewer")
    calls = await h.tap(REVIEWER, "Setujui")
    assert notice(calls) == "Anda tidak berwenang meninjau pengajuan."
    assert await status_of(h, row.id) == "diajukan"


async def test_a_card_is_locked_for_other_reviewers(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    first = await submission(h)
    second = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    assert h.text(REVIEWER).startswith(f"Pengajuan {first.ref}")
    # The second reviewer is given the next card, not the one being read.
    await h.send(REVIEWER_2, "/tinjau")
    assert h.text(REVIEWER_2).startswith(f"Pengajuan {second.ref}")
    # A (forged or old) button for the locked card is refused with a clear message.
    await h.press(REVIEWER_2, f"REV {first.id} A 0")
    assert "sedang dibuka petugas lain" in h.text(REVIEWER_2)
    assert await status_of(h, first.id) == "diajukan"
    # When the lock has lapsed the card may be taken.
    await h.db.execute(
        "UPDATE registrations SET locked_until = '2000-01-01T00:00:00Z' WHERE id = ?",
        (first.id,),
    )
    await h.press(REVIEWER_2, f"REV {first.id} A 0")
    assert await status_of(h, first.id) == "disetujui"


async def test_decision_on_a_decided_submission_is_refused(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    card = h.api.last(REVIEWER)
    await h.tap(REVIEWER, "Setujui")
    await h.tap(REVIEWER, "Mandiri (dibayar sendiri)")
    await h.tap(REVIEWER, "Ya, setujui")
    assert await status_of(h, row.id) == "disetujui"
    # The old card's Tolak button, pressed afterwards.
    await h.press(REVIEWER, f"REV {row.id} NO", card)
    assert h.text(REVIEWER).startswith(f"Pengajuan {row.ref} sudah Anda putuskan: disetujui")
    # Two reviewers deciding at once: the second is refused by the storage check itself.
    other = await submission(h)
    await store.approve(h.db, other.id, REVIEWER, None, sponsor=None, day="2026-01-01")
    with pytest.raises(store.DecisionRefused) as refused:
        await store.reject(h.db, other.id, REVIEWER_2, "lain", "x")
    assert refused.value.why == "decided"


async def test_skip_moves_to_the_next_card_and_wraps(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    first = await submission(h)
    second = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Lewati")
    assert h.text(REVIEWER).startswith(f"Pengajuan {second.ref}")
    await h.tap(REVIEWER, "Lewati")
    assert h.text(REVIEWER).startswith(f"Pengajuan {first.ref}")


async def test_sponsor_is_recorded_on_approval(harness: Harness) -> None:
    from storage import funding

    h = harness
    await setup_reviewers(h)
    row = await submission(h)
    await funding.add(
        h.db,
        name="SERTAKAN ASN Labuhanbatu",
        source_type="csr_sertakan",
        region_code="12.10",
        quota=5,
        quota_per_desa=None,
        starts_on="2020-01-01",
        ends_on="2099-12-31",
    )
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Setujui")
    await h.tap(REVIEWER, "SERTAKAN ASN Labuhanbatu (sisa 5)")
    await h.tap(REVIEWER, "Catat sponsor dulu")
    await h.send(REVIEWER, "Bapak Edwin, NIP 1980")
    approved = await registrations.get(h.db, row.id)
    assert approved is not None
    assert (approved.status, approved.sponsor, approved.sumber_iuran) == (
        "disetujui",
        "Bapak Edwin, NIP 1980",
        "csr_sertakan",
    )
    assert "sponsor: Bapak Edwin, NIP 1980" in str((await audit.history(h.db, row.id))[-1].reason)


async def _program(h: Harness, quota: int, per_desa: int | None = None) -> int:
    from storage import funding

    return await funding.add(
        h.db,
        name="DBH Sawit 2026",
        source_type="dbh_sawit",
        region_code="12.10",
        quota=quota,
        quota_per_desa=per_desa,
        starts_on="2020-01-01",
        ends_on="2099-12-31",
    )


async def test_full_quota_is_refused_with_the_numbers(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    program_id = await _program(h, quota=1)
    first = await submission(h)
    second = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Setujui")
    await h.tap(REVIEWER, "DBH Sawit 2026 (sisa 1)")
    await h.tap(REVIEWER, "Ya, setujui")
    assert await status_of(h, first.id) == "disetujui"
    # The next card, under the outcome; the program is full now.
    assert f"\n\nPengajuan {second.ref}" in h.text(REVIEWER)
    await h.tap(REVIEWER, "Setujui")
    await h.tap(REVIEWER, "DBH Sawit 2026 (sisa 0)")
    calls = await h.tap(REVIEWER, "Ya, setujui")
    [said] = texts(calls, REVIEWER)  # the refusal and the choices again, one message
    assert said.startswith(
        "Tidak bisa disetujui: kuota DBH Sawit 2026 sudah penuh (1 dari 1). "
        "Pilih sumber iuran lain.\n\nSetujui "
    )
    assert await status_of(h, second.id) == "diajukan"
    assert program_id


async def test_village_quota_is_flagged_and_enforced(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    await _program(h, quota=100, per_desa=1)
    done = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Setujui")
    await h.tap(REVIEWER, "DBH Sawit 2026 (sisa 1)")
    await h.tap(REVIEWER, "Ya, setujui")
    assert await status_of(h, done.id) == "disetujui"
    waiting = await submission(h)  # same desa
    elsewhere = await submission(h, desa_code="12.10.19.2003")
    await h.send(REVIEWER, "/tinjau")
    card = h.text(REVIEWER)
    assert "Kuota desa DBH Sawit 2026 sudah penuh (1 dari 1)" in card
    # The same phone on the other two: a short line on the card, their numbers under Rincian.
    assert "⚠️ Nomor HP sama dengan 2 pengajuan lain" in card
    assert done.ref is not None and done.ref not in card
    assert "Rincian" in h.labels(REVIEWER)
    await h.tap(REVIEWER, "Rincian")
    details = h.text(REVIEWER)
    assert f"sama ada di pengajuan lain: {done.ref}, {elsewhere.ref}" in details
    assert "Setujui" in h.labels(REVIEWER)
    await h.press(REVIEWER, f"REV {waiting.id} A 1")
    assert "untuk desa Sei Berombang sudah penuh (1 dari 1)" in h.text(REVIEWER)
    assert await status_of(h, waiting.id) == "diajukan"
    await h.press(REVIEWER, f"REV {elsewhere.id} A 1")
    assert await status_of(h, elsewhere.id) == "disetujui"


async def test_two_concurrent_approvals_for_the_last_place(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    program_id = await _program(h, quota=1)
    first = await submission(h)
    second = await submission(h)
    # Each reviewer has their own card open (and locked), then both press "Ya, setujui" at the
    # same moment. Without the open cards, the first approval's next card may lock the other
    # reviewer's card first, and the other is told it is taken, not that the quota is full.
    await h.press(REVIEWER, f"REV {first.id} V")
    await h.press(REVIEWER_2, f"REV {second.id} V")
    results = await asyncio.gather(
        h.press(REVIEWER, f"REV {first.id} A {program_id}"),
        h.press(REVIEWER_2, f"REV {second.id} A {program_id}"),
    )
    statuses = sorted([await status_of(h, first.id), await status_of(h, second.id)])
    assert statuses == ["diajukan", "disetujui"]
    from storage import funding

    assert await funding.used(h.db, program_id) == 1
    refused = [t for calls in results for t in texts(calls, REVIEWER) + texts(calls, REVIEWER_2)]
    assert any("sudah penuh (1 dari 1)" in t for t in refused)


async def test_admin_grants_and_revokes_in_telegram(harness: Harness) -> None:
    h = harness
    await h.send(STRANGER, "/peran reviewer 7777 12.10")
    assert h.text(STRANGER) == "Perintah ini khusus admin."
    assert await roles.held_by(h.db, 7777) == []
    await h.send(ADMIN_ID, "/peran reviewer 7777 12.10.19.1001")
    assert "kode kabupaten" in h.text(ADMIN_ID)
    await h.send(ADMIN_ID, "/peran reviewer 7777 12.99")
    assert "tidak dikenal" in h.text(ADMIN_ID)
    calls = await h.send(ADMIN_ID, "/peran reviewer 7777 12.10")
    assert texts(calls, ADMIN_ID) == [
        "Peran peninjau (reviewer) untuk Kabupaten Labuhanbatu diberikan kepada 7777."
    ]
    assert "Ketik /tinjau" in texts(calls, 7777)[0]
    assert await roles.held_by(h.db, 7777) == [("reviewer", "12.10")]
    await h.send(ADMIN_ID, "/peran cabut reviewer 7777")
    assert h.text(ADMIN_ID) == "Peran peninjau (reviewer) untuk 7777 dicabut."
    assert await roles.held_by(h.db, 7777) == []
    await h.send(ADMIN_ID, "/peran")
    assert h.text(ADMIN_ID).startswith("Cara memakai:")


async def test_batal_drops_the_unfinished_note(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Tolak")
    await h.tap(REVIEWER, "Alasan lain")
    await h.send(REVIEWER, "/batal")
    assert (await store.step_of(h.db, REVIEWER)).action is None
    # Text now is not taken as a note.
    await h.send(REVIEWER, "ini bukan catatan")
    assert await status_of(h, row.id) == "diajukan"


async def test_changing_course_drops_the_half_asked_note(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    card = h.api.last(REVIEWER)
    await h.tap(REVIEWER, "Tolak")
    await h.tap(REVIEWER, "Alasan lain")
    # The reviewer goes back to the card and chooses to approve instead.
    await h.press(REVIEWER, f"REV {row.id} OK", card)
    assert (await store.step_of(h.db, REVIEWER)).action is None
    await h.send(REVIEWER, "bukan catatan penolakan")  # now a question, not a note
    assert await status_of(h, row.id) == "diajukan"


# --- decisions and their notices: one transaction, delivered through the outbox -------------


async def notices_of(h: Harness) -> list[tuple[int, str, str]]:
    rows = await h.db.fetchall("SELECT chat_id, kind, status FROM outbox ORDER BY id")
    return [(r["chat_id"], r["kind"], r["status"]) for r in rows]


async def test_a_decision_queues_one_outbox_row_per_recipient_and_sends_it_once(
    harness: Harness,
) -> None:
    h = harness
    await setup_reviewers(h)
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    row = await submission(h, operator_id=CADRE, for_self=False, worker_telegram_id=WORKER)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Tolak")
    await h.tap(REVIEWER, "Usia di luar batas program")
    calls = await h.tap(REVIEWER, "Tolak tanpa catatan")
    assert await status_of(h, row.id) == "ditolak"
    assert sorted(await notices_of(h)) == [(WORKER, "notice", "sent"), (CADRE, "notice", "sent")]
    assert len(texts(calls, WORKER)) == 1 and len(texts(calls, CADRE)) == 1
    assert len(texts(h.api.calls, WORKER)) == 1  # and not again by the background sender


async def test_a_decision_whose_notice_cannot_be_queued_is_rolled_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import outbox

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    h = harness
    await setup_reviewers(h)
    row = await submission(h, operator_id=WORKER)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Setujui")
    monkeypatch.setattr(outbox, "enqueue", broken)
    await h.tap(REVIEWER, "Mandiri (dibayar sendiri)")
    calls = await h.tap(REVIEWER, "Ya, setujui")
    assert await status_of(h, row.id) == "diajukan"
    assert [e.to_status for e in await audit.history(h.db, row.id)][-1] == "diajukan"
    assert await notices_of(h) == []
    assert texts(calls, WORKER) == []


async def test_notices_of_a_decision_survive_a_crash_before_sending(harness: Harness) -> None:
    """Killed after the commit, before any send: the next sender delivers them, once."""
    from bot import review as desk
    from tests.test_outbox import fast_sender

    h = harness
    await setup_reviewers(h)
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    row = await submission(h, operator_id=CADRE, for_self=False, worker_telegram_id=WORKER)
    settings = h.app.bot_data.settings
    await desk.request_fix(None, h.db, settings, row.id, REVIEWER, ["phone"], "Nomor salah")
    assert sorted(await notices_of(h)) == [
        (WORKER, "notice", "pending"),
        (CADRE, "notice", "pending"),
    ]
    assert texts(h.api.calls, WORKER) == []
    sender = await fast_sender(h)
    try:
        for _ in range(100):
            if all(s == "sent" for _c, _k, s in await notices_of(h)):
                break
            await asyncio.sleep(0.02)
    finally:
        await sender.stop()
    assert len(texts(h.api.calls, WORKER)) == 1 and len(texts(h.api.calls, CADRE)) == 1
    fix = next(c for c in h.api.calls if c.chat_id == WORKER)
    assert fix.buttons == [("Perbaiki data", f"FIX {row.id}")]


async def test_a_fix_stopped_with_batal_is_offered_again_by_daftar(harness: Harness) -> None:
    """/batal in the middle of a fix, then /daftar: the fix is offered, not a new registration."""
    from tests.test_registration import answer_until_summary

    h = harness
    await setup_reviewers(h)
    await answer_until_summary(h, WORKER, nik=nik_for("12.10.19"))
    await h.tap(WORKER, "Kirim")
    row = (await registrations.by_operator(h.db, WORKER))[0]
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Minta perbaikan")
    await h.tap(REVIEWER, "☐ Nama ibu kandung")
    await h.tap(REVIEWER, "Lanjut")
    await h.send(REVIEWER, "Nama ibu tidak sesuai KK")

    await h.tap(WORKER, "Perbaiki data")
    await h.send(WORKER, "/batal")
    await h.send(WORKER, "/daftar")
    assert row.ref is not None and row.ref in h.text(WORKER)
    assert h.labels(WORKER) == ["Perbaiki data", "Daftar baru"]
    await h.tap(WORKER, "Perbaiki data")
    assert h.text(WORKER).startswith("Ketik nama ibu kandung Anda.")


async def test_a_reviewer_never_decides_their_own_submission(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    own = await submission(h, operator_id=REVIEWER)  # registered themselves
    for_relative = await submission(h, operator_id=REVIEWER, for_self=False)
    other = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    assert other.ref is not None and other.ref in h.text(REVIEWER)
    # A forged press on their own card is refused, and the storage refuses the decision too.
    for row in (own, for_relative):
        await h.press(REVIEWER, f"REV {row.id} A 0")
        assert await status_of(h, row.id) == "diajukan"
        with pytest.raises(store.DecisionRefused):
            await store.approve(h.db, row.id, REVIEWER, None, sponsor=None, day="2026-12-01")
    # A colleague decides it.
    await h.press(REVIEWER_2, f"REV {own.id} A 0")
    assert await status_of(h, own.id) == "disetujui"


async def test_a_relative_who_sent_a_submission_is_not_called_a_cadre(harness: Harness) -> None:
    h = harness
    await setup_reviewers(h)
    await submission(h, operator_id=555, for_self=False)
    await h.send(REVIEWER, "/tinjau")
    card = h.text(REVIEWER)
    assert "Didaftarkan oleh: keluarga atau kenalan" in card and "kader" not in card
