"""An in-process stand-in for the Telegram Bot API: answers, records every call, injects faults.

The console talks to it instead of Telegram, and the tests assert on what it recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 700000001,
    "is_bot": True,
    "first_name": "Jaga Pekerja",
    "username": "JagaPekerjaBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Methods whose answer is just `true`.
_TRUE_METHODS = {
    "answerCallbackQuery",
    "setMyCommands",
    "deleteMyCommands",
    "deleteMessage",
    "deleteWebhook",
    "setWebhook",
    "sendChatAction",
    "setChatMenuButton",
    "close",
    "logOut",
}
_MESSAGE_METHODS = {"sendMessage", "sendDocument", "sendPhoto"}
_EDIT_METHODS = {"editMessageText", "editMessageReplyMarkup"}


@dataclass
class ApiCall:
    """One Bot API call as the bot made it."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    message_id: int | None = None  # the id of the message sent or edited

    @property
    def chat_id(self) -> int | None:
        """The chat the call addresses, if any."""
        value = self.params.get("chat_id")
        return None if value is None else int(value)

    @property
    def text(self) -> str:
        """The text or caption sent, or ''."""
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def keyboard(self) -> list[dict[str, Any]]:
        """Each button of the call's keyboard (inline or reply), row by row, as a dict."""
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [{"text": b} if isinstance(b, str) else b for row in rows for b in row]

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data or '') for each button of the call's keyboard, row by row."""
        return [(b["text"], b.get("callback_data", "")) for b in self.keyboard]


@dataclass
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


class RecordingBotApi(BaseRequest):
    """A fake Bot API reached through PTB's request interface; nothing leaves the process."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.unexpected: list[ApiCall] = []
        self._faults: list[_Fault] = []
        self._message_ids: dict[int, itertools.count[int]] = {}
        # Seconds to wait before answering a call (to simulate network latency per chat).
        self.delay: Callable[[ApiCall], float] | None = None
        # Files people sent, by file_id: getFile describes them, the file URL returns them.
        self.files: dict[str, bytes] = {}

    # --- BaseRequest -----------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        """No timeouts: nothing is on the network."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call as Telegram would, recording it first."""
        if "/file/bot" in url:  # a download of a file a person sent (File.download_*)
            content = self.files.get(url.rsplit("/", 1)[-1])
            return (200, content) if content is not None else (404, b"Not Found")
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files: dict[str, bytes] = {}
        if request_data is not None and request_data.contains_files:
            for key, value in (request_data.multipart_data or {}).items():
                if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], bytes):
                    files[key] = value[1]
        call = ApiCall(name, params, files)
        if self.delay is not None:
            seconds = self.delay(call)
            if seconds > 0:
                await asyncio.sleep(seconds)
        fault = self._take_fault(call)
        if fault is not None:
            self.calls.append(call)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.status, json.dumps(body).encode()
        result = self._answer(call)
        if result is None:
            self.unexpected.append(call)
            error = {
                "ok": False,
                "error_code": 400,
                "description": f"Bad Request: {name} is not supported by the recording stand-in",
            }
            return 400, json.dumps(error).encode()
        self.calls.append(call)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # --- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str = "",
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id` if given) fail like Telegram."""
        if not description:
            description = {
                429: f"Too Many Requests: retry after {retry_after or 1}",
                403: "Forbidden: bot was blocked by the user",
                502: "Bad Gateway",
            }.get(status, "Internal Server Error")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(_Fault(method, status, description, retry_after, chat_id, times))

    def add_file(self, file_id: str, content: bytes) -> None:
        """A file a person sent, as Telegram stores it: getFile and its download find it."""
        self.files[file_id] = content

    def _take_fault(self, call: ApiCall) -> _Fault | None:
        for fault in self._faults:
            if fault.method == call.method and fault.chat_id in (None, call.chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- answers ---------------------------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        """Message ids grow per chat, shared by the user's and the bot's messages."""
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _answer(self, call: ApiCall) -> Any:
        if call.method == "getMe":
            return BOT_USER
        if call.method in _TRUE_METHODS:
            return True
        if call.method == "getMyCommands":
            return []
        if call.method == "getUpdates":
            return []
        if call.method == "getFile" and str(call.params.get("file_id")) in self.files:
            file_id = str(call.params["file_id"])
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}",
            }
        if call.method in _MESSAGE_METHODS:
            assert call.chat_id is not None
            return self._message(call, self.next_message_id(call.chat_id))
        if call.method in _EDIT_METHODS:
            if call.chat_id is None:
                return True  # inline message: Telegram answers true
            return self._message(call, int(call.params["message_id"]))
        return None

    def _message(self, call: ApiCall, message_id: int) -> dict[str, Any]:
        chat_id = call.chat_id
        assert chat_id is not None
        call.message_id = message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
        }
        if call.method == "sendDocument":
            message["document"] = {"file_id": f"doc{message_id}", "file_unique_id": "d"}
        elif call.method == "sendPhoto":
            message["photo"] = [
                {"file_id": f"pic{message_id}", "file_unique_id": "p", "width": 1, "height": 1}
            ]
        else:
            message["text"] = call.text
        if call.params.get("caption"):
            message["caption"] = call.params["caption"]
        markup = call.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    # --- reading what was recorded ---------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[ApiCall]:
        """Messages sent or edited (to `chat_id`, if given), oldest first."""
        return [
            c
            for c in self.calls
            if c.method in _MESSAGE_METHODS | _EDIT_METHODS
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def last(self, chat_id: int | None = None) -> ApiCall:
        """The last message sent or edited (to `chat_id`, if given)."""
        sent = self.sent(chat_id)
        assert sent, "the bot sent nothing"
        return sent[-1]

    def clear(self) -> None:
        """Forget the recorded calls (faults and message ids stay)."""
        self.calls.clear()
