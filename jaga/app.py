"""The composition root: builds the Application and registers every handler, in order."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import ktp, limits, menus, outbox, reminders
from bot.context import CONTEXT_TYPES, Command, Flow, JagaContext
from bot.context import JagaApplication as JagaApplication
from bot.crypto import FieldCipher
from bot.flood import FloodLimiter
from bot.http import make_request
from bot.i18n import LANGUAGES, N_
from bot.leader import when_leader
from bot.processing import tell_too_slow, update_processing
from bot.retry import RetryingRateLimiter
from bot.settings import Settings
from handlers import (
    admin,
    broadcasts,
    cadres,
    claims,
    errors,
    language,
    privacy,
    questions,
    registration,
    review,
    router,
    start,
    status,
)
from handlers.common import deliverer
from handlers.whatsapp.bridge import NoTelegram
from handlers.whatsapp.channel import WhatsAppChannel
from storage.db import Database

log = logging.getLogger(__name__)

# A placeholder token for the console, which never reaches Telegram.
CONSOLE_TOKEN = "1:console"


def commands() -> list[Command]:
    """Every command, in the order of Telegram's command list and the /start menu."""
    return [
        Command("start", start.start, N_("menu utama")),
        Command(
            "daftar", registration.daftar, N_("daftar BPJS Ketenagakerjaan"), N_("Daftar BPJS")
        ),
        Command("status", status.status, N_("status pendaftaran saya"), N_("Cek status")),
        Command("klaim", claims.klaim, N_("status klaim"), N_("Status klaim")),
        Command("iuran", questions.iuran, N_("hitung iuran per bulan"), N_("Hitung iuran")),
        # Officials answer the questions workers passed on (no menu button: not for workers).
        Command("pertanyaan", questions.pertanyaan, N_("jawab pertanyaan pekerja (petugas)")),
        # The district review desk (reviewers only; no menu button either).
        Command("tinjau", review.queue, N_("tinjau pengajuan (petugas kabupaten)")),
        Command("ekspor", review.export_command, N_("unduh data pengajuan (petugas)")),
        Command("laporan", review.report_command, N_("laporan dan grafik kabupaten (petugas)")),
        # Cadres and broadcasts: invite links and the cadre view; paced broadcasts.
        Command("kader", cadres.kader, N_("kader desa: pekerja terdaftar, formulir, undangan")),
        Command("siaran", broadcasts.siaran, N_("kirim siaran ke kader atau pekerja (petugas)")),
        Command("bahasa", language.ask, N_("ganti bahasa"), menu_label=N_("Bahasa / Language")),
        Command("batal", router.cancel, N_("berhenti dari langkah yang sedang berjalan")),
        Command("bantuan", start.help_command, N_("cara memakai bot ini"), N_("Bantuan")),
        Command("berhenti", broadcasts.stop, N_("berhenti menerima siaran")),
        Command("mulai", broadcasts.resume, N_("menerima siaran lagi")),
        Command(
            "data_saya",
            privacy.data_saya,
            N_("lihat, perbaiki atau hapus data saya"),
            N_("Data saya"),
        ),
    ]


def register_handlers(app: JagaApplication) -> None:
    """Adds every handler. Order matters: the first matching handler in a group wins."""
    services = app.bot_data
    services.commands = {command.name: command for command in commands()}
    # Flows keep their state in SQLite; the router hands them the messages of users inside them.
    flows = [
        Flow(
            registration.FLOW,
            registration.on_message,
            registration.on_cancel,
            registration.CANCEL_TEXT,
            resume=registration.ask_again,
        ),
        # /status and /klaim: NIK + birth date, or a claim number; /iuran: occupation, income.
        Flow(status.FLOW, status.on_message, status.on_cancel),
        Flow(claims.FLOW, claims.on_message, claims.on_cancel),
        Flow(questions.IURAN_FLOW_NAME, questions.iuran_message, questions.iuran_cancel),
        # An official typing the answer to a worker's question.
        Flow(questions.ANSWER_FLOW_NAME, questions.answer_message, questions.answer_cancel),
        # /data_saya: a cadre proving a worker's NIK + birth date; the text of a correction.
        Flow(privacy.FLOW, privacy.on_message, privacy.on_cancel),
        # A reviewer's note on a rejection or fix request, or a sponsor's name.
        Flow(review.FLOW, review.on_message, review.on_cancel, review.CANCEL_TEXT),
        # A new cadre typing their name; a broadcast's text.
        Flow(cadres.FLOW, cadres.on_message, cadres.on_cancel),
        Flow(broadcasts.FLOW, broadcasts.on_message, broadcasts.on_cancel, broadcasts.CANCEL_TEXT),
    ]
    services.flows = {flow.name: flow for flow in flows}

    # Group -10 runs first: a person sending far more than anyone can type is slowed down
    # (one polite message, then silence until their bucket refills; kept in memory, or in the
    # database when several processes share PostgreSQL: bot/limits.py).
    settings = services.settings
    flood = services.flood = FloodLimiter(settings.flood_burst, settings.flood_rate)
    app.add_handler(TypeHandler(Update, privacy.FloodGuard(flood)), group=-10)
    # Group -1: updates we deliberately do not serve stop here.
    app.add_handler(TypeHandler(Update, _only_people_in_private_chats), group=-1)

    # Commands work everywhere, also in the middle of a flow (which can then be resumed).
    for command in services.commands.values():
        app.add_handler(CommandHandler(command.name, command.callback))
    # Admin only and unlisted: grant or revoke roles (the Telegram side of `jaga grant`).
    app.add_handler(CommandHandler(admin.COMMAND, admin.roles_command))

    # Button presses, by the prefix of their callback data.
    app.add_handler(CallbackQueryHandler(start.menu_button, pattern=r"^MENU "))
    app.add_handler(CallbackQueryHandler(language.choose, pattern=r"^LANG "))
    app.add_handler(CallbackQueryHandler(registration.button, pattern=r"^REG "))
    app.add_handler(CallbackQueryHandler(registration.resume_choice, pattern=r"^REGX "))
    # "Perbaiki data" buttons from the review desk, reminders and the cadre view.
    app.add_handler(CallbackQueryHandler(registration.fix, pattern=r"^FIX "))
    app.add_handler(CallbackQueryHandler(registration.ktp_button, pattern=r"^KTP "))
    app.add_handler(CallbackQueryHandler(privacy.button, pattern=r"^DATA "))
    # Status lookups, claims, knowledge topics, the calculator, officials answering questions.
    app.add_handler(CallbackQueryHandler(status.button, pattern=r"^STS "))
    app.add_handler(CallbackQueryHandler(claims.button, pattern=r"^CLM "))
    app.add_handler(CallbackQueryHandler(questions.ask_button, pattern=r"^ASK "))
    app.add_handler(CallbackQueryHandler(questions.iuran_button, pattern=r"^IUR "))
    app.add_handler(CallbackQueryHandler(questions.answer_question_button, pattern=r"^QNA "))
    # The review desk: card actions, the queue filter, export formats (all re-checked).
    app.add_handler(CallbackQueryHandler(review.button, pattern=r"^REV "))
    app.add_handler(CallbackQueryHandler(review.queue_filter, pattern=r"^REVQ "))
    app.add_handler(CallbackQueryHandler(review.export_button, pattern=r"^EXP "))
    # Cadre invites and views; composing broadcasts (role and scope re-checked on each press).
    app.add_handler(CallbackQueryHandler(cadres.button, pattern=r"^KDR "))
    app.add_handler(CallbackQueryHandler(broadcasts.button, pattern=r"^SIA "))
    # Any other press is a button from an old message or an old version of the bot.
    app.add_handler(CallbackQueryHandler(router.stale_button))

    # Messages: edits are not answers; unknown commands get help; the rest goes to the router.
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, router.edited_message))
    app.add_handler(MessageHandler(filters.COMMAND, router.unknown_command))
    # A document is a cadre's filled spreadsheet (anyone else is told politely what it is for).
    # A file at the registration's NIK step is a KTP photo; any other goes to the cadres' sheet.
    app.add_handler(MessageHandler(filters.Document.ALL, registration.document))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, router.message))

    # Group 1, after the update was handled: someone marked as having blocked the bot (a 403 to
    # a broadcast) wrote to it, so they can be messaged again.
    app.add_handler(TypeHandler(Update, broadcasts.seen), group=1)

    app.add_error_handler(errors.on_error)


async def _only_people_in_private_chats(update: Update, context: JagaContext) -> None:
    """Stops updates from channels, bots and groups; personal data is never asked in a group.

    Fails closed: a guard that cannot decide or answer (database, network) stops the update too.
    """
    try:
        await _guard(update, context)
    except ApplicationHandlerStop:
        raise
    except Exception:
        log.exception("event=guard_failed")
        raise ApplicationHandlerStop from None


async def _guard(update: Update, context: JagaContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        raise ApplicationHandlerStop
    if chat.type != "private":
        await privacy.answer_in_group(update, context)  # /start, /bantuan: a private-chat button
        raise ApplicationHandlerStop
    # Never read: forwarded messages (may carry others' data) and texts longer than any answer.
    if await privacy.refused_unread(update, context):
        raise ApplicationHandlerStop
    # A press whose data does not fit its prefix's grammar (bot/callbacks.py) was forged.
    if await privacy.refused_forged_button(update, context):
        raise ApplicationHandlerStop


def build_application(
    settings: Settings, *, request: BaseRequest | None = None
) -> JagaApplication:
    """The Application for these settings; `request` replaces the network (console, tests)."""
    # WhatsApp-only (no Telegram token) runs on a Bot that never reaches Telegram.
    offline = request is not None or settings.whatsapp_enabled
    token = CONSOLE_TOKEN if offline and settings.telegram_token is None else None
    processor, update_queue = update_processing(
        settings.max_concurrent_updates, settings.handler_timeout_seconds
    )
    builder = (
        Application.builder()
        .token(token or settings.token())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .context_types(CONTEXT_TYPES)
        .rate_limiter(
            # Paced; 429s, 5xx and timeouts retried (bot/retry.py).
            RetryingRateLimiter(overall_max_rate=settings.max_messages_per_second, max_retries=2)
        )
        # Concurrent across people, ordered per user and chat, bounded (bot/processing.py).
        .concurrent_updates(processor)
        .update_queue(update_queue)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is None and settings.telegram_token is None and settings.whatsapp_enabled:
        request = NoTelegram()
    if request is None:
        # A lean Bot API client (bot/http.py): a fraction of httpx's CPU per call.
        request, updates_request = (
            make_request(connection_pool_size=256),
            make_request(connection_pool_size=1),
        )
    else:
        updates_request = request
    whatsapp = WhatsAppChannel(settings) if settings.whatsapp_enabled else None
    if whatsapp is not None:  # WhatsApp people's calls go to the bridge (handlers/whatsapp/)
        request = whatsapp.wrap(request)
    builder = builder.request(request).get_updates_request(updates_request)
    app: JagaApplication = builder.build()  # type: ignore[assignment]
    app.bot_data.whatsapp = whatsapp
    processor.on_timeout = functools.partial(tell_too_slow, app)  # bounded handlers
    app.bot_data.settings = settings
    app.bot_data.cipher = FieldCipher(settings.key)
    register_handlers(app)
    return app


async def _post_init(app: JagaApplication) -> None:
    """Opens the database and publishes the command lists: workers' and each role holder's."""
    services = app.bot_data
    services.db = await Database.open(services.settings.db)
    # Several processes on PostgreSQL: a leader for the once-only work, limits in the database.
    await limits.start(app)
    listed = list(services.commands.values())
    for lang in LANGUAGES:
        # Everyone gets the workers' commands; the deployment's language is the default, the
        # others by language_code.
        code = None if lang == services.settings.language else lang
        worker_commands = menus.bot_commands(listed, "worker", lang)
        await app.bot.set_my_commands(worker_commands, language_code=code)
    # Cadres, reviewers and admins get their own menu in their private chat (granted on the
    # command line since the last start, too); former role holders get the default back.
    await menus.sync_all(app.bot, services.db, services.settings, listed)
    # Repeating jobs (they run once the Application is started: jaga run, not the tests).
    if app.job_queue is not None:
        # Daily retention: rejected submissions and abandoned drafts past their period go.
        app.job_queue.run_repeating(
            when_leader(privacy.retention_job), interval=24 * 3600, first=60, name="retention"
        )
        # Reminders: protection ending, fixes waiting, idle drafts, cadres' weekly summary.
        app.job_queue.run_repeating(
            when_leader(reminders.job),
            interval=services.settings.reminder_scan_minutes * 60,
            first=30,
            name="reminders",
        )
    # The paced sender of broadcasts and reminders, rendering each for its person's channel.
    await outbox.start_background(app, deliverer(services.whatsapp))
    if services.whatsapp is not None:  # the WhatsApp webhook, once the database is open
        await services.whatsapp.start(app)


async def _post_shutdown(app: JagaApplication) -> None:
    """Stops the KTP reader's worker process and closes the database."""
    services = app.bot_data
    if services.whatsapp is not None:  # no more deliveries; those being handled finish
        await services.whatsapp.stop()
    await ktp.shutdown()
    await outbox.stop_background(app)  # the outbox sender stops before the database closes
    await limits.stop(app)
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
