"""Registrations: drafts answered step by step, then submissions for the district to review."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage import audit, flows
from storage.db import Change, Conn, Database, IntegrityError, now_text
from storage.flows import KEEP, Pointer


class Status(StrEnum):
    """Where a registration is: filled in, reviewed, then registered at BPJS."""

    DRAFT = "draft"  # being filled in
    SUBMITTED = "diajukan"  # waiting for the district's review
    NEEDS_FIX = "perlu_perbaikan"  # sent back for a correction
    APPROVED = "disetujui"  # approved, waiting for the collective registration at BPJS
    REJECTED = "ditolak"
    REGISTERED = "terdaftar"  # a member: BPJS gave the KPJ number


# A NIK has at most one registration in these states (the unique index of migration 0002).
LIVE = frozenset({Status.SUBMITTED, Status.NEEDS_FIX, Status.APPROVED, Status.REGISTERED})


class Registration(BaseModel):
    """One row of `registrations`: a draft's answers so far, or a submission."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    ref: str | None = None
    status: Status = Status.DRAFT
    step: str | None = None
    editing: bool = False
    scratch: str = "{}"
    operator_id: int
    for_self: bool | None = None
    worker_telegram_id: int | None = None
    consent_version: str | None = None
    consent_at: str | None = None
    nik_enc: bytes | None = None
    nik_hash: str | None = None
    nik_masked: str | None = None
    name: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    mother_name: str | None = None
    phone_enc: bytes | None = None
    phone_hash: str | None = None
    kabupaten_code: str | None = None
    kecamatan_code: str | None = None
    desa_code: str | None = None
    occupation: str | None = None
    occupation_other: str | None = None
    income: int | None = None
    income_base: int | None = None
    programs: str | None = None
    monthly_contribution: int | None = None
    table_version: str | None = None
    pay_period_months: int | None = None
    payer: str | None = None
    sumber_iuran: str | None = None
    heir_name: str | None = None
    heir_relation: str | None = None
    flags: str = "[]"
    submitted_at: str | None = None
    reviewed_by: int | None = None
    reviewed_at: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    kpj: str | None = None
    reminded_at: str | None = None
    funding_program_id: int | None = None
    sponsor: str | None = None
    locked_by: int | None = None
    locked_until: str | None = None
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def from_row(cls, row: Any) -> Registration:
        """The model of a database row (SQLite or PostgreSQL)."""
        return cls.model_validate(dict(row))

    def with_answers(self, **fields: Any) -> Registration:
        """This registration with `fields` changed (what was just stored, without a read-back)."""
        return self.model_validate({**self.model_dump(), **fields})

    @property
    def live(self) -> bool:
        """Whether it holds its NIK (submitted and not rejected)."""
        return self.status in LIVE


def _model(row: Any | None) -> Registration | None:
    return None if row is None else Registration.from_row(row)


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


async def get(db: Database, registration_id: int) -> Registration | None:
    """One registration by id."""
    row = await db.fetchone("SELECT * FROM registrations WHERE id = ?", (registration_id,))
    return _model(row)


async def get_by_ref(db: Database, ref: str) -> Registration | None:
    """One registration by its reference number."""
    row = await db.fetchone("SELECT * FROM registrations WHERE ref = ?", (ref,))
    return _model(row)


async def draft_of(db: Database, operator_id: int) -> Registration | None:
    """The draft a person is filling in, if any."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE operator_id = ? AND status = 'draft'", (operator_id,)
    )
    return _model(row)


async def active_of(db: Database, telegram_id: int) -> Registration | None:
    """The registration a person is answering questions for: their draft, or one being fixed."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE (status = 'draft' AND operator_id = ?) "
        "OR (status = 'perlu_perbaikan' AND step IS NOT NULL "
        "    AND (operator_id = ? OR worker_telegram_id = ?)) "
        "ORDER BY updated_at DESC, id DESC LIMIT 1",
        (telegram_id, telegram_id, telegram_id),
    )
    return _model(row)


async def draft_under_way(db: Database, telegram_id: int) -> Registration | None:
    """The person's unsent draft once past its first question (consent), if any."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE status = 'draft' AND operator_id = ? "
        "AND step IS NOT NULL AND step != 'consent' ORDER BY id DESC LIMIT 1",
        (telegram_id,),
    )
    return _model(row)


async def waiting_fix_of(db: Database, telegram_id: int) -> Registration | None:
    """The newest registration this person sent (or is the worker of) that waits for a fix."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE status = 'perlu_perbaikan' "
        "AND (operator_id = ? OR worker_telegram_id = ?) "
        "ORDER BY updated_at DESC, id DESC LIMIT 1",
        (telegram_id, telegram_id),
    )
    return _model(row)


async def create_draft(
    db: Database, operator_id: int, step: str, *, flow: Pointer = KEEP, scratch: str = "{}"
) -> int:
    """Start a new draft (replacing an unsent one) waiting at `step`, with the operator's
    active-flow pointer (unless KEEP) in the same commit; returns its id."""
    async with db.write() as conn:
        await conn.execute(*_discard_draft(operator_id))
        cursor = await conn.execute(
            "INSERT INTO registrations(operator_id, step, scratch) VALUES (?, ?, ?) RETURNING id",
            (operator_id, step, scratch),
        )
        row = await cursor.fetchone()
        assert row is not None
        if flow is not KEEP:
            await conn.execute(*flows.pointer(operator_id, flow))
        return int(row[0])


def answers(registration_id: int, **fields: Any) -> Change:
    """The change that stores answers (and the next step) on a registration."""
    unknown = set(fields) - WRITABLE
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    return (
        f"UPDATE registrations SET {assignments}, updated_at = ? WHERE id = ?",
        [*fields.values(), now_text(), registration_id],
    )


async def update(db: Database, registration_id: int, **fields: Any) -> None:
    """Store answers on a registration outside a conversation (imports, tests), committed."""
    if fields:
        await db.apply([answers(registration_id, **fields)])


async def save_step(
    db: Database, registration_id: int, person: int, flow: Pointer, **fields: Any
) -> None:
    """Store answers (and the next step) on a registration with the answering person's
    active-flow pointer (unless KEEP), in one commit before returning: the flow kernel's write."""
    changes = [answers(registration_id, **fields)] if fields else []
    await flows.commit_step(db, person, flow, changes)


def _discard_draft(operator_id: int) -> Change:
    return ("DELETE FROM registrations WHERE operator_id = ? AND status = 'draft'", (operator_id,))


async def delete_draft(db: Database, operator_id: int, *, flow: Pointer = KEEP) -> int:
    """Discard a person's unsent draft, with their active-flow pointer (unless KEEP) in the same
    commit; returns how many rows went."""
    return (await flows.commit_step(db, operator_id, flow, [_discard_draft(operator_id)]))[0]


async def live_by_nik_hash(db: Database, nik_hash: str) -> Registration | None:
    """The submitted (not rejected) registration of a NIK, if any."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE nik_hash = ? AND status IN "
        "('diajukan', 'perlu_perbaikan', 'disetujui', 'terdaftar')",
        (nik_hash,),
    )
    return _model(row)


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


def _nik_taken(exc: Exception) -> bool:
    """Whether a constraint error is the one-live-registration-per-NIK index refusing a row.

    SQLite names the column ("UNIQUE constraint failed: registrations.nik_hash"), PostgreSQL
    the index (registrations_one_open_per_nik).
    """
    text = f"{exc} {getattr(exc, 'constraint_name', None) or ''}"
    return "nik_hash" in text or "registrations_one_open_per_nik" in text


async def submit(
    db: Database,
    registration_id: int,
    ref: str,
    flags: str,
    actor: str = "system",
    *,
    operator: int | None = None,
) -> None:
    """Turn a draft into a submission with its reference number, logged, in one transaction;
    with `operator`, that person leaves the flow in the same transaction."""
    now = now_text()
    try:
        async with db.write() as conn:
            cursor = await conn.execute(
                "UPDATE registrations SET status = 'diajukan', ref = ?, flags = ?, step = NULL, "
                "editing = 0, scratch = '{}', submitted_at = ?, updated_at = ? "
                "WHERE id = ? AND status = 'draft'",
                (ref, flags, now, now, registration_id),
            )
            if cursor.rowcount:
                await audit.log_transition(conn, registration_id, actor, "draft", "diajukan")
            if operator is not None:
                await conn.execute(*flows.pointer(operator, None))
    except IntegrityError as exc:
        if _nik_taken(exc):
            raise DuplicateNik from None
        raise


async def resubmit(
    db: Database, registration_id: int, flags: str, actor: str, *, operator: int | None = None
) -> bool:
    """Send a corrected registration back to the queue, closing its fix request; False if stale.
    With `operator`, that person leaves the flow in the same transaction (stale or not)."""
    from storage import review  # the review desk owns fix requests

    now = now_text()
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE registrations SET status = 'diajukan', flags = ?, step = NULL, editing = 0, "
            "scratch = '{}', submitted_at = ?, updated_at = ? "
            "WHERE id = ? AND status = 'perlu_perbaikan'",
            (flags, now, now, registration_id),
        )
        if operator is not None:
            await conn.execute(*flows.pointer(operator, None))
        if not cursor.rowcount:
            return False
        await review.close_fix_request(conn, registration_id)
        await audit.log_transition(conn, registration_id, actor, "perlu_perbaikan", "diajukan")
    return True


async def by_operator(db: Database, operator_id: int, *, limit: int = 50) -> list[Registration]:
    """Submissions a person made (themselves or for others), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM registrations WHERE operator_id = ? AND status != 'draft' "
        "ORDER BY id DESC LIMIT ?",
        (operator_id, limit),
    )
    return [Registration.from_row(r) for r in rows]


async def for_others_by(db: Database, operator_id: int, *, limit: int) -> list[Registration]:
    """Submissions a person made for other people (a cadre's or relative's), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM registrations WHERE operator_id = ? AND for_self = 0 "
        "AND status != 'draft' ORDER BY id DESC LIMIT ?",
        (operator_id, limit),
    )
    return [Registration.from_row(r) for r in rows]


async def idle_drafts(db: Database, idle_since: str) -> list[Registration]:
    """Drafts untouched since `idle_since` (ISO) and not reminded since."""
    rows = await db.fetchall(
        "SELECT * FROM registrations WHERE status = 'draft' "
        "AND updated_at < ? AND (reminded_at IS NULL OR reminded_at < updated_at)",
        (idle_since,),
    )
    return [Registration.from_row(r) for r in rows]


async def mark_reminded(db: Database, registration_id: int) -> None:
    """Record that the idle reminder went out (updated_at is left as it was)."""
    await db.execute(
        "UPDATE registrations SET reminded_at = ? WHERE id = ?", (now_text(), registration_id)
    )


# --- submissions from a cadre's spreadsheet (bot/cadre_sheet.py) ------------------------------

_LIVE = "('diajukan', 'perlu_perbaikan', 'disetujui', 'terdaftar')"
_IN_CHUNK = 500  # values bound in one IN (...) query, well under SQLite's variable limit


async def live_by_nik_hashes(db: Database, nik_hashes: list[str]) -> dict[str, Registration]:
    """The submitted (not rejected) registrations of these NIKs, by NIK hash."""
    found: dict[str, Registration] = {}
    for start in range(0, len(nik_hashes), _IN_CHUNK):
        chunk = nik_hashes[start : start + _IN_CHUNK]
        rows = await db.fetchall(
            "SELECT * FROM registrations "
            f"WHERE nik_hash IN ({','.join('?' * len(chunk))}) AND status IN {_LIVE}",
            chunk,
        )
        found.update({r["nik_hash"]: Registration.from_row(r) for r in rows})
    return found


async def phones_in_use(db: Database, phone_hashes: list[str]) -> set[str]:
    """Which of these phone hashes a submitted registration already has."""
    found: set[str] = set()
    for start in range(0, len(phone_hashes), _IN_CHUNK):
        chunk = phone_hashes[start : start + _IN_CHUNK]
        rows = await db.fetchall(
            "SELECT DISTINCT phone_hash FROM registrations "
            f"WHERE phone_hash IN ({','.join('?' * len(chunk))}) AND status != 'draft'",
            chunk,
        )
        found.update(r[0] for r in rows)
    return found


async def insert_submitted(
    db: Database,
    operator_id: int,
    rows: list[tuple[dict[str, Any], str, Callable[[int], str]]],
    actor: str,
) -> list[tuple[int, str] | None]:
    """Store complete submissions (status `diajukan`, a reference number each, logged): each
    row (fields, flags JSON, its reference from its id) whole or not at all, the batch in one
    transaction. Per row (id, ref), or None where that NIK is submitted already."""
    for fields, _flags, _ref in rows:
        unknown = set(fields) - WRITABLE
        if unknown:
            raise ValueError(f"not writable: {sorted(unknown)}")
    done: list[tuple[int, str] | None] = []
    async with db.write() as conn:
        for fields, flags, make_ref in rows:
            # A savepoint per row: a NIK submitted meanwhile undoes that row alone.
            await conn.execute("SAVEPOINT submission")
            try:
                done.append(
                    await _insert_submitted(conn, operator_id, fields, flags, make_ref, actor)
                )
            except IntegrityError as exc:
                await conn.execute("ROLLBACK TO submission")
                await conn.execute("RELEASE submission")
                if not _nik_taken(exc):
                    raise
                done.append(None)
                continue
            await conn.execute("RELEASE submission")
    return done


async def _insert_submitted(
    conn: Conn,
    operator_id: int,
    fields: dict[str, Any],
    flags: str,
    make_ref: Callable[[int], str],
    actor: str,
) -> tuple[int, str]:
    names = ["operator_id", "status", "flags", *fields, "submitted_at", "updated_at"]
    now = now_text()
    cursor = await conn.execute(
        f"INSERT INTO registrations({', '.join(names)}) "
        f"VALUES ({', '.join('?' * len(names))}) RETURNING id",
        [operator_id, "diajukan", flags, *fields.values(), now, now],
    )
    row = await cursor.fetchone()
    assert row is not None
    registration_id = int(row[0])
    ref = make_ref(registration_id)
    await conn.execute("UPDATE registrations SET ref = ? WHERE id = ?", (ref, registration_id))
    await audit.log_transition(conn, registration_id, actor, None, "diajukan")
    return registration_id, ref
