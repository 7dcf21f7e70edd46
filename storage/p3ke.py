"""The P3KE / DTSEN welfare-decile list, kept as keyed NIK hashes only."""

from __future__ import annotations

from collections.abc import Iterable

from storage.db import Database

_BATCH = 5000


async def replace_all(db: Database, rows: Iterable[tuple[str, int]], source: str) -> int:
    """Replace the whole list with (NIK hash, decile) rows in one transaction; returns the count.

    `rows` may raise while it is consumed (a bad line): the transaction is then rolled back and
    the previous list stays as it was.
    """
    count = 0
    async with db.write() as conn:
        await conn.execute("DELETE FROM p3ke")
        batch: list[tuple[str, int]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                await conn.executemany("INSERT INTO p3ke(nik_hash, decile) VALUES (?, ?)", batch)
                count += len(batch)
                batch.clear()
        if batch:
            await conn.executemany("INSERT INTO p3ke(nik_hash, decile) VALUES (?, ?)", batch)
            count += len(batch)
        await conn.execute("INSERT INTO p3ke_imports(source, rows) VALUES (?, ?)", (source, count))
    return count


async def decile_of(db: Database, nik_hash: str) -> int | None:
    """The decile of a NIK, or None when it is not on the list."""
    value = await db.fetchval("SELECT decile FROM p3ke WHERE nik_hash = ?", (nik_hash,))
    return None if value is None else int(value)


async def size(db: Database) -> int:
    """How many NIKs the list holds (0: no list imported)."""
    return int(await db.fetchval("SELECT COUNT(*) FROM p3ke") or 0)
