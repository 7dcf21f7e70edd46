"""Bounded work: a slow handler is cut off, SIGTERM stops, a taken health port is one line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import MessageHandler, filters

from bench.standin import StandIn
from bot.fakeapi import RecordingBotApi
from jaga.app import JagaApplication, build_application, running
from jaga.console import UpdateFactory
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
SLOW_USER, OTHER_USER = 871, 872
TOO_SLOW = "Maaf, permintaan Anda terlalu lama diproses. Silakan coba lagi."


async def until(condition: Any, seconds: float = 10.0) -> None:
    """Wait (bounded) until `condition()` is true."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def started(app: JagaApplication) -> AsyncIterator[JagaApplication]:
    """The Application initialised and fetching from its update queue (as `jaga run` does)."""
    async with running(app):
        await app.start()
        try:
            yield app
        finally:
            if app.running:
                await app.stop()


async def test_a_slow_handler_is_cut_off_and_others_are_answered_meanwhile(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = RecordingBotApi()
    app = build_application(make_settings(tmp_path, handler_timeout_seconds=0.5), request=api)
    cancelled = asyncio.Event()

    async def stuck(update: Update, context: Any) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    # Test-only: a handler that hangs on one text, before every other handler.
    app.add_handler(MessageHandler(filters.Text(["lambat"]), stuck), group=-100)
    updates = UpdateFactory(app.bot, api)
    caplog.set_level(logging.WARNING, logger="bot.processing")
    async with started(app):
        api.clear()
        await app.update_queue.put(updates.text(SLOW_USER, "lambat"))
        await app.update_queue.put(updates.text(SLOW_USER, "/bantuan"))  # waits its turn
        await app.update_queue.put(updates.text(OTHER_USER, "/bantuan"))
        # Someone else is answered while the slow update still runs.
        await until(lambda: api.sent(OTHER_USER))
        assert not cancelled.is_set() and api.sent(SLOW_USER) == []
        # Then the slow one is cancelled, its sender told once, and their next update handled.
        await until(lambda: len(api.sent(SLOW_USER)) >= 2)
        assert cancelled.is_set()
        first, second = api.sent(SLOW_USER)[:2]
        assert first.text == TOO_SLOW
        assert second.text != TOO_SLOW  # /bantuan was answered normally, in order
    assert [r for r in caplog.records if "event=handler_timeout" in r.getMessage()]


# --- the real process -------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_env(tmp_path: Path, api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `python -m jaga run` child: its own database, no .env settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAGA_")}
    env.update(
        JAGA_TELEGRAM_TOKEN="123456:" + "A" * 35,
        JAGA_TELEGRAM_API_URL=api_url,
        JAGA_DB=str(tmp_path / "jaga.sqlite3"),
        JAGA_SECRET_KEY="runtime-test-secret-key-of-enough-length-0123",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


class HoldingStandIn(StandIn):
    """The loopback Bot API, holding every sendMessage for a minute once `hold` is set."""

    hold = False
    held = 0

    async def _call(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes]:
        if self.hold and path.endswith("/sendMessage"):
            self.held += 1
            await asyncio.sleep(60)
        return await super()._call(path, content_type, body)


async def test_sigterm_stops_the_process_while_a_handler_is_busy(tmp_path: Path) -> None:
    standin = HoldingStandIn(latency=0.0)
    await standin.start()
    state = standin.add_bot("123456:" + "A" * 35)
    env = bot_env(
        tmp_path,
        standin.api_url,
        JAGA_HEALTH_PORT="0",
        JAGA_HANDLER_TIMEOUT_SECONDS="120",  # the stop must not wait for the handler bound
    )
    log = (tmp_path / "bot.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "jaga", "run", env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    log.close()
    try:
        await until(lambda: state.calls.get("getUpdates", 0) > 0, 120)
        # From now on every message the bot sends is held for a minute: its handler is busy.
        standin.hold = True
        standin.send_text(state, 881, "/bantuan")
        try:
            await until(lambda: standin.held > 0, 30)
        except AssertionError:
            raise AssertionError(
                f"{state.calls}\n" + (tmp_path / "bot.log").read_text(errors="replace")[-3000:]
            ) from None
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            pytest.fail("SIGTERM did not stop the bot within 10 s:\n" + (tmp_path / "bot.log")
                        .read_text(errors="replace")[-3000:])  # fmt: skip
        assert time.monotonic() - started < 10
        assert code == 0, (tmp_path / "bot.log").read_text(errors="replace")[-3000:]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await standin.stop()


async def test_a_taken_health_port_is_one_line_and_a_failure(tmp_path: Path) -> None:
    with socket.socket() as taken:  # as a first bot on the same machine holds it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_env(tmp_path, "http://127.0.0.1:9/bot", JAGA_HEALTH_PORT=str(port))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jaga",
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert proc.returncode not in (0, None)
    assert lines[-1] == f"jaga: port {port} in use: set --health-port or JAGA_HEALTH_PORT"
    assert "Traceback" not in err.decode()


async def test_knowledge_warms_only_once_started_and_the_stop_waits_for_it() -> None:
    # A start that fails (a taken port) must not leave native training code running while the
    # interpreter tears down: the warm-up begins in post_init and the stop joins it.
    from jaga.cli import _warm_knowledge_while_running

    events: list[str] = []
    release = threading.Event()

    def warm() -> None:
        events.append("warm started")
        release.wait(5)
        events.append("warm ended")

    class App:
        post_init = None
        post_shutdown = None

    app: Any = App()
    _warm_knowledge_while_running(app, warm)
    assert events == []  # built, not started: nothing trains yet
    await app.post_init(app)
    await until(lambda: events == ["warm started"])
    asyncio.get_running_loop().call_later(0.2, release.set)
    await app.post_shutdown(app)
    assert events == ["warm started", "warm ended"]
