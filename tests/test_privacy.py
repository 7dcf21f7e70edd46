"""/data_saya: see, correct and delete one's data; a cadre with NIK + birth date; retention."""

from __future__ import annotations

from typing import Any

from bot.crypto import mask_nik
from handlers import privacy as privacy_handlers
from handlers.privacy import parse_birth_date
from storage import privacy, registrations, roles
from storage.registrations import Registration
from tests.conftest import Harness
from tests.dbcheck import column_names
from tests.factories import nik_for, submitted_registration

WORKER = 701
CADRE = 702
STRANGER = 703
REVIEWER = 704


async def worker_registration(h: Harness, **fields: Any) -> Registration:
    """A worker's own submission."""
    return await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=WORKER, **fields)


async def cadre_registration(h: Harness, nik: str, **fields: Any) -> Registration:
    """A submission a cadre made for a worker without Telegram."""
    return await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=CADRE, for_self=False, nik=nik, **fields
    )


async def test_worker_sees_everything_stored_with_nik_and_phone_partly_hidden(
    harness: Harness,
) -> None:
    h = harness
    nik = nik_for("12.10.19")
    row = await worker_registration(h, nik=nik, heir_name="Ani", heir_relation="anak")
    await h.send(WORKER, "/data_saya")
    assert len(h.text(WORKER)) <= 600  # a short overview; the fields are one press away
    await h.tap(WORKER, f"Lihat data {row.ref}")
    text = h.text(WORKER)
    assert len(text) <= 600
    assert row.ref is not None and row.ref in text
    assert "Budi Santoso" in text
    assert mask_nik(nik) in text and nik not in text
    assert "+6281234567890" not in text and "890" in text
    assert "Siti Aminah" in text
    assert "15 Mei 1980" in text
    # Paid by a program: the contribution worded as the registration summary words it.
    assert "Rp1.000.000" in text and "Iuran per bulan: Rp16.800, dibayar program" in text
    assert "Ani" in text
    # The consent date in words, never the version of the consent text.
    assert "Persetujuan diberikan 1 November 2026" in text and "versi" not in text
    assert "Alamat: Sei Berombang, Panai Hilir, Kabupaten Labuhanbatu" in text
    assert "Didaftarkan oleh: Anda sendiri" in text
    assert h.labels(WORKER) == [f"Minta perbaikan {row.ref}", f"Hapus data {row.ref}"]


async def test_a_person_without_registration_is_told_so(harness: Harness) -> None:
    await harness.send(STRANGER, "/data_saya")
    assert "Tidak ada data pendaftaran atas nama Anda." in harness.text(STRANGER)


async def test_withdrawal_deletes_a_submission_not_yet_approved(harness: Harness) -> None:
    h = harness
    row = await worker_registration(h)
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    await h.tap(WORKER, f"Hapus data {row.ref}")
    assert "akan dihapus dan tidak bisa dikembalikan" in h.text(WORKER)
    await h.tap(WORKER, "Ya, tarik persetujuan dan hapus")
    assert h.text(WORKER).startswith("Selesai.")
    assert row.ref is not None and row.ref in h.text(WORKER)
    assert await registrations.get(h.db, row.id) is None
    assert (
        await h.db.fetchval(
            "SELECT count(*) FROM registration_events WHERE registration_id = ?", (row.id,)
        )
        == 0
    )
    stored = await h.db.fetchone("SELECT * FROM privacy_requests WHERE kind = 'withdrawal'")
    assert stored["outcome"] == "deleted" and stored["ref"] == row.ref
    assert stored["requested_by"] == WORKER and stored["on_behalf"] == 0
    # The old confirm button, pressed again: told it is done, nothing else happens.
    calls = await h.press(WORKER, f"DATA DELOK {row.id}")
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
        "Data ini sudah dihapus sebelumnya."
    ]


async def test_withdrawal_of_an_approved_enrolment_keeps_what_the_district_pays_with(
    harness: Harness,
) -> None:
    h = harness
    row = await worker_registration(h, status="disetujui", heir_name="Ani", heir_relation="anak")
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    await h.tap(WORKER, f"Hapus data {row.ref}")
    asked = h.text(WORKER)
    assert "Yang tetap disimpan, karena kabupaten wajib menyimpannya" in asked
    assert "nomor HP" in asked and "nomor KPJ" in asked and len(asked) <= 600
    await h.tap(WORKER, "Ya, tarik persetujuan dan hapus")
    confirmation = h.text(WORKER)
    assert "nomor HP" in confirmation and "nama ibu kandung" in confirmation
    assert "NIK, nama, tanggal lahir dan jenis kelamin" in confirmation
    kept = await registrations.get(h.db, row.id)
    assert kept is not None and kept.status == "disetujui"
    for field in privacy.ANONYMISED_FIELDS:
        assert getattr(kept, field) is None, field
    assert kept.operator_id == 0
    for field in ("nik_enc", "nik_hash", "name", "birth_date", "desa_code", "programs"):
        assert getattr(kept, field) == getattr(row, field), field
    events = await h.db.fetchall(
        "SELECT reason FROM registration_events WHERE registration_id = ?", (row.id,)
    )
    assert [e["reason"] for e in events][-1] == "consent_withdrawn"
    # The worker's /data_saya no longer shows it: it is not linked to them any more.
    await h.send(WORKER, "/data_saya")
    assert "Tidak ada data pendaftaran atas nama Anda." in h.text(WORKER)


async def test_correction_request_reaches_the_reviewers_masked(harness: Harness) -> None:
    h = harness
    row = await worker_registration(h)
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "cli")
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    assert "Tulis apa yang salah" in h.text(WORKER)
    other_nik = nik_for("12.10.19")
    await h.send(WORKER, f"Nama ibu yang benar Siti Rahma, NIK saya {other_nik}")
    assert "sudah diteruskan ke petugas kabupaten" in h.text(WORKER)
    notice = h.text(REVIEWER)
    assert row.ref is not None and row.ref in notice and "Siti Rahma" in notice
    assert other_nik not in notice and mask_nik(other_nik) in notice
    open_rows = await privacy.open_corrections(h.db, "12.10")
    assert len(open_rows) == 1
    stored = open_rows[0]
    assert stored.text_enc is not None
    assert other_nik.encode() not in stored.text_enc
    assert other_nik in h.app.bot_data.cipher.decrypt(stored.text_enc)
    user = await h.db.fetchone("SELECT active_flow FROM users WHERE telegram_id = ?", (WORKER,))
    assert user["active_flow"] is None


async def test_correction_can_be_cancelled(harness: Harness) -> None:
    h = harness
    row = await worker_registration(h)
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    await h.send(WORKER, "/batal")
    assert h.text(WORKER).startswith("Dibatalkan.")
    assert await privacy.open_corrections(h.db, "12.10") == []


async def test_cadre_reaches_a_worker_only_with_nik_and_birth_date(harness: Harness) -> None:
    h = harness
    nik = nik_for("12.10.19")
    row = await cadre_registration(h, nik, name="Rahmat Hidayat")
    await h.send(CADRE, "/data_saya")
    assert "Rahmat Hidayat" not in h.text(CADRE)
    await h.tap(CADRE, "Data pekerja yang saya daftarkan")
    await h.send(CADRE, " ".join(nik[i : i + 4] for i in range(0, 16, 4)))
    await h.send(CADRE, "15-05-1980")
    text = h.text(CADRE)
    # The cadre who registered him is "Anda" here, not a stranger's account.
    assert "Rahmat Hidayat" in text and "Didaftarkan oleh: Anda\n" in text
    await h.tap(CADRE, f"Hapus data {row.ref}")
    await h.tap(CADRE, "Ya, tarik persetujuan dan hapus")
    assert await registrations.get(h.db, row.id) is None
    stored = await h.db.fetchone("SELECT * FROM privacy_requests WHERE kind = 'withdrawal'")
    assert stored["on_behalf"] == 1 and stored["requested_by"] == CADRE


async def test_cadre_with_the_wrong_birth_date_learns_nothing_and_is_limited(
    harness: Harness,
) -> None:
    h = harness
    nik = nik_for("12.10.19")
    await cadre_registration(h, nik, name="Rahmat Hidayat")
    answers = []
    for attempt in range(privacy_handlers.MAX_ATTEMPTS):
        await h.send(CADRE, "/data_saya")
        await h.tap(CADRE, "Data pekerja yang saya daftarkan")
        await h.send(CADRE, nik)
        await h.send(CADRE, f"{attempt + 1:02d}-01-1990")
        answers.append(h.text(CADRE))
    assert all("tidak cocok" in a and "Rahmat" not in a for a in answers)
    await h.send(CADRE, "/data_saya")
    await h.tap(CADRE, "Data pekerja yang saya daftarkan")
    assert h.text(CADRE) == "Terlalu banyak percobaan. Silakan coba lagi besok."


async def test_nobody_else_can_use_the_worker_s_buttons(harness: Harness) -> None:
    h = harness
    row = await worker_registration(h)
    nik = nik_for("12.10.19")
    cadre_row = await cadre_registration(h, nik)
    for data in (f"DATA DEL {row.id}", f"DATA DELOK {row.id}", f"DATA FIX {row.id}"):
        await h.send(STRANGER, "/start")
        calls = await h.press(STRANGER, data)
        assert [c.params.get("text") for c in calls] == ["Tombol ini sudah tidak berlaku."]
    # The cadre who registered a worker still needs the NIK + birth date proof.
    await h.send(CADRE, "/start")
    calls = await h.press(CADRE, f"DATA DELOK {cadre_row.id}")
    assert [c.params.get("text") for c in calls] == ["Tombol ini sudah tidak berlaku."]
    assert await registrations.get(h.db, row.id) is not None
    assert await registrations.get(h.db, cadre_row.id) is not None


async def test_forged_data_buttons_are_answered_as_stale(harness: Harness) -> None:
    h = harness
    await h.send(STRANGER, "/start")
    for data in ("DATA", "DATA DEL", "DATA DEL x", "DATA DEL 1 2", "DATA ZAP 1", "DATA DEL -1"):
        calls = await h.press(STRANGER, data)
        assert [c.method for c in calls] == ["answerCallbackQuery"], data


async def test_retention_deletes_old_rejections_and_abandoned_drafts(harness: Harness) -> None:
    h = harness
    old_rejected = await worker_registration(h, status="ditolak")
    new_rejected = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=705, status="ditolak"
    )
    approved = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=706, status="disetujui"
    )
    old_draft = await registrations.create_draft(h.db, 707, "nik")
    new_draft = await registrations.create_draft(h.db, 708, "nik")
    await h.db.execute(
        "UPDATE registrations SET updated_at = '2020-01-01T00:00:00Z', reviewed_at = NULL "
        "WHERE id IN (?, ?, ?)",
        (old_rejected.id, old_draft, approved.id),
    )
    context: Any = type("Ctx", (), {"db": h.db, "settings": h.app.bot_data.settings})()
    await privacy_handlers.retention_job(context)
    remaining = {r["id"] for r in await h.db.fetchall("SELECT id FROM registrations")}
    assert remaining == {new_rejected.id, approved.id, new_draft}


def test_birth_dates_are_read_in_the_usual_forms() -> None:
    assert str(parse_birth_date("15-05-1980")) == "1980-05-15"
    assert str(parse_birth_date("15/5/1980")) == "1980-05-15"
    assert str(parse_birth_date("15 05 1980")) == "1980-05-15"
    assert str(parse_birth_date("1980-05-15")) == "1980-05-15"
    assert str(parse_birth_date("\u200f15.05.1980\u200e")) == "1980-05-15"
    assert str(parse_birth_date("12 maret 1978")) == "1978-03-12"  # as people type it
    assert str(parse_birth_date("tgl 12 bln 3 thn 1978")) == "1978-03-12"
    assert parse_birth_date("31-02-1980") is None
    assert parse_birth_date("maret 1978") is None  # no day: not a whole date
    assert parse_birth_date("kemarin") is None


async def test_deleting_the_draft_being_filled_in_ends_the_registration_flow(
    harness: Harness,
) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, "Lihat data draf")
    await h.tap(WORKER, "Hapus data draf")
    await h.tap(WORKER, "Ya, tarik persetujuan dan hapus")
    assert await registrations.draft_of(h.db, WORKER) is None
    user = await h.db.fetchone("SELECT active_flow FROM users WHERE telegram_id = ?", (WORKER,))
    assert user["active_flow"] is None
    await h.send(WORKER, "halo")  # not taken as an answer to a question that no longer exists
    assert not h.text(WORKER).startswith("Maaf, terjadi gangguan")


async def test_every_registration_column_is_either_kept_or_anonymised(harness: Harness) -> None:
    from storage.privacy import ANONYMISED_FIELDS, KEPT_FIELDS

    columns = await column_names(harness.db, "registrations")
    # A new column must be given a fate here (and in SECURITY.md) before it can hold data.
    bookkeeping = {
        "id", "step", "editing", "scratch", "operator_id", "created_at", "updated_at",
        "locked_by", "locked_until",  # a reviewer's few-minute lock on the card
    }  # fmt: skip
    decided = set(KEPT_FIELDS) | set(ANONYMISED_FIELDS) | bookkeeping
    assert set(KEPT_FIELDS).isdisjoint(ANONYMISED_FIELDS)
    assert columns - decided == set()
