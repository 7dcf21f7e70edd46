"""Reminders: who is due one, and a record of each reminder queued so none is sent twice."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage import outbox
from storage.db import Database


class Kind(StrEnum):
    """What a reminder is about."""

    PROTECTION = "protection"  # a member's protection ends (or ended)
    FIX = "fix"  # a registration waits to be fixed
    DRAFT = "draft"  # a draft was left unfinished
    CADRE_SUMMARY = "cadre_summary"  # a cadre's weekly summary


KINDS = tuple(k.value for k in Kind)


class Sent(BaseModel):
    """One row of `reminders_sent`: a reminder queued once for its (kind, subject, period)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    kind: Kind
    subject: str  # a NIK hash, registration id or cadre id + desa
    period: str  # what makes it due again (week, fix request …)
    recipient_id: int
    outbox_id: int | None = None
    created_at: str = ""


async def queue_once(
    db: Database,
    *,
    kind: str,
    subject: str,
    period: str,
    recipient_id: int,
    text: str,
    buttons: Sequence[Sequence[tuple[str, str]]] | None = None,
    at: str,
    not_since: str | None = None,
) -> int | None:
    """Queue a reminder unless this (kind, subject, period) was queued already.

    `at` (UTC ISO) is the scan's time, recorded as the reminder's. With `not_since`, also skip
    it when the subject had a reminder of this kind since then (at most one a week). The record
    and the outbox row are written in one transaction, so a crash never leaves one without the
    other. Returns the outbox row id, or None.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown reminder kind {kind!r}")
    async with db.write() as conn:
        if not_since is not None:
            cursor = await conn.execute(
                "SELECT 1 FROM reminders_sent WHERE kind = ? AND subject = ? AND created_at > ? "
                "LIMIT 1",
                (kind, subject, not_since),
            )
            if await cursor.fetchone() is not None:
                return None
        cursor = await conn.execute(
            "INSERT INTO reminders_sent(kind, subject, period, recipient_id, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind, subject, period) DO NOTHING RETURNING id",
            (kind, subject, period, recipient_id, at),
        )
        record = await cursor.fetchone()
        if record is None:
            return None
        record_id = record[0]
        outbox_id = await outbox.enqueue(conn, "reminder", recipient_id, text, buttons)
        await conn.execute(
            "UPDATE reminders_sent SET outbox_id = ? WHERE id = ?", (outbox_id, record_id)
        )
        return outbox_id


async def sent(db: Database, kind: str | None = None) -> list[Sent]:
    """Reminders queued so far (of one kind), oldest first."""
    sql = "SELECT * FROM reminders_sent"
    params: list[Any] = []
    if kind is not None:
        sql += " WHERE kind = ?"
        params.append(kind)
    rows = await db.fetchall(sql + " ORDER BY id", params)
    return [Sent.model_validate(dict(r)) for r in rows]


class FixDue(BaseModel):
    """A registration sent back for fixing, with the id of its open fix request."""

    model_config = ConfigDict(frozen=True)

    id: int
    ref: str | None
    name: str | None
    operator_id: int
    for_self: bool | None
    fix_id: int


async def fixes_due(db: Database, requested_before: str) -> list[FixDue]:
    """Registrations sent back for fixing before `requested_before` and still not fixed."""
    rows = await db.fetchall(
        "SELECT r.id, r.ref, r.name, r.operator_id, r.for_self, f.id AS fix_id "
        "FROM fix_requests f JOIN registrations r ON r.id = f.registration_id "
        "WHERE f.done_at IS NULL AND f.requested_at <= ? AND r.status = 'perlu_perbaikan' "
        "ORDER BY f.id",
        (requested_before,),
    )
    return [FixDue.model_validate(dict(r)) for r in rows]


class MemberDue(BaseModel):
    """An active member whose protection ends soon, whom to tell, and what their registration
    here knows (nothing when they registered elsewhere)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    nik_hash: str
    nik_masked: str
    programs: str
    protected_until: str  # ISO date
    recipient_id: int
    for_cadre: bool = False  # the recipient is the cadre who registered them
    name: str | None = None
    income: int | None = None
    occupation: str | None = None
    operator_id: int | None = None
    for_self: bool | None = None
    payer: str | None = None
    sumber_iuran: str | None = None
    funding_program_id: int | None = None
    sponsor: str | None = None
    pay_period_months: int | None = None


async def members_due(db: Database, ends_by: str, ended_after: str) -> list[MemberDue]:
    """Active members whose protection ends by `ends_by` and did not end before `ended_after`.

    Each comes with whom to tell: the worker's own account from the registration, else the
    account first linked to the NIK by a proof, else the cadre who registered them
    (`recipient_id`, with `for_cadre` = 1), and what the registration knows about income and
    occupation. The worker's own account always outranks a link.
    """
    rows = await db.fetchall(
        "SELECT m.nik_hash, m.nik_masked, m.programs, m.protected_until, "
        " r.name, r.income, r.occupation, r.operator_id, r.for_self, "
        " r.payer, r.sumber_iuran, r.funding_program_id, r.sponsor, r.pay_period_months, "
        " COALESCE(r.worker_telegram_id, l.telegram_id, r.operator_id) AS recipient_id, "
        " (l.telegram_id IS NULL AND r.worker_telegram_id IS NULL) AS for_cadre "
        "FROM members m "
        "LEFT JOIN member_links l ON l.telegram_id = (SELECT telegram_id FROM member_links "
        "  WHERE nik_hash = m.nik_hash ORDER BY linked_at, telegram_id LIMIT 1) "
        "LEFT JOIN registrations r ON r.id = (SELECT id FROM registrations "
        "  WHERE nik_hash = m.nik_hash AND status != 'draft' "
        "  ORDER BY (status = 'ditolak'), id DESC LIMIT 1) "
        "WHERE m.status = 'aktif' AND m.protected_until <= ? AND m.protected_until >= ? "
        "ORDER BY m.protected_until, m.nik_hash",
        (ends_by, ended_after),
    )
    return [MemberDue.model_validate(dict(r)) for r in rows if r["recipient_id"] is not None]
