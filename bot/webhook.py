"""`jaga run`: polling or webhook, a health endpoint, and a graceful stop.

Webhook: python-telegram-bot's own webhook server (tornado) receives the updates. Telegram sends
the secret token in the `X-Telegram-Bot-Api-Secret-Token` header of every request, and PTB's
handler refuses (403) any request without the right one. The token is JAGA_WEBHOOK_SECRET, or,
if unset, derived from the secret key (stable across restarts, never logged).

Health: PTB's webhook server cannot take extra routes, so `/health` is a tiny tornado server of
its own on another port (default 127.0.0.1:8080, clear of a self-hosted Bot API server's 8081;
JAGA_HEALTH_LISTEN / JAGA_HEALTH_PORT or `--health-listen` / `--health-port`; port 0 turns it
off). The port is bound before the bot starts, so a port already taken (a second bot on the
machine) is one line for the operator, not a traceback. It answers 200 `{"status": "ok", ...}`
when the database answers a read and grants the write lock within a few seconds, else 503 with
the error's kind. It runs in polling mode too.

Stopping (SIGTERM or Ctrl-C): PTB stops fetching, waits for the updates being handled and the
running jobs to finish, then post_shutdown stops the outbox sender (which lets its messages in
flight finish) and closes the database.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import json
import logging
import signal
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Update

from bot.context import JagaApplication
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

# How long the health check waits for the database before it reports failure.
HEALTH_TIMEOUT = 3.0

# Bounds on every request to this process's HTTP servers (the webhook, /health). The webhook
# server reads a whole request before it checks the secret token, so without a bound anyone who
# can reach the port (it listens on 0.0.0.0 by default) makes it buffer 100 MB per request, and
# a client that sends its headers slowly holds a connection for an hour. An update from Telegram
# is a few kilobytes (bot/inbox.py has the same bound for the PostgreSQL webhook).
MAX_BODY_BYTES = 1 << 20
IDLE_CONNECTION_SECONDS = 60.0
BODY_SECONDS = 30.0


def bound_requests() -> None:
    """Every tornado HTTP server made from now on refuses bodies over MAX_BODY_BYTES (before
    reading them) and drops connections idle or slow beyond the limits above.

    python-telegram-bot builds its webhook server itself, without these options; tornado's
    `HTTPServer.configure` sets its defaults for every server the process makes.
    """
    tornado.httpserver.HTTPServer.configure(
        None,
        max_body_size=MAX_BODY_BYTES,
        idle_connection_timeout=IDLE_CONNECTION_SECONDS,
        body_timeout=BODY_SECONDS,
    )


def secret_token(settings: Settings) -> str:
    """The webhook's secret token: JAGA_WEBHOOK_SECRET or derived from the secret key."""
    if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
        value = settings.webhook_secret.get_secret_value()
        if not (1 <= len(value) <= 256) or any(
            not (c.isascii() and (c.isalnum() or c in "_-")) for c in value
        ):
            raise SettingsError("JAGA_WEBHOOK_SECRET: use 1-256 of A-Z, a-z, 0-9, _ and -")
        return value
    return hmac.new(settings.key, b"jaga webhook secret", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates and where the local server listens."""

    url: str
    listen: str
    port: int

    @property
    def url_path(self) -> str:
        """The path part of the public URL, which the local server serves."""
        return urlsplit(self.url).path.lstrip("/")


def parse_webhook_url(url: str) -> str:
    """The URL if Telegram can use it (https, a host), else a SettingsError."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(f"--webhook needs an https:// URL Telegram can reach, not {url!r}")
    if parts.port not in (None, 443, 80, 88, 8443):
        raise SettingsError("Telegram sends webhooks only to ports 443, 80, 88 and 8443")
    return url


class HealthHandler(tornado.web.RequestHandler):
    """GET /health: 200 if the database reads and takes the write lock, else 503."""

    def initialize(self, app: JagaApplication) -> None:
        """Keep the Application whose database is checked."""
        self.app = app

    async def get(self) -> None:
        """Check the database now and answer with JSON."""
        body: dict[str, Any] = {"running": self.app.running}
        try:
            body.update(await asyncio.wait_for(check_database(self.app), 2 * HEALTH_TIMEOUT))
            body["status"] = "ok"
            self.set_status(200)
        except Exception as exc:  # any failure is "unhealthy"; the kind is enough to act on
            log.warning("event=health_failed error=%s", type(exc).__name__)
            body.update(status="error", error=type(exc).__name__)
            self.set_status(503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


async def check_database(app: JagaApplication) -> dict[str, Any]:
    """Read the schema version and take (and release) the write lock."""
    db = app.bot_data.db
    migrations = await db.fetchval("SELECT count(*) FROM schema_migrations")
    # The write probe uses its own connection: a cancelled probe must never leave the bot's
    # writer connection inside a transaction.
    if db.engine == "postgresql":
        await _probe_postgres_write(db.target)
    else:
        await asyncio.to_thread(_probe_write, Path(db.target), HEALTH_TIMEOUT)
    return {"database": "ok", "migrations": int(migrations)}


async def _probe_postgres_write(url: str) -> None:
    """Take the database-wide write lock and give it back; raises if not granted in time.

    On a connection of its own: the lock goes with its transaction, and the bot's writer is never
    touched. A server that cannot take writes (a standby) fails the check too.
    """
    import asyncpg

    from storage.postgres import WRITE_LOCK

    conn = await asyncpg.connect(url, timeout=HEALTH_TIMEOUT)
    try:
        if await conn.fetchval("SELECT pg_is_in_recovery()"):
            raise ReadOnlyDatabase("the PostgreSQL server is a read-only standby")
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = {max(1, int(HEALTH_TIMEOUT * 1000))}")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
        await conn.close(timeout=HEALTH_TIMEOUT)
    finally:
        if not conn.is_closed():  # failed or cancelled: drop it, the server rolls back
            conn.terminate()


class ReadOnlyDatabase(Exception):
    """The database answers reads but cannot take writes."""


def _probe_write(path: Path, timeout: float) -> None:
    """Take the write lock and give it back at once; raises if it is not granted in time."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def health_server(app: JagaApplication) -> tornado.httpserver.HTTPServer:
    """The health server (not yet listening)."""
    routes = tornado.web.Application([(r"/health", HealthHandler, {"app": app})])
    return tornado.httpserver.HTTPServer(routes, xheaders=False)


def bind_health(listen: str, port: int) -> list[Any]:
    """The listening sockets for /health, or a SettingsError the operator can act on."""
    try:
        return tornado.netutil.bind_sockets(port, address=listen)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SettingsError(
                f"port {port} in use: set --health-port or JAGA_HEALTH_PORT"
            ) from None
        raise SettingsError(
            f"cannot serve /health on {listen}:{port} ({exc.strerror or exc}): set "
            "--health-listen/--health-port or JAGA_HEALTH_LISTEN/JAGA_HEALTH_PORT"
        ) from None


def with_health(app: JagaApplication, listen: str, port: int) -> None:
    """Bind `listen:port` now (SettingsError if taken); serve /health from post_init on."""
    if port == 0:
        return
    sockets = bind_health(listen, port)
    server = health_server(app)
    post_init, post_shutdown = app.post_init, app.post_shutdown

    async def start(application: Any) -> None:
        if post_init is not None:
            await post_init(application)
        server.add_sockets(sockets)
        log.info("event=health_listening address=%s port=%d", listen, port)

    async def stop(application: Any) -> None:
        server.stop()
        await server.close_all_connections()
        if post_shutdown is not None:
            await post_shutdown(application)

    app.post_init = start
    app.post_shutdown = stop


async def _run_without_telegram(app: JagaApplication) -> None:
    """Serve only WhatsApp (and /health, the jobs, the outbox) until SIGINT/SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    async with app:  # initialize and shutdown, as run_polling does
        assert app.post_init is not None and app.post_shutdown is not None
        await app.post_init(app)
        await app.start()
        log.info("event=started channels=whatsapp")
        try:
            await stopping.wait()
        finally:
            await app.stop()
            await app.post_shutdown(app)


def run(
    app: JagaApplication,
    settings: Settings,
    *,
    webhook: Webhook | None,
    health_listen: str,
    health_port: int,
) -> None:
    """Run until SIGINT/SIGTERM: polling, or the webhook server with its secret token; and the
    WhatsApp webhook when that channel is on (alone when there is no Telegram token)."""
    bound_requests()
    with_health(app, health_listen, health_port)
    whatsapp = app.bot_data.whatsapp
    if whatsapp is not None:  # taken now: a taken port is one clear line before anything runs
        whatsapp.bind(settings.whatsapp_listen, settings.whatsapp_port)
        if settings.telegram_token is None:
            asyncio.run(_run_without_telegram(app))
            return
    if webhook is None:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
        return
    log.info(
        "event=webhook_start listen=%s port=%d path=/%s",
        webhook.listen,
        webhook.port,
        webhook.url_path,
    )
    if settings.db_engine == "postgresql":  # several processes share the updates (bot/inbox.py)
        from bot import inbox

        url_path, secret = webhook.url_path, secret_token(settings)
        inbox.run(app, webhook.url, webhook.listen, webhook.port, url_path, secret)
        return
    app.run_webhook(
        listen=webhook.listen,
        port=webhook.port,
        url_path=webhook.url_path,
        webhook_url=webhook.url,
        secret_token=secret_token(settings),
        allowed_updates=Update.ALL_TYPES,
    )
