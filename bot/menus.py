"""Per-role command menus: workers see worker commands; cadres, reviewers and admins their own.

Telegram shows the command list of the most specific scope: a role holder's private chat gets
its own list (BotCommandScopeChat), everyone else the default one. The menu set for each chat is
recorded per bot (`command_scopes`), so start-up only sets what changed, e.g. after `jaga grant`;
the console's stand-in bot keeps its own record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.access import access_of, audience, may_use, role_holders
from bot.context import Command
from bot.i18n import N_, translator
from bot.settings import Settings
from storage import roles, users
from storage.db import Database

log = logging.getLogger(__name__)

# Commands registered outside `jaga.app.commands()` that belong in a menu: (name, description).
EXTRA: tuple[tuple[str, str], ...] = (("peran", N_("beri atau cabut peran (admin)")),)


def entries(commands: Iterable[Command], who: str) -> list[tuple[str, str]]:
    """(name, untranslated description) of the commands in the menu of `who`, in menu order."""
    listed = [(c.name, c.description) for c in commands] + list(EXTRA)
    return [(name, text) for name, text in listed if may_use(name, who)]


def bot_commands(commands: Iterable[Command], who: str, language: str) -> list[BotCommand]:
    """The menu of `who` as Telegram's command list, in `language`."""
    _ = translator(language).gettext
    return [BotCommand(name, _(text)) for name, text in entries(commands, who)]


def _menu_key(who: str, language: str, listed: list[BotCommand]) -> str:
    return f"{who}:{language}:" + ",".join(c.command for c in listed)


def bot_id(bot: Bot) -> int:
    """The bot's id, the number before the colon of its token (no network call)."""
    return int(bot.token.split(":", 1)[0])


async def set_menu(
    bot: Bot,
    db: Database,
    settings: Settings,
    commands: Iterable[Command],
    telegram_id: int,
    *,
    current: str | None = None,
    known: bool = False,
) -> None:
    """Give this person's private chat the menu of their roles now (or the default again).

    `current`/`known`: the menu recorded for the chat, when the caller already read it.
    A Telegram error (a chat the bot cannot reach yet) is logged and tried again at start-up.
    """
    if not known:
        current = (await roles.menu_set(db, bot_id(bot))).get(telegram_id)
    who = audience(await access_of(db, settings, telegram_id))
    scope = BotCommandScopeChat(telegram_id)
    try:
        if who == "worker":
            if current is not None:
                await bot.delete_my_commands(scope=scope)
                await roles.record_menu(db, bot_id(bot), telegram_id, None)
            return
        language = await users.language_of(db, telegram_id) or settings.language
        listed = bot_commands(commands, who, language)
        key = _menu_key(who, language, listed)
        if key == current:
            return
        await bot.set_my_commands(listed, scope=scope)
        await roles.record_menu(db, bot_id(bot), telegram_id, key)
    except TelegramError as exc:
        log.warning("event=command_menu_not_set user=%s error=%s", telegram_id, exc)
        return
    log.info("event=command_menu_set user=%s menu=%s", telegram_id, who)


async def sync_all(bot: Bot, db: Database, settings: Settings, commands: list[Command]) -> None:
    """At start-up: every role holder's menu, and the default menu back for former ones."""
    recorded = await roles.menu_set(db, bot_id(bot))
    for telegram_id in sorted(set(await role_holders(db, settings)) | set(recorded)):
        await set_menu(
            bot,
            db,
            settings,
            commands,
            telegram_id,
            current=recorded.get(telegram_id),
            known=True,
        )
