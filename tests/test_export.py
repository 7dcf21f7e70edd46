"""Export: the contract's columns in order, then the amounts; NIK as text; streamed."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import tracemalloc
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot import clock
from bot import export as exporter
from bot.crypto import FieldCipher
from bot.settings import Settings
from jaga.cli import main as jaga
from storage import funding, roles
from storage import review as store
from storage.db import Database
from tests.conftest import Harness
from tests.factories import submitted_registration

# The export contract's columns, copied here on purpose: the test fails if the code drifts.
DESIGN_COLUMNS = [
    "ref", "status", "nik", "nama", "tanggal_lahir", "jenis_kelamin", "nama_ibu_kandung",
    "no_hp", "kode_desa", "desa", "kecamatan", "kabupaten", "pekerjaan", "penghasilan",
    "program", "iuran_bulanan", "periode_bayar", "sumber_iuran", "ahli_waris",
    "hubungan_ahli_waris", "didaftarkan_oleh", "diajukan_pada", "ditinjau_oleh",
    "ditinjau_pada", "alasan",
]  # fmt: skip
# Appended after the contract's columns, which keep their order and names.
NEW_COLUMNS = [
    "dasar_penghasilan", "iuran_normal", "potongan", "iuran_dibayar", "kpj", "desil_p3ke",
]  # fmt: skip
ALL_COLUMNS = DESIGN_COLUMNS + NEW_COLUMNS
REVIEWER = 7001
CADRE = 602
SECRET = "cli-test-secret-key-of-enough-length-0123"


async def fixture_rows(db: Database, cipher: FieldCipher) -> dict[str, Any]:
    """Self-registered approved, cadre-registered rejected, waiting, other district, a draft."""
    program_id = await funding.add(
        db,
        name="DBH Sawit 2026",
        source_type="dbh_sawit",
        region_code="12.10",
        quota=10,
        quota_per_desa=None,
        starts_on="2020-01-01",
        ends_on="2099-12-31",
    )
    approved_nik = "1210190105800007"
    approved = await submitted_registration(
        db,
        cipher,
        nik=approved_nik,
        phone="+6281200000001",
        heir_name="Rina",
        heir_relation="pasangan",
    )
    await store.approve(db, approved.id, REVIEWER, program_id, sponsor=None, day="2026-01-01")
    rejected = await submitted_registration(
        db, cipher, operator_id=CADRE, for_self=False, occupation="lainnya",
        occupation_other="penderes getah",
    )  # fmt: skip
    await store.reject(db, rejected.id, REVIEWER, "usia", "Usia di luar batas program")
    waiting = await submitted_registration(db, cipher)
    self_paying = await submitted_registration(
        db, cipher, payer="sendiri", sumber_iuran="mandiri", pay_period_months=3
    )
    langkat = await submitted_registration(db, cipher, desa_code="12.05.01.2001")
    await db.execute(
        "INSERT INTO p3ke(nik_hash, decile) VALUES (?, 2)",
        (cipher.lookup_hash("nik", approved_nik),),
    )
    from storage import registrations

    await registrations.create_draft(db, 999, "nik")
    return {
        "approved": approved,
        "approved_nik": approved_nik,
        "rejected": rejected,
        "waiting": waiting,
        "self_paying": self_paying,
        "langkat": langkat,
        "program_id": program_id,
    }


async def test_csv_and_xlsx_have_the_design_columns_and_text_niks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 6, 1))
    db = await Database.open(tmp_path / "e.sqlite3")
    cipher = FieldCipher(b"k" * 32)
    try:
        rows = await fixture_rows(db, cipher)
        csv_path, xlsx_path = tmp_path / "out.csv", tmp_path / "out.xlsx"
        assert await exporter.export(db, cipher, csv_path, "csv", regions=["12.10"]) == 4
        assert await exporter.export(db, cipher, xlsx_path, "xlsx", regions=["12.10"]) == 4
    finally:
        await db.close()

    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ALL_COLUMNS
    by_ref = {r[0]: dict(zip(ALL_COLUMNS, r, strict=True)) for r in table[1:]}
    assert rows["langkat"].ref not in by_ref  # other district
    approved = by_ref[rows["approved"].ref]
    assert approved["status"] == "disetujui"
    assert approved["nik"] == rows["approved_nik"]
    assert approved["no_hp"] == "+6281200000001"
    assert (approved["kode_desa"], approved["desa"], approved["kecamatan"]) == (
        "12.10.19.1001",
        "Sei Berombang",
        "Panai Hilir",
    )
    assert approved["kabupaten"] == "Kabupaten Labuhanbatu"
    assert (approved["tanggal_lahir"], approved["jenis_kelamin"]) == ("1980-05-15", "L")
    assert (approved["iuran_bulanan"], approved["penghasilan"]) == ("16800", "1000000")
    assert (approved["sumber_iuran"], approved["program"]) == ("dbh_sawit", "JKK_JKM")
    assert (approved["ahli_waris"], approved["hubungan_ahli_waris"]) == ("Rina", "pasangan")
    assert approved["didaftarkan_oleh"] == "sendiri"
    assert approved["ditinjau_oleh"] == str(REVIEWER)
    assert len(approved["diajukan_pada"]) == 10 and approved["diajukan_pada"][4] == "-"
    assert approved["alasan"] == ""
    rejected = by_ref[rows["rejected"].ref]
    assert rejected["didaftarkan_oleh"] == str(CADRE)
    assert rejected["pekerjaan"] == "penderes getah"
    assert rejected["alasan"] == "Usia di luar batas program"
    # Asked for a program, none assigned yet: not "mandiri".
    assert by_ref[rows["waiting"].ref]["sumber_iuran"] == "program"
    assert by_ref[rows["self_paying"].ref]["sumber_iuran"] == "mandiri"
    # The amounts on the export's day: DBH sawit is APBD money, so no PP 50/2025 discount.
    assert [approved[c] for c in NEW_COLUMNS] == ["1000000", "16800", "0", "16800", "", "2"]
    # A self-paying nelayan in the non-transport window (Apr-Dec 2026): half of JKK + JKM.
    paying = by_ref[rows["self_paying"].ref]
    assert [paying[c] for c in NEW_COLUMNS] == ["1000000", "16800", "8400", "8400", "", ""]

    workbook = openpyxl.load_workbook(xlsx_path)
    sheet = workbook.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == ALL_COLUMNS
    assert len(values) == 5
    nik_col = DESIGN_COLUMNS.index("nik") + 1
    phone_col = DESIGN_COLUMNS.index("no_hp") + 1
    for row_number in range(2, 6):
        for col in (nik_col, phone_col):
            cell = sheet.cell(row=row_number, column=col)
            assert cell.data_type == "s"
            assert isinstance(cell.value, str)
            assert cell.number_format == "@"
    xlsx_by_ref = {r[0]: r for r in values[1:]}
    assert xlsx_by_ref[rows["approved"].ref][nik_col - 1] == rows["approved_nik"]
    # Money stays a number in XLSX, in whole rupiah.
    assert xlsx_by_ref[rows["approved"].ref][DESIGN_COLUMNS.index("iuran_bulanan")] == 16800
    xlsx_paying = xlsx_by_ref[rows["self_paying"].ref]
    assert [xlsx_paying[ALL_COLUMNS.index(c)] for c in ("potongan", "iuran_dibayar")] == [
        8400,
        8400,
    ]
    assert xlsx_by_ref[rows["approved"].ref][ALL_COLUMNS.index("desil_p3ke")] == 2


async def test_text_starting_with_equals_is_never_a_formula(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "f.sqlite3")
    cipher = FieldCipher(b"k" * 32)
    try:
        await submitted_registration(db, cipher, heir_name="=HYPERLINK(1)")
        path = tmp_path / "x.xlsx"
        await exporter.export(db, cipher, path, "xlsx")
    finally:
        await db.close()
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    cell = sheet.cell(row=2, column=DESIGN_COLUMNS.index("ahli_waris") + 1)
    assert (cell.value, cell.data_type) == ("=HYPERLINK(1)", "s")


async def _copies(db: Database, count: int, tag: str) -> None:
    """`count` more submitted rows, copied in SQL from the first (fast; status ditolak)."""
    await db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO registrations(ref, status, operator_id, for_self, nik_enc, nik_hash, "
        "nik_masked, name, birth_date, sex, mother_name, phone_enc, kabupaten_code, "
        "kecamatan_code, desa_code, occupation, income, programs, monthly_contribution, "
        "pay_period_months, payer, submitted_at) "
        "SELECT ? || i, 'ditolak', operator_id, for_self, nik_enc, nik_hash, nik_masked, "
        "name || i, birth_date, sex, mother_name, phone_enc, kabupaten_code, kecamatan_code, "
        "desa_code, occupation, income, programs, monthly_contribution, pay_period_months, "
        "payer, submitted_at FROM n, (SELECT * FROM registrations LIMIT 1)",
        (count, f"C{tag}-"),
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_memory_does_not_grow_with_the_rows(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks so that a small test shows what 100,000 rows in chunks of 1,000 would.
    monkeypatch.setattr(exporter, "CHUNK", 50)
    db = await Database.open(tmp_path / "m.sqlite3")
    cipher = FieldCipher(b"k" * 32)
    try:
        await submitted_registration(db, cipher)
        peaks = []
        for total in (100, 1000):
            have = await db.fetchval("SELECT COUNT(*) FROM registrations")
            await _copies(db, total - have, str(total))
            tracemalloc.start()
            count = await exporter.export(db, cipher, tmp_path / f"out{total}.{fmt}", fmt)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            assert count == total
    finally:
        await db.close()
    # Ten times the rows, not ten times the memory: rows are streamed, not collected.
    assert peaks[1] < peaks[0] * 3


def test_cli_export_filters_and_reports_bad_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", SECRET)

    async def fill() -> None:
        db = await Database.open(tmp_path / "cli.sqlite3")
        try:
            await fixture_rows(db, FieldCipher(SECRET.encode()))
        finally:
            await db.close()

    asyncio.run(fill())
    out = tmp_path / "approved.csv"
    args = ["export", "--format", "csv", "--out", str(out), "--region", "12.10"]
    assert jaga([*args, "--status", "disetujui"]) == 0
    assert f"{out}: 1 rows" in capsys.readouterr().out
    with out.open(encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert [r[1] for r in lines[1:]] == ["disetujui"]
    all_rows = tmp_path / "all.xlsx"
    assert jaga(["export", "--format", "xlsx", "--out", str(all_rows)]) == 0
    assert f"{all_rows}: 5 rows" in capsys.readouterr().out
    assert jaga(["export", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert jaga([*args[:4], str(out), "--region", "99.99"]) == 2
    assert "unknown region code 99.99" in capsys.readouterr().err


async def test_ekspor_sends_the_district_file_in_the_chat(harness: Harness) -> None:
    h = harness
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    rows = await fixture_rows(h.db, h.app.bot_data.cipher)
    await h.send(REVIEWER, "/ekspor")
    assert "simpan dengan aman" in h.text(REVIEWER)
    calls = await h.tap(REVIEWER, "CSV")
    documents = [c for c in calls if c.method == "sendDocument"]
    assert len(documents) == 1
    assert documents[0].text.startswith("4 pengajuan.")
    content = next(iter(documents[0].files.values())).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(content)))
    assert table[0] == ALL_COLUMNS
    refs = {r[0] for r in table[1:]}
    assert rows["langkat"].ref not in refs
    assert rows["approved"].ref in refs
    # With a status: only those.
    await h.send(REVIEWER, "/ekspor disetujui")
    calls = await h.tap(REVIEWER, "Excel (XLSX)")
    document = next(c for c in calls if c.method == "sendDocument")
    sheet = openpyxl.load_workbook(io.BytesIO(next(iter(document.files.values())))).active
    assert sheet is not None
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["disetujui"]
    # A forged export button from someone without the role sends nothing.
    await h.send(603, "/start")
    calls = await h.press(603, "EXP csv")
    assert not [c for c in calls if c.method == "sendDocument"]


async def test_export_streams_in_chunks_from_the_configured_engine(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JAGA_DB's engine (PostgreSQL on the suite's second run): rows cross several chunks.
    monkeypatch.setattr(exporter, "CHUNK", 2)
    db = await Database.open(settings.db)
    cipher = FieldCipher(b"k" * 32)
    try:
        rows = await fixture_rows(db, cipher)
        path = tmp_path / "all.xlsx"
        assert await exporter.export(db, cipher, path, "xlsx") == 5
        out = io.StringIO()
        assert await exporter.export_csv_to(db, cipher, out, status="disetujui") == 1
    finally:
        await db.close()
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    refs = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert refs == [rows[k].ref for k in ("approved", "rejected", "waiting", "self_paying")] + [
        rows["langkat"].ref
    ]
    table = list(csv.reader(io.StringIO(out.getvalue())))
    approved = dict(zip(ALL_COLUMNS, table[1], strict=True))
    assert (approved["ref"], approved["nik"]) == (rows["approved"].ref, rows["approved_nik"])
    assert approved["desil_p3ke"] == "2"
