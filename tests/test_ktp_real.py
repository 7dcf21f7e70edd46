"""KTP photos as people really send them: in an album, with a caption, while the one OCR worker
is busy with other people's photos, twice, after /batal or while typing the NIK instead.

The OCR itself is replaced by a stand-in here (tests/test_ktp.py and tests/test_ktp_flow.py read
real generated cards): what is tested is the flow around it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot import ktp
from bot.fakeapi import ApiCall, RecordingBotApi
from bot.registration import Step, format_nik
from handlers.registration import photo
from jaga.app import build_application
from jaga.console import UpdateFactory
from storage import registrations
from tests.conftest import Harness, HarnessFactory, make_settings
from tests.test_ktp import NIK, ktp_lines
from tests.test_ktp_flow import read
from tests.test_runtime_bounds import TOO_SLOW, started, until

WORKER, OTHER = 8201, 8202
READING = "Sedang membaca foto…"
_file_ids = itertools.count(1)


class StandInOcr:
    """`ktp.read_ktp` without OCR: a card reads as the test card, b"noise" as no card."""

    def __init__(self) -> None:
        self.images: list[bytes] = []
        self.delay = 0.0
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def read_ktp(self, image: bytes, *, today: dt.date | None = None) -> ktp.KtpReading:
        self.images.append(image)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        if image == b"noise":
            return ktp.KtpReading(problem="not_a_card")
        return ktp.parse_lines(ktp_lines(), today or dt.date(2026, 12, 1))


@pytest.fixture
def ocr(monkeypatch: pytest.MonkeyPatch) -> StandInOcr:
    stand_in = StandInOcr()
    monkeypatch.setattr(ktp, "read_ktp", stand_in.read_ktp)
    return stand_in


@pytest.fixture
async def quick(harness_factory: HarnessFactory, tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness whose updates wait no time for a photo (a one-second handler bound)."""
    async with harness_factory(make_settings(tmp_path, handler_timeout_seconds=1.0)) as h:
        yield h
    await photo.settled()


def photo_update(
    h: Harness | UpdateFactory,
    user: int,
    content: bytes = b"card",
    *,
    album: str | None = None,
    caption: str | None = None,
) -> Update:
    """A photo as Telegram sends it, in an album or with a caption."""
    updates = h.updates if isinstance(h, Harness) else h
    file_id = f"ktp{next(_file_ids)}"
    updates.api.add_file(file_id, content)
    size = {"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 800}
    fields: dict[str, Any] = {"photo": [{**size, "file_size": len(content)}]}
    if album is not None:
        fields["media_group_id"] = album
    if caption is not None:
        fields["caption"] = caption
    return updates._update(message=updates._message(user, **fields))


async def at_nik_step(h: Harness, user: int = WORKER) -> None:
    await h.send(user, "/daftar")
    await h.tap(user, "Setuju")
    await h.tap(user, "Diri saya sendiri")
    assert h.text(user).startswith("Ketik NIK Anda")


def said(calls: list[ApiCall]) -> list[str]:
    return [c.text for c in calls if c.method in ("sendMessage", "editMessageText")]


async def test_two_photos_sent_as_an_album_give_one_reading(
    harness: Harness, ocr: StandInOcr
) -> None:
    h = harness
    await at_nik_step(h)
    calls = await read(h, photo_update(h, WORKER, album="album-1"))
    calls += await read(h, photo_update(h, WORKER, b"card, again", album="album-1"))
    assert len(ocr.images) == 1
    texts = said(calls)
    assert texts.count(READING) == 1, texts
    assert len([t for t in texts if t.startswith("Dari foto KTP, kami membaca:")]) == 1
    assert h.labels(WORKER)[0] == "Benar"


async def test_an_album_whose_first_photo_is_no_card_reads_the_next(
    harness: Harness, ocr: StandInOcr
) -> None:
    h = harness
    await at_nik_step(h)
    await read(h, photo_update(h, WORKER, b"noise", album="album-2"))
    await read(h, photo_update(h, WORKER, b"card", album="album-2"))
    assert len(ocr.images) == 2
    assert format_nik(NIK) in h.text(WORKER)


async def test_a_photo_with_a_caption_is_read_like_any_photo(
    harness: Harness, ocr: StandInOcr
) -> None:
    h = harness
    await at_nik_step(h)
    await read(h, photo_update(h, WORKER, caption="ini KTP saya"))
    assert format_nik(NIK) in h.text(WORKER)
    await h.tap(WORKER, "Benar")
    stored = await registrations.active_of(h.db, WORKER)
    assert stored is not None and stored.step == Step.MOTHER


async def test_a_photo_waiting_for_the_busy_worker_is_not_cut_off(
    tmp_path: Path, ocr: StandInOcr, caplog: pytest.LogCaptureFixture
) -> None:
    # The one OCR worker is reading other people's photos: this one waits longer than the
    # update's time bound. It is still read and shown; nobody is told to try again.
    api = RecordingBotApi()
    app = build_application(make_settings(tmp_path, handler_timeout_seconds=1.0), request=api)
    updates = UpdateFactory(app.bot, api)
    caplog.set_level(logging.WARNING, logger="bot.processing")
    async with started(app):
        for text in ("/daftar", "Setuju", "Diri saya sendiri"):
            await app.update_queue.put(updates.text(WORKER, text))
        await until(lambda: api.sent(WORKER) and api.last(WORKER).text.startswith("Ketik NIK"))
        ocr.delay = 1.6
        await app.update_queue.put(photo_update(updates, WORKER))
        await app.update_queue.put(updates.text(OTHER, "/bantuan"))
        await until(lambda: api.sent(OTHER))  # others are answered meanwhile
        await until(lambda: api.last(WORKER).text.startswith("Dari foto KTP"), seconds=10)
        await photo.settled()
    texts = [c.text for c in api.sent(WORKER)]
    assert TOO_SLOW not in texts
    assert not [r for r in caplog.records if "event=handler_timeout" in r.getMessage()]


async def test_a_second_photo_while_the_first_is_read_is_asked_to_wait(
    quick: Harness, ocr: StandInOcr
) -> None:
    h = quick
    await at_nik_step(h)
    ocr.gate = asyncio.Event()
    async with asyncio.timeout(5):
        await h.update(photo_update(h, WORKER))
        calls = await h.update(photo_update(h, WORKER, b"card, again"))
    assert said(calls) == ["Foto Anda sebelumnya masih dibaca. Mohon tunggu sebentar."]
    ocr.gate.set()
    await photo.settled()
    assert len(ocr.images) == 1
    assert format_nik(NIK) in h.text(WORKER)


async def test_typing_the_nik_while_the_photo_is_read_drops_the_reading(
    quick: Harness, ocr: StandInOcr
) -> None:
    h = quick
    await at_nik_step(h)
    ocr.gate = asyncio.Event()
    async with asyncio.timeout(5):
        await h.update(photo_update(h, WORKER))
        await h.send(WORKER, NIK)
    assert h.text(WORKER) != READING
    ocr.gate.set()
    await photo.settled()
    assert h.text(WORKER) == "Foto ini tidak dipakai lagi."
    stored = await registrations.active_of(h.db, WORKER)
    assert stored is not None and stored.step != Step.NIK
    assert "ktp" not in json.loads(stored.scratch)


async def test_batal_while_the_photo_is_read_drops_it(quick: Harness, ocr: StandInOcr) -> None:
    h = quick
    await at_nik_step(h)
    ocr.gate = asyncio.Event()
    async with asyncio.timeout(5):
        await h.update(photo_update(h, WORKER))
        await h.send(WORKER, "/batal")
    ocr.gate.set()
    await photo.settled()
    assert h.text(WORKER) == "Foto ini tidak dipakai lagi."
    stored = await registrations.active_of(h.db, WORKER)
    assert stored is not None and "ktp" not in json.loads(stored.scratch)


async def test_a_photo_after_batal_is_not_read(harness: Harness, ocr: StandInOcr) -> None:
    h = harness
    await at_nik_step(h)
    await h.send(WORKER, "/batal")
    calls = await read(h, photo_update(h, WORKER))
    assert ocr.images == [] and not any(c.method == "getFile" for c in calls)
    assert len(said(calls)) == 1


async def test_a_failure_while_reading_is_one_line_with_the_way_to_type(
    harness: Harness, ocr: StandInOcr
) -> None:
    h = harness
    await at_nik_step(h)
    ocr.error = RuntimeError("the download broke off")
    calls = await read(h, photo_update(h, WORKER))
    edited = [c for c in calls if c.method == "editMessageText"]
    assert [c.text for c in edited] == [ktp.PROBLEM_MESSAGES["failed"]]
    assert h.labels(WORKER) == ["Coba lagi", "Ketik saja"]
    await h.tap(WORKER, "Ketik saja")
    assert h.text(WORKER).startswith("Ketik NIK Anda")
