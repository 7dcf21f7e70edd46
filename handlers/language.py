"""/bahasa: choose the language the bot speaks to you."""

from __future__ import annotations

from telegram import Update

from bot.context import JagaContext
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, translator
from bot.registration import normalise
from handlers.common import Turn, answer_button, layout, say
from storage import users

# Asking in words for a language ("English please" typed in the middle of a registration).
_ASKED = {
    "en": frozenset(
        {"english", "english please", "english pls", "in english", "please english",
         "speak english", "please speak english", "can you speak english", "do you speak english",
         "english only", "bahasa inggris", "pakai bahasa inggris", "pake bahasa inggris"}
    ),
    "id": frozenset(
        {"bahasa indonesia", "pakai bahasa indonesia", "pake bahasa indonesia", "indonesian",
         "in indonesian", "indonesian please"}
    ),
}  # fmt: skip


async def ask(update: Update, context: JagaContext) -> None:
    """Shows one button per language."""
    turn = await Turn.load(update, context)
    # Both languages, so someone who cannot read the current one still finds theirs.
    text = "Pilih bahasa / Choose a language:"
    keyboard = layout([[(LANGUAGE_NAMES[lang], f"LANG {lang}")] for lang in LANGUAGES])
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


async def typed(update: Update, context: JagaContext, turn: Turn, text: str) -> bool:
    """A message asking for a language in words: stores it and, in the middle of a flow, asks
    its question again in that language (else confirms); False for any other message."""
    words = normalise(text[:100])
    language = next((lang for lang, asked in _ASKED.items() if words in asked), None)
    if language is None or language == turn.tr.language:
        return False
    await users.set_language(context.db, turn.id, language)
    flow = context.services.flows.get(turn.user.active_flow or "")
    if flow is not None and flow.resume is not None:
        await flow.resume(update, context)  # the same question, now in the language asked
        return True
    _ = translator(language).gettext
    await say(context, turn.chat_id, _("Baik, saya akan memakai Bahasa Indonesia."))
    return True
