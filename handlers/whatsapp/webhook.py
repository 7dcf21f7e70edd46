"""The WhatsApp Cloud API webhook: verification, signed deliveries, channel-neutral events.

Meta calls `/whatsapp` in two ways (WhatsApp Cloud API, "Webhooks" and Graph API "Webhooks:
Getting started"):

- GET with `hub.mode=subscribe`, `hub.verify_token` and `hub.challenge` when the webhook is
  set up: the challenge is echoed only when the token is the configured one, else 403.
- POST with a JSON body and `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with
  the app secret>`. A missing or wrong signature is 401 and nothing in the body is looked at.

A signed delivery is answered 200 at once (Meta retries what is not answered quickly, so the
same message can come twice); its messages become `Incoming` and its delivery reports
`StatusEvent`, and the `Dispatcher` hands them to a callback: each message once (a bounded
in-memory record of recent ids here; the persistent record is the inbox table), and one
person's events one after another, in the order they arrived.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import tornado.httpserver
import tornado.web

from bot.patterns import linear
from handlers.whatsapp.render import parse_choice_id

log = logging.getLogger(__name__)

PATH = "/whatsapp"
MAX_BODY = 1024 * 1024  # a delivery holds at most a few messages; anything bigger is refused
MAX_TEXT = 4096  # WhatsApp's own limit on a text message
SEEN_CAPACITY = 10_000  # recent message ids kept to drop redelivered ones

_WA_ID = linear(r"[0-9]{5,20}")
_CHALLENGE = linear(r"[A-Za-z0-9_\-]{1,128}")
_STATUS = linear(r"[a-z_]{1,16}")

Kind = Literal["text", "choice", "photo", "contact", "location", "other"]


@dataclass(frozen=True)
class Incoming:
    """A message from a person, whatever its WhatsApp type, in the flows' terms."""

    wa_id: str  # the sender's WhatsApp id: their phone number in international form, digits
    name: str | None  # the sender's profile name (set by them, not verified)
    message_id: str
    kind: Kind
    text: str | None = None  # typed text, a photo's caption, or a pressed button's title
    choice_id: str | None = None  # a pressed button or list row, checked by parse_choice_id
    media_id: str | None = None  # a photo, to fetch with CloudApi.fetch_media
    phone: str | None = None  # the first number on a shared contact card
    latitude: float | None = None
    longitude: float | None = None
    timestamp: int | None = None  # seconds since the epoch, as WhatsApp stamped it


@dataclass(frozen=True)
class StatusEvent:
    """A delivery report on a message the bot sent: sent, delivered, read or failed."""

    message_id: str
    status: str
    recipient: str
    error_code: int | None = None


Event = Incoming | StatusEvent
Callback = Callable[[Event], Awaitable[None]]
Keep = Callable[[list[Event]], Awaitable[list[Event]]]  # stores events, returns the new ones


@dataclass(frozen=True)
class WebhookConfig:
    """The secrets the webhook checks, and the business number whose events it takes."""

    verify_token: str
    app_secret: str
    phone_number_id: str | None = None  # None: events for any of the app's numbers


def signature(app_secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends with `body`."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the body's signature with the app secret (compared in constant time)."""
    if not header or not app_secret:
        return False
    expected = signature(app_secret, body).encode()
    return hmac.compare_digest(header.strip().encode("utf-8", "replace"), expected)


# --- parsing ------------------------------------------------------------------------------------


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object, limit: int) -> str | None:
    """A non-empty string within `limit` characters (longer ones are cut), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value[:limit]


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if -180.0 <= number <= 180.0 else None


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def _phone(value: object) -> str | None:
    """A phone number from a contact card: `+` and digits, as it was written otherwise."""
    raw = _str(value, 40)
    if raw is None:
        return None
    digits = "".join(ch for ch in raw if ch.isascii() and ch.isdigit())
    if not 5 <= len(digits) <= 20:
        return None
    return ("+" if raw.lstrip().startswith("+") else "") + digits


def _reply(base: dict[str, Any], raw_id: object, title: object) -> tuple[Kind, dict[str, Any]]:
    """A pressed button or row: a choice if its id is well-formed, else the title as text."""
    choice_id = parse_choice_id(raw_id)
    if choice_id is not None:
        return "choice", {**base, "choice_id": choice_id, "text": _str(title, 100)}
    return "text", {**base, "text": _str(title, 100)}


def parse_message(message: dict[str, Any], names: dict[str, str]) -> Incoming | None:
    """One entry of a delivery's `messages` as an Incoming, or None if it lacks a sender or id."""
    wa_id = message.get("from")
    message_id = _str(message.get("id"), 256)
    if not isinstance(wa_id, str) or not _WA_ID.fullmatch(wa_id) or message_id is None:
        return None
    base: dict[str, Any] = {"timestamp": _int(message.get("timestamp"))}
    kind: Kind = "other"
    match message.get("type"):
        case "text":
            kind, base["text"] = "text", _str(_dict(message.get("text")).get("body"), MAX_TEXT)
        case "interactive":
            interactive = _dict(message.get("interactive"))
            reply_type = interactive.get("type")
            if reply_type in ("button_reply", "list_reply"):
                reply = _dict(interactive.get(reply_type))
                kind, base = _reply(base, reply.get("id"), reply.get("title"))
        case "button":  # a quick-reply button on a template message
            button = _dict(message.get("button"))
            kind, base = _reply(base, button.get("payload"), button.get("text"))
        case "image" | "document" as media_type:
            media = _dict(message.get(media_type))
            mime = media.get("mime_type")
            is_image = media_type == "image" or (
                isinstance(mime, str) and mime.startswith("image/")
            )
            media_id = _str(media.get("id"), 128)
            if is_image and media_id is not None:
                kind = "photo"
                base |= {"media_id": media_id, "text": _str(media.get("caption"), 1024)}
        case "contacts":
            card = _dict(next(iter(_list(message.get("contacts"))), None))
            phone = next(
                (
                    p
                    for p in (_phone(_dict(x).get("phone")) for x in _list(card.get("phones")))
                    if p
                ),
                None,
            )
            kind = "contact"
            base |= {
                "phone": phone,
                "text": _str(_dict(card.get("name")).get("formatted_name"), 100),
            }
        case "location":
            place = _dict(message.get("location"))
            latitude, longitude = _float(place.get("latitude")), _float(place.get("longitude"))
            if latitude is not None and longitude is not None and abs(latitude) <= 90:
                kind = "location"
                base |= {
                    "latitude": latitude,
                    "longitude": longitude,
                    "text": _str(place.get("name") or place.get("address"), 200),
                }
        case _:
            pass
    return Incoming(wa_id=wa_id, name=names.get(wa_id), message_id=message_id, kind=kind, **base)


def parse_status(status: dict[str, Any]) -> StatusEvent | None:
    """One entry of a delivery's `statuses` as a StatusEvent, or None if malformed."""
    message_id = _str(status.get("id"), 256)
    state = status.get("status")
    recipient = status.get("recipient_id")
    if (
        message_id is None
        or not isinstance(state, str)
        or not _STATUS.fullmatch(state)
        or not isinstance(recipient, str)
        or not _WA_ID.fullmatch(recipient)
    ):
        return None
    error = _dict(next(iter(_list(status.get("errors"))), None))
    return StatusEvent(message_id, state, recipient, _int(error.get("code")))


def parse_delivery(data: object, phone_number_id: str | None = None) -> list[Event]:
    """The events in one webhook body, in order; what is not a WhatsApp message is skipped."""
    body = _dict(data)
    if body.get("object") != "whatsapp_business_account":
        return []
    events: list[Event] = []
    for entry in _list(body.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            value = _dict(change.get("value"))
            if change.get("field") != "messages":
                continue
            to = _dict(value.get("metadata")).get("phone_number_id")
            if phone_number_id is not None and to != phone_number_id:
                continue
            names: dict[str, str] = {}
            for contact in _list(value.get("contacts")):
                contact = _dict(contact)
                name = _str(_dict(contact.get("profile")).get("name"), 100)
                if isinstance(contact.get("wa_id"), str) and name is not None:
                    names[contact["wa_id"]] = name
            for message in _list(value.get("messages")):
                incoming = parse_message(_dict(message), names)
                if incoming is not None:
                    events.append(incoming)
            for status in _list(value.get("statuses")):
                report = parse_status(_dict(status))
                if report is not None:
                    events.append(report)
    return events


# --- handing over -------------------------------------------------------------------------------


class Dispatcher:
    """Hands events to `callback`: each once, one person's in arrival order, people in parallel."""

    def __init__(
        self, callback: Callback, seen_capacity: int = SEEN_CAPACITY, keep: Keep | None = None
    ):
        self._callback = callback
        self._keep = keep
        self._capacity = seen_capacity
        self._seen: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._queues: dict[str, deque[Event]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _first_time(self, event: Event) -> bool:
        """Whether the event is new; remembers it (the oldest record goes when full)."""
        if isinstance(event, Incoming):
            key: tuple[str, ...] = ("message", event.message_id)
        else:
            key = ("status", event.message_id, event.status, event.recipient)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def submit(self, events: Iterable[Event], *, taken_over: bool = False) -> int:
        """Queue the new events for their people; returns how many were new. `taken_over`:
        messages this process claimed from the inbox after their lease lapsed, queued even if
        seen here before (their handling here failed before it was marked done)."""
        accepted = 0
        for event in events:
            if not self._first_time(event) and not taken_over:
                continue
            accepted += 1
            person = event.wa_id if isinstance(event, Incoming) else event.recipient
            queue = self._queues.get(person)
            if queue is None:
                queue = self._queues[person] = deque()
                task = asyncio.get_running_loop().create_task(self._drain(person, queue))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            queue.append(event)
        return accepted

    async def accept(self, events: list[Event]) -> int:
        """Store the events first when a `keep` is set (the inbox: a redelivery is dropped
        there, and a crash after the answer to Meta loses nothing), then queue them."""
        if self._keep is not None and events:
            events = await self._keep(events)
        return self.submit(events)

    async def _drain(self, person: str, queue: deque[Event]) -> None:
        """One person's events, one after the other, until none is left."""
        try:
            while queue:
                event = queue.popleft()
                try:
                    await self._callback(event)
                except Exception:
                    log.exception("handling a WhatsApp event failed")
        finally:
            del self._queues[person]

    async def join(self) -> None:
        """Wait until every queued event has been handed over (tests, and stopping)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)


# --- HTTP ---------------------------------------------------------------------------------------


class WebhookHandler(tornado.web.RequestHandler):
    """`/whatsapp`: GET answers Meta's verification, POST takes signed deliveries."""

    def initialize(self, config: WebhookConfig, dispatcher: Dispatcher) -> None:
        self.config = config
        self.dispatcher = dispatcher

    def get(self) -> None:
        """Echo `hub.challenge` when the verify token is right; otherwise 403."""
        mode = self.get_query_argument("hub.mode", None)
        token = self.get_query_argument("hub.verify_token", None)
        challenge = self.get_query_argument("hub.challenge", None)
        expected = self.config.verify_token.encode()
        if (
            mode != "subscribe"
            or token is None
            or not expected
            or not hmac.compare_digest(token.encode("utf-8", "replace"), expected)
            or challenge is None
            or not _CHALLENGE.fullmatch(challenge)
        ):
            raise tornado.web.HTTPError(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(challenge)

    async def post(self) -> None:
        """Check the signature (401 if wrong), store and queue the events, answer 200."""
        body = self.request.body
        if len(body) > MAX_BODY:
            raise tornado.web.HTTPError(413)
        header = self.request.headers.get("X-Hub-Signature-256")
        if not signature_ok(self.config.app_secret, body, header):
            log.warning("WhatsApp webhook: refused a delivery without a valid signature")
            raise tornado.web.HTTPError(401)
        try:
            data = json.loads(body)
        except ValueError:
            # Signed but unreadable: answering an error would only make Meta send it again.
            log.warning("WhatsApp webhook: a signed delivery that is not JSON")
            data = None
        await self.dispatcher.accept(parse_delivery(data, self.config.phone_number_id))
        self.set_status(200)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A bare status line: nothing about the server or the error."""
        self.finish()


def _log_refusals(handler: tornado.web.RequestHandler) -> None:
    """Log refused requests only: an access line per delivered message costs more CPU than
    handling the delivery (every log line is masked for personal data)."""
    status = handler.get_status()
    if status >= 400:
        log.warning("event=whatsapp_webhook_refused status=%d", status)


def make_app(config: WebhookConfig, dispatcher: Dispatcher) -> tornado.web.Application:
    """The tornado application serving the webhook at `/whatsapp`."""
    return tornado.web.Application(
        [(PATH, WebhookHandler, {"config": config, "dispatcher": dispatcher})],
        log_function=_log_refusals,
    )


def make_server(app: tornado.web.Application) -> tornado.httpserver.HTTPServer:
    """An HTTP server for the webhook that refuses bodies over 1 MB before reading them."""
    return tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY)
