"""Data-subject rights and retention (UU 27/2022): what a person sees, corrects and deletes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage import audit, flows
from storage.db import Database, now_text
from storage.flows import KEEP, Pointer
from storage.registrations import Registration
from storage.review import InTransaction

# Approved enrolments: the district pays their contributions, so part of the row must stay.
KEPT_STATUSES = ("disetujui", "terdaftar")

# What an approved enrolment keeps after consent is withdrawn: what the district needs to pay
# and account for the contributions (who the member is, where, which program, how much, from
# which fund) and to answer BPJS about the membership.
KEPT_FIELDS = (
    "ref", "status", "nik_enc", "nik_hash", "nik_masked", "name", "birth_date", "sex",
    "kabupaten_code", "kecamatan_code", "desa_code", "occupation", "income_base", "programs",
    "monthly_contribution", "table_version", "pay_period_months", "payer", "sumber_iuran", "kpj",
    "submitted_at", "reviewed_by", "reviewed_at", "funding_program_id", "sponsor", "reason_code",
    "flags", "for_self", "consent_version", "consent_at",
)  # fmt: skip

# What it loses: contact, family, exact income, free text and the link to Telegram accounts.
ANONYMISED_FIELDS = (
    "phone_enc", "phone_hash", "mother_name", "heir_name", "heir_relation", "income",
    "occupation_other", "worker_telegram_id", "reason", "reminded_at",
)  # fmt: skip


async def registrations_of(db: Database, telegram_id: int) -> list[Registration]:
    """Everything registered about this person as a worker (drafts included), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM registrations WHERE worker_telegram_id = ? "
        "OR (operator_id = ? AND for_self = 1) "
        "OR (operator_id = ? AND status = 'draft' AND (for_self IS NULL OR for_self != 0)) "
        "ORDER BY id DESC",
        (telegram_id, telegram_id, telegram_id),
    )
    return [Registration.from_row(r) for r in rows]


async def submitted_for_nik(db: Database, nik_hash: str) -> list[Registration]:
    """The submitted registrations of the worker with this NIK (no drafts), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM registrations WHERE nik_hash = ? AND status != 'draft' ORDER BY id DESC",
        (nik_hash,),
    )
    return [Registration.from_row(r) for r in rows]


async def registered_for_others(db: Database, operator_id: int) -> bool:
    """Whether this person submitted registrations for other people (a cadre)."""
    row = await db.fetchone(
        "SELECT 1 FROM registrations WHERE operator_id = ? AND for_self = 0 LIMIT 1",
        (operator_id,),
    )
    return row is not None


async def registered_by(
    db: Database, operator_id: int, nik_hash: str, birth_date: str
) -> Registration | None:
    """The registration this cadre made for the worker with this NIK and birth date, if any."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE operator_id = ? AND for_self = 0 AND nik_hash = ? "
        "AND birth_date = ? ORDER BY id DESC LIMIT 1",
        (operator_id, nik_hash, birth_date),
    )
    return None if row is None else Registration.from_row(row)


# --- the /data_saya session ------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """Where a person is in /data_saya."""

    telegram_id: int
    step: str | None
    nik_hash: str | None
    verified_id: int | None
    correction_id: int | None
    attempts: int


async def session(db: Database, telegram_id: int, *, attempts_window: str) -> Session:
    """The person's session; failed attempts older than `attempts_window` (ISO) are forgotten."""
    row = await db.fetchone("SELECT * FROM privacy_sessions WHERE telegram_id = ?", (telegram_id,))
    if row is None:
        return Session(telegram_id, None, None, None, None, 0)
    attempts = row["attempts"]
    if row["attempts_since"] is None or row["attempts_since"] < attempts_window:
        attempts = 0
    return Session(
        telegram_id,
        row["step"],
        row["nik_hash"],
        row["verified_id"],
        row["correction_id"],
        attempts,
    )


_SESSION_FIELDS = frozenset({"step", "nik_hash", "verified_id", "correction_id"})


async def set_session(
    db: Database,
    telegram_id: int,
    *,
    flow: Pointer = KEEP,
    leaving: str | None = None,
    **fields: Any,
) -> None:
    """Store session fields with the person's active-flow pointer (unless KEEP), or leaving the
    flow `leaving` if it is still the active one, in one commit before the next question."""
    unknown = set(fields) - _SESSION_FIELDS
    if unknown:
        raise ValueError(f"not session fields: {sorted(unknown)}")
    names = list(fields)
    columns = ", ".join(["telegram_id", *names])
    marks = ", ".join("?" for _ in range(len(names) + 1))
    updates = ", ".join([f"{n} = excluded.{n}" for n in names] + ["updated_at = ?"])
    state = (
        f"INSERT INTO privacy_sessions({columns}) VALUES ({marks}) "
        f"ON CONFLICT(telegram_id) DO UPDATE SET {updates}",
        (telegram_id, *fields.values(), now_text()),
    )
    left = [] if leaving is None else [flows.leave(telegram_id, leaving)]
    await flows.commit_step(db, telegram_id, flow, [state, *left])


async def failed_attempt(
    db: Database, telegram_id: int, *, attempts_window: str, flow: Pointer = KEEP
) -> int:
    """Count a failed NIK + birth date proof, with the person's active-flow pointer (unless
    KEEP) in the same transaction; returns the failures within the window."""
    now = now_text()
    async with db.write() as conn:
        if flow is not KEEP:
            await conn.execute(*flows.pointer(telegram_id, flow))
        await conn.execute(
            "INSERT INTO privacy_sessions(telegram_id) VALUES (?) ON CONFLICT DO NOTHING",
            (telegram_id,),
        )
        await conn.execute(
            "UPDATE privacy_sessions SET "
            "attempts = CASE WHEN attempts_since IS NULL OR attempts_since < ? THEN 1 "
            "ELSE attempts + 1 END, "
            "attempts_since = CASE WHEN attempts_since IS NULL OR attempts_since < ? "
            "THEN CAST(? AS TEXT) ELSE attempts_since END, "
            "step = NULL, nik_hash = NULL, updated_at = ? WHERE telegram_id = ?",
            (attempts_window, attempts_window, now, now, telegram_id),
        )
        cursor = await conn.execute(
            "SELECT attempts FROM privacy_sessions WHERE telegram_id = ?", (telegram_id,)
        )
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


# --- corrections -----------------------------------------------------------------------------


async def request_correction(
    db: Database,
    registration: Registration,
    requested_by: int,
    text_enc: bytes,
    *,
    on_behalf: bool,
    then: InTransaction | None = None,
    flow: Pointer = KEEP,
) -> int:
    """Store a correction request for the district's reviewers and end the session step.

    `then` runs in the same transaction (to queue the reviewers' notices), and so does the
    requester's active-flow pointer (unless KEEP).
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO privacy_requests(kind, registration_id, ref, kabupaten_code, "
            "requested_by, on_behalf, text_enc, outcome) "
            "VALUES ('correction', ?, ?, ?, ?, ?, ?, 'open') RETURNING id",
            (
                registration.id,
                registration.ref,
                registration.kabupaten_code,
                requested_by,
                int(on_behalf),
                text_enc,
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        await conn.execute(
            "UPDATE privacy_sessions SET step = NULL, correction_id = NULL, updated_at = ? "
            "WHERE telegram_id = ?",
            (now_text(), requested_by),
        )
        if flow is not KEEP:
            await conn.execute(*flows.pointer(requested_by, flow))
        if then is not None:
            await then(conn)
        return int(row[0])


class Outcome(StrEnum):
    """What became of a data-subject request."""

    OPEN = "open"  # a correction waiting for the district
    DONE = "done"  # a correction handled
    DELETED = "deleted"  # a withdrawal: the registration was deleted
    ANONYMISED = "anonymised"  # a withdrawal: an approved enrolment kept without contact data


class PrivacyRequest(BaseModel):
    """One row of `privacy_requests`: a correction or a withdrawal of consent."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    kind: str  # 'correction' or 'withdrawal'
    registration_id: int | None = None  # may no longer exist after a deletion
    ref: str | None = None
    kabupaten_code: str | None = None  # whose reviewers handle a correction
    requested_by: int  # the worker's or their cadre's Telegram id
    on_behalf: bool = False  # asked by the cadre
    text_enc: bytes | None = None  # a correction: what is wrong, encrypted
    outcome: Outcome
    created_at: str = ""
    resolved_at: str | None = None
    resolved_by: int | None = None


async def open_corrections(db: Database, region_prefix: str) -> list[PrivacyRequest]:
    """Open correction requests for registrations in or under a region, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM privacy_requests WHERE kind = 'correction' AND outcome = 'open' "
        "AND (kabupaten_code = ? OR kabupaten_code LIKE ? || '.%' OR CAST(? AS TEXT) = '') "
        "ORDER BY id",
        (region_prefix, region_prefix, region_prefix),
    )
    return [PrivacyRequest.model_validate(dict(r)) for r in rows]


async def resolve_correction(
    db: Database, request_id: int, resolved_by: int, *, then: InTransaction | None = None
) -> bool:
    """Mark a correction request as handled; False if it was not open.

    `then` runs in the same transaction, only when the request was open (to queue the notice to
    whoever asked).
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE privacy_requests SET outcome = 'done', resolved_at = ?, "
            "resolved_by = ? WHERE id = ? AND kind = 'correction' AND outcome = 'open'",
            (now_text(), resolved_by, request_id),
        )
        changed = cursor.rowcount > 0
        if changed and then is not None:
            await then(conn)
    return changed


# --- withdrawal and deletion -----------------------------------------------------------------


@dataclass(frozen=True)
class Withdrawal:
    """What happened to a registration when consent was withdrawn."""

    outcome: str  # 'deleted' or 'anonymised'
    ref: str | None
    status: str
    at: str


async def withdraw(
    db: Database,
    registration_id: int,
    requested_by: int,
    *,
    on_behalf: bool,
    draft_flow: str | None = None,
) -> Withdrawal | None:
    """Withdraw consent: delete the registration, or anonymise an approved one; None if gone.

    Runs in one transaction: the status is read under the write lock, the withdrawal recorded, the
    audit trail told (for kept rows), a cadre's verified access ended, and, when a draft goes,
    the requester leaves `draft_flow` if it is still their active one (the draft it answered).
    """
    now = now_text()
    async with db.write() as conn:
        cursor = await conn.execute(
            "SELECT id, ref, status, kabupaten_code FROM registrations WHERE id = ?",
            (registration_id,),
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        status, ref = row["status"], row["ref"]
        if status in KEPT_STATUSES:
            outcome = "anonymised"
            cleared = ", ".join(f"{name} = NULL" for name in ANONYMISED_FIELDS)
            # operator_id 0: no Telegram account is linked to the record any more. The consent
            # record stays: it proves the processing before the withdrawal was lawful.
            await conn.execute(
                f"UPDATE registrations SET {cleared}, operator_id = 0, scratch = '{{}}', "
                "updated_at = ? WHERE id = ?",
                (now, registration_id),
            )
            await audit.log_transition(
                conn, registration_id, str(requested_by), status, status, "consent_withdrawn"
            )
        else:
            outcome = "deleted"
            await conn.execute("DELETE FROM registrations WHERE id = ?", (registration_id,))
        await conn.execute(
            "INSERT INTO privacy_requests(kind, registration_id, ref, kabupaten_code, "
            "requested_by, on_behalf, outcome, resolved_at) "
            "VALUES ('withdrawal', ?, ?, ?, ?, ?, ?, ?)",
            (
                registration_id,
                ref,
                row["kabupaten_code"],
                requested_by,
                int(on_behalf),
                outcome,
                now,
            ),
        )
        await conn.execute(
            "UPDATE privacy_sessions SET verified_id = NULL, correction_id = NULL, step = NULL, "
            "updated_at = ? WHERE verified_id = ? OR correction_id = ?",
            (now, registration_id, registration_id),
        )
        # Open corrections of a deleted registration have nothing left to correct.
        if outcome == "deleted":
            await conn.execute(
                "UPDATE privacy_requests SET outcome = 'done', resolved_at = ? "
                "WHERE kind = 'correction' AND outcome = 'open' AND registration_id = ?",
                (now, registration_id),
            )
        if status == "draft" and draft_flow is not None:
            await conn.execute(*flows.leave(requested_by, draft_flow))
    return Withdrawal(outcome, ref, status, now)


async def withdrawn_by(db: Database, registration_id: int, requested_by: int) -> str | None:
    """The outcome if this person already withdrew consent for this registration, else None."""
    value = await db.fetchval(
        "SELECT outcome FROM privacy_requests WHERE kind = 'withdrawal' AND registration_id = ? "
        "AND requested_by = ? ORDER BY id DESC LIMIT 1",
        (registration_id, requested_by),
    )
    return None if value is None else str(value)


async def purge_expired(
    db: Database, *, rejected_before: str, drafts_before: str
) -> tuple[int, int]:
    """Delete rejections and untouched drafts older than the cut-offs (ISO); returns the counts."""
    async with db.write() as conn:
        rejected = await conn.execute(
            "DELETE FROM registrations WHERE status = 'ditolak' "
            "AND COALESCE(reviewed_at, updated_at) < ?",
            (rejected_before,),
        )
        drafts = await conn.execute(
            "DELETE FROM registrations WHERE status = 'draft' AND updated_at < ?",
            (drafts_before,),
        )
        return rejected.rowcount, drafts.rowcount
