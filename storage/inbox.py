"""The webhook inbox: updates stored on arrival, claimed with a lease, one person at a time.

Used when several `jaga run --webhook` processes share one PostgreSQL database (bot/inbox.py).
A row is received (`done_at` NULL, no lease), claimed by a process (`claimed_by`, `lease_until`),
then done (`done_at`). A person's update is claimable only when every earlier update of theirs is
done, so their updates are handled in order whichever process takes them. A lease that lapsed
(its process died) lets any process claim the update again; `applied_at` says whether a write of
its handling was already committed. Claims run under the database-wide write lock
(storage/postgres.py), so two processes never claim the same row; storing and finishing a row
are atomic on their own and skip that lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database, now_text

# Telegram's listeners are woken on this channel (PostgreSQL LISTEN/NOTIFY).
CHANNEL = "jaga_inbox"


@dataclass(frozen=True)
class Claimed:
    """An update claimed for handling."""

    update_id: int
    person: int
    body: str
    applied: bool  # a write of an earlier handling was committed (its process died after)
    taken_over: bool  # it had been claimed before, by a process whose lease lapsed


def _later(seconds: float) -> str:
    return now_text(minutes=seconds / 60, milliseconds=True)


async def receive(db: Database, update_id: int, person: int, body: str) -> bool:
    """Store an update as it arrives; False if it was stored before (a retried delivery)."""
    # One row, atomic on its own: no need to wait for the database-wide write lock.
    async with db.write(serialised=False) as conn:
        cursor = await conn.execute(
            "INSERT INTO inbox(update_id, person, body, received_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (update_id) DO NOTHING",
            (update_id, person, body, now_text(milliseconds=True)),
        )
        stored = cursor.rowcount > 0
        if stored and db.engine == "postgresql":
            # Delivered to the listeners when this transaction commits.
            await conn.execute("SELECT pg_notify(?, ?)", (CHANNEL, str(update_id)))
    return stored


async def claim(db: Database, worker: str, lease_seconds: float, limit: int) -> list[Claimed]:
    """Claim up to `limit` updates: each the oldest not-done update of its person, unleased."""
    if limit <= 0:
        return []
    now = now_text(milliseconds=True)
    # A read first: an idle inbox (most polls) never takes the database-wide write lock.
    if not await db.fetchone(
        "SELECT 1 FROM inbox WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until < ?) "
        "LIMIT 1",
        (now,),
    ):
        return []
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT update_id, person, body, applied_at, claimed_by FROM inbox AS i "
            "WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until < ?) "
            "AND NOT EXISTS (SELECT 1 FROM inbox AS e WHERE e.person = i.person "
            "AND e.done_at IS NULL AND e.update_id < i.update_id) "
            "ORDER BY update_id LIMIT ?",
            (now, limit),
        )
        claimed = [
            Claimed(
                int(r["update_id"]),
                int(r["person"]),
                str(r["body"]),
                r["applied_at"] is not None,
                r["claimed_by"] is not None,
            )
            for r in rows
        ]
        until = _later(lease_seconds)
        await conn.executemany(
            "UPDATE inbox SET claimed_by = ?, lease_until = ? WHERE update_id = ?",
            [(worker, until, c.update_id) for c in claimed],
        )
    return claimed


async def finish(db: Database, update_id: int) -> None:
    """The update is handled (or not to be handled): the person's next one may be claimed."""
    async with db.write(serialised=False) as conn:  # one row: no database-wide lock needed
        await conn.execute(
            "UPDATE inbox SET done_at = ?, lease_until = NULL "
            "WHERE update_id = ? AND done_at IS NULL",
            (now_text(milliseconds=True), update_id),
        )


async def release(db: Database, update_id: int, worker: str) -> None:
    """Give an unfinished update back (this process is stopping): any process may claim it."""
    await db.execute(
        "UPDATE inbox SET lease_until = NULL WHERE update_id = ? AND claimed_by = ? "
        "AND done_at IS NULL",
        (update_id, worker),
    )


async def delete_done(db: Database, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete the rows handled more than `older_than` ago; returns how many."""
    before = now_text(minutes=-older_than.total_seconds() / 60, milliseconds=True)
    return await db.execute("DELETE FROM inbox WHERE done_at < ?", (before,))


async def pending(db: Database) -> int:
    """How many updates are not done yet (for health and tests)."""
    return int(await db.fetchval("SELECT count(*) FROM inbox WHERE done_at IS NULL") or 0)
