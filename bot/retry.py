"""Telegram outages: Bot API calls that fail with a 5xx or a timeout are tried again.

python-telegram-bot's AIORateLimiter paces calls and retries flood errors (429 RetryAfter) only;
a 502 from Telegram or a timeout on a slow link surfaces as `NetworkError`/`TimedOut` and would
lose the answer. This limiter adds a few retries with growing pauses for those. Client errors
(400 BadRequest, 403 Forbidden, 401/404, 409) are not retried: trying again cannot help.

A call is tried again only when it surely did not change anything at Telegram: Telegram answered
with a 5xx, or the request never left (connect or pool timeout, connection refused). After a read
timeout or a broken connection the request may well have been delivered (a slow answer, not a
lost request), so a non-idempotent call (sendMessage, sendDocument, forwardMessage…) is not sent
again: the person would see the same question twice. Idempotent calls (edits, answers to button
presses, getters, setters) are tried again in every case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import httpx
from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

# Pauses before the 1st, 2nd, 3rd retry of a failed call (seconds).
BACKOFF_SECONDS: tuple[float, ...] = (0.5, 2.0, 5.0)


# httpx and aiohttp (bot/http.py) errors raised before any byte of the request reached Telegram.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)
# Methods whose repetition repeats their effect (a second message, a second forward).
_NOT_IDEMPOTENT = ("send", "forward", "copy")
_IDEMPOTENT_ANYWAY = frozenset({"sendChatAction"})


def is_idempotent(method: str) -> bool:
    """Whether calling this Bot API method twice has the effect of calling it once."""
    return method in _IDEMPOTENT_ANYWAY or not method.startswith(_NOT_IDEMPOTENT)


def surely_not_delivered(exc: NetworkError) -> bool:
    """Whether Telegram surely did not act on the request that failed with `exc`.

    PTB's HTTPXRequest wraps httpx's errors (`__cause__`), bot/http.py aiohttp's; an error answer
    from Telegram itself (5xx) has no such cause. A timeout with no cause at all cannot be
    placed: assume delivered.
    """
    cause = exc.__cause__
    if isinstance(cause, _NOT_SENT):
        return True
    if isinstance(cause, httpx.HTTPError | aiohttp.ClientError):
        return False  # read or write timeout, dropped connection: it may have arrived
    if isinstance(exc, TimedOut):
        return "not* sent" in exc.message  # PTB's pool-timeout message says so
    return cause is None or isinstance(cause, TelegramError)  # Telegram answered 5xx


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries 5xx answers and undelivered calls, `len(backoff)` times."""

    def __init__(self, *args: Any, backoff: tuple[float, ...] = BACKOFF_SECONDS, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.backoff = backoff
        self._own_limiter = self._base_limiter

    @property
    def overall_limiter(self) -> AsyncLimiter | None:
        """The bot-wide pace, shared with the outbox so replies and broadcasts fit one budget."""
        return self._base_limiter

    def share(self, limiter: Any | None) -> None:
        """Pace by `limiter` (an AsyncLimiter's interface: the bot-wide bucket every process
        shares, bot/limits.py) instead of this process's own; None goes back to our own."""
        self._base_limiter = self._own_limiter if limiter is None else limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Pace and send the call; on a 5xx or a call that never left, wait and try again."""
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as exc:
                if not is_idempotent(endpoint) and not surely_not_delivered(exc):
                    log.warning(
                        "event=telegram_call_unconfirmed method=%s error=%s",
                        endpoint,
                        type(exc).__name__,
                    )
                    raise
                if attempt >= len(self.backoff):
                    log.warning(
                        "event=telegram_call_failed method=%s attempts=%d error=%s",
                        endpoint,
                        attempt + 1,
                        type(exc).__name__,
                    )
                    raise
                pause = self.backoff[attempt]
                attempt += 1
                log.info(
                    "event=telegram_retry method=%s attempt=%d pause=%.1f error=%s",
                    endpoint,
                    attempt,
                    pause,
                    type(exc).__name__,
                )
                await asyncio.sleep(pause)
