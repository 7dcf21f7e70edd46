"""An offline stand-in for the WhatsApp Cloud API, and signed webhook deliveries, for tests.

`CloudApiStandIn` is a tornado app on a free local port: it records every message sent to
`/{phone_number_id}/messages`, answers with a message id, serves media added with `add_media`
(the two steps of the real API: the media's URL, then its bytes), checks the Bearer token, and
answers a chosen error code for a chosen recipient (`fail`). The shapes follow the Cloud API
reference ("Messages", "Media", "Error codes").

The builders below make webhook bodies as Meta sends them, and `post_signed` delivers one to a
webhook with the `X-Hub-Signature-256` header (or a wrong or missing one).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web

from handlers.whatsapp.webhook import signature

Payload = dict[str, Any]

_ids = itertools.count(1)

_ERROR_STATUS = {130429: 429, 131056: 429, 190: 401}
_ERROR_TITLE = {
    131047: "Re-engagement message",
    130429: "Rate limit hit",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131026: "Message Undeliverable",
    190: "Error validating access token: Session has expired",
}


@dataclass(frozen=True)
class Failure:
    """The error to answer for one recipient."""

    code: int
    message: str
    retry_after: float | None = None
    kinds: frozenset[str] | None = None  # only messages of these types fail (None: all)


@dataclass
class StandInState:
    """What the stand-in recorded and what it is told to do."""

    token: str
    phone_number_id: str
    sent: list[Payload] = field(default_factory=list)
    refused: list[Payload] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    reported_sizes: dict[str, int | None] = field(default_factory=dict)
    media_fetches: int = 0
    base_url: str = ""


class _Handler(tornado.web.RequestHandler):
    def initialize(self, state: StandInState) -> None:
        self.state = state

    def _authorized(self) -> bool:
        if self.request.headers.get("Authorization") == f"Bearer {self.state.token}":
            return True
        self._error(190, _ERROR_TITLE[190])
        return False

    def _error(self, code: int, message: str, retry_after: float | None = None) -> None:
        self.set_status(_ERROR_STATUS.get(code, 400))
        if retry_after is not None:
            self.set_header("Retry-After", str(retry_after))
        self.finish(
            {
                "error": {
                    "message": message,
                    "type": "OAuthException",
                    "code": code,
                    "error_data": {"messaging_product": "whatsapp", "details": message},
                    "fbtrace_id": "standin",
                }
            }
        )


class _Messages(_Handler):
    def post(self, phone_number_id: str) -> None:
        if not self._authorized():
            return
        if phone_number_id != self.state.phone_number_id:
            self._error(100, "Unsupported post request")
            return
        payload = json.loads(self.request.body)
        to = payload.get("to")
        failure = self.state.failures.get(to) if isinstance(to, str) else None
        if failure is not None and failure.kinds is not None:
            failure = failure if payload.get("type") in failure.kinds else None
        if failure is not None:
            self.state.refused.append(payload)
            self._error(failure.code, failure.message, failure.retry_after)
            return
        self.state.sent.append(payload)
        self.finish(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.standin.{next(_ids)}"}],
            }
        )


class _MediaInfo(_Handler):
    def get(self, media_id: str) -> None:
        if not self._authorized():
            return
        if media_id not in self.state.media:
            self._error(100, "Invalid parameter")
            return
        content, mime = self.state.media[media_id]
        self.finish(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.state.base_url}/_media/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": self.state.reported_sizes.get(media_id, len(content)),
                "id": media_id,
            }
        )


class _MediaBytes(_Handler):
    def get(self, media_id: str) -> None:
        if not self._authorized():
            return
        if media_id not in self.state.media:
            self.set_status(404)
            self.finish()
            return
        content, mime = self.state.media[media_id]
        self.state.media_fetches += 1
        self.set_header("Content-Type", mime)
        self.finish(content)


class CloudApiStandIn:
    """The Cloud API on 127.0.0.1 and a free port; use as `async with CloudApiStandIn() as api`."""

    def __init__(self, token: str = "standin-token", phone_number_id: str = "100200300"):
        self.state = StandInState(token=token, phone_number_id=phone_number_id)
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def base_url(self) -> str:
        """Where the API answers (what `CloudApi` takes as its base URL)."""
        return self.state.base_url

    @property
    def sent(self) -> list[Payload]:
        """Message payloads accepted, in order."""
        return self.state.sent

    def fail(
        self,
        to: str,
        code: int,
        retry_after: float | None = None,
        kinds: frozenset[str] | None = None,
    ) -> None:
        """Answer every message to `to` (of these `kinds`, e.g. {"text"}) with the error `code`
        from now on; `heal(to)` ends it."""
        title = _ERROR_TITLE.get(code, "Error")
        self.state.failures[to] = Failure(code, title, retry_after, kinds)

    def heal(self, to: str) -> None:
        """Accept messages to `to` again."""
        self.state.failures.pop(to, None)

    def add_media(
        self, media_id: str, content: bytes, mime_type: str = "image/jpeg", **size: int | None
    ) -> None:
        """Serve a media file under `media_id` (`reported_size=` makes its info say otherwise)."""
        self.state.media[media_id] = (content, mime_type)
        if "reported_size" in size:
            self.state.reported_sizes[media_id] = size["reported_size"]

    async def start(self) -> str:
        """Start listening; returns the base URL."""
        routes: list[Any] = [
            (r"/_media/([^/]+)", _MediaBytes, {"state": self.state}),
            (r"/([^/]+)/messages", _Messages, {"state": self.state}),
            (r"/([^/]+)", _MediaInfo, {"state": self.state}),
        ]
        sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
        port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
        self._server.add_sockets(sockets)
        self.state.base_url = f"http://127.0.0.1:{port}"
        return self.state.base_url

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    async def __aenter__(self) -> CloudApiStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


# --- webhook deliveries -------------------------------------------------------------------------


def new_message_id() -> str:
    """A fresh WhatsApp-style message id."""
    return f"wamid.test.{next(_ids)}"


def _message(wa_id: str, kind: str, content: Any, message_id: str | None) -> Payload:
    return {
        "from": wa_id,
        "id": message_id or new_message_id(),
        "timestamp": "1780000000",
        "type": kind,
        kind: content,
    }


def text_message(wa_id: str, text: str, message_id: str | None = None) -> Payload:
    """A typed text."""
    return _message(wa_id, "text", {"body": text}, message_id)


def button_reply(
    wa_id: str, choice_id: str, title: str = "", message_id: str | None = None
) -> Payload:
    """A pressed reply button."""
    reply = {"type": "button_reply", "button_reply": {"id": choice_id, "title": title}}
    return _message(wa_id, "interactive", reply, message_id)


def list_reply(
    wa_id: str, choice_id: str, title: str = "", message_id: str | None = None
) -> Payload:
    """A picked list row."""
    reply = {"type": "list_reply", "list_reply": {"id": choice_id, "title": title}}
    return _message(wa_id, "interactive", reply, message_id)


def image_message(
    wa_id: str, media_id: str, caption: str | None = None, message_id: str | None = None
) -> Payload:
    """A photo."""
    image: Payload = {"id": media_id, "mime_type": "image/jpeg", "sha256": "0" * 64}
    if caption is not None:
        image["caption"] = caption
    return _message(wa_id, "image", image, message_id)


def contact_message(
    wa_id: str, phone: str, name: str = "Kontak", message_id: str | None = None
) -> Payload:
    """A shared contact card with one phone number."""
    card = {
        "name": {"formatted_name": name, "first_name": name},
        "phones": [{"phone": phone, "type": "CELL"}],
    }
    return _message(wa_id, "contacts", [card], message_id)


def location_message(
    wa_id: str, latitude: float, longitude: float, message_id: str | None = None
) -> Payload:
    """A shared location."""
    return _message(wa_id, "location", {"latitude": latitude, "longitude": longitude}, message_id)


def status(message_id: str, state: str, recipient: str, error_code: int | None = None) -> Payload:
    """A delivery report on a message the bot sent."""
    report: Payload = {
        "id": message_id,
        "status": state,
        "timestamp": "1780000000",
        "recipient_id": recipient,
    }
    if error_code is not None:
        report["errors"] = [{"code": error_code, "title": _ERROR_TITLE.get(error_code, "Error")}]
    return report


def delivery(
    messages: Sequence[Payload] = (),
    statuses: Sequence[Payload] = (),
    names: dict[str, str] | None = None,
    phone_number_id: str = "100200300",
) -> Payload:
    """A webhook body as Meta posts it, with the senders' profile names."""
    value: Payload = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": phone_number_id},
    }
    senders = dict.fromkeys(m["from"] for m in messages)
    if senders:
        value["contacts"] = [
            {"profile": {"name": (names or {}).get(s, "Pengguna")}, "wa_id": s} for s in senders
        ]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "900800700", "changes": [{"value": value, "field": "messages"}]}],
    }


async def post_signed(
    http: httpx.AsyncClient,
    url: str,
    body: Payload | bytes,
    app_secret: str | None,
    *,
    signature_header: str | None = None,
) -> httpx.Response:
    """POST a delivery signed with `app_secret` (None: unsigned; `signature_header` overrides)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature_header is not None:
        headers["X-Hub-Signature-256"] = signature_header
    elif app_secret is not None:
        headers["X-Hub-Signature-256"] = signature(app_secret, raw)
    return await http.post(url, content=raw, headers=headers)
