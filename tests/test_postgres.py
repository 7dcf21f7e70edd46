"""The PostgreSQL engine's own promises: placeholders, cancelled writes, a lost connection."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from storage.db import Database, StorageUnavailable
from storage.postgres import translate
from tests import pg

pytestmark = pytest.mark.usefixtures("postgres_server")


def test_placeholders_are_numbered_outside_quoted_text() -> None:
    sql = "SELECT ? || '?', \"odd?name\" FROM t WHERE a = ? AND b LIKE ? || '.%'"
    assert translate(sql) == (
        "SELECT $1 || '?', \"odd?name\" FROM t WHERE a = $2 AND b LIKE $3 || '.%'"
    )


async def test_a_write_cancelled_mid_statement_leaves_nothing_and_the_next_one_works() -> None:
    db = await Database.open(pg.new_database())
    try:

        async def slow_write() -> None:
            async with db.write() as conn:
                await conn.execute("INSERT INTO users(telegram_id) VALUES (?)", (1,))
                await conn.execute("SELECT pg_sleep(5)")

        task = asyncio.create_task(slow_write())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await db.fetchval("SELECT count(*) FROM users") == 0
        await db.execute("INSERT INTO users(telegram_id) VALUES (?)", (2,))
        assert [r[0] for r in await db.fetchall("SELECT telegram_id FROM users")] == [2]
    finally:
        await db.close()


async def test_a_dropped_writer_connection_is_replaced_on_the_next_write() -> None:
    target = pg.new_database()
    db = await Database.open(target)
    try:
        await db.execute("INSERT INTO users(telegram_id) VALUES (?)", (1,))
        admin = await Database.open(target)
        try:  # what a server restart does to the bot's connections
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid != pg_backend_pid()"
            )
        finally:
            await admin.close()
        # The first write or read may still meet the dead connection (a try-again reply);
        # after that the bot works again without a restart.
        with contextlib.suppress(*StorageUnavailable):
            await db.execute("INSERT INTO users(telegram_id) VALUES (?)", (2,))
        with contextlib.suppress(*StorageUnavailable):
            await db.fetchval("SELECT 1")
        await db.execute("INSERT INTO users(telegram_id) VALUES (?)", (3,))
        assert await db.fetchval("SELECT max(telegram_id) FROM users") == 3
    finally:
        await db.close()
