"""Limits shared by every bot process on one PostgreSQL database (migration 0014_limits).

Each call is one statement on a connection of the caller's (outside the database-wide write
lock: a limit's row lock is all it needs). Times are seconds since the epoch; `now=None` takes
the database server's clock, so that processes on several machines agree on refills.

PostgreSQL only: on SQLite one process owns the file and keeps its limits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# The server's clock unless the caller passes one (a fake clock in tests).
_NOW = "COALESCE($1::float8, extract(epoch FROM clock_timestamp())::float8)"


class Executor(Protocol):
    """An asyncpg connection or pool."""

    async def fetchrow(self, query: str, *args: Any) -> Any: ...

    async def execute(self, query: str, *args: Any) -> str: ...


@dataclass(frozen=True)
class Take:
    """The outcome of taking tokens: how many were taken and how many the bucket had."""

    taken: int
    available: float


async def ensure_bucket(conn: Executor, name: str, burst: float, now: float | None) -> None:
    """Create the bucket `name`, full, unless another process already did."""
    await conn.execute(
        "INSERT INTO rate_buckets(name, tokens, updated_at)"
        f" VALUES ($2, $3::float8, {_NOW}) ON CONFLICT (name) DO NOTHING",
        now,
        name,
        burst,
    )


async def take_tokens(
    conn: Executor, name: str, want: int, rate: float, burst: float, now: float | None
) -> Take:
    """Refill bucket `name` (`rate` a second, up to `burst`) and take up to `want` whole tokens."""
    row = await conn.fetchrow(
        "WITH current AS ("
        "  SELECT b.name, n.now,"
        "   LEAST($5::float8, b.tokens + GREATEST(0, n.now - b.updated_at) * $4::float8)"
        "    AS available"
        f"  FROM rate_buckets b, (SELECT {_NOW} AS now) n WHERE b.name = $2 FOR UPDATE OF b"
        ")"
        " UPDATE rate_buckets b"
        " SET tokens = c.available - GREATEST(0, LEAST($3::int, floor(c.available)::int)),"
        "  updated_at = GREATEST(b.updated_at, c.now)"
        " FROM current c WHERE b.name = c.name"
        " RETURNING GREATEST(0, LEAST($3::int, floor(c.available)::int)) AS taken,"
        "  c.available AS available",
        now,
        name,
        want,
        rate,
        burst,
    )
    if row is None:
        raise LookupError(f"no rate bucket {name!r}: call ensure_bucket first")
    return Take(int(row["taken"]), float(row["available"]))


async def pause_bucket(
    conn: Executor, name: str, seconds: float, rate: float, now: float | None
) -> None:
    """Nobody takes from bucket `name` for `seconds` (Telegram asked the bot to wait)."""
    await conn.execute(
        f"UPDATE rate_buckets SET tokens = LEAST(tokens, -$3::float8 * $4::float8),"
        f" updated_at = GREATEST(updated_at, {_NOW}) WHERE name = $2",
        now,
        name,
        seconds,
        rate,
    )


async def flood_verdict(
    conn: Executor, telegram_id: int, burst: float, rate: float, now: float | None
) -> str:
    """Count one update of a person against their bucket: 'serve', 'warn' or 'drop'.

    The rules of bot/flood.py: the bucket refills at `rate` a second up to `burst`; a person
    within an episode (the last verdict was not 'serve') is dropped, a token taken each time,
    until the bucket is half full again; otherwise a token serves the update, and the first
    update finding the bucket empty is warned.
    """
    elapsed = "GREATEST(0, EXCLUDED.updated_at - b.updated_at)"
    refilled = f"LEAST($3::float8, b.tokens + {elapsed} * $4::float8)"
    limited = f"(b.verdict <> 'serve' AND {refilled} < $3::float8 / 2)"
    verdict = await conn.fetchrow(
        "INSERT INTO flood_buckets AS b (telegram_id, tokens, updated_at, verdict)"
        f" VALUES ($2, $3::float8 - 1, {_NOW}, 'serve')"
        " ON CONFLICT (telegram_id) DO UPDATE SET"
        f"  tokens = CASE WHEN {limited} THEN GREATEST(0, {refilled} - 1)"
        f"   WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END,"
        f"  verdict = CASE WHEN {limited} THEN 'drop' WHEN {refilled} >= 1 THEN 'serve'"
        "   ELSE 'warn' END,"
        "  updated_at = GREATEST(b.updated_at, EXCLUDED.updated_at)"
        " RETURNING verdict",
        now,
        telegram_id,
        burst,
        rate,
    )
    return str(verdict["verdict"])


async def forget_calm_people(conn: Executor, burst: float, rate: float, now: float | None) -> int:
    """Delete the buckets that would be full again (those people are not flooding)."""
    status = await conn.execute(
        f"DELETE FROM flood_buckets WHERE tokens + ({_NOW} - updated_at) * $3::float8"
        " >= $2::float8",
        now,
        burst,
        rate,
    )
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
