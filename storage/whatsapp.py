"""WhatsApp's own tables: the webhook inbox, each person's 24-hour window, the messages sent.

A WhatsApp person's id is `WHATSAPP_BASE + wa_id` (bot/channels.py). Incoming events are stored
once per WhatsApp message id (Meta redelivers an event until the webhook answers), handled in
arrival order and replayed at start if the process died before finishing them; what the person
typed is cleared from the row once handled. Every write transaction of a message's handling marks
its row applied (storage/db.py `handling_row`): one replayed after that is not handled again.
Receiving a message opens the person's customer service window: free-form messages may be sent
for 24 hours after their last message, templates only afterwards. Each message the bot sends
gets a local id (reported to the flows as the sent message's id) with the choices it offered,
looked up again when the person answers it.
Times are UTC with milliseconds (2026-01-05T01:02:03.456Z) so that they sort as text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database, InboxRow, not_handling, now_text


def _now() -> str:
    return now_text(milliseconds=True)


async def receive(
    db: Database, message_id: str, person: int, event: str, lease_seconds: float = 30.0
) -> bool:
    """Store an incoming event, leased to the process that received it (it handles it now), and
    open the person's window; False if it was stored before."""
    now = _now()
    lease_until = now_text(minutes=lease_seconds / 60, milliseconds=True)
    # Two rows, each atomic on its own and checked by nothing else: no database-wide lock.
    async with db.write(serialised=False) as conn:
        cursor = await conn.execute(
            "INSERT INTO whatsapp_inbox(message_id, person, event, received_at, lease_until) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
            (message_id, person, event, now, lease_until),
        )
        if cursor.rowcount <= 0:
            return False  # a redelivery: the window was opened by the first delivery
        await conn.execute(
            "INSERT INTO whatsapp_contacts(person, last_inbound_at) VALUES (?, ?) "
            "ON CONFLICT (person) DO UPDATE SET last_inbound_at = excluded.last_inbound_at",
            (person, now),
        )
    return True


@dataclass(frozen=True)
class Stored:
    """Where a stored message stands."""

    seq: int
    applied: bool  # a write transaction of its handling committed (the answer is stored)
    done: bool

    @property
    def row(self) -> InboxRow:
        """The row, for `storage.db.handling`."""
        return InboxRow("whatsapp_inbox", self.seq)


async def stored(db: Database, message_id: str) -> Stored | None:
    """Where the message stands, read as it is about to be handled; None if not stored."""
    row = await db.fetchone(
        "SELECT seq, applied_at, done_at FROM whatsapp_inbox WHERE message_id = ?", (message_id,)
    )
    if row is None:
        return None
    return Stored(int(row[0]), row[1] is not None, row[2] is not None)


async def pending(db: Database) -> list[tuple[str, int, str]]:
    """(message id, person, event) of every event not yet handled, in arrival order."""
    rows = await db.fetchall(
        "SELECT message_id, person, event FROM whatsapp_inbox WHERE done_at IS NULL ORDER BY seq"
    )
    return [(str(r[0]), int(r[1]), str(r[2] or "")) for r in rows]


async def claim_stale(db: Database, lease_seconds: float) -> list[tuple[str, int, str]]:
    """Take the events whose handler's lease lapsed (its process died before finishing them),
    with a new lease of `lease_seconds`: (message id, person, event), in arrival order. Several
    processes may ask at once; each event goes to one of them."""
    now = _now()
    lease_until = now_text(minutes=lease_seconds / 60, milliseconds=True)
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE whatsapp_inbox SET lease_until = ? WHERE done_at IS NULL "
            "AND (lease_until IS NULL OR lease_until < ?) "
            "RETURNING seq, message_id, person, event",
            (lease_until, now),
        )
        rows = await cursor.fetchall()
    return [(str(r[1]), int(r[2]), str(r[3] or "")) for r in sorted(rows, key=lambda r: r[0])]


async def done(db: Database, message_id: str) -> None:
    """The event is handled: it is not replayed, and what the person sent is forgotten."""
    await db.execute(
        "UPDATE whatsapp_inbox SET done_at = ?, event = NULL "
        "WHERE message_id = ? AND done_at IS NULL",
        (_now(), message_id),
    )


async def last_inbound(db: Database, person: int) -> dt.datetime | None:
    """When the person last wrote (UTC), or None if unknown or forgotten."""
    value = await db.fetchval(
        "SELECT last_inbound_at FROM whatsapp_contacts WHERE person = ?", (person,)
    )
    if value is None:
        return None
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)


async def forget_window(db: Database, person: int) -> None:
    """WhatsApp says the window is closed: the next message to the person is a template."""
    await db.execute("DELETE FROM whatsapp_contacts WHERE person = ?", (person,))


async def record_message(db: Database, person: int, choices: str) -> int:
    """Remember a message about to be sent with the choices it offers; returns its local id."""
    with not_handling():  # the channel's record, not an answer: a replay still answers
        return await db.insert(
            "INSERT INTO whatsapp_messages(person, choices, created_at) VALUES (?, ?, ?) "
            "RETURNING message_id",
            (person, choices, _now()),
        )


async def set_wamid(db: Database, message_id: int, wamid: str) -> None:
    """Store WhatsApp's id of a sent message (its delivery reports name it)."""
    with not_handling():  # the channel's record, not an answer
        await db.execute(
            "UPDATE whatsapp_messages SET wamid = ? WHERE message_id = ?", (wamid, message_id)
        )


async def message_choices(db: Database, person: int, message_id: int) -> str | None:
    """The choices of a message sent to this person (None: not theirs, or purged)."""
    value = await db.fetchval(
        "SELECT choices FROM whatsapp_messages WHERE message_id = ? AND person = ?",
        (message_id, person),
    )
    return None if value is None else str(value)


async def message_of_wamid(db: Database, wamid: str) -> tuple[int, int] | None:
    """(person, local message id) of the message WhatsApp knows by `wamid`, if any."""
    row = await db.fetchone(
        "SELECT person, message_id FROM whatsapp_messages WHERE wamid = ? "
        "ORDER BY message_id DESC LIMIT 1",
        (wamid,),
    )
    return None if row is None else (int(row[0]), int(row[1]))


async def purge(db: Database, older_than_days: int = 7) -> int:
    """Delete handled events and sent-message records older than that; returns how many."""
    before = now_text(minutes=-older_than_days * 24 * 60, milliseconds=True)
    async with db.write() as conn:
        events = await conn.execute(
            "DELETE FROM whatsapp_inbox WHERE done_at IS NOT NULL AND done_at < ?", (before,)
        )
        messages = await conn.execute(
            "DELETE FROM whatsapp_messages WHERE created_at < ?", (before,)
        )
        return events.rowcount + messages.rowcount
