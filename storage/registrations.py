"""Registrations: drafts answered step by step, then submissions for the district to review."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage import audit
from storage.db import Database

# Columns a flow may set on a registration; anything else is refused.
WRITABLE = frozenset(
    {
        "step", "editing", "scratch", "for_self", "worker_telegram_id", "consent_version",
        "consent_at", "nik_enc", "nik_hash", "nik_masked", "name", "birth_date", "sex",
        "mother_name", "phone_enc", "phone_hash", "kabupaten_code", "kecamatan_code",
        "desa_code", "occupation", "occupation_other", "income", "income_base", "programs",
        "monthly_contribution", "table_version", "pay_period_months", "payer", "sumber_iuran",
        "heir_name", "heir_relation", "flags", "reminded_at",
    }
)  # fmt: skip

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ','now')"


async def get(db: Database, registration_id: int) -> dict[str, Any] | None:
    """One registration by id."""
    row = await db.fetchone("SELECT * FROM registrations WHERE id = ?", (registration_id,))
    return None if row is None else dict(row)


async def get_by_ref(db: Database, ref: str) -> dict[str, Any] | None:
    """One registration by its reference number."""
    row = await db.fetchone("SELECT * FROM registrations WHERE ref = ?", (ref,))
    return None if row is None else dict(row)


async def draft_of(db: Database, operator_id: int) -> dict[str, Any] | None:
    """The draft a person is filling in, if any."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE operator_id = ? AND status = 'draft'", (operator_id,)
    )
    return None if row is None else dict(row)


async def active_of(db: Database, telegram_id: int) -> dict[str, Any] | None:
    """The registration a person is answering questions for: their draft, or one being fixed."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE (status = 'draft' AND operator_id = :id) "
        "OR (status = 'perlu_perbaikan' AND step IS NOT NULL "
        "    AND (operator_id = :id OR worker_telegram_id = :id)) "
        "ORDER BY updated_at DESC, id DESC LIMIT 1",
        {"id": telegram_id},
    )
    return None if row is None else dict(row)


async def create_draft(db: Database, operator_id: int, step: str) -> int:
    """Start a new draft (replacing an unsent one) waiting at `step`; returns its id."""
    async with db.write() as conn:
        await conn.execute(
            "DELETE FROM registrations WHERE operator_id = ? AND status = 'draft'", (operator_id,)
        )
        cursor = await conn.execute(
            "INSERT INTO registrations(operator_id, step) VALUES (?, ?)", (operator_id, step)
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


async def update(db: Database, registration_id: int, **fields: Any) -> None:
    """Store answers (and the next step) on a registration, committed before returning."""
    unknown = set(fields) - WRITABLE
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    if not fields:
        return
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    await db.execute(
        f"UPDATE registrations SET {assignments}, updated_at = {_NOW} WHERE id = :id",
        {**fields, "id": registration_id},
    )


async def delete_draft(db: Database, operator_id: int) -> int:
    """Discard a person's unsent draft; returns how many rows went."""
    return await db.execute(
        "DELETE FROM registrations WHERE operator_id = ? AND status = 'draft'", (operator_id,)
    )


async def live_by_nik_hash(db: Database, nik_hash: str) -> dict[str, Any] | None:
    """The submitted (not rejected) registration of a NIK, if any."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE nik_hash = ? AND status IN "
        "('diajukan', 'perlu_perbaikan', 'disetujui', 'terdaftar')",
        (nik_hash,),
    )
    return None if row is None else dict(row)


async def phone_in_use(db: Database, phone_hash: str, *, other_than: int) -> bool:
    """Whether another submitted registration has this phone number."""
    row = await db.fetchone(
        "SELECT 1 FROM registrations WHERE phone_hash = ? AND id != ? AND status != 'draft' "
        "LIMIT 1",
        (phone_hash, other_than),
    )
    return row is not None


class DuplicateNik(Exception):
    """The NIK was submitted by someone else in the meantime."""


async def submit(
    db: Database, registration_id: int, ref: str, flags: str, actor: str = "system"
) -> None:
    """Turn a draft into a submission with its reference number, logged, in one transaction."""
    try:
        async with db.write() as conn:
            cursor = await conn.execute(
                "UPDATE registrations SET status = 'diajukan', ref = ?, flags = ?, step = NULL, "
                f"editing = 0, scratch = '{{}}', submitted_at = {_NOW}, updated_at = {_NOW} "
                "WHERE id = ? AND status = 'draft'",
                (ref, flags, registration_id),
            )
            if cursor.rowcount:
                await audit.log_transition(conn, registration_id, actor, "draft", "diajukan")
    except sqlite3.IntegrityError as exc:
        if "nik_hash" in str(exc):
            raise DuplicateNik from None
        raise


async def resubmit(db: Database, registration_id: int, flags: str, actor: str) -> bool:
    """Send a corrected registration back to the queue, closing its fix request; False if stale."""
    from storage import review  # the review desk owns fix requests

    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE registrations SET status = 'diajukan', flags = ?, step = NULL, editing = 0, "
            f"scratch = '{{}}', submitted_at = {_NOW}, updated_at = {_NOW} "
            "WHERE id = ? AND status = 'perlu_perbaikan'",
            (flags, registration_id),
        )
        if not cursor.rowcount:
            return False
        await review.close_fix_request(conn, registration_id)
        await audit.log_transition(conn, registration_id, actor, "perlu_perbaikan", "diajukan")
    return True


async def by_operator(db: Database, operator_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """Submissions a person made (themselves or for others), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM registrations WHERE operator_id = ? AND status != 'draft' "
        "ORDER BY id DESC LIMIT ?",
        (operator_id, limit),
    )
    return [dict(r) for r in rows]


async def idle_drafts(db: Database, idle_since: str) -> list[dict[str, Any]]:
    """Drafts untouched since `idle_since` (ISO) and not reminded since."""
    rows = await db.fetchall(
        "SELECT id, operator_id, updated_at FROM registrations WHERE status = 'draft' "
        "AND updated_at < ? AND (reminded_at IS NULL OR reminded_at < updated_at)",
        (idle_since,),
    )
    return [dict(r) for r in rows]


async def mark_reminded(db: Database, registration_id: int) -> None:
    """Record that the idle reminder went out (updated_at is left as it was)."""
    await db.execute(
        f"UPDATE registrations SET reminded_at = {_NOW} WHERE id = ?", (registration_id,)
    )
