"""The greeting, help, language choice and the error handler, through the Application."""

from __future__ import annotations

import logging

import pytest
from telegram.ext import CommandHandler

from bot.fakeapi import RecordingBotApi
from bot.settings import Settings
from jaga.app import JagaApplication, build_application, running
from tests.conftest import Harness, HarnessFactory

USER = 501


async def test_start_greets_in_indonesian_with_menu(harness: Harness) -> None:
    await harness.send(USER, "/start")
    assert harness.text(USER).startswith("Selamat datang di Jaga Pekerja.")
    assert "Bantuan" in harness.labels(USER)
    assert "Bahasa / Language" in harness.labels(USER)


async def test_start_publishes_commands_per_language(settings: Settings) -> None:
    api = RecordingBotApi()
    async with running(build_application(settings, request=api)):
        set_calls = [c for c in api.calls if c.method == "setMyCommands"]
    by_language = {c.params.get("language_code"): c.params["commands"] for c in set_calls}
    assert {None, "en"} <= by_language.keys()
    default = {c["command"]: c["description"] for c in by_language[None]}
    english = {c["command"]: c["description"] for c in by_language["en"]}
    assert default["bahasa"] == "ganti bahasa"
    assert english["bahasa"] == "change language"


async def test_choosing_english_changes_the_bot_language(harness: Harness) -> None:
    await harness.send(USER, "/bahasa")
    assert harness.labels(USER) == ["Bahasa Indonesia", "English"]
    await harness.tap(USER, "English")
    assert harness.text(USER) == "OK, I will use English."
    await harness.send(USER, "/start")
    assert harness.text(USER).startswith("Welcome to Jaga Pekerja.")
    assert "Help" in harness.labels(USER)
    await harness.tap(USER, "Bahasa / Language")
    await harness.tap(USER, "Bahasa Indonesia")
    assert harness.text(USER) == "Baik, saya akan memakai Bahasa Indonesia."


async def test_language_survives_a_restart(harness_factory: HarnessFactory) -> None:
    async with harness_factory() as first:
        await first.send(USER, "/bahasa")
        await first.tap(USER, "English")
    async with harness_factory() as second:
        await second.send(USER, "/bantuan")
        assert second.text(USER).startswith("How to use Jaga Pekerja:")


async def test_menu_help_button_lists_commands(harness: Harness) -> None:
    await harness.send(USER, "/start")
    await harness.tap(USER, "Bantuan")
    text = harness.text(USER)
    assert "/batal" in text
    assert "175" in text


async def test_handler_error_apologises_and_logs_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(update: object, context: object) -> None:
        raise RuntimeError("kaboom")

    harness.app.add_handler(CommandHandler("boom", boom), group=-2)
    with caplog.at_level(logging.ERROR):
        calls = await harness.send(USER, "/boom")
    assert any(c.text.startswith("Maaf, terjadi gangguan.") for c in calls)
    records = [r for r in caplog.records if "handler_error" in r.getMessage()]
    assert records and records[0].exc_info is not None
    assert "kaboom" in str(records[0].exc_info[1])


async def test_error_apology_is_in_the_users_language(harness: Harness) -> None:
    async def boom(update: object, context: object) -> None:
        raise RuntimeError("kaboom")

    await harness.send(USER, "/bahasa")
    await harness.tap(USER, "English")
    harness.app.add_handler(CommandHandler("boom", boom), group=-2)
    calls = await harness.send(USER, "/boom")
    assert any(c.text.startswith("Sorry, something went wrong.") for c in calls)


async def test_stale_button_is_answered_not_ignored(harness: Harness) -> None:
    await harness.send(USER, "/start")
    calls = await harness.press(USER, "XYZ 42 gone")
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers
    assert answers[0].params["text"] == "Tombol ini sudah tidak berlaku."


async def test_unknown_command_and_edits_get_a_way_forward(harness: Harness) -> None:
    await harness.send(USER, "/entahlah")
    assert "/bantuan" in harness.text(USER)
    await harness.update(harness.updates.edited(USER, "jawaban baru"))
    assert "pesan baru" in harness.text(USER)


async def test_batal_outside_a_flow_says_so(harness: Harness) -> None:
    await harness.send(USER, "/batal")
    assert harness.text(USER).startswith("Tidak ada langkah yang sedang berjalan.")


async def test_group_messages_are_ignored(harness: Harness) -> None:
    calls = await harness.send(USER, "halo semua", chat_id=-100123)
    assert calls == []


def test_application_is_built_once_per_settings(settings: Settings) -> None:
    app: JagaApplication = build_application(settings, request=RecordingBotApi())
    handlers = [type(h).__name__ for h in app.handlers[0]]
    # Commands first, then buttons, then messages: the order is what makes routing work.
    assert handlers.index("CommandHandler") < handlers.index("CallbackQueryHandler")
    assert handlers.index("CallbackQueryHandler") < handlers.index("MessageHandler")
