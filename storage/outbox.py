"""Broadcasts and the outbox: one row per message to one chat, claimed with a lease, then marked.

Times are UTC strings with milliseconds (`2026-01-05T01:02:03.456Z`, see `stamp`) so that they
compare correctly as text. A row is `pending` until a sender claims it (`sending`, with
`lease_until`); after the Bot API answers it becomes `sent`, `failed`, `blocked` or goes back to
`pending` for a retry. A row still `sending` after its lease is claimed again: that is the only
way a message can go out twice, and only for rows that were in flight when a sender died.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from storage import flows
from storage.db import Conn, Database, TransactionView, now_text
from storage.flows import KEEP, Pointer
from storage.users import WHATSAPP_BASE

AUDIENCES = ("cadres", "workers", "all")
# Registration states a broadcast to workers can be limited to ('any': every submitted one).
WORKER_STATES = ("any", "diajukan", "perlu_perbaikan", "disetujui", "terdaftar", "ditolak")
FINAL = ("sent", "failed", "blocked", "skipped")

# Broadcast columns a draft step may set.
_DRAFT_FIELDS = frozenset({"step", "text", "audience", "worker_state", "region_code", "send_at"})


def stamp(moment: dt.datetime) -> str:
    """A moment as the outbox stores it: UTC, milliseconds, `Z`."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_stamp(value: str) -> dt.datetime:
    """The moment of a stored stamp."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- broadcasts -----------------------------------------------------------------------------


class BroadcastStatus(StrEnum):
    """A broadcast's life: written, waiting for its time, sending, then done or cancelled."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(BaseModel):
    """One row of `broadcasts` (with its recipients' counts by outbox status, where read)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    author_id: int
    status: BroadcastStatus = BroadcastStatus.DRAFT
    step: str | None = None
    text: str | None = None
    audience: str | None = None  # one of AUDIENCES
    worker_state: str | None = None  # one of WORKER_STATES, or None
    region_code: str | None = None
    send_at: str | None = None  # a stamp; None: now
    recipients: int = 0
    progress_chat_id: int | None = None
    progress_message_id: int | None = None
    progress_at: str | None = None
    created_at: str = ""
    queued_at: str | None = None
    finished_at: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)


def _broadcast(row: Any | None) -> Broadcast | None:
    return None if row is None else Broadcast.model_validate(dict(row))


async def draft_of(db: Database, author_id: int) -> Broadcast | None:
    """The broadcast an author is writing, if any."""
    row = await db.fetchone(
        "SELECT * FROM broadcasts WHERE author_id = ? AND status = 'draft'", (author_id,)
    )
    return _broadcast(row)


async def new_draft(db: Database, author_id: int, step: str, *, flow: Pointer = KEEP) -> int:
    """Start a broadcast draft (replacing an unsent one), with the author's active-flow pointer
    (unless KEEP) in the same transaction; returns its id."""
    async with db.write() as conn:
        await conn.execute(
            "DELETE FROM broadcasts WHERE author_id = ? AND status = 'draft'", (author_id,)
        )
        cursor = await conn.execute(
            "INSERT INTO broadcasts(author_id, step) VALUES (?, ?) RETURNING id", (author_id, step)
        )
        row = await cursor.fetchone()
        assert row is not None
        if flow is not KEEP:
            await conn.execute(*flows.pointer(author_id, flow))
        return int(row[0])


async def update_draft(
    db: Database,
    broadcast_id: int,
    *,
    author_id: int | None = None,
    flow: Pointer = KEEP,
    **fields: Any,
) -> bool:
    """Store answers on a draft, with its author's active-flow pointer (unless KEEP; then
    `author_id` is needed) in the same commit; False if it is no longer a draft."""
    unknown = set(fields) - _DRAFT_FIELDS
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    answers = (
        f"UPDATE broadcasts SET {assignments} WHERE id = ? AND status = 'draft'",
        [*fields.values(), broadcast_id],
    )
    if flow is KEEP:
        return (await db.execute(*answers)) > 0
    if author_id is None:
        raise ValueError("a pointer needs the draft's author_id")
    return (await flows.commit_step(db, author_id, flow, [answers]))[0] > 0


async def delete_draft(db: Database, author_id: int, *, flow: Pointer = KEEP) -> int:
    """Discard an author's unsent draft, with their active-flow pointer (unless KEEP) in the
    same commit; returns how many rows went."""
    discard = ("DELETE FROM broadcasts WHERE author_id = ? AND status = 'draft'", (author_id,))
    if flow is KEEP:
        return await db.execute(*discard)
    return (await flows.commit_step(db, author_id, flow, [discard]))[0]


async def get(db: Database, broadcast_id: int) -> Broadcast | None:
    """One broadcast by id."""
    row = await db.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
    return _broadcast(row)


async def recent(db: Database, author_id: int | None, limit: int = 5) -> list[Broadcast]:
    """Recent broadcasts (of one author, or all) with their counts, newest first."""
    where = "status != 'draft'" + ("" if author_id is None else " AND author_id = ?")
    params: list[Any] = [] if author_id is None else [author_id]
    rows = await db.fetchall(
        f"SELECT * FROM broadcasts WHERE {where} ORDER BY id DESC LIMIT ?", [*params, limit]
    )
    return [
        Broadcast.model_validate({**dict(row), "counts": await counts(db, row["id"])})
        for row in rows
    ]


async def counts(db: Database, broadcast_id: int) -> dict[str, int]:
    """A broadcast's recipients by outbox status (pending, sending, sent, failed, …)."""
    rows = await db.fetchall(
        "SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ? AND kind = 'broadcast' "
        "GROUP BY status",
        (broadcast_id,),
    )
    result = {status: 0 for status in ("pending", "sending", *FINAL)}
    result.update({r[0]: r[1] for r in rows})
    return result


def _recipients_sql(audience: str, worker_state: str | None, region: str) -> tuple[str, list[Any]]:
    """SELECT chat_id of everyone a broadcast reaches now (opted-out and blocked left out)."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    parts: list[str] = []
    params: list[Any] = []
    if audience in ("cadres", "all"):
        parts.append(
            "SELECT telegram_id AS chat_id FROM roles WHERE role = 'cadre' "
            "AND revoked_at IS NULL AND (region_code = ? OR region_code LIKE ? || '.%')"
        )
        params += [region, region]
    if audience in ("workers", "all"):
        state = worker_state or "any"
        if state not in WORKER_STATES:
            raise ValueError(f"unknown worker state {state!r}")
        sql = (
            "SELECT worker_telegram_id AS chat_id FROM registrations "
            "WHERE worker_telegram_id IS NOT NULL AND status != 'draft' "
            "AND (desa_code = ? OR desa_code LIKE ? || '.%')"
        )
        params += [region, region]
        if state != "any":
            sql += " AND status = ?"
            params.append(state)
        parts.append(sql)
    union = " UNION ".join(parts)
    return (
        f"SELECT r.chat_id FROM ({union}) r LEFT JOIN users u ON u.telegram_id = r.chat_id "
        "WHERE u.broadcasts_off_at IS NULL AND u.blocked_at IS NULL",
        params,
    )


async def count_recipients(
    db: Database, audience: str, worker_state: str | None, region: str
) -> dict[str, int]:
    """How many people a broadcast would reach: total, cadres, workers."""
    result = {}
    for part in ("all", "cadres", "workers"):
        if audience != "all" and part != "all" and part != audience:
            result[part] = 0
            continue
        sql, params = _recipients_sql(audience if part == "all" else part, worker_state, region)
        value = await db.fetchval(f"SELECT COUNT(*) FROM ({sql}) AS reached", params)
        result[part] = int(value or 0)
    return result


async def queue(
    db: Database, broadcast_id: int, send_at: str, now: str, *, flow: Pointer = KEEP
) -> int | None:
    """Turn a complete draft into outbox rows (one per recipient), atomically; once queued, the
    author's active-flow pointer (unless KEEP) is set in the same transaction.

    Returns the number of recipients, or None if the draft is gone or incomplete.
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "SELECT * FROM broadcasts WHERE id = ? AND status = 'draft'", (broadcast_id,)
        )
        draft = await cursor.fetchone()
        if draft is None or not draft["text"] or not draft["audience"] or not draft["region_code"]:
            return None
        sql, params = _recipients_sql(
            draft["audience"], draft["worker_state"], draft["region_code"]
        )
        cursor = await conn.execute(
            "INSERT INTO outbox(kind, broadcast_id, chat_id, not_before) "
            "SELECT 'broadcast', CAST(? AS INTEGER), chat_id, CAST(? AS TEXT) "
            f"FROM ({sql}) AS reached ORDER BY chat_id",
            [broadcast_id, send_at, *params],
        )
        recipients = cursor.rowcount
        status = "scheduled" if send_at > now else "sending"
        await conn.execute(
            "UPDATE broadcasts SET status = ?, step = NULL, send_at = ?, recipients = ?, "
            "queued_at = ? WHERE id = ?",
            (status, send_at, recipients, now, broadcast_id),
        )
        if flow is not KEEP:
            await conn.execute(*flows.pointer(draft["author_id"], flow))
        return recipients


async def set_progress_message(
    db: Database, broadcast_id: int, chat_id: int, message_id: int
) -> None:
    """Remember the author's progress line, which the sender edits in place."""
    await db.execute(
        "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
        (chat_id, message_id, broadcast_id),
    )


async def cancel(db: Database, broadcast_id: int) -> int | None:
    """Cancel a scheduled broadcast before it starts; returns skipped rows or None."""
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE broadcasts SET status = 'cancelled' WHERE id = ? AND status = 'scheduled'",
            (broadcast_id,),
        )
        if cursor.rowcount == 0:
            return None
        cursor = await conn.execute(
            "UPDATE outbox SET status = 'skipped', error = 'cancelled' "
            "WHERE broadcast_id = ? AND status = 'pending'",
            (broadcast_id,),
        )
        return cursor.rowcount


async def running(db: Database) -> list[Broadcast]:
    """Broadcasts that are sending (for progress lines and completion)."""
    rows = await db.fetchall("SELECT * FROM broadcasts WHERE status = 'sending' ORDER BY id")
    return [Broadcast.model_validate(dict(r)) for r in rows]


async def touch_progress(db: Database, broadcast_id: int, now: str) -> None:
    """Record when the progress line was last edited."""
    await db.execute("UPDATE broadcasts SET progress_at = ? WHERE id = ?", (now, broadcast_id))


async def finish(db: Database, broadcast_id: int, now: str, report: str | None) -> bool:
    """Mark a broadcast done once nothing is left to send, queueing the author's report with it.

    False if rows are still pending or in flight, or it was finished already.
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE broadcasts SET status = 'done', finished_at = ? WHERE id = ? "
            "AND status = 'sending' AND NOT EXISTS (SELECT 1 FROM outbox WHERE broadcast_id = ? "
            "AND kind = 'broadcast' AND status IN ('pending', 'sending'))",
            (now, broadcast_id, broadcast_id),
        )
        if cursor.rowcount == 0:
            return False
        if report is not None:
            await conn.execute(
                "INSERT INTO outbox(kind, broadcast_id, chat_id, text, not_before) "
                "SELECT 'report', id, author_id, CAST(? AS TEXT), CAST(? AS TEXT) FROM broadcasts "
                "WHERE id = ?",
                (report, now, broadcast_id),
            )
        return True


# --- the outbox -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A claimed outbox row, ready to send."""

    id: int
    kind: str
    broadcast_id: int | None
    chat_id: int
    text: str
    buttons: list[list[tuple[str, str]]]
    attempts: int


async def enqueue(
    conn: Conn,
    kind: str,
    chat_id: int,
    text: str,
    buttons: Sequence[Sequence[tuple[str, str]]] | None = None,
    not_before: str | None = None,
) -> int:
    """Add one message (a reminder, a report, a notice) inside the caller's write transaction.

    Notices of a decision are queued in the decision's own transaction: both commit or neither.
    """
    cursor = await conn.execute(
        "INSERT INTO outbox(kind, chat_id, text, buttons, not_before) VALUES "
        "(?, ?, ?, ?, ?) RETURNING id",
        (
            kind,
            chat_id,
            text,
            json.dumps([[list(b) for b in row] for row in buttons]) if buttons else None,
            now_text(milliseconds=True) if not_before is None else not_before,
        ),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


def reads_in(db: Database, conn: Conn) -> Database:
    """`db` whose reads run on `conn`, inside its open write transaction (its rows visible).

    For rendering notices from the state a decision is about to commit. Only read through it:
    its `write()` would try to open a second transaction on the same connection.
    """
    return TransactionView(db.engine, conn)


def _channels_sql(
    skip_whatsapp: bool, skip_telegram: bool = False, column: str = "chat_id"
) -> tuple[str, list[Any]]:
    """The condition leaving one channel's rows out, with its parameters (WhatsApp ids are
    above WHATSAPP_BASE, storage/users.py)."""
    if skip_whatsapp and skip_telegram:
        return "AND 1 = 0 ", []
    if skip_whatsapp:
        return f"AND {column} < ? ", [WHATSAPP_BASE]
    if skip_telegram:
        return f"AND {column} > ? ", [WHATSAPP_BASE]
    return "", []


def _buttons(stored: str | None) -> list[list[tuple[str, str]]]:
    """A row's stored buttons as rows of (label, callback data); what is not such a pair (a
    hand edit, an older version's shape) is left out, so that one row never stops the claim."""
    try:
        rows = json.loads(stored or "[]")
    except ValueError:
        return []
    if not isinstance(rows, list):
        return []
    kept = [
        [
            (button[0], button[1])
            for button in row
            if isinstance(button, list | tuple)
            and len(button) == 2
            and all(isinstance(part, str) for part in button)
        ]
        for row in rows
        if isinstance(row, list)
    ]
    return [row for row in kept if row]


async def claim_ids(
    db: Database,
    row_ids: Sequence[int],
    now: str,
    lease_until: str,
    *,
    skip_whatsapp: bool = False,
) -> list[Message]:
    """Claim these rows (committed just now) if still pending: for sending them at once.

    A row the background sender claimed first is left to it, so each row goes out once.
    With `skip_whatsapp` (that channel stopped), WhatsApp rows stay pending.
    """
    if not row_ids:
        return []
    marks = ", ".join("?" for _ in row_ids)
    channels, channel_params = _channels_sql(skip_whatsapp)
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = ?, "
            f"lease_until = ? WHERE id IN ({marks}) AND status = 'pending' {channels}"
            "AND chat_id NOT IN (SELECT telegram_id FROM users WHERE blocked_at IS NOT NULL) "
            "RETURNING id, kind, broadcast_id, chat_id, text, buttons, attempts",
            [now, lease_until, *row_ids, *channel_params],
        )
        rows = await cursor.fetchall()
    return sorted(
        (
            Message(
                id=row["id"],
                kind=row["kind"],
                broadcast_id=row["broadcast_id"],
                chat_id=row["chat_id"],
                text=row["text"] or "",
                buttons=_buttons(row["buttons"]),
                attempts=row["attempts"],
            )
            for row in rows
        ),
        key=lambda m: m.id,
    )


async def claim(
    db: Database,
    limit: int,
    now: str,
    lease_until: str,
    busy_chats: Sequence[int] = (),
    *,
    skip_whatsapp: bool = False,
    skip_telegram: bool = False,
) -> list[Message]:
    """Claim up to `limit` due rows, one per chat and none for `busy_chats`, with a lease.

    Rows whose lease lapsed (their sender died) are due again. Rows for people who stopped
    broadcasts (broadcast rows) or blocked the bot (any row) are marked skipped instead.
    With `skip_whatsapp` (that channel stopped or paused) WhatsApp rows are left pending,
    untouched; `skip_telegram` does the same for Telegram rows.
    """
    if limit <= 0:
        return []
    busy = ", ".join("?" for _ in busy_chats)
    not_busy = f"AND o.chat_id NOT IN ({busy}) " if busy_chats else ""
    channels, channel_params = _channels_sql(skip_whatsapp, skip_telegram, "o.chat_id")
    async with db.write() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND lease_until < ?",
            (now,),
        )
        cursor = await conn.execute(
            "SELECT o.id, o.kind, o.broadcast_id, o.chat_id, o.text, o.buttons, o.attempts, "
            "b.text AS broadcast_text, u.broadcasts_off_at, u.blocked_at "
            "FROM outbox o LEFT JOIN broadcasts b ON b.id = o.broadcast_id "
            "LEFT JOIN users u ON u.telegram_id = o.chat_id "
            f"WHERE o.status = 'pending' AND o.not_before <= ? {not_busy}{channels}"
            "ORDER BY o.not_before, o.id LIMIT ?",
            [now, *busy_chats, *channel_params, limit * 4],
        )
        rows = await cursor.fetchall()
        claimed: list[Message] = []
        skipped: list[int] = []
        chats: set[int] = set()
        for row in rows:
            if row["chat_id"] in chats:
                continue  # one message per chat per batch: the per-chat pace
            opted_out = row["kind"] == "broadcast" and row["broadcasts_off_at"] is not None
            if opted_out or row["blocked_at"] is not None:
                skipped.append(row["id"])
                continue
            if len(claimed) >= limit:
                continue
            chats.add(row["chat_id"])
            claimed.append(
                Message(
                    id=row["id"],
                    kind=row["kind"],
                    broadcast_id=row["broadcast_id"],
                    chat_id=row["chat_id"],
                    text=row["text"] if row["text"] is not None else row["broadcast_text"] or "",
                    buttons=_buttons(row["buttons"]),
                    attempts=row["attempts"] + 1,
                )
            )
        if skipped:
            marks = ", ".join("?" for _ in skipped)
            await conn.execute(
                f"UPDATE outbox SET status = 'skipped', done_at = ?, error = 'stopped' "
                f"WHERE id IN ({marks})",
                [now, *skipped],
            )
        if claimed:
            marks = ", ".join("?" for _ in claimed)
            ids = [m.id for m in claimed]
            await conn.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = ?, "
                f"lease_until = ? WHERE id IN ({marks})",
                [now, lease_until, *ids],
            )
            broadcast_ids = sorted({m.broadcast_id for m in claimed if m.broadcast_id})
            if broadcast_ids:
                marks = ", ".join("?" for _ in broadcast_ids)
                await conn.execute(
                    f"UPDATE broadcasts SET status = 'sending' WHERE id IN ({marks}) "
                    "AND status = 'scheduled'",
                    broadcast_ids,
                )
        return claimed


async def mark(
    db: Database,
    row_id: int,
    status: str,
    now: str,
    error: str | None = None,
    *,
    sent_message_id: int | None = None,
) -> None:
    """Record the Bot API's final answer for a claimed row (and the id of the sent message)."""
    if status not in FINAL:
        raise ValueError(f"not a final status: {status!r}")
    await db.execute(
        "UPDATE outbox SET status = ?, done_at = ?, error = ?, lease_until = NULL, "
        "sent_message_id = ? WHERE id = ? AND status = 'sending'",
        (status, now, error, sent_message_id, row_id),
    )


async def mark_blocked(db: Database, row_id: int, chat_id: int, now: str) -> None:
    """The person blocked the bot: the row is blocked and the person skipped until they write."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE outbox SET status = 'blocked', done_at = ?, error = 'forbidden', "
            "lease_until = NULL WHERE id = ? AND status = 'sending'",
            (now, row_id),
        )
        await conn.execute(
            "INSERT INTO users(telegram_id, blocked_at) VALUES (?, ?) ON CONFLICT(telegram_id) "
            "DO UPDATE SET blocked_at = excluded.blocked_at",
            (chat_id, now),
        )


# WhatsApp's delivery reports of sent rows (status webhooks), by the chat and the message id
# the send returned (`sent_message_id`). Reports may arrive out of order: a later one never
# replaces a report further along ('read' stays 'read'); 'failed' always counts.
DELIVERIES = ("sent", "delivered", "read", "failed")
_REPLACES = {"sent": (), "delivered": ("sent",), "read": ("sent", "delivered")}


async def record_delivery(
    db: Database, chat_id: int, sent_message_id: int, delivery: str, error: str | None
) -> None:
    """Store the channel's delivery report of a sent row (and its error when it failed).

    A report of another kind (WhatsApp adds some now and then) changes nothing.
    """
    if delivery not in DELIVERIES:
        return
    if delivery == "failed":
        await db.execute(
            "UPDATE outbox SET delivery = 'failed', error = ? "
            "WHERE chat_id = ? AND sent_message_id = ?",
            (error, chat_id, sent_message_id),
        )
        return
    replaces = " OR ".join(
        ["delivery IS NULL", *(f"delivery = '{d}'" for d in _REPLACES[delivery])]
    )
    await db.execute(
        "UPDATE outbox SET delivery = ? WHERE chat_id = ? AND sent_message_id = ? "
        f"AND ({replaces})",
        (delivery, chat_id, sent_message_id),
    )


async def requeue_sent(db: Database, chat_id: int, sent_message_id: int) -> bool:
    """Send a 'sent' row again (it was not delivered: the 24-hour window had closed).

    The row is pending and due now; the retry goes out as a template. False if no such row.
    """
    changed = await db.execute(
        "UPDATE outbox SET status = 'pending', done_at = NULL, delivery = NULL, "
        "sent_message_id = NULL, error = 'window_closed', not_before = ? "
        "WHERE chat_id = ? AND sent_message_id = ? AND status = 'sent'",
        (now_text(milliseconds=True), chat_id, sent_message_id),
    )
    return changed > 0


async def mark_sent_blocked(db: Database, chat_id: int, sent_message_id: int, now: str) -> bool:
    """The channel says the person cannot get messages from the bot (WhatsApp 131026).

    The row sent with that message id becomes blocked and the person is skipped until they
    write again, as after a Telegram 403 (`mark_blocked`). Returns whether an outbox row was
    that message (a reply sent by a flow has none; the person is marked all the same).
    """
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET status = 'blocked', error = 'undeliverable', delivery = 'failed' "
            "WHERE chat_id = ? AND sent_message_id = ? AND status = 'sent'",
            (chat_id, sent_message_id),
        )
        await conn.execute(
            "INSERT INTO users(telegram_id, blocked_at) VALUES (?, ?) ON CONFLICT(telegram_id) "
            "DO UPDATE SET blocked_at = excluded.blocked_at",
            (chat_id, now),
        )
        return cursor.rowcount > 0


async def retry_later(db: Database, row_id: int, not_before: str, error: str | None) -> None:
    """Put a claimed row back in the queue, due again at `not_before`."""
    await db.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, error = ?, lease_until = NULL "
        "WHERE id = ? AND status = 'sending'",
        (not_before, error, row_id),
    )


async def release(db: Database, row_id: int) -> None:
    """Give a claimed row back untouched (flood wait, shutdown): its attempt does not count."""
    await db.execute(
        "UPDATE outbox SET status = 'pending', "
        "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
        "lease_until = NULL WHERE id = ? AND status = 'sending'",
        (row_id,),
    )


async def next_due(db: Database, *, skip_whatsapp: bool = False) -> str | None:
    """When the next pending row becomes due (or a lease lapses), if any.

    With `skip_whatsapp`, pending WhatsApp rows (their channel stopped or paused) are left out.
    """
    channels, params = _channels_sql(skip_whatsapp)
    value = await db.fetchval(
        "SELECT MIN(t) FROM (SELECT MIN(not_before) AS t FROM outbox WHERE status = 'pending' "
        f"{channels}UNION ALL "
        "SELECT MIN(lease_until) FROM outbox WHERE status = 'sending') AS due",
        params,
    )
    return None if value is None else str(value)


async def status_of(db: Database, row_id: int) -> str | None:
    """The status of one outbox row."""
    value = await db.fetchval("SELECT status FROM outbox WHERE id = ?", (row_id,))
    return None if value is None else str(value)


# --- who wants (and can get) broadcasts -------------------------------------------------------


async def set_broadcasts_off(db: Database, telegram_id: int, off: bool, now: str) -> None:
    """Stop (/berhenti) or resume (/mulai) broadcasts for a person."""
    await db.execute(
        "INSERT INTO users(telegram_id, broadcasts_off_at) VALUES (?, ?) "
        "ON CONFLICT(telegram_id) DO UPDATE SET broadcasts_off_at = excluded.broadcasts_off_at",
        (telegram_id, now if off else None),
    )


async def block_person(db: Database, telegram_id: int, now: str) -> None:
    """Telegram says the person blocked the bot: skipped until they write again."""
    await db.execute(
        "INSERT INTO users(telegram_id, blocked_at) VALUES (?, ?) ON CONFLICT(telegram_id) "
        "DO UPDATE SET blocked_at = excluded.blocked_at",
        (telegram_id, now),
    )


async def unblock_if_blocked(db: Database, telegram_id: int) -> bool:
    """A person marked blocked wrote to the bot: they can be messaged again. True if changed."""
    blocked = await db.fetchval(
        "SELECT blocked_at FROM users WHERE telegram_id = ?", (telegram_id,)
    )
    if blocked is None:
        return False  # the common case: one read, no write transaction
    changed = await db.execute(
        "UPDATE users SET blocked_at = NULL WHERE telegram_id = ? AND blocked_at IS NOT NULL",
        (telegram_id,),
    )
    return changed > 0


async def renew(db: Database, row_ids: Sequence[int], lease_until: str) -> None:
    """Extend the lease of rows this sender still has in flight (its heartbeat)."""
    if not row_ids:
        return
    marks = ", ".join("?" for _ in row_ids)
    await db.execute(
        f"UPDATE outbox SET lease_until = ? WHERE id IN ({marks}) AND status = 'sending'",
        [lease_until, *row_ids],
    )
