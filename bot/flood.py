"""Per-user flood limit: a token bucket for each person, in this process's memory.

Each update a person sends takes a token; tokens come back at `rate` a second up to `burst`.
Someone typing or tapping as a person does never runs dry. Someone sending far faster (a script,
a stuck client) gets one polite message when the bucket runs dry, and then every further update
is dropped silently until the bucket has refilled to half: dropped updates cost a token too, so a
sender who keeps going stays limited while someone who stops is served again within seconds.
Other people are not affected: each has their own bucket.

The buckets live in this process's memory; with several processes on PostgreSQL, `shared`
keeps each person's bucket in the database instead (bot/limits.py), with the same rules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

# Buckets are pruned when there are more than this many people in memory.
_PRUNE_ABOVE = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float
    limited: bool = False  # within a flood episode: the message was sent, updates are dropped


class SharedBuckets(Protocol):
    """Buckets kept outside this process (bot/limits.py's SharedFlood)."""

    def check(self, user_id: int, now: float | None) -> Awaitable[str]: ...


class FloodLimiter:
    """Decides for each update of a person: serve it, warn once, or drop it."""

    SERVE = "serve"
    WARN = "warn"
    DROP = "drop"

    def __init__(
        self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self.shared: SharedBuckets | None = None  # set while processes share the database

    async def decide(self, user_id: int) -> str:
        """SERVE, WARN or DROP, from the shared buckets when set, else from this process's."""
        if self.shared is not None:
            # This machine's monotonic clock means nothing to other processes: the database's
            # clock counts then. A clock given by the caller (a test's) counts as given.
            now = None if self.clock is time.monotonic else self.clock()
            try:
                return await self.shared.check(user_id, now)
            except Exception:  # the database is unreachable: this process's buckets meanwhile
                log.warning("event=flood_shared_failed user=%s", user_id, exc_info=True)
        return self.check(user_id)

    def check(self, user_id: int) -> str:
        """SERVE, WARN (the first update over the limit: send the one message) or DROP."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_ABOVE:
                self._prune(now)
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.limited and bucket.tokens >= self.burst / 2:
            bucket.limited = False  # calmed down: the episode is over
        if bucket.limited:
            bucket.tokens = max(0.0, bucket.tokens - 1)
            return self.DROP
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return self.SERVE
        bucket.limited = True
        return self.WARN

    def _prune(self, now: float) -> None:
        """Forget people whose bucket would be full again (they are not flooding)."""
        for user_id, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst:
                del self._buckets[user_id]

    def __len__(self) -> int:
        return len(self._buckets)
