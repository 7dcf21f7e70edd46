"""Members and claims from BPJS extracts, account links and their proofs, lookup counts, flows."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage import audit, flows, outbox
from storage.db import Change, Conn, Database, now_text
from storage.registrations import Registration

# --- members and claims ---------------------------------------------------------------------


class MemberStatus(StrEnum):
    """A membership as BPJS's extract gives it."""

    ACTIVE = "aktif"
    INACTIVE = "nonaktif"
    ENDED = "berakhir"


class Member(BaseModel):
    """One row of `members` (an import's input leaves the two times empty)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    nik_hash: str
    nik_enc: bytes
    nik_masked: str
    kpj: str
    programs: str  # 'JKK_JKM' or 'JKK_JKM_JHT'
    protected_until: str  # ISO date, the last day of cover paid for
    last_paid: str | None = None  # ISO date
    status: MemberStatus
    birth_date: str | None = None  # ISO date
    imported_at: str = ""
    updated_at: str = ""


_MEMBER_COLUMNS = (
    "nik_hash", "nik_enc", "nik_masked", "kpj", "programs", "protected_until", "last_paid",
    "status", "birth_date",
)  # fmt: skip


async def upsert_member(conn: Conn, member: Member) -> bool:
    """Insert or refresh one member inside an import transaction; True when something changed."""
    values = (  # in the order of _MEMBER_COLUMNS
        member.nik_hash, member.nik_enc, member.nik_masked, member.kpj, member.programs,
        member.protected_until, member.last_paid, member.status.value, member.birth_date,
    )  # fmt: skip
    # The existing row is named by its table (members.x): a bare name would be ambiguous with
    # `excluded` on PostgreSQL.
    cursor = await conn.execute(
        f"INSERT INTO members({', '.join(_MEMBER_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_MEMBER_COLUMNS))}) "
        "ON CONFLICT(nik_hash) DO UPDATE SET kpj = excluded.kpj, programs = excluded.programs, "
        "protected_until = excluded.protected_until, last_paid = excluded.last_paid, "
        "status = excluded.status, "
        "birth_date = COALESCE(excluded.birth_date, members.birth_date), updated_at = ? "
        "WHERE (members.kpj, members.programs, members.protected_until, "
        "COALESCE(members.last_paid, ''), members.status, COALESCE(members.birth_date, '')) "
        "IS DISTINCT FROM (excluded.kpj, excluded.programs, excluded.protected_until, "
        "COALESCE(excluded.last_paid, ''), excluded.status, "
        "COALESCE(excluded.birth_date, members.birth_date, ''))",
        [*values, now_text()],
    )
    return cursor.rowcount > 0


async def kpj_owners(db: Database, kpjs: Sequence[str]) -> dict[str, str]:
    """Which NIK hash already holds each of these KPJ numbers."""
    owners: dict[str, str] = {}
    for start in range(0, len(kpjs), 500):
        chunk = list(kpjs[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        rows = await db.fetchall(
            f"SELECT kpj, nik_hash FROM members WHERE kpj IN ({marks})", chunk
        )
        owners.update({r["kpj"]: r["nik_hash"] for r in rows})
    return owners


async def member_by_nik_hash(db: Database, nik_hash: str) -> Member | None:
    """The imported member record of a NIK."""
    row = await db.fetchone("SELECT * FROM members WHERE nik_hash = ?", (nik_hash,))
    return None if row is None else Member.model_validate(dict(row))


async def members_among(db: Database, nik_hashes: Sequence[str]) -> set[str]:
    """Which of these NIK hashes belong to imported members."""
    found: set[str] = set()
    for start in range(0, len(nik_hashes), 500):
        chunk = list(nik_hashes[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        rows = await db.fetchall(
            f"SELECT nik_hash FROM members WHERE nik_hash IN ({marks})", chunk
        )
        found.update(str(r["nik_hash"]) for r in rows)
    return found


class ClaimType(StrEnum):
    """The benefit a claim is for."""

    JHT = "JHT"  # old-age savings
    JKK = "JKK"  # work accident
    JKM = "JKM"  # death
    BEASISWA = "BEASISWA"  # a member's child's scholarship


class ClaimStatus(StrEnum):
    """Where a claim is at BPJS, as the branch's extract says."""

    SUBMITTED = "diajukan"
    VERIFIED = "diverifikasi"
    PROCESSING = "diproses"
    APPROVED = "disetujui"
    REJECTED = "ditolak"
    PAID = "dibayar"


class Claim(BaseModel):
    """One row of `claims` (an import's input leaves the two times empty)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    claim_no: str
    nik_hash: str | None = None
    kpj: str | None = None
    type: ClaimType
    status: ClaimStatus
    status_date: str  # ISO date of the last change
    amount_paid: int | None = None
    imported_at: str = ""
    updated_at: str = ""


_CLAIM_COLUMNS = (
    "claim_no", "nik_hash", "kpj", "type", "status", "status_date", "amount_paid",
)  # fmt: skip


async def upsert_claim(conn: Conn, claim: Claim) -> bool:
    """Insert or refresh one claim inside an import transaction; True when something changed."""
    values = (  # in the order of _CLAIM_COLUMNS
        claim.claim_no, claim.nik_hash, claim.kpj, claim.type.value, claim.status.value,
        claim.status_date, claim.amount_paid,
    )  # fmt: skip
    cursor = await conn.execute(
        f"INSERT INTO claims({', '.join(_CLAIM_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_CLAIM_COLUMNS))}) "
        "ON CONFLICT(claim_no) DO UPDATE SET "
        "nik_hash = COALESCE(excluded.nik_hash, claims.nik_hash), "
        "kpj = COALESCE(excluded.kpj, claims.kpj), type = excluded.type, "
        "status = excluded.status, status_date = excluded.status_date, "
        "amount_paid = excluded.amount_paid, updated_at = ? "
        "WHERE (claims.type, claims.status, claims.status_date, COALESCE(claims.amount_paid, -1)) "
        "IS DISTINCT FROM (excluded.type, excluded.status, excluded.status_date, "
        "COALESCE(excluded.amount_paid, -1)) "
        "OR (excluded.nik_hash IS NOT NULL "
        " AND claims.nik_hash IS DISTINCT FROM excluded.nik_hash) "
        "OR (excluded.kpj IS NOT NULL AND claims.kpj IS DISTINCT FROM excluded.kpj)",
        [*values, now_text()],
    )
    return cursor.rowcount > 0


async def claim_by_no(db: Database, claim_no: str) -> Claim | None:
    """One claim by its number."""
    row = await db.fetchone("SELECT * FROM claims WHERE claim_no = ?", (claim_no,))
    return None if row is None else Claim.model_validate(dict(row))


async def claims_of(
    db: Database, nik_hash: str, kpj: str | None, *, limit: int = 20
) -> list[Claim]:
    """A worker's claims (by NIK hash or KPJ), most recently changed first."""
    rows = await db.fetchall(
        "SELECT * FROM claims WHERE nik_hash = ? OR (CAST(? AS TEXT) IS NOT NULL AND kpj = ?) "
        "ORDER BY status_date DESC, claim_no LIMIT ?",
        (nik_hash, kpj, kpj, limit),
    )
    return [Claim.model_validate(dict(r)) for r in rows]


async def register_approved(conn: Conn, nik_hash: str, kpj: str) -> Registration | None:
    """Move an approved registration of this NIK to `terdaftar` with its KPJ, logged; or None."""
    cursor = await conn.execute(
        "SELECT * FROM registrations WHERE nik_hash = ? AND status = 'disetujui'",
        (nik_hash,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    registration = Registration.from_row(row)
    await conn.execute(
        "UPDATE registrations SET status = 'terdaftar', kpj = ?, updated_at = ? "
        "WHERE id = ? AND status = 'disetujui'",
        (kpj, now_text(), registration.id),
    )
    await audit.log_transition(conn, registration.id, "import", "disetujui", "terdaftar")
    return registration


# --- the worker a Telegram account stands for -----------------------------------------------


async def own_registration(db: Database, telegram_id: int) -> Registration | None:
    """The newest submitted registration whose worker is this Telegram account.

    A rejected one no longer counts once another registration of that NIK is live: the
    rejected sender may not have been the worker, and must not see the worker's record.
    """
    row = await db.fetchone(
        "SELECT * FROM registrations AS r WHERE r.worker_telegram_id = ? "
        "AND r.status != 'draft' AND NOT (r.status = 'ditolak' AND EXISTS ("
        "SELECT 1 FROM registrations AS o WHERE o.nik_hash = r.nik_hash AND o.id != r.id "
        "AND o.status NOT IN ('draft', 'ditolak'))) "
        "ORDER BY (r.status = 'ditolak'), r.id DESC LIMIT 1",
        (telegram_id,),
    )
    return None if row is None else Registration.from_row(row)


async def registration_by_nik_hash(db: Database, nik_hash: str) -> Registration | None:
    """The live (else the newest) submitted registration of a NIK."""
    row = await db.fetchone(
        "SELECT * FROM registrations WHERE nik_hash = ? AND status != 'draft' "
        "ORDER BY (status = 'ditolak'), id DESC LIMIT 1",
        (nik_hash,),
    )
    return None if row is None else Registration.from_row(row)


async def linked_nik_hash(db: Database, telegram_id: int) -> str | None:
    """The NIK hash this account is linked to by a proof (phone, KPJ or confirmed code), if any."""
    value = await db.fetchval(
        "SELECT nik_hash FROM member_links WHERE telegram_id = ?", (telegram_id,)
    )
    return None if value is None else str(value)


async def link_of(db: Database, telegram_id: int) -> tuple[str, str] | None:
    """(NIK hash, proof) of this account's link to a worker, if it has one."""
    row = await db.fetchone(
        "SELECT nik_hash, proof FROM member_links WHERE telegram_id = ?", (telegram_id,)
    )
    return None if row is None else (str(row["nik_hash"]), str(row["proof"]))


class Proof(StrEnum):
    """How an account proved it may see a worker's record."""

    OWN = "own"  # the worker's own account
    PHONE = "phone"  # a shared contact matching the phone on record
    KPJ = "kpj"  # the membership number of that NIK
    CODE = "code"  # a one-time code confirmed by the worker's cadre or a reviewer


PROOFS = tuple(p.value for p in Proof)


class Link(BaseModel):
    """An account linked to a worker: who, by which proof, and when."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    telegram_id: int
    proof: Proof
    linked_at: str


Notice = tuple[int, str]  # (chat id, text) of a message to queue in the outbox


async def _queue(conn: Conn, notices: Sequence[Notice]) -> None:
    for chat_id, text in notices:
        await outbox.enqueue(conn, "notice", chat_id, text)


async def link(
    db: Database, telegram_id: int, nik_hash: str, *, proof: str, notices: Sequence[Notice] = ()
) -> None:
    """Link this account to a worker by `proof` (replacing an earlier link); the notices to the
    worker's own account and cadre are queued in the same transaction."""
    if proof not in PROOFS:
        raise ValueError(f"unknown link proof {proof!r}")
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO member_links(telegram_id, nik_hash, proof) VALUES (?, ?, ?) "
            "ON CONFLICT(telegram_id) DO UPDATE SET nik_hash = excluded.nik_hash, "
            "proof = excluded.proof, linked_at = ?",
            (telegram_id, nik_hash, proof, now_text()),
        )
        await _queue(conn, notices)


async def links_to(db: Database, nik_hash: str) -> list[Link]:
    """The accounts linked to a worker: Telegram id, proof and when, oldest first."""
    rows = await db.fetchall(
        "SELECT telegram_id, proof, linked_at FROM member_links WHERE nik_hash = ? "
        "ORDER BY linked_at, telegram_id",
        (nik_hash,),
    )
    return [Link.model_validate(dict(r)) for r in rows]


async def unlink(db: Database, telegram_id: int, nik_hash: str) -> bool:
    """Remove one account's link to this worker; False if there was none."""
    changed = await db.execute(
        "DELETE FROM member_links WHERE telegram_id = ? AND nik_hash = ?", (telegram_id, nik_hash)
    )
    return changed > 0


# --- link requests confirmed by a cadre or reviewer ------------------------------------------


class LinkRequestStatus(StrEnum):
    """A code request's life: open until confirmed, refused or replaced by a newer one."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    REPLACED = "replaced"


class LinkRequest(BaseModel):
    """One row of `link_requests`: an account asking to be linked to a worker by a code."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    telegram_id: int  # the account asking
    nik_hash: str
    code_salt: bytes
    code_digest: str  # sha256(salt || code), hex
    kabupaten_code: str | None = None  # whose reviewers may confirm
    cadre_id: int | None = None  # the cadre who registered the worker, if any
    status: LinkRequestStatus = LinkRequestStatus.OPEN
    wrong_codes: int = 0
    created_at: str = ""
    expires_at: str
    decided_by: int | None = None
    decided_at: str | None = None


async def open_link_request(
    db: Database,
    *,
    telegram_id: int,
    nik_hash: str,
    code_salt: bytes,
    code_digest: str,
    kabupaten_code: str | None,
    cadre_id: int | None,
    expires_at: str,
    notices: Callable[[int], Sequence[tuple[int, str, Sequence[Sequence[tuple[str, str]]]]]],
) -> int:
    """Open a request (replacing this account's open ones) and queue the confirmers' notices,
    built from the new request's id, in the same transaction; returns the id."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE link_requests SET status = 'replaced' WHERE telegram_id = ? "
            "AND status = 'open'",
            (telegram_id,),
        )
        cursor = await conn.execute(
            "INSERT INTO link_requests(telegram_id, nik_hash, code_salt, code_digest, "
            "kabupaten_code, cadre_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (telegram_id, nik_hash, code_salt, code_digest, kabupaten_code, cadre_id, expires_at),
        )
        row = await cursor.fetchone()
        assert row is not None
        request_id = int(row[0])
        for chat_id, text, buttons in notices(request_id):
            await outbox.enqueue(conn, "notice", chat_id, text, buttons)
        return request_id


async def recent_link_requests(db: Database, nik_hash: str, now: str) -> int:
    """How many codes were asked for this NIK (by any account) whose 24 hours are not over."""
    value = await db.fetchval(
        "SELECT COUNT(*) FROM link_requests WHERE nik_hash = ? AND expires_at > ?",
        (nik_hash, now),
    )
    return int(value or 0)


async def link_request(db: Database, request_id: int) -> LinkRequest | None:
    """One link request by id."""
    row = await db.fetchone("SELECT * FROM link_requests WHERE id = ?", (request_id,))
    return None if row is None else LinkRequest.model_validate(dict(row))


async def wrong_code(db: Database, request_id: int, max_wrong: int) -> int:
    """Count a wrong code; the request is refused at `max_wrong`. Returns the count."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE link_requests SET wrong_codes = wrong_codes + 1 WHERE id = ?", (request_id,)
        )
        await conn.execute(
            "UPDATE link_requests SET status = 'refused', decided_at = ? "
            "WHERE id = ? AND status = 'open' AND wrong_codes >= ?",
            (now_text(), request_id, max_wrong),
        )
        cursor = await conn.execute(
            "SELECT wrong_codes FROM link_requests WHERE id = ?", (request_id,)
        )
        row = await cursor.fetchone()
        return 0 if row is None else int(row[0])


async def decide_link_request(
    db: Database,
    request_id: int,
    *,
    decided_by: int,
    confirm: bool,
    now: str,
    notices: Sequence[Notice] = (),
) -> LinkRequest | None:
    """Confirm (link the account, proof 'code') or refuse an open, unexpired request, with its
    notices, in one transaction; None if it was no longer open."""
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE link_requests SET status = ?, decided_by = ?, decided_at = ? "
            "WHERE id = ? AND status = 'open' AND expires_at > ?",
            ("confirmed" if confirm else "refused", decided_by, now_text(), request_id, now),
        )
        if cursor.rowcount == 0:
            return None
        cursor = await conn.execute("SELECT * FROM link_requests WHERE id = ?", (request_id,))
        row = await cursor.fetchone()
        assert row is not None
        request = LinkRequest.model_validate(dict(row))
        if confirm:
            await conn.execute(
                "INSERT INTO member_links(telegram_id, nik_hash, proof) VALUES (?, ?, 'code') "
                "ON CONFLICT(telegram_id) DO UPDATE SET nik_hash = excluded.nik_hash, "
                "proof = excluded.proof, linked_at = ?",
                (request.telegram_id, request.nik_hash, now_text()),
            )
        await _queue(conn, notices)
        return request


# --- lookup limit ---------------------------------------------------------------------------


async def lookups_in_last_hour(db: Database, telegram_id: int) -> int:
    """How many lookups this person made in the past hour."""
    value = await db.fetchval(
        "SELECT count(*) FROM status_lookups WHERE telegram_id = ? AND at > ?",
        (telegram_id, now_text(minutes=-60)),
    )
    return int(value or 0)


async def record_lookup(db: Database, telegram_id: int) -> None:
    """Count one lookup (and forget those older than a day)."""
    async with db.write() as conn:
        await conn.execute("INSERT INTO status_lookups(telegram_id) VALUES (?)", (telegram_id,))
        await conn.execute(
            "DELETE FROM status_lookups WHERE at < ?", (now_text(minutes=-24 * 60),)
        )


# --- flow state -----------------------------------------------------------------------------


class FlowState(BaseModel):
    """The step a person's status/claims/iuran/answer flow waits at, with its answers so far."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step: str
    purpose: str | None = None  # status: 'self' or 'other'
    nik_enc: str | None = None  # status: the NIK waiting for a proof (encrypted, base64)
    kpj_enc: str | None = None  # status: the KPJ typed before the NIK (encrypted, base64)
    request: int | None = None  # status: the link request waiting for its code
    sector: str | None = None  # iuran: the kind of work chosen
    question_id: int | None = None  # answer: the question being answered


async def flow_state(db: Database, telegram_id: int, flow: str) -> FlowState | None:
    """The step and answers of a person's status/claims/iuran/answer flow, if they are in it."""
    row = await db.fetchone(
        "SELECT step, data FROM membership_flow_state WHERE telegram_id = ? AND flow = ?",
        (telegram_id, flow),
    )
    if row is None:
        return None
    return FlowState.model_validate({**json.loads(row["data"]), "step": row["step"]})


async def set_flow_state(
    db: Database, telegram_id: int, flow: str, step: str, **data: Any
) -> None:
    """Store the step a flow waits at and make it the person's active flow, in one commit."""
    state = (
        "INSERT INTO membership_flow_state(telegram_id, flow, step, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(telegram_id) DO UPDATE SET flow = excluded.flow, step = excluded.step, "
        "data = excluded.data, updated_at = ?",
        (telegram_id, flow, step, json.dumps(data), now_text()),
    )
    await flows.commit_step(db, telegram_id, flow, [state])


async def end_flow(db: Database, telegram_id: int, flow: str) -> None:
    """Forget a flow's state and leave it (if it is still the active one)."""
    await db.apply([_forget_state(telegram_id, flow), flows.leave(telegram_id, flow)])


async def clear_flow_state(db: Database, telegram_id: int, flow: str) -> None:
    """Forget a flow's state (the caller handles users.active_flow)."""
    await db.apply([_forget_state(telegram_id, flow)])


def _forget_state(telegram_id: int, flow: str) -> Change:
    return (
        "DELETE FROM membership_flow_state WHERE telegram_id = ? AND flow = ?",
        (telegram_id, flow),
    )
