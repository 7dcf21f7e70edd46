"""WhatsApp people in the same flows: their messages as updates, the bot's answers as messages.

The flows and the outbox send a channel-neutral `Prompt` (bot/prompts.py): for a WhatsApp person
`handlers.common.say` and the outbox's `deliverer` hand it to `WhatsAppBridge.send_prompt`. What
still comes as Bot API calls (answerCallbackQuery, getFile, the plain notice of an error, a
photo's or document's caption) reaches the bridge through `ChannelRequest`, which sits under the
Application's Bot: a call addressed to a WhatsApp person (bot/channels.py) goes to
`WhatsAppBridge.call`, every other call to Telegram as before; a keyboard on such a call would
be read back into choices (`_choices`), though no flow sends one that way. Either way the
bridge renders the choices for WhatsApp (handlers/whatsapp/render.py) and sends them; each
choice gets the id `m<message>.<n>`, and what the choice stands for (a button's callback data, a
reply-keyboard label, "my own number") is kept in the database, so a press still works after a
restart. Incoming WhatsApp messages become
the Update Telegram would have sent for the same act: a typed text, a press, a photo, a contact.

WhatsApp's rules (Cloud API, "Messages" and "Error codes"): a free-form message only within 24
hours of the person's last message, else an approved template carrying the text; 131047 means the
window closed (sent again as a template); 130429 / 131056 are rate limits (raised as a Bot API
RetryAfter, so every caller backs off as it does for Telegram); 131026 and a block are raised as
Forbidden (the person is marked blocked as for Telegram); 190, an expired token, stops the
WhatsApp channel with one log line and a notice to the admins, and Telegram goes on.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from telegram import Bot, Update
from telegram._utils.types import JSONDict
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.request import BaseRequest, RequestData

from bot.channels import ChannelStopped, is_whatsapp, wa_id_of, whatsapp_person
from bot.http import AiohttpRequest
from bot.i18n import Translator, translator
from bot.patterns import linear
from bot.prompts import Choices, Prompt, Request
from handlers.whatsapp import render
from handlers.whatsapp.client import (
    CloudApi,
    CloudApiError,
    MediaTooLarge,
    RateLimited,
    ReEngagementRequired,
    TokenExpired,
    Undeliverable,
    template_payload,
)
from handlers.whatsapp.render import Row, Screen
from handlers.whatsapp.webhook import Incoming, StatusEvent
from storage import outbox as outbox_store
from storage import users
from storage import whatsapp as store
from storage.db import Database

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=24)  # WhatsApp's customer service window
# A template parameter may not hold line breaks, tabs or more than four spaces in a row
# (Cloud API, "Message templates": parameter text rules), and is at most 1024 characters.
TEMPLATE_PARAMETER = 1024
MEDIA_PATH = "/jaga-whatsapp-media/"  # file paths of photos received on WhatsApp (getFile)
MEDIA_CACHE = 8  # photos fetched and waiting to be read by a flow
LISTS_KEPT = 10_000  # people whose last long list can still be paged (most recent kept)
PLAIN_IDS = 2**40
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Jaga Pekerja", "username": "jaga_pekerja"}

_CHOICE = linear(r"m([0-9]{1,18})\.([0-9]{1,3})")
_QUERY = linear(r"wa:([0-9]{17})")  # a callback query id the bridge made: wa:<person id>

# What a choice stands for: a button's callback data, a reply-keyboard label typed, the
# person's own number shared, a command typed (its data).
CALLBACK, TYPED, OWN_PHONE, COMMAND = "c", "t", "p", "k"
MENU_COMMAND = "/start"  # where a notice that stands alone leads

Notify = Callable[[str], Awaitable[None]]


class WhatsAppBridge:
    """Bot API calls for WhatsApp people as Cloud API sends; their messages as updates."""

    def __init__(
        self,
        *,
        template_reminder: str,
        template_broadcast: str,
        template_language: str = "id",
        language: str = "id",
    ) -> None:
        self._api: CloudApi | None = None
        self.template_reminder = template_reminder
        self.template_broadcast = template_broadcast
        self.template_language = template_language
        self.language = language
        self.stopped = False
        self.on_stop: Notify | None = None  # tells the admins (set by the channel)
        self._db: Database | None = None
        self._media: OrderedDict[str, bytes] = OrderedDict()
        # The last list each person saw, to show another page of it: (message id, screen).
        self._lists: OrderedDict[int, tuple[int, Screen]] = OrderedDict()
        # Short notices of a press (Telegram shows them over the chat, for a moment), kept to
        # open the turn's next message, or sent alone with a way on when the turn sends none.
        self._notices: dict[int, list[str]] = {}
        self._ids = itertools.count(int(time.time() * 1000) % 2**31)
        # Ids of sent messages nothing refers back to, far above the stored ones.
        self._plain_ids = itertools.count(PLAIN_IDS + int(time.time() * 1000) % 2**31)

    def attach(self, db: Database, api: CloudApi) -> None:
        """Use this database (opened in post_init) and this Cloud API client (on its loop)."""
        self._db, self._api = db, api

    @property
    def api(self) -> CloudApi:
        """The Cloud API client, once attached."""
        if self._api is None:
            raise RuntimeError("the WhatsApp bridge has no Cloud API client yet")
        return self._api

    @property
    def db(self) -> Database:
        """The database, once attached."""
        if self._db is None:
            raise RuntimeError("the WhatsApp bridge has no database yet")
        return self._db

    # --- outbound: Bot API calls for WhatsApp people ------------------------------------------

    def serves(self, url: str, params: dict[str, Any]) -> bool:
        """Whether this Bot API call is for a WhatsApp person (or one of their photos)."""
        if MEDIA_PATH in url:
            return True
        chat = params.get("chat_id")
        if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit():
            return is_whatsapp(int(chat))
        query = params.get("callback_query_id")
        if isinstance(query, str) and _QUERY.fullmatch(query):
            return True
        file_id = params.get("file_id")
        return isinstance(file_id, str) and file_id in self._media

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """The Bot API result of `method` for a WhatsApp person, after sending what it says."""
        if method == "getFile":
            return self._file(str(params["file_id"]))
        if method == "answerCallbackQuery":
            text = params.get("text")
            match = _QUERY.fullmatch(str(params.get("callback_query_id")))
            if isinstance(text, str) and text.strip() and match is not None:
                # No toasts on WhatsApp: the notice opens the turn's next message instead.
                self._notices.setdefault(int(match.group(1)), []).append(text.strip())
            return True
        chat = int(params["chat_id"])
        if method in ("sendMessage", "editMessageText"):
            text = str(params.get("text") or "")
            message_id = await self.send(chat, text, params.get("reply_markup"), params)
            if method == "editMessageText":
                message_id = int(params.get("message_id") or message_id)
            return _message(chat, message_id, text)
        if method in ("sendDocument", "sendPhoto"):  # files are for the desk, on Telegram
            caption = str(params.get("caption") or "")
            log.warning("event=whatsapp_file_not_sent method=%s", method)
            message_id = await self.send(chat, caption, None) if caption.strip() else 0
            return _message(chat, message_id, caption)
        # Nothing to show on WhatsApp: chat actions, command menus, deletions, keyboard edits.
        return True

    async def send(
        self,
        person: int,
        text: str,
        markup: object,
        params: dict[str, Any] | None = None,
    ) -> int:
        """Send `text` with the choices of a Bot API `markup` to a WhatsApp person; its id."""
        if self.stopped:
            raise ChannelStopped("whatsapp")
        choices, links = _choices(markup)
        kind = str((params or {}).get("jaga_kind") or "")
        return await self._send_turn(person, text, choices, links, kind)

    async def send_prompt(self, person: int, prompt: Prompt, kind: str = "") -> int:
        """Send a prompt to a WhatsApp person, no Bot API call between; the message id. `kind`:
        an outbox message's ("reminder", "broadcast" …), sent as its template outside the
        24-hour window; "" for a reply."""
        if self.stopped:
            raise ChannelStopped("whatsapp")
        choices, links, descriptions = _prompt_choices(prompt.choices)
        request = prompt.choices.request if prompt.choices.request == "location" else None
        return await self._send_turn(
            person, prompt.text, choices, links, kind, descriptions, request
        )

    async def _send_turn(
        self,
        person: int,
        text: str,
        choices: list[tuple[str, str, str]],
        links: list[str],
        kind: str,
        descriptions: Sequence[str | None] = (),
        request: Request | None = None,
    ) -> int:
        """A message with the turn's press notices first (not for an outbox `kind`), links last."""
        notices = [] if kind else self._notices.pop(person, [])
        body = "\n\n".join(part for part in (*notices, text.strip(), *links) if part)
        return await self._send(person, body, choices, kind, descriptions, request)

    async def end_turn(self, person: int) -> None:
        """After a message was handled: a notice no message took is sent with a way on."""
        notices = self._notices.pop(person, [])
        if notices:
            label = (await self._translator(person)).gettext("Menu utama")
            await self._send(person, "\n\n".join(notices), [(COMMAND, label, MENU_COMMAND)], "")

    async def _send(
        self,
        person: int,
        body: str,
        choices: list[tuple[str, str, str]],
        kind: str,
        descriptions: Sequence[str | None] = (),
        request: Request | None = None,
    ) -> int:
        """Send `body` with `choices` ((kind, label, data) each); the message id."""
        if self.stopped:
            raise ChannelStopped("whatsapp")
        to = wa_id_of(person)
        if choices or kind:  # a press must find its choices, a delivery report its outbox row
            message_id = await store.record_message(self.db, person, json.dumps(choices))
        else:  # nothing will refer back to it: no row to write
            message_id = next(self._plain_ids)
        # The words the channel adds ("Choose", "Next ›") in the person's language.
        tr = await self._translator(person) if choices or not body else translator(self.language)
        notes = list(descriptions) or [None] * len(choices)
        rows = [
            Row(f"m{message_id}.{n}", label, note)
            for n, ((_, label, _), note) in enumerate(zip(choices, notes, strict=True))
        ]
        screen = Screen(body or tr.gettext("Silakan pilih."), rows, request=request)
        if not await self._window_open(person):
            await self._send_template(person, to, body, kind, message_id)
            return message_id
        if len(choices) > render.MAX_ROWS:
            self._lists[person] = (message_id, screen)
            self._lists.move_to_end(person)
            while len(self._lists) > LISTS_KEPT:
                self._lists.popitem(last=False)
        try:
            wamids = await self._post(render.render(screen, to, tr))
        except ReEngagementRequired:
            await store.forget_window(self.db, person)
            await self._send_template(person, to, body, kind, message_id)
            return message_id
        if wamids and kind:  # delivery reports are kept for the outbox's messages
            await store.set_wamid(self.db, message_id, wamids[-1])
        return message_id

    async def _translator(self, person: int) -> Translator:
        """The person's language (the one they chose), else the channel's."""
        return translator(await users.language_of(self.db, person) or self.language)

    async def _window_open(self, person: int) -> bool:
        last = await store.last_inbound(self.db, person)
        return last is not None and dt.datetime.now(dt.UTC) - last < WINDOW

    async def _send_template(
        self, person: int, to: str, body: str, kind: str, message_id: int
    ) -> None:
        """The text as the body parameter of the reminder (or broadcast) template."""
        name = self.template_broadcast if kind == "broadcast" else self.template_reminder
        parameter = " ".join(body.split())[:TEMPLATE_PARAMETER]
        log.info("event=whatsapp_template name=%s kind=%s", name, kind or "reply")
        payload = template_payload(to, name, self.template_language, [parameter])
        wamids = await self._post([payload])
        await store.set_wamid(self.db, message_id, wamids[-1])

    async def _post(self, payloads: Sequence[dict[str, Any]]) -> list[str]:
        """Send payloads in order, Cloud API errors raised as the Bot API's own."""
        try:
            return [await self.api.send(payload) for payload in payloads]
        except ReEngagementRequired:
            raise
        except RateLimited as exc:
            raise RetryAfter(max(1, round(exc.retry_after or 1))) from None
        except Undeliverable as exc:
            raise Forbidden(f"Forbidden: not deliverable on WhatsApp ({exc.code})") from None
        except TokenExpired:
            await self.stop("token_expired")
            raise ChannelStopped("whatsapp") from None
        except CloudApiError as exc:
            if exc.http_status is not None and exc.http_status >= 500:
                raise NetworkError(f"WhatsApp answered {exc.http_status}") from None
            raise BadRequest(f"WhatsApp refused the message ({exc.code})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NetworkError(f"WhatsApp unreachable: {type(exc).__name__}") from None

    async def stop(self, reason: str) -> None:
        """Stop sending on WhatsApp (the token expired): one log line, the admins told once."""
        if self.stopped:
            return
        self.stopped = True
        log.error(
            "event=whatsapp_stopped reason=%s note=%s",
            reason,
            "renew JAGA_WHATSAPP_TOKEN in Meta's dashboard and restart; Telegram goes on",
        )
        if self.on_stop is not None:
            await self.on_stop(reason)

    def _file(self, file_id: str) -> dict[str, Any]:
        content = self._media.get(file_id)
        if content is None:
            raise BadRequest("Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(content),
            "file_path": f"{MEDIA_PATH.strip('/')}/{file_id}",
        }

    def download(self, url: str) -> bytes:
        """A received photo's bytes, once: it is forgotten when the flow has fetched it."""
        file_id = url.rsplit("/", 1)[-1]
        content = self._media.pop(file_id, None)
        if content is None:
            raise BadRequest("Bad Request: file is gone")
        return content

    # --- inbound: WhatsApp events as updates ---------------------------------------------------

    async def update_for(self, event: Incoming, bot: Bot) -> Update | None:
        """The update Telegram would have sent for this act, or None when it needs none."""
        person = whatsapp_person(event.wa_id)
        user = {
            "id": person,
            "is_bot": False,
            "first_name": (event.name or "WhatsApp")[:64],
            "language_code": self.language,
        }
        fields: dict[str, Any]
        match event.kind:
            case "text":
                fields = _typed(event.text or "")
            case "choice":
                return await self._press(event, person, user, bot)
            case "photo":
                fields = await self._photo(event)
            case "contact":
                contact: dict[str, Any] = {
                    "phone_number": event.phone or "",
                    "first_name": event.text or "Kontak",
                }
                if event.phone and event.phone.lstrip("+") == event.wa_id:
                    contact["user_id"] = person  # their own number, as WhatsApp knows it
                fields = {"contact": contact}
            case "location":
                fields = {"location": {"latitude": event.latitude, "longitude": event.longitude}}
            case _:  # a sticker, voice note, video …: what the flows answer for a sticker
                fields = {"sticker": _STICKER}
        return self._message_update(bot, person, user, fields)

    def _message_update(
        self, bot: Bot, person: int, user: dict[str, Any], fields: dict[str, Any]
    ) -> Update | None:
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": person, "type": "private"},
            "from": user,
            **fields,
        }
        return Update.de_json({"update_id": next(self._ids), "message": message}, bot)

    async def _press(
        self, event: Incoming, person: int, user: dict[str, Any], bot: Bot
    ) -> Update | None:
        """A pressed button or list row: the press, the label typed, or the number shared."""
        page = render.page_of(event.choice_id)
        if page is not None:
            shown = self._lists.get(person)
            if shown is not None:
                tr = await self._translator(person)
                await self._post(render.render(shown[1], event.wa_id, tr, page))
                return None
            return self._message_update(bot, person, user, {"text": event.text or ""})
        match = _CHOICE.fullmatch(event.choice_id or "")
        stored = None
        if match is not None:
            stored = await store.message_choices(self.db, person, int(match.group(1)))
        choices: list[list[str]] = json.loads(stored) if stored else []
        index = int(match.group(2)) if match is not None else -1
        if not 0 <= index < len(choices):  # an unknown id: what its title says, as typed text
            return self._message_update(bot, person, user, {"text": event.text or ""})
        assert match is not None
        kind, label, data = choices[index]
        if kind == TYPED:
            return self._message_update(bot, person, user, {"text": label})
        if kind == COMMAND:
            return self._message_update(bot, person, user, _typed(data))
        if kind == OWN_PHONE:
            contact = {"phone_number": f"+{event.wa_id}", "first_name": user["first_name"],
                       "user_id": person}  # fmt: skip
            return self._message_update(bot, person, user, {"contact": contact})
        query = {
            "id": f"wa:{person}",
            "from": user,
            "chat_instance": str(person),
            "data": data,
            "message": {
                "message_id": int(match.group(1)),
                "date": int(time.time()),
                "chat": {"id": person, "type": "private"},
                "from": BOT_USER,
                "text": "",
            },
        }
        return Update.de_json({"update_id": next(self._ids), "callback_query": query}, bot)

    async def _photo(self, event: Incoming) -> dict[str, Any]:
        """The photo fetched now (the flows read it through getFile) as a message's photo."""
        assert event.media_id is not None
        file_id = f"wa{event.media_id}"[:64]
        content: bytes | None
        try:
            media = await self.api.fetch_media(event.media_id)
        except MediaTooLarge:
            size = render.TEXT_BODY * 10_000  # over every limit: the flows say it is too big
            content = b""
        except (CloudApiError, aiohttp.ClientError, TimeoutError) as exc:
            # Still a photo: a flow that reads it finds it cannot be fetched (getFile fails)
            # and asks for it again, as it does when Telegram cannot give a file.
            log.warning("event=whatsapp_media_failed error=%s", type(exc).__name__)
            size, content = 0, None
        else:
            content, size = media.content, len(media.content)
        if content is not None:
            self._media[file_id] = content
            while len(self._media) > MEDIA_CACHE:
                self._media.popitem(last=False)
        photo = {"file_id": file_id, "file_unique_id": file_id, "width": 1280,
                 "height": 800, "file_size": size}  # fmt: skip
        fields: dict[str, Any] = {"photo": [photo]}
        if event.text:
            fields["caption"] = event.text
        return fields

    async def delivery(self, event: StatusEvent) -> None:
        """A delivery report: recorded on the outbox row; a closed window or a block acted on."""
        found = await store.message_of_wamid(self.db, event.message_id)
        if found is None:
            return
        person, message_id = found
        error = None if event.error_code is None else f"whatsapp {event.error_code}"
        await outbox_store.record_delivery(self.db, person, message_id, event.status, error)
        if event.status != "failed":
            return
        if event.error_code == 131047:  # the window had closed: the retry goes as a template
            await store.forget_window(self.db, person)
            await outbox_store.requeue_sent(self.db, person, message_id)
        elif event.error_code == 131026:
            now = outbox_store.stamp(dt.datetime.now(dt.UTC))
            await outbox_store.mark_sent_blocked(self.db, person, message_id, now)


_STICKER = {
    "file_id": "whatsapp",
    "file_unique_id": "whatsapp",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "type": "regular",
}


def _typed(text: str) -> dict[str, Any]:
    """A typed text as a message's fields: a leading /command marked as Telegram marks it."""
    fields: dict[str, Any] = {"text": text}
    if text.startswith("/") and text.split():
        length = len(text.split()[0])
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return fields


def _message(chat: int, message_id: int, text: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private"},
        "from": BOT_USER,
        "text": text,
    }


def _choices(markup: object) -> tuple[list[tuple[str, str, str]], list[str]]:
    """What a keyboard offers, as (kind, label, data), and its link buttons as text lines."""
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return [], []
    if not isinstance(markup, dict):
        return [], []
    choices: list[tuple[str, str, str]] = []
    alone: list[tuple[str, str, str]] = []  # buttons on a row of their own: the main actions
    links: list[str] = []
    for row in markup.get("inline_keyboard") or []:
        if len(row) == 1 and isinstance(row[0].get("callback_data"), str):
            alone.append(
                (CALLBACK, str(row[0].get("text") or "").strip(), row[0]["callback_data"])
            )
        for button in row:
            label = str(button.get("text") or "").strip()
            if not label:
                continue
            if isinstance(button.get("callback_data"), str):
                choices.append((CALLBACK, label, button["callback_data"]))
            elif isinstance(button.get("url"), str):
                links.append(f"{label}: {button['url']}")
    for row in markup.get("keyboard") or []:
        for button in row:
            button = {"text": button} if isinstance(button, str) else button
            label = str(button.get("text") or "").strip()
            if label and button.get("request_contact"):
                choices.append((OWN_PHONE, label, ""))
            elif label:
                choices.append((TYPED, label, ""))
    return _main_first(choices, alone), links


def _main_first(
    choices: list[tuple[str, str, str]], alone: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """A long list with its main actions (the buttons on a row of their own) on the first page."""
    if len(choices) <= render.MAX_ROWS:
        return choices
    return [c for c in choices if c in alone] + [c for c in choices if c not in alone]


def _prompt_choices(
    offered: Choices,
) -> tuple[list[tuple[str, str, str]], list[str], list[str | None]]:
    """A prompt's choices as (kind, label, data), its links as text lines, the descriptions."""
    choices: list[tuple[str, str, str]] = []
    alone: list[tuple[str, str, str]] = []
    links: list[str] = []
    described: dict[tuple[str, str, str], str | None] = {}
    for row in offered.rows:
        for choice in row:
            label = choice.label.strip()
            if choice.url is not None:
                links.append(f"{label}: {choice.url}")
                continue
            stored = (CALLBACK, label, choice.id)
            choices.append(stored)
            described.setdefault(stored, choice.description)
            if len(row) == 1:
                alone.append(stored)
    if offered.request == "contact" and offered.request_label:
        choices.append((OWN_PHONE, offered.request_label.strip(), ""))
    choices.extend((TYPED, reply.strip(), "") for reply in offered.replies if reply.strip())
    choices = _main_first(choices, alone)
    return choices, links, [described.get(c) for c in choices]


class ChannelRequest(BaseRequest):
    """The Bot's network: calls for WhatsApp people to the bridge, the rest to Telegram."""

    def __init__(self, telegram: BaseRequest, bridge: WhatsAppBridge) -> None:
        self.telegram = telegram
        self.bridge = bridge

    @property
    def read_timeout(self) -> float | None:
        """Telegram's read timeout."""
        return self.telegram.read_timeout

    async def initialize(self) -> None:
        """Open Telegram's connection pool."""
        await self.telegram.initialize()

    async def shutdown(self) -> None:
        """Close Telegram's connection pool."""
        await self.telegram.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer a WhatsApp person's call here; hand every other call to Telegram."""
        params = request_data.parameters if request_data is not None else {}
        if not self.bridge.serves(url, params):
            if "jaga_kind" in params and request_data is not None:
                request_data = _without(request_data, "jaga_kind")
            return await self.telegram.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout,
                pool_timeout,
            )  # fmt: skip
        if MEDIA_PATH in url:
            return 200, self.bridge.download(url)
        result = await self.bridge.call(url.rsplit("/", 1)[-1], params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """As bot/http.py parses (it may have parsed Telegram's answers already)."""
        return AiohttpRequest.parse_json_payload(payload)


def _without(request_data: RequestData, key: str) -> RequestData:
    """The same request without one of its parameters."""
    parameters = [p for p in request_data._parameters if p.name != key]
    return RequestData(parameters)


class NoTelegram(BaseRequest):
    """The Bot's network when only WhatsApp is configured: nothing reaches Telegram.

    The Application still asks for its own identity and sets its command menus; a message for a
    Telegram chat (a reviewer's notice) cannot be delivered and fails as a bad request.
    """

    _QUIET = frozenset({"setMyCommands", "deleteMyCommands", "deleteWebhook", "setChatMenuButton"})

    @property
    def read_timeout(self) -> float | None:
        """No network: no read timeout."""
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
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """The bot's identity and menus answered here; any other call refused."""
        api_method = url.rsplit("/", 1)[-1]
        if api_method == "getMe":
            result: Any = BOT_USER
        elif api_method == "getMyCommands":
            result = []
        elif api_method in self._QUIET:
            result = True
        else:
            return 400, json.dumps(
                {"ok": False, "error_code": 400, "description": "Telegram is not configured"}
            ).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()
