"""Acceptance flows written once and run on every channel: Telegram, the console and WhatsApp.

Each scenario drives one person through tests/channels.py's Driver (type, press a choice by its
label or a prefix of it, share the phone) and checks meaning, not exact wording: key words the
messages carry and what the database holds afterwards, so one assertion holds on every channel.
The database is read through a connection of the test's own, as any outside observer would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import clock
from bot.contributions import NON_TRANSPORT, SELF_PAID, quote
from bot.crypto import FieldCipher
from bot.settings import Settings
from storage import registrations
from storage import reminders as reminder_store
from storage.db import Database
from storage.registrations import Registration
from tests.channels import Driver, driving
from tests.factories import nik_for, submitted_registration

# The flows behave the same on PostgreSQL; the channels are what is under test here.
pytestmark = pytest.mark.sqlite_only

CHANNELS = ["telegram", "console", "whatsapp"]


@pytest.fixture(params=CHANNELS)
async def person(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Driver]:
    """A worker talking to a freshly started bot on each channel in turn."""
    async with driving(request.param, settings) as driver:
        yield driver


@pytest.fixture
async def db(person: Driver, settings: Settings) -> AsyncIterator[Database]:
    """The bot's database (already migrated by the running bot), opened by the test."""
    database = await Database.open(settings.db)
    try:
        yield database
    finally:
        await database.close()


async def active_row(db: Database, person: Driver) -> Registration:
    """The registration the person is answering questions for."""
    row = await registrations.active_of(db, person.person)
    assert row is not None, "no registration in progress"
    return row


async def start_for_myself(person: Driver, nik: str) -> None:
    """From /daftar to the name question: consent typed, not pressed."""
    await person.say("/daftar")
    assert person.labels()[0] == "Setuju"  # the button is there, yet he types it
    await person.say("setuju")
    await person.press("Diri saya")
    await person.say(nik)


async def test_a_worker_registers_themselves(
    person: Driver, db: Database, settings: Settings
) -> None:
    nik = nik_for("12.10.19")
    await start_for_myself(person, nik)
    await person.say("budi santoso")
    await person.press("Benar")
    await person.say("siti aminah")
    await person.share_phone()
    await person.say("labuhanbatu")  # typed instead of paging through the kabupaten list
    await person.press("Panai Hilir")
    await person.press("Sei Berombang")
    await person.say("nelayan")  # typed instead of pressed
    await person.press("Sampai Rp1.099")
    await person.press("JKK + JKM:")
    await person.press("Program")  # a program pays: no period to choose
    await person.press("Lewati")
    summary = person.last_text()
    assert "Budi Santoso" in summary and "Sei Berombang" in summary and "Nelayan" in summary
    await person.press("Kirim")

    [row] = await registrations.by_operator(db, person.person)
    done = person.last_text()
    assert row.ref and row.ref in done
    assert "status" in done and "petugas" in done  # what happens next, and where to look
    assert row.status == "diajukan"
    assert (row.for_self, row.worker_telegram_id) == (1, person.person)
    assert row.consent_at
    cipher = FieldCipher(settings.key)
    assert row.nik_enc is not None and cipher.decrypt(row.nik_enc) == nik
    assert (row.name, row.mother_name) == ("Budi Santoso", "Siti Aminah")
    assert row.phone_enc is not None and cipher.decrypt(row.phone_enc).startswith("+628")
    assert row.desa_code == "12.10.19.1001"
    assert (row.occupation, row.programs, row.payer) == ("nelayan", "JKK_JKM", "program")
    assert row.monthly_contribution == 16_800


async def test_a_question_mid_flow_is_answered_and_the_step_asked_again(
    person: Driver, db: Database
) -> None:
    await start_for_myself(person, nik_for())
    asked = person.last_text()
    assert "nama" in asked
    await person.say("brp iuran nelayan?")
    answer = person.last_text()
    assert "Rp16.800" in answer  # the contribution under Rp1.1 million a month
    assert answer.endswith(asked)  # then the same question again
    assert (await active_row(db, person)).name is None  # the question is no name
    await person.say("budi santoso")
    assert (await active_row(db, person)).name == "Budi Santoso"
    await person.press("Benar")
    assert "ibu kandung" in person.last_text()


async def test_batal_keeps_the_answers_and_daftar_continues_at_the_same_step(
    person: Driver, db: Database
) -> None:
    nik = nik_for()
    await start_for_myself(person, nik)
    await person.say("budi santoso")
    await person.press("Benar")
    await person.say("siti aminah")
    await person.share_phone()
    await person.say("labuhanbatu")
    await person.press("Panai Hilir")
    step = person.last_text()
    assert "desa" in step
    await person.say("/batal")
    assert "tersimpan" in person.last_text()  # the answers are kept
    kept = await active_row(db, person)
    assert (kept.name, kept.mother_name) == ("Budi Santoso", "Siti Aminah")
    assert (kept.kecamatan_code, kept.phone_hash is not None) == ("12.10.19", True)
    await person.say("budi")  # no longer an answer to anything
    assert (await active_row(db, person)).name == "Budi Santoso"

    await person.say("/daftar")
    assert any(label.startswith("Lanjutkan") for label in person.labels())
    await person.press("Lanjutkan")
    assert person.last_text() == step
    await person.press("Sei Berombang")
    assert (await active_row(db, person)).desa_code == "12.10.19.1001"
    assert "pekerjaan" in person.last_text()


async def test_status_shows_the_persons_own_registration(
    person: Driver, db: Database, settings: Settings
) -> None:
    cipher = FieldCipher(settings.key)
    mine = await submitted_registration(db, cipher, operator_id=person.person)
    other = await submitted_registration(db, cipher, operator_id=person.person + 1)
    await person.say("/status")
    shown = person.last_text()
    assert mine.ref is not None and other.ref is not None
    assert mine.ref in shown and other.ref not in shown
    assert "menunggu" in shown  # sent, waiting to be checked
    await db.execute(
        "UPDATE registrations SET status = 'perlu_perbaikan' WHERE id = ?", (mine.id,)
    )
    await person.say("/status")
    assert mine.ref in person.last_text()
    assert "perbaik" in person.last_text()  # sent back to be fixed


async def test_a_question_outside_any_flow_is_answered_from_the_knowledge_base(
    person: Driver,
) -> None:
    await person.say("kalau meninggal dapat apa?")
    answer = person.last_text()
    assert "JKM" in answer and "ahli waris" in answer  # the death benefit, to the heirs
    assert "Sumber:" in answer  # the knowledge base names its source


async def test_a_queued_reminder_reaches_the_person_once(person: Driver, db: Database) -> None:
    text = "Pendaftaran BPJS Ketenagakerjaan Anda belum selesai. Silakan lanjutkan kapan saja."
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    reminder: dict[str, Any] = {
        "kind": "draft",
        "subject": f"acceptance-{person.person}",
        "period": "2026-11",
        "recipient_id": person.person,
        "text": text,
        "at": now,
    }
    assert await reminder_store.queue_once(db, **reminder) is not None
    assert await reminder_store.queue_once(db, **reminder) is None  # the same one again
    assert text not in person.texts()
    await person.deliver_outbox()
    await person.deliver_outbox()
    assert person.texts().count(text) == 1
    assert person.last_text() == text
    status = await db.fetchval("SELECT status FROM outbox WHERE chat_id = ?", (person.person,))
    assert status == "sent"


async def test_the_calculator_reads_a_typed_income(person: Driver) -> None:
    await person.say("/iuran")
    await person.press("Nelayan")  # the sector, pressed
    await person.say("sekitar 2 juta")  # the income, typed the way people say it
    answer = person.last_text()
    today = clock.today()  # the bot's own day (Asia/Jakarta)
    for programs in ("JKK_JKM", "JKK_JKM_JHT"):
        figure = quote(2_000_000, programs, NON_TRANSPORT, SELF_PAID, today).to_pay
        assert f"Rp{figure:,}".replace(",", ".") in answer
    assert "Rp2.000.000" in answer
    await person.press("Hitung lagi")
    assert "pekerjaan" in person.last_text()


async def test_my_data_shows_the_persons_registration_and_no_one_elses(
    person: Driver, db: Database, settings: Settings
) -> None:
    cipher = FieldCipher(settings.key)
    mine = await submitted_registration(db, cipher, operator_id=person.person)
    other = await submitted_registration(db, cipher, operator_id=person.person + 1)
    assert mine.ref is not None and other.ref is not None
    await person.say("/data_saya")
    assert mine.ref in person.last_text() and other.ref not in person.last_text()
    await person.press(f"Lihat data {mine.ref}")
    shown = person.last_text()
    assert mine.name is not None and mine.name in shown
    assert mine.nik_masked is not None and mine.nik_masked in shown  # never the full NIK
    assert any(label.startswith("Hapus data") for label in person.labels())
