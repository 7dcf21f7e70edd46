"""A WhatsApp message taken over after a crash: applied once, never a second time.

The process dies after the flow committed the answer but before the message was marked done
(here: `store.done` fails once, then the process stops); the next process takes the message
over once its lease lapsed. Runs on both engines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.registration import Step
from bot.settings import Settings
from storage import registrations
from storage import whatsapp as store
from storage.db import Database
from tests.factories import nik_for
from tests.whatsapp_driver import WhatsAppDriver, driving_whatsapp

LONG_AGO = "2000-01-01T00:00:00.000Z"


def crash_before_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next `store.done` fails: the message stays in the inbox, leased, as after a kill."""
    real: Callable[[Database, str], Awaitable[None]] = store.done
    failed: list[str] = []

    async def done_once(db: Database, message_id: str) -> None:
        if not failed:
            failed.append(message_id)
            raise RuntimeError("the process died before marking the message done")
        await real(db, message_id)

    monkeypatch.setattr(store, "done", done_once)


async def lapse_leases(settings: Settings) -> None:
    """The dead process's leases lapse."""
    db = await Database.open(settings.db)
    try:
        await db.execute(
            "UPDATE whatsapp_inbox SET lease_until = ? WHERE done_at IS NULL", (LONG_AGO,)
        )
    finally:
        await db.close()


async def inbox_rows(person: WhatsAppDriver) -> list[dict[str, Any]]:
    """Every stored message, oldest first."""
    rows = await person.app.bot_data.db.fetchall("SELECT * FROM whatsapp_inbox ORDER BY seq")
    return [dict(r) for r in rows]


async def to_birth_month(person: WhatsAppDriver) -> None:
    """A worker registering themselves, up to the birth-month question."""
    await person.say("/daftar")
    await person.say("setuju")
    await person.press("Diri saya")
    await person.say(nik_for("12.10.19"))
    await person.say("budi santoso")
    await person.press("Salah")  # the birth date read from the NIK is wrong
    await person.press("1970–1979")
    await person.press("1975")
    assert person.last_text().startswith("Pilih bulan lahir")


async def test_a_month_taken_over_after_a_crash_is_not_applied_again_as_the_day(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with driving_whatsapp(settings) as first:
        await to_birth_month(first)
        crash_before_done(monkeypatch)
        await first.say("5")  # May: committed, the day asked, then the process dies
        assert first.last_text().startswith("Pilih tanggal lahir")
        assert [r["done_at"] for r in await inbox_rows(first)][-1] is None
        before = await registrations.active_of(first.app.bot_data.db, first.person)
        assert before is not None and before.step == Step.BIRTH_DAY
    await lapse_leases(settings)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="handlers.whatsapp.channel")
    async with driving_whatsapp(settings) as second:
        await second.whatsapp.dispatcher.join()
        db = second.app.bot_data.db
        row = await registrations.active_of(db, second.person)
        assert row is not None
        # The replayed "5" is not the birth day (1975-05-05): the day is still asked.
        assert (row.step, row.birth_date) == (Step.BIRTH_DAY, before.birth_date)
        assert json.loads(row.scratch)["birth_month"] == 5
        assert second.last_text().startswith("Pilih tanggal lahir")
        assert len(second.sent()) == 1
        last = (await inbox_rows(second))[-1]
        assert last["done_at"] is not None and last["applied_at"] is not None
        assert last["event"] is None
        assert f"event=whatsapp_skip_applied seq={last['seq']}" in caplog.text
        await second.say("15")  # the person goes on where they were
        row = await registrations.active_of(db, second.person)
        assert row is not None and row.birth_date == "1975-05-15"


async def test_a_question_whose_answer_wrote_nothing_is_answered_again_after_a_crash(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.whatsapp.channel")
    question = "apa manfaat ikut bpjs ketenagakerjaan"
    async with driving_whatsapp(settings) as first:
        await first.say("/start")
        crash_before_done(monkeypatch)
        await first.say(question)  # answered from the knowledge base: nothing stored
        assert first.last_text().startswith("Manfaat ikut BPJS TK")
        last = (await inbox_rows(first))[-1]
        assert (last["done_at"], last["applied_at"]) == (None, None)
    await lapse_leases(settings)
    async with driving_whatsapp(settings) as second:
        await second.whatsapp.dispatcher.join()
        # Nothing was applied: the message is handled again, the answer sent again.
        assert [p["type"] for p in second.sent()] == ["interactive"]
        assert second.last_text().startswith("Manfaat ikut BPJS TK")
        last = (await inbox_rows(second))[-1]
        assert last["done_at"] is not None and last["applied_at"] is None
        assert "event=whatsapp_skip_applied" not in caplog.text


async def test_a_message_whose_marking_failed_in_a_running_process_is_finished_by_its_sweep(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with driving_whatsapp(settings) as person:
        await to_birth_month(person)
        crash_before_done(monkeypatch)  # the database blips at the end; the process lives on
        await person.say("5")
        db = person.app.bot_data.db
        await db.execute(
            "UPDATE whatsapp_inbox SET lease_until = ? WHERE done_at IS NULL", (LONG_AGO,)
        )
        await person.whatsapp._take_over()  # what the sweep does every half lease
        await person.whatsapp.dispatcher.join()
        assert [r["done_at"] is not None for r in await inbox_rows(person)] == [True] * len(
            await inbox_rows(person)
        )
        row = await registrations.active_of(db, person.person)
        assert row is not None and row.step == Step.BIRTH_DAY  # applied once
