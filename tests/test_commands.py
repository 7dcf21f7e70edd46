"""Per-role command menus (Telegram chat scopes) and /bantuan for each role."""

from __future__ import annotations

import json

from pydantic import SecretStr

from bot.fakeapi import ApiCall, RecordingBotApi
from bot.settings import Settings
from jaga.app import build_application, running
from storage import roles
from storage.db import Database
from tests.conftest import ADMIN_ID, Harness

REVIEWER = 8101
CADRE = 8201
WORKER = 8301
DESA = "12.10.19.1001"


def scoped(calls: list[ApiCall], method: str) -> dict[int, list[str]]:
    """The chat-scoped command calls: chat id → the commands set (empty for a delete)."""
    out: dict[int, list[str]] = {}
    for call in calls:
        if call.method != method or "scope" not in call.params:
            continue
        scope = call.params["scope"]
        scope = json.loads(scope) if isinstance(scope, str) else scope
        if scope["type"] != "chat":
            continue
        commands = call.params.get("commands") or []
        commands = json.loads(commands) if isinstance(commands, str) else commands
        out[int(scope["chat_id"])] = [c["command"] for c in commands]
    return out


def default_menus(calls: list[ApiCall]) -> list[list[str]]:
    """The command lists set without a scope (everyone's, per language)."""
    out = []
    for call in calls:
        if call.method == "setMyCommands" and "scope" not in call.params:
            commands = call.params["commands"]
            commands = json.loads(commands) if isinstance(commands, str) else commands
            out.append([c["command"] for c in commands])
    return out


async def start_calls(settings: Settings) -> list[ApiCall]:
    """The Bot API calls one start-up makes."""
    api = RecordingBotApi()
    app = build_application(settings, request=api)
    async with running(app):
        return list(api.calls)


async def test_start_up_sets_worker_menu_and_a_menu_per_role_holder(settings: Settings) -> None:
    db = await Database.open(settings.db)
    try:  # granted on the command line: only the database knows
        await roles.grant(db, REVIEWER, "reviewer", "12.10", "cli")
        await roles.grant(db, CADRE, "cadre", DESA, "cli")
    finally:
        await db.close()
    calls = await start_calls(settings)
    defaults = default_menus(calls)
    assert len(defaults) == 2  # Indonesian (the default) and English
    for menu in defaults:
        assert "daftar" in menu and "bantuan" in menu
        assert not {"tinjau", "kader", "siaran", "pertanyaan", "peran"} & set(menu)
    menus = scoped(calls, "setMyCommands")
    assert set(menus) == {REVIEWER, CADRE, ADMIN_ID}
    assert {"tinjau", "ekspor", "laporan", "siaran", "kader", "daftar"} <= set(menus[REVIEWER])
    assert "peran" not in menus[REVIEWER]
    assert {"kader", "pertanyaan", "daftar"} <= set(menus[CADRE])
    assert not {"tinjau", "siaran", "peran"} & set(menus[CADRE])
    assert "peran" in menus[ADMIN_ID]

    # Nothing changed: a restart sets no chat menu again.
    assert scoped(await start_calls(settings), "setMyCommands") == {}
    # The console's stand-in bot does not count for the real one on the same database.
    real = settings.model_copy(update={"telegram_token": SecretStr("4242:real-bot-token")})
    assert set(scoped(await start_calls(real), "setMyCommands")) == {REVIEWER, CADRE, ADMIN_ID}

    # Revoked on the command line: the next start gives the default menu back.
    db = await Database.open(settings.db)
    try:
        await roles.revoke(db, CADRE, "cadre")
    finally:
        await db.close()
    calls = await start_calls(settings)
    assert scoped(calls, "deleteMyCommands") == {CADRE: []}
    assert scoped(calls, "setMyCommands") == {}


async def test_peran_sets_and_removes_the_chat_menu(harness: Harness) -> None:
    await harness.send(ADMIN_ID, f"/peran reviewer {REVIEWER} 12.10")
    menus = scoped(harness.api.calls, "setMyCommands")
    assert "tinjau" in menus[REVIEWER]
    harness.api.clear()

    await harness.send(ADMIN_ID, f"/peran cadre {REVIEWER} {DESA}")
    # Still a reviewer: the reviewer's menu stays, so nothing is set again.
    assert scoped(harness.api.calls, "setMyCommands") == {}

    await harness.send(ADMIN_ID, f"/peran cabut reviewer {REVIEWER}")
    menus = scoped(harness.api.calls, "setMyCommands")
    assert "kader" in menus[REVIEWER] and "tinjau" not in menus[REVIEWER]
    harness.api.clear()

    await harness.send(ADMIN_ID, f"/peran cabut cadre {REVIEWER}")
    assert scoped(harness.api.calls, "deleteMyCommands") == {REVIEWER: []}


async def test_bantuan_lists_only_what_the_reader_may_use(harness: Harness) -> None:
    await roles.grant(harness.db, REVIEWER, "reviewer", "12.10", "test")
    await roles.grant(harness.db, CADRE, "cadre", DESA, "test")
    texts = {}
    for who in (WORKER, CADRE, REVIEWER, ADMIN_ID):
        await harness.send(who, "/bantuan")
        texts[who] = harness.text(who)
        assert len(texts[who]) <= 600, (who, len(texts[who]))
        assert "/daftar" in texts[who] and "/bantuan" in texts[who]
    assert not any(c in texts[WORKER] for c in ("/tinjau", "/kader", "/siaran", "/peran"))
    assert "/kader" in texts[CADRE] and "/pertanyaan" in texts[CADRE]
    assert "/tinjau" not in texts[CADRE] and "/siaran" not in texts[CADRE]
    assert "/tinjau" in texts[REVIEWER] and "/siaran" in texts[REVIEWER]
    assert "/peran" not in texts[REVIEWER]
    assert "/peran" in texts[ADMIN_ID]
    await harness.send(ADMIN_ID, "/bahasa")
    await harness.tap(ADMIN_ID, "English")
    await harness.send(ADMIN_ID, "/bantuan")
    assert len(harness.text(ADMIN_ID)) <= 600


async def test_peran_with_a_superscript_digit_shows_the_usage_instead_of_failing(
    harness: Harness,
) -> None:
    # "²" passes str.isdigit but int() refuses it.
    await harness.send(ADMIN_ID, "/peran reviewer ² 12.10")
    text = harness.text(ADMIN_ID)
    assert "Cara memakai" in text and "gangguan" not in text
