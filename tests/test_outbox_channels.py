"""The outbox sender with two channels: WhatsApp rows have their own pace, pauses and stop."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiolimiter import AsyncLimiter
from telegram import Bot
from telegram.error import RetryAfter

from bot.channels import ChannelStopped, whatsapp_person
from bot.outbox import OutboxSender
from bot.prompts import Prompt
from storage import outbox
from storage.db import Database

ANI = whatsapp_person("6281234567890")
BUDI = whatsapp_person("6289876543210")
WHATSAPP = [whatsapp_person(f"62812000000{n:02d}") for n in range(10)]
TELEGRAM = list(range(501, 511))


@dataclass
class Call:
    """One message the fake channel was asked to deliver."""

    chat_id: int
    text: str
    kind: str
    at: float
    message_id: int | None  # None: it raised
    labels: tuple[str, ...] = ()  # the choices' labels


@dataclass
class FakeBot:
    """Delivers with increasing message ids, or raises what a test queued."""

    calls: list[Call] = field(default_factory=list)
    raises: dict[int, list[Exception]] = field(default_factory=dict)  # chat -> next errors
    always: dict[int, Callable[[], Exception]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    async def deliver(self, chat_id: int, prompt: Prompt, kind: str) -> int:
        """The outbox's send (bot/outbox.py Deliver), as each channel's adapter does it."""
        text = prompt.text
        await asyncio.sleep(0)
        error: Exception | None = None
        if self.raises.get(chat_id):
            error = self.raises[chat_id].pop(0)
        elif chat_id in self.always:
            error = self.always[chat_id]()
        message_id = None if error else next(self.ids)
        labels = tuple(choice.label for choice in prompt.choices.choices)
        self.calls.append(Call(chat_id, text, kind, time.monotonic(), message_id, labels))
        if error is not None:
            raise error
        assert message_id is not None
        return message_id

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> None:
        """Progress lines: not used by these tests."""

    def sent(self, chat_id: int) -> list[Call]:
        """The calls to a chat that were answered."""
        return [c for c in self.calls if c.chat_id == chat_id and c.message_id is not None]


@dataclass
class CountingLimiter:
    """Telegram's budgets (the bot-wide limiter, the shared pace): counts what is drawn."""

    acquired: int = 0
    paused: list[float] = field(default_factory=list)

    async def acquire(self, amount: float = 1) -> None:
        self.acquired += 1

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


def sender_for(bot: FakeBot, db: Database, **overrides: Any) -> OutboxSender:
    """A sender with test timings on the fake bot."""
    values: dict[str, Any] = {
        "rate": 500.0,
        "whatsapp_rate": 500.0,
        "per_chat_interval": 0.01,
        "lease_seconds": 0.5,
        "backoff_base": 0.05,
        "backoff_max": 0.2,
        "poll_interval": 0.02,
        "progress_interval": 0.05,
    }
    values.update(overrides)
    return OutboxSender(cast(Bot, bot), db, deliver=bot.deliver, **values)


async def enqueue(db: Database, chats: list[int], text: str, kind: str = "reminder") -> list[int]:
    """Queue one message to each chat, due now; the rows' ids."""
    async with db.write() as conn:
        return [await outbox.enqueue(conn, kind, chat, text) for chat in chats]


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait (bounded) for a condition."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def all_sent(db: Database, row_ids: list[int]) -> Callable[[], Awaitable[bool]]:
    """Whether all these rows are sent."""

    async def check() -> bool:
        return all([await outbox.status_of(db, row) == "sent" for row in row_ids])

    return check


async def none_sending(db: Database, row_ids: list[int]) -> bool:
    """Whether none of these rows is claimed (in flight)."""
    return all([await outbox.status_of(db, row) != "sending" for row in row_ids])


async def rows(db: Database, row_ids: list[int]) -> list[tuple[str, int]]:
    """(status, attempts) of each row."""
    out = []
    for row_id in row_ids:
        row = await db.fetchone("SELECT status, attempts FROM outbox WHERE id = ?", (row_id,))
        assert row is not None
        out.append((str(row[0]), int(row[1])))
    return out


async def test_a_whatsapp_row_names_its_kind_and_its_sent_message_is_stored(
    db: Database,
) -> None:
    bot = FakeBot()
    whatsapp_row, telegram_row = await enqueue(db, [ANI], "Pengingat iuran", "reminder") + (
        await enqueue(db, [501], "Kabar", "report")
    )
    sender = sender_for(bot, db)
    sender.start()
    await until(all_sent(db, [whatsapp_row, telegram_row]))
    await sender.stop()
    [to_ani], [to_telegram] = bot.sent(ANI), bot.sent(501)
    # The kind picks WhatsApp's template outside the 24-hour window.
    assert (to_ani.kind, to_telegram.kind) == ("reminder", "report")
    stored = await db.fetchall(
        "SELECT id, sent_message_id FROM outbox WHERE id IN (?, ?) ORDER BY id",
        (whatsapp_row, telegram_row),
    )
    assert [(r[0], r[1]) for r in stored] == [
        (whatsapp_row, to_ani.message_id),
        (telegram_row, to_telegram.message_id),
    ]


async def test_whatsapp_rows_take_whatsapp_pace_and_not_telegrams_budgets(db: Database) -> None:
    bot = FakeBot()
    overall, pace = CountingLimiter(), CountingLimiter()
    sender = sender_for(bot, db, rate=1000.0, whatsapp_rate=10.0, concurrency=20)
    sender.overall, sender.pace = cast(AsyncLimiter, overall), pace
    whatsapp_rows = await enqueue(db, WHATSAPP[:5], "Siaran")
    telegram_rows = await enqueue(db, TELEGRAM[:5], "Siaran")
    sender.start()
    await until(all_sent(db, whatsapp_rows + telegram_rows))
    await sender.stop()
    times = sorted(c.at for c in bot.calls if c.chat_id in WHATSAPP)
    assert len(times) == 5
    # Ten a second: five sends span 0.4 s at least (Telegram's rate would allow 5 ms).
    assert times[-1] - times[0] >= 0.35
    # Telegram's bot-wide budget and shared pace were drawn from by Telegram rows only.
    assert overall.acquired == pace.acquired == 5


async def test_a_whatsapp_flood_wait_pauses_whatsapp_only(db: Database) -> None:
    bot = FakeBot()
    bot.raises[ANI] = [RetryAfter(dt.timedelta(seconds=30))]
    pace = CountingLimiter()
    sender = sender_for(bot, db, whatsapp_rate=20.0, concurrency=20)
    sender.pace = pace
    whatsapp_rows = await enqueue(db, [ANI, BUDI], "Siaran")
    telegram_rows = await enqueue(db, TELEGRAM, "Siaran")
    sender.start()
    await until(all_sent(db, telegram_rows))  # Telegram does not wait the 30 seconds
    await sender.stop(graceful=0.05)
    assert [c.chat_id for c in bot.calls if c.chat_id in (ANI, BUDI)] == [ANI]
    assert sender.whatsapp_bucket.paused and not sender.bucket.paused
    assert pace.paused == []  # the other processes' Telegram pace is not held either
    # Nothing lost and no attempt burnt: both wait in the queue for the pause to end.
    assert await rows(db, whatsapp_rows) == [("pending", 0), ("pending", 0)]


async def test_a_stopped_whatsapp_channel_leaves_its_rows_queued_and_telegram_flowing(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    bot = FakeBot()
    for person in WHATSAPP:
        bot.always[person] = lambda: ChannelStopped("whatsapp")
    sender = sender_for(bot, db, concurrency=8)
    first_whatsapp = await enqueue(db, WHATSAPP[:4], "Siaran")
    first_telegram = await enqueue(db, TELEGRAM[:4], "Siaran")
    with caplog.at_level(logging.INFO, logger="bot.outbox"):
        sender.start()
        await until(all_sent(db, first_telegram))
        await until(lambda: none_sending(db, first_whatsapp))
        assert sender.stopped_channels == {"whatsapp"}
        tried = len([c for c in bot.calls if c.chat_id in WHATSAPP])
        # From now on WhatsApp rows are not even claimed; Telegram rows keep going.
        later_whatsapp = await enqueue(db, WHATSAPP[4:], "Lagi")
        later_telegram = await enqueue(db, TELEGRAM[4:], "Lagi")
        await until(all_sent(db, later_telegram))
        (now_whatsapp,) = await enqueue(db, [ANI], "Sekarang", "report")
        (now_telegram,) = await enqueue(db, [999], "Sekarang", "report")
        await sender.deliver_now([now_whatsapp, now_telegram])
        await sender.stop()
    assert await outbox.status_of(db, now_telegram) == "sent"
    assert len([c for c in bot.calls if c.chat_id in [*WHATSAPP, ANI]]) == tried
    every_whatsapp = first_whatsapp + later_whatsapp + [now_whatsapp]
    assert await rows(db, every_whatsapp) == [("pending", 0)] * len(every_whatsapp)
    stops = [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()]
    assert stops == ["event=whatsapp_stopped reason=token_expired"]


async def test_delivery_reports_requeue_and_undeliverable_rows(db: Database) -> None:
    row_ids = await enqueue(db, [ANI, BUDI, WHATSAPP[0]], "Siaran")
    now = outbox.stamp(dt.datetime.now(dt.UTC))
    lease = outbox.stamp(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    claimed = await outbox.claim(db, 10, now, lease)
    assert sorted(m.id for m in claimed) == row_ids
    for message, sent_id in zip(sorted(claimed, key=lambda m: m.id), (71, 72, 73), strict=True):
        await outbox.mark(db, message.id, "sent", now, sent_message_id=sent_id)
    ani_row, budi_row, third_row = row_ids

    async def delivery(row_id: int) -> tuple[str | None, str | None]:
        row = await db.fetchone("SELECT delivery, error FROM outbox WHERE id = ?", (row_id,))
        assert row is not None
        return row[0], row[1]

    await outbox.record_delivery(db, ANI, 71, "delivered", None)
    await outbox.record_delivery(db, ANI, 72, "read", None)  # not Ani's message: nothing
    assert await delivery(ani_row) == ("delivered", None)
    assert await delivery(budi_row) == (None, None)
    await outbox.record_delivery(db, ANI, 71, "read", None)
    await outbox.record_delivery(db, ANI, 71, "sent", None)  # late: does not undo 'read'
    await outbox.record_delivery(db, ANI, 71, "deleted", None)  # not a report we keep
    assert await delivery(ani_row) == ("read", None)
    await outbox.record_delivery(db, BUDI, 72, "failed", "Re-engagement message")
    assert await delivery(budi_row) == ("failed", "Re-engagement message")

    # The window had closed: the row goes back to the queue, due now, as if never sent.
    assert await outbox.requeue_sent(db, BUDI, 72) is True
    assert await outbox.requeue_sent(db, BUDI, 72) is False  # not 'sent' any more
    assert await outbox.status_of(db, budi_row) == "pending"
    later = outbox.stamp(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    again = await outbox.claim(db, 10, later, lease)
    assert [m.id for m in again] == [budi_row]

    # The person cannot get WhatsApp messages: the row is blocked, and so is the person.
    assert await outbox.mark_sent_blocked(db, WHATSAPP[0], 73, now) is True
    assert await outbox.status_of(db, third_row) == "blocked"
    assert await db.fetchval("SELECT blocked_at FROM users WHERE telegram_id = ?", (WHATSAPP[0],))


async def test_stored_buttons_this_version_cannot_show_never_stop_the_outbox(
    db: Database,
) -> None:
    # A hand edit or an older version: a button of three parts, one outside the grammar, junk.
    shapes = [
        '[["Buka", "", "https://x"]]',
        '[[["Lama", "OLD 1"], ["Cara bayar", "IUR PAY"]]]',
        "{",
    ]
    async with db.write() as conn:
        ids = [await outbox.enqueue(conn, "reminder", 501 + n, f"Pesan {n}") for n in range(4)]
        for row_id, shape in zip(ids, shapes, strict=False):
            await conn.execute("UPDATE outbox SET buttons = ? WHERE id = ?", (shape, row_id))
    bot = FakeBot()
    sender = sender_for(bot, db)
    sender.start()
    await until(all_sent(db, ids))  # every text goes, the last row's untouched
    await sender.stop()
    assert [bot.sent(501 + n)[0].labels for n in range(4)] == [(), ("Cara bayar",), (), ()]


async def test_a_channels_own_failure_is_retried_and_the_sender_goes_on(db: Database) -> None:
    bot = FakeBot(always={ANI: lambda: RuntimeError("the channel's storage is down")})
    failing, fine = await enqueue(db, [ANI, 501], "Pengingat")
    sender = sender_for(bot, db, max_attempts=2)
    sender.start()
    await until(all_sent(db, [fine]))
    await until(lambda: _status_is(db, failing, "failed"))
    await sender.stop()
    assert await rows(db, [failing]) == [("failed", 2)]  # tried again, then given up


async def _status_is(db: Database, row_id: int, status: str) -> bool:
    return await outbox.status_of(db, row_id) == status
