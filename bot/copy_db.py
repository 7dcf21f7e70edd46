"""`jaga copy-db FROM TO`: every table of a deployment copied to another database, either engine.

For moving from SQLite to PostgreSQL (several bot processes) and back. Both are opened as the bot
opens them, so both are at the current schema; rows are copied as stored (ciphertexts byte for
byte: nothing is decrypted, so the key is not needed), parents before the rows that refer to
them, in batches, in one write transaction on TO. The source is read in one read transaction, so
the copy is one consistent moment even while the bot keeps running on it. Then the row counts
are compared table by table.
"""

# ruff: noqa: T201  (a command line's job is to print)

from __future__ import annotations

import asyncio
import graphlib
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from storage.db import Database, DatabaseSettingError, engine_of

BATCH = 1000  # rows read and inserted at a time: the memory a copy needs, whatever its size
SKIPPED = frozenset({"schema_migrations"})  # each side records its own (both are migrated)


class CopyError(Exception):
    """The copy cannot be made or did not match; the message is one line for the operator."""


@dataclass(frozen=True)
class Counted:
    """One table's rows in FROM (as read) and in TO (after the copy)."""

    table: str
    source: int
    target: int


def display(target: str) -> str:
    """A JAGA_DB value as it may be printed: a URL loses its password."""
    if engine_of(target) == "sqlite":
        return target
    parts = urlsplit(target)
    host = f"{parts.hostname or ''}:{parts.port}" if parts.port else parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{parts.path}"


def quoted(name: str) -> str:
    """An identifier quoted for both engines."""
    return '"' + name.replace('"', '""') + '"'


class Snapshot(Protocol):
    """The source, read in one read transaction."""

    async def count(self, table: str) -> int: ...

    def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[tuple[Any, ...]]]: ...


class SqliteSnapshot:
    """A SQLite file read on a read-only connection of its own, in one read transaction."""

    def __init__(self, conn: Any):
        self._conn = conn

    async def count(self, table: str) -> int:
        """Rows in `table` as of the snapshot."""
        rows = list(await self._conn.execute_fetchall(f"SELECT count(*) FROM {quoted(table)}"))
        return int(rows[0][0])

    async def rows(
        self, table: str, columns: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The rows, in batches, columns in the order given."""
        names = ", ".join(quoted(c) for c in columns)
        async with self._conn.execute(f"SELECT {names} FROM {quoted(table)}") as cursor:
            while batch := list(await cursor.fetchmany(BATCH)):
                yield [tuple(row) for row in batch]


class PostgresSnapshot:
    """A PostgreSQL database read on its own connection, in one repeatable-read transaction."""

    def __init__(self, conn: Any):
        self._conn = conn

    async def count(self, table: str) -> int:
        """Rows in `table` as of the snapshot."""
        return int(await self._conn.fetchval(f"SELECT count(*) FROM {quoted(table)}"))

    async def rows(
        self, table: str, columns: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The rows, in batches through a server-side cursor, columns in the order given."""
        names = ", ".join(quoted(c) for c in columns)
        cursor = await self._conn.cursor(f"SELECT {names} FROM {quoted(table)}")
        while batch := await cursor.fetch(BATCH):
            yield [tuple(row) for row in batch]


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[Snapshot]:
    """One read transaction on `db`'s data, on a connection of its own."""
    if db.engine == "postgresql":
        import asyncpg

        pg = await asyncpg.connect(db.target, timeout=10)
        try:
            async with pg.transaction(isolation="repeatable_read", readonly=True):
                yield PostgresSnapshot(pg)
        finally:
            await pg.close()
        return
    import aiosqlite

    conn = await aiosqlite.connect(f"file:{db.target}?mode=ro", uri=True, isolation_level=None)
    try:
        await conn.execute("BEGIN")  # the snapshot starts at the first read and lasts to the end
        try:
            yield SqliteSnapshot(conn)
        finally:
            await conn.execute("ROLLBACK")
    finally:
        await conn.close()


async def tables(db: Database) -> dict[str, list[str]]:
    """Every table of the application (migrations' record aside) and its columns, in order."""
    if db.engine == "postgresql":
        rows = await db.fetchall(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
            "AND t.table_name = c.table_name "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "ORDER BY c.table_name, c.ordinal_position"
        )
    else:
        rows = await db.fetchall(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
        )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        if table not in SKIPPED:
            found.setdefault(table, []).append(column)
    return found


async def references(db: Database, names: Sequence[str]) -> dict[str, set[str]]:
    """For each table, the tables its foreign keys point to."""
    if db.engine == "postgresql":
        rows = await db.fetchall(
            "SELECT child.relname, parent.relname FROM pg_constraint c "
            "JOIN pg_class child ON child.oid = c.conrelid "
            "JOIN pg_class parent ON parent.oid = c.confrelid "
            "JOIN pg_namespace n ON n.oid = child.relnamespace "
            "WHERE c.contype = 'f' AND n.nspname = 'public'"
        )
    else:
        rows = await db.fetchall(
            'SELECT m.name, f."table" FROM sqlite_master m, pragma_foreign_key_list(m.name) f '
            "WHERE m.type = 'table'"
        )
    parents: dict[str, set[str]] = {name: set() for name in names}
    for child, parent in rows:
        if child in parents and parent in parents and parent != child:
            parents[child].add(parent)
    return parents


def matching_tables(source: dict[str, list[str]], target: dict[str, list[str]]) -> None:
    """CopyError naming what differs, unless both sides have the same tables and columns."""
    if only := sorted(source.keys() - target.keys()):
        raise CopyError(f"tables only in FROM: {', '.join(only)} (are both at the same version?)")
    if only := sorted(target.keys() - source.keys()):
        raise CopyError(f"tables only in TO: {', '.join(only)} (are both at the same version?)")
    for table in sorted(source):
        mine, theirs = set(source[table]), set(target[table])
        if mine != theirs:
            parts = []
            if extra := sorted(mine - theirs):
                parts.append(f"only in FROM: {', '.join(extra)}")
            if extra := sorted(theirs - mine):
                parts.append(f"only in TO: {', '.join(extra)}")
            raise CopyError(f"table {table} has other columns on each side ({'; '.join(parts)})")


async def copy_database(source: str, target: str, *, replace: bool = False) -> list[Counted]:
    """Copy every table of `source` into `target` (JAGA_DB values); returns the counts.

    Raises CopyError when the copy cannot start (same database, differing schema, TO holds rows
    and `replace` is false) or a row cannot be written; TO is then left as it was.
    """
    await asyncio.to_thread(_check_sides, source, target)
    src = await _open("FROM", source)
    try:
        dst = await _open("TO", target)
        try:
            return await _copy(src, dst, replace=replace)
        finally:
            await dst.close()
    finally:
        await src.close()


def _check_sides(source: str, target: str) -> None:
    """CopyError if FROM is a SQLite file that does not exist, or FROM and TO are one database."""
    engines = []
    for side, value in (("FROM", source), ("TO", target)):
        try:
            engines.append(engine_of(value))
        except DatabaseSettingError as exc:
            raise CopyError(f"{side}: {str(exc).removeprefix('JAGA_DB: ')}") from exc
    if engines[0] == "sqlite" and not Path(source).is_file():
        raise CopyError(f"FROM: no SQLite database at {source}")
    if source == target or (
        engines == ["sqlite", "sqlite"] and Path(source).resolve() == Path(target).resolve()
    ):
        raise CopyError("FROM and TO are the same database")


async def _open(side: str, target: str) -> Database:
    """Open (and migrate) one side; CopyError saying which side cannot be used."""
    try:
        return await Database.open(target)
    except DatabaseSettingError as exc:
        raise CopyError(f"{side}: {str(exc).removeprefix('JAGA_DB: ')}") from exc


async def _copy(src: Database, dst: Database, *, replace: bool) -> list[Counted]:
    columns = await tables(src)
    matching_tables(columns, await tables(dst))
    order = list(graphlib.TopologicalSorter(await references(dst, sorted(columns))).static_order())
    held = {
        t: n for t in order if (n := int(await dst.fetchval(f"SELECT count(*) FROM {quoted(t)}")))
    }
    if held and not replace:
        most = max(held, key=lambda t: held[t])
        raise CopyError(
            f"TO already holds {sum(held.values())} rows ({held[most]} in {most}); "
            "copy into an empty database, or add --replace to overwrite them"
        )
    counts: dict[str, int] = {}
    async with snapshot(src) as source, dst.write() as conn:
        for table in reversed(order):  # children first, so no row is left pointing at nothing
            if table in held:
                await conn.execute(f"DELETE FROM {quoted(table)}")
        for table in order:
            names = columns[table]
            insert = (
                f"INSERT INTO {quoted(table)} ({', '.join(quoted(c) for c in names)}) "
                f"VALUES ({', '.join('?' for _ in names)})"
            )
            counts[table] = await source.count(table)
            try:
                async for batch in source.rows(table, names):
                    await conn.executemany(insert, batch)
            except Exception as exc:
                raise CopyError(f"table {table}: {type(exc).__name__}: {exc}") from exc
        if dst.engine == "postgresql":
            await _reset_identities(dst, conn)
    return [
        Counted(t, counts[t], int(await dst.fetchval(f"SELECT count(*) FROM {quoted(t)}")))
        for t in sorted(order)
    ]


async def _reset_identities(dst: Database, conn: Any) -> None:
    """Each identity column's next value past the copied ids (they were inserted as given)."""
    rows = await conn.execute_fetchall(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' "
        "AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
    )
    for table, column in rows:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX({quoted(column)}), 0) + 1, "
            f"false) FROM {quoted(table)}",
            (quoted(table), column),
        )


def main(source: str, target: str, *, replace: bool) -> int:
    """Run the copy and print one line per table and a total; 1 on any refusal or mismatch."""
    try:
        counted = asyncio.run(copy_database(source, target, replace=replace))
    except CopyError as exc:
        print(f"jaga: copy-db: {exc}", file=sys.stderr)
        return 1
    wrong = [c for c in counted if c.source != c.target]
    for c in counted:
        note = "" if c.source == c.target else f" in FROM, {c.target} in TO: MISMATCH"
        print(f"{c.table}: {c.source} rows{note}")
    total = sum(c.source for c in counted)
    if wrong:
        print(
            f"jaga: copy-db: {len(wrong)} of {len(counted)} tables differ after the copy "
            f"({', '.join(c.table for c in wrong)})",
            file=sys.stderr,
        )
        return 1
    print(
        f"{display(target)}: {total} rows in {len(counted)} tables copied from {display(source)}"
    )
    return 0
