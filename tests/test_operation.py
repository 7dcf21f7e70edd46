"""Operation: webhook with its secret, /health, graceful stop, database and Telegram faults."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.error import TimedOut

from bot import webhook
from bot.fakeapi import RecordingBotApi
from bot.settings import Settings, SettingsError
from jaga.app import JagaApplication, build_application, running
from storage import registrations
from storage.db import migrations
from tests.conftest import Harness, make_settings
from tests.factories import nik_for

USER = 811


def free_port() -> int:
    """A port nothing listens on, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A /command message as Telegram posts it to a webhook."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "A"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def until(condition: Any, seconds: float = 5.0) -> None:
    """Wait (bounded) until `condition()` is true."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@asynccontextmanager
async def started(settings: Settings, api: RecordingBotApi) -> AsyncIterator[JagaApplication]:
    """The Application initialised and started (fetching from its update queue)."""
    app = build_application(settings, request=api)
    async with running(app):
        await app.start()
        try:
            yield app
        finally:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()


# --- webhook and health ----------------------------------------------------------------------


async def test_webhook_accepts_only_requests_with_the_secret(settings: Settings) -> None:
    api = RecordingBotApi()
    port = free_port()
    secret = webhook.secret_token(settings)
    async with started(settings, api) as app:
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url="https://example.org/hook",
            secret_token=secret,
        )
        set_webhook = [c for c in api.calls if c.method == "setWebhook"]
        assert set_webhook and set_webhook[-1].params["secret_token"] == secret
        url = f"http://127.0.0.1:{port}/hook"
        async with httpx.AsyncClient(timeout=5) as client:
            body = json.dumps(start_update(1, USER, "/bantuan"))
            headers = {"Content-Type": "application/json"}
            wrong = {**headers, "X-Telegram-Bot-Api-Secret-Token": "wrong"}
            assert (await client.post(url, content=body, headers=headers)).status_code == 403
            assert (await client.post(url, content=body, headers=wrong)).status_code == 403
            await asyncio.sleep(0.1)
            assert api.sent(USER) == []
            right = {**headers, "X-Telegram-Bot-Api-Secret-Token": secret}
            assert (await client.post(url, content=body, headers=right)).status_code == 200
            await until(lambda: bool(api.sent(USER)))
        assert api.last(USER).text.startswith("Cara memakai Jaga Pekerja")


def test_webhook_secret_and_url_are_checked(tmp_path: Path) -> None:
    derived = webhook.secret_token(make_settings(tmp_path))
    assert derived == webhook.secret_token(make_settings(tmp_path))  # stable across restarts
    assert webhook.secret_token(make_settings(tmp_path, webhook_secret="abc_DEF-1")) == "abc_DEF-1"
    with pytest.raises(SettingsError):
        webhook.secret_token(make_settings(tmp_path, webhook_secret="has space"))
    with pytest.raises(SettingsError):
        webhook.parse_webhook_url("http://example.org/hook")
    with pytest.raises(SettingsError):
        webhook.parse_webhook_url("https://example.org:9000/hook")
    assert (
        webhook.Webhook("https://example.org/jaga/hook", "0.0.0.0", 8443).url_path == "jaga/hook"
    )


@asynccontextmanager
async def write_lock_held_elsewhere(db: Any) -> AsyncIterator[str]:
    """Another process holds the database's write lock; yields the error /health then reports."""
    if db.engine == "postgresql":
        import asyncpg

        from storage.postgres import WRITE_LOCK

        holder = await asyncpg.connect(db.url)
        try:
            await holder.execute("SELECT pg_advisory_lock($1)", WRITE_LOCK)
            yield "LockNotAvailableError"
        finally:
            await holder.close()
        return
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield "OperationalError"
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_health_reports_the_database(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "HEALTH_TIMEOUT", 0.2)
    port = free_port()
    server = webhook.health_server(harness.app)
    server.listen(port, address="127.0.0.1")
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            ok = await client.get(f"http://127.0.0.1:{port}/health")
            assert ok.status_code == 200
            assert ok.json()["status"] == "ok"
            assert ok.json()["migrations"] == len(migrations(harness.db.engine))
            # Someone else holds the write lock: the check fails instead of hanging.
            async with write_lock_held_elsewhere(harness.db) as error:
                bad = await client.get(f"http://127.0.0.1:{port}/health")
            assert bad.status_code == 503
            assert bad.json() == {"running": False, "status": "error", "error": error}
            again = await client.get(f"http://127.0.0.1:{port}/health")
            assert again.status_code == 200
    finally:
        server.stop()
        await server.close_all_connections()


def dockerfile_healthcheck() -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK."""
    text = (Path(__file__).parent.parent / "Dockerfile").read_text(encoding="utf-8")
    joined = text.replace("\\\n", " ")
    [line] = [ln for ln in joined.splitlines() if ln.startswith("HEALTHCHECK ")]
    command = json.loads(line[line.index("CMD ") + 4 :])
    assert isinstance(command, list)
    return [str(part) for part in command]


async def run_probe(command: list[str], port: int, tmp_path: Path) -> int:
    """Run the health probe as the image would, its port set like `jaga run`'s (the setting)."""
    assert command[0] == "jaga"
    env = {**os.environ, "JAGA_HEALTH_LISTEN": "127.0.0.1", "JAGA_HEALTH_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from jaga.cli import main; raise SystemExit(main())",
        *command[1:],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,  # no .env of the working tree
    )
    return await asyncio.wait_for(process.wait(), 30)


async def test_the_dockerfile_healthcheck_probes_the_health_endpoint(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from jaga.cli import parser

    command = dockerfile_healthcheck()
    assert command == ["jaga", "health"]  # asks the port JAGA_HEALTH_PORT gives `jaga run`
    run_args = parser().parse_args(["run"])  # the probe targets `jaga run`'s defaults
    assert (run_args.health_listen, run_args.health_port) == (None, None)  # from the settings
    defaults = make_settings(Path("/nonexistent"))
    assert (defaults.health_listen, defaults.health_port) == ("127.0.0.1", 8080)
    monkeypatch.setattr(webhook, "HEALTH_TIMEOUT", 0.2)
    port = free_port()
    assert await run_probe(command, port, tmp_path) != 0  # nothing listens: unhealthy
    server = webhook.health_server(harness.app)
    server.listen(port, address="127.0.0.1")
    try:
        assert await run_probe(command, port, tmp_path) == 0
        async with write_lock_held_elsewhere(harness.db):  # cannot be written: 503, unhealthy
            assert await run_probe(command, port, tmp_path) != 0
        assert await run_probe(command, port, tmp_path) == 0
    finally:
        server.stop()
        await server.close_all_connections()


# --- graceful stop ---------------------------------------------------------------------------


async def test_stop_finishes_the_updates_being_handled(settings: Settings) -> None:
    api = RecordingBotApi()
    began = asyncio.Event()

    def slow(call: Any) -> float:
        if call.method == "sendMessage":
            began.set()
            return 0.3
        return 0.0

    async with started(settings, api) as app:
        api.delay = slow
        for n, uid in enumerate((821, 822, 823), start=1):
            update = Update.de_json(start_update(n, uid, "/bantuan"), app.bot)
            await app.update_queue.put(update)
        await asyncio.wait_for(began.wait(), 5)
        await app.stop()  # as on SIGTERM: no new updates, the running ones finish
        assert {c.chat_id for c in api.sent()} == {821, 822, 823}


async def test_stop_lets_the_outbox_answer_its_messages_in_flight_before_the_db_closes(
    settings: Settings,
) -> None:
    from storage import outbox

    chats = (831, 832, 833)
    api = RecordingBotApi()
    began: set[int] = set()

    def slow(call: Any) -> float:
        if call.method == "sendMessage" and int(call.params["chat_id"]) in chats:
            began.add(int(call.params["chat_id"]))
            return 1.0  # well within stop()'s grace (5 s)
        return 0.0

    api.delay = slow
    app = build_application(settings, request=api)
    at_close: list[str] = []
    async with running(app):
        db = app.bot_data.db
        real_close = db.close

        async def close() -> None:  # what the outbox says at the moment the database closes
            rows = await db.fetchall("SELECT status FROM outbox ORDER BY chat_id")
            at_close.extend(r["status"] for r in rows)
            await real_close()

        db.close = close  # type: ignore[method-assign]
        async with db.write() as conn:
            for chat in chats:
                # Due already (a millisecond later would be claimed in a later round).
                await outbox.enqueue(
                    conn,
                    "reminder",
                    chat,
                    f"Pengingat untuk {chat}",
                    not_before="2000-01-01T00:00:00.000Z",
                )
        sender = app.bot_data.outbox
        assert sender is not None
        sender.wake()
        await until(lambda: began == set(chats))  # all three sends are under way
        in_flight = await db.fetchall("SELECT status FROM outbox")
        assert [r["status"] for r in in_flight] == ["sending"] * 3
    # Leaving `running` is post_shutdown: the sender stops (waiting for its sends), then the
    # database closes. Every message in flight was answered and recorded before that.
    assert at_close == ["sent"] * 3
    sent = [c for c in api.sent() if c.text.startswith("Pengingat untuk")]
    assert sorted(c.chat_id for c in sent if c.chat_id is not None) == list(chats)


# --- database faults -------------------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_locked_database_asks_to_try_again_and_keeps_earlier_answers(
    harness: Harness,
) -> None:
    h = harness
    nik = nik_for("12.10.19")
    await h.send(USER, "/daftar")
    await h.tap(USER, "Setuju")
    await h.tap(USER, "Diri saya sendiri")
    await h.send(USER, nik)
    draft = await registrations.draft_of(h.db, USER)
    assert draft is not None and draft.nik_hash
    # Another process holds the write lock longer than the bot waits.
    await h.db._writer.execute("PRAGMA busy_timeout=50")
    other = sqlite3.connect(h.db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        await h.send(USER, "budi santoso")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert any(
        "belum bisa disimpan karena gangguan penyimpanan" in c.text for c in h.api.sent(USER)
    )
    after = await registrations.draft_of(h.db, USER)
    assert after is not None
    assert after.nik_hash == draft.nik_hash and after.name is None
    # Once the lock is gone, the same answer goes through.
    await h.send(USER, "budi santoso")
    stored = await registrations.draft_of(h.db, USER)
    assert stored is not None and stored.name == "Budi Santoso"


async def test_full_disk_during_a_correction_asks_to_try_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import privacy
    from tests.factories import submitted_registration

    h = harness
    row = await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=USER)
    await h.send(USER, "/data_saya")
    await h.tap(USER, f"Lihat data {row.ref}")
    await h.tap(USER, f"Minta perbaikan {row.ref}")
    real = privacy.request_correction

    async def disk_full(*args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("database or disk is full")  # what SQLITE_FULL raises

    monkeypatch.setattr(privacy, "request_correction", disk_full)
    await h.send(USER, "Nama ibu yang benar Siti Rahma")
    assert "belum bisa disimpan" in h.text(USER)
    monkeypatch.setattr(privacy, "request_correction", real)
    await h.send(USER, "Nama ibu yang benar Siti Rahma")  # the step was kept: it still waits
    assert "sudah diteruskan" in h.text(USER)


@pytest.mark.sqlite_only
async def test_a_really_full_database_asks_to_try_again_and_keeps_earlier_answers(
    harness: Harness,
) -> None:
    """SQLITE_FULL for real: the writer may not grow the file, and the answer needs a new page."""
    h = harness
    nik = nik_for("12.10.19")
    await h.send(USER, "/daftar")
    await h.tap(USER, "Setuju")
    await h.tap(USER, "Diri saya sendiri")
    await h.send(USER, nik)
    draft = await registrations.draft_of(h.db, USER)
    assert draft is not None and draft.nik_hash and draft.name is None
    # Another person's draft on the same (only) page of the table, padded until the page has
    # fewer free bytes than the name answer needs: storing it must split the page.
    other = await registrations.create_draft(h.db, USER + 1, "consent")

    async def table_pages() -> list[Any]:
        return list(await h.db.fetchall("SELECT unused FROM dbstat WHERE name = 'registrations'"))

    [page] = await table_pages()
    pad = max(page["unused"] - 40, 0)
    for _ in range(64):
        await registrations.update(h.db, other, scratch=json.dumps({"pad": "x" * pad}))
        [page] = await table_pages()
        if page["unused"] <= 6:
            break
        pad += 1
    assert page["unused"] <= 6 and len(await table_pages()) == 1
    # Free pages inside the file would take the split without growing it: use them up.
    await h.db.execute("CREATE TABLE test_filler(x BLOB)")
    free = await h.db.fetchval("PRAGMA freelist_count")
    await h.db.execute("INSERT INTO test_filler VALUES (zeroblob(?))", (free * 4096,))
    assert await h.db.fetchval("PRAGMA freelist_count") == 0
    writer = h.db._writer
    pages = (await writer.execute_fetchall("PRAGMA page_count"))[0][0]
    await writer.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        # The real error, at the storage layer first ...
        await registrations.update(h.db, draft.id, name="Budi Santoso")
    # ... then through the flow: the user is asked to send it again; nothing is lost.
    await h.send(USER, "budi santoso")
    assert "belum bisa disimpan karena gangguan penyimpanan" in h.text(USER)
    after = await registrations.draft_of(h.db, USER)
    assert after is not None
    assert after.nik_hash == draft.nik_hash and after.nik_enc == draft.nik_enc
    assert after.birth_date == draft.birth_date and after.step == draft.step
    assert after.name is None
    # Space again (the operator freed the disk): the same answer goes through.
    await writer.execute("PRAGMA max_page_count = 1073741823")
    await h.send(USER, "budi santoso")
    stored = await registrations.draft_of(h.db, USER)
    assert stored is not None and stored.name == "Budi Santoso"
    assert "belum bisa disimpan" not in h.text(USER)


# --- Telegram faults -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_telegram_server_errors_are_retried(harness: Harness, status: int) -> None:
    h = harness
    h.app.bot.rate_limiter.backoff = (0.0, 0.0, 0.0)  # type: ignore[union-attr]
    h.api.fail_next("sendMessage", status=status, times=2)
    calls = await h.send(USER, "/bantuan")
    sends = [c for c in calls if c.method == "sendMessage"]
    assert len(sends) == 3  # two failures, then delivered
    assert h.text(USER).startswith("Cara memakai Jaga Pekerja")


async def test_telegram_timeouts_are_retried(harness: Harness) -> None:
    h = harness
    h.app.bot.rate_limiter.backoff = (0.0, 0.0, 0.0)  # type: ignore[union-attr]
    real = h.api.do_request
    failures = [0]

    async def flaky(url: str, method: str, request_data: Any = None, **kw: Any) -> Any:
        if url.endswith("/sendMessage") and failures[0] < 2:
            failures[0] += 1
            # A connect timeout: the request never left, so sending again cannot duplicate it.
            raise TimedOut("Timed out") from httpx.ConnectTimeout("connect timed out")
        return await real(url, method, request_data, **kw)

    h.api.do_request = flaky  # type: ignore[method-assign,assignment]
    await h.send(USER, "/bantuan")
    assert failures[0] == 2
    assert h.text(USER).startswith("Cara memakai Jaga Pekerja")


async def test_a_long_outage_is_logged_not_crashed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    h.app.bot.rate_limiter.backoff = (0.0, 0.0, 0.0)  # type: ignore[union-attr]
    h.api.fail_next("sendMessage", status=502, times=100)
    await h.send(USER, "/bantuan")
    assert any("event=handler_error" in r.getMessage() for r in caplog.records)
    assert any("event=telegram_call_failed" in r.getMessage() for r in caplog.records)
    h.api._faults.clear()
    await h.send(USER, "/bantuan")  # Telegram is back: served normally
    assert h.text(USER).startswith("Cara memakai Jaga Pekerja")


async def test_bad_requests_are_not_retried(harness: Harness) -> None:
    h = harness
    h.app.bot.rate_limiter.backoff = (0.0, 0.0, 0.0)  # type: ignore[union-attr]
    h.api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    calls = await h.send(USER, "/bantuan")
    to_user = [c for c in calls if c.method == "sendMessage" and c.chat_id == USER]
    assert len(to_user) == 2  # the answer (refused once, not retried), then the apology


async def test_health_server_lives_from_post_init_to_post_shutdown(settings: Settings) -> None:
    app = build_application(settings, request=RecordingBotApi())
    port = free_port()
    webhook.with_health(app, "127.0.0.1", port)
    async with httpx.AsyncClient(timeout=5) as client:
        async with running(app):
            answer = await client.get(f"http://127.0.0.1:{port}/health")
            assert answer.status_code == 200 and answer.json()["database"] == "ok"
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/health")
