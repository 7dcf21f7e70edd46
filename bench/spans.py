"""`python -m bench.spans`: `jaga run` with timing spans around each update, for the bench.

Where an update's time goes, measured from outside the bot's code: this module wraps (at run
time, in the bench's child process only) the ordered processor, the database and the HTTP
client, and for every update adds up

- wait: admitted to the processor until its handlers start (the person's earlier update, or no
  free slot),
- run: its handlers, start to end, and within that
- db read / db write: time awaiting the database and the number of calls (a write includes the
  write lock's queue and the commit's fsync),
- api: time awaiting Bot API calls (calls made concurrently overlap, so this can exceed run).

The figures go to the JSON file BENCH_SPANS names when the process stops.
"""

from __future__ import annotations

import atexit
import contextvars
import functools
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

FIELDS = ("wait", "run", "db_read", "db_reads", "db_write", "db_writes", "api", "api_calls")
COUNTS = ("db_reads", "db_writes", "api_calls")
_current: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "bench_span", default=None
)
_done: list[dict[str, float]] = []


def _add(name: str, seconds: float, count: str | None = None) -> None:
    span = _current.get()
    if span is not None:
        span[name] += seconds
        if count:
            span[count] += 1


def _timed(
    function: Callable[..., Awaitable[Any]], name: str, count: str | None = None
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            _add(name, time.perf_counter() - started, count)

    return wrapper


def install() -> None:
    """Wrap the processor, the SQLite database and the HTTP clients."""
    from telegram.request import BaseRequest

    from bot.processing import OrderedUpdateProcessor
    from storage.sqlite import SqliteDatabase

    process = OrderedUpdateProcessor.do_process_update
    bounded = OrderedUpdateProcessor._bounded

    async def do_process_update(self: Any, update: object, coroutine: Awaitable[Any]) -> None:
        span = dict.fromkeys(FIELDS, 0.0)
        span["admitted"] = time.perf_counter()
        span["at"] = time.time()  # wall clock: the bench splits the updates by its phases
        _current.set(span)  # this task's context; tasks the handlers start inherit it
        try:
            await process(self, update, coroutine)
        finally:
            if "started" in span:
                span["run"] = time.perf_counter() - span["started"]
                span["wait"] = span["started"] - span["admitted"]
                _done.append(span)

    async def _bounded(self: Any, update: object, coroutine: Awaitable[Any]) -> None:
        span = _current.get()
        if span is not None:
            span["started"] = time.perf_counter()
        await bounded(self, update, coroutine)

    OrderedUpdateProcessor.do_process_update = do_process_update  # type: ignore[method-assign]
    OrderedUpdateProcessor._bounded = _bounded  # type: ignore[method-assign]

    # The primitives only: fetchone/fetchval read through fetchall, insert writes through write.
    for method, name in (("fetchall", "db_read"), ("execute", "db_write")):
        setattr(SqliteDatabase, method, _timed(getattr(SqliteDatabase, method), name, name + "s"))
    write = SqliteDatabase.write

    @asynccontextmanager
    async def timed_write(self: Any, *, serialised: bool = True) -> AsyncIterator[Any]:
        started = time.perf_counter()
        try:
            async with write(self, serialised=serialised) as conn:
                yield conn
        finally:
            _add("db_write", time.perf_counter() - started, "db_writes")

    SqliteDatabase.write = timed_write  # type: ignore[method-assign]
    setattr(BaseRequest, "post", _timed(BaseRequest.post, "api", "api_calls"))  # noqa: B010
    atexit.register(_dump)


def _dump() -> None:
    path = os.environ.get("BENCH_SPANS")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump([{k: s[k] for k in (*FIELDS, "at")} for s in _done], out)


def summary(
    spans: list[dict[str, float]], start: float = 0.0, end: float = float("inf")
) -> dict[str, dict[str, float]]:
    """p50, p90, p99 and mean of each span (ms; counts as they are) over the updates admitted
    between the wall-clock times `start` and `end`."""
    spans = [s for s in spans if start <= s["at"] <= end]
    out: dict[str, dict[str, float]] = {"updates": {"n": float(len(spans))}}
    for name in FIELDS:
        values = sorted(s[name] * (1 if name in COUNTS else 1000) for s in spans)
        if not values:
            continue
        out[name] = {
            "p50": values[len(values) // 2],
            "p90": values[min(len(values) - 1, int(0.9 * len(values)))],
            "p99": values[min(len(values) - 1, int(0.99 * len(values)))],
            "mean": sum(values) / len(values),
        }
    return out


def main() -> None:
    """`jaga run`, instrumented when BENCH_SPANS names a file; with BENCH_BOT_CLIENT=httpx on
    python-telegram-bot's default HTTP client instead of bot/http.py (a before/after check)."""
    if os.environ.get("BENCH_SPANS"):
        install()
    if os.environ.get("BENCH_BOT_CLIENT") == "httpx":
        from telegram.request import HTTPXRequest

        import jaga.app

        def httpx_request(**kwargs: Any) -> HTTPXRequest:
            return HTTPXRequest(**kwargs)

        setattr(jaga.app, "make_request", httpx_request)  # noqa: B010
    from jaga.cli import main

    raise SystemExit(main(["run"]))


if __name__ == "__main__":
    main()
