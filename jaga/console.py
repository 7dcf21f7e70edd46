"""`jaga console`: the real Application in a terminal, with an in-process stand-in for Telegram.

Every bot message is printed; buttons show as `[1] Label`; a line that is a button's number or
exact label presses it. The update factory here is also what the tests use.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from telegram import Bot, Update

from bot.fakeapi import BOT_USER, ApiCall, RecordingBotApi
from bot.settings import Settings
from jaga.app import JagaApplication, build_application, running

CONSOLE_USER_ID = 1001


class UpdateFactory:
    """Builds the updates Telegram would send for a person's actions."""

    def __init__(self, bot: Bot, api: RecordingBotApi):
        self.bot = bot
        self.api = api
        self._update_ids = itertools.count(1)
        # Telegram names of the people played (first name, last name); default `User<id>`.
        self.names: dict[int, tuple[str, str | None]] = {}

    def _user(self, user_id: int) -> dict[str, Any]:
        first, last = self.names.get(user_id, (f"User{user_id}", None))
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first,
            "language_code": "id",
        }
        if last:
            user["last_name"] = last
        return user

    def _message(self, user_id: int, chat_id: int | None = None, **fields: Any) -> dict[str, Any]:
        chat_id = user_id if chat_id is None else chat_id
        chat_type = "private" if chat_id > 0 else "group"
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "group":
            chat["title"] = "Grup Desa"
        return {
            "message_id": self.api.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": self._user(user_id),
            **fields,
        }

    def _update(self, **fields: Any) -> Update:
        update = Update.de_json({"update_id": next(self._update_ids), **fields}, self.bot)
        assert update is not None
        return update

    def text(self, user_id: int, text: str, *, chat_id: int | None = None) -> Update:
        """A text message; a leading /command gets the bot_command entity, as Telegram adds."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update(message=self._message(user_id, chat_id, **fields))

    def edited(self, user_id: int, text: str) -> Update:
        """An edit of an earlier message."""
        message = self._message(user_id, text=text, edit_date=int(time.time()))
        return self._update(edited_message=message)

    def contact(self, user_id: int, phone: str, *, own: bool = True) -> Update:
        """A shared contact (the share-phone button sends the user's own)."""
        contact = {"phone_number": phone, "first_name": "Kontak"}
        if own:
            contact["user_id"] = user_id  # type: ignore[assignment]
        return self._update(message=self._message(user_id, contact=contact))

    def sticker(self, user_id: int) -> Update:
        """A sticker where text was expected."""
        sticker = {
            "file_id": "sticker",
            "file_unique_id": "sticker",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        return self._update(message=self._message(user_id, sticker=sticker))

    def photo(
        self, user_id: int, content: bytes | None = None, *, size: int | None = None
    ) -> Update:
        """A photo; with `content`, Telegram stores it for getFile and its download (`size`: the
        size Telegram reports, default the content's)."""
        file_id = "photo"
        if content is not None:
            file_id = f"photo{next(self._update_ids)}"
            self.api.add_file(file_id, content)
        photo = {"file_id": file_id, "file_unique_id": file_id, "width": 90, "height": 90}
        if content is not None or size is not None:
            photo["file_size"] = size if size is not None else len(content or b"")
        return self._update(message=self._message(user_id, photo=[photo]))

    def document(
        self, user_id: int, content: bytes, *, name: str, mime: str, size: int | None = None
    ) -> Update:
        """A file sent as a document, stored for getFile and its download."""
        file_id = f"doc{next(self._update_ids)}"
        self.api.add_file(file_id, content)
        document = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": name,
            "mime_type": mime,
            "file_size": size if size is not None else len(content),
        }
        return self._update(message=self._message(user_id, document=document))

    def press(self, user_id: int, data: str, message: ApiCall | None = None) -> Update:
        """A press on an inline button with `data`, on `message` (default: the last one sent)."""
        if message is None and self.api.sent(user_id):
            message = self.api.last(user_id)
        # With no message at all, the press is forged or from a chat history the bot lost.
        message_id = message.message_id if message else 1
        chat_id = message.chat_id if message and message.chat_id is not None else user_id
        bot_message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": message.text if message else "",
        }
        query = {
            "id": str(next(self._update_ids)),
            "from": self._user(user_id),
            "chat_instance": str(chat_id),
            "data": data,
            "message": bot_message,
        }
        return self._update(callback_query=query)


@dataclass
class _Choice:
    label: str
    press: Callable[[], Update]


class Console:
    """Feeds typed lines to the Application as one private-chat user and prints the answers."""

    def __init__(
        self,
        app: JagaApplication,
        api: RecordingBotApi,
        out: TextIO,
        phone: str | None,
        user_id: int = CONSOLE_USER_ID,
        name: str | None = None,
    ):
        self.app = app
        self.api = api
        self.out = out
        self.phone = phone
        self.user_id = user_id
        self.updates = UpdateFactory(app.bot, api)
        if name and name.strip():
            first, _sep, last = name.strip().partition(" ")
            self.updates.names[user_id] = (first, last.strip() or None)
        self.inline: list[_Choice] = []
        self.reply: list[_Choice] = []
        self._printed = 0

    def choices(self) -> list[_Choice]:
        """The buttons that can be pressed now, numbered from 1."""
        return self.inline + self.reply

    def to_update(self, line: str) -> Update | None:
        """What Telegram would send for this typed line."""
        line = line.strip()
        if not line:
            return None
        for number, choice in enumerate(self.choices(), start=1):
            if line == str(number) or line.casefold() == choice.label.casefold():
                return choice.press()
        return self.updates.text(self.user_id, line)

    async def feed(self, line: str) -> None:
        """Process one typed line and print what the bot answered."""
        update = self.to_update(line)
        if update is not None:
            await self.app.process_update(update)
        self.print_new()

    def print_new(self) -> None:
        """Print the messages the bot sent since the last call."""
        for call in self.api.calls[self._printed :]:
            self._show(call)
        self._printed = len(self.api.calls)

    def _show(self, call: ApiCall) -> None:
        if call.method == "answerCallbackQuery" and call.params.get("text"):
            print(f"  ({call.params['text']})", file=self.out)
            return
        if call.method not in {"sendMessage", "editMessageText", "sendDocument", "sendPhoto"}:
            return
        print("", file=self.out)
        if call.method == "sendDocument":
            print(f"[file: {call.params.get('filename') or 'document'}]", file=self.out)
        elif call.method == "sendPhoto":
            print("[picture]", file=self.out)
        if call.text:
            print(call.text, file=self.out)
        if self._take_buttons(call):
            labels = [f"[{n}] {c.label}" for n, c in enumerate(self.choices(), start=1)]
            print("\n".join("  " + label for label in labels), file=self.out)

    def _take_buttons(self, call: ApiCall) -> bool:
        """Update the pressable buttons from a sent message; True when it showed buttons."""
        markup = call.params.get("reply_markup")
        if not isinstance(markup, dict):
            if call.method == "editMessageText":
                self.inline = []  # an edit without buttons removes them
            return False
        if "inline_keyboard" in markup:
            self.inline = [
                self._inline_choice(button["text"], button["callback_data"], call)
                for row in markup["inline_keyboard"]
                for button in row
            ]
            return True
        if "keyboard" in markup:
            self.inline = []
            self.reply = [self._reply_choice(b) for row in markup["keyboard"] for b in row]
            return True
        if markup.get("remove_keyboard"):
            self.reply = []
        return False

    def _inline_choice(self, label: str, data: str, message: ApiCall) -> _Choice:
        return _Choice(label, lambda: self.updates.press(self.user_id, data, message))

    def _reply_choice(self, button: dict[str, Any] | str) -> _Choice:
        if isinstance(button, str):
            return _Choice(button, lambda: self.updates.text(self.user_id, button))
        label = button["text"]
        if button.get("request_contact"):
            return _Choice(label, self._share_contact)
        return _Choice(label, lambda: self.updates.text(self.user_id, label))

    def _share_contact(self) -> Update:
        if self.phone is None:
            print(
                "(no phone to share: start the console with --phone 0812..., or type it)",
                file=self.out,
            )
            return self.updates.text(self.user_id, "")
        return self.updates.contact(self.user_id, self.phone)


async def run_console(
    settings: Settings,
    source: TextIO,
    out: TextIO,
    phone: str | None,
    *,
    user_id: int = CONSOLE_USER_ID,
    name: str | None = None,
) -> None:
    """Chat with the bot through `source` as `user_id` (Telegram name `name`) until input ends."""
    api = RecordingBotApi()
    app = build_application(settings, request=api)
    async with running(app):
        console = Console(app, api, out, phone, user_id, name)
        api.clear()  # the command-list calls at start are not messages
        if source.isatty():
            print(
                "Jaga Pekerja console. Type a message; a number presses a button; Ctrl-D ends. "
                f"You are Telegram user {user_id}.",
                file=out,
            )
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, source.readline)
            if not line:
                break
            await console.feed(line)
        out.flush()


def main(
    settings: Settings, phone: str | None, *, user_id: int | None = None, name: str | None = None
) -> int:
    """Run the console on standard input and output, as `user_id` (default: a plain worker)."""
    if user_id is not None and user_id <= 0:
        print("jaga: --user must be a positive Telegram id", file=sys.stderr)
        return 2
    asyncio.run(
        run_console(
            settings,
            sys.stdin,
            sys.stdout,
            phone,
            user_id=CONSOLE_USER_ID if user_id is None else user_id,
            name=name,
        )
    )
    return 0
