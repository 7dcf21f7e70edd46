"""Several bot processes on one PostgreSQL database: one leader, and limits that hold for all.

Each "process" here is an object with its own connections to one database, as two
`jaga run --webhook` processes would have. The rate tests count on a fake clock, not on timing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.fakeapi import RecordingBotApi
from bot.flood import FloodLimiter
from bot.leader import Leader, when_leader
from bot.limits import SharedFlood, SharedRate
from bot.outbox import OutboxSender
from bot.retry import RetryingRateLimiter
from handlers.common import deliverer
from jaga.app import build_application, running
from storage import outbox as outbox_storage
from tests import pg
from tests.conftest import Harness, make_settings

asyncpg = pytest.importorskip("asyncpg")
pytest.importorskip("pgserver", reason="pgserver (PostgreSQL binaries for tests) is not installed")

USER = 4242
OTHER = 4343


pytestmark = pytest.mark.usefixtures("postgres_server")


@pytest.fixture
def url() -> str:
    """A fresh migrated database for the test."""
    return pg.new_database()


@pytest.fixture
async def pools(url: str) -> AsyncIterator[list[Any]]:
    """Two connection pools on the test database: two processes' connections."""
    made = [await asyncpg.create_pool(url, min_size=1, max_size=2) for _ in range(2)]
    try:
        yield made
    finally:
        for pool in made:
            await pool.close()


async def _until(condition: Any, seconds: float = 5.0) -> None:
    """Wait until `condition()` holds (polled), failing after `seconds`."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not hold in time")


# --- the leader --------------------------------------------------------------------------------


async def test_of_two_candidates_exactly_one_leads(url: str) -> None:
    first = Leader(url, retry_seconds=0.05, name="a")
    second = Leader(url, retry_seconds=0.05, name="b")
    await first.start()
    await second.start()
    try:
        assert first.is_leader and not second.is_leader
        await asyncio.sleep(0.3)  # several rounds of retries change nothing
        assert first.is_leader and not second.is_leader
    finally:
        await first.stop()
        await second.stop()


async def test_when_the_leaders_connection_dies_the_other_takes_over(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.leader")
    first = Leader(url, retry_seconds=0.05, rejoin_seconds=1.0, name="a")
    second = Leader(url, retry_seconds=0.05, rejoin_seconds=1.0, name="b")
    await first.start()
    await second.start()
    admin = await asyncpg.connect(url)
    try:
        assert first.is_leader
        # The server ends the leader's session (a crash, a network cut, an operator).
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first.server_pid)
        await _until(lambda: second.is_leader)
        assert not first.is_leader
        # The old leader rests, then keeps trying, but does not lead while the other lives.
        await asyncio.sleep(1.3)
        assert second.is_leader and not first.is_leader
        # A leader that stops gives the leadership up at once.
        await second.stop()
        await _until(lambda: first.is_leader)
    finally:
        await admin.close()
        await first.stop()
        await second.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("event=leader_acquired name=b") for m in messages)
    assert any(m.startswith("event=leader_lost name=a") for m in messages)


async def test_repeating_jobs_do_their_work_only_in_the_leading_process() -> None:
    runs: list[str] = []

    async def job(context: Any) -> None:
        runs.append(context.name)

    wrapped = when_leader(job)
    leading = SimpleNamespace(is_leader=True)
    following = SimpleNamespace(is_leader=False)
    for name, leader in (("leader", leading), ("follower", following), ("sqlite", None)):
        context: Any = SimpleNamespace(name=name, bot_data=SimpleNamespace(leader=leader))
        await wrapped(context)
    assert runs == ["leader", "sqlite"]


# --- the bot-wide send limit -------------------------------------------------------------------


async def test_two_processes_sending_together_keep_the_bot_wide_rate(pools: list[Any]) -> None:
    now = [1_000.0]
    rate, window, step = 30.0, 60.0, 0.1
    processes = [SharedRate(pool, "telegram", rate, clock=lambda: now[0]) for pool in pools]
    sent = [0, 0]
    for turn in range(int(window / step)):
        now[0] += step
        # Both processes send, in turns, as fast as the limiter lets them (no fake waiting).
        sending = [True, True]
        order = [0, 1] if turn % 2 else [1, 0]  # either may ask first
        while any(sending):
            for index in order:
                process = processes[index]
                if sending[index] and await process.try_acquire() == 0.0:
                    sent[index] += 1
                    assert sent[index] < 10 * rate * window, "the limiter never said wait"
                else:
                    sending[index] = False
    total = sum(sent)
    # At most the configured rate (plus one burst, spread over the window: within 1.05x) ...
    assert total <= 1.05 * rate * window
    # ... and not much less: the budget is shared, not wasted, and both processes get a part.
    assert total >= 0.95 * rate * window
    assert min(sent) >= 0.3 * total


async def test_shared_rate_on_the_database_clock_paces_concurrent_senders(
    pools: list[Any],
) -> None:
    rate, seconds = 100.0, 0.6
    processes = [SharedRate(pool, "telegram", rate, burst=5) for pool in pools]
    count = 0
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def send(process: SharedRate) -> None:
        nonlocal count
        while loop.time() < stop_at:
            await process.acquire()
            count += 1

    started = loop.time()
    await asyncio.gather(*(send(p) for p in processes for _ in range(3)))
    elapsed = loop.time() - started
    # Generous: the burst, the batches in hand and the senders woken at the end, on top.
    assert count <= 5 + rate * elapsed * 1.5 + 2 * processes[0].batch + 6
    assert count >= rate * seconds * 0.3


async def test_a_flood_wait_pauses_every_process(pools: list[Any]) -> None:
    now = [50.0]
    first, second = (SharedRate(p, "outbox", 10.0, clock=lambda: now[0]) for p in pools)
    assert await first.try_acquire() == 0.0
    await first.pause(3.0)  # Telegram answered RetryAfter 3 to the first process
    now[0] += 2.9
    wait = await second.try_acquire()
    assert wait > 0
    now[0] += 0.2 + 1 / 10
    assert await second.try_acquire() == 0.0


# --- the per-person flood limit ----------------------------------------------------------------


async def test_the_flood_limit_is_one_bucket_across_processes(pools: list[Any]) -> None:
    burst, rate = 4, 1.0
    processes = [SharedFlood(pool, burst, rate) for pool in pools]
    memory = FloodLimiter(burst, rate, clock=lambda: moments[i])
    # A person's updates at these moments, arriving alternately at the two processes.
    moments = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0, 2.0, 2.1, 2.5, 9.0, 9.1, 9.2]
    shared = []
    single = []
    for i, moment in enumerate(moments):
        shared.append(await processes[i % 2].check(USER, 100.0 + moment))
        single.append(memory.check(USER))
    # The same verdicts as one process's buckets would give: the limit is the person's, not
    # each process's (two in-memory buckets would serve twice the burst).
    assert shared == single
    assert shared[:6] == ["serve"] * 4 + ["warn", "drop"]
    # Someone else has their own bucket.
    assert await processes[1].check(OTHER, 100.7) == "serve"


async def test_flood_buckets_of_calm_people_are_forgotten(pools: list[Any]) -> None:
    process = SharedFlood(pools[0], 3, 1.0)
    for user in (1, 2):
        await process.check(user, 10.0)
    for _ in range(3):
        await process.check(2, 10.5)
    from storage import limits

    assert await limits.forget_calm_people(pools[0], 3.0, 1.0, 12.0) == 1
    assert await pools[0].fetchval("SELECT array_agg(telegram_id) FROM flood_buckets") == [2]


# --- two Applications on one database --------------------------------------------------------


async def test_two_applications_share_the_leader_and_the_limits(tmp_path: Path, url: str) -> None:
    settings = make_settings(tmp_path, db=url, flood_burst=2, flood_rate=0.001)
    apis = RecordingBotApi(), RecordingBotApi()
    first = build_application(settings, request=apis[0])
    second = build_application(settings, request=apis[1])
    async with running(first), running(second):
        a, b = Harness(first, apis[0]), Harness(second, apis[1])
        leaders = [first.bot_data.leader, second.bot_data.leader]
        assert [x is not None and x.is_leader for x in leaders] == [True, False]
        # Both pace Bot API calls by the one bucket in the database.
        assert isinstance(first.bot.rate_limiter, RetryingRateLimiter)
        assert isinstance(first.bot.rate_limiter.overall_limiter, SharedRate)
        # A person's updates reach one process, then the other: one flood bucket.
        assert await a.send(USER, "/bantuan")
        assert await b.send(USER, "/bantuan")
        warned = await a.send(USER, "/bantuan")
        assert [c.text for c in warned] == [
            "Pesan Anda datang terlalu cepat. Mohon tunggu sebentar, lalu kirim lagi pesan "
            "terakhir Anda."
        ]
        assert await b.send(USER, "/bantuan") == []
        # Only the leader's outbox sender claims rows in the background.
        senders = [first.bot_data.outbox, second.bot_data.outbox]
        assert all(isinstance(s, OutboxSender) for s in senders)
        assert [s.leads is not None and s.leads() for s in senders if s] == [True, False]
    assert first.bot_data.leader is None and second.bot_data.leader is None


async def test_a_follower_sender_does_not_claim_the_outbox(tmp_path: Path, url: str) -> None:
    settings = make_settings(tmp_path, db=url)
    app = build_application(settings, request=RecordingBotApi())
    async with running(app):
        sender = app.bot_data.outbox
        assert sender is not None
        await sender.stop()
        db = app.bot_data.db
        await db.insert(
            "INSERT INTO outbox(kind, chat_id, text) VALUES ('notice', ?, 'Halo') RETURNING id",
            (USER,),
        )
        deliver = deliverer(None)(app.bot)
        follower = OutboxSender(
            app.bot, db, deliver=deliver, poll_interval=0.01, leads=lambda: False
        )
        follower.start()
        await asyncio.sleep(0.2)
        await follower.stop()
        assert await outbox_storage.next_due(db) is not None
        assert await db.fetchval("SELECT status FROM outbox") == "pending"
