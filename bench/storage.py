"""Storage figures on a generated database: `python -m bench.storage generate|measure DB N`.

Run in a process of its own so that its peak RSS is the storage work's alone; prints one JSON
object. The generated rows are registrations as the flow stores them: NIK and phone encrypted
and hashed with the bench key, valid Sumatera Utara NIKs, a spread of statuses and districts.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import resource
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.crypto import FieldCipher, mask_nik
from storage import registrations
from storage.db import Database

KEY = b"bench-secret-key-of-enough-length-0123456789"
# Ten kabupaten of Sumatera Utara: one tenth of the rows each, so 12.10 exports 100,000 of 1M.
KABUPATEN = [f"12.{k:02d}" for k in range(1, 11)]
STATUSES = ["diajukan"] * 5 + ["disetujui"] * 2 + ["terdaftar"] * 2 + ["perlu_perbaikan"]
EXPORT_COLUMNS = [
    "ref", "status", "nik", "nama", "tanggal_lahir", "jenis_kelamin", "nama_ibu_kandung",
    "no_hp", "kode_desa", "desa", "kecamatan", "kabupaten", "pekerjaan", "penghasilan",
    "program", "iuran_bulanan", "periode_bayar", "sumber_iuran", "ahli_waris",
    "hubungan_ahli_waris", "didaftarkan_oleh", "diajukan_pada", "ditinjau_oleh",
    "ditinjau_pada", "alasan",
]  # fmt: skip


def nik_of(n: int) -> tuple[str, str, str, str]:
    """A unique, well-formed NIK for row n: (nik, kecamatan, birth date, sex)."""
    kabupaten = KABUPATEN[n % len(KABUPATEN)]
    kecamatan = f"{kabupaten}.{1 + (n // len(KABUPATEN)) % 20:02d}"
    serial = 1 + n // (len(KABUPATEN) * 20)  # unique within its kecamatan; 1..5000 for 1M rows
    year, month, day = 1960 + (n * 7919) % 45, 1 + (n * 31) % 12, 1 + (n * 17) % 28
    female = n % 5 < 2
    nik = f"{kecamatan.replace('.', '')}{day + (40 if female else 0):02d}{month:02d}"
    nik += f"{year % 100:02d}{serial:04d}"
    return nik, kecamatan, f"{year}-{month:02d}-{day:02d}", "P" if female else "L"


def _rows(start: int, count: int, cipher: FieldCipher) -> list[tuple[Any, ...]]:
    out = []
    for n in range(start, start + count):
        nik, kec, birth, sex = nik_of(n)
        phone = f"+62812{n:08d}"
        status = STATUSES[n % len(STATUSES)]
        out.append(
            (
                f"JP{n:08d}",
                status,
                1_000_000 + n,
                1,
                1_000_000 + n,
                cipher.encrypt(nik),
                cipher.lookup_hash("nik", nik),
                mask_nik(nik),
                f"Pekerja {n}",
                birth,
                sex,
                f"Ibu {n}",
                cipher.encrypt(phone),
                cipher.lookup_hash("phone", phone),
                kec[:5],
                kec,
                f"{kec}.{2001 + n % 15}",
                "nelayan",
                1_500_000,
                1_000_000,
                "JKK_JKM",
                16_800,
                1,
                "sendiri",
                "mandiri",
                f"Ahli {n}",
                "anak",
                "2026-01-15T08:00:00Z",
            )
        )
    return out


_INSERT = (
    "INSERT INTO registrations(ref, status, operator_id, for_self, worker_telegram_id, nik_enc, "
    "nik_hash, nik_masked, name, birth_date, sex, mother_name, phone_enc, phone_hash, "
    "kabupaten_code, kecamatan_code, desa_code, occupation, income, income_base, programs, "
    "monthly_contribution, pay_period_months, payer, sumber_iuran, heir_name, heir_relation, "
    "submitted_at) VALUES (" + ", ".join(["?"] * 28) + ")"
)


async def generate(path: Path, count: int) -> dict[str, Any]:
    """Create the schema with the bot's migrations, then insert `count` submitted rows."""
    started = time.perf_counter()
    db = await Database.open(path)
    await db.close()
    cipher = FieldCipher(KEY)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # generation only; the bot uses FULL
    chunk = 20_000
    for start in range(0, count, chunk):
        with conn:
            conn.executemany(_INSERT, _rows(start, min(chunk, count - start), cipher))
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"rows": count, "seconds": time.perf_counter() - started}


async def measure(
    target: str | Path,
    count: int,
    lookups: int = 10_000,
    *,
    exports: Path | None = None,
    plans: Callable[[Database], Awaitable[Any]] | None = None,
) -> dict[str, Any]:
    """/status lookups, plans of the hot queries, CSV and XLSX exports of one kabupaten, on
    either engine (`exports`: the exports' path without suffix, by default the database's)."""
    out: dict[str, Any] = {}
    started = time.perf_counter()
    db = await Database.open(target)
    out["open_seconds"] = time.perf_counter() - started
    cipher = FieldCipher(KEY)
    lookup, out["lookup_path"] = _status_lookup(db, cipher)
    rng = random.Random(7)
    for _ in range(200):  # connections opened and plans cached before the timed lookups
        await lookup(rng.randrange(count))
    durations = []
    for _ in range(lookups):
        n = rng.randrange(count)
        t = time.perf_counter()
        await lookup(n)
        durations.append(time.perf_counter() - t)
    durations.sort()
    out["lookup_p50_ms"] = durations[len(durations) // 2] * 1000
    out["lookup_p99_ms"] = durations[int(len(durations) * 0.99)] * 1000
    out["plans"] = await (plans or _plans)(db)
    stem = exports if exports is not None else Path(target)
    for fmt in ("csv", "xlsx"):
        t = time.perf_counter()
        rows, out["export_path"] = await _export(db, cipher, stem.with_suffix(f".{fmt}"), fmt)
        out[f"{fmt}_seconds"], out[f"{fmt}_rows"] = time.perf_counter() - t, rows
    await db.close()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


Lookup = Callable[[int], Awaitable[Any]]


def _status_lookup(db: Database, cipher: FieldCipher) -> tuple[Lookup, str]:
    """What /status reads for a person: the bot's own code when present, else its query."""
    try:
        from bot.i18n import translator
        from bot.membership import worker_of
        from handlers.status import describe
    except ImportError:

        async def by_nik(n: int) -> Any:
            return await registrations.live_by_nik_hash(
                db, cipher.lookup_hash("nik", nik_of(n)[0])
            )

        return by_nik, "storage.registrations.live_by_nik_hash (no /status handler yet)"
    tr = translator("id")

    async def status(n: int) -> Any:
        worker = await worker_of(db, 1_000_000 + n)
        assert worker is not None
        return await describe(db, tr, worker, own=True)

    return status, "bot.membership.worker_of + handlers.status.describe (the /status answer)"


async def _export(db: Database, cipher: FieldCipher, out: Path, fmt: str) -> tuple[int, str]:
    """`jaga export`'s own writer when present, else the reference writer below."""
    try:
        from bot.export import export
    except ImportError:
        writer = _export_csv if fmt == "csv" else _export_xlsx
        return await writer(db, out, cipher), "bench reference writer (no bot/export.py yet)"
    return await export(db, cipher, out, fmt, regions=["12.10"]), "bot.export.export"


_HOT_QUERIES = {
    "status by NIK": (
        "SELECT * FROM registrations WHERE nik_hash = ? AND status IN "
        "('diajukan', 'perlu_perbaikan', 'disetujui', 'terdaftar')",
        ("x",),
    ),
    "draft of a person": (
        "SELECT * FROM registrations WHERE operator_id = ? AND status = 'draft'",
        (1,),
    ),
    "user row": ("SELECT * FROM users WHERE telegram_id = ?", (1,)),
    "phone in use": (
        "SELECT 1 FROM registrations WHERE phone_hash = ? AND id != ? AND status != 'draft' "
        "LIMIT 1",
        ("x", 1),
    ),
    "review queue": (
        "SELECT * FROM registrations WHERE kabupaten_code = ? AND status = 'diajukan' "
        "ORDER BY submitted_at LIMIT 20",
        ("12.10",),
    ),
}


async def _plans(db: Database) -> dict[str, str]:
    plans = {}
    for name, (sql, params) in _HOT_QUERIES.items():
        rows = await db.fetchall("EXPLAIN QUERY PLAN " + sql, params)
        plans[name] = "; ".join(str(r["detail"]) for r in rows)
    return plans


_EXPORT_SQL = (
    "SELECT ref, status, nik_enc, name, birth_date, sex, mother_name, phone_enc, desa_code, "
    "kecamatan_code, kabupaten_code, occupation, income, programs, monthly_contribution, "
    "pay_period_months, sumber_iuran, heir_name, heir_relation, operator_id, submitted_at, "
    "reviewed_by, reviewed_at, reason FROM registrations "
    "WHERE kabupaten_code = ? AND status != 'draft' ORDER BY id LIMIT 100000"
)


def _export_row(row: Any, cipher: FieldCipher) -> list[Any]:
    return [
        row[0],
        row[1],
        cipher.decrypt(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        cipher.decrypt(row[7]),
        row[8],
        "",
        row[9],
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
        row[15],
        row[16],
        row[17],
        row[18],
        row[19],
        (row[20] or "")[:10],
        row[21],
        (row[22] or "")[:10],
        row[23],
    ]


async def _export_csv(db: Database, out: Path, cipher: FieldCipher) -> int:
    rows = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(EXPORT_COLUMNS)
        async for batch in db.stream(_EXPORT_SQL, ("12.10",), chunk=5000):
            writer.writerows(_export_row(r, cipher) for r in batch)
            rows += len(batch)
    return rows


async def _export_xlsx(db: Database, out: Path, cipher: FieldCipher) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("pendaftaran")
    sheet.append(EXPORT_COLUMNS)
    rows = 0
    async for batch in db.stream(_EXPORT_SQL, ("12.10",), chunk=5000):
        for r in batch:
            sheet.append(_export_row(r, cipher))  # NIK stays a str: a text cell
        rows += len(batch)
    book.save(out)
    return rows


def main(argv: list[str]) -> int:
    """`generate DB N` or `measure DB N`; prints the figures as JSON."""
    command, path, count = argv[0], Path(argv[1]), int(argv[2])
    if command == "generate":
        result = asyncio.run(generate(path, count))
    else:
        result = asyncio.run(measure(path, count))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
