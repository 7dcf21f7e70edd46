"""The review desk's tables: queue, card locks, decisions with quotas, fix requests, steps."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Generator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from storage import audit, flows, funding
from storage.db import Conn, Database, now_text
from storage.flows import KEEP, Pointer
from storage.registrations import Registration, Status

# Work done inside a decision's transaction, after its update (queueing its notices): what it
# writes commits with the decision, and if it raises, the decision is rolled back with it.
InTransaction = Callable[[Conn], Awaitable[None]]


class DecisionRefused(Exception):
    """The registration cannot be decided now: `why` is 'missing', 'decided', 'locked' or 'own'
    (the reviewer sent it)."""

    def __init__(self, why: str, row: Registration | None = None):
        super().__init__(why)
        self.why = why
        self.row = row


class ProgramUnavailable(Exception):
    """The chosen program is closed, outside its period or does not cover the worker's desa."""


class QuotaFull(Exception):
    """The program has no place left (in total, or in the worker's desa when `desa` is set)."""

    def __init__(self, program: funding.Program, used: int, quota: int, desa: str | None):
        super().__init__(f"quota full: {used}/{quota}")
        self.program = program
        self.used = used
        self.quota = quota
        self.desa = desa


def region_clause(regions: Sequence[str], table: str = "") -> tuple[str, list[str]]:
    """SQL matching registrations whose address lies in any of `regions` (and its params)."""
    prefix = f"{table}." if table else ""
    parts: list[str] = []
    params: list[str] = []
    for region in regions:
        if region.count(".") == 1:  # a kabupaten: the indexed column
            parts.append(f"{prefix}kabupaten_code = ?")
            params.append(region)
        else:
            parts.append(f"({prefix}desa_code = ? OR {prefix}desa_code LIKE ? || '.%')")
            params += [region, region]
    return "(" + (" OR ".join(parts) or "1 = 0") + ")", params


# --- the queue ------------------------------------------------------------------------------


def _queue_filter(regions: Sequence[str], decile_only: bool) -> tuple[str, list[Any]]:
    where, params = region_clause(regions, "r")
    sql = f"r.status = 'diajukan' AND {where}"
    if decile_only:
        sql += " AND r.nik_hash IN (SELECT nik_hash FROM p3ke WHERE decile <= 2)"
    return sql, list(params)


async def status_counts(db: Database, regions: Sequence[str]) -> dict[str, int]:
    """Submissions per status in these regions (drafts excluded)."""
    where, params = region_clause(regions)
    rows = await db.fetchall(
        f"SELECT status, COUNT(*) FROM registrations WHERE status != 'draft' AND {where} "
        "GROUP BY status",
        params,
    )
    return {r[0]: r[1] for r in rows}


async def queue_size(db: Database, regions: Sequence[str], decile_only: bool) -> int:
    """Submissions waiting for a decision (with the decile filter, if on)."""
    where, params = _queue_filter(regions, decile_only)
    return int(await db.fetchval(f"SELECT COUNT(*) FROM registrations r WHERE {where}", params))


async def next_in_queue(
    db: Database,
    reviewer_id: int,
    regions: Sequence[str],
    decile_only: bool,
    after: tuple[str | None, int] | None = None,
) -> Registration | None:
    """The oldest waiting submission not locked by someone else (after a skipped one)."""
    where, params = _queue_filter(regions, decile_only)
    # A reviewer's own submission (as the worker or for someone else) is for a colleague.
    sql = (
        f"SELECT r.* FROM registrations r WHERE {where} "
        "AND (r.locked_by IS NULL OR r.locked_by = ? OR r.locked_until <= ?) "
        "AND r.operator_id != ? AND COALESCE(r.worker_telegram_id, 0) != ?"
    )
    params += [reviewer_id, now_text(), reviewer_id, reviewer_id]
    if after is not None:
        sql += " AND (r.submitted_at, r.id) > (?, ?)"
        params += [after[0], after[1]]
    sql += " ORDER BY r.submitted_at, r.id LIMIT 1"
    row = await db.fetchone(sql, params)
    return None if row is None else Registration.from_row(row)


async def position(db: Database, row: Registration, regions: Sequence[str]) -> int:
    """The 1-based place of a submission in its queue, oldest first."""
    where, params = _queue_filter(regions, False)
    value = await db.fetchval(
        f"SELECT COUNT(*) FROM registrations r WHERE {where} AND (r.submitted_at, r.id) <= (?, ?)",
        [*params, row.submitted_at, row.id],
    )
    return int(value or 0)


# --- locks ----------------------------------------------------------------------------------


async def lock(db: Database, registration_id: int, reviewer_id: int, minutes: int) -> bool:
    """Take (or extend) the card lock; False if another reviewer holds it or it is decided."""
    changed = await db.execute(
        "UPDATE registrations SET locked_by = ?, locked_until = ? "
        "WHERE id = ? AND status = 'diajukan' "
        "AND (locked_by IS NULL OR locked_by = ? OR locked_until <= ?)",
        (reviewer_id, now_text(minutes=int(minutes)), registration_id, reviewer_id, now_text()),
    )
    return changed > 0


async def unlock(db: Database, registration_id: int, reviewer_id: int) -> None:
    """Give the card back (on skip) so another reviewer may take it at once."""
    await db.execute(
        "UPDATE registrations SET locked_by = NULL, locked_until = NULL "
        "WHERE id = ? AND locked_by = ?",
        (registration_id, reviewer_id),
    )


# --- decisions ------------------------------------------------------------------------------


async def _decidable(conn: Conn, registration_id: int, reviewer_id: int) -> Registration:
    """The row, if this reviewer may decide it now; raises DecisionRefused otherwise."""
    now = now_text()
    cursor = await conn.execute("SELECT * FROM registrations WHERE id = ?", (registration_id,))
    found = await cursor.fetchone()
    if found is None:
        raise DecisionRefused("missing")
    row = Registration.from_row(found)
    if reviewer_id in (row.operator_id, row.worker_telegram_id):
        raise DecisionRefused("own", row)  # nobody decides their own submission
    if row.status != Status.SUBMITTED:
        raise DecisionRefused("decided", row)
    locked_by = row.locked_by
    if locked_by not in (None, reviewer_id) and (row.locked_until or "") > now:
        raise DecisionRefused("locked", row)
    return row


async def approve(
    db: Database,
    registration_id: int,
    reviewer_id: int,
    program_id: int | None,
    *,
    sponsor: str | None,
    day: str,
    then: InTransaction | None = None,
) -> Registration:
    """Approve against a program (None: paid by the worker); quota checked in the transaction.

    The write transaction is BEGIN IMMEDIATE, so the count and the update cannot interleave with
    another approval: two reviewers can never both take the last place.
    """
    async with db.write() as conn:
        row = await _decidable(conn, registration_id, reviewer_id)
        now = now_text()
        source = "mandiri"
        note = "mandiri"
        if program_id is not None:
            cursor = await conn.execute(
                "SELECT * FROM funding_programs WHERE id = ?", (program_id,)
            )
            found = await cursor.fetchone()
            if found is None:
                raise ProgramUnavailable
            program = funding.Program.from_row(found)
            if not program.open_on(day) or not program.covers(row.desa_code or ""):
                raise ProgramUnavailable
            used = await funding.used_in(conn, program.id)
            if used >= program.quota:
                raise QuotaFull(program, used, program.quota, None)
            if program.quota_per_desa is not None:
                used_desa = await funding.used_in(conn, program.id, row.desa_code)
                if used_desa >= program.quota_per_desa:
                    raise QuotaFull(program, used_desa, program.quota_per_desa, row.desa_code)
            source = program.source_type
            note = f"program {program.id}: {program.name}"
        if sponsor:
            note += f"; sponsor: {sponsor}"
        await conn.execute(
            "UPDATE registrations SET status = 'disetujui', funding_program_id = ?, "
            "sumber_iuran = ?, sponsor = ?, reviewed_by = ?, reviewed_at = ?, reason = NULL, "
            "reason_code = NULL, locked_by = NULL, locked_until = NULL, updated_at = ? "
            "WHERE id = ?",
            (program_id, source, sponsor, reviewer_id, now, now, registration_id),
        )
        await audit.log_transition(
            conn, registration_id, str(reviewer_id), "diajukan", "disetujui", note
        )
        if then is not None:
            await then(conn)
    return row


async def reject(
    db: Database,
    registration_id: int,
    reviewer_id: int,
    reason_code: str,
    reason: str,
    then: InTransaction | None = None,
) -> Registration:
    """Reject with a reason code and its text (label and note), logged."""
    async with db.write() as conn:
        row = await _decidable(conn, registration_id, reviewer_id)
        now = now_text()
        await conn.execute(
            "UPDATE registrations SET status = 'ditolak', reason_code = ?, reason = ?, "
            "reviewed_by = ?, reviewed_at = ?, locked_by = NULL, locked_until = NULL, "
            "updated_at = ? WHERE id = ?",
            (reason_code, reason, reviewer_id, now, now, registration_id),
        )
        await audit.log_transition(
            conn, registration_id, str(reviewer_id), "diajukan", "ditolak", reason
        )
        if then is not None:
            await then(conn)
    return row


async def request_fix(
    db: Database,
    registration_id: int,
    reviewer_id: int,
    fields: Sequence[str],
    note: str,
    then: InTransaction | None = None,
) -> Registration:
    """Send back for correction of `fields` with a note; the worker's flow closes the request."""
    reason = ", ".join(fields) + (f" – {note}" if note else "")
    async with db.write() as conn:
        row = await _decidable(conn, registration_id, reviewer_id)
        # An older request left open (should not happen) is superseded by this one.
        now = now_text()
        await conn.execute(
            "UPDATE fix_requests SET done_at = ? WHERE registration_id = ? AND done_at IS NULL",
            (now, registration_id),
        )
        await conn.execute(
            "INSERT INTO fix_requests(registration_id, fields, note, requested_by) "
            "VALUES (?, ?, ?, ?)",
            (registration_id, json.dumps(list(fields)), note, reviewer_id),
        )
        await conn.execute(
            "UPDATE registrations SET status = 'perlu_perbaikan', reason = ?, reason_code = "
            "'perbaikan', reviewed_by = ?, reviewed_at = ?, locked_by = NULL, "
            "locked_until = NULL, updated_at = ? WHERE id = ?",
            (reason, reviewer_id, now, now, registration_id),
        )
        await audit.log_transition(
            conn, registration_id, str(reviewer_id), "diajukan", "perlu_perbaikan", reason
        )
        if then is not None:
            await then(conn)
    return row


async def open_fix_request(db: Database, registration_id: int) -> tuple[list[str], str] | None:
    """The fields to fix and the reviewer's note of the open request, or None."""
    row = await db.fetchone(
        "SELECT fields, note FROM fix_requests WHERE registration_id = ? AND done_at IS NULL "
        "ORDER BY id DESC LIMIT 1",
        (registration_id,),
    )
    if row is None:
        return None
    return list(json.loads(row["fields"])), str(row["note"])


async def close_fix_request(conn: Conn, registration_id: int) -> None:
    """Mark the open request done; call inside the `db.write()` block that resubmits."""
    await conn.execute(
        "UPDATE fix_requests SET done_at = ? WHERE registration_id = ? AND done_at IS NULL",
        (now_text(), registration_id),
    )


# --- what the card shows ----------------------------------------------------------------------


async def other_refs_with_nik(db: Database, nik_hash: str, other_than: int) -> list[str]:
    """References of other submissions (any state) with the same NIK."""
    rows = await db.fetchall(
        "SELECT ref FROM registrations WHERE nik_hash = ? AND id != ? AND status != 'draft' "
        "ORDER BY id",
        (nik_hash, other_than),
    )
    return [r[0] for r in rows]


async def other_refs_with_phone(db: Database, phone_hash: str, other_than: int) -> list[str]:
    """References of other submissions (any state) with the same phone number."""
    rows = await db.fetchall(
        "SELECT ref FROM registrations WHERE phone_hash = ? AND id != ? AND status != 'draft' "
        "ORDER BY id LIMIT 5",
        (phone_hash, other_than),
    )
    return [r[0] for r in rows]


# --- a reviewer's unfinished step -----------------------------------------------------------

STEP_FIELDS = frozenset(
    {"decile_only", "registration_id", "action", "program_id", "reason_code", "fields"}
)


class StepAction(StrEnum):
    """What a reviewer's unfinished step waits to finish: a rejection's note, a fix request's
    fields and note, or a sponsor's name."""

    REJECT = "reject"
    FIX = "fix"
    SPONSOR = "sponsor"


class ReviewStep(BaseModel):
    """One row of `review_steps`: a reviewer's queue filter and unfinished action."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    reviewer_id: int
    decile_only: bool = False  # the queue shows only workers with a P3KE decile
    registration_id: int | None = None
    action: StepAction | None = None
    program_id: int | None = None
    reason_code: str | None = None
    fields: str = "[]"  # JSON list of the field groups chosen for a fix request
    updated_at: str = ""


async def step_of(db: Database, reviewer_id: int) -> ReviewStep:
    """The reviewer's step row (defaults when they have none)."""
    row = await db.fetchone("SELECT * FROM review_steps WHERE reviewer_id = ?", (reviewer_id,))
    if row is None:
        return ReviewStep(reviewer_id=reviewer_id)
    return ReviewStep.model_validate(dict(row))


async def set_step(
    db: Database,
    reviewer_id: int,
    *,
    flow: Pointer = KEEP,
    leaving: str | None = None,
    **values: Any,
) -> None:
    """Store part of a reviewer's step with their active-flow pointer (unless KEEP), or leaving
    the flow `leaving` if it is still the active one, in one commit before the next prompt."""
    unknown = set(values) - STEP_FIELDS
    if unknown:
        raise ValueError(f"not a step field: {sorted(unknown)}")
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    updates = ", ".join(f"{n} = excluded.{n}" for n in values)
    step = (
        f"INSERT INTO review_steps(reviewer_id, {names}) VALUES (?, {marks}) "
        f"ON CONFLICT(reviewer_id) DO UPDATE SET {updates}, updated_at = ?",
        [reviewer_id, *values.values(), now_text()],
    )
    left = [] if leaving is None else [flows.leave(reviewer_id, leaving)]
    await flows.commit_step(db, reviewer_id, flow, [step, *left])


async def clear_step(db: Database, reviewer_id: int, *, leaving: str | None = None) -> None:
    """Forget the unfinished action (the queue filter stays), leaving the flow `leaving` in the
    same commit if it is still the reviewer's active one."""
    await set_step(
        db,
        reviewer_id,
        leaving=leaving,
        registration_id=None,
        action=None,
        program_id=None,
        reason_code=None,
        fields="[]",
    )


# --- reports and export ---------------------------------------------------------------------


async def counts_by_desa(db: Database, region: str) -> list[tuple[str, str, str, int]]:
    """(kecamatan code, desa code, status, count) of submissions in a region."""
    where, params = region_clause([region])
    rows = await db.fetchall(
        "SELECT kecamatan_code, desa_code, status, COUNT(*) FROM registrations "
        f"WHERE status != 'draft' AND {where} GROUP BY 1, 2, 3 "
        "ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, 3",
        params,
    )
    return [(r[0] or "", r[1] or "", r[2], r[3]) for r in rows]


class ExportRow(NamedTuple):
    """The columns of a submission the export writes (a plain tuple: many rows stream)."""

    ref: str | None
    status: str
    nik_enc: bytes | None
    name: str | None
    birth_date: str | None
    sex: str | None
    mother_name: str | None
    phone_enc: bytes | None
    desa_code: str | None
    kecamatan_code: str | None
    kabupaten_code: str | None
    occupation: str | None
    occupation_other: str | None
    income: int | None
    programs: str | None
    monthly_contribution: int | None
    pay_period_months: int | None
    payer: str | None
    sumber_iuran: str | None
    heir_name: str | None
    heir_relation: str | None
    for_self: int | None
    operator_id: int
    submitted_at: str | None
    reviewed_by: int | None
    reviewed_at: str | None
    reason: str | None
    kpj: str | None
    program_source: str | None  # the source of the funding program it was approved against
    p3ke_decile: int | None


# ExportRow's fields in its order: the registration's own columns, then the joined two.
_EXPORT_COLUMNS = ", ".join(
    [f"r.{name}" for name in ExportRow._fields[:-2]]
    + ["p.source_type AS program_source", "k.decile AS p3ke_decile"]
)


def export_query(regions: Sequence[str] | None, status: str | None) -> tuple[str, list[Any]]:
    """The SQL (and params) of the export rows (ExportRow's columns), oldest submission first."""
    sql = (
        f"SELECT {_EXPORT_COLUMNS} "
        "FROM registrations r "
        "LEFT JOIN funding_programs p ON p.id = r.funding_program_id "
        "LEFT JOIN p3ke k ON k.nik_hash = r.nik_hash WHERE r.status != 'draft'"
    )
    params: list[Any] = []
    if regions is not None:
        where, region_params = region_clause(regions, "r")
        sql += f" AND {where}"
        params += region_params
    if status is not None:
        sql += " AND r.status = ?"
        params.append(status)
    return sql + " ORDER BY r.id", params


def export_rows(
    target: str | Path, regions: Sequence[str] | None, status: str | None, chunk: int = 1000
) -> Generator[ExportRow, None, None]:
    """The export rows, read in chunks on a private read-only connection (for a worker thread).

    `target` is what JAGA_DB names: a SQLite file or a PostgreSQL URL. Plain sqlite3 rather than
    aiosqlite: the export runs in a thread of its own so the bot keeps answering, and one thread
    hop per row would cost more than the rows themselves. On PostgreSQL the thread drives an
    event loop of its own, one chunk at a time, through a server-side cursor on a connection of
    its own (the bot's connections belong to the bot's loop). Close the iterator when done.
    """
    from storage.db import engine_of

    sql, params = export_query(regions, status)
    if engine_of(target) == "postgresql":
        import asyncio

        import asyncpg

        from storage.postgres import translate

        loop = asyncio.new_event_loop()
        pg: asyncpg.Connection | None = None
        try:
            pg = loop.run_until_complete(asyncpg.connect(str(target), timeout=10))
            # A server-side cursor lives in a transaction; closing the connection ends it.
            loop.run_until_complete(pg.transaction(readonly=True).start())
            server_cursor = loop.run_until_complete(pg.cursor(translate(sql), *params))
            while records := loop.run_until_complete(server_cursor.fetch(chunk)):
                yield from map(ExportRow._make, records)
        finally:
            try:
                if pg is not None:
                    try:
                        loop.run_until_complete(pg.close(timeout=5))
                    except Exception:
                        pg.terminate()
            finally:
                loop.close()
        return
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        cursor = conn.execute(sql, params)
        while rows := cursor.fetchmany(chunk):
            yield from map(ExportRow._make, rows)
    finally:
        conn.close()
