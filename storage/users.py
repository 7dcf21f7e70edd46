"""Users: language and the flow each person is in."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True)
class User:
    """A person the bot has talked to."""

    telegram_id: int
    language: str | None
    active_flow: str | None


async def get_or_create(db: Database, telegram_id: int) -> User:
    """The user row, created on first contact."""
    row = await db.fetchone(
        "SELECT telegram_id, language, active_flow FROM users WHERE telegram_id = ?",
        (telegram_id,),
    )
    if row is None:
        await db.execute(
            "INSERT INTO users(telegram_id) VALUES (?) ON CONFLICT DO NOTHING", (telegram_id,)
        )
        return User(telegram_id, None, None)
    return User(row["telegram_id"], row["language"], row["active_flow"])


async def language_of(db: Database, telegram_id: int) -> str | None:
    """The language a user chose, or None (unknown user or no choice yet); reads only."""
    language = await db.fetchval(
        "SELECT language FROM users WHERE telegram_id = ?", (telegram_id,)
    )
    return None if language is None else str(language)


async def set_language(db: Database, telegram_id: int, language: str) -> None:
    """Remember the language a user chose."""
    await db.execute(
        "INSERT INTO users(telegram_id, language) VALUES (?, ?) ON CONFLICT(telegram_id) DO "
        "UPDATE SET language = excluded.language, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')",
        (telegram_id, language),
    )


async def set_active_flow(db: Database, telegram_id: int, flow: str | None) -> None:
    """Record which flow (if any) the user's next free-text message answers."""
    await db.execute(
        "INSERT INTO users(telegram_id, active_flow) VALUES (?, ?) ON CONFLICT(telegram_id) DO "
        "UPDATE SET active_flow = excluded.active_flow, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')",
        (telegram_id, flow),
    )
