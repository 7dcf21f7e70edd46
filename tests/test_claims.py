"""/klaim: every claim type in every state, the linked worker's list, lookups by number."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import membership
from bot.membership import CLAIM_STATUSES, CLAIM_TYPES, FileSource, import_claims
from storage import membership as store
from tests.conftest import Harness
from tests.factories import nik_for

WORKER = 501
OTHER = 777
HEADER = "no_klaim,nik,kpj,jenis,status,tanggal_status,jumlah_dibayar"

# What the next-step text must mention per type while a claim is open (PP 44/2015, PP 49/2023).
OPEN_HINTS = {
    "JKK": ["Tahap I", "2×24 jam", "Formulir Tahap II", "30 hari"],
    "JKM": ["akta kematian", "surat keterangan ahli waris", "Lama proses berbeda-beda"],
    "JHT": ["Rp15 juta", "Lapak Asik", "buku tabungan, dan NPWP"],
    "BEASISWA": ["formulir beasiswa", "surat keterangan sekolah"],
}
CURRENT = {
    "diajukan": "▶️ Diajukan (sekarang)",
    "diverifikasi": "▶️ Berkas diperiksa (sekarang)",
    "diproses": "▶️ Diproses BPJS (sekarang)",
    "disetujui": "▶️ Disetujui (sekarang)",
    "ditolak": "▶️ Ditolak (sekarang)",
    "dibayar": "✅ Dibayar",
}


async def import_rows(h: Harness, tmp_path: Path, *rows: str) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    await import_claims(h.db, h.app.bot_data.cipher, FileSource(path))


@pytest.mark.parametrize("kind", CLAIM_TYPES)
async def test_each_claim_type_in_each_state(harness: Harness, tmp_path: Path, kind: str) -> None:
    rows = [
        f"{kind}-{i},,12345678901,{kind},{status},2026-11-0{i + 1},"
        + ("2500000" if status == "dibayar" else "")
        for i, status in enumerate(CLAIM_STATUSES)
    ]
    await import_rows(harness, tmp_path, *rows)
    for i, status in enumerate(CLAIM_STATUSES):
        user = OTHER + i  # one person may look up 5 claims an hour
        await harness.send(user, f"/klaim {kind}-{i}")
        text = harness.text(user)
        assert f"nomor {kind}-{i}" in text
        assert CURRENT[status] in text
        assert f"Perubahan terakhir: {i + 1} November 2026" in text
        # A claim looked up by someone who is not its owner never shows the amount paid.
        assert "Rp2.500.000" not in text
        for hint in OPEN_HINTS[kind]:
            assert hint not in text, (kind, status, hint)  # the long list is behind a button
        if status in ("diajukan", "diverifikasi", "diproses"):
            assert "Tekan Penjelasan" in text
            await harness.tap(user, "Penjelasan")
            explained = harness.text(user)
            for hint in OPEN_HINTS[kind]:
                assert hint in explained, (kind, status, hint)
            assert "BPJS 175" in explained
        else:
            assert "Penjelasan" not in harness.last(user).text
            assert harness.last(user).buttons == []
        if status == "ditolak":
            assert "alasan penolakan" in text
            assert "⬜" not in text
        if status == "disetujui":
            assert "menunggu pembayaran" in text
            assert "✅ Diproses BPJS" in text and "⬜ Dibayar" in text
        if status == "dibayar":
            assert "⬜" not in text and "▶️" not in text
        assert "Tracking Klaim" in text
    # Each lookup of someone else's claim counts against the hourly limit.
    assert await store.lookups_in_last_hour(harness.db, OTHER) == 1


async def test_linked_worker_sees_all_own_claims_newest_first(
    harness: Harness, tmp_path: Path
) -> None:
    nik = nik_for()
    await import_rows(
        harness,
        tmp_path,
        f"A-1,{nik},,JKK,diproses,2026-10-01,",
        "A-2,,12345678901,JHT,dibayar,2026-11-05,1500000",
        f"A-3,{nik_for()},,JKM,diajukan,2026-11-06,",
    )
    members = tmp_path / "m.csv"
    members.write_text(
        "nik,kpj,program,dilindungi_sampai,tanggal_bayar_terakhir,status\n"
        f"{nik},12345678901,JKK+JKM,2026-12-31,,aktif\n",
        encoding="utf-8",
    )
    await membership.import_members(harness.db, harness.app.bot_data.cipher, FileSource(members))
    await store.link(
        harness.db, WORKER, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    await harness.send(WORKER, "/klaim")
    text = harness.text(WORKER)
    assert "A-3" not in text
    # A short line per claim, newest first, and a button per claim for its details.
    assert "• A-2 – JHT (jaminan hari tua): Dibayar (5 November 2026)" in text
    assert "• A-1 – JKK (kecelakaan kerja): Diproses BPJS (1 Oktober 2026)" in text
    assert text.index("A-2") < text.index("A-1")
    assert harness.labels(WORKER) == ["Klaim A-2", "Klaim A-1", "Cari dengan nomor klaim"]
    await harness.tap(WORKER, "Klaim A-2")
    assert "nomor A-2" in harness.text(WORKER)
    assert "Dibayar: Rp1.500.000" in harness.text(WORKER)
    await harness.tap(WORKER, "Klaim A-1")
    assert "▶️ Diproses BPJS (sekarang)" in harness.text(WORKER)
    await harness.tap(WORKER, "Penjelasan")
    assert "Formulir Tahap II" in harness.text(WORKER)
    # Own claims by number are not counted as lookups.
    await harness.send(WORKER, "/klaim a-1")
    assert "nomor A-1" in harness.text(WORKER)
    assert await store.lookups_in_last_hour(harness.db, WORKER) == 0


async def test_linked_worker_without_claims(harness: Harness) -> None:
    await store.link(harness.db, WORKER, "somehash", proof="kpj")
    await harness.send(WORKER, "/klaim")
    assert harness.text(WORKER).startswith("Belum ada data klaim untuk Anda.")
    assert harness.labels(WORKER) == ["Cari dengan nomor klaim"]


async def test_unlinked_user_is_asked_for_the_number(harness: Harness, tmp_path: Path) -> None:
    await import_rows(harness, tmp_path, "B-7,,12345678901,JKM,diverifikasi,2026-11-02,")
    await harness.send(OTHER, "/start")
    await harness.tap(OTHER, "Status klaim")
    assert "Ketik nomor klaim Anda" in harness.text(OTHER)
    assert harness.labels(OTHER) == ["Hubungkan data saya"]
    await harness.send(OTHER, "B-8")
    assert "Klaim dengan nomor B-8 tidak ditemukan" in harness.text(OTHER)
    await harness.tap(OTHER, "Coba nomor lain")
    await harness.send(OTHER, "B-7")
    assert "▶️ Berkas diperiksa (sekarang)" in harness.text(OTHER)
    user = await harness.db.fetchone(
        "SELECT active_flow FROM users WHERE telegram_id = ?", (OTHER,)
    )
    assert user["active_flow"] is None


async def test_claim_lookups_share_the_hourly_limit(harness: Harness) -> None:
    for i in range(membership.LOOKUPS_PER_HOUR):
        await harness.send(OTHER, f"/klaim X-{i}")
        assert "tidak ditemukan" in harness.text(OTHER)
    await harness.send(OTHER, "/klaim X-99")
    assert "5 kali mencari data" in harness.text(OTHER)


async def test_amount_paid_only_for_the_owner_of_the_claim(
    harness: Harness, tmp_path: Path
) -> None:
    nik = nik_for()
    await import_rows(harness, tmp_path, f"P-1,{nik},,JHT,dibayar,2026-11-05,1500000")
    await harness.send(OTHER, "/klaim P-1")
    assert "✅ Dibayar" in harness.text(OTHER)
    assert "Rp1.500.000" not in harness.text(OTHER)
    await store.link(
        harness.db, WORKER, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    await harness.send(WORKER, "/klaim P-1")
    assert "Dibayar: Rp1.500.000" in harness.text(WORKER)


async def test_a_claim_button_shows_only_the_pressers_own_claim(
    harness: Harness, tmp_path: Path
) -> None:
    nik = nik_for()
    await import_rows(harness, tmp_path, f"C-1,{nik},,JHT,dibayar,2026-11-05,1500000")
    await harness.send(OTHER, "/start")
    # A forged press with someone else's claim number shows nothing and counts nothing.
    calls = await harness.press(OTHER, "CLM D C-1")
    assert [c.text for c in calls if c.method == "sendMessage"] == []
    assert all("C-1" not in c.text and "Rp1.500.000" not in c.text for c in calls)
    assert await store.lookups_in_last_hour(harness.db, OTHER) == 0
    # The same press by the claim's owner shows it, with the amount paid.
    await store.link(
        harness.db, WORKER, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    await harness.send(WORKER, "/start")
    await harness.press(WORKER, "CLM D C-1")
    assert "nomor C-1" in harness.text(WORKER)
    assert "Dibayar: Rp1.500.000" in harness.text(WORKER)


async def test_a_single_claim_is_shown_in_full_with_its_explanation(
    harness: Harness, tmp_path: Path
) -> None:
    nik = nik_for()
    await import_rows(harness, tmp_path, f"S-1,{nik},,JKM,diajukan,2026-11-05,")
    await store.link(
        harness.db, WORKER, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    await harness.send(WORKER, "/klaim")
    assert "▶️ Diajukan (sekarang)" in harness.text(WORKER)
    assert harness.labels(WORKER) == ["Penjelasan", "Cari dengan nomor klaim"]
    await harness.tap(WORKER, "Penjelasan")
    assert "akta kematian" in harness.text(WORKER)
