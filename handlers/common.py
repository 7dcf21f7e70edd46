"""What every handler needs: who is talking, in which language, and how to answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Bot, CallbackQuery, Update
from telegram.constants import CallbackQueryLimit

from bot import callbacks
from bot.channels import is_whatsapp, wa_id_of
from bot.context import JagaContext
from bot.crypto import mask_phone
from bot.i18n import Translator, translator
from bot.outbox import Deliver
from bot.prompts import Choice, Choices, Prompt
from handlers.telegram.render import inline_markup_of
from handlers.telegram.render import send as telegram_send
from handlers.whatsapp.channel import WhatsAppChannel
from storage import users
from storage.users import User

Button = tuple[str, str]  # (label, callback data)
Keyboard = Choices  # what a message offers, channel-neutral (bot/prompts.py)


def layout(rows: Sequence[Sequence[Button]]) -> Keyboard:
    """Choices from rows of (label, callback data); data must fit in 64 bytes and the grammar."""
    for row in rows:
        for _label, data in row:
            if not 1 <= len(data.encode()) <= callbacks.MAX_BYTES:
                raise ValueError(f"callback_data must be 1-64 bytes: {data!r}")
    return Choices(tuple(tuple(Choice(data, label) for label, data in row) for row in rows))


def open_link(label: str, url: str) -> Keyboard:
    """One button that opens `url`."""
    return Choices(((Choice.link(label, url),),))


def phone_request(label: str, *replies: str) -> Keyboard:
    """A button that sends the person's own phone number, and texts a press sends as typed."""
    return Choices(request="contact", request_label=label, replies=replies)


def clear_keyboard() -> Keyboard:
    """Takes away the keyboard an earlier phone request left."""
    return Choices(clear=True)


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


@dataclass(frozen=True)
class Sent:
    """A message the bot sent: where, and its id (to edit it later)."""

    chat_id: int
    message_id: int


def _whatsapp(context: JagaContext, chat_id: int) -> WhatsAppChannel | None:
    """The WhatsApp channel when `chat_id` is a WhatsApp person's and the channel runs here."""
    channel = context.bot_data.whatsapp
    if is_whatsapp(chat_id) and isinstance(channel, WhatsAppChannel):
        return channel
    return None


async def _paced(
    context: JagaContext, chat_id: int, method: str, send: Callable[[], Awaitable[int]]
) -> int:
    """A send outside the Bot API, paced and retried as the Bot API `method` is; its id."""
    limiter = context.bot.rate_limiter

    async def call() -> dict[str, Any]:
        return {"message_id": await send()}

    if limiter is None:
        return await send()
    result = await limiter.process_request(call, (), {}, method, {"chat_id": chat_id}, None)
    assert isinstance(result, dict)
    return int(result["message_id"])


async def say(
    context: JagaContext,
    chat_id: int,
    text: str,
    keyboard: Keyboard | None = None,
    *,
    previews: bool = True,
) -> Sent:
    """Send one message (plain text, no markup) through the person's channel; the message."""
    prompt = Prompt(text, keyboard or Choices())
    channel = _whatsapp(context, chat_id)
    if channel is not None:
        message_id = await _paced(
            context, chat_id, "sendMessage", lambda: channel.bridge.send_prompt(chat_id, prompt)
        )
        return Sent(chat_id, message_id)
    message = await telegram_send(context.bot, chat_id, prompt, previews=previews)
    return Sent(message.chat_id, message.message_id)


def deliverer(whatsapp: WhatsAppChannel | None) -> Callable[[Bot], Deliver]:
    """How the outbox sends (bot/outbox.py): on WhatsApp through the channel, else with `bot`
    (the outbox's own, without the replies' rate limiter), each rendering the prompt."""

    def on(bot: Bot) -> Deliver:
        async def deliver(chat_id: int, prompt: Prompt, kind: str) -> int:
            if whatsapp is not None and is_whatsapp(chat_id):
                return await whatsapp.bridge.send_prompt(chat_id, prompt, kind)
            return (await telegram_send(bot, chat_id, prompt)).message_id

        return deliver

    return on


async def edit(
    context: JagaContext, sent: Sent, text: str, keyboard: Keyboard | None = None
) -> None:
    """Replace a sent message's text and choices; WhatsApp cannot edit: it sends them anew."""
    channel = _whatsapp(context, sent.chat_id)
    if channel is not None:
        prompt = Prompt(text, keyboard or Choices())
        await _paced(
            context,
            sent.chat_id,
            "editMessageText",
            lambda: channel.bridge.send_prompt(sent.chat_id, prompt),
        )
        return
    await context.bot.edit_message_text(
        text,
        chat_id=sent.chat_id,
        message_id=sent.message_id,
        reply_markup=inline_markup_of(keyboard),
    )


async def edit_choices(query: CallbackQuery, keyboard: Keyboard) -> None:
    """Replace the choices under the pressed message (on Telegram; WhatsApp shows none)."""
    if query.message is not None and is_whatsapp(query.message.chat.id):
        return
    await query.edit_message_reply_markup(inline_markup_of(keyboard))


async def answer_button(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner; `text` shows as a short notice (max 200 characters)."""
    await query.answer(
        text[: CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH] if text else None
    )


def typed_choices(tr: Translator, labels: Sequence[str]) -> str:
    """The line saying which labels may be typed: each quoted, since a label may hold a "/"
    ("Suami / istri")."""
    quoted = ", ".join(f"«{label}»" for label in labels)
    return tr.gettext("Ketik salah satu: {choices}").format(choices=quoted)


def account_words(tr: Translator, person: int) -> str:
    """A chat account as its owner knows it: a Telegram id, or a WhatsApp number (masked)."""
    if is_whatsapp(person):
        return tr.gettext("WhatsApp {number}").format(number=mask_phone(f"+{wa_id_of(person)}"))
    return tr.gettext("ID Telegram {id}").format(id=person)
