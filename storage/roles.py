"""Roles: admin, reviewer (a kabupaten), cadre (a desa); granted and revoked with a trail."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from storage.db import Database, now_text
from storage.review import InTransaction


class Role(StrEnum):
    """What a person may do: everything, review a kabupaten, or register workers of a desa."""

    ADMIN = "admin"
    REVIEWER = "reviewer"
    CADRE = "cadre"


ROLES = tuple(r.value for r in Role)


class Grant(NamedTuple):
    """A role a person holds now, and the region it is for."""

    role: Role
    region_code: str


class Holder(NamedTuple):
    """A person holding a role now, and the region it is for."""

    telegram_id: int
    region_code: str


async def grant(
    db: Database,
    telegram_id: int,
    role: str,
    region_code: str,
    granted_by: str,
    *,
    then: InTransaction | None = None,
) -> bool:
    """Give a role for a region; False if it was already held.

    `then` runs in the same transaction, only when the role is new (to queue the welcome).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO roles(telegram_id, role, region_code, granted_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (telegram_id, role, region_code, granted_by),
        )
        added = cursor.rowcount > 0
        if added and then is not None:
            await then(conn)
    return added


async def revoke(db: Database, telegram_id: int, role: str, region_code: str | None = None) -> int:
    """End a role (in one region, or everywhere); returns how many grants ended."""
    sql = (
        "UPDATE roles SET revoked_at = ? WHERE telegram_id = ? AND role = ? AND revoked_at IS NULL"
    )
    params: tuple[object, ...] = (now_text(), telegram_id, role)
    if region_code is not None:
        sql += " AND region_code = ?"
        params += (region_code,)
    return await db.execute(sql, params)


async def lost(db: Database, telegram_id: int, role: str) -> bool:
    """Whether the person held `role` once and holds it nowhere now (it was revoked)."""
    row = await db.fetchone(
        "SELECT COUNT(*) AS held, COUNT(*) FILTER (WHERE revoked_at IS NULL) AS holds "
        "FROM roles WHERE telegram_id = ? AND role = ?",
        (telegram_id, role),
    )
    return row is not None and row["held"] > 0 and row["holds"] == 0


async def held_by(db: Database, telegram_id: int) -> list[Grant]:
    """The (role, region code) pairs a person holds now."""
    rows = await db.fetchall(
        "SELECT role, region_code FROM roles WHERE telegram_id = ? AND revoked_at IS NULL "
        "ORDER BY role, region_code",
        (telegram_id,),
    )
    return [Grant(Role(r["role"]), str(r["region_code"])) for r in rows]


async def holders(db: Database, role: str, region_prefix: str) -> list[Holder]:
    """(Telegram id, region code) of everyone holding `role` in or under a region."""
    rows = await db.fetchall(
        "SELECT telegram_id, region_code FROM roles WHERE role = ? AND revoked_at IS NULL "
        "AND (region_code = ? OR region_code LIKE ? || '.%') ORDER BY telegram_id",
        (role, region_prefix, region_prefix),
    )
    return [Holder(int(r["telegram_id"]), str(r["region_code"])) for r in rows]


async def holders_of_any(db: Database) -> list[int]:
    """The Telegram ids of everyone holding any role now."""
    rows = await db.fetchall(
        "SELECT DISTINCT telegram_id FROM roles WHERE revoked_at IS NULL ORDER BY telegram_id"
    )
    return [int(r["telegram_id"]) for r in rows]


async def menu_set(db: Database, bot_id: int) -> dict[int, str]:
    """The command menu a bot last set per role holder's chat (bot/menus.py)."""
    rows = await db.fetchall(
        "SELECT telegram_id, menu FROM command_scopes WHERE bot_id = ?", (bot_id,)
    )
    return {int(r["telegram_id"]): str(r["menu"]) for r in rows}


async def record_menu(db: Database, bot_id: int, telegram_id: int, menu: str | None) -> None:
    """Remember the menu a bot set for a chat (None: the chat has the default menu again)."""
    if menu is None:
        await db.execute(
            "DELETE FROM command_scopes WHERE bot_id = ? AND telegram_id = ?",
            (bot_id, telegram_id),
        )
        return
    await db.execute(
        "INSERT INTO command_scopes(bot_id, telegram_id, menu) VALUES (?, ?, ?) "
        "ON CONFLICT(bot_id, telegram_id) DO UPDATE SET menu = excluded.menu, "
        "set_at = ?",
        (bot_id, telegram_id, menu, now_text()),
    )
