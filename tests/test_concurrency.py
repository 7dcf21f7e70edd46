"""Update processing through the Application's queue: people concurrently, one person in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update

from bot.fakeapi import ApiCall, RecordingBotApi
from bot.processing import AdmissionQueue, OrderedUpdateProcessor, ordering_keys
from bot.settings import Settings
from jaga.app import build_application, running
from jaga.console import UpdateFactory
from tests.conftest import make_settings

ALICE, BOB, CAROL = 501, 502, 503
# A guard against a hang, never a measurement: every wait below ends long before it.
GUARD = 30.0


class GatedApi(RecordingBotApi):
    """The recording stand-in, holding every call to the chats in `held` until `gate` opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.held: set[int] = set()
        self.hold_once = False  # hold only the first call to each held chat
        self.waiting = 0  # calls held at the gate right now

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Wait at the gate for a held chat, then answer as the recording stand-in does."""
        request_data = kwargs.get("request_data") or (args[0] if args else None)
        chat_id = request_data.parameters.get("chat_id") if request_data else None
        if chat_id is not None and int(chat_id) in self.held and not self.gate.is_set():
            if self.hold_once:
                self.held.discard(int(chat_id))
            self.waiting += 1
            try:
                await self.gate.wait()
            finally:
                self.waiting -= 1
        return await super().do_request(url, method, *args, **kwargs)


class Live:
    """A started Application fed through its update queue, as polling feeds it."""

    def __init__(self, app: Any, api: GatedApi):
        self.app = app
        self.api = api
        self.updates = UpdateFactory(app.bot, api)

    async def put(self, update: Update) -> None:
        """Hand an update to the Application the way the Updater does."""
        await self.app.update_queue.put(update)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Yield to the event loop until `condition` holds."""

        async def poll() -> None:
            # The conditions span the queue, the processor and the stand-in: poll them.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.001)

        await asyncio.wait_for(poll(), GUARD)

    async def say(self, user_id: int, text: str) -> ApiCall:
        """The user sends text through the queue; returns the bot's next message to them."""
        before = len(self.api.sent(user_id))
        await self.put(self.updates.text(user_id, text))
        await self.until(lambda: len(self.api.sent(user_id)) > before)
        return self.api.sent(user_id)[before]

    async def press(self, user_id: int, data: str) -> ApiCall:
        """The user presses a button of their last message; returns the bot's next message."""
        before = len(self.api.sent(user_id))
        await self.put(self.updates.press(user_id, data))
        await self.until(lambda: len(self.api.sent(user_id)) > before)
        return self.api.sent(user_id)[before]


@asynccontextmanager
async def live(settings: Settings) -> AsyncIterator[Live]:
    """The real Application, started (fetcher and processor running), without polling."""
    api = GatedApi()
    app = build_application(settings, request=api)
    async with running(app):
        await app.start()
        api.clear()
        try:
            yield Live(app, api)
        finally:
            api.gate.set()
            await asyncio.wait_for(app.update_queue.join(), GUARD)
            await app.stop()
    assert api.unexpected == []


async def test_application_uses_the_ordered_processor_and_bounded_queue(
    settings: Settings,
) -> None:
    """build_application plugs in the processor with the configured bound."""
    app = build_application(
        make_settings(settings.data_folder, max_concurrent_updates=7), request=RecordingBotApi()
    )
    assert isinstance(app.update_processor, OrderedUpdateProcessor)
    assert app.update_processor.max_concurrent_updates == 7
    assert isinstance(app.update_queue, AdmissionQueue)
    assert app.update_queue.maxsize == 7


async def test_other_users_finish_while_one_users_calls_hang(settings: Settings) -> None:
    """Alice's Bot API calls are held; Bob's multi-step conversation completes meanwhile."""
    async with live(settings) as bot:
        bot.api.held.add(ALICE)
        await bot.put(bot.updates.text(ALICE, "/start"))
        await bot.until(lambda: bot.api.waiting == 1)

        # Bob: choose English, then ask for help and get it in English.
        choice = await bot.say(BOB, "/bahasa")
        assert ("English", "LANG en") in choice.buttons
        await bot.press(BOB, "LANG en")
        help_text = (await bot.say(BOB, "/bantuan")).text
        assert "/bahasa" in help_text

        assert bot.api.sent(ALICE) == [], "Alice's answer is still held at the gate"
        assert bot.api.waiting == 1
        bot.api.gate.set()
        await bot.until(lambda: len(bot.api.sent(ALICE)) == 1)


async def _answers(
    settings: Settings, user_id: int, texts: list[str], feed: Callable[[Live], Awaitable[None]]
) -> list[str]:
    async with live(settings) as bot:
        await feed(bot)
        await asyncio.wait_for(bot.app.update_queue.join(), GUARD)
        return [call.text for call in bot.api.sent(user_id)]


BURST = ["/start", "/bantuan", "halo", "/tidak_ada", "/bahasa", "/batal"] * 3


async def test_a_burst_from_one_user_is_answered_in_order(settings: Settings) -> None:
    """A burst queued at once, only its first answer held: nothing overtakes it."""

    async def one_at_a_time(bot: Live) -> None:
        for text in BURST:
            await bot.say(CAROL, text)

    expected = await _answers(settings, CAROL, BURST, one_at_a_time)
    assert len(expected) == len(BURST)

    async def burst(bot: Live) -> None:
        bot.api.held.add(ALICE)
        bot.api.hold_once = True
        for text in BURST:
            await bot.put(bot.updates.text(ALICE, text))
        # Every update has been admitted and the first is held; the rest wait their turn.
        await bot.until(lambda: bot.app.update_queue.qsize() == 0 and bot.api.waiting == 1)
        assert bot.app.update_processor.current_concurrent_updates == len(BURST)
        for _ in range(100):
            await asyncio.sleep(0)  # give any overtaking update every chance to run
        assert bot.api.sent(ALICE) == []
        bot.api.gate.set()

    assert await _answers(settings, ALICE, BURST, burst) == expected


async def test_overload_waits_in_the_queue_not_in_tasks(tmp_path: Any) -> None:
    """With every slot busy, further updates stay queued and the queue bound stops the feeder."""
    async with live(make_settings(tmp_path, max_concurrent_updates=3)) as bot:
        users = list(range(600, 610))
        bot.api.held.update(users)
        feeder = asyncio.ensure_future(
            asyncio.gather(*(bot.put(bot.updates.text(u, "/start")) for u in users))
        )
        await bot.until(lambda: bot.api.waiting == 3 and bot.app.update_queue.full())
        assert bot.app.update_processor.current_concurrent_updates == 3
        assert not feeder.done(), "a full queue makes the Updater (here: the feeder) wait"
        bot.api.gate.set()
        await asyncio.wait_for(feeder, GUARD)
        await asyncio.wait_for(bot.app.update_queue.join(), GUARD)
        assert {c.chat_id for c in bot.api.sent()} == set(users)


def test_updates_are_ordered_by_user_and_chat(settings: Settings) -> None:
    """A private message belongs to its user and chat; a non-update has no order to keep."""
    api = RecordingBotApi()
    app = build_application(settings, request=api)
    update = UpdateFactory(app.bot, api).text(ALICE, "halo")
    assert ordering_keys(update) == (("user", ALICE), ("chat", ALICE))
    assert ordering_keys(object()) == ()
