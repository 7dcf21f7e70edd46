"""A person on WhatsApp, driven through the real webhook against the Cloud API stand-in.

Every act is a signed delivery posted to the running `/whatsapp` webhook, as Meta posts it; what
the bot answered is read from the messages the stand-in accepted. Same protocol as the other
drivers in tests/channels.py, so the acceptance scenarios run unchanged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from bot.channels import whatsapp_person
from bot.fakeapi import RecordingBotApi
from bot.settings import Settings
from handlers.whatsapp import render
from handlers.whatsapp.channel import WhatsAppChannel
from handlers.whatsapp.standin import (
    CloudApiStandIn,
    button_reply,
    delivery,
    list_reply,
    post_signed,
    text_message,
)
from jaga.app import JagaApplication, build_application, running
from storage import whatsapp as store
from tests.channels import deliver_due, pick
from tests.conftest import readability_problems

WA_ID = "6281298760001"
PROFILE_NAME = "Budi Nelayan"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
TOKEN = "standin-token"
NUMBER_ID = "100200300"

Payload = dict[str, Any]


def whatsapp_settings(settings: Settings, api_url: str) -> Settings:
    """`settings` with the WhatsApp channel on, against the stand-in at `api_url`."""
    return settings.model_copy(
        update={
            "whatsapp_token": SecretStr(TOKEN),
            "whatsapp_phone_number_id": NUMBER_ID,
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
            "whatsapp_api_url": api_url,
        }
    )


def body_of(payload: Payload) -> str:
    """The text a person reads in a sent message (a template's text parameter included)."""
    kind = payload.get("type")
    if kind == "text":
        return str(payload["text"]["body"])
    if kind == "interactive":
        return str(payload["interactive"]["body"]["text"])
    if kind == "template":
        components = payload["template"].get("components") or []
        return " ".join(p["text"] for c in components for p in c.get("parameters", []))
    return ""


def options_of(payload: Payload) -> list[tuple[str, str]]:
    """(id, full label) of the choices shown, page rows included: a row's description holds
    the whole label when its title had to be shortened."""
    interactive = payload.get("interactive") or {}
    if interactive.get("type") == "button":
        return [(b["reply"]["id"], b["reply"]["title"]) for b in interactive["action"]["buttons"]]
    rows = [r for s in interactive.get("action", {}).get("sections", []) for r in s["rows"]]
    out = []
    for row in rows:
        title, description = row["title"], row.get("description")
        full = description if title.endswith(render.ELLIPSIS) and description else title
        out.append((row["id"], full))
    return out


class WhatsAppDriver:
    """One WhatsApp person talking to the bot through its webhook."""

    channel = "whatsapp"

    def __init__(
        self,
        app: JagaApplication,
        whatsapp: WhatsAppChannel,
        standin: CloudApiStandIn,
        http: httpx.AsyncClient,
        wa_id: str = WA_ID,
    ) -> None:
        self.app = app
        self.whatsapp = whatsapp
        self.standin = standin
        self.http = http
        self.wa_id = wa_id
        self.person = whatsapp_person(wa_id)
        self.url = f"http://127.0.0.1:{whatsapp.port}/whatsapp"

    async def deliver(self, message: Payload) -> httpx.Response:
        """Post one message as Meta does, signed, and wait until it has been handled."""
        body = delivery([message], names={self.wa_id: PROFILE_NAME})
        response = await post_signed(self.http, self.url, body, APP_SECRET)
        await self.whatsapp.dispatcher.join()
        return response

    async def say(self, text: str) -> None:
        """The person types `text`."""
        response = await self.deliver(text_message(self.wa_id, text))
        assert response.status_code == 200

    def sent(self) -> list[Payload]:
        """Every message sent to the person, oldest first."""
        return [p for p in self.standin.sent if p.get("to") == self.wa_id]

    def _with_choices(self) -> Payload | None:
        for payload in reversed(self.sent()):
            if options_of(payload):
                return payload
        return None

    def labels(self) -> list[str]:
        """The choice labels on the last message with choices (page rows left out)."""
        payload = self._with_choices()
        if payload is None:
            return []
        return [
            label for choice_id, label in options_of(payload) if render.page_of(choice_id) is None
        ]

    async def _reply(self, payload: Payload, choice_id: str, title: str) -> None:
        make = button_reply if payload["interactive"]["type"] == "button" else list_reply
        response = await self.deliver(make(self.wa_id, choice_id, title))
        assert response.status_code == 200

    async def press(self, label: str) -> None:
        """Pick the choice by its label, turning the list's pages as a person would."""
        for _ in range(20):
            payload = self._with_choices()
            assert payload is not None, "the bot sent no choices"
            options = options_of(payload)
            choices = [(i, t) for i, t in options if render.page_of(i) is None]
            labels = [t for _, t in choices]
            try:
                index = pick(label, labels)
            except AssertionError:
                # The list's next page, or the flow's own "next" (a region list's pages).
                pages = [(i, t) for i, t in options if (render.page_of(i) or 0) > _page(payload)]
                pages += [(i, t) for i, t in choices if t.startswith("Berikutnya")]
                if not pages:
                    raise
                await self._reply(payload, *pages[0])
                continue
            await self._reply(payload, *choices[index])
            return
        raise AssertionError(f"{label!r} not found on any page")

    async def share_phone(self) -> None:
        """Press the choice that gives the bot the person's own WhatsApp number, where the bot
        asks for it; registering themselves, it is not asked: WhatsApp gives the number."""
        if "nomor whatsapp anda" in self.last_text().lower():
            return
        for payload in reversed(self.sent()):
            for choice_id, title in options_of(payload):
                if await self._is_own_phone(choice_id):
                    await self._reply(payload, choice_id, title)
                    return
        raise AssertionError("the bot never offered to use the WhatsApp number")

    async def _is_own_phone(self, choice_id: str) -> bool:
        message, _, index = choice_id.removeprefix("m").partition(".")
        if not (message.isdigit() and index.isdigit()):
            return False
        stored = await store.message_choices(self.app.bot_data.db, self.person, int(message))
        choices = json.loads(stored) if stored else []
        return int(index) < len(choices) and choices[int(index)][0] == "p"

    def last_text(self) -> str:
        """The last message the bot sent the person."""
        sent = self.sent()
        return body_of(sent[-1]) if sent else ""

    def texts(self) -> list[str]:
        """Every message sent to the person, oldest first."""
        return [body_of(p) for p in self.sent()]

    async def deliver_outbox(self) -> None:
        """Send what is due in the outbox."""
        await deliver_due(self.app)


def _page(payload: Payload) -> int:
    """The page a list shows: one after its "previous" row (always the first row), else 0."""
    ids = [i for i, _ in options_of(payload)]
    previous = render.page_of(ids[0]) if ids else None
    return 0 if previous is None else previous + 1


async def walk_to_address(person: WhatsAppDriver, nik: str) -> None:
    """A worker registering themselves, from /daftar to the kabupaten question."""
    await person.say("/daftar")
    await person.say("setuju")
    await person.press("Diri saya")
    await person.say(nik)
    await person.say("budi santoso")
    await person.press("Benar")
    await person.say("siti aminah")
    await person.share_phone()  # not asked on WhatsApp: the number is taken


@asynccontextmanager
async def running_whatsapp(
    settings: Settings,
) -> AsyncIterator[tuple[JagaApplication, WhatsAppChannel, CloudApiStandIn, RecordingBotApi]]:
    """The Application with the WhatsApp channel on, against the stand-in (Telegram recorded)."""
    async with CloudApiStandIn(token=TOKEN, phone_number_id=NUMBER_ID) as standin:
        telegram = RecordingBotApi()
        app = build_application(whatsapp_settings(settings, standin.base_url), request=telegram)
        whatsapp = app.bot_data.whatsapp
        assert isinstance(whatsapp, WhatsAppChannel)
        whatsapp.bind("127.0.0.1", 0)
        async with running(app):
            telegram.clear()
            yield app, whatsapp, standin, telegram
        for payload in standin.sent:
            text = body_of(payload)
            assert not readability_problems(text), (readability_problems(text), payload)


@asynccontextmanager
async def driving_whatsapp(settings: Settings) -> AsyncIterator[WhatsAppDriver]:
    """A WhatsApp person talking to a freshly started Application; stopped afterwards."""
    async with (
        running_whatsapp(settings) as (app, whatsapp, standin, _telegram),
        httpx.AsyncClient() as http,
    ):
        yield WhatsAppDriver(app, whatsapp, standin, http)
