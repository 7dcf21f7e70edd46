"""Simulated people: each reads the bot's messages and acts on them as a person would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.standin import BotState, Sent, StandIn

# A person who hears nothing for this long gives up: the answer counts as lost.
PATIENCE = 30.0


class Lost(Exception):
    """The bot did not answer (or not with what the person could act on)."""


@dataclass
class Tally:
    """What one phase measured, over all its people."""

    latencies: list[float] = field(default_factory=list)  # seconds, action → first answer
    prompt_latencies: list[float] = field(default_factory=list)  # action → first message
    actions: int = 0
    answered: int = 0
    lost: int = 0
    out_of_order: int = 0
    duplicated: int = 0
    finished: int = 0  # people who completed their whole script
    errors: list[str] = field(default_factory=list)


class Pacer:
    """Spaces all people's actions to an overall rate (open load), or lets them run (closed)."""

    def __init__(self, rate: float | None):
        self.rate = rate
        self._next = 0.0

    async def wait(self) -> None:
        """Return at this action's slot."""
        if self.rate is None:
            return
        now = time.monotonic()
        self._next = max(self._next + 1 / self.rate, now)
        if self._next > now:
            await asyncio.sleep(self._next - now)


class Person:
    """One Telegram user on the stand-in: acts, then reads until the answer it needs arrives."""

    def __init__(
        self, standin: StandIn, bot: BotState, user_id: int, tally: Tally, pacer: Pacer
    ) -> None:
        self.standin = standin
        self.bot = bot
        self.id = user_id
        self.tally = tally
        self.pacer = pacer
        self.inbox: asyncio.Queue[Sent] = asyncio.Queue()
        self.seen: list[Sent] = []  # every message of the current turn
        self.last_prompt: Sent | None = None
        self._ack: float | None = None  # when the bot answered the last button press
        bot.listeners[user_id] = self.inbox.put_nowait

    def close(self) -> None:
        """Stop listening."""
        self.bot.listeners.pop(self.id, None)

    async def _act(self, do: Callable[[], None]) -> None:
        await self.pacer.wait()
        while not self.inbox.empty():  # a message the last turn did not wait for
            if self.inbox.get_nowait().method != "answerCallbackQuery":
                self.tally.duplicated += 1
        self.seen = []
        self._ack = None
        started = time.monotonic()
        do()
        self.tally.actions += 1
        first = await self._next()
        self.tally.answered += 1
        answered = first.at if self._ack is None else min(first.at, self._ack)
        self.tally.latencies.append(answered - started)
        self.tally.prompt_latencies.append(first.at - started)

    async def _next(self) -> Sent:
        """The next message; a press's answerCallbackQuery is noted, not returned."""
        while True:
            try:
                message = await asyncio.wait_for(self.inbox.get(), PATIENCE)
            except TimeoutError:
                self.tally.lost += 1
                raise Lost(f"user {self.id}: no answer after {self.seen_texts()}") from None
            if message.method == "answerCallbackQuery":
                if self._ack is None:
                    self._ack = message.at
                continue
            self.seen.append(message)
            if message.buttons:
                self.last_prompt = message
            return message

    def seen_texts(self) -> list[str]:
        """The first line of each message of this turn (for error reports)."""
        return [m.text.split("\n", 1)[0][:60] for m in self.seen]

    async def until(self, wanted: Callable[[Sent], bool]) -> Sent:
        """Read this turn's messages until one is what the person waits for."""
        for message in self.seen:
            if wanted(message):
                return message
        while True:
            message = await self._next()
            if wanted(message):
                return message

    async def say(self, text: str) -> None:
        """Type and send text."""
        await self._act(lambda: self.standin.send_text(self.bot, self.id, text))

    async def share_phone(self, phone: str) -> None:
        """Press the share-phone button."""
        await self._act(lambda: self.standin.share_contact(self.bot, self.id, phone))

    async def tap(self, label: str) -> None:
        """Press the newest button with this label (inline: a callback; reply keyboard: text)."""
        prompt = self.last_prompt
        if prompt is None or label not in {text for text, _ in prompt.buttons}:
            raise Lost(f"user {self.id}: no button {label!r} on {self.seen_texts()}")
        data = dict(prompt.buttons)[label]
        if prompt.inline:
            await self._act(lambda: self.standin.press(self.bot, self.id, data, prompt))
        else:
            await self.say(label)

    async def burst(self, texts: list[str], fingerprints: list[str], quiet: float) -> None:
        """Send several texts at once; their answers must come one each, in the sent order."""
        await self.pacer.wait()
        self.seen = []
        started = time.monotonic()
        for text in texts:
            self.standin.send_text(self.bot, self.id, text)
        self.tally.actions += len(texts)
        got: list[Sent] = []
        for _ in texts:
            got.append(await self._next())
            self.tally.answered += 1
        self.tally.latencies.append(got[0].at - started)
        self.tally.prompt_latencies.append(got[0].at - started)
        await asyncio.sleep(quiet)  # anything more is a duplicate
        self.tally.duplicated += self.inbox.qsize()
        if [fingerprint(m.text) for m in got] != fingerprints:
            self.tally.out_of_order += 1


def fingerprint(text: str) -> str:
    """What tells two kinds of answer apart: their first line."""
    return text.split("\n", 1)[0]


async def echo_person(person: Person, messages: int) -> None:
    """Sends numbered texts one at a time, each after its echo, then a burst of four."""
    for n in range(messages):
        text = f"w{person.id} m{n}"
        await person.say(text)
        got = person.seen[0]
        if got.text != text:
            person.tally.out_of_order += 1
    burst = [f"w{person.id} b{n}" for n in range(4)]
    await person.burst(burst, burst, quiet=0.2)
