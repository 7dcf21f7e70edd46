"""Several `jaga run --webhook` processes on one PostgreSQL database, behind a load balancer.

Telegram posts every update to one URL; the balancer hands each request to any process. That
process only stores the update in the inbox table (once per update_id: Telegram retries) and
answers 200 at once; the update is handled by whichever process claims it first:

* Receiving (`InboxHandler`): the secret token is checked as python-telegram-bot checks it (403
  without the right `X-Telegram-Bot-Api-Secret-Token`), the update is stored and the listeners
  are woken (NOTIFY on `jaga_inbox`, sent when the insert commits).
* Handling (`InboxWorker`, one in every process): woken by LISTEN (own connection) or a poll
  every second, it claims each person's oldest update not yet done, with a lease, and runs it
  through the Application's update processor (the time bound applies), different people at once.
  A person's next update can be claimed only when the previous one is done, so one person's
  updates are handled in order whichever processes take them.
* A process killed mid-update: its lease lapses and another process claims the update. Every write
  transaction of a handling marks its update applied (storage/db.py `handling_row`); an update
  already applied is not handled again (`event=inbox_skip_applied`): the answer it stored is not
  asked a second time, the person's current question is (`resume`, also used by WhatsApp).

Done rows are deleted a day later by the claim loop. SQLite and polling do not use any of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import logging
import os
import secrets
import signal
import socket
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Update

from bot.context import JagaApplication
from bot.i18n import translator
from bot.processing import OrderedUpdateProcessor
from bot.settings import SettingsError
from storage import inbox, users
from storage.db import InboxRow, handling

log = logging.getLogger(__name__)

# Without a notification, the worker looks for updates this often (another process's receipt
# always notifies; the poll covers a lost listener connection and lapsed leases).
POLL_SECONDS = 1.0
# How often the claim loop deletes rows done more than a day ago.
CLEANUP_SECONDS = 3600.0
# An update never waits longer than its lease for the handler time bound to end: the lease is at
# least the time bound plus this margin.
LEASE_MARGIN_SECONDS = 1.0
# Telegram posts small JSON documents; anything larger is not an update.
MAX_BODY_BYTES = 1 << 20


def worker_name() -> str:
    """This process's name in `claimed_by`: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def person_of(update: Update) -> int:
    """Whose updates must stay in order: the user, else the chat, else 0."""
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return 0


# The kinds of update people send nearly all the time, whose sender is their `from` (else, for
# a message, its chat), as `Update.effective_user` / `effective_chat` read them.
_SENDER_KINDS = ("message", "callback_query", "edited_message")


def person_in(data: Any) -> int | None:
    """`person_of` read from the update's JSON for the common kinds, without building the
    `Update` (the worker builds it when it handles the update); None for anything else, which
    is then parsed in full."""
    if not isinstance(data, dict) or type(data.get("update_id")) is not int or len(data) != 2:
        return None
    for kind in _SENDER_KINDS:
        body = data.get(kind)
        if not isinstance(body, dict):
            continue
        sender = body.get("from")
        if isinstance(sender, dict) and type(sender.get("id")) is int:
            return int(sender["id"])
        chat = body.get("chat")
        if kind != "callback_query" and isinstance(chat, dict) and type(chat.get("id")) is int:
            return int(chat["id"])
        return None
    return None


class InboxHandler(tornado.web.RequestHandler):
    """POST from Telegram: checks the secret token, stores the update, answers 200 at once."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, app: JagaApplication, secret: str) -> None:
        """Keep the Application (its bot and database) and the secret token."""
        self.app = app
        self.secret = secret

    def set_default_headers(self) -> None:
        """JSON, as python-telegram-bot's webhook answers."""
        self.set_header("Content-Type", 'application/json; charset="utf-8"')

    async def post(self) -> None:
        """Store the update (a retried one is stored once) and wake the workers."""
        if self.request.headers.get("Content-Type") != "application/json":
            raise tornado.web.HTTPError(403)
        token = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token") or ""
        if not token or not hmac.compare_digest(token.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(403, reason="Request had the wrong secret token")
        try:
            body = self.request.body.decode()
            data = json.loads(body)
            person = person_in(data)
            if person is None:
                person = person_of(Update.de_json(data, self.app.bot))
            update_id = int(data["update_id"])
        except Exception:
            log.warning("event=inbox_bad_request bytes=%d", len(self.request.body))
            raise tornado.web.HTTPError(400, reason="Update could not be processed") from None
        try:
            stored = await inbox.receive(self.app.bot_data.db, update_id, person, body)
        except Exception as exc:  # Telegram retries a delivery that is not answered 200
            log.error("event=inbox_receive_failed error=%s", type(exc).__name__)
            raise tornado.web.HTTPError(503) from None
        if not stored:
            log.info("event=inbox_duplicate update=%d", update_id)
        self.set_status(200)
        self.finish()

    def log_exception(self, *args: Any) -> None:
        """Refusals are logged above, once and without the request body."""


def inbox_server(
    app: JagaApplication, url_path: str, secret: str
) -> tornado.httpserver.HTTPServer:
    """The webhook server storing updates at `/url_path` (not yet listening)."""
    routes = tornado.web.Application(
        [(rf"/{url_path}/?", InboxHandler, {"app": app, "secret": secret})]
    )
    return tornado.httpserver.HTTPServer(routes, xheaders=True, max_body_size=MAX_BODY_BYTES)


class InboxWorker:
    """Claims inbox updates and hands them to the Application, one person's in order."""

    def __init__(
        self,
        app: JagaApplication,
        *,
        lease_seconds: float | None = None,
        poll_seconds: float = POLL_SECONDS,
        name: str | None = None,
    ):
        settings = app.bot_data.settings
        self.app = app
        self.name = name or worker_name()
        lease = settings.inbox_lease_seconds if lease_seconds is None else lease_seconds
        self.lease = max(lease, settings.handler_timeout_seconds + LEASE_MARGIN_SECONDS)
        self.poll = poll_seconds
        self.capacity = settings.max_concurrent_updates
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._stopping = False

    async def start(self) -> None:
        """LISTEN for new updates (PostgreSQL) and start claiming."""
        db = self.app.bot_data.db
        if db.engine == "postgresql":
            import asyncpg

            self._listener = await asyncpg.connect(db.target)
            await self._listener.add_listener(inbox.CHANNEL, self._notified)
        self._loop = asyncio.create_task(self._run(), name="inbox-worker")
        log.info("event=inbox_worker_start worker=%s lease=%s", self.name, self.lease)

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    def wake(self) -> None:
        """Look for updates now (tests; a notification does the same)."""
        self._wake.set()

    @property
    def busy(self) -> int:
        """Updates being handled by this process now."""
        return len(self._tasks)

    async def _run(self) -> None:
        db = self.app.bot_data.db
        loop = asyncio.get_running_loop()
        next_cleanup = loop.time()
        while not self._stopping:
            self._wake.clear()
            try:
                free = self.capacity - len(self._tasks)
                for item in await inbox.claim(db, self.name, self.lease, free):
                    task = asyncio.create_task(self._handle(item))
                    self._tasks.add(task)
                    task.add_done_callback(self._finished)
                if loop.time() >= next_cleanup:
                    next_cleanup = loop.time() + CLEANUP_SECONDS
                    if deleted := await inbox.delete_done(db, dt.timedelta(days=1)):
                        log.info("event=inbox_cleanup deleted=%d", deleted)
            except Exception:  # the database may be away for a moment: try again at the poll
                log.exception("event=inbox_claim_failed worker=%s", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # a slot is free, and this person's next update may be claimable

    async def _handle(self, item: inbox.Claimed) -> None:
        """Handle one claimed update, then mark it done (or give it back when stopping)."""
        db = self.app.bot_data.db
        try:
            if item.applied:
                log.info("event=inbox_skip_applied update=%d", item.update_id)
                await self._resume(item)
                await inbox.finish(db, item.update_id)
                return
            if item.taken_over:
                log.warning("event=inbox_takeover update=%d worker=%s", item.update_id, self.name)
            completed = await self._process(item)
            if completed or not self._stopping:
                # Cut off by the time bound: the person was asked to try again; it is over.
                await inbox.finish(db, item.update_id)
            else:
                await inbox.release(db, item.update_id, self.name)  # another process takes it
        except Exception:  # the lease lapses and another process finishes it
            log.exception("event=inbox_handle_failed update=%d", item.update_id)

    async def _resume(self, item: inbox.Claimed) -> None:
        """The update's answer is stored but its reply may be lost: `resume`."""
        try:
            update = Update.de_json(json.loads(item.body), self.app.bot)
        except Exception:  # stored by the receiver, so it parsed once
            log.exception("event=inbox_unreadable update=%d", item.update_id)
            return
        await resume(self.app, update)

    async def _process(self, item: inbox.Claimed) -> bool:
        """Run the update through the processor; whether its handlers ran to their end."""
        try:
            update = Update.de_json(json.loads(item.body), self.app.bot)
        except Exception:  # stored by the receiver, so it parsed once: never retried
            log.exception("event=inbox_unreadable update=%d", item.update_id)
            return True
        completed = False

        async def handle() -> None:
            nonlocal completed
            await self.app.process_update(update)
            completed = True

        # Every write transaction of this handling marks the update applied (storage/db.py).
        with handling(InboxRow("inbox", item.update_id)):
            await self.app.update_processor.process_update(update, handle())
        return completed

    async def stop(self) -> None:
        """Stop claiming; let the updates being handled end (bounded); close the listener."""
        self._stopping = True
        self._wake.set()
        processor = self.app.update_processor
        if isinstance(processor, OrderedUpdateProcessor):
            processor.begin_stop()  # from now on every running update ends within seconds
        if self._loop is not None:
            await self._loop
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.close(), 2)
            self._listener = None
        log.info("event=inbox_worker_stop worker=%s", self.name)


async def resume(app: JagaApplication, update: Update) -> None:
    """An update whose answer is stored but whose reply may be lost (its handler died after the
    commit): ask the person's current question again, or (outside a flow) say that the message
    arrived and may be sent again. Telegram's inbox and WhatsApp's use it."""
    if update.effective_user is None or update.effective_chat is None:
        return
    context = app.context_types.context.from_update(update, app)
    user = await users.get_or_create(app.bot_data.db, update.effective_user.id)
    flow = app.bot_data.flows.get(user.active_flow or "")
    if flow is not None and flow.resume is not None:
        await app.update_processor.process_update(update, flow.resume(update, context))
        return
    _ = translator(user.language or app.bot_data.settings.language).gettext
    await app.bot.send_message(
        update.effective_chat.id,
        _(
            "Maaf, balasan kami untuk pesan terakhir Anda mungkin tidak sampai. Pesan Anda "
            "sudah kami terima. Jika belum terjawab, silakan kirim sekali lagi."
        ),
    )


def run(
    app: JagaApplication, url: str, listen: str, port: int, url_path: str, secret: str
) -> None:
    """`jaga run --webhook` on PostgreSQL: serve the inbox and handle it until SIGTERM/SIGINT."""
    sockets = bind(listen, port)
    asyncio.run(_serve(app, url, sockets, url_path, secret))


def bind(listen: str, port: int) -> list[socket.socket]:
    """The webhook server's listening sockets, or a SettingsError the operator can act on."""
    try:
        return tornado.netutil.bind_sockets(port, address=listen)
    except OSError as exc:
        raise SettingsError(
            f"cannot serve the webhook on {listen}:{port} ({exc.strerror or exc}): "
            "set --listen/--port"
        ) from None


async def _serve(
    app: JagaApplication, url: str, sockets: list[socket.socket], url_path: str, secret: str
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = inbox_server(app, url_path, secret)
    worker: InboxWorker | None = None
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        worker = InboxWorker(app)
        await worker.start()
        await app.start()  # the job queue; updates come from the inbox, not the update queue
        server.add_sockets(sockets)
        # Any process may set the webhook: the same URL, secret and updates each time.
        await app.bot.set_webhook(url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        log.info("event=inbox_webhook_start path=/%s worker=%s", url_path, worker.name)
        await stop.wait()
        log.info("event=stopping")
    finally:
        # No new updates are received; the ones being handled end within seconds.
        server.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.close_all_connections(), 2)
        if worker is not None:
            await worker.stop()
        if app.running:
            await app.stop()
        try:
            await app.shutdown()
        finally:
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
