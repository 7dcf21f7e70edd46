"""The composition root: builds the Application and registers every handler, in order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.context import CONTEXT_TYPES, Command, Flow, JagaContext, Services
from bot.crypto import FieldCipher
from bot.i18n import LANGUAGES, N_, translator
from bot.settings import Settings
from handlers import errors, language, registration, router, start
from storage.db import Database

log = logging.getLogger(__name__)

JagaApplication = Application[
    ExtBot[None], JagaContext, dict[Any, Any], dict[Any, Any], Services, JobQueue[JagaContext]
]

# A placeholder token for the console, which never reaches Telegram.
CONSOLE_TOKEN = "1:console"


def commands() -> list[Command]:
    """Every command, in the order of Telegram's command list and the /start menu."""
    return [
        Command("start", start.start, N_("menu utama")),
        Command(
            "daftar", registration.daftar, N_("daftar BPJS Ketenagakerjaan"), N_("Daftar BPJS")
        ),
        Command("bahasa", language.ask, N_("ganti bahasa"), menu_label=N_("Bahasa / Language")),
        Command("batal", router.cancel, N_("berhenti dari langkah yang sedang berjalan")),
        Command("bantuan", start.help_command, N_("cara memakai bot ini"), N_("Bantuan")),
    ]


def register_handlers(app: JagaApplication) -> None:
    """Adds every handler. Order matters: the first matching handler in a group wins."""
    services = app.bot_data
    services.commands = {command.name: command for command in commands()}
    # Flows keep their state in SQLite; the router hands them the messages of users inside them.
    services.flows = {
        registration.FLOW: Flow(
            registration.FLOW, registration.on_message, registration.on_cancel
        ),
    }

    # Group -1 runs before everything: updates we deliberately do not serve stop here.
    app.add_handler(TypeHandler(Update, _only_people_in_private_chats), group=-1)

    # Commands work everywhere, also in the middle of a flow (which can then be resumed).
    for command in services.commands.values():
        app.add_handler(CommandHandler(command.name, command.callback))

    # Button presses, by the prefix of their callback data.
    app.add_handler(CallbackQueryHandler(start.menu_button, pattern=r"^MENU "))
    app.add_handler(CallbackQueryHandler(language.choose, pattern=r"^LANG "))
    app.add_handler(CallbackQueryHandler(registration.button, pattern=r"^REG "))
    app.add_handler(CallbackQueryHandler(registration.resume_choice, pattern=r"^REGX "))
    # Any other press is a button from an old message or an old version of the bot.
    app.add_handler(CallbackQueryHandler(router.stale_button))

    # Messages: edits are not answers; unknown commands get help; the rest goes to the router.
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, router.edited_message))
    app.add_handler(MessageHandler(filters.COMMAND, router.unknown_command))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, router.message))

    app.add_error_handler(errors.on_error)


async def _only_people_in_private_chats(update: Update, context: JagaContext) -> None:
    """Stops updates from channels, bots and groups; personal data is never asked in a group."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        raise ApplicationHandlerStop
    if chat.type != "private":
        raise ApplicationHandlerStop


def build_application(
    settings: Settings, *, request: BaseRequest | None = None
) -> JagaApplication:
    """The Application for these settings; `request` replaces the network (console, tests)."""
    token = CONSOLE_TOKEN if request is not None and settings.telegram_token is None else None
    builder = (
        Application.builder()
        .token(token or settings.token())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .context_types(CONTEXT_TYPES)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app: JagaApplication = builder.build()  # type: ignore[assignment]
    app.bot_data.settings = settings
    app.bot_data.cipher = FieldCipher(settings.key)
    register_handlers(app)
    return app


async def _post_init(app: JagaApplication) -> None:
    """Opens the database and publishes the command list in each language."""
    services = app.bot_data
    services.db = await Database.open(services.settings.db)
    for lang in LANGUAGES:
        _ = translator(lang).gettext
        bot_commands = [BotCommand(c.name, _(c.description)) for c in services.commands.values()]
        # The deployment's language is the default for everyone; the others by language_code.
        code = None if lang == services.settings.language else lang
        await app.bot.set_my_commands(bot_commands, language_code=code)


async def _post_shutdown(app: JagaApplication) -> None:
    """Closes the database."""
    services = app.bot_data
    if services.db_open:
        await services.db.close()
        services.db = None


@asynccontextmanager
async def running(app: JagaApplication) -> AsyncIterator[JagaApplication]:
    """Initialise the Application with its post_init/post_shutdown, as run_polling does."""
    async with app:
        assert app.post_init is not None and app.post_shutdown is not None
        await app.post_init(app)
        try:
            yield app
        finally:
            await app.post_shutdown(app)
