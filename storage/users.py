"""Users: language and the flow each person is in."""

from __future__ import annotations

from dataclasses import dataclass

from storage import flows
from storage.db import Database, now_text

# People on WhatsApp have the id WHATSAPP_BASE + wa_id, above every Telegram user id
# (bot/channels.py); the outbox tells the two channels apart by it.
WHATSAPP_BASE = 10**16


@dataclass(frozen=True)
class User:
    """A person the bot has talked to."""

    telegram_id: int
    language: str | None
    active_flow: str | None


# Whether a person holds a role now (their Telegram name is kept only then, for lists and cards).
_HOLDS_ROLE = "EXISTS (SELECT 1 FROM roles r WHERE r.telegram_id = ? AND r.revoked_at IS NULL)"


async def get_or_create(db: Database, telegram_id: int, telegram_name: str | None = None) -> User:
    """The user row, created on first contact.

    `telegram_name` (the sender's Telegram first and last name) is kept as the display name of
    someone holding a role who has none yet, e.g. a reviewer granted on the command line.
    """
    row = await db.fetchone(
        "SELECT telegram_id, language, active_flow, "
        f"display_name IS NULL AND {_HOLDS_ROLE} AS wants_name FROM users WHERE telegram_id = ?",
        (telegram_id, telegram_id),
    )
    name = (telegram_name or "").strip()[:64] or None
    if row is None:
        await db.execute(
            "INSERT INTO users(telegram_id, display_name) "
            f"VALUES (?, CASE WHEN {_HOLDS_ROLE} THEN ? END) ON CONFLICT DO NOTHING",
            (telegram_id, telegram_id, name),
        )
        return User(telegram_id, None, None)
    if row["wants_name"] and name is not None:
        await db.execute(
            "UPDATE users SET display_name = ? WHERE telegram_id = ? AND display_name IS NULL",
            (name, telegram_id),
        )
    return User(row["telegram_id"], row["language"], row["active_flow"])


async def set_display_name(db: Database, telegram_id: int, name: str) -> None:
    """The name shown for a role holder in lists and review cards (`jaga grant --name`)."""
    await db.execute(
        "INSERT INTO users(telegram_id, display_name) VALUES (?, ?) ON CONFLICT(telegram_id) DO "
        "UPDATE SET display_name = excluded.display_name, "
        "updated_at = ?",
        (telegram_id, name, now_text()),
    )


async def name_of(db: Database, telegram_id: int, desa_code: str | None = None) -> str | None:
    """A person's name as lists show it: confirmed as cadre of `desa_code`, else any cadre
    name, else the display name; None when the bot knows none."""
    value = await db.fetchval(
        "SELECT COALESCE("
        " (SELECT name FROM cadres WHERE telegram_id = ? AND desa_code = ?),"
        " (SELECT name FROM cadres WHERE telegram_id = ? ORDER BY joined_at DESC LIMIT 1),"
        " (SELECT display_name FROM users WHERE telegram_id = ?))",
        (telegram_id, desa_code, telegram_id, telegram_id),
    )
    return None if value is None else str(value)


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
        "updated_at = ?",
        (telegram_id, language, now_text()),
    )


async def set_active_flow(db: Database, telegram_id: int, flow: str | None) -> None:
    """Record which flow (if any) the user's next free-text message answers (no step with it)."""
    await flows.commit_step(db, telegram_id, flow, [])
