"""PostgreSQL through asyncpg, for deployments with several bot processes on one database.

The same promises as SQLite's single writer hold across processes: every write transaction first
takes one transaction-level advisory lock, so writers are serialised database-wide exactly as
SQLite serialises them (a quota check and the approval it allows are never interleaved with
another process's). Reads go through a small pool and see committed data only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from storage.db import Conn, Database, DatabaseSettingError, Params, applied_marker

log = logging.getLogger(__name__)

# Advisory lock keys (any fixed 64-bit numbers; one namespace for this application).
WRITE_LOCK = 0x4A41_4741_0001  # every write transaction
MIGRATION_LOCK = 0x4A41_4741_0002  # processes starting together migrate once

READ_POOL_SIZE = 4
# A write transaction's start in one round trip (the simple-query protocol runs several
# statements, without parameters): BEGIN and, when serialised, the database-wide write lock.
_BEGIN = "BEGIN"
_BEGIN_SERIALISED = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"


async def keep_session(conn: asyncpg.Connection) -> None:
    """A pool's reset for connections that only run single statements (no SET, LISTEN, session
    locks or cursors): nothing to undo, so releasing costs no round trip.

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` to the server on every release, one more round trip per read. An open transaction
    is still rolled back before this is called (asyncpg does that on its own).
    """


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """SQL with `?` placeholders (as written for both engines) in PostgreSQL's `$1, $2, …`."""
    out: list[str] = []
    number = 0
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


def _returns_rows(sql: str) -> bool:
    """Whether a statement yields rows (a query, or a change with RETURNING)."""
    return sql.lstrip()[:4].upper() in ("SELE", "WITH", "VALU") or "RETURNING" in sql.upper()


class PgCursor:
    """The result of one statement: its rows (if any) and how many rows it touched."""

    def __init__(self, rows: list[asyncpg.Record], rowcount: int):
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> asyncpg.Record | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[asyncpg.Record]:
        """Every row."""
        return self._rows


class PgConn:
    """An asyncpg connection inside a write transaction, with the calls storage/ makes."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def execute(self, sql: str, parameters: Any = None, /) -> PgCursor:
        """Run one statement; rows are read at once (statements here return few)."""
        query, args = translate(sql), _args(parameters)
        if _returns_rows(sql):
            rows = await self._conn.fetch(query, *args)
            return PgCursor(rows, len(rows))
        status = await self._conn.execute(query, *args)
        return PgCursor([], _rowcount(status))

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None:
        """Run one statement for each set of parameters."""
        await self._conn.executemany(translate(sql), [tuple(p) for p in parameters])

    async def execute_fetchall(self, sql: str, parameters: Any = None, /) -> list[asyncpg.Record]:
        """Run one query and return every row."""
        return list(await self._conn.fetch(translate(sql), *_args(parameters)))


def _args(parameters: Any) -> Sequence[Any]:
    if parameters is None:
        return ()
    if isinstance(parameters, dict):
        raise TypeError("named parameters are not portable: use ? placeholders")
    # PostgreSQL text cannot hold NUL (SQLite can): it never means anything in what people type.
    return tuple(p.replace("\x00", "") if isinstance(p, str) else p for p in parameters)


def _rowcount(status: str) -> int:
    """Rows touched, from a command tag such as 'UPDATE 3' or 'INSERT 0 1'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresDatabase(Database):
    """A PostgreSQL database shared by any number of bot processes."""

    engine = "postgresql"

    def __init__(self, url: str, writer: asyncpg.Connection, readers: asyncpg.Pool):
        self.url = url
        self.target = url
        self._writer = writer
        self._readers = readers
        self._write_lock = asyncio.Lock()  # one transaction at a time on this process's writer

    @classmethod
    async def connect(cls, url: str) -> PostgresDatabase:
        """Connect (a writer, a small read pool) and migrate; one-line errors for the operator."""
        try:
            writer = await asyncpg.connect(url, timeout=10)
            readers = await asyncpg.create_pool(
                url, min_size=1, max_size=READ_POOL_SIZE, reset=keep_session
            )
        except (TimeoutError, OSError, asyncpg.PostgresError, ValueError) as exc:
            raise DatabaseSettingError(f"JAGA_DB: {describe(url, exc)}") from exc
        db = cls(url, writer, readers)
        await db._migrated()
        return db

    async def close(self) -> None:
        """Close the writer and the read pool."""
        with contextlib.suppress(Exception):
            await self._readers.close()
        with contextlib.suppress(Exception):
            await self._writer.close()

    @asynccontextmanager
    async def write(self, *, serialised: bool = True) -> AsyncIterator[Conn]:
        """A write transaction holding the database-wide write lock until it commits (unless
        `serialised=False`: a change atomic on its own row, see Database.write)."""
        async with self._write_lock:
            if self._writer.is_closed():  # the server restarted or dropped us: connect again
                self._writer = await asyncpg.connect(self.url, timeout=10)
            try:
                begin = _BEGIN_SERIALISED if serialised else _BEGIN
                if (marker := applied_marker()) is not None:
                    # The inbox row being handled, marked applied (storage/db.py `handling_row`)
                    # in the same round trip; its values are ours (an int, a fixed format).
                    begin += f"; {marker}"
                await self._writer.execute(begin)
                yield PgConn(self._writer)
                await self._writer.execute("COMMIT")
            except BaseException:
                await self._roll_back()
                raise

    async def _roll_back(self) -> None:
        """Undo the open transaction, even when BEGIN or COMMIT was cancelled mid-way.

        A handler cancelled by its time bound may stop while a statement runs; asyncpg cancels
        it on the server first, and the shield keeps a second cancel from skipping the ROLLBACK
        (a ROLLBACK outside a transaction only warns). A connection that broke is closed, so the
        next write connects again.
        """
        try:
            await asyncio.shield(self._writer.execute("ROLLBACK"))
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.InternalClientError,
            OSError,
        ):
            log.warning("event=rollback_failed note=reconnecting on the next write")
            self._writer.terminate()

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one change in its own write transaction; returns the number of rows changed."""
        async with self.write() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        """All rows of a query over committed data."""
        return list(await self._readers.fetch(translate(sql), *_args(params)))

    async def stream(
        self, sql: str, params: Params = (), chunk: int = 1000
    ) -> AsyncIterator[list[Any]]:
        """Rows in chunks through a server-side cursor on a connection of its own."""
        conn = await asyncpg.connect(self.url)
        try:
            async with conn.transaction(readonly=True):
                cursor = await conn.cursor(translate(sql), *_args(params))
                while rows := await cursor.fetch(chunk):
                    yield list(rows)
        finally:
            await conn.close()

    @asynccontextmanager
    async def _migration_lock(self) -> AsyncIterator[None]:
        await self._writer.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            yield
        finally:
            await self._writer.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def _recorded_migrations(self) -> list[str]:
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY,"
            " applied_at TEXT NOT NULL DEFAULT"
            " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"
        )
        rows = await self._writer.fetch("SELECT name FROM schema_migrations")
        return [r[0] for r in rows]

    async def _apply_migration(self, name: str, sql: str) -> None:
        async with self._writer.transaction():
            await self._writer.execute(sql)  # a script: several statements, no parameters
            await self._writer.execute("INSERT INTO schema_migrations(name) VALUES ($1)", name)


def describe(url: str, exc: BaseException) -> str:
    """One line saying why the server named by `url` cannot be used (no password shown)."""
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return f"the server at {where} refused the user name or password"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"the server at {where} has no such database"
    if isinstance(exc, socket.gaierror):
        return f"cannot find the host {parts.hostname!r}"
    if isinstance(exc, OSError | TimeoutError):
        detail = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
        return f"cannot reach a PostgreSQL server at {where} ({detail})"
    return f"cannot use the database at {where}: {exc}"
