"""The paced outbox sender: flood waits, retries, blocked recipients, and resuming after a kill."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections import Counter
from typing import Any

from bot import outbox as sender_module
from bot.fakeapi import RecordingBotApi
from bot.outbox import OutboxSender, plain_bot
from handlers.common import deliverer
from storage import outbox
from tests.conftest import Harness, HarnessFactory

REGION = "12.10.19.1001"


async def fast_sender(h: Harness, **overrides: Any) -> OutboxSender:
    """Replace the Application's sender by one with test timings (small backoff and lease)."""
    await sender_module.stop_background(h.app)
    values: dict[str, Any] = {
        "rate": 500.0,
        "per_chat_interval": 0.05,
        "lease_seconds": 0.3,
        "backoff_base": 0.05,
        "backoff_max": 0.2,
        "poll_interval": 0.05,
        "progress_interval": 0.05,
    }
    values.update(overrides)
    bot = plain_bot(h.app)
    sender = OutboxSender(bot, h.db, deliver=deliverer(h.app.bot_data.whatsapp)(bot), **values)
    sender.start()
    return sender


async def add_cadres(h: Harness, ids: range | list[int], region: str = REGION) -> None:
    """Cadre roles for many people at once."""
    async with h.db.write() as conn:
        await conn.executemany(
            "INSERT INTO roles(telegram_id, role, region_code, granted_by) "
            "VALUES (?, 'cadre', ?, 'test')",
            [(i, region) for i in ids],
        )


async def queue_broadcast(
    h: Harness, text: str = "Rapat kader hari Senin.", author: int = 9001
) -> int:
    """A broadcast to every cadre in the province, queued now."""
    broadcast_id = await outbox.new_draft(h.db, author, "preview")
    await outbox.update_draft(h.db, broadcast_id, text=text, audience="cadres", region_code="12")
    now = outbox.stamp(dt.datetime.now(dt.UTC))
    assert await outbox.queue(h.db, broadcast_id, now, now) is not None
    return broadcast_id


async def wait_until_done(h: Harness, broadcast_id: int, limit: float = 20.0) -> outbox.Broadcast:
    """Wait (bounded) for the sender to finish a broadcast."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        row = await outbox.get(h.db, broadcast_id)
        assert row is not None
        report = await h.db.fetchval(
            "SELECT status FROM outbox WHERE broadcast_id = ? AND kind = 'report'", (broadcast_id,)
        )
        if row.status == "done" and report in outbox.FINAL:
            return row  # finished, and the author's report answered
        await asyncio.sleep(0.02)
    raise AssertionError(
        f"broadcast {broadcast_id} not done: {await outbox.counts(h.db, broadcast_id)}"
    )


def delivered(api: RecordingBotApi, text: str) -> Counter[int]:
    """How many times each chat received `text` (answered by the stand-in, not failed)."""
    return Counter(
        c.chat_id
        for c in api.calls
        if c.method == "sendMessage" and c.text == text and c.message_id is not None and c.chat_id
    )


async def test_every_cadre_gets_the_broadcast_once(harness: Harness) -> None:
    await add_cadres(harness, range(100, 130))
    sender = await fast_sender(harness)
    broadcast_id = await queue_broadcast(harness)
    await wait_until_done(harness, broadcast_id)
    await sender.stop()
    assert delivered(harness.api, "Rapat kader hari Senin.") == Counter(range(100, 130))
    counts = await outbox.counts(harness.db, broadcast_id)
    assert counts["sent"] == 30 and counts["pending"] == counts["sending"] == 0


async def test_retry_after_pauses_the_sender_and_the_message_is_not_lost(harness: Harness) -> None:
    await add_cadres(harness, range(201, 221))
    harness.api.fail_next("sendMessage", status=429, retry_after=1, chat_id=201)
    sender = await fast_sender(harness, rate=50.0)
    broadcast_id = await queue_broadcast(harness)
    await wait_until_done(harness, broadcast_id)
    await sender.stop()
    calls = [c for c in harness.api.calls if c.method == "sendMessage"]
    to_201 = [c for c in calls if c.chat_id == 201]
    # One flood error, then one delivery: no retry inside the rate limiter on top of ours.
    assert [c.message_id is None for c in to_201] == [True, False]
    flood = to_201[0]
    assert to_201[1].at - flood.at >= 0.95
    # The whole sender paused: apart from sends already under way, nothing went out to anyone
    # during the second Telegram asked for (at 50 a second, 20 messages would have).
    assert [c for c in calls if flood.at + 0.1 < c.at < flood.at + 0.95] == []
    assert delivered(harness.api, "Rapat kader hari Senin.") == Counter(range(201, 221))


async def test_server_errors_are_retried_with_backoff(harness: Harness) -> None:
    await add_cadres(harness, [301, 302])
    harness.api.fail_next("sendMessage", status=502, chat_id=301, times=2)
    sender = await fast_sender(harness)
    broadcast_id = await queue_broadcast(harness)
    await wait_until_done(harness, broadcast_id)
    await sender.stop()
    assert delivered(harness.api, "Rapat kader hari Senin.") == Counter([301, 302])
    attempts = await harness.db.fetchval(
        "SELECT attempts FROM outbox WHERE broadcast_id = ? AND chat_id = 301", (broadcast_id,)
    )
    assert attempts == 3


async def test_a_message_failing_every_attempt_is_marked_failed(harness: Harness) -> None:
    await add_cadres(harness, [311, 312])
    harness.api.fail_next("sendMessage", status=500, chat_id=311, times=10)
    sender = await fast_sender(harness, max_attempts=3)
    broadcast_id = await queue_broadcast(harness)
    await wait_until_done(harness, broadcast_id)
    await sender.stop()
    counts = await outbox.counts(harness.db, broadcast_id)
    assert (counts["sent"], counts["failed"]) == (1, 1)
    # The author's report says so.
    report = harness.api.last(9001).text
    assert "Terkirim: 1" in report and "Gagal: 1" in report


async def test_blocked_recipient_is_skipped_until_they_write_again(harness: Harness) -> None:
    await add_cadres(harness, [401, 402])
    harness.api.fail_next("sendMessage", status=403, chat_id=401)
    sender = await fast_sender(harness)
    first = await queue_broadcast(harness, "Satu")
    await wait_until_done(harness, first)
    assert (await outbox.counts(harness.db, first))["blocked"] == 1
    assert await harness.db.fetchval("SELECT blocked_at FROM users WHERE telegram_id = 401")

    second = await queue_broadcast(harness, "Dua")
    await wait_until_done(harness, second)
    assert delivered(harness.api, "Dua") == Counter([402])

    await harness.send(401, "/start")  # they unblocked the bot and wrote to it
    assert (
        await harness.db.fetchval("SELECT blocked_at FROM users WHERE telegram_id = 401") is None
    )
    third = await queue_broadcast(harness, "Tiga")
    await wait_until_done(harness, third)
    await sender.stop()
    assert delivered(harness.api, "Tiga") == Counter([401, 402])


async def test_messages_to_one_chat_are_spaced(harness: Harness) -> None:
    await add_cadres(harness, [501])
    sender = await fast_sender(harness, per_chat_interval=0.3)
    ids = [await queue_broadcast(harness, f"Pesan {n}") for n in range(3)]
    for broadcast_id in ids:
        await wait_until_done(harness, broadcast_id)
    await sender.stop()
    times = [c.at for c in harness.api.calls if c.method == "sendMessage" and c.chat_id == 501]
    assert len(times) == 3
    assert all(b - a >= 0.29 for a, b in itertools.pairwise(times))


async def test_author_sees_progress_edited_in_place_and_a_final_report(harness: Harness) -> None:
    await add_cadres(harness, range(600, 640))
    progress = await harness.app.bot.send_message(9001, "Siaran diantre")
    sender = await fast_sender(harness, rate=40.0)
    broadcast_id = await queue_broadcast(harness)
    await outbox.set_progress_message(harness.db, broadcast_id, 9001, progress.message_id)
    await wait_until_done(harness, broadcast_id)
    await sender.stop()
    edits = [c for c in harness.api.calls if c.method == "editMessageText"]
    assert edits and {c.params["message_id"] for c in edits} == {progress.message_id}
    assert "selesai" in edits[-1].text
    messages_to_author = [c for c in harness.api.sent(9001) if c.method == "sendMessage"]
    assert len(messages_to_author) == 2  # the progress line and the final report, no more
    assert "Terkirim: 40" in messages_to_author[-1].text


async def test_restart_in_the_middle_misses_nobody(harness_factory: HarnessFactory) -> None:
    text = "Siaran untuk 1000 kader"
    recipients = range(10_000, 11_000)
    async with harness_factory() as first:
        await add_cadres(first, recipients)
        # Every answer takes a moment, so that messages are in flight when the sender dies.
        first.api.delay = lambda call: 0.002 if call.method == "sendMessage" else 0
        sender = await fast_sender(first, rate=2000.0, concurrency=20, lease_seconds=0.5)
        broadcast_id = await queue_broadcast(first, text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while (await outbox.counts(first.db, broadcast_id))["sent"] < 400:
            assert loop.time() < deadline, "the sender made no progress"
            await asyncio.sleep(0.01)
        await sender.stop(graceful=0)  # as if killed: nothing more is written
        in_flight = {
            r[0]
            for r in await first.db.fetchall(
                "SELECT chat_id FROM outbox WHERE broadcast_id = ? AND status = 'sending'",
                (broadcast_id,),
            )
        }
        before = delivered(first.api, text)
        assert 400 <= sum(before.values()) < 1000

    async with harness_factory() as second:
        sender = await fast_sender(second, rate=2000.0, concurrency=20, lease_seconds=0.5)
        await wait_until_done(second, broadcast_id)
        await sender.stop()
        after = delivered(second.api, text)

    total = before + after
    assert set(total) == set(recipients), "someone was missed"
    twice = {chat for chat, n in total.items() if n > 1}
    assert max(total.values()) <= 2
    assert twice <= in_flight, "only messages in flight at the kill may go out twice"


async def test_graceful_stop_puts_unsent_rows_back_in_the_queue(harness: Harness) -> None:
    await add_cadres(harness, range(401, 421))
    # A slow pace: most rows are still waiting for their turn when the sender stops.
    sender = await fast_sender(harness, rate=5.0, concurrency=20)
    broadcast_id = await queue_broadcast(harness)
    for _ in range(250):  # at most 5 s for the first message to go out
        if delivered(harness.api, "Rapat kader hari Senin."):
            break
        await asyncio.sleep(0.02)
    await sender.stop(graceful=0.05)
    counts = await outbox.counts(harness.db, broadcast_id)
    sent = sum(delivered(harness.api, "Rapat kader hari Senin.").values())
    assert 1 <= sent < 20
    # Nothing is left leased: what went out is sent, the rest waits for the next sender at once.
    assert counts["sending"] == 0
    assert counts["sent"] == sent
    assert counts["pending"] == 20 - sent


def _membership(h: Harness, user_id: int, old: str, new: str) -> Any:
    """Telegram's notice that a person changed the bot's membership of their private chat."""

    def member(status: str) -> dict[str, Any]:
        bot = {"user": {"id": 5000, "is_bot": True, "first_name": "Jaga"}, "status": status}
        return {**bot, "until_date": 0} if status == "kicked" else bot

    return h.updates._update(
        my_chat_member={
            "chat": {"id": user_id, "type": "private", "first_name": "Ani"},
            "from": h.updates._user(user_id),
            "date": 0,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    )


async def test_blocking_the_bot_marks_the_person_blocked_and_unblocking_clears_it(
    harness: Harness,
) -> None:
    await add_cadres(harness, [411, 412])
    await harness.send(411, "/start")
    await harness.update(_membership(harness, 411, "member", "kicked"))
    assert await harness.db.fetchval("SELECT blocked_at FROM users WHERE telegram_id = 411")
    sender = await fast_sender(harness)
    broadcast_id = await queue_broadcast(harness, "Satu")
    await wait_until_done(harness, broadcast_id)
    assert delivered(harness.api, "Satu") == Counter([412])
    await harness.update(_membership(harness, 411, "kicked", "member"))
    assert (
        await harness.db.fetchval("SELECT blocked_at FROM users WHERE telegram_id = 411") is None
    )
    await sender.stop()
