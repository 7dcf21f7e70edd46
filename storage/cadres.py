"""Cadres: invite links for a desa, joining with one, and what a cadre registered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from storage import flows
from storage.db import Conn, Database, now_text
from storage.flows import KEEP, Pointer
from storage.registrations import Status


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
    used_by: int | None  # the last person who joined with it
    used_at: str | None  # when its last place was taken
    max_uses: int = 1  # how many cadres it admits
    uses: int = 0  # how many joined so far

    @property
    def places_left(self) -> int:
        """How many more cadres can join with it."""
        return max(self.max_uses - self.uses, 0)

    def state(self, now: str) -> str:
        """'open', 'used' (every place taken), 'revoked' or 'expired' at `now` (UTC ISO)."""
        if self.used_at is not None or self.places_left == 0:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"


def _invite(row: Any) -> Invite:
    return Invite(**{name: row[name] for name in Invite.__dataclass_fields__})


async def create_invite(
    db: Database, code: str, desa_code: str, created_by: int, expires_at: str, max_uses: int = 1
) -> Invite:
    """Store a new invite code for a desa admitting `max_uses` cadres until `expires_at`."""
    invite_id = await db.insert(
        "INSERT INTO cadre_invites(code, desa_code, created_by, expires_at, max_uses) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        (code, desa_code, created_by, expires_at, max_uses),
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
        f"AND uses < max_uses AND expires_at > ? AND ({where}) ORDER BY id DESC LIMIT 20",
        [now, *params],
    )
    return [_invite(r) for r in rows]


async def revoke_invite(db: Database, invite_id: int) -> bool:
    """Revoke an invite with places left; False if it was already full or revoked."""
    changed = await db.execute(
        "UPDATE cadre_invites SET revoked_at = ? "
        "WHERE id = ? AND used_at IS NULL AND uses < max_uses AND revoked_at IS NULL",
        (now_text(), invite_id),
    )
    return changed > 0


async def join(
    db: Database, code: str, telegram_id: int, name: str, now: str, *, flow: Pointer = KEEP
) -> Invite | None:
    """Take a place on an open invite: the role, the name and the count in one transaction.

    Someone who already joined with this invite gets it back without taking a second place.
    Returns the invite, or None if it is no longer open (full, revoked or expired meanwhile), or
    if an official ended this person's cadre role in that desa: an invite never undoes that
    (only a new grant does, `/peran` or `jaga grant`). The person's active-flow pointer (unless
    KEEP) is set in the same transaction, whichever the outcome.
    """
    async with db.write() as conn:
        if flow is not KEEP:
            await conn.execute(*flows.pointer(telegram_id, flow))
        cursor = await conn.execute(
            "SELECT 1 FROM cadre_invites i JOIN roles r ON r.region_code = i.desa_code "
            "WHERE i.code = ? AND r.telegram_id = ? AND r.role = 'cadre' "
            "AND r.revoked_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM roles a "
            "WHERE a.telegram_id = r.telegram_id AND a.role = 'cadre' "
            "AND a.region_code = r.region_code AND a.revoked_at IS NULL)",
            (code, telegram_id),
        )
        if await cursor.fetchone() is not None:
            return None
        cursor = await conn.execute(
            "SELECT u.telegram_id FROM cadre_invite_uses u JOIN cadre_invites i "
            "ON i.id = u.invite_id WHERE i.code = ? AND u.telegram_id = ?",
            (code, telegram_id),
        )
        if await cursor.fetchone() is None:
            cursor = await conn.execute(
                "UPDATE cadre_invites SET uses = uses + 1, used_by = ?, used_at = CASE "
                "WHEN uses + 1 >= max_uses THEN CAST(? AS TEXT) END WHERE code = ? "
                "AND used_at IS NULL AND uses < max_uses AND revoked_at IS NULL "
                "AND expires_at > ?",
                (telegram_id, now_text(), code, now),
            )
            if cursor.rowcount == 0:
                return None
        cursor = await conn.execute("SELECT * FROM cadre_invites WHERE code = ?", (code,))
        invite = _invite(await cursor.fetchone())
        await conn.execute(
            "INSERT INTO cadre_invite_uses(invite_id, telegram_id) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING",
            (invite.id, telegram_id),
        )
        await _make_cadre(conn, telegram_id, invite.desa_code, name, str(invite.created_by))
        await conn.execute(
            "UPDATE cadres SET invite_id = ? WHERE telegram_id = ? AND desa_code = ?",
            (invite.id, telegram_id, invite.desa_code),
        )
        await conn.execute(
            "UPDATE users SET pending_invite = NULL, pending_cadre_name = NULL "
            "WHERE telegram_id = ?",
            (telegram_id,),
        )
        return invite


async def _make_cadre(
    conn: Conn, telegram_id: int, desa_code: str, name: str, granted_by: str
) -> bool:
    """The cadre role (as storage/roles.py grant() writes it) and the name, in the caller's
    transaction; True when the role is new."""
    cursor = await conn.execute(
        "INSERT INTO roles(telegram_id, role, region_code, granted_by) "
        "VALUES (?, 'cadre', ?, ?) ON CONFLICT DO NOTHING",
        (telegram_id, desa_code, granted_by),
    )
    added = cursor.rowcount > 0
    await conn.execute(
        "INSERT INTO cadres(telegram_id, desa_code, name) VALUES (?, ?, ?) "
        "ON CONFLICT(telegram_id, desa_code) DO UPDATE SET name = excluded.name",
        (telegram_id, desa_code, name),
    )
    return added


async def joined_with(db: Database, invite_id: int, telegram_id: int) -> bool:
    """Whether this person already joined with this invite."""
    value = await db.fetchval(
        "SELECT 1 FROM cadre_invite_uses WHERE invite_id = ? AND telegram_id = ?",
        (invite_id, telegram_id),
    )
    return value is not None


async def set_pending_invite(
    db: Database,
    telegram_id: int,
    code: str | None,
    name: str | None = None,
    *,
    flow: Pointer = KEEP,
) -> None:
    """Remember (or forget) the invite a person is joining with and the name shown to them,
    with their active-flow pointer (unless KEEP) in the same commit."""
    pending = (
        "INSERT INTO users(telegram_id, pending_invite, pending_cadre_name) VALUES (?, ?, ?) "
        "ON CONFLICT(telegram_id) DO UPDATE SET pending_invite = excluded.pending_invite, "
        "pending_cadre_name = excluded.pending_cadre_name",
        (telegram_id, code, name),
    )
    await flows.commit_step(db, telegram_id, flow, [pending])


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


async def desa_counts_since(db: Database, desa_code: str, since: str) -> dict[str, int]:
    """In a desa: submissions since `since`, open fix requests, approvals since `since`."""
    row = await db.fetchone(
        "SELECT "
        " SUM(CASE WHEN status != 'draft' AND submitted_at >= ? THEN 1 ELSE 0 END) AS new,"
        " SUM(CASE WHEN status = 'perlu_perbaikan' THEN 1 ELSE 0 END) AS fixing,"
        " SUM(CASE WHEN status IN ('disetujui', 'terdaftar') AND reviewed_at >= ? "
        "  THEN 1 ELSE 0 END) AS approved "
        "FROM registrations WHERE desa_code = ?",
        (since, since, desa_code),
    )
    assert row is not None
    return {"new": row["new"] or 0, "fixing": row["fixing"] or 0, "approved": row["approved"] or 0}


@dataclass(frozen=True)
class CadreCounts:
    """A cadre of a desa, with their name if known and their submissions by status."""

    telegram_id: int
    name: str | None
    desa_code: str
    counts: dict[Status, int] = field(default_factory=dict)  # only statuses they have


async def counts_per_cadre(db: Database, region_prefix: str) -> list[CadreCounts]:
    """For the review report: each cadre in a region with their submissions by status.

    Every holder of the cadre role counts, however it was granted (invite, `jaga grant`, an
    import, /peran); the name is the one confirmed for the desa, else the person's display name
    (None when neither is known yet).
    """
    rows = await db.fetchall(
        "SELECT ro.telegram_id, ro.region_code AS desa_code, "
        " COALESCE(c.name, u.display_name) AS name, r.status, COUNT(r.id) AS n "
        "FROM roles ro "
        "LEFT JOIN cadres c ON c.telegram_id = ro.telegram_id AND c.desa_code = ro.region_code "
        "LEFT JOIN users u ON u.telegram_id = ro.telegram_id "
        "LEFT JOIN registrations r ON r.operator_id = ro.telegram_id "
        " AND r.desa_code = ro.region_code AND r.status != 'draft' AND r.for_self = 0 "
        "WHERE ro.role = 'cadre' AND ro.revoked_at IS NULL "
        " AND (ro.region_code = ? OR ro.region_code LIKE ? || '.%') "
        "GROUP BY ro.telegram_id, ro.region_code, c.name, u.display_name, r.status "
        "ORDER BY ro.region_code, name NULLS FIRST, ro.telegram_id",
        (region_prefix, region_prefix),
    )
    out: dict[tuple[int, str], CadreCounts] = {}
    for r in rows:
        entry = out.setdefault(
            (r["telegram_id"], r["desa_code"]),
            CadreCounts(int(r["telegram_id"]), r["name"], str(r["desa_code"])),
        )
        if r["status"] is not None:
            entry.counts[Status(r["status"])] = int(r["n"])
    return list(out.values())


class Registered(BaseModel):
    """A worker a cadre registered: their submission's id, reference, name, state and desa."""

    model_config = ConfigDict(frozen=True)

    id: int
    ref: str | None
    name: str | None
    status: Status
    desa_code: str | None


async def registered_by(db: Database, cadre_id: int) -> list[Registered]:
    """Every worker this cadre registered, in any desa: those to fix first, then newest first."""
    rows = await db.fetchall(
        "SELECT id, ref, name, status, desa_code FROM registrations WHERE operator_id = ? "
        "AND for_self = 0 AND status != 'draft' "
        "ORDER BY status != 'perlu_perbaikan', COALESCE(updated_at, submitted_at) DESC, id DESC",
        (cadre_id,),
    )
    return [Registered.model_validate(dict(r)) for r in rows]


# --- cadres imported from a file ------------------------------------------------------------


@dataclass(frozen=True)
class ImportedCadre:
    """One row of `jaga import cadres`: a Telegram id or a phone's keyed hash, a name, a desa."""

    line: int
    telegram_id: int | None
    phone_hash: str | None
    name: str
    desa_code: str


async def import_cadres(db: Database, rows: list[ImportedCadre]) -> tuple[int, int]:
    """Grant every row in one transaction; returns (roles granted now, phone rows waiting)."""
    granted = waiting = 0
    async with db.write() as conn:
        for row in rows:
            if row.telegram_id is not None:
                granted += await _make_cadre(conn, row.telegram_id, row.desa_code, row.name, "cli")
                continue
            waiting += 1
            await conn.execute(
                "INSERT INTO cadre_pending(phone_hash, desa_code, name) VALUES (?, ?, ?) "
                "ON CONFLICT(phone_hash, desa_code) DO UPDATE SET name = excluded.name",
                (row.phone_hash, row.desa_code, row.name),
            )
    return granted, waiting


async def any_pending(db: Database) -> bool:
    """Whether any imported cadre still waits to share their phone number."""
    value = await db.fetchval("SELECT 1 FROM cadre_pending WHERE claimed_at IS NULL LIMIT 1")
    return value is not None


async def claim_pending(db: Database, phone_hash: str, telegram_id: int) -> list[tuple[str, str]]:
    """Grant the cadre roles waiting for this phone to this person; the (desa, name) pairs."""
    async with db.write() as conn:
        cursor = await conn.execute(
            "SELECT desa_code, name FROM cadre_pending "
            "WHERE phone_hash = ? AND claimed_at IS NULL ORDER BY desa_code",
            (phone_hash,),
        )
        found = [(str(r["desa_code"]), str(r["name"])) for r in await cursor.fetchall()]
        for desa_code, name in found:
            await _make_cadre(conn, telegram_id, desa_code, name, "import")
        await conn.execute(
            "UPDATE cadre_pending SET claimed_by = ?, claimed_at = ? "
            "WHERE phone_hash = ? AND claimed_at IS NULL",
            (telegram_id, now_text(), phone_hash),
        )
    return found


class ActiveCadre(NamedTuple):
    """A cadre holding the role now: who, for which desa, and their confirmed name."""

    telegram_id: int
    desa_code: str
    name: str | None


async def active_cadres(db: Database) -> list[ActiveCadre]:
    """Every cadre holding the role now, with their desa and name (weekly summaries)."""
    rows = await db.fetchall(
        "SELECT ro.telegram_id, ro.region_code AS desa_code, c.name FROM roles ro "
        "LEFT JOIN cadres c ON c.telegram_id = ro.telegram_id AND c.desa_code = ro.region_code "
        "WHERE ro.role = 'cadre' AND ro.revoked_at IS NULL ORDER BY ro.telegram_id"
    )
    return [ActiveCadre(int(r["telegram_id"]), str(r["desa_code"]), r["name"]) for r in rows]
