"""Limits that hold across every bot process sharing one PostgreSQL database.

Several `jaga run --webhook` processes serve one bot. Telegram's overall send limit, the outbox's
pace and the per-person flood limit are the bot's, not a process's: their state lives in the
database (storage/limits.py), and the once-only work runs in the leading process (bot/leader.py).

- `SharedRate`: a token bucket in a table. A process takes a few tokens at once (one
  UPDATE … RETURNING for up to `batch` sends) and spends them within a second, so the bot-wide
  rate holds within a few messages without a database round trip per message. It has the
  interface of aiolimiter's AsyncLimiter (`acquire`, `async with`), so it replaces the overall
  limiter of the Bot API's rate limiter and the outbox's pace.
- `SharedFlood`: each person's flood bucket in a table, one statement per update.

On SQLite nothing here is used: one process owns the file and keeps its limits in memory.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import asyncpg
from aiolimiter import AsyncLimiter

from bot.leader import Leader
from bot.retry import RetryingRateLimiter
from storage import limits
from storage.postgres import keep_session

if TYPE_CHECKING:
    from bot.context import JagaApplication

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Tokens a process takes at once, at most; and how long it may keep them before they lapse.
MAX_BATCH = 5
HOLD_SECONDS = 1.0
# A process that found the bucket empty waits at least this long before asking again.
MIN_WAIT_SECONDS = 0.005
# Calm people's flood buckets are deleted after this many checks by one process.
PRUNE_EVERY = 10_000


class SharedRate:
    """At most `rate` takes a second (bursts up to `burst`), across every process."""

    def __init__(
        self,
        conn: limits.Executor,
        name: str,
        rate: float,
        *,
        burst: float | None = None,
        batch: int | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.conn = conn
        self.name = name
        self.rate = rate
        self.max_rate = rate  # aiolimiter's name, read by code that inspects a limiter
        self.burst = burst if burst is not None else max(rate, 1.0)
        # A batch is spent within a fifth of a second at the full rate (one token at low rates).
        self.batch = batch or max(1, min(MAX_BATCH, math.floor(rate / 5)))
        self.clock = clock  # None: the database server's clock
        self._sleep = sleep
        self._held = 0
        self._held_until = 0.0
        self._want = 1  # tokens to ask for next: grows while this process spends them all
        self._spent_all = False
        self._lock = asyncio.Lock()
        self._ready = False
        # While the database cannot be reached, this process paces itself alone.
        self._fallback = AsyncLimiter(rate, 1)

    def _local_now(self) -> float:
        return self.clock() if self.clock is not None else time.monotonic()

    async def ensure(self) -> None:
        """Create the bucket's row if no process has yet."""
        if not self._ready:
            now = self.clock() if self.clock is not None else None
            await limits.ensure_bucket(self.conn, self.name, self.burst, now)
            self._ready = True

    async def try_acquire(self) -> float:
        """Take one token if there is one: 0.0, else the seconds to wait before asking again."""
        async with self._lock:
            local_now = self._local_now()
            if self._held > 0 and local_now < self._held_until:
                self._held -= 1
                return 0.0
            # Ask for as many as this process has been using: tokens kept too long lapse (they
            # would make a burst), and tokens that lapse were taken from the other processes.
            if self._held > 0:
                self._want = max(1, self._want // 2)
            elif self._spent_all:
                self._want = min(self.batch, self._want * 2)
            self._held, self._spent_all = 0, False
            now = self.clock() if self.clock is not None else None
            try:
                await self.ensure()
                take = await limits.take_tokens(
                    self.conn, self.name, self._want, self.rate, self.burst, now
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("event=shared_rate_failed bucket=%s", self.name, exc_info=True)
                await self._fallback.acquire()
                return 0.0
            if take.taken > 0:
                self._held = take.taken - 1
                self._held_until = local_now + HOLD_SECONDS
                self._spent_all = take.taken == self._want
                return 0.0
            return max((1.0 - take.available) / self.rate, MIN_WAIT_SECONDS)

    async def acquire(self, amount: float = 1) -> None:
        """Wait until `amount` tokens are taken (aiolimiter's AsyncLimiter.acquire)."""
        for _ in range(math.ceil(amount)):
            while (wait := await self.try_acquire()) > 0:
                await self._sleep(wait)

    async def pause(self, seconds: float) -> None:
        """No process takes a token for `seconds` (Telegram's RetryAfter is the bot's)."""
        async with self._lock:
            self._held = 0
            now = self.clock() if self.clock is not None else None
            try:
                await self.ensure()
                await limits.pause_bucket(self.conn, self.name, seconds, self.rate, now)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("event=shared_rate_failed bucket=%s", self.name, exc_info=True)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class SharedFlood:
    """The per-person flood limit of bot/flood.py, with each person's bucket in the database."""

    def __init__(self, conn: limits.Executor, burst: int, rate: float) -> None:
        self.conn = conn
        self.burst = float(burst)
        self.rate = rate
        self._checks = 0

    async def check(self, user_id: int, now: float | None = None) -> str:
        """'serve', 'warn' (the first update over the limit) or 'drop', as FloodLimiter.check.

        `now` in seconds; None takes the database server's clock.
        """
        verdict = await limits.flood_verdict(self.conn, user_id, self.burst, self.rate, now)
        self._checks += 1
        if self._checks % PRUNE_EVERY == 0:
            await limits.forget_calm_people(self.conn, self.burst, self.rate, now)
        return verdict


@dataclass
class Shared:
    """What a process uses to share limits and work with the others (PostgreSQL only)."""

    pool: asyncpg.Pool
    leader: Leader
    telegram: SharedRate
    outbox: SharedRate


async def start(app: JagaApplication) -> None:
    """On PostgreSQL: join the leader election and move the bot-wide limits into the database.

    Called from post_init once the database is open, before the outbox sender starts.
    """
    services = app.bot_data
    db = services.db
    if db.engine != "postgresql":
        return
    url = db.target
    settings = services.settings
    # Single statements only (no session state): released without asyncpg's reset round trip.
    # The buckets are soft state: a commit need not wait for its WAL flush (synchronous_commit
    # off; a server crash may lose the last fraction of a second of token counts, which only
    # refills buckets a little early). The flood check is one such commit per update.
    pool = await asyncpg.create_pool(
        url,
        min_size=1,
        max_size=2,
        reset=keep_session,
        server_settings={"synchronous_commit": "off"},
    )
    try:
        leader = Leader(url)
        telegram = SharedRate(pool, "telegram", settings.max_messages_per_second)
        # The outbox is paced evenly: a burst of a fifth of a second's messages at most.
        pace = settings.outbox_messages_per_second
        outbox = SharedRate(pool, "outbox", pace, burst=max(1.0, pace / 5))
        await telegram.ensure()
        await outbox.ensure()
        await leader.start()
    except BaseException:
        await pool.close()
        raise
    services.shared = Shared(pool, leader, telegram, outbox)
    services.leader = leader
    limiter = app.bot.rate_limiter
    if isinstance(limiter, RetryingRateLimiter):
        limiter.share(telegram)
    if services.flood is not None:
        services.flood.shared = SharedFlood(pool, settings.flood_burst, settings.flood_rate)


async def stop(app: JagaApplication) -> None:
    """Give the leadership up and close the limits' connections (post_shutdown)."""
    services = app.bot_data
    shared, services.shared = services.shared, None
    services.leader = None
    if services.flood is not None:
        services.flood.shared = None
    limiter = app.bot.rate_limiter
    if isinstance(limiter, RetryingRateLimiter):
        limiter.share(None)
    if shared is not None:
        await shared.leader.stop()
        await shared.pool.close()
