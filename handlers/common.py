"""What every handler needs: who is talking, in which language, and how to answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import CallbackQueryLimit, InlineKeyboardButtonLimit

from bot.channels import is_whatsapp, wa_id_of
from bot.context import JagaContext
from bot.crypto import mask_phone
from bot.i18n import Translator, translator
from storage import users
from storage.users import User

Button = tuple[str, str]  # (label, callback data)
Keyboard = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def inline(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data); data must fit in 64 bytes."""
    for row in rows:
        for _label, data in row:
            if not 1 <= len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
                raise ValueError(f"callback_data must be 1-64 bytes: {data!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def columns(buttons: Sequence[Button], width: int) -> list[list[Button]]:
    """Lay buttons out `width` to a row."""
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


@dataclass(frozen=True)
class Turn:
    """The person a handler is answering: their stored row and their language."""

    user: User
    tr: Translator
    chat_id: int

    @classmethod
    async def load(cls, update: Update, context: JagaContext) -> Turn:
        """Load (or create) the sender's row and pick their language."""
        tg_user = update.effective_user
        chat = update.effective_chat
        assert tg_user is not None and chat is not None, "handlers are registered for user updates"
        user = await users.get_or_create(context.db, tg_user.id, tg_user.full_name)
        language = user.language or context.settings.language
        return cls(user=user, tr=translator(language), chat_id=chat.id)

    @property
    def id(self) -> int:
        """The sender's Telegram id."""
        return self.user.telegram_id

    def gettext(self, message: str) -> str:
        """The message in the user's language."""
        return self.tr.gettext(message)


async def say(
    context: JagaContext, chat_id: int, text: str, keyboard: Keyboard | None = None
) -> Message:
    """Send one message (plain text: no markup to break on user-supplied names)."""
    return await context.bot.send_message(chat_id, text, reply_markup=keyboard)


async def answer_button(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner; `text` shows as a short notice (max 200 characters)."""
    await query.answer(
        text[: CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH] if text else None
    )


def account_words(tr: Translator, person: int) -> str:
    """A chat account as its owner knows it: a Telegram id, or a WhatsApp number (masked)."""
    if is_whatsapp(person):
        return tr.gettext("WhatsApp {number}").format(number=mask_phone(f"+{wa_id_of(person)}"))
    return tr.gettext("ID Telegram {id}").format(id=person)
