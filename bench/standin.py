"""A loopback stand-in of the Telegram Bot API over HTTP, holding every answer for `latency`.

It serves several bots at once (one per token), keeps a queue of updates per bot for getUpdates
long polling, and tells the simulated people about each message the bot sends them the moment the
request arrives (that instant is "the answer reaching Telegram"). Latency is modelled as the
server holding each answer for `latency` seconds before sending it; an update that arrives while a
getUpdates answer is being held rides with that answer. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

HOST = "127.0.0.1"

# Methods whose answer is just `true`.
_TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery",
        "setMyCommands",
        "deleteMyCommands",
        "deleteMessage",
        "deleteMessages",
        "deleteWebhook",
        "setWebhook",
        "sendChatAction",
        "setChatMenuButton",
        "close",
        "logOut",
    }
)
MESSAGE_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup"})
_JSON_FIELDS = ("reply_markup", "chat_id", "message_id")


@dataclass
class Sent:
    """A message the bot sent or edited, as it reached the stand-in."""

    at: float  # time.monotonic() on arrival
    method: str
    chat_id: int
    message_id: int
    text: str
    markup: dict[str, Any]

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data or '') for each button, row by row."""
        rows = self.markup.get("inline_keyboard") or self.markup.get("keyboard") or []
        out: list[tuple[str, str]] = []
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    out.append((button, ""))
                else:
                    out.append((str(button["text"]), str(button.get("callback_data", ""))))
        return out

    @property
    def inline(self) -> bool:
        """Whether the buttons are inline (pressed as callback queries)."""
        return "inline_keyboard" in self.markup

    @property
    def asks_contact(self) -> bool:
        """Whether a reply-keyboard button shares the user's phone number."""
        rows = self.markup.get("keyboard") or []
        return any(isinstance(b, dict) and b.get("request_contact") for row in rows for b in row)


Listener = Callable[[Sent], None]


@dataclass
class BotState:
    """What the stand-in keeps for one bot token."""

    token: str
    bot_id: int
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    listeners: dict[int, Listener] = field(default_factory=dict)
    message_ids: dict[int, itertools.count[int]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    def bot_user(self) -> dict[str, Any]:
        """The getMe answer."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Bench",
            "username": f"bench{self.bot_id}bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def next_message_id(self, chat_id: int) -> int:
        """Message ids grow per chat, shared by the person's and the bot's messages."""
        return next(self.message_ids.setdefault(chat_id, itertools.count(1)))


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1 with keep-alive connections, every answer JSON: the
    stand-ins of the Bot API (here) and of the WhatsApp Cloud API (bench/whatsapp.py)."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._connection, HOST, 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop the connections."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    # --- HTTP --------------------------------------------------------------------------------

    async def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """One request's status and JSON answer."""
        raise NotImplementedError

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            return  # the stand-in is stopping
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self._handle(method, path, headers, body)
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s"
                    % (status, b"OK" if status == 200 else b"Error", len(payload), payload)
                )
                await writer.drain()
        except ConnectionError:
            return


class StandIn(LoopbackServer):
    """The HTTP server and the Telegram side of every simulated person."""

    def __init__(self, latency: float):
        super().__init__()
        self.latency = latency
        self.bots: dict[str, BotState] = {}
        self.requests = 0

    @property
    def api_url(self) -> str:
        """The base URL to give the bot (JAGA_TELEGRAM_API_URL); the token is appended."""
        return f"http://{HOST}:{self.port}/bot"

    def add_bot(self, token: str) -> BotState:
        """Register a bot token (`<id>:<secret>`)."""
        state = BotState(token, int(token.split(":", 1)[0]))
        self.bots[token] = state
        return state

    # --- the person's side -------------------------------------------------------------------

    def _push(self, bot: BotState, **fields: Any) -> None:
        bot.updates.append({"update_id": next(bot.update_ids), **fields})
        bot.arrived.set()

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"W{user_id}", "language_code": "id"}

    def _message(self, bot: BotState, user_id: int, **fields: Any) -> dict[str, Any]:
        return {
            "message_id": bot.next_message_id(user_id),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": f"W{user_id}"},
            "from": self._user(user_id),
            **fields,
        }

    def send_text(self, bot: BotState, user_id: int, text: str) -> None:
        """The person sends text (a leading /command gets its bot_command entity)."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        self._push(bot, message=self._message(bot, user_id, **fields))

    def share_contact(self, bot: BotState, user_id: int, phone: str) -> None:
        """The person presses the share-phone button."""
        contact = {"phone_number": phone, "first_name": f"W{user_id}", "user_id": user_id}
        self._push(bot, message=self._message(bot, user_id, contact=contact))

    def press(self, bot: BotState, user_id: int, data: str, message: Sent) -> None:
        """The person presses an inline button of `message`."""
        query = {
            "id": f"{user_id}-{message.message_id}-{time.monotonic_ns()}",
            "from": self._user(user_id),
            "chat_instance": str(user_id),
            "data": data,
            "message": {
                "message_id": message.message_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": bot.bot_user(),
                "text": message.text,
            },
        }
        self._push(bot, callback_query=query)

    # --- HTTP --------------------------------------------------------------------------------

    async def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        return await self._call(path, headers.get("content-type", ""), body)

    async def _call(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes]:
        self.requests += 1
        arrived = time.monotonic()
        _, _, rest = path.partition("/bot")
        token, _, method = rest.partition("/")
        bot = self.bots.get(token)
        if bot is None:
            return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
        params = _parse(content_type, body)
        bot.calls[method] = bot.calls.get(method, 0) + 1
        if method == "getUpdates":
            result: Any = await self._get_updates(bot, params)
        else:
            result = self._answer(bot, method, params, arrived)
            await asyncio.sleep(self.latency)
        if result is None:
            bot.unexpected.append(method)
            return 400, json.dumps(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {method}"}
            ).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def _get_updates(self, bot: BotState, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        while bot.updates and bot.updates[0]["update_id"] < offset:
            bot.updates.popleft()  # confirmed by the offset
        if not bot.updates:
            bot.arrived.clear()
            timeout = float(params.get("timeout") or 0)
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.arrived.wait(), timeout)
        await asyncio.sleep(self.latency)
        limit = int(params.get("limit") or 100)
        return list(itertools.islice(bot.updates, limit))

    def _answer(self, bot: BotState, method: str, params: dict[str, Any], at: float) -> Any:
        if method == "getMe":
            return bot.bot_user()
        if method == "answerCallbackQuery":
            # Query ids are `<user id>-…` (see press): tell that person their press was answered.
            user_id = int(str(params.get("callback_query_id", "0")).split("-", 1)[0])
            listener = bot.listeners.get(user_id)
            if listener is not None:
                listener(Sent(at, method, user_id, 0, str(params.get("text") or ""), {}))
            return True
        if method in _TRUE_METHODS:
            return True
        if method == "getMyCommands":
            return []
        if method in MESSAGE_METHODS or method in EDIT_METHODS:
            chat_id = int(params["chat_id"])
            if method in EDIT_METHODS:
                message_id = int(params["message_id"])
            else:
                message_id = bot.next_message_id(chat_id)
            markup = params.get("reply_markup") or {}
            text = str(params.get("text") or params.get("caption") or "")
            sent = Sent(at, method, chat_id, message_id, text, markup)
            listener = bot.listeners.get(chat_id)
            if listener is not None:
                listener(sent)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": bot.bot_user(),
                "text": text,
            }
            if method == "sendDocument":
                message["document"] = {"file_id": f"d{message_id}", "file_unique_id": "d"}
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
            return message
        return None


def _parse(content_type: str, body: bytes) -> dict[str, Any]:
    """The call's parameters from a JSON, form or multipart body (PTB sends JSON-encoded values
    in a form)."""
    if content_type.startswith("multipart/form-data"):
        raw = _multipart(content_type, body)
    elif content_type.startswith("application/json"):
        return dict(json.loads(body))
    elif body:
        raw = dict(parse_qsl(body.decode(), keep_blank_values=True))
    else:
        raw = {}
    params: dict[str, Any] = dict(raw)
    for name in _JSON_FIELDS:
        value = raw.get(name)
        if value and value[0] in "{[0123456789-":
            params[name] = json.loads(value)
    return params


def _multipart(content_type: str, body: bytes) -> dict[str, str]:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    out: dict[str, str] = {}
    for part in body.split(b"--" + boundary):
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep or b"filename=" in head:
            continue  # files are not read
        for piece in head.decode("latin-1").split(";"):
            piece = piece.strip()
            if piece.startswith("name="):
                out[piece[5:].strip('"')] = value.removesuffix(b"\r\n").decode()
    return out
