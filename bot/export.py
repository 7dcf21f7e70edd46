"""CSV and XLSX export of submissions, in the contract's columns, streamed row by row."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from bot import clock
from bot.contributions import payer_of, quote, sector_of
from bot.crypto import FieldCipher
from bot.review import region_name, wib_date
from storage import review as store
from storage.db import Database
from storage.files import create_private
from storage.review import ExportRow

COLUMNS = (
    "ref", "status", "nik", "nama", "tanggal_lahir", "jenis_kelamin", "nama_ibu_kandung",
    "no_hp", "kode_desa", "desa", "kecamatan", "kabupaten", "pekerjaan", "penghasilan",
    "program", "iuran_bulanan", "periode_bayar", "sumber_iuran", "ahli_waris",
    "hubungan_ahli_waris", "didaftarkan_oleh", "diajukan_pada", "ditinjau_oleh",
    "ditinjau_pada", "alasan",
    # Added after the contract's columns (their order and names stay): the amounts as every
    # screen shows them on the export's day (bot.contributions.quote), the KPJ number and the
    # P3KE/DTSEN welfare decile.
    "dasar_penghasilan", "iuran_normal", "potongan", "iuran_dibayar", "kpj", "desil_p3ke",
)  # fmt: skip
FORMATS = ("csv", "xlsx")
# Columns written as text in XLSX whatever they look like (16-digit NIKs, leading zeros, '+').
TEXT_COLUMNS = frozenset(
    {"nik", "no_hp", "kode_desa", "ref", "didaftarkan_oleh", "ditinjau_oleh", "kpj"}
)
# Rows read from the database at a time: the memory an export needs, whatever its length.
CHUNK = 1000
# Reasons are shown only where the state has one; an older note would mislead.
_REASON_STATUSES = ("ditolak", "perlu_perbaikan")


def _date(stamp: str | None) -> str:
    """A stored UTC timestamp as the WIB calendar date, ISO `YYYY-MM-DD`."""
    day = wib_date(stamp)
    return "" if day is None else day.isoformat()


def values(row: ExportRow, cipher: FieldCipher, on: dt.date | None = None) -> list[Any]:
    """One export row, in COLUMNS order (text, whole rupiah, ISO dates); amounts as of `on`."""
    desa = row.desa_code or ""
    payer = payer_of(row.program_source or row.sumber_iuran, row.payer)
    amounts: list[Any] = [None, None, None, None]
    if row.income is not None and row.programs:
        q = quote(
            int(row.income),
            row.programs,
            sector_of(row.occupation),
            payer,
            on or clock.today(),
        )
        amounts = [q.base, q.normal, q.discount, q.to_pay]
    occupation = row.occupation or ""
    if occupation == "lainnya" and row.occupation_other:
        occupation = row.occupation_other
    return [
        row.ref or "",
        row.status,
        cipher.decrypt(row.nik_enc) if row.nik_enc else "",
        row.name or "",
        row.birth_date or "",
        row.sex or "",
        row.mother_name or "",
        cipher.decrypt(row.phone_enc) if row.phone_enc else "",
        desa,
        region_name(desa),
        region_name(row.kecamatan_code),
        region_name(row.kabupaten_code),
        occupation,
        row.income,
        row.programs or "",
        row.monthly_contribution,
        row.pay_period_months,
        payer,
        row.heir_name or "",
        row.heir_relation or "",
        "sendiri" if row.for_self else str(row.operator_id or ""),
        _date(row.submitted_at),
        str(row.reviewed_by) if row.reviewed_by else "",
        _date(row.reviewed_at),
        (row.reason or "") if row.status in _REASON_STATUSES else "",
        *amounts,
        row.kpj or "",
        row.p3ke_decile,
    ]


async def export(
    db: Database,
    cipher: FieldCipher,
    path: Path,
    fmt: str,
    *,
    regions: Sequence[str] | None = None,
    status: str | None = None,
) -> int:
    """Write the submissions (in `regions`, with `status`) to `path`; returns the row count.

    Runs in a worker thread so the bot keeps answering meanwhile. Rows stream from the database
    straight into the file, so memory does not grow with the count; the file appears under its
    name only when complete.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose csv or xlsx")
    return await asyncio.to_thread(write, db.target, cipher, path, fmt, regions, status)


def write(
    target: str | Path,
    cipher: FieldCipher,
    path: Path,
    fmt: str,
    regions: Sequence[str] | None,
    status: str | None,
) -> int:
    """The export itself, blocking (see `export`); `target` is a SQLite file or PostgreSQL URL."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    # Owner-only (0600) before the first row is written, whatever the umask: it holds NIKs.
    fd = create_private(partial)
    try:
        # Closed here, in this thread, even when writing fails: it owns a connection.
        with contextlib.closing(store.export_rows(target, regions, status, CHUNK)) as rows:
            if fmt == "csv":
                count = _csv(rows, cipher, fd)
            else:
                os.close(fd)  # openpyxl writes by name; rewriting the file keeps its mode
                count = _xlsx(rows, cipher, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _csv(rows: Iterator[ExportRow], cipher: FieldCipher, fd: int) -> int:
    # utf-8-sig: Excel opens the file with the right encoding (names with diacritics).
    with os.fdopen(fd, "w", newline="", encoding="utf-8-sig") as f:
        return write_csv(rows, cipher, f)


def write_csv(rows: Iterator[ExportRow], cipher: FieldCipher, stream: TextIO) -> int:
    """Write the header and one line per row to a text stream; returns the row count."""
    count = 0
    on = clock.today()  # one day for the whole file
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in values(row, cipher, on)])
        count += 1
    return count


async def export_csv_to(
    db: Database,
    cipher: FieldCipher,
    stream: TextIO,
    *,
    regions: Sequence[str] | None = None,
    status: str | None = None,
) -> int:
    """Stream the submissions as CSV to an open text stream (`jaga export --out -`)."""
    target = db.target

    def run() -> int:
        # Opened, read and closed in the worker thread: it owns a connection.
        with contextlib.closing(store.export_rows(target, regions, status, CHUNK)) as rows:
            return write_csv(rows, cipher, stream)

    return await asyncio.to_thread(run)


def _xlsx(rows: Iterator[ExportRow], cipher: FieldCipher, path: Path) -> int:
    workbook = Workbook(write_only=True)  # rows go to a temporary file, not memory
    sheet = workbook.create_sheet("pendaftaran")
    sheet.append(list(COLUMNS))
    on = clock.today()  # one day for the whole file
    count = 0
    for row in rows:
        sheet.append(_xlsx_cells(sheet, values(row, cipher, on)))
        count += 1
    workbook.save(path)
    return count


def _xlsx_cells(sheet: Any, row: list[Any]) -> list[Any]:
    cells: list[Any] = []
    for name, value in zip(COLUMNS, row, strict=True):
        if isinstance(value, str) and (name in TEXT_COLUMNS or value.startswith("=")):
            # A text cell with the text format: no scientific notation, no leading zero lost,
            # and user-typed text that starts with '=' never becomes a formula.
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cell.number_format = "@"
            cells.append(cell)
        else:
            cells.append(value)
    return cells
