"""The WhatsApp channel inside `jaga run`: its webhook server, its bridge, its life cycle.

Built with the Application when JAGA_WHATSAPP_TOKEN is set (jaga/app.py): the Bot's network
becomes a `ChannelRequest`, so replies, notices, reminders and broadcasts for WhatsApp people go
out through the bridge from the same flows, database and outbox. Started from post_init: the
webhook listens on JAGA_WHATSAPP_LISTEN:JAGA_WHATSAPP_PORT at /whatsapp; each message Meta
delivers is stored in the inbox before the 200 answer (a redelivery is dropped there), handled
as an update in the person's order, then marked done. A stored message is leased to the process
that received it; one whose lease lapsed (its process died) is taken by one process, at start
and by a sweep every half lease, so several processes may serve the webhook behind one URL.
Every write transaction of a handling marks the message applied (storage/db.py `handling_row`):
one taken over after its answer was committed is not handled again; the person is asked their
current question again (`event=whatsapp_skip_applied`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import socket
from typing import TYPE_CHECKING, Any

import aiohttp
import tornado.httpserver
import tornado.netutil
from telegram.request import BaseRequest

from bot.channels import whatsapp_person
from bot.i18n import translator
from bot.inbox import resume
from bot.settings import Settings, SettingsError
from handlers.whatsapp.bridge import ChannelRequest, WhatsAppBridge
from handlers.whatsapp.client import CloudApi
from handlers.whatsapp.webhook import (
    Dispatcher,
    Event,
    Incoming,
    StatusEvent,
    WebhookConfig,
    make_app,
    make_server,
)
from storage import outbox as outbox_store
from storage import whatsapp as store
from storage.db import handling

if TYPE_CHECKING:
    from bot.context import JagaApplication

log = logging.getLogger(__name__)

STOP_SECONDS = 4.0  # at a stop, messages being handled get this long to finish


class WhatsAppChannel:
    """The webhook, the Cloud API client and the bridge of one WhatsApp business number."""

    def __init__(self, settings: Settings) -> None:
        token, number, secret, verify = settings.whatsapp_secrets()
        self.settings = settings
        self._number, self._token = number, token
        self.http: aiohttp.ClientSession | None = None  # made on the running loop (start)
        self.bridge = WhatsAppBridge(
            template_reminder=settings.whatsapp_template_reminder,
            template_broadcast=settings.whatsapp_template_broadcast,
            template_language=settings.whatsapp_template_language,
            language=settings.language,
        )
        self.config = WebhookConfig(verify_token=verify, app_secret=secret, phone_number_id=number)
        self.dispatcher = Dispatcher(self._handle, keep=self._keep)
        self.app: JagaApplication | None = None
        self._sockets: list[socket.socket] = []
        self._server: tornado.httpserver.HTTPServer | None = None
        self._sweeper: asyncio.Task[None] | None = None

    def wrap(self, telegram: BaseRequest) -> ChannelRequest:
        """The Bot's network: WhatsApp people's calls to the bridge, the rest to `telegram`."""
        return ChannelRequest(telegram, self.bridge)

    def bind(self, listen: str, port: int) -> None:
        """Take the webhook's port now, so a taken one is a clear error before anything runs."""
        try:
            self._sockets = tornado.netutil.bind_sockets(port, listen or None)
        except OSError as exc:
            raise SettingsError(
                f"cannot serve the WhatsApp webhook on {listen}:{port} "
                f"({exc.strerror or exc}): set JAGA_WHATSAPP_LISTEN/JAGA_WHATSAPP_PORT"
            ) from None

    @property
    def port(self) -> int:
        """The port the webhook listens on (the one the system chose for port 0)."""
        return int(self._sockets[0].getsockname()[1]) if self._sockets else 0

    async def start(self, app: JagaApplication) -> None:
        """Serve the webhook and handle what a crash left unhandled (called from post_init)."""
        self.app = app
        db = app.bot_data.db
        # One keep-alive session to the Cloud API (aiohttp: a fraction of httpx's CPU a call).
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20, connect=5))
        url = self.settings.whatsapp_api_url
        self.bridge.attach(db, CloudApi(url, self._number, self._token, self.http))
        self.bridge.on_stop = self._tell_admins
        await self._take_over()
        self._sweeper = asyncio.create_task(self._sweep(), name="whatsapp-inbox-sweep")
        if self._sockets:
            self._server = make_server(make_app(self.config, self.dispatcher))
            self._server.add_sockets(self._sockets)
            log.info("event=whatsapp_listening port=%d path=/whatsapp", self.port)

    async def _take_over(self) -> None:
        """Handle the stored messages whose handler died (here before a restart, or in another
        process): each is taken by one process once its lease lapsed."""
        assert self.app is not None
        lease = self.settings.inbox_lease_seconds
        for _message_id, _person, event in await store.claim_stale(self.app.bot_data.db, lease):
            self.dispatcher.submit([Incoming(**json.loads(event))], taken_over=True)

    async def _sweep(self) -> None:
        """Look for abandoned messages every half lease, while the channel runs."""
        interval = max(self.settings.inbox_lease_seconds / 2, 0.1)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._take_over()
            except Exception:  # the database is briefly away: the next sweep tries again
                log.exception("event=whatsapp_sweep_failed")

    async def stop(self) -> None:
        """Stop taking deliveries; let those being handled finish (bounded)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        try:
            await asyncio.wait_for(self.dispatcher.join(), STOP_SECONDS)
        except TimeoutError:  # left in the inbox: handled at the next start
            log.warning("event=whatsapp_stop_unfinished")
        if self.http is not None:
            await self.http.close()
            self.http = None

    async def _keep(self, events: list[Event]) -> list[Event]:
        """Store each message in the inbox; only the ones not seen before go on."""
        if self.app is None:
            return []
        db = self.app.bot_data.db
        new: list[Event] = []
        for event in events:
            if isinstance(event, Incoming):
                try:
                    person = whatsapp_person(event.wa_id)
                except ValueError:  # not a phone number WhatsApp would give (E.164)
                    log.warning("event=whatsapp_sender_refused reason=not_e164")
                    continue
                body = json.dumps(dataclasses.asdict(event))
                lease = self.settings.inbox_lease_seconds
                if not await store.receive(db, event.message_id, person, body, lease):
                    continue
            new.append(event)
        return new

    async def _handle(self, event: Event) -> None:
        """One event: a delivery report recorded, or a message handled as an update."""
        app = self.app
        assert app is not None
        if isinstance(event, StatusEvent):
            await self.bridge.delivery(event)
            return
        db = app.bot_data.db
        state = await store.stored(db, event.message_id)
        if state is not None and state.done:  # handled meanwhile (a lease that lapsed)
            return
        try:
            update = await self.bridge.update_for(event, app.bot)
            if update is not None:
                try:
                    if state is not None and state.applied:
                        # Its answer is committed, its reply may be lost: the question again.
                        log.info("event=whatsapp_skip_applied seq=%d", state.seq)
                        await resume(app, update)
                    else:
                        # Every write transaction of the handling marks the message applied.
                        with handling(state.row) if state else contextlib.nullcontext():
                            await app.update_processor.process_update(
                                update, app.process_update(update)
                            )
                finally:
                    await self.bridge.end_turn(whatsapp_person(event.wa_id))
        finally:
            await store.done(db, event.message_id)

    async def _tell_admins(self, reason: str) -> None:
        """Tell the admins on Telegram that WhatsApp stopped and what to do."""
        app = self.app
        if app is None or not self.settings.admins:
            return
        tr = translator(self.settings.language)
        text = tr.gettext(
            "WhatsApp berhenti mengirim: token akses sudah tidak berlaku. Buat token baru di "
            "dasbor Meta, isi JAGA_WHATSAPP_TOKEN, lalu jalankan ulang bot. Telegram tetap "
            "berjalan."
        )
        async with app.bot_data.db.write() as conn:
            ids = [
                await outbox_store.enqueue(conn, "notice", admin, text)
                for admin in sorted(self.settings.admins)
            ]
        log.info("event=whatsapp_stop_told admins=%d reason=%s", len(ids), reason)
        sender = app.bot_data.outbox
        if sender is not None:
            await sender.deliver_now(ids)


def channel_of_app(app: Any) -> WhatsAppChannel | None:
    """The WhatsApp channel an Application was built with, if any."""
    channel = getattr(app.bot_data, "whatsapp", None)
    return channel if isinstance(channel, WhatsAppChannel) else None
