"""Telegram outages: Bot API calls that fail with a 5xx or a timeout are tried again.

python-telegram-bot's AIORateLimiter paces calls and retries flood errors (429 RetryAfter) only;
a 502 from Telegram or a timeout on a slow link surfaces as `NetworkError`/`TimedOut` and would
lose the answer. This limiter adds a few retries with growing pauses for those. Client errors
(400 BadRequest, 403 Forbidden, 401/404, 409) are not retried: trying again cannot help.

A timed-out send may have reached Telegram, so a retry can deliver a message twice; a duplicate
is better than a lost answer, and every answer of this bot is safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

# Pauses before the 1st, 2nd, 3rd retry of a failed call (seconds).
BACKOFF_SECONDS: tuple[float, ...] = (0.5, 2.0, 5.0)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries server errors and timeouts, `len(backoff)` times."""

    def __init__(self, *args: Any, backoff: tuple[float, ...] = BACKOFF_SECONDS, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.backoff = backoff

    @property
    def overall_limiter(self) -> AsyncLimiter | None:
        """The bot-wide pace, shared with the outbox so replies and broadcasts fit one budget."""
        return self._base_limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Pace and send the call; on a 5xx or timeout wait and try again."""
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as exc:
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
