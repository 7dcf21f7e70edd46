"""/laporan: counts per kecamatan and desa, quota use, coverage rate, and the PNG chart."""

from __future__ import annotations

from pathlib import Path

from bot import report as reporter
from bot.crypto import FieldCipher
from bot.i18n import translator
from storage import funding, roles
from storage import review as store
from storage.db import Database
from tests.conftest import HarnessFactory, make_settings
from tests.factories import submitted_registration

REVIEWER = 7001
SEI_BEROMBANG = "12.10.19.1001"  # Panai Hilir
SEI_LUMUT = "12.10.19.2003"  # Panai Hilir
PADANG_MATINGGI = "12.10.01.1001"  # Rantau Utara


async def known_counts(db: Database, cipher: FieldCipher) -> None:
    """Labuhanbatu: 2 diajukan, 1 perlu perbaikan, 1 disetujui, 1 ditolak, 1 terdaftar."""
    program_id = await funding.add(
        db,
        name="DBH Sawit 2026",
        source_type="dbh_sawit",
        region_code="12.10",
        quota=100,
        quota_per_desa=50,
        starts_on="2020-01-01",
        ends_on="2099-12-31",
    )
    await submitted_registration(db, cipher, desa_code=SEI_BEROMBANG)
    await submitted_registration(db, cipher, desa_code=SEI_BEROMBANG)
    approved = await submitted_registration(db, cipher, desa_code=SEI_BEROMBANG)
    await store.approve(db, approved.id, REVIEWER, program_id, sponsor=None, day="2026-01-01")
    rejected = await submitted_registration(db, cipher, desa_code=SEI_LUMUT)
    await store.reject(db, rejected.id, REVIEWER, "lain", "x")
    await submitted_registration(db, cipher, desa_code=SEI_LUMUT, status="terdaftar")
    await submitted_registration(db, cipher, desa_code=PADANG_MATINGGI, status="perlu_perbaikan")
    await submitted_registration(db, cipher, desa_code="12.05.01.2001")  # Langkat: not counted


async def test_report_numbers_on_a_known_fixture(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, potential_workers="12.10=8")
    db = await Database.open(settings.db)
    try:
        await known_counts(db, FieldCipher(settings.key))
        report = await reporter.build(db, settings, "12.10")
    finally:
        await db.close()
    assert report.totals.counts == {
        "diajukan": 2,
        "perlu_perbaikan": 1,
        "disetujui": 1,
        "ditolak": 1,
        "terdaftar": 1,
    }
    assert report.totals.covered == 2
    assert report.coverage == 0.25
    assert [(k.name, k.counts) for k in report.kecamatan] == [
        ("Panai Hilir", {"diajukan": 2, "disetujui": 1, "ditolak": 1, "terdaftar": 1}),
        ("Rantau Utara", {"perlu_perbaikan": 1}),
    ]
    assert [(d.name, d.total) for d in report.desa["12.10.19"]] == [
        ("Sei Berombang", 3),
        ("Sei Lumut", 2),
    ]
    assert [(u.program.name, u.used) for u in report.programs] == [("DBH Sawit 2026", 1)]

    text = "\n".join(reporter.render(translator("id"), report, "1 Desember 2026"))
    assert text.splitlines() == [
        "Laporan Kabupaten Labuhanbatu per 1 Desember 2026",
        "Semua pengajuan: 6 (diajukan 2, perlu perbaikan 1, disetujui 1, ditolak 1, terdaftar 1)",
        "Cakupan: 2 pekerja disetujui atau terdaftar lewat bot ini dari 8 pekerja potensial "
        "(25,00%).",
        "",
        "Kuota program:",
        "• DBH Sawit 2026: 1 dari 100 terpakai (maks. 50 per desa)",
        "",
        "Per kecamatan dan desa:",
        "Kec. Panai Hilir: diajukan 2, disetujui 1, ditolak 1, terdaftar 1",
        "   – Sei Berombang: diajukan 2, disetujui 1",
        "   – Sei Lumut: ditolak 1, terdaftar 1",
        "Kec. Rantau Utara: perlu perbaikan 1",
        "   – Padang Matinggi: perlu perbaikan 1",
    ]
    png = reporter.chart_png(translator("id"), report)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5000


async def test_labuhanbatu_coverage_figure_is_rendered_in_indonesian(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, potential_workers="12.10=181567")
    db = await Database.open(settings.db)
    try:
        report = await reporter.build(db, settings, "12.10")
    finally:
        await db.close()
    report.totals.counts = {"disetujui": 66_510}
    text = reporter.render(translator("id"), report, "1 Desember 2026")[0]
    assert "66.510 pekerja disetujui atau terdaftar lewat bot ini dari 181.567" in text
    assert "(36,63%)" in text
    # No figure configured: no rate.
    assert (
        "Cakupan"
        not in reporter.render(
            translator("id"),
            await _empty(tmp_path / "other"),
            "1 Desember 2026",
        )[0]
    )


async def _empty(folder: Path) -> reporter.Report:
    settings = make_settings(folder)
    db = await Database.open(settings.db)
    try:
        return await reporter.build(db, settings, "12.10")
    finally:
        await db.close()


async def test_laporan_sends_the_numbers_and_the_chart(
    harness_factory: HarnessFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, potential_workers="12.10=8")
    async with harness_factory(settings) as h:
        await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
        await known_counts(h.db, h.app.bot_data.cipher)
        calls = await h.send(REVIEWER, "/laporan")
        texts = [c.text for c in calls if c.method == "sendMessage"]
        assert texts[0].startswith("Laporan Kabupaten Labuhanbatu per ")
        assert "(25,00%)" in texts[0]
        photos = [c for c in calls if c.method == "sendPhoto"]
        assert len(photos) == 1
        assert photos[0].text == "Pengajuan per kecamatan, Kabupaten Labuhanbatu"
        (png,) = photos[0].files.values()
        assert png.startswith(b"\x89PNG")
        # A region outside the reviewer's district falls back to their own.
        calls = await h.send(REVIEWER, "/laporan 12.05")
        assert "di luar wilayah tugas Anda" in calls[0].text
        # A kecamatan inside it narrows the report.
        calls = await h.send(REVIEWER, "/laporan 12.10.01")
        assert calls[0].text.startswith("Laporan Rantau Utara per ")
