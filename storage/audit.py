"""The audit trail of registration status changes, written in the transaction of the change."""

from __future__ import annotations

from typing import NamedTuple

from lokal import mask_pii

from storage.db import Conn, Database


async def log_transition(
    conn: Conn,
    registration_id: int,
    actor: str,
    from_status: str | None,
    to_status: str,
    reason: str | None = None,
) -> None:
    """Append one status change; call inside the `db.write()` block that makes the change."""
    if reason:  # free text from a reviewer may quote a NIK or phone: never keep them in clear
        reason = mask_pii(reason, mode="partial", types=("NIK", "KK", "PHONE")).text
    await conn.execute(
        "INSERT INTO registration_events(registration_id, actor, from_status, to_status, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        (registration_id, actor, from_status, to_status, reason),
    )


class Event(NamedTuple):
    """One status change of a registration: who, from which status to which, why, when."""

    actor: str  # a Telegram id, 'cli', 'import' or 'system'
    from_status: str | None
    to_status: str
    reason: str | None
    at: str


async def history(db: Database, registration_id: int) -> list[Event]:
    """A registration's status changes, oldest first."""
    rows = await db.fetchall(
        "SELECT actor, from_status, to_status, reason, at FROM registration_events "
        "WHERE registration_id = ? ORDER BY id",
        (registration_id,),
    )
    return [
        Event(str(r["actor"]), r["from_status"], r["to_status"], r["reason"], r["at"])
        for r in rows
    ]
