"""The error handler: log with the traceback, then a short apology in the user's language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from bot.context import JagaContext
from bot.i18n import translator
from storage import users

log = logging.getLogger(__name__)


async def on_error(update: object, context: JagaContext) -> None:
    """Logs the failure first (so it is seen even if answering fails), then apologises."""
    log.error("event=handler_error update_type=%s", type(update).__name__, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private" or update.effective_user is None:
        return
    language: str = context.settings.language
    try:
        if context.services.db_open:
            user = await users.get_or_create(context.db, update.effective_user.id)
            language = user.language or language
    except Exception:  # the database may be what failed; apologise in the default language
        log.exception("event=error_handler_language_lookup_failed")
    _ = translator(language).gettext
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            _(
                "Maaf, terjadi gangguan. Jawaban Anda sebelumnya tetap tersimpan. "
                "Silakan coba lagi sebentar lagi, atau ketik /batal untuk mulai dari awal."
            ),
        )
    except Forbidden:
        log.info("event=error_reply_forbidden chat=%s", update.effective_chat.id)
    except Exception:
        log.exception("event=error_reply_failed")
