"""Storage figures on PostgreSQL: `python -m bench.pgstorage load|measure …`, JSON on stdout.

The same 1,000,000 registrations as bench/storage.py generates for SQLite, moved into a
PostgreSQL database with COPY (the rows are read from the generated SQLite file: the same
ciphertexts and hashes, no second encryption pass), then the same measurements through the bot's
own code: the /status lookup (`worker_of` + `describe`), the plans of the hot queries and
`bot.export.export` to CSV and XLSX. Run in a process of its own so that its peak RSS is the
storage work's alone.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from bench import storage
from bench.storage import _HOT_QUERIES
from storage.db import Database
from storage.postgres import translate

# The columns bench/storage.py fills, with the id so that rows keep their numbers.
COLUMNS = [
    "id", "ref", "status", "operator_id", "for_self", "worker_telegram_id", "nik_enc",
    "nik_hash", "nik_masked", "name", "birth_date", "sex", "mother_name", "phone_enc",
    "phone_hash", "kabupaten_code", "kecamatan_code", "desa_code", "occupation", "income",
    "income_base", "programs", "monthly_contribution", "pay_period_months", "payer",
    "sumber_iuran", "heir_name", "heir_relation", "submitted_at",
]  # fmt: skip
CHUNK = 50_000


async def load(source: Path, url: str) -> dict[str, Any]:
    """Migrate the PostgreSQL database, then COPY every registration of the SQLite file into it."""
    import asyncpg

    started = time.perf_counter()
    db = await Database.open(url)
    await db.close()
    conn = await asyncpg.connect(url)
    lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    rows = 0
    try:
        await conn.execute("TRUNCATE registrations CASCADE")
        cursor = lite.execute(f"SELECT {', '.join(COLUMNS)} FROM registrations ORDER BY id")
        while batch := cursor.fetchmany(CHUNK):
            await conn.copy_records_to_table("registrations", records=batch, columns=COLUMNS)
            rows += len(batch)
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('registrations', 'id'), "
            "(SELECT max(id) FROM registrations))"
        )
        await conn.execute("VACUUM ANALYZE registrations")
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        lite.close()
        await conn.close()
    return {"rows": rows, "seconds": time.perf_counter() - started, "database_mb": size / 2**20}


async def measure(url: str, count: int, out: Path, lookups: int = 10_000) -> dict[str, Any]:
    """bench/storage.py's figures (lookups, plans, exports) on PostgreSQL."""
    return await storage.measure(url, count, lookups, exports=out / "pg-export", plans=plans)


async def plans(db: Database) -> dict[str, str]:
    """PostgreSQL's plan of each hot query (its first line names the index or the scan)."""
    import asyncpg

    conn = await asyncpg.connect(db.target)
    found = {}
    try:
        for name, (sql, params) in _HOT_QUERIES.items():
            rows = await conn.fetch("EXPLAIN " + translate(sql), *params)
            found[name] = "; ".join(str(r[0]).strip() for r in rows[:2])
    finally:
        await conn.close()
    return found


def main(argv: list[str]) -> int:
    """`load SQLITE_FILE URL` or `measure URL N OUT_FOLDER`; prints the figures as JSON."""
    if argv[0] == "load":
        result = asyncio.run(load(Path(argv[1]), argv[2]))
    else:
        result = asyncio.run(measure(argv[1], int(argv[2]), Path(argv[3])))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
