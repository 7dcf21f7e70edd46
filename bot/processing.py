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
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


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

    __slots__ = ("_tails",)

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        # For each key, the completion of the newest update admitted with that key.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

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
            await coroutine
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

    def __init__(self, limit: int):
        super().__init__(maxsize=limit)
        self._slots = asyncio.Semaphore(limit)
        self._held = 0

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
    max_concurrent_updates: int,
) -> tuple[OrderedUpdateProcessor, AdmissionQueue]:
    """The processor and the matching queue for `Application.builder()`."""
    return OrderedUpdateProcessor(max_concurrent_updates), AdmissionQueue(max_concurrent_updates)
