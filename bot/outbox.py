"""The paced sender: drains the outbox (broadcasts, reminders, reports) within Telegram's limits.

One long-lived task per process claims due rows in small batches (storage/outbox.py: pending →
sending with a lease) and sends each through an explicit token bucket (the overall rate) with at
least `per_chat_interval` seconds between two messages to one chat. It sends with a plain `Bot`
on the Application's connection pool, without the AIORateLimiter of ordinary replies, so that a
RetryAfter reaches this code at once: the whole sender pauses for the time Telegram asks and the
message goes back to the queue (never dropped, never retried twice over). Network errors and 5xx
are retried with exponential backoff; a 403 marks the recipient blocked, skipped from then on
until they write to the bot again.

Killed in the middle, a new process resumes from the database: rows still `sending` are claimed
again once their lease lapses, so at most the messages in flight at the kill go out twice.

With several processes on PostgreSQL, only the leading process (bot/leader.py) claims rows in
the background, and the pace is one bucket in the database for all of them (bot/limits.py).

Each row is sent as a channel-neutral prompt (bot/prompts.py) through `deliver`, which the
composition root wires to each channel's adapter (handlers/common.py `deliverer`): Telegram
renders it as a message with an inline keyboard, WhatsApp as a Cloud API send. Both raise the
Bot API's errors, so one set of rules handles them. Rows for WhatsApp people (bot/channels.py)
have their own pace (WhatsApp's throughput, not Telegram's budgets) and their own flood pauses.
If the adapter says the channel stopped (its access token expired), WhatsApp rows stay queued,
their attempt not counted, while Telegram rows keep flowing; a restart with a new token sends
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from aiolimiter import AsyncLimiter
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channels import ChannelStopped, is_whatsapp
from bot.i18n import translator
from bot.prompts import Choice, Choices, Prompt
from bot.retry import RetryingRateLimiter
from bot.settings import Settings
from storage import outbox
from storage.db import Database
from storage.outbox import Broadcast

if TYPE_CHECKING:
    from bot.context import JagaApplication

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
# Sends one message: (chat id, prompt, kind: "reminder", "broadcast" …) -> the sent message's id.
# Raises the Bot API's errors (RetryAfter, Forbidden, BadRequest, NetworkError) or ChannelStopped.
Deliver = Callable[[int, Prompt, str], Awaitable[int]]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Limiter(Protocol):
    """A pace kept outside this process (bot/limits.py's SharedRate)."""

    async def acquire(self, amount: float = 1) -> None: ...

    async def pause(self, seconds: float) -> None: ...


class TokenBucket:
    """At most `rate` takes a second, evenly spaced; `pause` stops all takes for a while."""

    def __init__(self, rate: float):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._next = 0.0  # monotonic time of the next free slot
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Nobody takes a token for `seconds` (Telegram's RetryAfter)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    @property
    def paused(self) -> bool:
        """Whether a pause is in force now."""
        return time.monotonic() < self._paused_until

    async def take(self) -> None:
        """Wait for the next slot (and for any pause to end)."""
        while True:
            async with self._lock:
                now = time.monotonic()
                start = max(now, self._next, self._paused_until)
                self._next = start + self.interval
            if start > now:
                await asyncio.sleep(start - now)
            # A pause that began while we waited applies to us as well.
            if time.monotonic() >= self._paused_until:
                return


class OutboxSender:
    """Sends the outbox's due messages, paced, retried, resumable (see the module docstring)."""

    def __init__(
        self,
        bot: Bot,
        db: Database,
        *,
        deliver: Deliver,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
        concurrency: int | None = None,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        backoff_max: float = 300.0,
        poll_interval: float = 1.0,
        progress_interval: float = 5.0,
        language: str = "id",
        clock: Clock = _utcnow,
        overall: AsyncLimiter | None = None,
        pace: Limiter | None = None,
        leads: Callable[[], bool] | None = None,
        whatsapp_rate: float = 20.0,
    ):
        self.bot = bot  # edits the author's progress line (desk officials are on Telegram)
        self.db = db
        self.deliver = deliver
        self.bucket = TokenBucket(rate)
        # WhatsApp's own pace and flood pauses: Telegram's budgets below are not drawn from.
        self.whatsapp_bucket = TokenBucket(whatsapp_rate)
        self.stopped_channels: set[str] = set()  # channels that cannot send until a restart
        # The bot-wide budget (about 30 messages a second) that ordinary replies also draw from.
        self.overall = overall
        # Several processes (PostgreSQL): the pace is the bot's, kept in the database, and only
        # the leading process claims rows in the background (bot/limits.py, bot/leader.py).
        self.pace = pace
        self.leads = leads
        self.per_chat_interval = per_chat_interval
        # Enough sends in flight to keep the rate over a slow network, few enough to bound
        # the duplicates a kill can cause.
        self.concurrency = concurrency or max(4, math.ceil(rate / 2))
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.language = language
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[asyncio.Task[None], tuple[int, int]] = {}  # task -> (row, chat)
        self._last_sent: dict[int, float] = {}  # chat id -> monotonic time
        self._wake = asyncio.Event()
        self._progress_due = 0.0
        self._renew_due = 0.0
        self._releasing = False  # set by a graceful stop: unsent rows go back to the queue

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start draining the outbox in the background."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, *, graceful: float = 5.0) -> None:
        """Stop claiming; let sends in flight finish for up to `graceful` seconds, cancel the rest.

        Cancelled rows that had not yet been handed to Telegram are put back in the queue.
        With `graceful=0` everything stops at once, as if the process died: rows in flight
        stay `sending` and a later sender sends them again when their lease lapses.
        """
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pending = set(self._inflight)
        if pending and graceful > 0:
            _done, pending = await asyncio.wait(pending, timeout=graceful)
        self._releasing = graceful > 0
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._inflight.clear()

    def wake(self) -> None:
        """Look at the outbox now (a broadcast was queued) instead of at the next poll."""
        self._wake.set()

    async def deliver_now(self, row_ids: Sequence[int]) -> None:
        """Send rows just committed (a decision's notices) at once, with this sender's rules.

        Rows the background loop claimed first are left to it; a failed send is retried by
        the loop later (backoff), a kill before the send leaves the row for the next process.
        """
        now = self.clock()
        lease_until = outbox.stamp(now + dt.timedelta(seconds=self.lease_seconds))
        for message in await outbox.claim_ids(
            self.db,
            row_ids,
            outbox.stamp(now),
            lease_until,
            skip_whatsapp=self._whatsapp_held,  # left to the loop, when WhatsApp sends again
        ):
            await self._deliver(message)

    @property
    def _whatsapp_stopped(self) -> bool:
        return "whatsapp" in self.stopped_channels

    @property
    def _whatsapp_held(self) -> bool:
        """WhatsApp rows are not claimed now: the channel stopped, or a flood pause lasts."""
        return self._whatsapp_stopped or self.whatsapp_bucket.paused

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    # --- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._renew_leases()
                if self.leads is None or self.leads():
                    claimed = await self._claim()
                    await self._progress()
                else:
                    claimed = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not end the sender: log it and try again shortly.
                log.exception("event=outbox_loop_error")
                claimed = 0
            if self._inflight and (claimed or len(self._inflight) >= self.concurrency):
                # Busy: wait until a send finishes (or the progress line is due).
                await asyncio.wait(
                    set(self._inflight),
                    timeout=min(self.progress_interval, self.lease_seconds / 3),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            elif not claimed:
                await self._sleep_until_due()

    async def _claim(self) -> int:
        free = self.concurrency - len(self._inflight)
        telegram_held, whatsapp_held = self.bucket.paused, self._whatsapp_held
        if free <= 0 or (telegram_held and whatsapp_held):
            return 0
        now = self.clock()
        rows = await outbox.claim(
            self.db,
            free,
            outbox.stamp(now),
            outbox.stamp(now + dt.timedelta(seconds=self.lease_seconds)),
            busy_chats=sorted({chat for _row, chat in self._inflight.values()}),
            skip_whatsapp=whatsapp_held,
            skip_telegram=telegram_held,
        )
        for message in rows:
            task = asyncio.create_task(self._deliver(message), name=f"outbox-{message.id}")
            self._inflight[task] = (message.id, message.chat_id)
            task.add_done_callback(self._inflight.pop)
        return len(rows)

    async def _renew_leases(self) -> None:
        """Keep the leases of rows still in flight (waiting out a flood pause, say) from lapsing.

        Only a sender that stopped renewing (it died) has its rows claimed again.
        """
        if not self._inflight or time.monotonic() < self._renew_due:
            return
        self._renew_due = time.monotonic() + self.lease_seconds / 3
        lease_until = outbox.stamp(self.clock() + dt.timedelta(seconds=self.lease_seconds))
        await outbox.renew(self.db, [row for row, _chat in self._inflight.values()], lease_until)

    async def _sleep_until_due(self) -> None:
        delay = self.poll_interval
        due = await outbox.next_due(self.db, skip_whatsapp=self._whatsapp_held)
        if due is not None:
            until = (outbox.parse_stamp(due) - self.clock()).total_seconds()
            delay = min(delay, max(until, 0.01))
        if self._inflight:
            delay = min(delay, self.progress_interval, self.lease_seconds / 3)
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    # --- one message -----------------------------------------------------------------------

    async def _wait_turn(self, chat_id: int) -> None:
        """Wait for the chat's 1-a-second spacing, the sender's pace and the bot-wide budget.

        A WhatsApp chat waits for WhatsApp's pace only: Telegram's budgets are Telegram's.
        """
        last = self._last_sent.get(chat_id)
        if last is not None:
            wait = last + self.per_chat_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if is_whatsapp(chat_id):
            await self.whatsapp_bucket.take()
            return
        await self.bucket.take()
        if self.pace is not None:
            await self.pace.acquire()
        if self.overall is not None:
            await self.overall.acquire()

    async def _deliver(self, message: outbox.Message) -> None:
        try:
            await self._wait_turn(message.chat_id)
        except asyncio.CancelledError:
            # Stopped before the message left: on a graceful stop the row goes straight back
            # to the queue instead of waiting for its lease to lapse after the restart.
            if self._releasing:
                await asyncio.shield(outbox.release(self.db, message.id))
            raise
        whatsapp = is_whatsapp(message.chat_id)
        if whatsapp and self._whatsapp_stopped:  # stopped while this row waited for its turn
            await outbox.release(self.db, message.id)
            return
        prompt = _prompt_of(message)
        try:
            try:
                # On WhatsApp, outside the 24-hour window, the adapter sends the kind's template.
                sent_id = await self.deliver(message.chat_id, prompt, message.kind)
            finally:
                self._last_sent[message.chat_id] = time.monotonic()
        except ChannelStopped as exc:
            # Nothing was sent: the row waits, its attempt not counted, for a restart.
            if exc.channel not in self.stopped_channels:
                self.stopped_channels.add(exc.channel)  # before any await: no more sends
                log.error("event=%s_stopped reason=%s", exc.channel, exc.reason)
            await outbox.release(self.db, message.id)
        except RetryAfter as exc:
            seconds = exc.retry_after
            pause = seconds.total_seconds() if isinstance(seconds, dt.timedelta) else seconds
            log.warning(
                "event=outbox_flood_wait channel=%s seconds=%s",
                "whatsapp" if whatsapp else "telegram",
                pause,
            )
            if whatsapp:  # WhatsApp's throughput limit: Telegram rows keep going
                self.whatsapp_bucket.pause(float(pause))
                await outbox.release(self.db, message.id)
                return
            self.bucket.pause(float(pause))
            await outbox.release(self.db, message.id)
            if self.pace is not None:
                await self.pace.pause(float(pause))  # every process waits, not only this one
        except Forbidden:
            log.info("event=outbox_blocked chat=%s", message.chat_id)
            await outbox.mark_blocked(self.db, message.id, message.chat_id, self._now())
        except BadRequest as exc:  # the message itself is wrong, or the chat is gone
            log.warning("event=outbox_bad_request row=%s error=%s", message.id, exc.message)
            await outbox.mark(self.db, message.id, "failed", self._now(), exc.message[:200])
        except (NetworkError, TelegramError) as exc:  # network, timeouts, 5xx: try again later
            await self._retry(message, str(exc)[:200])
        except Exception as exc:  # a channel's own failure (its storage, its client): later
            log.exception("event=outbox_send_failed row=%s", message.id)
            await self._retry(message, type(exc).__name__)
        else:
            await outbox.mark(self.db, message.id, "sent", self._now(), sent_message_id=sent_id)

    async def _retry(self, message: outbox.Message, error: str) -> None:
        if message.attempts >= self.max_attempts:
            log.warning("event=outbox_gave_up row=%s error=%s", message.id, error)
            await outbox.mark(self.db, message.id, "failed", self._now(), error)
            return
        delay = min(self.backoff_max, self.backoff_base * 2 ** (message.attempts - 1))
        not_before = outbox.stamp(self.clock() + dt.timedelta(seconds=delay))
        await outbox.retry_later(self.db, message.id, not_before, error)

    def _now(self) -> str:
        return outbox.stamp(self.clock())

    # --- the author's progress line and final report -----------------------------------------

    async def _progress(self) -> None:
        if time.monotonic() < self._progress_due:
            return
        self._progress_due = time.monotonic() + self.progress_interval
        for broadcast in await outbox.running(self.db):
            counts = await outbox.counts(self.db, broadcast.id)
            language = await self._language_of(broadcast.author_id)
            _ = translator(language).gettext
            left = counts["pending"] + counts["sending"]
            if left == 0:
                report = report_text(broadcast, counts, language)
                if await outbox.finish(self.db, broadcast.id, self._now(), report):
                    await self._edit_progress(broadcast, report)
                    self.wake()
                continue
            line = _(
                "Siaran #{id} sedang dikirim: {done} dari {total} selesai "
                "(terkirim {sent}, gagal {failed}, memblokir bot {blocked})."
            ).format(
                id=broadcast.id,
                done=broadcast.recipients - left,
                total=broadcast.recipients,
                sent=counts["sent"],
                failed=counts["failed"],
                blocked=counts["blocked"],
            )
            await self._edit_progress(broadcast, line)
            await outbox.touch_progress(self.db, broadcast.id, self._now())

    async def _language_of(self, telegram_id: int) -> str:
        language = await self.db.fetchval(
            "SELECT language FROM users WHERE telegram_id = ?", (telegram_id,)
        )
        return str(language or self.language)

    async def _edit_progress(self, broadcast: Broadcast, text: str) -> None:
        chat_id, message_id = broadcast.progress_chat_id, broadcast.progress_message_id
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return
        bucket = self.whatsapp_bucket if is_whatsapp(chat_id) else self.bucket
        if bucket is self.whatsapp_bucket and self._whatsapp_stopped:
            return
        await bucket.take()
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except ChannelStopped as exc:
            self.stopped_channels.add(exc.channel)
        except RetryAfter as exc:
            seconds = exc.retry_after
            bucket.pause(
                seconds.total_seconds() if isinstance(seconds, dt.timedelta) else float(seconds)
            )
        except TelegramError as exc:  # "message is not modified", deleted message: not worth more
            log.info("event=outbox_progress_not_edited error=%s", exc)


def report_text(broadcast: Broadcast, counts: dict[str, int], language: str | None) -> str:
    """The author's final report of a broadcast, in their language."""
    _ = translator(language or "id").gettext
    return _(
        "Siaran #{id} selesai.\nTerkirim: {sent}\nGagal: {failed}\nMemblokir bot: {blocked}\n"
        "Dilewati (berhenti berlangganan): {skipped}"
    ).format(
        id=broadcast.id,
        sent=counts["sent"],
        failed=counts["failed"],
        blocked=counts["blocked"],
        skipped=counts["skipped"],
    )


# --- wiring into the Application (post_init / post_shutdown) ---------------------------------


def _prompt_of(message: outbox.Message) -> Prompt:
    """The stored text and buttons ((label, callback data) rows) as a prompt; a button this
    version no longer makes (data outside the grammar) is left out and the text still goes."""
    rows: list[tuple[Choice, ...]] = []
    for stored in message.buttons:
        row = []
        for label, data in stored:
            try:
                row.append(Choice(data, label))
            except ValueError:
                log.warning("event=outbox_button_dropped row=%s", message.id)
        if row:
            rows.append(tuple(row))
    try:
        return Prompt(message.text, Choices(tuple(rows)))
    except ValueError:  # the same button twice
        log.warning("event=outbox_buttons_dropped row=%s", message.id)
        return Prompt(message.text)


def build_sender(
    bot: Bot,
    db: Database,
    settings: Settings,
    *,
    deliver: Deliver,
    overall: AsyncLimiter | None = None,
    **overrides: float,
) -> OutboxSender:
    """A sender configured from the settings (tests override timings)."""
    values: dict[str, float] = {
        "rate": settings.outbox_messages_per_second,
        "lease_seconds": settings.outbox_lease_seconds,
        "whatsapp_rate": settings.whatsapp_messages_per_second,
    }
    values.update(overrides)
    return OutboxSender(
        bot,
        db,
        deliver=deliver,
        language=settings.language,
        overall=overall,
        **values,  # type: ignore[arg-type]
    )


def plain_bot(app: JagaApplication) -> Bot:
    """A Bot on the Application's connection pool without its rate limiter (see module doc)."""
    settings = app.bot_data.settings
    return Bot(
        app.bot.token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        request=app.bot.request,
    )


async def start_background(app: JagaApplication, deliver: Callable[[Bot], Deliver]) -> None:
    """Start the outbox sender (called from post_init), sending through `deliver(plain bot)`."""
    services = app.bot_data
    limiter = app.bot.rate_limiter
    overall = limiter.overall_limiter if isinstance(limiter, RetryingRateLimiter) else None
    bot = plain_bot(app)
    sender = build_sender(
        bot, services.db, services.settings, deliver=deliver(bot), overall=overall
    )
    if (shared := services.shared) is not None:  # several processes share the database
        sender.pace, sender.leads = shared.outbox, lambda: shared.leader.is_leader
    services.outbox = sender
    sender.start()


async def dispatch(sender: OutboxSender | None, row_ids: Sequence[int]) -> None:
    """Deliver notices queued in a transaction that has committed: now if a sender runs, else
    at the next pass of whichever process drains the outbox."""
    if sender is not None and row_ids:
        await sender.deliver_now(row_ids)


async def stop_background(app: JagaApplication) -> None:
    """Stop the sender before the database closes (called from post_shutdown)."""
    sender, app.bot_data.outbox = app.bot_data.outbox, None
    if sender is not None:
        await sender.stop()
