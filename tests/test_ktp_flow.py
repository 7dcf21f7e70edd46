"""Registering from a photo of the KTP: read at the NIK step, shown, stored only once confirmed.

Real OCR on generated cards (tests/ktp_cards.py). The tests share one OCR worker process: the
Application's shutdown of it is held back until the end of this module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram import Update

from bot import ktp
from bot.crypto import mask_nik
from bot.fakeapi import ApiCall
from bot.registration import Step, format_nik
from handlers.registration import photo
from storage import registrations
from storage.registrations import Registration
from tests import ktp_cards
from tests.conftest import Harness
from tests.factories import submitted_registration

WORKER = 8101
CADRE = 8102


@pytest.fixture(scope="module", autouse=True)
def shared_ocr_worker() -> Iterator[None]:
    """One OCR worker for the module: the Application's shutdown leaves it running till the end."""
    real_shutdown = ktp.shutdown

    async def keep_running() -> None:
        return None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ktp, "shutdown", keep_running)
        yield
    asyncio.run(real_shutdown())


@pytest.fixture(scope="module")
def card() -> tuple[ktp_cards.Person, bytes]:
    """A clean card and what it says."""
    return ktp_cards.clean_card(1)


def files_in(folder: Path) -> set[Path]:
    """The files directly in `folder`."""
    return {path for path in folder.iterdir() if path.is_file()}


def files_holding(piece: bytes, paths: set[Path]) -> list[Path]:
    """Those of `paths` whose content contains `piece`."""
    return [path for path in paths if path.exists() and piece in path.read_bytes()]


async def at_nik_step(h: Harness, user: int = WORKER) -> None:
    await h.send(user, "/daftar")
    await h.tap(user, "Setuju")
    await h.tap(user, "Diri saya sendiri")
    assert h.text(user).startswith("Ketik NIK Anda")


async def read(h: Harness, update: Update) -> list[ApiCall]:
    """The person sends a photo; returns the calls until it was read (beside the update)."""
    before = len(h.api.calls)
    await h.update(update)
    await photo.settled()
    return h.api.calls[before:]


async def row(h: Harness, user: int = WORKER) -> Registration:
    found = await registrations.active_of(h.db, user)
    assert found is not None
    return found


async def test_a_photo_is_shown_and_nothing_is_stored_before_it_is_confirmed(
    harness: Harness, card: tuple[ktp_cards.Person, bytes]
) -> None:
    h = harness
    person, image = card
    await at_nik_step(h)
    calls = await read(h, h.updates.photo(WORKER, image))
    assert calls[0].method == "sendMessage" and calls[0].text == "Sedang membaca foto…"
    summary = h.last(WORKER)
    assert summary.method == "editMessageText"
    assert format_nik(person.nik) in summary.text
    assert person.name in summary.text
    assert "Danau Bale" in summary.text or person.desa.title() in summary.text
    assert h.labels(WORKER)[:3] == ["Benar", "Ubah NIK", "Ubah nama"]
    stored = await row(h)
    assert stored.step == Step.NIK
    assert stored.nik_hash is None and stored.name is None and stored.desa_code is None
    # The pending reading is in the draft, but only encrypted.
    assert person.nik not in stored.scratch and person.name not in stored.scratch

    await h.tap(WORKER, "Benar")
    stored = await row(h)
    assert stored.nik_masked == mask_nik(person.nik)
    assert stored.name == person.name.title()
    assert stored.birth_date == person.birth_date.isoformat()
    assert stored.sex == person.sex
    assert (stored.kabupaten_code, stored.kecamatan_code, stored.desa_code) == (
        person.desa_code[:5],
        person.kecamatan_code,
        person.desa_code,
    )
    assert "ktp" not in json.loads(stored.scratch)
    # Birth date confirmed with the card: the flow goes on at the mother's name.
    assert stored.step == Step.MOTHER
    assert "Ketik nama ibu kandung Anda." in h.text(WORKER)
    # ... and after the phone, the address is not asked again.
    await h.send(WORKER, "Siti Aminah")
    await h.send(WORKER, "0812 3456 7890")
    assert (await row(h)).step == Step.OCCUPATION


async def test_changing_the_name_asks_it_and_keeps_the_rest(
    harness: Harness, card: tuple[ktp_cards.Person, bytes]
) -> None:
    h = harness
    person, image = card
    await at_nik_step(h)
    await read(h, h.updates.photo(WORKER, image))
    await h.tap(WORKER, "Ubah nama")
    stored = await row(h)
    assert stored.name is None and stored.nik_masked == mask_nik(person.nik)
    assert h.text(WORKER).endswith("Ketik nama lengkap Anda sesuai KTP.")
    await h.send(WORKER, "Hendra Rambe")
    assert (await row(h)).step == Step.MOTHER


async def test_a_card_that_disagrees_with_its_nik_is_asked_about(harness: Harness) -> None:
    h = harness
    rng = random.Random(7)
    person = ktp_cards.random_person(rng)
    printed = dataclasses.replace(person, birth_date=person.birth_date.replace(day=1))
    if printed.birth_date == person.birth_date:
        printed = dataclasses.replace(person, birth_date=person.birth_date.replace(day=2))
    image = ktp_cards.jpeg(ktp_cards.card_image(printed, rng), 90)
    await at_nik_step(h)
    await read(h, h.updates.photo(WORKER, image))
    await h.tap(WORKER, "Benar")
    question = h.text(WORKER)
    assert "Tanggal lahir di NIK" in question and question.endswith("Mana yang benar?")
    assert h.labels(WORKER) == ["Sesuai NIK", "Sesuai kartu"]
    assert (await row(h)).nik_hash is None  # nothing stored while it is asked
    await h.tap(WORKER, "Sesuai kartu")
    stored = await row(h)
    assert stored.birth_date == printed.birth_date.isoformat()
    assert "birth_corrected" in json.loads(stored.flags)
    assert stored.step == Step.MOTHER


async def test_a_photo_that_is_not_a_card_gets_one_line_and_a_way_back_to_typing(
    harness: Harness,
) -> None:
    h = harness
    await at_nik_step(h)
    await read(h, h.updates.photo(WORKER, ktp_cards.noise_image(3)))
    answer = h.last(WORKER)
    assert answer.method == "editMessageText" and "\n" not in answer.text
    assert h.labels(WORKER) == ["Coba lagi", "Ketik saja"]
    await h.tap(WORKER, "Coba lagi")
    assert h.text(WORKER).startswith("Silakan kirim foto bagian depan KTP Anda.")
    await h.tap(WORKER, "Ketik saja")
    assert h.text(WORKER).startswith("Ketik NIK Anda (16 angka, ada di KTP).")
    assert (await row(h)).step == Step.NIK


async def test_an_oversized_document_is_refused_before_it_is_downloaded(harness: Harness) -> None:
    h = harness
    await at_nik_step(h)
    calls = await read(
        h, h.updates.document(WORKER, b"x", name="ktp.jpg", mime="image/jpeg", size=20 * 2**20)
    )
    assert [c.method for c in calls] == ["sendMessage"]
    assert calls[0].text == "Ukuran file foto terlalu besar. Mohon kirim foto KTP biasa."
    assert h.labels(WORKER) == ["Coba lagi", "Ketik saja"]


async def test_an_image_document_is_read_like_a_photo_and_nothing_is_kept(
    harness: Harness, card: tuple[ktp_cards.Person, bytes], tmp_path: Path
) -> None:
    h = harness
    person, image = card
    temp = Path(tempfile.gettempdir())
    before = files_in(temp)
    await at_nik_step(h)
    await read(h, h.updates.document(WORKER, image, name="ktp.jpg", mime="image/jpeg"))
    assert person.name in h.text(WORKER)
    await h.tap(WORKER, "Benar")
    # The photo is in no file: not beside the database, not in the temporary directory.
    piece = image[2000:2064]
    assert not files_holding(piece, files_in(tmp_path) | (files_in(temp) - before))


async def test_a_cadre_starts_from_the_menu_for_someone_else(
    harness: Harness, card: tuple[ktp_cards.Person, bytes]
) -> None:
    h = harness
    person, image = card
    await h.send(CADRE, "/start")
    await h.tap(CADRE, "Daftar pakai foto KTP")
    assert "Foto KTP, bila dikirim, dihapus setelah dibaca." in h.text(CADRE)
    await h.tap(CADRE, "Setuju")
    await h.tap(CADRE, "Orang lain")
    await h.tap(CADRE, "Sudah, dia setuju")
    assert h.text(CADRE).startswith("Silakan kirim foto bagian depan KTP orang yang didaftarkan.")
    await read(h, h.updates.photo(CADRE, image))
    await h.tap(CADRE, "Benar")
    stored = await row(h, CADRE)
    assert stored.nik_masked == mask_nik(person.nik) and stored.for_self == 0
    assert "Ketik nama ibu kandung orang yang didaftarkan." in h.text(CADRE)


async def test_photos_at_other_steps_get_the_text_only_answer(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    calls = await read(h, h.updates.photo(WORKER, b"not read"))
    assert calls[0].text.startswith("Maaf, saya hanya bisa membaca tulisan.")
    assert not any(c.method == "getFile" for c in calls)


async def test_changing_the_nik_or_the_birth_date_asks_that_and_skips_the_rest(
    harness: Harness, card: tuple[ktp_cards.Person, bytes]
) -> None:
    h = harness
    person, image = card
    await at_nik_step(h)
    await read(h, h.updates.photo(WORKER, image))
    await h.tap(WORKER, "Ubah NIK")
    stored = await row(h)
    assert stored.nik_hash is None and stored.name == person.name.title()
    assert h.text(WORKER).endswith("Ketik NIK Anda (16 angka).")
    await h.send(WORKER, person.nik)
    # The name came from the card: the typed NIK's birth date is asked about next.
    assert (await row(h)).step == Step.BIRTH_CONFIRM

    await h.send(CADRE, "/daftar")
    await h.tap(CADRE, "Setuju")
    await h.tap(CADRE, "Diri saya sendiri")
    await read(h, h.updates.photo(CADRE, ktp_cards.clean_card(2)[1]))
    await h.tap(CADRE, "Ubah tgl lahir")
    stored = await row(h, CADRE)
    assert stored.step == Step.BIRTH_YEAR and stored.name is not None


async def test_a_nik_already_registered_goes_through_the_same_check_as_a_typed_one(
    harness: Harness, card: tuple[ktp_cards.Person, bytes]
) -> None:
    h = harness
    person, image = card
    await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=CADRE, nik=person.nik)
    await at_nik_step(h)
    await read(h, h.updates.photo(WORKER, image))
    await h.tap(WORKER, "Benar")
    assert h.text(WORKER).startswith("NIK ini tidak bisa didaftarkan lagi")
    assert await registrations.active_of(h.db, WORKER) is None


async def test_typing_the_nik_instead_drops_the_unconfirmed_reading(
    harness: Harness, card: tuple[ktp_cards.Person, bytes]
) -> None:
    h = harness
    person, image = card
    await at_nik_step(h)
    await read(h, h.updates.photo(WORKER, image))
    assert "ktp" in json.loads((await row(h)).scratch)
    await h.send(WORKER, person.nik)
    stored = await row(h)
    assert "ktp" not in json.loads(stored.scratch)
    assert stored.step == Step.NAME and stored.name is None
    calls = await h.press(WORKER, "KTP ok")  # the summary's button, now stale
    assert (await row(h)).name is None
    assert calls[-1].text.endswith("Ketik nama lengkap Anda sesuai KTP.")
