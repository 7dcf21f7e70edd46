"""bot/http.py: the Bot API client on aiohttp, against a small HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import ssl
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.http import AiohttpRequest, make_request
from bot.retry import surely_not_delivered
from jaga.app import build_application
from tests.conftest import make_settings

BOT = {"id": 1, "is_bot": True, "first_name": "B", "username": "b_bot"}


@dataclass
class Seen:
    """A request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Reply = Callable[[Seen], bytes]


def ok(result: object) -> bytes:
    """A Bot API success answer with a Content-Length."""
    payload = json.dumps({"ok": True, "result": result}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)


def message(seen: Seen) -> bytes:
    """sendMessage's answer, echoing the sent text (and keyboard, as Telegram does)."""
    params = json.loads(seen.body)
    answer = {
        "message_id": 5,
        "date": 0,
        "chat": {"id": int(params["chat_id"]), "type": "private"},
        "text": params["text"],
    }
    if "reply_markup" in params:
        answer["reply_markup"] = params["reply_markup"]
    return ok(answer)


@dataclass
class Server:
    """An HTTP/1.1 server that answers each request with `reply` and keeps what it saw."""

    reply: Reply
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    close_each: bool = False  # close the connection after each answer

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, path, headers, body)
                if path.endswith("/getMe"):  # telegram.Bot asks who it is first
                    answer = ok(BOT)
                else:
                    self.seen.append(seen)
                    answer = self.reply(seen)
                if not answer:
                    return  # drop the connection without an answer
                writer.write(answer)
                await writer.drain()
                if self.close_each or b"Connection: close" in answer.split(b"\r\n\r\n", 1)[0]:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Reply], asyncio.Future[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(reply: Reply) -> Server:
        state = Server(reply)
        server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
        state.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return state

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()
        await server.wait_closed()
    await asyncio.sleep(0)  # the handlers close their connections


async def test_send_message_through_telegram_bot_reuses_one_connection(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(message)
    async with Bot("1:T", base_url=server.url, request=AiohttpRequest()) as bot:
        first = await bot.send_message(42, "Halo, apa kabar?")
        second = await bot.send_message(42, "Terima kasih & sampai jumpa")
    assert (first.text, second.text) == ("Halo, apa kabar?", "Terima kasih & sampai jumpa")
    assert first.chat_id == 42
    sent = server.seen[-1]
    assert sent.method == "POST"
    assert sent.path == "/bot1:T/sendMessage"
    # One JSON body (no form quoted byte by byte), typed values as the Bot API documents them.
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["host"] == f"127.0.0.1:{server.port}"
    assert json.loads(sent.body) == {"chat_id": 42, "text": "Terima kasih & sampai jumpa"}
    # Keep-alive: the calls after the first went over the same connection.
    assert server.connections == 1


async def test_a_sent_keyboard_goes_as_json_and_is_not_parsed_back(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(message)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"Desa {n}", callback_data=f"REG desa 12.10.01.{n}")]
            for n in (1, 2)
        ]
    )
    async with Bot("1:T", base_url=server.url, request=AiohttpRequest()) as bot:
        sent = await bot.send_message(42, "Pilih desa:", reply_markup=keyboard)
    assert json.loads(server.seen[-1].body)["reply_markup"] == keyboard.to_dict()
    # The answer echoed the keyboard; the bot built it, so it is not built a second time.
    assert (sent.text, sent.chat_id, sent.reply_markup) == ("Pilih desa:", 42, None)
    async with Bot(
        "1:T", base_url=server.url, request=AiohttpRequest(keep_sent_keyboards=True)
    ) as bot:
        kept = await bot.send_message(42, "Pilih desa:", reply_markup=keyboard)
    assert kept.reply_markup == keyboard


async def test_concurrent_calls_each_get_their_own_answer(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(message)
    async with Bot("1:T", base_url=server.url, request=AiohttpRequest()) as bot:
        sent = await asyncio.gather(*(bot.send_message(n, f"teks {n}") for n in range(20)))
    assert [(m.chat_id, m.text) for m in sent] == [(n, f"teks {n}") for n in range(20)]
    assert server.connections <= 20


async def test_error_answers_become_telegram_errors(serve) -> None:  # type: ignore[no-untyped-def]
    def bad(seen: Seen) -> bytes:
        payload = b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'
        return b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (
            len(payload),
            payload,
        )

    server = await serve(bad)
    async with Bot("1:T", base_url=server.url, request=AiohttpRequest()) as bot:
        with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
            await bot.send_message(1, "x")


async def test_chunked_answer_and_connection_close_are_read(serve) -> None:  # type: ignore[no-untyped-def]
    payload = json.dumps({"ok": True, "result": True}).encode()

    def chunked(seen: Seen) -> bytes:
        half = len(payload) // 2
        return (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + b"%x\r\n%s\r\n" % (half, payload[:half])
            + b"%x;ext=1\r\n%s\r\n" % (len(payload) - half, payload[half:])
            + b"0\r\nX-Trailer: y\r\n\r\n"
        )

    server = await serve(chunked)
    async with Bot("1:T", base_url=server.url, request=AiohttpRequest()) as bot:
        assert await bot.answer_callback_query("q1") is True
        assert await bot.answer_callback_query("q2") is True
    # The server said Connection: close, so the second call opened a new connection.
    assert server.connections == 2


async def test_a_connection_the_server_closed_is_not_reused(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(lambda seen: ok(True))
    server.close_each = True  # answers, then closes the connection without saying so
    async with AiohttpRequest() as request:
        assert await request.post(f"{server.url}1:T/answerCallbackQuery") is True
        await asyncio.sleep(0.05)  # the close reaches the idle connection in the pool
        assert await request.post(f"{server.url}1:T/answerCallbackQuery") is True
    assert server.connections == 2


async def test_files_go_as_multipart_with_the_other_fields(serve) -> None:  # type: ignore[no-untyped-def]
    document = {"message_id": 9, "date": 0, "chat": {"id": 7, "type": "private"},
                "document": {"file_id": "d", "file_unique_id": "d"}}  # fmt: skip
    server = await serve(lambda seen: ok(document))
    async with Bot("1:T", base_url=server.url, request=AiohttpRequest()) as bot:
        sent_message = await bot.send_document(
            7, b"a,b\n1,2\n", filename="x.csv", caption='Berkas "A"'
        )
    assert sent_message.document is not None
    sent = server.seen[0]
    assert sent.path == "/bot1:T/sendDocument"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    boundary = sent.headers["content-type"].split("boundary=", 1)[1].encode()
    parts = sent.body.split(b"--" + boundary)
    assert parts[-1] == b"--\r\n"
    fields = {}
    for part in parts[1:-1]:
        head, _, value = part.partition(b"\r\n\r\n")
        fields[head.split(b'name="', 1)[1].split(b'"', 1)[0]] = (head, value[:-2])
    assert fields[b"chat_id"][1] == b"7"
    assert fields[b"caption"][1] == b'Berkas "A"'
    head, value = fields[b"document"]
    assert b'filename="x.csv"' in head
    assert b"Content-Type: text/csv" in head
    assert value == b"a,b\n1,2\n"


async def test_read_timeout_is_timed_out_and_may_have_been_delivered(serve) -> None:  # type: ignore[no-untyped-def]
    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the request, never answers
        writer.close()

    server = await asyncio.start_server(never, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AiohttpRequest(read_timeout=0.2) as request:
            with pytest.raises(TimedOut) as caught:
                await request.post(f"http://127.0.0.1:{port}/bot1:T/sendMessage")
    finally:
        server.close()
        await server.wait_closed()
    # bot/retry.py must not send a sendMessage again after this: it may have arrived.
    assert not surely_not_delivered(caught.value)


async def test_dropped_without_answer_is_network_error_maybe_delivered(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(lambda seen: b"")
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"{server.url}1:T/sendMessage")
    assert not isinstance(caught.value, TimedOut)
    assert not surely_not_delivered(caught.value)


async def test_refused_connection_was_surely_not_delivered() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{port}/bot1:T/sendMessage")
    assert surely_not_delivered(caught.value)
    assert "bot1:T" not in str(caught.value)  # the token never goes into an error


async def test_connect_timeout_was_surely_not_delivered_and_hides_the_token() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await reader.read()  # takes the connection, never answers the TLS handshake
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AiohttpRequest(connect_timeout=0.2) as request:
            with pytest.raises(TimedOut) as caught:
                await request.post(f"https://localhost:{port}/bot1:T/sendMessage")
    finally:
        server.close()
        await server.wait_closed()
    assert surely_not_delivered(caught.value)
    # aiohttp names the URL in this error: no error in the chain a log shows names the token.
    shown: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        shown.append(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert len(shown) == 2  # the TimedOut and aiohttp's ConnectionTimeoutError
    assert not any("1:T" in "".join(traceback.format_exception_only(e)) for e in shown)


async def test_full_pool_times_out_and_was_surely_not_delivered(serve) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        writer.write(ok(True))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(held, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/bot1:T/answerCallbackQuery"
    try:
        async with AiohttpRequest(connection_pool_size=1, pool_timeout=0.1) as request:
            first = asyncio.create_task(request.post(url))
            await asyncio.sleep(0.05)
            with pytest.raises(TimedOut) as caught:
                await request.post(url)
            release.set()
            assert await first is True
    finally:
        server.close()
        await server.wait_closed()
    assert surely_not_delivered(caught.value)


async def test_read_timeout_property_is_what_get_updates_adds_to() -> None:
    assert AiohttpRequest(read_timeout=7.5).read_timeout == 7.5


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                   "all_proxy", "NO_PROXY", "no_proxy")  # fmt: skip


async def test_a_proxy_in_the_environment_carries_the_calls(
    serve: Callable[[Reply], Awaitable[Server]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    proxy = await serve(lambda seen: ok(True))  # a forward proxy sees the whole URL
    monkeypatch.setenv("HTTP_PROXY", f"http://jaga:rahasia@127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "localhost")
    async with AiohttpRequest() as request:
        assert await request.post("http://api.telegram.invalid/bot1:T/answerCallbackQuery")
    sent = proxy.seen[0]
    assert sent.path == "http://api.telegram.invalid/bot1:T/answerCallbackQuery"
    assert sent.headers["proxy-authorization"] == "Basic amFnYTpyYWhhc2lh"  # jaga:rahasia
    # NO_PROXY: straight to the host, which does not exist here.
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as caught:
            await request.post("http://localhost:1/bot1:T/answerCallbackQuery")
    assert surely_not_delivered(caught.value)
    assert len(proxy.seen) == 1
    # A proxy that is not there: not sent, and its password is in no error.
    monkeypatch.setenv("HTTP_PROXY", "http://jaga:rahasia@127.0.0.1:1")
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as caught:
            await request.post("http://api.telegram.invalid/bot1:T/answerCallbackQuery")
    assert surely_not_delivered(caught.value)
    assert "rahasia" not in f"{caught.value} {caught.value.__cause__}"


async def test_a_proxy_this_client_cannot_speak_to_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", "socks5://jaga:rahasia@127.0.0.1:1080")
    request = make_request(connection_pool_size=8)
    with pytest.raises(ValueError, match="ALL_PROXY") as caught:
        await request.initialize()
    assert "rahasia" not in str(caught.value)


def test_jaga_run_talks_to_telegram_through_aiohttp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, telegram_token="123:abc")
    app = build_application(settings)
    # Both the calls and the long polling; tests and the console pass their own stand-in.
    assert isinstance(app.bot.request, AiohttpRequest)
    assert isinstance(app.bot._request[0], AiohttpRequest)
    assert app.bot._request[0].pool_size == 1


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for localhost and its key, made for this test."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_verifies_the_certificate_and_keeps_the_connection(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    state = Server(message)
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    url = f"https://localhost:{port}/bot"
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        async with Bot("1:T", base_url=url, request=AiohttpRequest(ssl_context=trusting)) as bot:
            assert (await bot.send_message(3, "aman")).text == "aman"
            assert (await bot.send_message(3, "lagi")).text == "lagi"
        assert state.connections == 1
        assert state.seen[-1].headers["host"] == f"localhost:{port}"
        # With the default trust store a self-signed certificate is refused, before sending.
        async with AiohttpRequest() as request:
            with pytest.raises(NetworkError) as caught:
                await request.post(f"{url}1:T/sendMessage")
        assert surely_not_delivered(caught.value)
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0)


async def test_file_download_path_is_quoted_and_read_with_get(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(lambda seen: b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    async with AiohttpRequest() as request:
        data = await request.retrieve(f"http://127.0.0.1:{server.port}/file/bot1:T/a b\r\nX: y")
    assert data == b"abc"
    assert server.seen[0].method == "GET"
    assert server.seen[0].path == "/file/bot1:T/a%20bX:%20y"  # urlsplit drops CR and LF
    assert "x" not in server.seen[0].headers
