"""The Bot API client behind python-telegram-bot's `BaseRequest`, on aiohttp.

python-telegram-bot's default `HTTPXRequest` spends most of the bot's CPU per Bot API call in
httpx and httpcore: its connection pool walks every connection and waiting request on each
request and each response close, so the cost grows with the calls in flight (BENCHMARKS.md,
"Profile of the registration run"). aiohttp's client does the same work for a fraction of the
CPU. `AiohttpRequest` holds one `aiohttp.ClientSession` from `initialize()` to `shutdown()`,
with as many keep-alive connections as PTB's `connection_pool_size`, and trusts what httpx
trusts: certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR.

Errors keep the meaning bot/retry.py relies on: a call that never left (no connection, no free
slot) raises with aiohttp's connect error as its cause, or PTB's "Request was *not* sent"
pool timeout, so it is tried again; a read timeout or a dropped connection after the request
was written may have been delivered, and is not repeated for a call such as sendMessage. The
token (it is in the URL) is never put in an error: aiohttp names the URL in some of its
messages, so the cause is cleaned of it and cut from its own chain.

A proxy named in the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, with NO_PROXY) is used as
httpx would: it is read once, when the session is made.

Two things cut the CPU a call costs when it carries a keyboard (BENCHMARKS.md, "CPU per update"),
the largest part of a registration step's own work in python-telegram-bot:

* The parameters go as one JSON body (`application/json`, which the Bot API accepts for every
  method) instead of a URL-encoded form: the standard library quotes a form byte by byte in
  Python, and a keyboard is a long JSON text full of characters to quote.
* The keyboard a sent message carries is not parsed back: Telegram answers sendMessage (and the
  other calls that send a `reply_markup`) with the message, keyboard included, and
  python-telegram-bot would build a button object for every button again. The answer's
  `reply_markup` is dropped when the call sent one (`keep_sent_keyboards=False`, the default),
  so the `Message` a send returns has `reply_markup=None`; the bot never reads it (what it sent
  is what it built).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from typing import Any, Final

import aiohttp
import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

from bot.patterns import Match, linear

_POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)
_JSON: Final = {"Content-Type": "application/json"}
# What an error's text must not show: the token in a Bot API URL (/bot<id>:<secret>/method,
# /file/bot<id>:<secret>/path) and a proxy's user and password (http://user:password@host).
_SECRETS = linear(r"(bot)\d+:[\w-]+|//[^/@\s]+@")


def _timeout(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class _Parsed(bytes):
    """An answer's body already parsed here (to drop the echoed keyboard): not parsed twice."""

    parsed: JSONDict


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one aiohttp session: keep-alive connections, form or multipart."""

    __slots__ = (
        "_connect_timeout",
        "_keep_keyboards",
        "_media_write_timeout",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_slots",
        "_ssl",
        "_urls",
        "_write_timeout",
        "pool_size",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        ssl_context: ssl.SSLContext | None = None,
        keep_sent_keyboards: bool = False,
    ) -> None:
        """Timeouts as `HTTPXRequest`'s; `ssl_context` replaces httpx's default trust;
        `keep_sent_keyboards` parses a sent message's keyboard back (see the module's notes)."""
        self._keep_keyboards = keep_sent_keyboards
        self.pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._proxies: dict[str, URL] = {}
        self._urls: dict[str, tuple[URL, URL | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (getUpdates adds its long-polling timeout to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Make the session (on the running loop) and read the proxy settings."""
        if self._session is not None:
            return
        if self._ssl is None:
            # httpx's own: certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set.
            self._ssl = httpx.create_ssl_context()
        self._proxies = _proxies_from_environment()
        self._urls.clear()
        self._slots = asyncio.Semaphore(self.pool_size)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.pool_size, ssl=self._ssl),
            headers={"User-Agent": self.USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets no cookies
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        session, self._session, self._slots = self._session, None, None
        if session is not None:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One request and its answer: (status, body)."""
        session, slots = self._session, self._slots
        if session is None or slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        target, proxy = self._target(url)
        files = request_data is not None and request_data.contains_files
        connect = _timeout(connect_timeout, self._connect_timeout)
        read = _timeout(read_timeout, self._read_timeout)
        write = _timeout(
            write_timeout, self._media_write_timeout if files else self._write_timeout
        )
        # aiohttp has no timeout for writing the body: the whole call is bounded instead.
        total = None
        if connect is not None and write is not None and read is not None:
            total = connect + write + read
        timeout = aiohttp.ClientTimeout(
            total=total, connect=connect, sock_connect=connect, sock_read=read
        )
        data: Any = None
        headers: dict[str, str] | None = None
        sent_keyboard = False
        if request_data is not None:
            if files:
                data = _multipart(request_data)
            else:
                parameters = request_data.parameters
                if parameters:
                    data = json.dumps(parameters).encode()
                    headers = _JSON
                    sent_keyboard = "reply_markup" in parameters and not self._keep_keyboards

        # PTB's pool timeout: the wait for a free connection, apart from the connect timeout.
        if slots.locked():
            try:
                async with asyncio.timeout(_timeout(pool_timeout, self._pool_timeout)):
                    await slots.acquire()
            except TimeoutError:
                raise TimedOut(_POOL_TIMEOUT_MESSAGE) from None
        else:
            await slots.acquire()
        failure: NetworkError
        try:
            async with session.request(
                method,
                target,
                data=data,
                headers=headers,
                proxy=proxy,
                timeout=timeout,
            ) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            failure = _failure(err)
        else:
            if sent_keyboard and status == 200:
                return status, _without_keyboard(body)
            return status, body
        finally:
            slots.release()
        raise failure  # outside the handler: the original error, naming the URL, stays behind

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """The answer as JSON; parsed once when `do_request` has parsed it already."""
        if isinstance(payload, _Parsed):
            return payload.parsed
        return BaseRequest.parse_json_payload(payload)

    def _target(self, url: str) -> tuple[URL, URL | None]:
        """The parsed URL and its proxy; the few API method URLs are kept, parsed."""
        known = self._urls.get(url)
        if known is not None:
            return known
        target = URL(url)
        proxy = None
        if target.host is not None and not urllib.request.proxy_bypass(target.host):
            proxy = self._proxies.get(target.scheme) or self._proxies.get("all")
        if len(self._urls) < 1024:  # file downloads have one URL each: not kept forever
            self._urls[url] = (target, proxy)
        return target, proxy


def _without_keyboard(body: bytes) -> bytes:
    """A send's answer without the keyboard it echoes (the call's own, not parsed back)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body  # python-telegram-bot reports it as an invalid answer
    result = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(result, dict) or "reply_markup" not in result:
        return body
    del result["reply_markup"]
    parsed = _Parsed(body)
    parsed.parsed = answer
    return parsed


def _failure(err: aiohttp.ClientError | TimeoutError) -> NetworkError:
    """The telegram error for an aiohttp error, its cause free of the token."""
    cause = _clean(err)
    failure: NetworkError
    if isinstance(err, aiohttp.ConnectionTimeoutError):
        failure = TimedOut("Connect timed out: the request was *not* sent to Telegram.")
    elif isinstance(err, TimeoutError):
        failure = TimedOut(f"Timed out: {type(err).__name__}")  # read, or the whole call
    else:
        failure = NetworkError(f"aiohttp.{type(cause).__name__}: {cause}")
    failure.__cause__ = cause
    return failure


def _clean(err: BaseException) -> BaseException:
    """`err` cut from its chain, or a copy without the secrets in its text, if it has any."""
    err.__cause__ = err.__context__ = None
    text = str(err)
    clean = _SECRETS.sub(_hidden, text)
    if clean == text:
        return err
    try:
        return type(err)(clean)
    except TypeError:  # a class made from other arguments than a message
        return aiohttp.ClientError(clean)


def _hidden(match: Match) -> str:
    return "bot<hidden>" if match[1] else "//<hidden>@"


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """The fields and files of a call that sends files, as multipart/form-data."""
    form = aiohttp.FormData(quote_fields=False)  # UTF-8 names, as httpx sends them
    for name, value in request_data.json_parameters.items():
        form.add_field(_quote(name), value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(_quote(name), content, filename=_quote(filename), content_type=mimetype)
    return form


def _quote(value: str) -> str:
    """A name or file name for a quoted multipart header, as httpx escapes (aiohttp: `\\`)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _proxies_from_environment() -> dict[str, URL]:
    """HTTP(S)_PROXY and ALL_PROXY by scheme, as urllib and httpx read them; HTTP proxies only.

    aiohttp sends a user and password in the proxy's URL as Proxy-Authorization.
    """
    proxies: dict[str, URL] = {}
    for scheme, value in urllib.request.getproxies().items():
        if scheme not in ("http", "https", "all"):
            continue
        proxy = URL(value)
        if proxy.scheme != "http" or not proxy.host:  # the value may hold a password: not shown
            raise ValueError(f"{scheme.upper()}_PROXY: only http:// proxies are supported")
        proxies[scheme] = proxy
    return proxies


def make_request(*, connection_pool_size: int, read_timeout: float | None = 5.0) -> BaseRequest:
    """The Bot API client for `jaga run`."""
    return AiohttpRequest(connection_pool_size=connection_pool_size, read_timeout=read_timeout)
