"""One leader among the bot processes sharing a PostgreSQL database, for once-only work.

Repeating jobs (retention, reminders) and the outbox's background sender must run in one process
at a time. Each process tries to hold a session-level advisory lock on a connection of its own:
whoever holds it leads. A process that does not lead tries again every `retry_seconds`. When the
leader dies, or its connection breaks, the server releases the lock with the session, and another
process takes over at its next try; the old leader learns of the broken connection at once (the
connection's termination) or at its next check, and stops leading. A process that lost the lead
that way waits `rejoin_seconds` before it tries again, so that a healthy process takes over
rather than the one whose connection just failed.

On SQLite there is no leader: one process owns the database file and does all the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    from bot.context import JagaContext

log = logging.getLogger(__name__)

# The advisory lock key of leadership (storage/postgres.py's keys share its namespace).
LEADER_LOCK = 0x4A41_4741_0010


class Leader:
    """Holds, or keeps trying to hold, the leadership lock; `is_leader` says which."""

    def __init__(
        self,
        url: str,
        *,
        key: int = LEADER_LOCK,
        retry_seconds: float = 3.0,
        rejoin_seconds: float | None = None,
        name: str = "",
    ) -> None:
        self.url = url
        self.key = key
        self.retry_seconds = retry_seconds
        self.rejoin_seconds = 5 * retry_seconds if rejoin_seconds is None else rejoin_seconds
        self.name = name
        self._resting_until = 0.0  # monotonic time: no new try before (the lead was just lost)
        self._leading = False
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        """Whether this process leads now (a cheap check, made at the start of each job run)."""
        return self._leading

    @property
    def server_pid(self) -> int | None:
        """The server process of the lock's connection (for operators and tests)."""
        return None if self._conn is None else self._conn.get_server_pid()

    async def start(self) -> None:
        """Try once now, then keep trying (and checking the connection) in the background."""
        await self.attempt()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="leader")

    async def stop(self) -> None:
        """Stop trying and give the leadership up, so that another process takes it at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)  # closing the session releases the lock
        self._lose("stopped")

    async def wait_changed(self, seconds: float) -> bool:
        """Wait until leadership is gained or lost (tests); whether it changed in time."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)
            return True
        return False

    async def attempt(self) -> bool:
        """One round: take the lock if free, or check that the connection holding it lives."""
        if not self._leading and time.monotonic() < self._resting_until:
            return False
        try:
            if self._conn is None or self._conn.is_closed():
                self._lose("connection_closed")
                self._conn = await asyncpg.connect(self.url, timeout=10)
                self._conn.add_termination_listener(self._on_termination)
            if self._leading:
                await self._conn.fetchval("SELECT 1", timeout=max(self.retry_seconds, 1.0))
            elif await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                self._leading = True
                self._changed.set()
                log.info("event=leader_acquired name=%s pid=%s", self.name, self.server_pid)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("event=leader_check_failed name=%s", self.name, exc_info=True)
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.terminate()
            self._lose("connection_failed")
        return self._leading

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self.attempt()
            except Exception:  # anything unforeseen must not end the election for this process
                log.exception("event=leader_check_failed name=%s", self.name)
                self._lose("error")

    def _on_termination(self, conn: Any) -> None:
        """The lock's connection closed (the server ended it, or the network broke)."""
        if conn is self._conn:
            self._lose("connection_lost")

    def _lose(self, reason: str) -> None:
        if self._leading:
            self._leading = False
            self._changed.set()
            if reason != "stopped":
                self._resting_until = time.monotonic() + self.rejoin_seconds
            level = logging.INFO if reason == "stopped" else logging.WARNING
            log.log(level, "event=leader_lost name=%s reason=%s", self.name, reason)


def when_leader(
    job: Callable[[JagaContext], Coroutine[Any, Any, None]],
) -> Callable[[JagaContext], Coroutine[Any, Any, None]]:
    """A repeating job that does its work only in the leading process (always without leader)."""

    @functools.wraps(job)
    async def run(context: JagaContext) -> None:
        leader = context.bot_data.leader
        if leader is not None and not leader.is_leader:
            log.debug("event=job_skipped_not_leader job=%s", job.__name__)
            return
        await job(context)

    return run
