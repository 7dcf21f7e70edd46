"""Cadres: invite links for a desa, joining with one, and what a cadre registered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.db import Database

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ','now')"


@dataclass(frozen=True)
class Invite:
    """An invite link's stored row."""

    id: int
    code: str
    desa_code: str
    created_by: int
    created_at: str
    expires_at: str
    revoked_at: str | None
    used_by: int | None
    used_at: str | None

    def state(self, now: str) -> str:
        """'open', 'used', 'revoked' or 'expired' at `now` (UTC ISO)."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"


def _invite(row: Any) -> Invite:
    return Invite(**{name: row[name] for name in Invite.__dataclass_fields__})


async def create_invite(
    db: Database, code: str, desa_code: str, created_by: int, expires_at: str
) -> Invite:
    """Store a new invite code for a desa, valid until `expires_at` (UTC ISO)."""
    invite_id = await db.insert(
        "INSERT INTO cadre_invites(code, desa_code, created_by, expires_at) VALUES (?, ?, ?, ?)",
        (code, desa_code, created_by, expires_at),
    )
    invite = await get_invite(db, invite_id)
    assert invite is not None
    return invite


async def get_invite(db: Database, invite_id: int) -> Invite | None:
    """An invite by id."""
    row = await db.fetchone("SELECT * FROM cadre_invites WHERE id = ?", (invite_id,))
    return None if row is None else _invite(row)


async def invite_by_code(db: Database, code: str) -> Invite | None:
    """An invite by its code."""
    row = await db.fetchone("SELECT * FROM cadre_invites WHERE code = ?", (code,))
    return None if row is None else _invite(row)


async def open_invites(db: Database, regions: tuple[str, ...], now: str) -> list[Invite]:
    """Unused, unrevoked, unexpired invites for desa in any of `regions`, newest first."""
    if not regions:
        return []
    where = " OR ".join("desa_code = ? OR desa_code LIKE ? || '.%'" for _ in regions)
    params: list[Any] = [p for r in regions for p in (r, r)]
    rows = await db.fetchall(
        "SELECT * FROM cadre_invites WHERE used_at IS NULL AND revoked_at IS NULL "
        f"AND expires_at > ? AND ({where}) ORDER BY id DESC LIMIT 20",
        [now, *params],
    )
    return [_invite(r) for r in rows]


async def revoke_invite(db: Database, invite_id: int) -> bool:
    """Revoke an unused invite; False if it was already used or revoked."""
    changed = await db.execute(
        f"UPDATE cadre_invites SET revoked_at = {_NOW} "
        "WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
        (invite_id,),
    )
    return changed > 0


async def join(db: Database, code: str, telegram_id: int, name: str, now: str) -> Invite | None:
    """Use an open invite: the cadre role, the name and the used mark in one transaction.

    Returns the invite, or None if it is no longer open (used, revoked or expired meanwhile).
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            f"UPDATE cadre_invites SET used_by = ?, used_at = {_NOW} WHERE code = ? "
            "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            (telegram_id, code, now),
        )
        if cursor.rowcount == 0:
            return None
        cursor = await conn.execute("SELECT * FROM cadre_invites WHERE code = ?", (code,))
        invite = _invite(await cursor.fetchone())
        # The role row as storage/roles.py grant() writes it, inside this same transaction.
        await conn.execute(
            "INSERT INTO roles(telegram_id, role, region_code, granted_by) "
            "VALUES (?, 'cadre', ?, ?) ON CONFLICT DO NOTHING",
            (telegram_id, invite.desa_code, str(invite.created_by)),
        )
        await conn.execute(
            "INSERT INTO cadres(telegram_id, desa_code, name, invite_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(telegram_id, desa_code) DO UPDATE SET name = excluded.name, "
            "invite_id = excluded.invite_id",
            (telegram_id, invite.desa_code, name, invite.id),
        )
        await conn.execute(
            "UPDATE users SET pending_invite = NULL, pending_cadre_name = NULL "
            "WHERE telegram_id = ?",
            (telegram_id,),
        )
        return invite


async def set_pending_invite(
    db: Database, telegram_id: int, code: str | None, name: str | None = None
) -> None:
    """Remember (or forget) the invite a person is joining with and the name shown to them."""
    await db.execute(
        "INSERT INTO users(telegram_id, pending_invite, pending_cadre_name) VALUES (?, ?, ?) "
        "ON CONFLICT(telegram_id) DO UPDATE SET pending_invite = excluded.pending_invite, "
        "pending_cadre_name = excluded.pending_cadre_name",
        (telegram_id, code, name),
    )


async def pending_invite(db: Database, telegram_id: int) -> tuple[str, str | None] | None:
    """The invite code a person is joining with and the name shown to them, if any."""
    row = await db.fetchone(
        "SELECT pending_invite, pending_cadre_name FROM users WHERE telegram_id = ?",
        (telegram_id,),
    )
    if row is None or row["pending_invite"] is None:
        return None
    return str(row["pending_invite"]), row["pending_cadre_name"]


async def name_of(db: Database, telegram_id: int, desa_code: str) -> str | None:
    """A cadre's confirmed name in a desa."""
    value = await db.fetchval(
        "SELECT name FROM cadres WHERE telegram_id = ? AND desa_code = ?",
        (telegram_id, desa_code),
    )
    return None if value is None else str(value)


async def registered_counts(db: Database, cadre_id: int, desa_code: str) -> dict[str, int]:
    """Submissions this cadre made for others in a desa, counted by status."""
    rows = await db.fetchall(
        "SELECT status, COUNT(*) FROM registrations WHERE operator_id = ? AND desa_code = ? "
        "AND status != 'draft' AND for_self = 0 GROUP BY status",
        (cadre_id, desa_code),
    )
    return {r[0]: r[1] for r in rows}


async def needing_fix(
    db: Database, cadre_id: int, desa_code: str, limit: int = 20
) -> list[dict[str, Any]]:
    """This cadre's submissions in a desa that the district sent back for fixing, oldest first."""
    rows = await db.fetchall(
        "SELECT id, ref, name, nik_masked FROM registrations WHERE operator_id = ? "
        "AND desa_code = ? AND status = 'perlu_perbaikan' AND for_self = 0 "
        "ORDER BY updated_at, id LIMIT ?",
        (cadre_id, desa_code, limit),
    )
    return [dict(r) for r in rows]


async def desa_counts_since(db: Database, desa_code: str, since: str) -> dict[str, int]:
    """In a desa: submissions since `since`, open fix requests, approvals since `since`."""
    row = await db.fetchone(
        "SELECT "
        " SUM(status != 'draft' AND submitted_at >= :since) AS new,"
        " SUM(status = 'perlu_perbaikan') AS fixing,"
        " SUM(status IN ('disetujui', 'terdaftar') AND reviewed_at >= :since) AS approved "
        "FROM registrations WHERE desa_code = :desa",
        {"since": since, "desa": desa_code},
    )
    assert row is not None
    return {"new": row["new"] or 0, "fixing": row["fixing"] or 0, "approved": row["approved"] or 0}


async def counts_per_cadre(db: Database, region_prefix: str) -> list[dict[str, Any]]:
    """For the review report: each cadre in a region with their submissions by status."""
    rows = await db.fetchall(
        "SELECT c.telegram_id, c.name, c.desa_code, r.status, COUNT(r.id) AS n "
        "FROM cadres c JOIN roles ro ON ro.telegram_id = c.telegram_id AND ro.role = 'cadre' "
        " AND ro.region_code = c.desa_code AND ro.revoked_at IS NULL "
        "LEFT JOIN registrations r ON r.operator_id = c.telegram_id "
        " AND r.desa_code = c.desa_code AND r.status != 'draft' AND r.for_self = 0 "
        "WHERE c.desa_code = ? OR c.desa_code LIKE ? || '.%' "
        "GROUP BY c.telegram_id, c.desa_code, r.status ORDER BY c.desa_code, c.name",
        (region_prefix, region_prefix),
    )
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for r in rows:
        entry = out.setdefault(
            (r["telegram_id"], r["desa_code"]),
            {
                "telegram_id": r["telegram_id"],
                "name": r["name"],
                "desa_code": r["desa_code"],
                "counts": {},
            },
        )
        if r["status"] is not None:
            entry["counts"][r["status"]] = r["n"]
    return list(out.values())


async def active_cadres(db: Database) -> list[dict[str, Any]]:
    """Every cadre holding the role now, with their desa and name (weekly summaries)."""
    rows = await db.fetchall(
        "SELECT ro.telegram_id, ro.region_code AS desa_code, c.name FROM roles ro "
        "LEFT JOIN cadres c ON c.telegram_id = ro.telegram_id AND c.desa_code = ro.region_code "
        "WHERE ro.role = 'cadre' AND ro.revoked_at IS NULL ORDER BY ro.telegram_id"
    )
    return [dict(r) for r in rows]
