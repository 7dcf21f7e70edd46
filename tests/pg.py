"""The suite's PostgreSQL: a private server per test process, one fresh database per test.

`JAGA_TEST_DB=postgresql` runs the suite on PostgreSQL (`make test` does, after the SQLite run).
The server is pgserver's PostgreSQL 16, started in a temporary folder and stopped at the end; each
test gets a database copied from a migrated template, dropped when the test ends.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

ENGINE = os.environ.get("JAGA_TEST_DB", "sqlite")
TEMPLATE = "jaga_template"

_server: Any = None
_folder: Path | None = None
_created: list[str] = []


def examples(count: int) -> int:
    """Generated examples for a property test: the full count on SQLite; on the PostgreSQL run,
    which checks the SQL rather than the flows' logic again, a quarter (each needs a database)."""
    return count if ENGINE == "sqlite" else max(10, count // 4)


def running() -> bool:
    """Whether this process's server is started."""
    return _server is not None


def start() -> None:
    """Start this process's server and build the migrated template database."""
    global _server, _folder
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
    name = f"t_{uuid.uuid4().hex[:16]}"
    _server.psql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE};")
    _created.append(name)
    return url(name)


def drop_created() -> None:
    """Drop the databases made since the last call."""
    while _created:
        _server.psql(f"DROP DATABASE IF EXISTS {_created.pop()} WITH (FORCE);")


def stop() -> None:
    """Stop the server and remove its folder."""
    global _server, _folder
    if _server is not None:
        _server.cleanup()
        _server = None
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)
        _folder = None
