"""Several webhook processes on PostgreSQL: the inbox stores each update once, one person in order.

These tests always need PostgreSQL: they start the suite's private server (tests/pg.py) if the run
is on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from bot import inbox as inbox_bot
from bot.fakeapi import RecordingBotApi
from bot.webhook import secret_token
from jaga.app import JagaApplication, build_application, running
from storage import inbox
from tests import pg
from tests.conftest import make_settings

USER = 931
HELP_START = "Cara memakai Jaga Pekerja"


pytestmark = pytest.mark.usefixtures("postgres_server")


def message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A private text message as Telegram posts it (a /command gets its entity)."""
    body: dict[str, Any] = {
        "message_id": update_id,
        "date": 1,
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "A"},
        "text": text,
    }
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": body}


async def receive(db: Any, update_id: int, user_id: int, text: str) -> bool:
    """Store an update as the webhook receiver does."""
    return await inbox.receive(
        db, update_id, user_id, json.dumps(message(update_id, user_id, text))
    )


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait (bounded) until `await condition()` is true."""
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def free_port() -> int:
    """A port nothing listens on, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def bot(
    tmp_path: Path, db: str, *, worker: bool = True, **overrides: Any
) -> AsyncIterator[tuple[JagaApplication, RecordingBotApi, inbox_bot.InboxWorker]]:
    """An Application on database `db` with its inbox worker (started unless `worker=False`)."""
    settings = make_settings(tmp_path, db=db, **overrides)
    api = RecordingBotApi()
    app = build_application(settings, request=api)
    async with running(app):
        api.clear()
        claimer = inbox_bot.InboxWorker(app, poll_seconds=0.2)
        if worker:
            await claimer.start()
        try:
            yield app, api, claimer
        finally:
            await claimer.stop()


async def all_done(db: Any) -> bool:
    return await inbox.pending(db) == 0


# --- receiving -------------------------------------------------------------------------------


async def test_a_retried_delivery_is_stored_once_and_answered_once(tmp_path: Path) -> None:
    async with bot(tmp_path, pg.new_database(), worker=False) as (app, api, worker):
        secret = secret_token(app.bot_data.settings)
        server = inbox_bot.inbox_server(app, "hook", secret)
        port = free_port()
        server.listen(port, address="127.0.0.1")
        try:
            headers = {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": secret,
            }
            body = json.dumps(message(41, USER, "/bantuan"))
            async with httpx.AsyncClient(timeout=5) as client:
                for _ in range(2):  # Telegram delivers again when it missed our answer
                    answer = await client.post(
                        f"http://127.0.0.1:{port}/hook", content=body, headers=headers
                    )
                    assert answer.status_code == 200
        finally:
            server.stop()
            await server.close_all_connections()
        db = app.bot_data.db
        rows = await db.fetchall("SELECT update_id, person, body, done_at FROM inbox")
        assert [(r["update_id"], r["person"], r["done_at"]) for r in rows] == [(41, USER, None)]
        assert json.loads(rows[0]["body"]) == json.loads(body)
        assert api.sent(USER) == []  # stored and acknowledged; not handled by the receiver
        await worker.start()
        await until(lambda: all_done(db))
        assert [c.text.startswith(HELP_START) for c in api.sent(USER)] == [True]


async def test_a_request_without_the_right_secret_is_refused(tmp_path: Path) -> None:
    async with bot(tmp_path, pg.new_database(), worker=False) as (app, _api, _worker):
        secret = secret_token(app.bot_data.settings)
        server = inbox_bot.inbox_server(app, "hook", secret)
        port = free_port()
        server.listen(port, address="127.0.0.1")
        url = f"http://127.0.0.1:{port}/hook"
        body = json.dumps(message(51, USER, "/bantuan"))
        json_type = {"Content-Type": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                for headers in (
                    json_type,
                    {**json_type, "X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    {**json_type, "X-Telegram-Bot-Api-Secret-Token": secret + "x"},
                    {"Content-Type": "text/plain", "X-Telegram-Bot-Api-Secret-Token": secret},
                ):
                    answer = await client.post(url, content=body, headers=headers)
                    assert answer.status_code == 403, headers
                assert await app.bot_data.db.fetchval("SELECT count(*) FROM inbox") == 0
                right = {**json_type, "X-Telegram-Bot-Api-Secret-Token": secret}
                bad = await client.post(url, content=b"{not json", headers=right)
                assert bad.status_code == 400
                ok = await client.post(url, content=body, headers=right)
                assert ok.status_code == 200
        finally:
            server.stop()
            await server.close_all_connections()
        assert await app.bot_data.db.fetchval("SELECT count(*) FROM inbox") == 1


def test_the_sender_is_read_from_the_json_as_from_the_update() -> None:
    """The receiver orders by the sender without building the Update for the common kinds."""
    sent = message(61, USER, "halo")
    anonymous = {k: v for k, v in sent["message"].items() if k != "from"}
    no_sender = {"update_id": 62, "message": anonymous}
    press = {
        "update_id": 63,
        "callback_query": {
            "id": "q",
            "chat_instance": "c",
            "data": "MENU bantuan",
            "from": {"id": 777, "is_bot": False, "first_name": "B"},
            "message": {**sent["message"], "chat": {"id": 555, "type": "private"}},
        },
    }
    edited = {"update_id": 64, "edited_message": {**sent["message"], "edit_date": 2}}
    member = {
        "update_id": 65,
        "my_chat_member": {
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "A"},
            "date": 1,
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True,
                                                             "first_name": "J"}},
            "new_chat_member": {"status": "kicked", "until_date": 0,
                                "user": {"id": 1, "is_bot": True, "first_name": "J"}},
        },
    }  # fmt: skip
    for update in (sent, no_sender, press, edited):
        expected = inbox_bot.person_of(Update.de_json(update, None))
        assert inbox_bot.person_in(json.loads(json.dumps(update))) == expected
    assert [inbox_bot.person_in(u) for u in (sent, no_sender, press)] == [USER, USER, 777]
    # Anything else (and anything malformed) is parsed in full by the receiver.
    assert inbox_bot.person_in(member) is None
    assert inbox_bot.person_in({"update_id": 66, "callback_query": {"id": "q"}}) is None
    assert inbox_bot.person_in({"update_id": "67", "message": sent["message"]}) is None


# --- handling --------------------------------------------------------------------------------


async def test_two_workers_keep_each_persons_order(tmp_path: Path) -> None:
    """Twenty people's updates, interleaved, handled by two processes' workers: each in order."""
    people = list(range(1001, 1021))
    rounds = 5
    handled: list[tuple[int, str, str]] = []  # (person, text, worker)
    busy: set[int] = set()
    overlaps: list[int] = []

    def recorder(name: str) -> Any:
        async def record(update: Update, context: Any) -> None:
            assert update.effective_user is not None and update.message is not None
            person = update.effective_user.id
            if person in busy:
                overlaps.append(person)  # two updates of one person at once
            busy.add(person)
            try:
                handled.append((person, str(update.message.text), name))
                await asyncio.sleep(random.uniform(0, 0.01))
            finally:
                busy.discard(person)
            raise ApplicationHandlerStop  # recorded only: the rest of the bot is not the point

        return record

    url = pg.new_database()
    async with AsyncExitStack() as stack:
        workers = []
        for name in ("a", "b"):
            folder = tmp_path / name
            folder.mkdir()
            app, _api, worker = await stack.enter_async_context(
                bot(folder, url, max_concurrent_updates=3)
            )
            app.add_handler(MessageHandler(filters.TEXT, recorder(name)), group=-100)
            workers.append(worker)
        db = app.bot_data.db
        update_id = 0
        for n in range(rounds):
            for person in people:
                update_id += 1
                await receive(db, update_id, person, f"m{n}")
        await until(lambda: all_done(db), 20)
    assert overlaps == []
    for person in people:
        assert [text for p, text, _ in handled if p == person] == [f"m{n}" for n in range(rounds)]
    assert {name for _, _, name in handled} == {"a", "b"}  # both processes took updates


async def test_a_lapsed_lease_is_taken_over_and_a_live_one_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.inbox")
    other = USER + 1
    async with bot(tmp_path, pg.new_database(), worker=False) as (app, api, worker):
        db = app.bot_data.db
        await receive(db, 61, USER, "/bantuan")
        await receive(db, 62, other, "/bantuan")
        # Both were claimed by a process that died; one lease has lapsed, the other has not.
        await db.execute(
            "UPDATE inbox SET claimed_by = 'dead', lease_until = ? WHERE update_id = 61",
            ("2000-01-01T00:00:00.000Z",),
        )
        await db.execute(
            "UPDATE inbox SET claimed_by = 'dead', lease_until = ? WHERE update_id = 62",
            ("2999-01-01T00:00:00.000Z",),
        )
        await receive(db, 63, USER, "/start")  # the person's next update waits for the first
        claimed = await inbox.claim(db, "probe", 0.001, 10)
        assert [(c.update_id, c.taken_over, c.applied) for c in claimed] == [(61, True, False)]
        await asyncio.sleep(0.01)  # the probe's short lease lapses: the worker may take it
        await worker.start()

        async def first_two_done() -> bool:
            rows = await db.fetchall("SELECT update_id FROM inbox WHERE done_at IS NOT NULL")
            return {r[0] for r in rows} == {61, 63}

        await until(first_two_done)
        texts = [c.text for c in api.sent(USER)]
        assert len(texts) == 2 and texts[0].startswith(HELP_START)  # then /start's menu
        assert api.sent(other) == []  # still leased by the other process
        row = await db.fetchone("SELECT done_at, claimed_by FROM inbox WHERE update_id = 62")
        assert row is not None and row["done_at"] is None and row["claimed_by"] == "dead"
    assert any("event=inbox_takeover update=61" in r.getMessage() for r in caplog.records)


async def test_an_applied_update_is_not_handled_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.inbox")
    newcomer = USER + 5
    async with bot(tmp_path, pg.new_database(), worker=False) as (app, api, worker):
        db = app.bot_data.db
        await receive(db, 71, USER, "/daftar")
        # The process that claimed it committed its answer, then died before marking it done.
        await db.execute(
            "UPDATE inbox SET claimed_by = 'dead', lease_until = ?, applied_at = ? "
            "WHERE update_id = 71",
            ("2000-01-01T00:00:00.000Z", "2000-01-01T00:00:00.000Z"),
        )
        await receive(db, 72, USER, "/bantuan")
        await receive(db, 73, newcomer, "/daftar")
        await worker.start()
        await until(lambda: all_done(db))
        # 71 was not handled again (no draft was made); outside a flow the person hears that
        # the message arrived and may be sent again; their next update was answered.
        texts = [c.text for c in api.sent(USER)]
        assert len(texts) == 2 and "mungkin tidak sampai" in texts[0]
        assert texts[1].startswith(HELP_START)
        assert await db.fetchval("SELECT count(*) FROM registrations") == 1
        # Handling marks its update applied in the same transaction as what it writes.
        rows = await db.fetchall("SELECT update_id, applied_at FROM inbox ORDER BY update_id")
        applied = {r["update_id"]: r["applied_at"] is not None for r in rows}
        assert applied[71] and applied[73]
        assert await db.fetchval("SELECT count(*) FROM users WHERE telegram_id = ?", (newcomer,))
    skips = [
        r.getMessage() for r in caplog.records if "event=inbox_skip_applied" in r.getMessage()
    ]
    assert skips == ["event=inbox_skip_applied update=71"]


async def test_a_question_lost_after_its_answer_was_stored_is_asked_again(
    tmp_path: Path,
) -> None:
    async with bot(tmp_path, pg.new_database()) as (app, api, _worker):
        db = app.bot_data.db
        await receive(db, 91, USER, "/daftar")
        await until(lambda: all_done(db))
        question = api.sent(USER)[-1].text
        api.clear()
        # As if the process had stored the draft and died before its question went out.
        await db.execute(
            "UPDATE inbox SET done_at = NULL, claimed_by = 'dead', lease_until = ? "
            "WHERE update_id = 91",
            ("2000-01-01T00:00:00.000Z",),
        )
        await until(lambda: all_done(db))
        assert [c.text for c in api.sent(USER)] == [question]  # the same question, once
        assert await db.fetchval("SELECT count(*) FROM registrations") == 1


async def test_done_rows_are_deleted_after_a_day(tmp_path: Path) -> None:
    async with bot(tmp_path, pg.new_database(), worker=False) as (app, _api, _worker):
        db = app.bot_data.db
        for update_id in (81, 82, 83):
            await receive(db, update_id, USER + update_id, "/bantuan")
        await db.execute(
            "UPDATE inbox SET done_at = ? WHERE update_id = 81", ("2000-01-01T00:00:00.000Z",)
        )
        await inbox.finish(db, 82)
        assert await inbox.delete_done(db) == 1
        rows = await db.fetchall("SELECT update_id FROM inbox ORDER BY update_id")
        assert [r[0] for r in rows] == [82, 83]


# --- two real processes ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:" + "A" * 35
WEBHOOK_SECRET = "inbox-test-secret"
KILL_AT = 6  # the update during which the first process is killed


class Proc:
    """One `jaga run --webhook` child process and its log."""

    def __init__(self, name: str, folder: Path, port: int) -> None:
        self.name, self.folder, self.port = name, folder, port
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, db_url: str, api_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAGA_")}
        env.update(
            JAGA_TELEGRAM_TOKEN=TOKEN,
            JAGA_TELEGRAM_API_URL=api_url,
            JAGA_DB=db_url,
            JAGA_SECRET_KEY="inbox-test-secret-key-of-enough-length-0123",
            JAGA_WEBHOOK_SECRET=WEBHOOK_SECRET,
            JAGA_HEALTH_PORT="0",
            JAGA_HANDLER_TIMEOUT_SECONDS="2",
            JAGA_INBOX_LEASE_SECONDS="3",
            PYTHONPATH=str(ROOT),
        )
        self.folder.mkdir()
        log = (self.folder / "bot.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jaga", "run", "--webhook", "https://example.org/hook",
            "--listen", "127.0.0.1", "--port", str(self.port),
            env=env, cwd=self.folder, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()

    @property
    def log(self) -> str:
        return (self.folder / "bot.log").read_text(errors="replace")

    async def end(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def test_two_processes_register_a_person_and_survive_a_kill(tmp_path: Path) -> None:
    """Updates go to two processes in turn; one is killed mid-update; the other finishes."""
    import asyncpg

    from bench.people import Pacer, Person, Tally
    from bench.registration import register
    from bench.standin import StandIn

    db_url = pg.new_database()
    standin = StandIn(latency=0.0)
    await standin.start()
    state = standin.add_bot(TOKEN)
    a = Proc("a", tmp_path / "a", free_port())
    b = Proc("b", tmp_path / "b", free_port())
    person_id = 5_000_000_777
    seen: list[str] = []
    killed = asyncio.Event()

    async def post(client: httpx.AsyncClient, proc: Proc, update: dict[str, Any]) -> None:
        answer = await client.post(
            f"http://127.0.0.1:{proc.port}/hook",
            content=json.dumps(update),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
            },
        )
        assert answer.status_code == 200

    async def kill_during(client: httpx.AsyncClient, update: dict[str, Any]) -> None:
        """A handles `update` but is stuck before it writes anything; then A is killed."""
        assert a.proc is not None and b.proc is not None
        locker = await asyncpg.connect(db_url)
        for _ in range(500):  # the answer to the last update is out; wait until it is done
            if not await locker.fetchval("SELECT count(*) FROM inbox WHERE done_at IS NULL"):
                break
            await asyncio.sleep(0.01)
        b.proc.send_signal(signal.SIGSTOP)  # idle: only A can claim the next update
        try:
            async with locker.transaction():
                await locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                await post(client, a, update)
                for _ in range(500):
                    claimed = await locker.fetchval(
                        "SELECT claimed_by FROM inbox WHERE update_id = $1", update["update_id"]
                    )
                    if claimed is not None:
                        break
                    await asyncio.sleep(0.01)
                assert claimed is not None
                await asyncio.sleep(0.5)  # A reads the person's record: it waits for the lock
                a.proc.kill()
                await a.proc.wait()
        finally:
            await locker.close()
            b.proc.send_signal(signal.SIGCONT)
        killed.set()

    async def forward() -> None:
        """Telegram's side: each update the person makes goes to A and B alternately."""
        sent = 0
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                await state.arrived.wait()
                state.arrived.clear()
                while state.updates:
                    update = state.updates.popleft()
                    sent += 1
                    if sent == KILL_AT:
                        await kill_during(client, update)
                    else:
                        alive_a = not killed.is_set()
                        await post(client, a if sent % 2 and alive_a else b, update)

    forwarder: asyncio.Task[None] | None = None
    try:
        await asyncio.gather(a.start(db_url, standin.api_url), b.start(db_url, standin.api_url))
        for _ in range(600):  # both started and set the webhook
            if state.calls.get("setWebhook", 0) >= 2:
                break
            await asyncio.sleep(0.05)
        assert state.calls.get("setWebhook", 0) >= 2, a.log[-2000:] + b.log[-2000:]
        forwarder = asyncio.create_task(forward())
        person = Person(standin, state, person_id, Tally(), Pacer(None))
        listener = state.listeners[person_id]

        def hear(sent: Any) -> None:
            if sent.method != "answerCallbackQuery":
                seen.append(sent.text)
            listener(sent)

        state.listeners[person_id] = hear
        try:
            await register(person)
        except Exception as exc:
            failed = forwarder.exception() if forwarder.done() else None
            raise AssertionError(
                f"{failed or exc!r}\n{seen}\n{a.log[-3000:]}\n{b.log[-3000:]}"
            ) from None
        assert killed.is_set()
        assert len(seen) == len(set(seen)), seen  # no question was asked twice
        assert "nomor pendaftaran" in seen[-1].lower()
        conn = await asyncpg.connect(db_url)
        try:
            status = await conn.fetchval(
                "SELECT status FROM registrations WHERE operator_id = $1", person_id
            )
            assert status == "diajukan"

            async def inbox_done() -> bool:  # the last answer is out before its update is done
                return not await conn.fetchval("SELECT count(*) FROM inbox WHERE done_at IS NULL")

            await until(inbox_done)
        finally:
            await conn.close()
        assert "event=inbox_takeover" in b.log and "event=inbox_skip_applied" not in b.log
        assert b.proc is not None
        b.proc.send_signal(signal.SIGTERM)  # a clean stop
        assert await asyncio.wait_for(b.proc.wait(), 10) == 0, b.log[-3000:]
    finally:
        if forwarder is not None:
            forwarder.cancel()
        await a.end()
        await b.end()
        await standin.stop()
