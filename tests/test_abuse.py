"""Abuse and bad input: groups, floods, odd text, forged buttons, edits, forwards, channels."""

from __future__ import annotations

import time
from typing import Any

from telegram import Update

from bot.untrusted import MAX_TEXT_LENGTH, clean_text, has_emoji
from handlers.privacy import FloodGuard
from storage import registrations
from tests.conftest import ADMIN_ID, Harness, HarnessFactory, make_settings
from tests.dbcheck import integrity_problems, table_names
from tests.factories import nik_for, submitted_registration

USER = 801
OTHER = 802
GROUP = -100555


def raw(h: Harness, **fields: Any) -> Update:
    """Any update, as Telegram would send it."""
    return h.updates._update(**fields)


def flood_guard(h: Harness) -> FloodGuard:
    """The Application's flood guard (group -10)."""
    (handler,) = h.app.handlers[-10]
    guard = handler.callback
    assert isinstance(guard, FloodGuard)
    return guard


# --- groups, channels, other bots ------------------------------------------------------------


async def test_start_in_a_group_gets_a_button_to_the_private_chat(harness: Harness) -> None:
    h = harness
    calls = await h.send(USER, "/start", chat_id=GROUP)
    (call,) = [c for c in calls if c.method == "sendMessage"]
    assert call.chat_id == GROUP
    assert "hanya melayani lewat chat pribadi" in call.text
    markup = call.params["reply_markup"]
    assert markup["inline_keyboard"][0][0]["url"] == "https://t.me/JagaPekerjaBot"
    calls = await h.send(USER, "/bantuan@JagaPekerjaBot", chat_id=GROUP)
    assert [c.method for c in calls] == ["sendMessage"]


async def test_everything_else_in_a_group_is_ignored(harness: Harness) -> None:
    h = harness
    for text in ("/daftar", "/data_saya", "/start@OtherBot", "NIK saya 1210011505800003", "halo"):
        assert await h.send(USER, text, chat_id=GROUP) == [], text
    assert await h.db.fetchval("SELECT count(*) FROM registrations") == 0


async def test_channel_posts_and_bots_are_ignored(harness: Harness) -> None:
    h = harness
    channel = {"id": -1001234, "type": "channel", "title": "Info Desa"}
    post = {"message_id": 1, "date": int(time.time()), "chat": channel, "text": "/start"}
    assert await h.update(raw(h, channel_post=post)) == []
    bot_sender = {"id": 555000, "is_bot": True, "first_name": "Robot"}
    message = h.updates._message(USER, text="/start")
    message["from"] = bot_sender
    message["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    assert await h.update(raw(h, message=message)) == []
    # An anonymous group admin speaks "as the group": ignored like the rest of the group.
    anon = h.updates._message(USER, chat_id=GROUP, text="/start")
    anon["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    anon["sender_chat"] = {"id": GROUP, "type": "supergroup", "title": "Grup"}
    assert await h.update(raw(h, message=anon)) == []


# --- forwarded, edited, oversized ------------------------------------------------------------


async def test_forwarded_messages_are_not_read(harness: Harness) -> None:
    h = harness
    nik = nik_for("12.10.19")
    message = h.updates._message(USER, text=f"NIK {nik}")
    message["forward_origin"] = {
        "type": "user",
        "date": int(time.time()),
        "sender_user": {"id": OTHER, "is_bot": False, "first_name": "Tetangga"},
    }
    calls = await h.update(raw(h, message=message))
    assert [c.method for c in calls] == ["sendMessage"]
    assert "Pesan terusan tidak saya baca" in calls[0].text
    assert nik not in calls[0].text


async def test_forwarded_message_inside_a_flow_is_not_an_answer(harness: Harness) -> None:
    h = harness
    await h.send(USER, "/data_saya")
    await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=USER, for_self=False, nik=nik_for("12.10.19")
    )
    await h.send(USER, "/data_saya")
    await h.tap(USER, "Data pekerja yang saya daftarkan")
    message = h.updates._message(USER, text=nik_for("12.10.19"))
    message["forward_origin"] = {"type": "hidden_user", "date": 1, "sender_user_name": "X"}
    await h.update(raw(h, message=message))
    step = await h.db.fetchval("SELECT step FROM privacy_sessions WHERE telegram_id = ?", (USER,))
    assert step == "nik"  # still waiting for a NIK typed by the cadre


async def test_edited_messages_are_answered_not_taken(harness: Harness) -> None:
    h = harness
    calls = await h.update(h.updates.edited(USER, "1210011505800003"))
    assert [c.method for c in calls] == ["sendMessage"]
    assert "Pesan yang diubah tidak saya baca" in calls[0].text


async def test_oversized_text_is_refused_without_reading(harness: Harness) -> None:
    h = harness
    calls = await h.send(USER, "a" * (MAX_TEXT_LENGTH + 1))
    assert [c.method for c in calls] == ["sendMessage"]
    assert (
        calls[0].text
        == f"Pesan Anda terlalu panjang. Mohon kirim paling banyak {MAX_TEXT_LENGTH} huruf."
    )
    calls = await h.send(USER, "/data_saya " + "x" * 4000)
    assert "terlalu panjang" in calls[0].text


# --- unusual text ----------------------------------------------------------------------------

ODD_TEXTS = [
    "\u202eoyduB",  # right-to-left override
    "Budi\u200b Santoso\u200d",  # zero-width space and joiner
    "\u200f\u200e\u2066\u2069",  # only direction marks
    "Budi 🐟🎣 Santoso",  # emoji in a name
    "１２１０ ０１１５ ０５８０ ０００３",  # fullwidth digits
    "Z̷̢a̶l̵g̷o̴",  # combining marks
    "\x00\x07\x1b[31m",  # control characters
    "'; DROP TABLE registrations; --",
    "1' OR '1'='1",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "%s %d {0} {name} \\N{BULLET}",
]


async def test_unusual_text_everywhere_gets_an_answer_and_breaks_nothing(
    harness: Harness,
) -> None:
    h = harness
    await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=USER)
    tables = await table_names(h.db)
    for text in ODD_TEXTS:
        for prefix in ("", "/data_saya ", "/start "):
            calls = await h.send(USER, prefix + text)
            assert any(c.method == "sendMessage" for c in calls), repr(prefix + text)
    # In the middle of the cadre proof and of a correction too.
    await h.send(USER, "/data_saya")
    await h.tap(USER, "Lihat data JP-1210-000001")
    await h.tap(USER, "Minta perbaikan JP-1210-000001")
    await h.send(USER, ODD_TEXTS[0] + ODD_TEXTS[7])
    assert "sudah diteruskan" in h.text(USER)
    assert await table_names(h.db) == tables
    assert await h.db.fetchval("SELECT count(*) FROM registrations") == 1
    assert await integrity_problems(h.db) == []


async def test_stored_names_with_direction_marks_are_shown_harmlessly(harness: Harness) -> None:
    h = harness
    await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=USER, name="Budi\u202e Santoso\u200b 🐟"
    )
    await h.send(USER, "/data_saya")
    await h.tap(USER, "Lihat data JP-1210-000001")
    text = h.text(USER)
    assert "\u202e" not in text and "\u200b" not in text
    assert "Budi Santoso 🐟" in text


def test_clean_text_removes_invisible_and_direction_characters() -> None:
    assert clean_text("Budi\u200b \u202eSantoso\u200f") == "Budi Santoso"
    assert clean_text("１２１０") == "1210"
    assert clean_text("a\tb\r\n c  ") == "a b\nc"
    assert clean_text("\x00\x1b") == ""
    assert has_emoji("Budi 🐟") and not has_emoji("Budi")


# --- forged and replayed buttons -------------------------------------------------------------


async def test_forged_review_and_admin_buttons_from_ordinary_users_do_nothing(
    harness: Harness,
) -> None:
    h = harness
    row = await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=OTHER)
    await h.send(USER, "/start")
    forged = [
        f"REV {row.id} OK",
        f"REV {row.id} NO",
        f"DATA DELOK {row.id}",
        f"DATA FIX {row.id}",
        "LANG xx",
        "MENU tinjau",
        "REG nik 1",
        "x" * 64,
        "'; DROP TABLE users; --",
    ]
    for data in forged:
        calls = await h.press(USER, data)
        texts = [c.text for c in h.api.sent(USER)]
        assert not any("Budi Santoso" in t for t in texts), data
        assert all(c.chat_id in (None, USER) for c in calls), data
    after = await registrations.get(h.db, row.id)
    assert after is not None and after.status == "diajukan"
    assert after.reviewed_by is None


async def test_replayed_language_button_is_idempotent(harness: Harness) -> None:
    h = harness
    await h.send(USER, "/bahasa")
    first = await h.press(USER, "LANG en")
    again = await h.press(USER, "LANG en")
    assert [c.method for c in first] == [c.method for c in again]
    assert await h.db.fetchval("SELECT language FROM users WHERE telegram_id = ?", (USER,)) == "en"


# --- flood limit -----------------------------------------------------------------------------


async def test_flooding_user_gets_one_polite_message_and_others_are_served(
    harness_factory: HarnessFactory, tmp_path: Any
) -> None:
    settings = make_settings(tmp_path, flood_burst=5, flood_rate=0.5)
    async with harness_factory(settings) as h:
        now = [1000.0]
        flood_guard(h).limiter.clock = lambda: now[0]
        answered = 0
        for _ in range(5):
            calls = await h.send(USER, "/bantuan")
            answered += sum(c.method == "sendMessage" for c in calls)
        assert answered == 5
        calls = await h.send(USER, "/bantuan")
        assert [c.text for c in calls] == [
            "Pesan Anda datang terlalu cepat. Mohon tunggu sebentar, lalu kirim lagi pesan "
            "terakhir Anda."
        ]
        for _ in range(20):  # the rest of the flood: silence
            assert await h.send(USER, "/bantuan") == []
        # Someone else is not affected.
        assert any(c.method == "sendMessage" for c in await h.send(OTHER, "/bantuan"))
        # After a pause long enough to refill half the bucket, the user is served again.
        now[0] += 10
        assert any(c.method == "sendMessage" for c in await h.send(USER, "/bantuan"))


async def test_flood_in_a_group_is_dropped_silently(
    harness_factory: HarnessFactory, tmp_path: Any
) -> None:
    settings = make_settings(tmp_path, flood_burst=2, flood_rate=0.001)
    async with harness_factory(settings) as h:
        flood_guard(h).limiter.clock = lambda: 5.0
        sent = []
        for _ in range(6):
            sent += await h.send(USER, "/start", chat_id=GROUP)
        assert len([c for c in sent if c.method == "sendMessage"]) == 2
        assert all(c.chat_id == GROUP for c in sent)


async def test_admin_is_limited_like_anyone(
    harness_factory: HarnessFactory, tmp_path: Any
) -> None:
    settings = make_settings(tmp_path, flood_burst=1, flood_rate=0.001)
    async with harness_factory(settings) as h:
        flood_guard(h).limiter.clock = lambda: 5.0
        await h.send(ADMIN_ID, "/bantuan")
        calls = await h.send(ADMIN_ID, "/bantuan")
        assert "terlalu cepat" in calls[0].text
