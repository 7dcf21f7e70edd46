"""Looking into the test database's schema and health on either engine."""

from __future__ import annotations

from storage.db import Database


async def table_names(db: Database) -> list[str]:
    """The tables, sorted."""
    if db.engine == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        sql = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' ORDER BY table_name"
        )
    return [r[0] for r in await db.fetchall(sql)]


async def column_names(db: Database, table: str) -> set[str]:
    """The columns of `table`."""
    if db.engine == "sqlite":
        return {r["name"] for r in await db.fetchall(f"PRAGMA table_info({table})")}
    rows = await db.fetchall(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = ?",
        (table,),
    )
    return {r[0] for r in rows}


async def integrity_problems(db: Database) -> list[str]:
    """What the engine finds broken: SQLite's integrity and foreign-key checks (PostgreSQL
    enforces foreign keys on every statement, so there is nothing left to check there)."""
    if db.engine != "sqlite":
        return []
    problems = [r[0] for r in await db.fetchall("PRAGMA integrity_check") if r[0] != "ok"]
    return problems + [str(tuple(r)) for r in await db.fetchall("PRAGMA foreign_key_check")]
