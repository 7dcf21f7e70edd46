"""Update processing: concurrent across people, strictly ordered for each user and each chat.

python-telegram-bot's fetcher takes an update from `Application.update_queue` and, when
concurrency is on, starts a task for it at once; the processor decides when that task may run.
Two pieces keep it ordered and bounded:

* `OrderedUpdateProcessor` chains the updates of one user (and of one chat): an update waits for
  the previous update with the same user or chat to finish, so a person's answers are handled in
  the order they were sent, while other people's updates run meanwhile.
* `AdmissionQueue` is the update queue. The fetcher gets an update only when one of the
  `limit` slots is free, and the slot is returned when the update has been processed; the queue
  itself holds at most `limit` updates, so a full queue pauses getUpdates. Under overload
  the updates wait at Telegram, not in our memory: at most 2 × `limit` are held here.

Each update also has a time bound (JAGA_HANDLER_TIMEOUT_SECONDS): a handler still running after
it is cancelled, the person is told once to try again, the event is logged, and the next update
of that person (and everyone else's) goes on. On SIGTERM, `Application.stop()` waits for the
updates admitted so far (`AdmissionQueue.join`); from then on every update has at most
`STOP_GRACE_SECONDS` left, and one that has not started by then is not started, so the process
always stops within seconds. Cancelling works at an `await`: code that keeps the event loop busy
cannot be interrupted, which is why every pattern run on typed text is linear (bot/patterns.py).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import Application, BaseUpdateProcessor

from bot.i18n import translator
from storage import users

log = logging.getLogger(__name__)

# Told to someone whose update took longer than the handler time bound.
TimeoutNotice = Callable[[Update], Awaitable[None]]
# Once stopping, the updates being handled get at most this long to finish.
STOP_GRACE_SECONDS = 4.0
# The time the "took too long" notice itself may take.
NOTICE_SECONDS = 3.0


def ordering_keys(update: object) -> tuple[Hashable, ...]:
    """The user and the chat an update belongs to; updates sharing a key run one at a time."""
    if not isinstance(update, Update):
        return ()
    keys: list[Hashable] = []
    if update.effective_user is not None:
        keys.append(("user", update.effective_user.id))
    if update.effective_chat is not None:
        keys.append(("chat", update.effective_chat.id))
    return tuple(keys)


class OrderedUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different people concurrently, those of one user or chat in order."""

    __slots__ = ("_bounds", "_stop_at", "_tails", "on_timeout", "timeout")

    def __init__(self, max_concurrent_updates: int, timeout: float | None = None):
        super().__init__(max_concurrent_updates)
        # For each key, the completion of the newest update admitted with that key.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}
        # Seconds an update may take once it runs (None: unbounded), and who tells the person.
        self.timeout = timeout
        self.on_timeout: TimeoutNotice | None = None
        # The time bounds of the updates running now, and the loop time by which all must end
        # once stopping began (None while running normally).
        self._bounds: set[asyncio.Timeout] = set()
        self._stop_at: float | None = None

    def begin_stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """From now on every update ends within `grace` seconds; later ones do not start."""
        stop_at = asyncio.get_running_loop().time() + grace
        self._stop_at = stop_at if self._stop_at is None else min(self._stop_at, stop_at)
        for bound in self._bounds:
            when = bound.when()
            if when is None or when > self._stop_at:
                bound.reschedule(self._stop_at)

    def _deadline(self) -> float | None:
        """The loop time by which an update starting now must end (None: no bound)."""
        ends = [] if self._stop_at is None else [self._stop_at]
        if self.timeout is not None:
            ends.append(asyncio.get_running_loop().time() + self.timeout)
        return min(ends) if ends else None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Waits for the previous update of the same user and chat, then processes this one."""
        keys = ordering_keys(update)
        # No await between reading and replacing the tails: the admission order is the order.
        previous = {id(f): f for k in keys if (f := self._tails.get(k)) is not None}
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._tails[key] = done
        try:
            for future in previous.values():
                # shield: a cancelled waiter must not cancel its predecessor's completion.
                await asyncio.shield(future)
            await self._bounded(update, coroutine)
        finally:
            if not done.done():
                done.set_result(None)
            for key in keys:
                if self._tails.get(key) is done:
                    del self._tails[key]
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == (
                inspect.CORO_CREATED
            ):
                coroutine.close()  # cancelled before it started: never leave it un-awaited

    async def _bounded(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Runs the update's handlers; cancelled after `timeout` seconds (the person hears)."""
        user = update.effective_user if isinstance(update, Update) else None
        who = user.id if user is not None else "-"
        loop = asyncio.get_running_loop()
        if self._stop_at is not None and loop.time() >= self._stop_at:
            log.warning("event=update_not_started_at_stop user=%s", who)
            return  # the caller closes the coroutine that never started
        bound = asyncio.timeout_at(self._deadline())
        self._bounds.add(bound)
        try:
            async with bound:
                await coroutine
        except TimeoutError:
            if not bound.expired():
                raise  # a TimeoutError of the handler's own, not the bound
            stopping = self._stop_at is not None
            log.warning(
                "event=handler_timeout user=%s seconds=%s stopping=%s",
                who,
                self.timeout,
                stopping,
            )
            if isinstance(update, Update) and self.on_timeout is not None and not stopping:
                try:
                    async with asyncio.timeout(NOTICE_SECONDS):
                        await self.on_timeout(update)
                except Exception:  # the notice is a courtesy; the update is over either way
                    log.exception("event=handler_timeout_notice_failed")
        finally:
            self._bounds.discard(bound)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the Application awaits the running updates before shutdown."""

    @property
    def waiting_keys(self) -> int:
        """How many users and chats have an update admitted (for tests and diagnostics)."""
        return len(self._tails)


class AdmissionQueue(asyncio.Queue[object]):
    """The Application's update queue, bounded, handing out an update only when a slot is free."""

    def __init__(self, limit: int, on_stop: Callable[[], None] | None = None):
        super().__init__(maxsize=limit)
        self._slots = asyncio.Semaphore(limit)
        self._held = 0
        self._on_stop = on_stop

    async def join(self) -> None:
        """Waits until every admitted update is processed.

        `Application.stop()` is its only caller (after SIGTERM/SIGINT): it starts the stop grace
        of the processor, so this returns within seconds.
        """
        if self._on_stop is not None:
            self._on_stop()
        await super().join()

    async def get(self) -> object:
        """Waits for a free processing slot, then for an update."""
        await self._slots.acquire()
        try:
            item = await super().get()
        except BaseException:
            self._slots.release()
            raise
        self._held += 1
        return item

    def task_done(self) -> None:
        """The update taken with `get` has been processed: its slot is free again."""
        super().task_done()
        if self._held > 0:
            self._held -= 1
            self._slots.release()


def update_processing(
    max_concurrent_updates: int, timeout: float | None = None
) -> tuple[OrderedUpdateProcessor, AdmissionQueue]:
    """The processor and the matching queue for `Application.builder()`."""
    processor = OrderedUpdateProcessor(max_concurrent_updates, timeout)
    return processor, AdmissionQueue(max_concurrent_updates, on_stop=processor.begin_stop)


async def tell_too_slow(app: Application[Any, Any, Any, Any, Any, Any], update: Update) -> None:
    """One short message to the person whose update ran out of time, in their language."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private":
        return
    settings = app.bot_data.settings
    language: str = settings.language
    try:
        if app.bot_data.db_open:
            language = (await users.get_or_create(app.bot_data.db, user.id)).language or language
    except Exception:  # the database may be what is slow; answer in the default language
        log.exception("event=handler_timeout_language_lookup_failed")
    _ = translator(language).gettext
    text = _("Maaf, permintaan Anda terlalu lama diproses. Silakan coba lagi.")
    try:
        await app.bot.send_message(chat.id, text)
    except Forbidden:
        log.info("event=handler_timeout_reply_forbidden chat=%s", chat.id)
