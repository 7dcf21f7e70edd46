"""Simulated people: each reads the bot's messages and acts on them as a person would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

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


@dataclass
class Measured:
    """One measured run of people against one bot process: what bench/report.py reads of every
    phase, Telegram's and WhatsApp's."""

    name: str
    people: int
    offered: str
    seconds: float
    tally: Tally
    cpu_seconds: float
    peak_rss_mb: float

    @property
    def updates_per_second(self) -> float:
        """Answered updates per wall-clock second."""
        return self.tally.answered / self.seconds if self.seconds else 0.0


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


class Message(Protocol):
    """A message the bot sent, as it reached a stand-in."""

    @property
    def at(self) -> float:
        """time.monotonic() on arrival."""

    @property
    def text(self) -> str:
        """What the person reads."""


M = TypeVar("M", bound=Message)


class Reader(Generic[M]):
    """A person on any channel: acts, then reads until the answer it needs arrives, and keeps the
    tally of each turn (the channel's subclass says how a person acts and sees choices)."""

    def __init__(self, tally: Tally, pacer: Pacer) -> None:
        self.tally = tally
        self.pacer = pacer
        self.inbox: asyncio.Queue[M] = asyncio.Queue()
        self.seen: list[M] = []  # every message of the current turn
        self.last_prompt: M | None = None  # the last message with choices
        self._ack: float | None = None  # when the bot acknowledged the last act aside

    @property
    def who(self) -> str:
        """The person, as error reports name them."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop listening."""
        raise NotImplementedError

    def offers(self, message: M) -> bool:
        """Whether the message offers choices to press."""
        raise NotImplementedError

    def _aside(self, message: M) -> bool:
        """Whether the message is an acknowledgement, not an answer (Telegram's
        answerCallbackQuery): noted as the act's answer time, never read."""
        return False

    async def _send_text(self, text: str) -> None:
        raise NotImplementedError

    async def _act(self, send: Callable[[], Awaitable[None]]) -> None:
        await self.pacer.wait()
        while not self.inbox.empty():  # a message the last turn did not wait for
            if not self._aside(self.inbox.get_nowait()):
                self.tally.duplicated += 1
        self.seen = []
        self._ack = None
        started = time.monotonic()
        await send()
        self.tally.actions += 1
        first = await self._next()
        self.tally.answered += 1
        answered = first.at if self._ack is None else min(first.at, self._ack)
        self.tally.latencies.append(answered - started)
        self.tally.prompt_latencies.append(first.at - started)

    async def _next(self) -> M:
        """The next message; an acknowledgement is noted, not returned."""
        while True:
            try:
                message = await asyncio.wait_for(self.inbox.get(), PATIENCE)
            except TimeoutError:
                self.tally.lost += 1
                raise Lost(f"{self.who}: no answer after {self.seen_texts()}") from None
            if self._aside(message):
                if self._ack is None:
                    self._ack = message.at
                continue
            self.seen.append(message)
            if self.offers(message):
                self.last_prompt = message
            return message

    def seen_texts(self) -> list[str]:
        """The first line of each message of this turn (for error reports)."""
        return [m.text.split("\n", 1)[0][:60] for m in self.seen]

    async def until(self, wanted: Callable[[M], bool]) -> M:
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
        await self._act(lambda: self._send_text(text))

    async def burst(self, texts: list[str], fingerprints: list[str], quiet: float) -> None:
        """Send several texts at once; their answers must come one each, in the sent order."""
        await self.pacer.wait()
        self.seen = []
        started = time.monotonic()
        for text in texts:
            await self._send_text(text)
        self.tally.actions += len(texts)
        got: list[M] = []
        for _ in texts:
            got.append(await self._next())
            self.tally.answered += 1
        self.tally.latencies.append(got[0].at - started)
        self.tally.prompt_latencies.append(got[0].at - started)
        await asyncio.sleep(quiet)  # anything more is a duplicate
        self.tally.duplicated += self.inbox.qsize()
        if [fingerprint(m.text) for m in got] != fingerprints:
            self.tally.out_of_order += 1


class Person(Reader[Sent]):
    """One Telegram user on the stand-in: acts, then reads until the answer it needs arrives."""

    def __init__(
        self, standin: StandIn, bot: BotState, user_id: int, tally: Tally, pacer: Pacer
    ) -> None:
        super().__init__(tally, pacer)
        self.standin = standin
        self.bot = bot
        self.id = user_id
        bot.listeners[user_id] = self.inbox.put_nowait

    @property
    def who(self) -> str:
        """The person, as error reports name them."""
        return f"user {self.id}"

    def close(self) -> None:
        """Stop listening."""
        self.bot.listeners.pop(self.id, None)

    def offers(self, message: Sent) -> bool:
        """Whether the message has buttons."""
        return bool(message.buttons)

    def _aside(self, message: Sent) -> bool:
        return message.method == "answerCallbackQuery"

    async def _send_text(self, text: str) -> None:
        self.standin.send_text(self.bot, self.id, text)

    async def _now(self, do: Callable[[], None]) -> None:
        await self._act(_at_once(do))

    async def share_phone(self, phone: str) -> None:
        """Press the share-phone button."""
        await self._now(lambda: self.standin.share_contact(self.bot, self.id, phone))

    async def tap(self, label: str) -> None:
        """Press the newest button with this label (inline: a callback; reply keyboard: text)."""
        prompt = self.last_prompt
        if prompt is None or label not in {text for text, _ in prompt.buttons}:
            raise Lost(f"user {self.id}: no button {label!r} on {self.seen_texts()}")
        data = dict(prompt.buttons)[label]
        if prompt.inline:
            await self._now(lambda: self.standin.press(self.bot, self.id, data, prompt))
        else:
            await self.say(label)


def _at_once(do: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def send() -> None:
        do()

    return send


P = TypeVar("P", bound=Reader[Any])


async def run_all(
    people: Sequence[P], script: Callable[[P], Awaitable[None]], tally: Tally
) -> None:
    """Run every person through `script` at once; a lost person's error is kept (five at most)."""

    async def one(person: P) -> None:
        try:
            await script(person)
            tally.finished += 1
        except Lost as exc:
            if len(tally.errors) < 5:
                tally.errors.append(str(exc))
        finally:
            person.close()

    await asyncio.gather(*(one(p) for p in people))


def offered_load(rate: float | None) -> str:
    """The offered load, as the report names it."""
    if rate is None:
        return "closed loop: each person acts on each answer at once"
    return f"open loop: {rate:.0f} actions/s over all people"


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
