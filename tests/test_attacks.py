"""An attacker's pass over the running bot: what a careful attacker tried and must not get.

Each test reproduces one way in and fails on the code before its fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import tornado.httpserver

from bot import webhook
from bot.access import access_of
from bot.fakeapi import RecordingBotApi
from bot.membership import MAX_CODES_PER_WORKER
from bot.settings import Settings
from jaga.app import build_application
from storage import registrations, roles, users
from storage import review as review_store
from tests.conftest import Harness
from tests.factories import submitted_registration
from tests.test_cadres import DESA, REVIEWER, create_invite_link, make_reviewer, start_with
from tests.test_linking import C as LINK_CADRE
from tests.test_linking import notices, register_a_by_cadre, start_linking
from tests.test_operation import USER, free_port, start_update, started

CADRE = 8601
STRANGER = 8602
APOLOGY = "Maaf, terjadi gangguan"


async def _is_cadre(h: Harness, user: int) -> bool:
    return (await access_of(h.db, h.app.bot_data.settings, user)).is_cadre


# --- revoked roles stay revoked ----------------------------------------------------------------


async def test_a_revoked_cadre_cannot_rejoin_with_their_old_invite(harness: Harness) -> None:
    h = harness
    await make_reviewer(h)
    code = await create_invite_link(h, "5 orang")
    await h.update(start_with(h, CADRE, code, "Sari Lubis"))
    await h.tap(CADRE, "Ya, benar")
    assert await _is_cadre(h, CADRE)
    await roles.revoke(h.db, CADRE, "cadre", DESA)  # the official ends the role
    # The same button again, and the link again with a typed name: both refused.
    await h.press(CADRE, f"KDR OK {code}")
    await h.press(CADRE, f"KDR NM {code}")
    await h.send(CADRE, "Sari Lubis")
    await h.update(start_with(h, CADRE, code, "Sari Lubis"))
    await h.press(CADRE, f"KDR OK {code}")
    assert not await _is_cadre(h, CADRE)
    assert "sudah tidak berlaku" in h.text(CADRE)


async def test_a_revoked_cadre_cannot_rejoin_with_another_open_invite(harness: Harness) -> None:
    h = harness
    await make_reviewer(h)
    await roles.grant(h.db, CADRE, "cadre", DESA, "test")
    await roles.revoke(h.db, CADRE, "cadre", DESA)
    code = await create_invite_link(h, "5 orang")  # shared in the desa's group chat
    await h.update(start_with(h, CADRE, code, "Sari Lubis"))
    await h.press(CADRE, f"KDR OK {code}")
    assert not await _is_cadre(h, CADRE)
    # Someone else still joins with it.
    await h.update(start_with(h, STRANGER, code, "Budi Santoso"))
    await h.tap(STRANGER, "Ya, benar")
    assert await _is_cadre(h, STRANGER)


async def test_a_revoked_cadre_cannot_answer_a_fix_request_on_someone_they_registered(
    harness: Harness,
) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", DESA, "test")
    r = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=CADRE, for_self=False
    )
    await review_store.request_fix(h.db, r.id, REVIEWER, ["name"], "nama salah ketik")
    await roles.revoke(h.db, CADRE, "cadre", DESA)  # the official ends the role meanwhile
    await h.press(CADRE, f"FIX {r.id}")
    assert "tidak lagi terdaftar sebagai kader" in h.text(CADRE)
    after = await registrations.get(h.db, r.id)
    assert after is not None and after.step is None and not after.editing
    user = await users.get_or_create(h.db, CADRE)
    assert user.active_flow is None  # nothing they type now changes the worker's data


async def test_a_revoked_cadre_asking_in_free_text_hears_nothing_of_the_people_registered(
    harness: Harness,
) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", DESA, "test")
    r = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=CADRE, for_self=False, status="ditolak"
    )
    assert r.ref is not None
    await h.send(CADRE, "pendaftaran yg sy kirim udh diterima blm")
    assert r.ref in h.text(CADRE)  # still a cadre: the state of the last one sent
    await roles.revoke(h.db, CADRE, "cadre", DESA)
    await h.send(CADRE, "pendaftaran yg sy kirim udh diterima blm")
    text = h.text(CADRE)
    assert r.ref not in text and "tidak disetujui" not in text
    assert text.startswith("Setelah mendaftar\n\n")


async def test_a_revoked_cadre_is_not_told_the_decisions_on_the_people_they_registered(
    harness: Harness,
) -> None:
    h = harness
    await make_reviewer(h)
    await roles.grant(h.db, CADRE, "cadre", DESA, "test")
    worker = 8603
    r = await submitted_registration(
        h.db,
        h.app.bot_data.cipher,
        operator_id=CADRE,
        for_self=False,
        worker_telegram_id=worker,
        name="Ahmad Yani",
    )
    await roles.revoke(h.db, CADRE, "cadre", DESA)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Tolak")
    await h.tap(REVIEWER, "Usia di luar batas program")
    await h.tap(REVIEWER, "Tolak tanpa catatan")
    after = await registrations.get(h.db, r.id)
    assert after is not None and after.status == "ditolak"
    queued = await h.db.fetchall("SELECT chat_id FROM outbox ORDER BY id")
    assert [row["chat_id"] for row in queued] == [worker]  # the worker's own account still is
    assert not any("Ahmad" in call.text for call in h.api.sent(CADRE))


async def test_an_invite_stops_working_when_its_reviewer_loses_the_role(harness: Harness) -> None:
    h = harness
    await make_reviewer(h)
    code = await create_invite_link(h, "5 orang")
    await roles.revoke(h.db, REVIEWER, "reviewer")
    await h.update(start_with(h, STRANGER, code, "Budi Santoso"))
    assert "sudah tidak berlaku" in h.text(STRANGER)
    await h.press(STRANGER, f"KDR OK {code}")
    await h.press(STRANGER, f"KDR NM {code}")
    await h.send(STRANGER, "Budi Santoso")
    assert not await _is_cadre(h, STRANGER)


# --- command arguments are untrusted text like any other ---------------------------------------


@pytest.mark.parametrize("number", ["\ud800", "e\u0301" * 300, "\u200b\u200f", "x" * 41])
async def test_klaim_with_an_odd_number_is_refused_briefly(harness: Harness, number: str) -> None:
    h = harness
    for sent in (f"/klaim {number}", "/klaim"):
        calls = await h.send(STRANGER, sent)
    calls = await h.send(STRANGER, number)  # typed at the claim-number step, too
    calls += await h.send(STRANGER, f"/klaim {number}")
    texts = [c.text for c in calls]
    assert texts and all("Ketik nomor klaim saja" in t for t in texts), texts
    assert not any(APOLOGY in c.text for c in h.api.sent(STRANGER))


# --- the webhook port, reached without the secret ---------------------------------------------


@pytest.fixture
def restore_tornado() -> Iterator[None]:
    """`jaga run` sets tornado's server defaults for its process; put them back afterwards."""
    saved = tornado.httpserver.HTTPServer._save_configuration()
    yield
    tornado.httpserver.HTTPServer._restore_configuration(saved)


@pytest.mark.sqlite_only  # on PostgreSQL `jaga run --webhook` serves bot/inbox.py (its own bound)
async def test_webhook_refuses_a_huge_body_before_reading_it(
    settings: Settings, restore_tornado: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `jaga run --webhook` with the Application's own run_webhook replaced by the same server
    # started in this test's event loop.
    seen: dict[str, Any] = {}
    app = build_application(settings, request=RecordingBotApi())
    monkeypatch.setattr(app, "run_webhook", lambda **kw: seen.update(kw))
    hook = webhook.Webhook("https://example.org/hook", "127.0.0.1", free_port())
    webhook.run(app, settings, webhook=hook, health_listen="127.0.0.1", health_port=0)
    assert seen["secret_token"] == webhook.secret_token(settings)
    api = RecordingBotApi()
    async with started(settings, api) as running_app:
        assert running_app.updater is not None
        await running_app.updater.start_webhook(
            listen="127.0.0.1", port=hook.port, url_path="hook", secret_token=seen["secret_token"]
        )
        url = f"http://127.0.0.1:{hook.port}/hook"
        huge = b"{" + b" " * (webhook.MAX_BODY_BYTES + 10) + b"}"
        async with httpx.AsyncClient(timeout=10) as client:
            try:
                response = await client.post(
                    url, content=huge, headers={"Content-Type": "application/json"}
                )
                status: int | None = response.status_code
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                status = None  # the server closed the connection without reading the body
            assert status in (None, 400, 413)  # refused unread, not a 403 after reading it all
            small = json.dumps(start_update(1, USER, "/bantuan"))
            headers = {"Content-Type": "application/json"}
            right = {**headers, "X-Telegram-Bot-Api-Secret-Token": seen["secret_token"]}
            assert (await client.post(url, content=small, headers=headers)).status_code == 403
            assert (await client.post(url, content=small, headers=right)).status_code == 200


# --- throwaway accounts flooding a cadre with link-code requests --------------------------------


async def test_link_codes_for_one_worker_are_bounded_across_accounts(harness: Harness) -> None:
    h = harness
    nik, _row = await register_a_by_cadre(h)
    asked = 0
    for attacker in range(8700, 8706):  # six throwaway accounts, each within its own limits
        await start_linking(h, attacker, nik)
        await h.tap(attacker, "Minta kode ke kader")
        asked += "Kode Anda" in h.text(attacker)
    told = await notices(h)
    assert asked == MAX_CODES_PER_WORKER
    assert len(told[LINK_CADRE]) == MAX_CODES_PER_WORKER
    assert "nomor HP atau nomor KPJ" in h.text(8705)


# --- an admin of one kabupaten cannot widen their own reach -----------------------------------

KAB_ADMIN = 8801
OTHER_REVIEWER = 8802


async def test_a_kabupaten_admin_grants_and_revokes_only_inside_their_kabupaten(
    harness: Harness,
) -> None:
    h = harness
    await roles.grant(h.db, KAB_ADMIN, "admin", "12.10", "cli")
    await roles.grant(h.db, OTHER_REVIEWER, "reviewer", "12.12", "cli")
    for attempt in (
        f"/peran admin {KAB_ADMIN} 12",  # the whole province, to themselves
        f"/peran reviewer {KAB_ADMIN} 12.12",  # another kabupaten's submissions
        f"/peran admin {STRANGER} 12.12",
        f"/peran cabut reviewer {OTHER_REVIEWER} 12.12",  # another kabupaten's reviewer
        f"/peran cabut reviewer {OTHER_REVIEWER}",  # everywhere
    ):
        await h.send(KAB_ADMIN, attempt)
        assert "di luar wilayah tugas Anda" in h.text(KAB_ADMIN), attempt
    held = await h.db.fetchall(
        "SELECT telegram_id, role, region_code FROM roles WHERE revoked_at IS NULL ORDER BY id"
    )
    assert [tuple(r) for r in held] == [
        (KAB_ADMIN, "admin", "12.10"),
        (OTHER_REVIEWER, "reviewer", "12.12"),
    ]
    # Inside their kabupaten they still grant and revoke.
    await h.send(KAB_ADMIN, f"/peran reviewer {STRANGER} 12.10")
    assert (await access_of(h.db, h.app.bot_data.settings, STRANGER)).can_review("12.10.19")
    await h.send(KAB_ADMIN, f"/peran cabut reviewer {STRANGER} 12.10")
    assert not (await access_of(h.db, h.app.bot_data.settings, STRANGER)).is_reviewer
