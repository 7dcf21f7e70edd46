"""/bahasa: choose the language the bot speaks to you."""

from __future__ import annotations

from telegram import Update

from bot.context import JagaContext
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, translator
from handlers.common import Turn, answer_button, inline, say
from storage import users


async def ask(update: Update, context: JagaContext) -> None:
    """Shows one button per language."""
    turn = await Turn.load(update, context)
    # Both languages, so someone who cannot read the current one still finds theirs.
    text = "Pilih bahasa / Choose a language:"
    keyboard = inline([[(LANGUAGE_NAMES[lang], f"LANG {lang}")] for lang in LANGUAGES])
    await say(context, turn.chat_id, text, keyboard)


async def choose(update: Update, context: JagaContext) -> None:
    """Stores the chosen language and confirms it in that language."""
    query = update.callback_query
    assert query is not None and query.data is not None
    language = query.data.removeprefix("LANG ")
    turn = await Turn.load(update, context)
    if language not in LANGUAGES:
        await answer_button(query, turn.gettext("Tombol ini sudah tidak berlaku."))
        return
    await users.set_language(context.db, turn.id, language)
    _ = translator(language).gettext
    await answer_button(query)
    await say(context, turn.chat_id, _("Baik, saya akan memakai Bahasa Indonesia."))
