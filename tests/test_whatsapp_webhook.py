"""The WhatsApp webhook: verification, signatures, parsing, deduplication and per-person order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import tornado.netutil

from handlers.whatsapp import standin
from handlers.whatsapp.webhook import (
    MAX_BODY,
    Dispatcher,
    Event,
    Incoming,
    StatusEvent,
    WebhookConfig,
    make_app,
    make_server,
    parse_delivery,
    signature,
)

SECRET = "app-secret-for-tests"
VERIFY = "verify-token-for-tests"
PHONE_ID = "100200300"
ANI = "6281234567890"
BUDI = "6285298765432"


@dataclass
class Webhook:
    url: str
    http: httpx.AsyncClient
    dispatcher: Dispatcher
    events: list[Event] = field(default_factory=list)

    async def post(self, body: standin.Payload | bytes, **kwargs: str) -> httpx.Response:
        response = await standin.post_signed(self.http, self.url, body, SECRET, **kwargs)
        await self.dispatcher.join()
        return response


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    events: list[Event] = []

    async def record(event: Event) -> None:
        events.append(event)

    dispatcher = Dispatcher(record)
    config = WebhookConfig(verify_token=VERIFY, app_secret=SECRET, phone_number_id=PHONE_ID)
    server = make_server(make_app(config, dispatcher))
    sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
    server.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/whatsapp"
    async with httpx.AsyncClient(timeout=5) as http:
        yield Webhook(url, http, dispatcher, events)
    server.stop()
    await server.close_all_connections()


async def test_verification_echoes_the_challenge(webhook: Webhook) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    response = await webhook.http.get(webhook.url, params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "<script>"},
        {},
    ],
)
async def test_verification_refused(webhook: Webhook, params: dict[str, str]) -> None:
    response = await webhook.http.get(webhook.url, params=params)
    assert response.status_code == 403
    assert "1" not in response.text and "script" not in response.text


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "sha256=", "signed"],
)
async def test_bad_signature_is_refused_and_nothing_handed_over(
    webhook: Webhook, header: str | None
) -> None:
    body = standin.delivery([standin.text_message(ANI, "halo")])
    if header is None:
        response = await standin.post_signed(webhook.http, webhook.url, body, None)
    else:
        response = await standin.post_signed(
            webhook.http, webhook.url, body, SECRET, signature_header=header
        )
    await webhook.dispatcher.join()
    assert response.status_code == 401
    assert webhook.events == []


async def test_signature_of_another_body_is_refused(webhook: Webhook) -> None:
    signed = standin.delivery([standin.text_message(ANI, "halo")])
    sent = standin.delivery([standin.text_message(ANI, "halo!")])
    header = signature(SECRET, json.dumps(signed).encode())
    response = await webhook.post(sent, signature_header=header)
    assert response.status_code == 401
    assert webhook.events == []


async def test_signature_with_another_secret_is_refused(webhook: Webhook) -> None:
    body = standin.delivery([standin.text_message(ANI, "halo")])
    response = await standin.post_signed(webhook.http, webhook.url, body, "another-secret")
    await webhook.dispatcher.join()
    assert response.status_code == 401
    assert webhook.events == []


async def test_too_large_a_body_is_refused(webhook: Webhook) -> None:
    body = standin.delivery([standin.text_message(ANI, "halo")])
    body["padding"] = " " * MAX_BODY
    try:
        response = await webhook.post(json.dumps(body).encode())
    except httpx.TransportError:
        pass  # tornado may close the connection while the body is still being sent
    else:
        assert response.status_code == 400  # refused before the body is read
    assert webhook.events == []


async def test_text_message(webhook: Webhook) -> None:
    message = standin.text_message(ANI, "Saya mau daftar", message_id="wamid.A1")
    response = await webhook.post(standin.delivery([message], names={ANI: "Ani"}))
    assert response.status_code == 200
    assert webhook.events == [
        Incoming(
            wa_id=ANI,
            name="Ani",
            message_id="wamid.A1",
            kind="text",
            text="Saya mau daftar",
            timestamp=1780000000,
        )
    ]


async def test_every_kind_of_message(webhook: Webhook) -> None:
    messages = [
        standin.button_reply(ANI, "jkk_jkm", "JKK + JKM"),
        standin.list_reply(ANI, "desa:12.10.01.1001", "Padang Matinggi"),
        standin.button_reply(ANI, "Not A Valid Id", "Ya"),
        standin.image_message(ANI, "1234567890", caption="KTP saya"),
        standin.contact_message(ANI, "+62 812-3456-7890", name="Ani"),
        standin.location_message(ANI, 2.1, 99.8),
        {"from": ANI, "id": "wamid.S1", "type": "sticker", "sticker": {"id": "5"}},
    ]
    await webhook.post(standin.delivery(messages))
    got = [(e.kind, e.choice_id, e.text, e.media_id, e.phone) for e in webhook.events]  # type: ignore[union-attr]
    assert got == [
        ("choice", "jkk_jkm", "JKK + JKM", None, None),
        ("choice", "desa:12.10.01.1001", "Padang Matinggi", None, None),
        ("text", None, "Ya", None, None),  # a forged id: the title, as if typed
        ("photo", None, "KTP saya", "1234567890", None),
        ("contact", None, "Ani", None, "+6281234567890"),
        ("location", None, None, None, None),
        ("other", None, None, None, None),
    ]
    location = webhook.events[5]
    assert isinstance(location, Incoming)
    assert (location.latitude, location.longitude) == (2.1, 99.8)


def test_parsing_skips_what_is_not_a_message() -> None:
    good = standin.text_message(ANI, "halo")
    assert parse_delivery(None) == []
    assert parse_delivery({"object": "page", "entry": []}) == []
    assert parse_delivery(standin.delivery([good]), phone_number_id="999") == []
    bad_sender = {**good, "from": "+62 812"}
    no_id = {k: v for k, v in good.items() if k != "id"}
    body = standin.delivery([bad_sender, no_id, good])
    body["entry"][0]["changes"][0]["value"]["messages"].append("junk")
    events = parse_delivery(body)
    assert [e.message_id for e in events] == [good["id"]]


async def test_statuses(webhook: Webhook) -> None:
    statuses = [
        standin.status("wamid.OUT1", "delivered", ANI),
        standin.status("wamid.OUT2", "failed", BUDI, error_code=131047),
    ]
    await webhook.post(standin.delivery(statuses=statuses))
    assert webhook.events == [
        StatusEvent("wamid.OUT1", "delivered", ANI, None),
        StatusEvent("wamid.OUT2", "failed", BUDI, 131047),
    ]


async def test_a_redelivered_message_is_handed_over_once(webhook: Webhook) -> None:
    body = standin.delivery([standin.text_message(ANI, "halo", message_id="wamid.D1")])
    for _ in range(3):
        assert (await webhook.post(body)).status_code == 200
    both = standin.delivery(
        [
            standin.text_message(ANI, "halo", message_id="wamid.D1"),
            standin.text_message(ANI, "lagi", message_id="wamid.D2"),
        ]
    )
    await webhook.post(both)
    report = standin.delivery(statuses=[standin.status("wamid.OUT", "read", ANI)])
    await webhook.post(report)
    await webhook.post(report)
    assert [e.message_id for e in webhook.events] == ["wamid.D1", "wamid.D2", "wamid.OUT"]


async def test_one_persons_events_in_arrival_order_others_in_parallel() -> None:
    handled: list[str] = []
    ani_started = asyncio.Event()
    release_ani = asyncio.Event()

    async def slow_for_ani(event: Event) -> None:
        assert isinstance(event, Incoming)
        if event.text == "1":
            ani_started.set()
            await release_ani.wait()  # Ani's first message takes long
        handled.append(f"{event.wa_id[-1]}:{event.text}")

    dispatcher = Dispatcher(slow_for_ani)
    dispatcher.submit([Incoming(ANI, None, "m1", "text", "1")])
    await ani_started.wait()
    dispatcher.submit(
        [Incoming(ANI, None, "m2", "text", "2"), Incoming(BUDI, None, "m3", "text", "x")]
    )
    dispatcher.submit([Incoming(ANI, None, "m4", "text", "3")])
    for _ in range(10):
        await asyncio.sleep(0)
    assert handled == ["2:x"]  # Budi does not wait for Ani; Ani's later messages do
    release_ani.set()
    await dispatcher.join()
    assert handled == ["2:x", "0:1", "0:2", "0:3"]


async def test_a_failing_event_does_not_stop_the_person_queue() -> None:
    handled: list[str] = []

    async def fail_first(event: Event) -> None:
        assert isinstance(event, Incoming)
        if event.message_id == "m1":
            raise RuntimeError("boom")
        handled.append(event.message_id)

    dispatcher = Dispatcher(fail_first)
    dispatcher.submit(
        [Incoming(ANI, None, "m1", "text", "1"), Incoming(ANI, None, "m2", "text", "2")]
    )
    await dispatcher.join()
    assert handled == ["m2"]


async def test_dedupe_record_is_bounded() -> None:
    handled: list[str] = []

    async def record(event: Event) -> None:
        handled.append(event.message_id)

    dispatcher = Dispatcher(record, seen_capacity=2)
    events = [Incoming(ANI, None, f"m{i}", "text", "x") for i in range(3)]
    assert dispatcher.submit(events) == 3
    assert dispatcher.submit(events[1:]) == 0  # still remembered
    assert dispatcher.submit(events[:1]) == 1  # the oldest was forgotten
    await dispatcher.join()
    assert handled == ["m0", "m1", "m2", "m0"]
