"""The error handler: log with the traceback, then a short apology in the user's language."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import Forbidden

from bot.context import JagaContext
from bot.i18n import translator
from bot.logging_setup import mask_text
from storage import users
from storage.db import StorageUnavailable

log = logging.getLogger(__name__)

# The admins hear of each kind of error at most once in this many seconds (an outage would
# otherwise send one notice per update).
ADMIN_NOTICE_INTERVAL = 300.0


async def on_error(update: object, context: JagaContext) -> None:
    """Logs the failure first (so it is seen even if answering fails), then apologises."""
    log.error("event=handler_error update_type=%s", type(update).__name__, exc_info=context.error)
    await _notify_admins(update, context)
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
    if isinstance(context.error, StorageUnavailable):
        # Database locked or disk full: this answer was not stored, the earlier ones were.
        text = _(
            "Maaf, jawaban terakhir Anda belum bisa disimpan karena gangguan penyimpanan. "
            "Jawaban sebelumnya tetap aman. Silakan kirim lagi jawaban terakhir Anda "
            "sebentar lagi."
        )
    else:
        text = _(
            "Maaf, terjadi gangguan. Jawaban Anda sebelumnya tetap tersimpan. "
            "Silakan coba lagi sebentar lagi, atau ketik /batal untuk mulai dari awal."
        )
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except Forbidden:
        log.info("event=error_reply_forbidden chat=%s", update.effective_chat.id)
    except Exception:
        log.exception("event=error_reply_failed")


async def _notify_admins(update: object, context: JagaContext) -> None:
    """Tells the admins (JAGA_ADMINS) what failed, masked, at most once per kind per interval."""
    error = context.error
    kind = type(error).__name__
    now = time.monotonic()
    notices = context.services.error_notices
    if now - notices.get(kind, -ADMIN_NOTICE_INTERVAL) < ADMIN_NOTICE_INTERVAL:
        return
    notices[kind] = now
    pressed = isinstance(update, Update) and update.callback_query is not None
    user = update.effective_user if isinstance(update, Update) else None
    summary = mask_text(f"{kind}: {error}")[:500]
    for admin in sorted(context.settings.admins):
        language: str = context.settings.language
        try:
            if context.services.db_open:
                language = (await users.get_or_create(context.db, admin)).language or language
        except Exception:  # the database may be what failed
            log.debug("event=admin_language_lookup_failed")
        _ = translator(language).gettext
        where = _("tombol yang ditekan") if pressed else _("pesan")
        if user is not None:
            where = _("{what} dari pengguna {id}").format(what=where, id=user.id)
        text = _("Gangguan di bot: {summary}\nSaat memproses: {where}\nRinciannya ada di log.")
        try:
            await context.bot.send_message(admin, text.format(summary=summary, where=where))
        except Exception as exc:
            log.warning("event=admin_notice_failed admin=%s error=%s", admin, type(exc).__name__)
