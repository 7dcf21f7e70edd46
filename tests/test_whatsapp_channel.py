"""The WhatsApp channel in the running bot: the webhook's checks, the 24-hour rule, the Cloud
API's errors, delivery reports, and a kill -9 in the middle of a registration."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels import whatsapp_person
from bot.settings import Settings
from handlers.whatsapp.standin import (
    CloudApiStandIn,
    delivery,
    image_message,
    post_signed,
    status,
    text_message,
)
from handlers.whatsapp.webhook import Incoming
from storage import outbox
from storage import whatsapp as store
from tests.conftest import ADMIN_ID, make_settings
from tests.factories import nik_for
from tests.whatsapp_driver import (
    APP_SECRET,
    NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    WA_ID,
    WhatsAppDriver,
    body_of,
    driving_whatsapp,
    walk_to_address,
)

pytestmark = pytest.mark.sqlite_only  # the channel is under test; storage runs on both engines

ROOT = Path(__file__).resolve().parent.parent
REMINDER = "Perlindungan Anda berakhir 7 hari lagi.\nBayar iuran agar tetap terlindungi."


@pytest.fixture
async def person(settings: Settings) -> AsyncIterator[WhatsAppDriver]:
    """A WhatsApp person and the running bot."""
    async with driving_whatsapp(settings) as driver:
        yield driver


async def queue(driver: WhatsAppDriver, chat_id: int, kind: str = "reminder") -> int:
    """One outbox row for `chat_id`; its id."""
    async with driver.app.bot_data.db.write() as conn:
        return await outbox.enqueue(conn, kind, chat_id, REMINDER)


async def row(driver: WhatsAppDriver, row_id: int) -> dict[str, Any]:
    """An outbox row as stored."""
    found = await driver.app.bot_data.db.fetchone("SELECT * FROM outbox WHERE id = ?", (row_id,))
    assert found is not None
    return dict(found)


async def test_a_wrong_or_missing_signature_is_refused_and_nothing_is_handled(
    person: WhatsAppDriver,
) -> None:
    body = delivery([text_message(WA_ID, "halo")])
    assert (await post_signed(person.http, person.url, body, "not-the-secret")).status_code == 401
    assert (await post_signed(person.http, person.url, body, None)).status_code == 401
    await person.whatsapp.dispatcher.join()
    assert person.sent() == []
    assert await person.app.bot_data.db.fetchval("SELECT COUNT(*) FROM whatsapp_inbox") == 0
    assert (await post_signed(person.http, person.url, body, APP_SECRET)).status_code == 200


async def test_meta_verification_echoes_the_challenge_only_for_the_verify_token(
    person: WhatsAppDriver,
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8842"}
    answer = await person.http.get(person.url, params=query)
    assert (answer.status_code, answer.text) == (200, "8842")
    wrong = await person.http.get(person.url, params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403


async def test_a_redelivered_message_is_handled_once(person: WhatsAppDriver) -> None:
    message = text_message(WA_ID, "/daftar", message_id="wamid.redelivered.1")
    await person.deliver(message)
    await person.deliver(message)  # Meta retries what it thinks was not answered
    assert len(person.sent()) == 1
    assert "setuju" in person.last_text().lower()


async def test_a_message_stored_but_not_handled_before_a_crash_is_handled_at_start(
    tmp_path: Path,
) -> None:
    # The answer to Meta went out, then the process died: the inbox still holds the message,
    # leased to the dead process; once the lease lapsed the next start takes it.
    settings = make_settings(tmp_path, inbox_lease_seconds=1.0)
    async with driving_whatsapp(settings) as first:
        db = first.app.bot_data.db
        incoming = Incoming(WA_ID, "Budi", "wamid.crash.1", "text", text="/daftar")
        event = json.dumps(dataclasses.asdict(incoming))
        assert await store.receive(db, "wamid.crash.1", whatsapp_person(WA_ID), event, 1.0)
    await asyncio.sleep(1.1)
    async with driving_whatsapp(settings) as second:
        await second.whatsapp.dispatcher.join()
        assert "setuju" in second.last_text().lower()
        assert await store.pending(second.app.bot_data.db) == []


async def test_a_reminder_outside_the_24_hours_goes_as_the_template(
    person: WhatsAppDriver,
) -> None:
    silent = whatsapp_person("6281200000077")  # never wrote to the bot
    await queue(person, silent)
    await queue(person, silent, kind="broadcast")
    await person.deliver_outbox()
    reminder, broadcast = [p for p in person.standin.sent if p["to"] == "6281200000077"]
    assert reminder["type"] == broadcast["type"] == "template"
    assert reminder["template"]["name"] == "jaga_pengingat"
    assert broadcast["template"]["name"] == "jaga_siaran"
    assert reminder["template"]["language"] == {"code": "id"}
    # The text is the body parameter, on one line as templates require.
    assert body_of(reminder) == " ".join(REMINDER.split())


async def test_a_reminder_inside_the_24_hours_is_a_plain_message(person: WhatsAppDriver) -> None:
    await person.say("halo")
    row_id = await queue(person, person.person)
    await person.deliver_outbox()
    assert person.sent()[-1]["type"] == "text"
    assert person.last_text() == REMINDER
    assert (await row(person, row_id))["status"] == "sent"


async def test_131047_sends_the_same_text_as_the_template(person: WhatsAppDriver) -> None:
    await person.say("halo")
    person.standin.fail(WA_ID, 131047, kinds=frozenset({"text", "interactive"}))
    row_id = await queue(person, person.person)
    await person.deliver_outbox()
    assert person.sent()[-1]["type"] == "template"
    assert body_of(person.sent()[-1]) == " ".join(REMINDER.split())
    assert (await row(person, row_id))["status"] == "sent"


async def test_a_rate_limit_backs_off_and_keeps_the_message_queued(
    person: WhatsAppDriver,
) -> None:
    await person.say("halo")
    person.standin.fail(WA_ID, 130429, retry_after=30)
    row_id = await queue(person, person.person)
    admin_row = await queue(person, ADMIN_ID)  # Telegram is not held up by WhatsApp's limit
    sender = person.app.bot_data.outbox
    assert sender is not None
    await sender.deliver_now([row_id, admin_row])
    stored = await row(person, row_id)
    assert (stored["status"], stored["attempts"]) == ("pending", 0)
    assert sender.whatsapp_bucket.paused and not sender.bucket.paused
    assert (await row(person, admin_row))["status"] == "sent"


async def test_an_undeliverable_number_is_marked_blocked(person: WhatsAppDriver) -> None:
    silent = "6281200000078"
    person.standin.fail(silent, 131026)
    row_id = await queue(person, whatsapp_person(silent))
    await person.deliver_outbox()
    assert (await row(person, row_id))["status"] == "blocked"
    blocked = await person.app.bot_data.db.fetchval(
        "SELECT blocked_at FROM users WHERE telegram_id = ?", (whatsapp_person(silent),)
    )
    assert blocked is not None


async def test_an_expired_token_stops_whatsapp_tells_the_admins_and_telegram_goes_on(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.whatsapp_driver import running_whatsapp

    async with running_whatsapp(settings) as (app, whatsapp, standin, telegram):
        standin.state.token = "renewed-elsewhere"  # the bot's token no longer works: 190
        async with app.bot_data.db.write() as conn:
            wa_row = await outbox.enqueue(conn, "reminder", whatsapp_person(WA_ID), REMINDER)
            tg_row = await outbox.enqueue(conn, "reminder", ADMIN_ID + 1, REMINDER)
        sender = app.bot_data.outbox
        assert sender is not None
        await sender.deliver_now([wa_row, tg_row])
        db = app.bot_data.db
        wa = await db.fetchone("SELECT status, attempts FROM outbox WHERE id = ?", (wa_row,))
        assert wa is not None and (wa["status"], wa["attempts"]) == ("pending", 0)
        tg = await db.fetchval("SELECT status FROM outbox WHERE id = ?", (tg_row,))
        assert tg == "sent"
        assert whatsapp.bridge.stopped
        told = [c.text for c in telegram.sent(ADMIN_ID)]
        assert any("WhatsApp" in text and "token" in text for text in told), told
        assert "event=whatsapp_stopped reason=token_expired" in caplog.text


async def test_delivery_reports_update_the_outbox_row_and_a_closed_window_is_retried(
    person: WhatsAppDriver,
) -> None:
    await person.say("halo")
    row_id = await queue(person, person.person)
    await person.deliver_outbox()
    db = person.app.bot_data.db
    sent_id = (await row(person, row_id))["sent_message_id"]
    wamid = await db.fetchval(
        "SELECT wamid FROM whatsapp_messages WHERE message_id = ?", (sent_id,)
    )
    assert wamid
    body = delivery(statuses=[status(wamid, "delivered", WA_ID)])
    assert (await post_signed(person.http, person.url, body, APP_SECRET)).status_code == 200
    await person.whatsapp.dispatcher.join()
    assert (await row(person, row_id))["delivery"] == "delivered"
    # WhatsApp accepted it, then reports it undelivered: the window had closed after all.
    failed = delivery(statuses=[status(wamid, "failed", WA_ID, error_code=131047)])
    await post_signed(person.http, person.url, failed, APP_SECRET)
    await person.whatsapp.dispatcher.join()
    assert (await row(person, row_id))["status"] == "pending"
    await person.deliver_outbox()
    assert person.sent()[-1]["type"] == "template"


async def test_long_lists_page_within_whatsapps_limits(person: WhatsAppDriver) -> None:
    await walk_to_address(person, nik_for("12.10.19"))
    await person.say("labuhanbatu")
    await person.press("Panai Hilir")  # on the second page of Labuhanbatu's kecamatan
    await person.press("Wonosari")  # on the second page of Panai Hilir's desa
    assert "pekerjaan" in person.last_text().lower()
    for payload in person.sent():
        interactive = payload.get("interactive") or {}
        if interactive.get("type") == "list":
            rows = [r for s in interactive["action"]["sections"] for r in s["rows"]]
            assert len(rows) <= 10
            assert all(len(r["title"]) <= 24 for r in rows)
        if interactive.get("type") == "button":
            assert len(interactive["action"]["buttons"]) <= 3


# --- a real process, killed in the middle -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_bot(tmp_path: Path, api_url: str, port: int) -> asyncio.subprocess.Process:
    """`python -m jaga run` with only WhatsApp configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAGA_")}
    env.update(
        JAGA_DB=str(tmp_path / "jaga.sqlite3"),
        JAGA_SECRET_KEY="whatsapp-test-secret-key-of-enough-length-0123",
        JAGA_WHATSAPP_TOKEN=TOKEN,
        JAGA_WHATSAPP_PHONE_NUMBER_ID=NUMBER_ID,
        JAGA_WHATSAPP_APP_SECRET=APP_SECRET,
        JAGA_WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        JAGA_WHATSAPP_API_URL=api_url,
        JAGA_WHATSAPP_LISTEN="127.0.0.1",
        JAGA_WHATSAPP_PORT=str(port),
        JAGA_HEALTH_PORT="0",
        PYTHONPATH=str(ROOT),
    )
    with (tmp_path / "bot.log").open("ab") as log:  # the child keeps its own copy
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jaga", "run", env=env, cwd=tmp_path, stdout=log, stderr=log
        )


async def until_answered(standin: CloudApiStandIn, count: int, tmp_path: Path) -> None:
    deadline = time.monotonic() + 30
    while len(standin.sent) < count:
        if time.monotonic() > deadline:
            log = (tmp_path / "bot.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"no answer from the bot:\n{log}")
        await asyncio.sleep(0.05)


async def test_kill_9_in_the_middle_of_a_registration_loses_no_answer(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/whatsapp"
    nik = nik_for("12.10.19")
    async with CloudApiStandIn(token=TOKEN, phone_number_id=NUMBER_ID) as standin:
        bot = await start_bot(tmp_path, standin.base_url, port)
        try:
            async with httpx.AsyncClient() as http:

                async def say(text: str) -> None:
                    count = len(standin.sent)
                    deadline = time.monotonic() + 30
                    while True:  # the webhook is up once the bot has started
                        try:
                            body = delivery([text_message(WA_ID, text)])
                            answer = await post_signed(http, url, body, APP_SECRET)
                            break
                        except httpx.TransportError:
                            if time.monotonic() > deadline:
                                raise
                            await asyncio.sleep(0.1)
                    assert answer.status_code == 200
                    await until_answered(standin, count + 1, tmp_path)

                for text in ("/daftar", "setuju", "sendiri", nik, "budi santoso"):
                    await say(text)
                assert "benar" in body_of(standin.sent[-1]).lower()
                bot.send_signal(signal.SIGKILL)  # no goodbye: the process is gone
                await bot.wait()
                bot = await start_bot(tmp_path, standin.base_url, port)
                await say("benar")  # pressing would do the same; typed, it is read as the press
                assert "ibu kandung" in body_of(standin.sent[-1]).lower()
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(bot.wait(), 15)
                except TimeoutError:
                    bot.kill()
                    await bot.wait()
    assert bot.returncode == 0, (tmp_path / "bot.log").read_text(errors="replace")[-3000:]


async def test_a_ktp_photo_sent_on_whatsapp_is_read_and_shown_for_confirming(
    person: WhatsAppDriver,
) -> None:
    from handlers.registration import photo
    from tests import ktp_cards

    card, content = ktp_cards.clean_card(1)
    person.standin.add_media("ktp.media.1", content)
    await person.say("/daftar")
    await person.say("setuju")
    await person.press("Diri saya")
    assert "NIK" in person.last_text()
    await person.deliver(image_message(WA_ID, "ktp.media.1"))
    await photo.settled()
    summary = person.last_text()
    assert card.name.casefold() in summary.casefold(), summary
    assert "Benar" in person.labels()
    # Read once and forgotten: the bridge keeps no copy of the photo.
    assert person.whatsapp.bridge._media == {}


async def test_data_saya_on_whatsapp_names_the_whatsapp_number_not_an_internal_id(
    person: WhatsAppDriver,
) -> None:
    await person.say("/data_saya")
    text = person.last_text()
    assert "WhatsApp +62812" in text and WA_ID not in text  # the number, masked
    assert "Telegram" not in text and str(person.person) not in text


async def test_the_phone_question_is_skipped_the_whatsapp_number_shown_and_changeable(
    person: WhatsAppDriver, settings: Settings
) -> None:
    from bot.crypto import FieldCipher
    from storage import registrations

    await person.say("/daftar")
    await person.say("setuju")
    await person.press("Diri saya")
    await person.say(nik_for("12.10.19"))
    await person.say("budi santoso")
    await person.press("Benar")
    await person.say("siti aminah")
    # No phone question: the number WhatsApp gives is taken and shown with the next question.
    assert f"+{WA_ID} (nomor WhatsApp Anda)" in person.last_text()
    assert "kabupaten" in person.last_text().lower()
    row = await registrations.active_of(person.app.bot_data.db, person.person)
    assert row is not None and row.phone_enc is not None
    assert FieldCipher(settings.key).decrypt(row.phone_enc) == f"+{WA_ID}"
    for answer in ("labuhanbatu", "Panai Hilir", "Sei Berombang", "nelayan"):
        await (person.say(answer) if answer.islower() else person.press(answer))
    await person.press("Sampai Rp1.099")
    await person.press("JKK + JKM:")
    await person.press("Program")
    await person.press("Lewati")
    await person.press("Ubah no. HP")  # a change from the summary is asked, as on Telegram
    assert "nomor HP" in person.last_text()
    await person.say("0813 1111 2222")
    assert "+6281311112222" in person.last_text()  # back at the summary, with the new number


async def test_a_sender_id_that_is_not_a_phone_number_is_dropped_not_an_error(
    person: WhatsAppDriver,
) -> None:
    strange = [text_message("0" + "1" * 9, "halo"), text_message("9" * 20, "halo")]
    answer = await post_signed(person.http, person.url, delivery(strange), APP_SECRET)
    assert answer.status_code == 200  # an error would make Meta send it again and again
    await person.whatsapp.dispatcher.join()
    assert person.standin.sent == []
    await person.say("halo")  # the webhook goes on serving
    assert person.sent()
