"""The spreadsheet worker process: reading, checking and writing XLSX away from the event loop."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

# The spreadsheet worker process: started once, in a background thread (it takes seconds).
_pool: Future[ProcessPoolExecutor] | None = None
_pool_lock = threading.Lock()


def start_worker() -> Future[ProcessPoolExecutor]:
    """Starts the spreadsheet worker process unless it runs or is starting; its future."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Future()
            threading.Thread(
                target=_start_pool, args=(_pool,), name="cadre-sheet-worker", daemon=True
            ).start()
        return _pool


def _start_pool(future: Future[ProcessPoolExecutor]) -> None:
    try:
        # forkserver: workers start from a clean process, not a copy of this threaded one.
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
        pool.submit(int).result()  # the worker process is up
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(pool)


async def in_worker(function: Callable[..., T], *args: Any) -> T:
    """Runs spreadsheet work (parsing, checking, writing XLSX) in the worker process.

    A thread would hold the GIL for most of it, and keep everyone else's replies waiting.
    """
    global _pool
    starting = start_worker()
    # shield: a cancelled caller must not cancel the start shared with later callers.
    pool = await asyncio.shield(asyncio.wrap_future(starting))
    try:
        return await asyncio.get_running_loop().run_in_executor(
            pool, functools.partial(function, *args)
        )
    except BrokenProcessPool:
        with _pool_lock:
            if _pool is starting:
                _pool = None  # a worker died (a file too big for memory): a fresh one next time
        raise
