"""The suite's PostgreSQL: a private server per test process, one fresh database per test.

`JAGA_TEST_DB=postgresql` runs the suite on PostgreSQL (`make test` does, after the SQLite run).
The server is pgserver's PostgreSQL 16, started in a temporary folder and stopped at the end; each
test gets a database copied from a migrated template, dropped when the test ends. Copies are made
ahead and dropped afterwards by a helper thread, so a test does not wait for either.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

ENGINE = os.environ.get("JAGA_TEST_DB", "sqlite")
TEMPLATE = "jaga_template"
READY = 2  # databases copied ahead of the tests that will take them

_server: Any = None
_folder: Path | None = None
_created: list[str] = []
_maker: _Maker | None = None


def examples(count: int) -> int:
    """Generated examples for a property test: the full count on SQLite; on the PostgreSQL run,
    which checks the SQL rather than the flows' logic again, a quarter (each needs a database)."""
    return count if ENGINE == "sqlite" else max(10, count // 4)


def running() -> bool:
    """Whether this process's server is started."""
    return _server is not None


def start() -> None:
    """Start this process's server, build the migrated template and start copying it."""
    global _server, _folder, _maker
    if _server is not None:
        return
    _folder = Path(tempfile.mkdtemp(prefix="jaga-pg-"))
    # platformdirs (under pgserver) warns without a private runtime folder; not the server's own
    # folder, which pgserver opens to its server user.
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="jaga-xdg-"))
    import pgserver

    _server = pgserver.get_server(  # type: ignore[attr-defined]
        _folder / "data", cleanup_mode="stop"
    )
    # A test server holds nothing worth keeping: trade durability for speed.
    _server.psql(
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
        "ALTER SYSTEM SET full_page_writes = off;"
    )
    _server.psql("SELECT pg_reload_conf();")
    _server.psql(f"CREATE DATABASE {TEMPLATE};")
    asyncio.run(_migrate(url(TEMPLATE)))
    _maker = _Maker(url("postgres"))


async def _migrate(target: str) -> None:
    from storage.db import Database

    db = await Database.open(target)
    await db.close()


def url(name: str) -> str:
    """The URL of database `name` on this process's server (a Unix socket, no password)."""
    assert _folder is not None, "the PostgreSQL server is not started"
    return f"postgresql://postgres@/{name}?host={_folder / 'data'}"


def new_database() -> str:
    """A fresh, migrated database for one test; dropped when the test ends."""
    assert _maker is not None, "the PostgreSQL server is not started"
    name = _maker.take()
    _created.append(name)
    return url(name)


def drop_created() -> None:
    """Drop the databases made since the last call (in the helper thread)."""
    while _created:
        assert _maker is not None
        _maker.drop(_created.pop())


def stop() -> None:
    """Stop the helper thread and the server, and remove its folder."""
    global _server, _folder, _maker
    if _maker is not None:
        _maker.close()
        _maker = None
    if _server is not None:
        _server.cleanup()
        _server = None
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)
        _folder = None


class _Maker:
    """A thread with its own event loop and one admin connection: copies and drops databases."""

    def __init__(self, admin_url: str):
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._conn = self._call(self._connect(admin_url))
        self._one_at_a_time = asyncio.Lock()  # a connection runs one statement at a time
        for _ in range(READY):
            self._make_ahead()

    async def _connect(self, admin_url: str) -> Any:
        import asyncpg

        return await asyncpg.connect(admin_url)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _make_ahead(self) -> None:
        asyncio.run_coroutine_threadsafe(self._copy(), self._loop)

    async def _copy(self) -> None:
        name = f"t_{uuid.uuid4().hex[:16]}"
        try:
            async with self._one_at_a_time:
                await self._conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        except BaseException as exc:  # handed to the test that takes it
            self._ready.put(exc)
            raise
        self._ready.put(name)

    async def _close(self) -> None:
        async with self._one_at_a_time:
            await self._conn.close()

    def take(self) -> str:
        """A copy made ahead (waiting for one if none is ready); another is started."""
        got = self._ready.get(timeout=60)
        self._make_ahead()
        if isinstance(got, BaseException):
            raise got
        return got

    def drop(self, name: str) -> None:
        """Drop `name` without waiting (the next copy waits behind it on the one connection)."""
        asyncio.run_coroutine_threadsafe(self._drop(name), self._loop)

    async def _drop(self, name: str) -> None:
        async with self._one_at_a_time:
            await self._conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        """Finish what is queued, close the connection and stop the thread."""
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
