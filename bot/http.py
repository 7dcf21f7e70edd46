"""A lean HTTP/1.1 client for the Bot API behind python-telegram-bot's `BaseRequest`.

python-telegram-bot's default `HTTPXRequest` spends most of the bot's CPU per Bot API call in
httpx and httpcore: its connection pool walks every connection and waiting request on each
request and each response close, so the cost grows with the calls in flight (BENCHMARKS.md,
"Profile of the registration run"). The Bot API needs far less: one host, POST with a form or a
multipart body, a JSON answer with a length. `StreamRequest` keeps idle keep-alive connections
on asyncio streams (TLS by the standard library, trusting what httpx trusts: certifi's bundle,
or SSL_CERT_FILE / SSL_CERT_DIR) and does only that.

Errors keep the meaning bot/retry.py relies on: a call that never left (no connection, no free
slot) raises with httpx's class for the same failure as its cause, so it is tried again; a read
timeout or a dropped connection after the request was written may have been delivered, and is
not repeated for a call such as sendMessage. The URL (it holds the token) is never put in an
error or a log line.

`make_request` falls back to `HTTPXRequest` when a proxy is configured in the environment
(httpx honours HTTP(S)_PROXY; this client does not speak to proxies).
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote, urlsplit

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

# An idle connection older than this is closed rather than reused (httpx's default is 5 s).
KEEPALIVE_SECONDS = 5.0
# The longest status line plus headers accepted from the server.
MAX_HEAD = 64 * 1024

_POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)


@dataclass(frozen=True)
class _Target:
    """Where a URL's request goes: the pool key, and the request line's path."""

    scheme: str
    host: str
    port: int
    host_header: str
    path: str


class _Connection:
    """One keep-alive connection: its streams and when it was last returned idle."""

    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def reusable(self, now: float) -> bool:
        """Whether it is still open (the server has not closed it) and not idle too long."""
        return (
            now - self.idle_since < KEEPALIVE_SECONDS
            and not self.reader.at_eof()
            and not self.writer.transport.is_closing()
        )

    def close(self) -> None:
        """Close it without waiting (an abort: the server learns by the TCP close)."""
        self.writer.transport.abort()


class _Response:
    """Status and whether the server keeps the connection open, read from the head."""

    __slots__ = ("chunked", "keep_alive", "length", "status")

    def __init__(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError("not an HTTP/1.x response")
        self.status = int(rest[:3])
        self.length: int | None = None
        self.chunked = False
        self.keep_alive = version == "HTTP/1.1"
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                continue
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                self.length = int(value)
            elif name == "transfer-encoding":
                self.chunked = "chunked" in value.lower()
            elif name == "connection":
                token = value.lower()
                if "close" in token:
                    self.keep_alive = False
                elif "keep-alive" in token:
                    self.keep_alive = True
        if self.chunked:
            self.length = None
        elif self.length is None and self.status not in (204, 304):
            self.keep_alive = False  # the body ends where the connection does


def _timeout(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class StreamRequest(BaseRequest):
    """HTTP/1.1 with keep-alive over asyncio streams: a `BaseRequest` for the Bot API."""

    __slots__ = (
        "_connect_timeout",
        "_idle",
        "_media_write_timeout",
        "_pool_timeout",
        "_read_timeout",
        "_slots",
        "_ssl",
        "_targets",
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
    ) -> None:
        """Timeouts as `HTTPXRequest`'s; `ssl_context` replaces httpx's default trust."""
        self.pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._slots: asyncio.Semaphore | None = None
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._targets: dict[str, _Target] = {}
        self._ssl = ssl_context

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (getUpdates adds its long-polling timeout to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Ready to send: the pool's slots (made here, on the running loop)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.pool_size)

    async def shutdown(self) -> None:
        """Close the idle connections; calls still running close theirs when they end."""
        for idle in self._idle.values():
            while idle:
                idle.popleft().close()
        self._slots = None

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
        slots = self._slots
        if slots is None:
            raise RuntimeError("This StreamRequest is not initialized!")
        target = self._target(url)
        body, content_type = _body(request_data)
        files = request_data is not None and request_data.contains_files
        write_default = self._media_write_timeout if files else self._write_timeout
        head = (
            f"{method} {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
            f"User-Agent: {self.USER_AGENT}\r\nAccept: */*\r\n"
        )
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        if body or method not in ("GET", "HEAD"):
            head += f"Content-Length: {len(body)}\r\n"
        message = (head + "\r\n").encode("latin-1") + body

        if slots.locked():
            try:
                async with asyncio.timeout(_timeout(pool_timeout, self._pool_timeout)):
                    await slots.acquire()
            except TimeoutError:
                raise TimedOut(_POOL_TIMEOUT_MESSAGE) from httpx.PoolTimeout("no free slot")
        else:
            await slots.acquire()
        try:
            connection = await self._connection(
                target, _timeout(connect_timeout, self._connect_timeout)
            )
            keep = False
            try:
                status, payload, keep = await self._exchange(
                    connection,
                    message,
                    _timeout(write_timeout, write_default),
                    _timeout(read_timeout, self._read_timeout),
                )
            finally:
                if keep and self._slots is slots:  # not shut down meanwhile
                    connection.idle_since = time.monotonic()
                    self._idle.setdefault(_key(target), deque()).append(connection)
                else:
                    connection.close()
        finally:
            slots.release()
        return status, payload

    def _target(self, url: str) -> _Target:
        """The parsed URL; the few distinct prefixes make the per-URL cache small."""
        target = self._targets.get(url)
        if target is not None:
            return target
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise NetworkError(f"unsupported URL scheme {scheme!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
        host = parts.hostname
        host_header = host if default else f"{host}:{port}"
        if ":" in host and not default:  # an IPv6 literal
            host_header = f"[{host}]:{port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # As httpx does: a space or a control character (a file path) never reaches the wire.
        path = quote(path, safe="/?=&%:@+,;~!$'()*")
        target = _Target(scheme, host, port, host_header, path)
        if len(self._targets) < 1024:  # file downloads have one URL each: not cached forever
            self._targets[url] = target
        return target

    async def _connection(self, target: _Target, seconds: float | None) -> _Connection:
        """An idle connection to the target that is still good, or a new one."""
        idle = self._idle.get(_key(target))
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the likeliest to be alive
            if connection.reusable(now):
                return connection
            connection.close()
        context = None
        if target.scheme == "https":
            if self._ssl is None:
                # httpx's own: certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set.
                self._ssl = httpx.create_ssl_context()
            context = self._ssl
        try:
            async with asyncio.timeout(seconds):
                reader, writer = await asyncio.open_connection(
                    target.host,
                    target.port,
                    ssl=context,
                    server_hostname=target.host if context else None,
                    limit=MAX_HEAD,
                )
        except TimeoutError:
            raise TimedOut("connect timed out") from httpx.ConnectTimeout("connect timed out")
        except (OSError, ssl.SSLError) as err:
            raise NetworkError(f"connect failed: {type(err).__name__}") from httpx.ConnectError(
                str(err)
            )
        return _Connection(reader, writer)

    async def _exchange(
        self,
        connection: _Connection,
        message: bytes,
        write_timeout: float | None,
        read_timeout: float | None,
    ) -> tuple[int, bytes, bool]:
        """Write the request, read the answer: (status, body, whether to keep the connection)."""
        reader, writer = connection.reader, connection.writer
        try:
            writer.write(message)
            if writer.transport.get_write_buffer_size():
                async with asyncio.timeout(write_timeout):
                    await writer.drain()
        except TimeoutError:
            raise TimedOut("write timed out") from httpx.WriteTimeout("write timed out")
        except OSError as err:
            raise NetworkError(f"write failed: {type(err).__name__}") from httpx.WriteError(
                str(err)
            )
        try:
            async with asyncio.timeout(read_timeout):
                response = _Response(await reader.readuntil(b"\r\n\r\n"))
                if response.chunked:  # wins over a Content-Length (RFC 9112, 6.3)
                    payload = await _read_chunked(reader)
                elif response.length is not None:
                    payload = await reader.readexactly(response.length)
                elif response.status in (204, 304) or 100 <= response.status < 200:
                    payload = b""
                else:
                    payload = await reader.read()
        except TimeoutError:
            raise TimedOut("read timed out") from httpx.ReadTimeout("read timed out")
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as err:
            # IncompleteReadError is an EOFError: the server closed the connection mid-answer.
            raise NetworkError(f"read failed: {type(err).__name__}") from httpx.ReadError(str(err))
        return response.status, payload, response.keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body (RFC 9112, 7.1), trailers skipped."""
    parts: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # a trailer field
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the CRLF after the chunk


def _key(target: _Target) -> tuple[str, str, int]:
    return target.scheme, target.host, target.port


def _body(request_data: RequestData | None) -> tuple[bytes, str | None]:
    """The request body and its content type: a form, or multipart when files go along."""
    if request_data is None:
        return b"", None
    if not request_data.contains_files:
        params = request_data.json_parameters
        if not params:
            return b"", None
        return request_data.url_encoded_parameters().encode(), (
            "application/x-www-form-urlencoded"
        )
    boundary = secrets.token_hex(16)
    marker = f"--{boundary}\r\n".encode()
    parts: list[bytes] = []
    for name, value in request_data.json_parameters.items():
        parts += [
            marker,
            f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode(),
            value.encode(),
            b"\r\n",
        ]
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else _read(content)
        parts += [
            marker,
            (
                f'Content-Disposition: form-data; name="{_quote(name)}"; '
                f'filename="{_quote(filename)}"\r\nContent-Type: {mimetype}\r\n\r\n'
            ).encode(),
            data,
            b"\r\n",
        ]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _read(handle: IO[bytes]) -> bytes:
    return handle.read()


def _quote(value: str) -> str:
    """A name or file name inside a quoted multipart header (as browsers and httpx escape)."""
    return (
        value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    )


def proxy_configured() -> bool:
    """Whether the environment names a proxy (HTTPS_PROXY, ALL_PROXY…), as httpx would use."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())


def make_request(*, connection_pool_size: int, read_timeout: float | None = 5.0) -> BaseRequest:
    """The Bot API client for `jaga run`: `StreamRequest`, or httpx's behind a proxy."""
    if proxy_configured():
        return HTTPXRequest(connection_pool_size=connection_pool_size, read_timeout=read_timeout)
    return StreamRequest(connection_pool_size=connection_pool_size, read_timeout=read_timeout)
