"""People on WhatsApp as they really answer: what they read must make sense without Telegram.

Each walk drives one person through the real webhook against the Cloud API stand-in and checks
what WhatsApp shows them: choices whose titles still say what they do, one message per act, a
way on after every notice, and the channel's own words in the person's language.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.settings import Settings
from handlers.whatsapp import render
from handlers.whatsapp.standin import button_reply, list_reply
from tests.factories import nik_for
from tests.whatsapp_driver import (
    WhatsAppDriver,
    body_of,
    driving_whatsapp,
    options_of,
    walk_to_address,
)

pytestmark = pytest.mark.sqlite_only  # the channel's rendering is under test

Payload = dict[str, Any]


@pytest.fixture
async def person(settings: Settings) -> AsyncIterator[WhatsAppDriver]:
    """A WhatsApp person and the running bot."""
    async with driving_whatsapp(settings) as driver:
        yield driver


def shown(payload: Payload) -> list[str]:
    """Every choice as the person can read it: its title, and the line under it if any."""
    interactive = payload.get("interactive") or {}
    if interactive.get("type") == "button":
        return [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    rows = [r for s in interactive.get("action", {}).get("sections", []) for r in s["rows"]]
    return [" / ".join(filter(None, (r["title"], r.get("description")))) for r in rows]


def assert_choices_readable(payloads: list[Payload]) -> None:
    """No button cut short; a row cut short carries its whole label under its title."""
    for payload in payloads:
        interactive = payload.get("interactive") or {}
        if interactive.get("type") == "button":
            titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
            assert not [t for t in titles if t.endswith(render.ELLIPSIS)], titles
        for section in interactive.get("action", {}).get("sections", []):
            for row in section["rows"]:
                if row["title"].endswith(render.ELLIPSIS):
                    assert row.get("description"), row


async def press_old(person: WhatsAppDriver, payload: Payload, label: str) -> None:
    """Press the choice `label` on an earlier message, as someone scrolling up does."""
    [(choice_id, title)] = [(i, t) for i, t in options_of(payload) if t.startswith(label)]
    make = button_reply if payload["interactive"]["type"] == "button" else list_reply
    response = await person.deliver(make(person.wa_id, choice_id, title))
    assert response.status_code == 200


def last_with(person: WhatsAppDriver, label: str) -> Payload:
    """The last message offering a choice that begins with `label`."""
    for payload in reversed(person.sent()):
        if any(t.startswith(label) for _, t in options_of(payload)):
            return payload
    raise AssertionError(f"no message offered {label!r}")


async def register_until_programs(person: WhatsAppDriver) -> None:
    """A fisherman registering himself, up to the choice of programs."""
    await walk_to_address(person, nik_for("12.10.19"))
    await person.say("labuhanbatu")
    await person.press("Panai Hilir")
    await person.press("Sei Berombang")
    await person.say("nelayan")
    await person.press("Sampai Rp1.099")


def test_shortened_titles_keep_whole_words_and_whole_ranges() -> None:
    # A word that ends right at the cut is kept ("Pemda"), and so is one before a slash.
    assert render.shorten("Iuran dibayar Pemda/program", 20) == "Iuran dibayar Pemda…"
    assert render.shorten("Iuran dibayar Pemda/program", 24) == "Iuran dibayar Pemda…"
    # An income range fits a row whole once the spaces around its dash go.
    assert render.shorten("Rp1.100.000 – Rp1.299.000", 24) == "Rp1.100.000–Rp1.299.000"
    # A number is not cut at its thousands dot, where it would read as a smaller amount.
    assert render.shorten("Sampai Rp1.099.000 per bulan", 16) == "Sampai…"


async def test_the_price_of_each_program_is_shown_whole_not_cut_off_a_button(
    person: WhatsAppDriver,
) -> None:
    await register_until_programs(person)
    programs = last_with(person, "JKK + JKM")
    readable = shown(programs)
    assert any("JKK + JKM + JHT: Rp36.800/bulan" in r for r in readable), readable
    assert any("JKK + JKM: Rp16.800/bulan" in r for r in readable), readable
    # The income ranges read whole in their rows, without a line under them.
    income = last_with(person, "Sampai Rp1.099.000")
    assert "Rp1.100.000–Rp1.299.000" in shown(income)
    assert_choices_readable(person.sent())
    await person.press("JKK + JKM + JHT")  # the full label still picks it
    assert "membayar iuran" in person.last_text()


async def test_who_pays_and_the_calculators_choices_say_what_they_do(
    person: WhatsAppDriver,
) -> None:
    await person.say("/iuran")
    readable = shown(person.sent()[-1])
    assert any("Iuran dibayar Pemda/program" in r for r in readable), readable
    await person.say("/daftar")  # the consent: one tap, why the data is asked said whole
    assert person.sent()[-1]["interactive"]["type"] == "button"
    assert "Kenapa data diminta?" in shown(person.sent()[-1])
    assert_choices_readable(person.sent())


async def test_an_old_button_gets_one_message_and_always_a_way_on(
    person: WhatsAppDriver,
) -> None:
    # She declines, then changes her mind and presses "Setuju" on the same old message: the
    # notice stands alone, so it offers a way on.
    await person.say("/daftar")
    declined = person.sent()[-1]
    await person.press("Tidak")
    before = len(person.sent())
    await press_old(person, declined, "Setuju")
    [notice] = person.sent()[before:]
    assert "tidak berlaku" in body_of(notice)
    assert options_of(notice), "a notice standing alone must offer a way on"
    await person.press("Menu utama")
    assert "Jaga Pekerja" in person.last_text()
    assert person.labels()[:1] == ["Daftar BPJS"]

    # Registering now, she presses "Setuju" again two questions later: one message, the
    # notice and the question the registration waits for together.
    await person.say("/daftar")
    consent = person.sent()[-1]
    await person.say("setuju")
    await person.press("Diri saya")
    await person.say(nik_for("12.10.19"))
    before = len(person.sent())
    await press_old(person, consent, "Setuju")
    [answer] = person.sent()[before:]
    text = body_of(answer)
    assert "tidak berlaku" in text and "nama lengkap" in text, text


async def test_the_channels_own_words_are_in_the_persons_language(
    person: WhatsAppDriver,
) -> None:
    await person.say("/bahasa")
    await person.press("English")
    await person.say("/start")
    menu = person.sent()[-1]["interactive"]
    assert menu["type"] == "list"
    assert menu["action"]["button"] == "Choose"
    assert menu["action"]["sections"][0]["title"] == "Options"
