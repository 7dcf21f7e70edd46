"""Migrations: a fresh database reaches the latest version; an old one is upgraded intact."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from storage import db as db_module
from storage.db import Database, migrations


async def test_fresh_database_reaches_latest_migration(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "fresh.sqlite3")
    try:
        applied = await db.applied_migrations()
        assert applied == [name for name, _ in migrations()]
        assert applied[0] == "0001_initial"
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
    finally:
        await db.close()


async def test_existing_database_is_upgraded_without_losing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    first_only = list(migrations())[:1]
    monkeypatch.setattr(db_module, "migrations", lambda engine="sqlite": first_only)
    old = await Database.open(path)
    await old.execute("INSERT INTO users(telegram_id, language) VALUES (1, 'en'), (2, 'id')")
    await old.close()
    monkeypatch.undo()

    db = await Database.open(path)
    try:
        assert await db.applied_migrations() == [name for name, _ in migrations()]
        rows = await db.fetchall("SELECT telegram_id, language FROM users ORDER BY telegram_id")
        assert [tuple(r) for r in rows] == [(1, "en"), (2, "id")]
        # Opening again applies nothing twice.
        assert await db.migrate() == []
    finally:
        await db.close()


async def test_failed_migration_leaves_nothing_half_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = [*migrations(), ("9999_broken", "CREATE TABLE half (x INTEGER); SELECT * FROM nope;")]
    monkeypatch.setattr(db_module, "migrations", lambda engine="sqlite": broken)
    with pytest.raises(Exception, match="nope"):
        await Database.open(tmp_path / "b.sqlite3")
    monkeypatch.undo()
    db = await Database.open(tmp_path / "b.sqlite3")
    try:
        assert await db.fetchval("SELECT count(*) FROM sqlite_master WHERE name='half'") == 0
    finally:
        await db.close()


async def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.sqlite3")
    try:

        async def insert_then_fail() -> None:
            async with db.write() as conn:
                await conn.execute("INSERT INTO users(telegram_id) VALUES (7)")
                raise RuntimeError("stop")

        with pytest.raises(RuntimeError):
            await insert_then_fail()
        assert await db.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await db.close()


async def test_a_committed_write_is_read_back_by_concurrent_readers(tmp_path: Path) -> None:
    """Many coroutines each write then read at once: no read may miss a write already committed.

    A statement left open on the shared reader connection used to hold its snapshot, so reads
    made meanwhile by other coroutines missed newer commits.
    """
    db = await Database.open(tmp_path / "r.sqlite3")

    async def write_then_read(person: int) -> list[int]:
        missed = []
        for i in range(30):
            telegram_id = person * 1000 + i
            await db.execute("INSERT INTO users(telegram_id) VALUES (?)", (telegram_id,))
            found = await db.fetchval(
                "SELECT count(*) FROM users WHERE telegram_id = ?", (telegram_id,)
            )
            if found != 1:
                missed.append(telegram_id)
        return missed

    async def keep_reading(stop: asyncio.Event) -> None:
        while not stop.is_set():  # other people's reads, overlapping on the reader connection
            await db.fetchone("SELECT telegram_id FROM users ORDER BY telegram_id")

    stop = asyncio.Event()
    readers = [asyncio.create_task(keep_reading(stop)) for _ in range(8)]
    try:
        results = await asyncio.gather(*(write_then_read(p) for p in range(1, 16)))
        assert [m for missed in results for m in missed] == []
    finally:
        stop.set()
        await asyncio.gather(*readers)
        await db.close()


@pytest.mark.parametrize("when", ["begin", "inside"])
async def test_a_cancelled_write_leaves_no_transaction_open(tmp_path: Path, when: str) -> None:
    """A handler cancelled by its time bound mid-transaction must not wedge the writer."""
    db = await Database.open(tmp_path / "cancel.sqlite3")
    started = asyncio.Event()

    async def slow_write() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO users(telegram_id, language) VALUES (7, 'id')")
            started.set()
            await asyncio.sleep(10)

    try:
        task = asyncio.create_task(slow_write())
        if when == "begin":
            await asyncio.sleep(0)  # cancelled while BEGIN IMMEDIATE is still on the thread
        else:
            await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The next writer gets a clean connection, and the cancelled insert left nothing behind.
        async with db.write() as conn:
            await conn.execute("INSERT INTO users(telegram_id, language) VALUES (8, 'id')")
        ids = [row[0] for row in await db.fetchall("SELECT telegram_id FROM users")]
        assert ids == [8]
    finally:
        await db.close()


async def test_changes_arriving_together_are_committed_together_each_on_its_own(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "jaga.sqlite3")
    commits, in_transaction = 0, False  # each commit is a sync to disk
    real_execute = db._writer.execute  # type: ignore[attr-defined]

    def counting(sql: str, *args: Any) -> Any:
        nonlocal commits, in_transaction
        if sql.startswith("BEGIN"):
            in_transaction = True
        elif sql == "COMMIT":
            commits, in_transaction = commits + 1, False
        elif not in_transaction:  # a statement on its own commits itself
            commits += 1
        return real_execute(sql, *args)

    db._writer.execute = counting  # type: ignore[attr-defined]
    try:
        await db.execute("INSERT INTO users(telegram_id) VALUES (1)")
        results = await asyncio.gather(
            *(db.execute("INSERT INTO users(telegram_id) VALUES (?)", (i,)) for i in range(2, 52)),
            db.execute("INSERT INTO users(telegram_id) VALUES (1)"),  # taken: fails alone
            return_exceptions=True,
        )
        assert results[:50] == [1] * 50
        assert isinstance(results[50], sqlite3.IntegrityError)
        assert await db.fetchval("SELECT count(*) FROM users") == 51
        assert commits < 10, "fifty changes arriving together should share commits"
    finally:
        await db.close()


async def test_a_queued_change_whose_caller_gave_up_is_not_written(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "jaga.sqlite3")
    try:
        async with db.write() as conn:  # the writer is busy: the next change waits in the queue
            waiting = asyncio.create_task(db.execute("INSERT INTO users(telegram_id) VALUES (7)"))
            await asyncio.sleep(0.05)
            waiting.cancel()
            await conn.execute("INSERT INTO users(telegram_id) VALUES (8)")
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await db.execute("INSERT INTO users(telegram_id) VALUES (9)")
        rows = await db.fetchall("SELECT telegram_id FROM users ORDER BY 1")
        assert [r[0] for r in rows] == [8, 9]
    finally:
        await db.close()
