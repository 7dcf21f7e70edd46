"""Guards fail closed: a guard stops the update even when its own reply to the person fails."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from telegram import Update
from telegram.error import NetworkError, TimedOut

from bot.fakeapi import ApiCall
from bot.retry import RetryingRateLimiter, is_idempotent, surely_not_delivered
from bot.untrusted import MAX_TEXT_LENGTH
from handlers.privacy import FloodGuard
from storage import registrations
from tests.conftest import Harness, HarnessFactory, make_settings
from tests.factories import nik_for

USER = 811
GROUP = -100777


def raw(h: Harness, **fields: Any) -> Update:
    """Any update, as Telegram would send it."""
    return h.updates._update(**fields)


def telegram_down(h: Harness, method: str = "sendMessage") -> None:
    """Every `method` call fails with a 500 from now on (retries without pauses)."""
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, RetryingRateLimiter)
    limiter.backoff = (0.0, 0.0)
    h.api.fail_next(method, status=500, times=1000)


async def at_nik_question(h: Harness) -> None:
    """USER starts registering themselves; the bot waits for the NIK."""
    await h.send(USER, "/daftar")
    await h.tap(USER, "Setuju")
    await h.tap(USER, "Diri saya sendiri")
    row = await registrations.active_of(h.db, USER)
    assert row is not None and row.step == "nik"


def only(calls: list[ApiCall], text: str) -> None:
    """Every call was the guard's (failed) reply: nothing else ran after it."""
    assert calls, "the guard did not even try to answer"
    assert all(c.method == "sendMessage" and text in c.text for c in calls), [
        (c.method, c.text[:60]) for c in calls
    ]


async def test_forwarded_nik_is_not_stored_when_the_refusal_cannot_be_sent(
    harness: Harness,
) -> None:
    h = harness
    await at_nik_question(h)
    telegram_down(h)
    message = h.updates._message(USER, text=nik_for("12.10.19"))
    message["forward_origin"] = {"type": "hidden_user", "date": 1, "sender_user_name": "X"}
    calls = await h.update(raw(h, message=message))
    row = await registrations.active_of(h.db, USER)
    assert row is not None and row.step == "nik" and row.nik_enc is None
    only(calls, "Pesan terusan tidak saya baca")


async def test_oversized_text_is_not_read_when_the_refusal_cannot_be_sent(
    harness: Harness,
) -> None:
    h = harness
    await at_nik_question(h)
    telegram_down(h)
    calls = await h.send(USER, nik_for("12.10.19") + " " * MAX_TEXT_LENGTH + "x")
    row = await registrations.active_of(h.db, USER)
    assert row is not None and row.step == "nik" and row.nik_enc is None
    only(calls, "terlalu panjang")


async def test_start_in_a_group_whose_answer_fails_sends_no_private_menu(
    harness: Harness,
) -> None:
    h = harness
    telegram_down(h)
    calls = await h.send(USER, "/start", chat_id=GROUP)
    only(calls, "hanya melayani lewat chat pribadi")
    assert all(c.chat_id == GROUP for c in calls)
    assert await h.db.fetchval("SELECT count(*) FROM users WHERE active_flow IS NOT NULL") == 0


async def test_flood_warning_that_fails_still_drops_the_update(
    harness_factory: HarnessFactory, tmp_path: Any
) -> None:
    settings = make_settings(tmp_path, flood_burst=1, flood_rate=0.001)
    async with harness_factory(settings) as h:
        (handler,) = h.app.handlers[-10]
        guard = handler.callback
        assert isinstance(guard, FloodGuard)
        guard.limiter.clock = lambda: 5.0
        await h.send(USER, "/bantuan")
        telegram_down(h)
        calls = await h.send(USER, "/daftar")
        assert await registrations.active_of(h.db, USER) is None
        only(calls, "terlalu cepat")


async def test_forged_button_whose_answer_fails_goes_no_further(harness: Harness) -> None:
    h = harness
    await at_nik_question(h)
    telegram_down(h, "answerCallbackQuery")
    calls = await h.press(USER, "REG nik 1210191505800001")
    assert [c.method for c in calls] == ["answerCallbackQuery"] * len(calls)
    assert all(c.params.get("text") == "Tombol ini sudah tidak berlaku." for c in calls)


# --- a slow answer is not a lost message ------------------------------------------------------


def slow_telegram(h: Harness, cause: Exception, *, deliver: bool) -> list[int]:
    """sendMessage fails once with `cause` (wrapped as PTB does), after delivering if `deliver`."""
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, RetryingRateLimiter)
    limiter.backoff = (0.0, 0.0)
    real = h.api.do_request
    failures = [0]

    async def flaky(url: str, method: str, request_data: Any = None, **kw: Any) -> Any:
        if url.endswith("/sendMessage") and failures[0] == 0:
            failures[0] += 1
            if deliver:
                await real(url, method, request_data, **kw)  # Telegram got it and shows it
                try:  # ... but its answer comes later than the read timeout
                    await asyncio.wait_for(asyncio.sleep(5), timeout=0.01)
                except TimeoutError:
                    raise TimedOut("Timed out") from cause
            raise TimedOut("Timed out") from cause
        return await real(url, method, request_data, **kw)

    h.api.do_request = flaky
    return failures


async def test_a_send_answered_after_the_read_timeout_is_not_sent_again(harness: Harness) -> None:
    h = harness
    failures = slow_telegram(h, httpx.ReadTimeout("read timed out"), deliver=True)
    await h.send(USER, "/bantuan")
    assert failures == [1]
    shown = [c for c in h.api.sent(USER) if c.text.startswith("Cara memakai Jaga Pekerja")]
    assert len(shown) == 1


async def test_a_send_that_never_left_is_retried(harness: Harness) -> None:
    h = harness
    failures = slow_telegram(h, httpx.ConnectTimeout("connect timed out"), deliver=False)
    await h.send(USER, "/bantuan")
    assert failures == [1]
    shown = [c for c in h.api.sent(USER) if c.text.startswith("Cara memakai Jaga Pekerja")]
    assert len(shown) == 1


def test_which_failures_are_retried() -> None:
    def wrapped(cause: Exception | None, error: NetworkError) -> NetworkError:
        error.__cause__ = cause
        return error

    assert surely_not_delivered(wrapped(httpx.ConnectError("refused"), NetworkError("x")))
    assert surely_not_delivered(wrapped(httpx.PoolTimeout("pool"), TimedOut()))
    assert surely_not_delivered(wrapped(None, NetworkError("Bad Gateway")))  # a 5xx answer
    assert not surely_not_delivered(wrapped(httpx.ReadTimeout("read"), TimedOut()))
    assert not surely_not_delivered(wrapped(httpx.WriteTimeout("write"), TimedOut()))
    assert not surely_not_delivered(wrapped(httpx.RemoteProtocolError("gone"), NetworkError("x")))
    assert not surely_not_delivered(wrapped(None, TimedOut()))
    assert not is_idempotent("sendMessage") and not is_idempotent("sendDocument")
    assert is_idempotent("editMessageText") and is_idempotent("answerCallbackQuery")
    assert is_idempotent("sendChatAction")
