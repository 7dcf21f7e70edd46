"""Channel drivers: one person talking to the real Application on Telegram, the console or
WhatsApp, behind one small protocol, so that an acceptance scenario is written once for all.

A scenario only says what the person does (types, presses a choice by its label, shares their
phone) and reads what the bot sent them; each driver turns that into its channel's updates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.fakeapi import ApiCall, RecordingBotApi
from bot.settings import Settings
from jaga.app import JagaApplication, build_application, running
from jaga.console import Console, UpdateFactory
from storage import outbox
from tests.conftest import readability_problems

# The people played here: distinct from the other tests' ids (and from the console's default).
TELEGRAM_PERSON = 86_001_001
CONSOLE_PERSON = 86_001_002
# The phone a person shares (their own, from the share-phone button).
OWN_PHONE = "+6281234567890"


class Driver(Protocol):
    """One person on one channel, as the acceptance scenarios drive them."""

    channel: str  # "telegram" | "console" | "whatsapp"
    person: int  # the person's id in the database (their chat id)

    async def say(self, text: str) -> None:
        """The person types `text` (or a /command)."""

    async def press(self, label: str) -> None:
        """The person presses a choice of the last bot message with choices, by its label (exact,
        or a unique prefix); AssertionError listing the labels when there is none such."""

    async def share_phone(self) -> None:
        """The person gives their own phone number where it is asked."""

    def last_text(self) -> str:
        """The last message the bot sent the person."""

    def labels(self) -> list[str]:
        """The choice labels of the last bot message with choices."""

    def texts(self) -> list[str]:
        """Every message sent to the person, oldest first."""

    async def deliver_outbox(self) -> None:
        """Run the outbox sender until nothing in it is due."""


def pick(label: str, labels: list[str]) -> int:
    """The index of the choice `label` names: the exact label, else the one it begins."""
    if label in labels:
        return labels.index(label)
    wanted = label.casefold()
    starting = [i for i, text in enumerate(labels) if text.casefold().startswith(wanted)]
    if len(starting) != 1:
        why = "no choice" if not starting else "several choices"
        raise AssertionError(f"{why} {label!r} among {labels}")
    return starting[0]


@dataclass(frozen=True)
class Button:
    """A button as the bot sent it: inline (callback data) or of a reply keyboard."""

    label: str
    data: str = ""  # callback data of an inline button; '' for a reply-keyboard button
    contact: bool = False  # a reply-keyboard button that shares the person's phone


def buttons_of(call: ApiCall) -> list[Button]:
    """The buttons of a sent message, row by row."""
    return [
        Button(b["text"], b.get("callback_data", ""), bool(b.get("request_contact")))
        for b in call.keyboard
    ]


class _Recorded:
    """Reading what the recording Bot API sent to one person."""

    api: RecordingBotApi
    person: int

    def _with_buttons(self) -> tuple[ApiCall, list[Button]] | None:
        for call in reversed(self.api.sent(self.person)):
            if buttons := buttons_of(call):
                return call, buttons
        return None

    def last_text(self) -> str:
        """The last message the bot sent the person."""
        return self.api.last(self.person).text

    def labels(self) -> list[str]:
        """The choice labels of the last bot message with choices."""
        found = self._with_buttons()
        return [] if found is None else [b.label for b in found[1]]

    def texts(self) -> list[str]:
        """Every message sent to the person, oldest first."""
        return [call.text for call in self.api.sent(self.person)]


async def deliver_due(app: JagaApplication) -> None:
    """Send every due outbox row through the Application's own sender, each once, and wait for
    rows its background loop took first (the loop never sends a row the other took)."""
    sender = app.bot_data.outbox
    assert sender is not None, "the outbox sender is not running"
    db = app.bot_data.db
    for _ in range(1000):
        now = outbox.stamp(dt.datetime.now(dt.UTC))
        due = await db.fetchall(
            "SELECT id FROM outbox WHERE status = 'pending' AND not_before <= ? ORDER BY id",
            (now,),
        )
        if due:
            await sender.deliver_now([row["id"] for row in due])
            continue
        if not await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'sending'"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the outbox did not empty")


class TelegramDriver(_Recorded):
    """A person in a private Telegram chat: updates as Telegram sends them."""

    channel = "telegram"

    def __init__(self, app: JagaApplication, api: RecordingBotApi, person: int = TELEGRAM_PERSON):
        self.app = app
        self.api = api
        self.person = person
        self.updates = UpdateFactory(app.bot, api)

    async def say(self, text: str) -> None:
        """The person types `text` (a /command gets its entity)."""
        await self.app.process_update(self.updates.text(self.person, text))

    async def press(self, label: str) -> None:
        """An inline button sends its callback data; a reply-keyboard button sends its label
        (or, for the share-phone one, the person's contact)."""
        found = self._with_buttons()
        message, buttons = found if found is not None else (None, [])
        button = buttons[pick(label, [b.label for b in buttons])]
        if button.contact:
            await self.share_phone()
        elif button.data:
            await self.app.process_update(self.updates.press(self.person, button.data, message))
        else:
            await self.say(button.label)

    async def share_phone(self) -> None:
        """The person's own contact, as the share-phone button sends it."""
        await self.app.process_update(self.updates.contact(self.person, OWN_PHONE))

    async def deliver_outbox(self) -> None:
        """Send what is due in the outbox."""
        await deliver_due(self.app)


class ConsoleDriver(_Recorded):
    """A person at `jaga console`: every action is a typed line (a label or a button number)."""

    channel = "console"

    def __init__(self, app: JagaApplication, api: RecordingBotApi, person: int = CONSOLE_PERSON):
        self.app = app
        self.api = api
        self.person = person
        self.out = io.StringIO()  # what the console printed
        self.console = Console(app, api, self.out, OWN_PHONE, person)

    async def say(self, text: str) -> None:
        """The person types a line (which the console presses when it is a button's label)."""
        await self.console.feed(text)

    async def press(self, label: str) -> None:
        """The person types the number the console shows before the choice."""
        wanted = self.labels()[pick(label, self.labels())]
        choices = [choice.label for choice in self.console.choices()]
        assert wanted in choices, f"the console shows no {wanted!r} among {choices}"
        await self.console.feed(str(choices.index(wanted) + 1))

    async def share_phone(self) -> None:
        """The person types the number of the share-phone button."""
        for call in reversed(self.api.sent(self.person)):
            contact = [b.label for b in buttons_of(call) if b.contact]
            if contact:
                choices = [choice.label for choice in self.console.choices()]
                assert contact[0] in choices, f"no share-phone choice among {choices}"
                await self.console.feed(str(choices.index(contact[0]) + 1))
                return
        raise AssertionError("the bot never offered to share the phone")

    async def deliver_outbox(self) -> None:
        """Send what is due in the outbox, printed as the console prints every message."""
        await deliver_due(self.app)
        self.console.print_new()


@asynccontextmanager
async def _recorded_app(
    settings: Settings,
) -> AsyncIterator[tuple[JagaApplication, RecordingBotApi]]:
    """The running Application on the recording Bot API; what it sent is checked at the end."""
    api = RecordingBotApi()
    app = build_application(settings, request=api)
    async with running(app):
        api.clear()  # the command-list calls at start are not messages
        yield app, api
    assert api.unexpected == [], "the bot called Bot API methods the stand-in does not know"
    for call in api.calls:
        assert not readability_problems(call.text), (readability_problems(call.text), call)


@asynccontextmanager
async def driving(channel: str, settings: Settings) -> AsyncIterator[Driver]:
    """A person on `channel` talking to a freshly started Application; stopped afterwards."""
    if channel == "whatsapp":
        from tests.whatsapp_driver import driving_whatsapp

        async with driving_whatsapp(settings) as driver:
            yield driver
        return
    async with _recorded_app(settings) as (app, api):
        if channel == "telegram":
            yield TelegramDriver(app, api)
        elif channel == "console":
            yield ConsoleDriver(app, api)
        else:
            raise ValueError(f"unknown channel {channel!r}")
