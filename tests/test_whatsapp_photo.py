"""A KTP photo on WhatsApp that cannot be fetched from the Cloud API is asked for again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from handlers.registration import photo
from handlers.whatsapp.standin import image_message
from tests.whatsapp_driver import WA_ID, WhatsAppDriver, driving_whatsapp


@pytest.fixture
async def person(settings: Settings) -> AsyncIterator[WhatsAppDriver]:
    """A WhatsApp person and the running bot."""
    async with driving_whatsapp(settings) as driver:
        yield driver


async def test_a_photo_that_cannot_be_fetched_is_asked_for_again(person: WhatsAppDriver) -> None:
    await person.say("/daftar")
    await person.say("setuju")
    await person.press("Diri saya")
    assert "NIK" in person.last_text()
    await person.deliver(image_message(WA_ID, "never.uploaded"))  # the stand-in has no such media
    await photo.settled()
    said = person.last_text()
    assert "belum bisa dibaca" in said and "teks" not in said  # not "I only read text"
    assert "Coba lagi" in person.labels()
