"""Per-user flood limit: a token bucket for each person, in this process's memory.

Each update a person sends takes a token; tokens come back at `rate` a second up to `burst`.
Someone typing or tapping as a person does never runs dry. Someone sending far faster (a script,
a stuck client) gets one polite message when the bucket runs dry, and then every further update
is dropped silently until the bucket has refilled to half: dropped updates cost a token too, so a
sender who keeps going stays limited while someone who stops is served again within seconds.
Other people are not affected: each has their own bucket.

The buckets protect this process only: several processes behind one webhook would each count
separately (a shared limit would need the database or Redis, not needed for one process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Buckets are pruned when there are more than this many people in memory.
_PRUNE_ABOVE = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float
    limited: bool = False  # within a flood episode: the message was sent, updates are dropped


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
