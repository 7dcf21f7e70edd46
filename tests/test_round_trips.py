"""PostgreSQL round trips per statement (storage/postgres.py): what CPU per update depends on."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from storage import inbox
from storage.db import Database, InboxRow, handling
from tests import pg

pytestmark = pytest.mark.usefixtures("postgres_server")


async def test_a_write_transaction_begins_in_one_round_trip() -> None:
    db = await Database.open(pg.new_database())
    try:
        await inbox.receive(db, 7, 931, "{}")
        sent: list[str] = []
        writer: Any = db._writer  # type: ignore[attr-defined]

        class Counted:
            """The writer connection, noting each simple-protocol `execute` it is sent."""

            def __getattr__(self, name: str) -> Any:
                return getattr(writer, name)

            async def execute(self, query: str, *args: Any) -> Any:
                sent.append(query)
                return await writer.execute(query, *args)

        db._writer = Counted()  # type: ignore[attr-defined]
        try:
            with handling(InboxRow("inbox", 7)):
                async with db.write() as conn:
                    await conn.execute(
                        "UPDATE users SET language = ? WHERE telegram_id = ?", ("en", 1)
                    )
        finally:
            db._writer = writer  # type: ignore[attr-defined]
        # BEGIN, the write lock and the inbox's applied marker together; the change; COMMIT.
        assert len(sent) == 3
        assert sent[0].startswith("BEGIN; SELECT pg_advisory_xact_lock(")
        assert "UPDATE inbox SET applied_at" in sent[0]
        assert await db.fetchval("SELECT applied_at IS NOT NULL FROM inbox WHERE update_id = 7")
    finally:
        await db.close()


async def test_a_read_releases_its_connection_without_a_reset_query() -> None:
    db = await Database.open(pg.new_database())
    try:
        pool: Any = db._readers  # type: ignore[attr-defined]
        async with pool.acquire() as conn:
            mine = await conn.fetchval("SELECT pg_backend_pid()")
        # Its last statement, seen from another connection: the read itself, no reset after it.
        other = await asyncpg.connect(db.target)
        try:
            last = await other.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", mine)
        finally:
            await other.close()
        assert last == "SELECT pg_backend_pid()"
    finally:
        await db.close()
