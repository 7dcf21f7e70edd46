"""Sending through the WhatsApp Cloud API, and fetching the media people send.

Messages go to `POST {base}/{phone_number_id}/messages` with the access token as a Bearer token;
a photo is `GET {base}/{media_id}` (a short-lived URL) and then that URL with the same token
(Cloud API reference, "Messages" and "Media"). Errors come back as
`{"error": {"code": ..., "message": ..., "error_data": {"details": ...}}}` and are raised as
typed exceptions the sender can act on (Cloud API "Error codes"):

- 131047, more than 24 hours since the person last wrote: only a template can be sent
  (`ReEngagementRequired`; reminders use `send_template`);
- 130429 (the number's throughput) and 131056 (too many to one person): `RateLimited`, with the
  seconds to wait;
- 131026 (not deliverable: no WhatsApp on the number, old app, terms not accepted) and a person
  who blocked the business: `Undeliverable` — do not retry;
- 190, the access token expired or was revoked: `TokenExpired` — the operator must renew it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.patterns import linear

Payload = dict[str, Any]

MAX_MEDIA = 10 * 1024 * 1024  # a KTP photo is well under this; WhatsApp caps images at 5 MB
_MEDIA_ID = linear(r"[0-9A-Za-z_.\-]{1,128}")
_BLOCKED = linear(r"(?i)\b(user|recipient)\b.*\bblock")

# Seconds to wait when the API gives no Retry-After: the throughput limit clears within a
# second; to one person WhatsApp allows about one message every 6 seconds.
DEFAULT_RETRY_AFTER = {130429: 1.0, 131056: 6.0}


class CloudApiError(Exception):
    """The Cloud API refused a request."""

    def __init__(self, code: int | None, message: str, http_status: int | None = None):
        super().__init__(f"WhatsApp Cloud API error {code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class ReEngagementRequired(CloudApiError):
    """More than 24 hours since the person last wrote: send a template instead."""


class RateLimited(CloudApiError):
    """Too many messages (for the number or to this person); retry after `retry_after` s."""

    def __init__(
        self, code: int | None, message: str, http_status: int | None, retry_after: float
    ):
        super().__init__(code, message, http_status)
        self.retry_after = retry_after


class Undeliverable(CloudApiError):
    """The message cannot reach this person (no WhatsApp, blocked the business): do not retry."""


class TokenExpired(CloudApiError):
    """The access token expired or was revoked: nothing can be sent until it is renewed."""


class MediaTooLarge(CloudApiError):
    """A media file over the size the bot accepts."""


def error_for(
    code: int | None,
    message: str,
    http_status: int | None = None,
    retry_after: float | None = None,
) -> CloudApiError:
    """The typed exception for an error code (from a response or a failed-status report)."""
    if code == 131047:
        return ReEngagementRequired(code, message, http_status)
    if code in DEFAULT_RETRY_AFTER:
        wait = retry_after if retry_after is not None else DEFAULT_RETRY_AFTER[code]
        return RateLimited(code, message, http_status, wait)
    if code == 131026 or _BLOCKED.search(message):
        return Undeliverable(code, message, http_status)
    if code == 190:
        return TokenExpired(code, message, http_status)
    return CloudApiError(code, message, http_status)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None


def _raise_for(status: int, reason: str | None, headers: Mapping[str, str], body: bytes) -> None:
    """Raise the typed error for an answer that is not a success."""
    if 200 <= status < 300:
        return
    try:
        error = json.loads(body).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    details = error.get("error_data", {})
    detail = details.get("details") if isinstance(details, dict) else None
    message = " ".join(
        str(part) for part in (error.get("message"), detail) if isinstance(part, str) and part
    )
    raise error_for(
        code if isinstance(code, int) else None,
        message or reason or f"HTTP {status}",
        status,
        _retry_after(headers),
    )


@dataclass(frozen=True)
class Media:
    """A fetched media file."""

    content: bytes
    mime_type: str | None


def template_payload(
    to: str, name: str, language: str = "id", body_params: Sequence[str] = ()
) -> Payload:
    """A template message: the only kind WhatsApp delivers after 24 hours of silence."""
    template: Payload = {"name": name, "language": {"code": language}}
    if body_params:
        parameters = [{"type": "text", "text": text} for text in body_params]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": template,
    }


class CloudApi:
    """A WhatsApp business number on the Cloud API (`base_url` like https://graph.facebook.com/v21.0)."""

    def __init__(
        self, base_url: str, phone_number_id: str, token: str, http: aiohttp.ClientSession
    ):
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._token = token
        self._http = http

    def __repr__(self) -> str:
        return f"CloudApi({self.base_url!r}, {self.phone_number_id!r})"  # never the token

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def send(self, payload: Payload) -> str:
        """Send one message payload; returns WhatsApp's id for it."""
        url = f"{self.base_url}/{self.phone_number_id}/messages"
        async with self._http.post(url, json=payload, headers=self._auth) as response:
            status, body = response.status, await response.read()
            _raise_for(status, response.reason, response.headers, body)
        try:
            message_id = json.loads(body)["messages"][0]["id"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise CloudApiError(None, "a reply without a message id", status) from exc
        if not isinstance(message_id, str):
            raise CloudApiError(None, "a reply without a message id", status)
        return message_id

    async def send_all(self, payloads: Iterable[Payload]) -> list[str]:
        """Send payloads in order (a rendered prompt); stops at the first error."""
        return [await self.send(payload) for payload in payloads]

    async def send_text(self, to: str, text: str) -> str:
        """Send a plain text message."""
        return await self.send(
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"preview_url": False, "body": text},
            }
        )

    async def send_template(
        self, to: str, name: str, language: str = "id", body_params: Sequence[str] = ()
    ) -> str:
        """Send an approved template (reminders more than 24 hours after the person wrote)."""
        return await self.send(template_payload(to, name, language, body_params))

    async def fetch_media(self, media_id: str, max_bytes: int = MAX_MEDIA) -> Media:
        """The bytes of a media file people sent, refusing files over `max_bytes`."""
        if not _MEDIA_ID.fullmatch(media_id):
            raise CloudApiError(None, "malformed media id")
        async with self._http.get(f"{self.base_url}/{media_id}", headers=self._auth) as response:
            status, body = response.status, await response.read()
            _raise_for(status, response.reason, response.headers, body)
        try:
            info = json.loads(body)
            url = info["url"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CloudApiError(None, "a media reply without a URL", status) from exc
        mime = info.get("mime_type")
        size = info.get("file_size")
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        if isinstance(size, int) and size > max_bytes:
            raise MediaTooLarge(None, f"media of {size} bytes", status)
        if not isinstance(url, str) or not self._media_url_ok(url):
            raise CloudApiError(None, "a media URL the bot does not follow")
        content = bytearray()
        async with self._http.get(url, headers=self._auth) as download:
            if not 200 <= download.status < 300:
                error = await download.read()
                _raise_for(download.status, download.reason, download.headers, error)
            async for chunk in download.content.iter_chunked(64 * 1024):
                content.extend(chunk)
                if len(content) > max_bytes:
                    raise MediaTooLarge(None, f"media over {max_bytes} bytes")
        return Media(bytes(content), mime if isinstance(mime, str) else None)

    def _media_url_ok(self, url: str) -> bool:
        """Whether the token may go to `url`: https, or the API's own scheme and host in tests."""
        parts, base = urlsplit(url), urlsplit(self.base_url)
        if parts.scheme == "https" and parts.hostname:
            return True
        return parts.scheme == base.scheme == "http" and parts.netloc == base.netloc
