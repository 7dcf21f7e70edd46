"""SQLite, the embedded default: a writer connection (short serialised transactions), a reader."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.db import Change, Conn, Database, DatabaseSettingError, Params, applied_marker
from storage.files import ensure_private_database

# WAL lets the reader run beside the writer; FULL makes a committed answer survive power loss.
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


class SqliteDatabase(Database):
    """A SQLite file opened by one process."""

    engine = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self.target = str(path)
        self._writer = writer
        self._reader = reader
        # One connection is one transaction: coroutines must not interleave their statements.
        self._write_lock = asyncio.Lock()
        # Changes waiting for the writer, committed together (see `apply`): each entry is one
        # unit (one statement, or a flow step's statements) with the future of its row counts.
        self._queued: list[tuple[Sequence[Change], asyncio.Future[list[int]]]] = []
        self._committer: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, path: Path) -> SqliteDatabase:
        """Open (creating if needed, owner-only) and migrate the database at `path`."""
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created 0600 before SQLite sees it: SQLite would create it 0644 (umask permitting),
            # and gives its -wal/-shm files the database's own mode (storage/files.py).
            ensure_private_database(path)
            writer = await _connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseSettingError(f"JAGA_DB: cannot open {path}: {exc}") from exc
        reader = await _connect(path)
        db = cls(path, writer, reader)
        await db._migrated()
        return db

    async def close(self) -> None:
        """Commit what is queued, then close both connections."""
        if self._committer is not None:
            await asyncio.wait([self._committer])
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def write(self, *, serialised: bool = True) -> AsyncIterator[Conn]:
        """A write transaction (BEGIN IMMEDIATE … COMMIT), rolled back if the block raises; one
        writer, so every transaction is serialised whatever `serialised` says. It marks the
        inbox row being handled applied (storage/db.py `handling_row`)."""
        marker = applied_marker()
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                if marker is not None:
                    await self._writer.execute(marker)
                yield self._writer
                await self._writer.execute("COMMIT")
            except BaseException:
                await self._roll_back()
                raise

    async def _roll_back(self) -> None:
        """Undo the open transaction, even when BEGIN or COMMIT was cancelled mid-way.

        A handler cancelled by its time bound may stop awaiting while its statement still runs on
        the connection's thread; aiosqlite runs statements in order, so this ROLLBACK comes after
        it, and the shield keeps a second cancel from skipping it. SQLite has already rolled back
        after some errors (SQLITE_FULL, SQLITE_IOERR): then "no transaction is active" is ignored
        so that it does not hide the real error.
        """
        with contextlib.suppress(sqlite3.OperationalError):
            await asyncio.shield(self._writer.execute("ROLLBACK"))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one change, committed on return; returns the number of rows changed."""
        return (await self.apply([(sql, params)]))[0]

    async def apply(self, changes: Sequence[Change]) -> list[int]:
        """Run changes as one unit (all or none), committed on return; rows changed by each.

        Group commit: units that arrive while the writer is busy wait in a queue and are then
        committed together, each in a savepoint of its own (a failing one fails alone), so that
        a burst of answers costs one fsync instead of one each. Every caller still returns only
        once its unit is committed. A caller cancelled before its unit ran leaves nothing.
        The marker of the inbox row the caller handles joins the caller's unit: it is read
        here, in the caller's context, not in the committer's.
        """
        marker = applied_marker() if changes else None
        unit = changes if marker is None else [*changes, (marker, ())]
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._queued.append((unit, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        counts = await future
        return counts if marker is None else counts[:-1]

    async def _commit_queued(self) -> None:
        """Commit the queued units, a batch at a time, until the queue is empty."""
        while self._queued:
            async with self._write_lock:
                batch = [item for item in self._queued if not item[1].done()]
                self._queued = []
                if len(batch) == 1 and len(batch[0][0]) == 1:
                    # One statement alone: autocommit, one trip to the database thread.
                    (sql, params), future = batch[0][0][0], batch[0][1]
                    try:
                        cursor = await self._writer.execute(sql, params)
                    except BaseException as exc:  # the caller's to handle
                        _settle(future, exc)
                        if not isinstance(exc, Exception):
                            raise
                    else:
                        _settle(future, [cursor.rowcount])
                elif batch:
                    await self._commit_together(batch)

    async def _commit_together(
        self, batch: list[tuple[Sequence[Change], asyncio.Future[list[int]]]]
    ) -> None:
        outcomes: list[list[int] | Exception] = []
        try:
            await self._writer.execute("BEGIN IMMEDIATE")
            for changes, _ in batch:
                await self._writer.execute("SAVEPOINT one_change")
                try:
                    counts = []
                    for sql, params in changes:
                        cursor = await self._writer.execute(sql, params)
                        counts.append(cursor.rowcount)
                except Exception as exc:  # this unit fails (an error, a value that cannot bind)
                    if not self._writer.in_transaction:
                        raise  # SQLite rolled everything back itself (SQLITE_FULL, SQLITE_IOERR)
                    await self._writer.execute("ROLLBACK TO one_change")
                    outcomes.append(exc)
                else:
                    outcomes.append(counts)
                await self._writer.execute("RELEASE one_change")
            await self._writer.execute("COMMIT")
        except BaseException as exc:  # the commit itself failed: nothing of the batch stands
            await self._roll_back()
            for _, future in batch:
                _settle(future, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        """All rows of a query over committed data."""
        # One call that runs the statement to its end: a statement left open between two calls
        # would hold the shared reader's snapshot, and other coroutines' reads made meanwhile
        # would miss rows committed since (a person's answer read one step behind).
        return list(await self._reader.execute_fetchall(sql, params))

    async def stream(
        self, sql: str, params: Params = (), chunk: int = 1000
    ) -> AsyncIterator[list[Any]]:
        """Rows in chunks from a connection of its own, so the shared reader is never held."""
        conn = await _connect(self.path)
        try:
            async with conn.execute(sql, params) as cursor:
                while rows := list(await cursor.fetchmany(chunk)):
                    yield rows
        finally:
            await conn.close()

    @asynccontextmanager
    async def _migration_lock(self) -> AsyncIterator[None]:
        async with self._write_lock:  # one process owns the file; the writer lock is enough
            yield

    async def _recorded_migrations(self) -> list[str]:
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY,"
            " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
        )
        rows = await self._writer.execute_fetchall("SELECT name FROM schema_migrations")
        return [r[0] for r in rows]

    async def _apply_migration(self, name: str, sql: str) -> None:
        # executescript commits first, so the BEGIN/COMMIT here makes the step atomic.
        escaped = name.replace("'", "''")
        await self._writer.executescript(
            f"BEGIN IMMEDIATE;\n{sql}\n;"
            f"INSERT INTO schema_migrations(name) VALUES ('{escaped}');\nCOMMIT;"
        )


def _settle(future: asyncio.Future[list[int]], outcome: list[int] | BaseException) -> None:
    """Hand a queued change's outcome to its caller, unless the caller has gone."""
    if future.done():
        return
    if isinstance(outcome, asyncio.CancelledError):
        future.cancel()
    elif isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn
