"""The database, on SQLite (one file, the default) or PostgreSQL (a server, for several processes).

Both engines offer the same API: `write()` for every change (one transaction, serialised against
every other writer, so that a check and the change it allows are never interleaved) and `fetch*`
for reads of committed data. SQL is written once with `?` placeholders in the subset both engines
understand; the PostgreSQL side translates the placeholders (storage/postgres.py).
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
Change = tuple[str, Params]  # one statement with its parameters
Engine = Literal["sqlite", "postgresql"]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Cursor(Protocol):
    """What a statement inside a write transaction returns."""

    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Conn(Protocol):
    """The connection a write transaction hands out (aiosqlite's, or the PostgreSQL adapter)."""

    def execute(self, sql: str, parameters: Any = None, /) -> Awaitable[Cursor]: ...

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> Awaitable[Any]: ...

    def execute_fetchall(
        self, sql: str, parameters: Any = None, /
    ) -> Awaitable[Iterable[Any]]: ...


# The inboxes whose rows record a handling's answer as applied, with each one's key column.
InboxTable = Literal["inbox", "whatsapp_inbox"]
_INBOX_KEYS: dict[InboxTable, str] = {"inbox": "update_id", "whatsapp_inbox": "seq"}


@dataclass(frozen=True)
class InboxRow:
    """A stored incoming message: Telegram's (`inbox`, update_id) or WhatsApp's
    (`whatsapp_inbox`, seq)."""

    table: InboxTable
    key: int

    def applied_sql(self) -> str:
        """The statement marking the row applied, its values inline (an int and a fixed-format
        time), so that PostgreSQL sends it with BEGIN in one round trip."""
        return (
            f"UPDATE {self.table} SET applied_at = '{now_text(milliseconds=True)}' "
            f"WHERE {_INBOX_KEYS[self.table]} = {int(self.key)} AND applied_at IS NULL"
        )


# The inbox row this task is handling: every write transaction marks it applied in that same
# transaction, so a process that takes the message over after a crash knows the answer is
# already committed and does not apply it a second time (bot/inbox.py, handlers/whatsapp/).
handling_row: ContextVar[InboxRow | None] = ContextVar("handling_row", default=None)


def applied_marker() -> str | None:
    """The statement marking the row this task handles applied, or None if it handles none."""
    row = handling_row.get()
    return None if row is None else row.applied_sql()


@contextmanager
def handling(row: InboxRow) -> Iterator[None]:
    """Every write transaction of the block also marks `row` applied, in that transaction."""
    token = handling_row.set(row)
    try:
        yield
    finally:
        handling_row.reset(token)


@contextmanager
def not_handling() -> Iterator[None]:
    """Writes of the block are no part of the answer (a channel's own records): no marker."""
    token = handling_row.set(None)
    try:
        yield
    finally:
        handling_row.reset(token)


class DatabaseSettingError(Exception):
    """JAGA_DB names a database that cannot be used; the message is one line for the operator."""


def _integrity_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [sqlite3.IntegrityError]
    try:
        import asyncpg
    except ImportError:  # PostgreSQL support not installed: only SQLite's errors can happen
        return tuple(errors)
    errors.append(asyncpg.IntegrityConstraintViolationError)
    return tuple(errors)


# A uniqueness, foreign-key or check constraint refused a change, on either engine.
IntegrityError: tuple[type[Exception], ...] = _integrity_errors()


def _storage_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [sqlite3.OperationalError]
    try:
        import asyncpg
    except ImportError:
        return tuple(errors)
    # The server went away, refused a lock in time, ran out of space or is read-only.
    errors += [
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.LockNotAvailableError,
        asyncpg.InsufficientResourcesError,
        asyncpg.ReadOnlySQLTransactionError,
        asyncpg.DeadlockDetectedError,
        # A connection the server dropped mid-message (a restart) can be left in a protocol
        # state the client refuses to use; the next write connects again.
        asyncpg.exceptions.InternalClientError,
        ConnectionError,
    ]
    return tuple(errors)


# The database could not store a change right now (locked, full, unreachable): asking the
# person to send the answer again a little later is the right reply, on either engine.
StorageUnavailable: tuple[type[Exception], ...] = _storage_errors()


def now_text(*, minutes: float = 0, milliseconds: bool = False) -> str:
    """The UTC time (plus `minutes`) as stored in every timestamp column: 2026-11-30T19:30:00Z."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def engine_of(target: str | Path) -> Engine:
    """Which engine a JAGA_DB value names: a postgresql:// URL, or else a SQLite file path."""
    text = str(target)
    if text.startswith(POSTGRES_SCHEMES):
        return "postgresql"
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise DatabaseSettingError(
            f"JAGA_DB: unknown scheme '{scheme}://'; use a file path (SQLite) or "
            "postgresql://user:password@host:5432/name"
        )
    return "sqlite"


class Database(abc.ABC):
    """An open database; use `write()` for every change and `fetch*` for reads."""

    engine: Engine
    target: str  # what JAGA_DB named: the SQLite file's path or the PostgreSQL URL

    @classmethod
    async def open(cls, target: str | Path) -> Database:
        """Open and migrate the database JAGA_DB names (a SQLite path or a PostgreSQL URL)."""
        if engine_of(target) == "postgresql":
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(target))
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(Path(target))

    async def _migrated(self) -> Database:
        """This database, migrated; closed again if migrating fails (a one-line error follows)."""
        try:
            await self.migrate()
        except BaseException:
            await self.close()
            raise
        return self

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every connection."""

    @abc.abstractmethod
    def write(self, *, serialised: bool = True) -> AbstractAsyncContextManager[Conn]:
        """A write transaction, committed when the block ends and rolled back if it raises.

        Serialised against every other serialised writer (in every process), so that a check and
        the change it allows are never interleaved. `serialised=False` is for a change that is
        atomic on its own row (a single insert or update that checks nothing): on PostgreSQL it
        skips the database-wide lock; SQLite has one writer anyway.
        """

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one change, committed on return; returns the number of rows changed."""

    async def apply(self, changes: Sequence[Change]) -> list[int]:
        """Run changes as one unit (all or none), committed on return; rows changed by each.

        For changes that check nothing (each atomic on its own rows), as `write(serialised=False)`.
        """
        counts = []
        async with self.write(serialised=False) as conn:
            for sql, params in changes:
                cursor = await conn.execute(sql, params)
                counts.append(cursor.rowcount)
        return counts

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one `INSERT … RETURNING id`, committed on return; returns the new id."""
        async with self.write() as conn:
            cursor = await conn.execute(sql, params)
            row = await cursor.fetchone()
        assert row is not None, "insert() needs INSERT … RETURNING id"
        return int(row[0])

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        """All rows of a query over committed data (rows read by name or position)."""

    async def fetchone(self, sql: str, params: Params = ()) -> Any | None:
        """The first row of a query over committed data, or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abc.abstractmethod
    def stream(self, sql: str, params: Params = (), chunk: int = 1000) -> AsyncIterator[list[Any]]:
        """Rows of a large query in chunks, without loading them all (exports)."""

    async def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded, each atomically; returns their names."""
        known = migrations(self.engine)
        async with self._migration_lock():
            done = set(await self._recorded_migrations())
            newer = sorted(done - {name for name, _ in known})
            if newer:
                raise DatabaseSettingError(
                    f"JAGA_DB: the database has a newer schema ({newer[-1]}) than this version "
                    "of the bot knows; run the newer version or restore a matching backup"
                )
            applied = []
            for name, sql in known:
                if name in done:
                    continue
                await self._apply_migration(name, sql)
                log.info("event=migration_applied engine=%s name=%s", self.engine, name)
                applied.append(name)
        return applied

    async def applied_migrations(self) -> list[str]:
        """Names of the recorded migrations, in order."""
        rows = await self.fetchall("SELECT name FROM schema_migrations ORDER BY name")
        return [r[0] for r in rows]

    @abc.abstractmethod
    def _migration_lock(self) -> AbstractAsyncContextManager[None]:
        """Held while migrating, so that processes starting together migrate once."""

    @abc.abstractmethod
    async def _recorded_migrations(self) -> list[str]:
        """Create the record table if needed and return the names it holds."""

    @abc.abstractmethod
    async def _apply_migration(self, name: str, sql: str) -> None:
        """Run one migration script and record it, in one transaction."""


def migrations(engine: Engine = "sqlite") -> list[tuple[str, str]]:
    """The numbered migrations for `engine` shipped in storage/migrations/<engine>, in order."""
    folder = resources.files("storage") / "migrations" / engine
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


class TransactionView(Database):
    """A database whose reads run inside an open write transaction (its rows visible)."""

    def __init__(self, engine: Engine, conn: Conn):
        self.engine = engine
        self.target = ""
        self._conn = conn

    async def close(self) -> None:
        """Nothing to close: the transaction belongs to its writer."""

    def write(self, *, serialised: bool = True) -> AbstractAsyncContextManager[Conn]:
        """Refused: the connection is already inside a transaction."""
        raise RuntimeError("a transaction view is read-only; write through its transaction")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Refused, as `write`."""
        raise RuntimeError("a transaction view is read-only; write through its transaction")

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        """All rows of a query, seeing the transaction's own changes."""
        return list(await self._conn.execute_fetchall(sql, params))

    def stream(self, sql: str, params: Params = (), chunk: int = 1000) -> AsyncIterator[list[Any]]:
        """Refused: exports read committed data on their own connection."""
        raise RuntimeError("a transaction view cannot stream")

    def _migration_lock(self) -> AbstractAsyncContextManager[None]:
        raise RuntimeError("a transaction view cannot migrate")

    async def _recorded_migrations(self) -> list[str]:
        raise RuntimeError("a transaction view cannot migrate")

    async def _apply_migration(self, name: str, sql: str) -> None:
        raise RuntimeError("a transaction view cannot migrate")
