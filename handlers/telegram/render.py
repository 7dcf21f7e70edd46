"""A channel-neutral prompt (bot/prompts.py) as a Telegram message and its keyboard.

Rows of choices: an inline keyboard (a choice's id is its callback data, a link a url button).
A contact or location request: a reply keyboard of one button that sends it, with the ready
typed answers below it, shrunk to fit and hidden once used. A clear: the reply keyboard removed.
"""

from __future__ import annotations

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.prompts import Choice, Choices, Prompt

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def markup_of(shown: Prompt | Choices | None) -> Markup | None:
    """The Telegram keyboard that shows these choices (None when they offer nothing)."""
    if shown is None:
        return None
    choices = shown.choices if isinstance(shown, Prompt) else shown
    if choices.clear:
        return ReplyKeyboardRemove()
    if choices.request in ("contact", "location") or choices.replies:
        label = choices.request_label or ""
        first: list[list[KeyboardButton]] = []
        if choices.request == "contact":
            first.append([KeyboardButton(label, request_contact=True)])
        elif choices.request == "location":
            first.append([KeyboardButton(label, request_location=True)])
        return ReplyKeyboardMarkup(
            [*first, *([KeyboardButton(reply)] for reply in choices.replies)],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if choices.rows:
        return InlineKeyboardMarkup([[_button(c) for c in row] for row in choices.rows])
    return None


def _button(choice: Choice) -> InlineKeyboardButton:
    if choice.url is not None:
        return InlineKeyboardButton(choice.label, url=choice.url)
    return InlineKeyboardButton(choice.label, callback_data=choice.id)


def inline_markup_of(shown: Prompt | Choices | None) -> InlineKeyboardMarkup | None:
    """The inline keyboard of an edited message (Telegram edits take no reply keyboard)."""
    markup = markup_of(shown)
    if markup is not None and not isinstance(markup, InlineKeyboardMarkup):
        raise ValueError("an edited message can only offer inline choices")
    return markup


async def send(bot: Bot, chat_id: int, prompt: Prompt, *, previews: bool = True) -> Message:
    """Send a prompt as one Telegram message with its keyboard (`previews`: of its links)."""
    return await bot.send_message(
        chat_id,
        prompt.text,
        reply_markup=markup_of(prompt),
        link_preview_options=None if previews else LinkPreviewOptions(is_disabled=True),
    )
