"""Channel-neutral prompts: choice ids in the one grammar, the Telegram markup they render to,
and WhatsApp people served without a Telegram keyboard in between."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.prompts import Choice, Choices, Prompt
from bot.settings import Settings
from handlers.common import clear_keyboard, layout, open_link, phone_request
from handlers.telegram.render import inline_markup_of, markup_of
from handlers.whatsapp import bridge
from storage import whatsapp as store
from tests.conftest import Harness
from tests.whatsapp_driver import WhatsAppDriver, driving_whatsapp, options_of

pytestmark = pytest.mark.sqlite_only  # prompts are under test; storage runs on both engines


def _json(markup: object) -> dict[str, Any]:
    assert markup is not None and hasattr(markup, "to_dict")
    found: dict[str, Any] = markup.to_dict()
    return found


@pytest.mark.parametrize(
    "data",
    [
        "yes",  # no prefix the bot makes buttons for
        "REG consent maybe",  # a known prefix, a shape it does not have
        "FIX 0",  # ids start at 1
        "REG  consent yes",  # two spaces
        "MENU " + "a" * 64,  # over 64 bytes
        "",
    ],
)
def test_a_choice_id_outside_the_callback_grammar_is_refused(data: str) -> None:
    with pytest.raises(ValueError, match="malformed choice id"):
        Choice(data, "Ya")


def test_choices_keep_their_checks() -> None:
    with pytest.raises(ValueError, match="empty label"):
        Choice("REG consent yes", "  ")
    with pytest.raises(ValueError, match="duplicate"):
        Choices(((Choice("REG consent yes", "Ya"), Choice("REG consent yes", "Betul")),))
    with pytest.raises(ValueError, match="link"):
        Choice("REG consent yes", "Buka", url="https://t.me/JagaPekerjaBot")
    with pytest.raises(ValueError, match="link"):
        Choice.link("Buka", "javascript:alert(1)")
    with pytest.raises(ValueError, match="label of its button"):
        Choices(request="contact")
    with pytest.raises(ValueError, match="do not mix"):
        Choices(((Choice("REG consent yes", "Ya"),),), request="contact", request_label="HP")
    with pytest.raises(ValueError, match="offers nothing"):
        Choices(((Choice("REG consent yes", "Ya"),),), clear=True)
    with pytest.raises(ValueError, match="1-64 bytes"):
        layout([[("Ya", "")]])


def test_rows_render_as_the_inline_keyboard_made_before() -> None:
    rows = [
        [("Ya, saya setuju", "REG consent yes"), ("Kenapa?", "REG consent why")],
        [("Tidak", "REG consent no")],
    ]
    before = InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )
    assert _json(markup_of(layout(rows))) == _json(before)
    assert _json(markup_of(Prompt("Setuju?", layout(rows)))) == _json(before)
    assert _json(inline_markup_of(layout(rows))) == _json(before)


def test_a_link_renders_as_the_url_button_made_before() -> None:
    url = "https://t.me/JagaPekerjaBot"
    before = InlineKeyboardMarkup([[InlineKeyboardButton("Buka chat pribadi", url=url)]])
    assert _json(markup_of(open_link("Buka chat pribadi", url))) == _json(before)
    mixed = Choices(((Choice("MENU daftar", "Daftar"),), (Choice.link("Situs", url),)))
    assert _json(markup_of(mixed))["inline_keyboard"] == [
        [{"text": "Daftar", "callback_data": "MENU daftar"}],
        [{"text": "Situs", "url": url}],
    ]


def test_a_phone_request_renders_as_the_reply_keyboard_made_before() -> None:
    before = ReplyKeyboardMarkup(
        [[KeyboardButton("Kirim nomor HP saya", request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    assert _json(markup_of(phone_request("Kirim nomor HP saya"))) == _json(before)
    with_reply = ReplyKeyboardMarkup(
        [
            [KeyboardButton("Kirim nomor HP saya", request_contact=True)],
            [KeyboardButton("Minta kode ke kader")],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    shown = markup_of(phone_request("Kirim nomor HP saya", "Minta kode ke kader"))
    assert _json(shown) == _json(with_reply)
    with pytest.raises(ValueError, match="inline"):
        inline_markup_of(phone_request("Kirim nomor HP saya"))


def test_a_clear_renders_as_the_keyboard_removed() -> None:
    assert _json(markup_of(clear_keyboard())) == _json(ReplyKeyboardRemove())
    assert markup_of(None) is None
    assert markup_of(Choices()) is None


async def test_telegram_gets_the_same_markup_from_a_flow(harness: Harness) -> None:
    person = 86_010_001
    await harness.send(person, "/start")
    sent = harness.last(person)
    markup = sent.params.get("reply_markup")
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert isinstance(markup, dict)
    rows = markup["inline_keyboard"]
    assert rows and all(isinstance(b["callback_data"], str) for row in rows for b in row)


@pytest.fixture
async def whatsapp_person(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[WhatsAppDriver, list[object]]]:
    """A WhatsApp person; every Telegram keyboard the bridge is asked to read back is noted."""
    read_back: list[object] = []

    def refuse(markup: object) -> Any:
        read_back.append(markup)
        raise AssertionError("a flow's prompt went through a Telegram keyboard")

    monkeypatch.setattr(bridge, "_choices", refuse)
    async with driving_whatsapp(settings) as driver:
        yield driver, read_back


async def test_whatsapp_prompts_go_to_the_bridge_without_a_telegram_keyboard(
    whatsapp_person: tuple[WhatsAppDriver, list[object]],
) -> None:
    person, read_back = whatsapp_person
    await person.say("/start")
    [menu] = [p for p in person.sent() if options_of(p)]
    assert menu["type"] == "interactive"
    labels = person.labels()
    assert labels
    before = len(person.sent())
    await person.press(labels[0])  # the stored choice still maps the press to its data
    assert len(person.sent()) > before
    assert read_back == []


async def test_whatsapp_keeps_what_each_choice_stands_for(
    whatsapp_person: tuple[WhatsAppDriver, list[object]],
) -> None:
    person, read_back = whatsapp_person
    await person.say("halo")  # opens the 24-hour window
    channel = person.whatsapp
    url = "https://t.me/JagaPekerjaBot"
    offered = Choices(
        (
            (Choice("REG consent yes", "Ya"), Choice("REG consent no", "Tidak")),
            (Choice.link("Situs", url),),
        )
    )
    message_id = await channel.bridge.send_prompt(person.person, Prompt("Setuju?", offered))
    stored = await store.message_choices(person.app.bot_data.db, person.person, message_id)
    assert stored is not None
    assert json.loads(stored) == [["c", "Ya", "REG consent yes"], ["c", "Tidak", "REG consent no"]]
    last = person.sent()[-1]
    assert last["interactive"]["type"] == "button"
    assert f"Situs: {url}" in last["interactive"]["body"]["text"]  # a link as a text line

    asked = Prompt("Nomor HP?", phone_request("Kirim nomor HP saya", "Minta kode ke kader"))
    message_id = await channel.bridge.send_prompt(person.person, asked)
    stored = await store.message_choices(person.app.bot_data.db, person.person, message_id)
    assert stored is not None
    assert json.loads(stored) == [
        ["p", "Kirim nomor HP saya", ""],
        ["t", "Minta kode ke kader", ""],
    ]
    assert read_back == []
