"""Random sequences of texts, commands, stickers and presses never break registration."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.fakeapi import RecordingBotApi
from bot.registration import StoredRegistration
from jaga.app import build_application, running
from tests import pg
from tests.conftest import Harness, make_settings
from tests.factories import nik_for

USERS = (701, 702)
TEXTS = [
    nik_for(), nik_for("12.05.01"), "1210 0115 0580 0003", "12100115058", "budi santoso",
    "Siti", "0812 3456 7890", "+62 813-1111-2222", "1,5 juta", "2jt", "panai", "sei berombang",
    "labuhanbatu", "'; DROP TABLE registrations; --", "", " ", "\u200f\u200b", "🙂" * 50,
    "a" * 5000, "tukang kayu", "ya", "Kirim", "1",
]  # fmt: skip
COMMANDS = ["/daftar", "/batal", "/start", "/bantuan", "/bahasa", "/entah"]

action = st.one_of(
    st.tuples(st.just("text"), st.sampled_from(TEXTS)),
    st.tuples(st.just("text"), st.text(max_size=40)),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("sticker"), st.just("")),
    st.tuples(st.just("contact"), st.sampled_from(["081234567890", "12345"])),
    st.tuples(st.just("press"), st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("forged"), st.sampled_from(
        ["REG summary send", "REG kab 31.71", "REG birth_d 31", "REG income b99", "REG x",
         "REGX go", "REG nik 1"]
    )),
)  # fmt: skip


@settings(
    max_examples=pg.examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(st.tuples(st.sampled_from(USERS), action), min_size=1, max_size=40))
async def test_random_sequences_never_raise_and_drafts_validate(
    steps: list[tuple[int, tuple[str, object]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        api = RecordingBotApi()
        app = build_application(make_settings(Path(tmp)), request=api)
        async with running(app):
            h = Harness(app, api)
            for uid, (kind, value) in steps:
                if kind in ("text", "command"):
                    calls = await h.send(uid, str(value))
                elif kind == "sticker":
                    calls = await h.update(h.updates.sticker(uid))
                elif kind == "contact":
                    calls = await h.update(h.updates.contact(uid, str(value)))
                elif kind == "press":
                    buttons = [b for c in api.sent(uid)[-3:] for b in c.buttons if b[1]]
                    if not buttons:
                        continue
                    calls = await h.press(uid, buttons[int(str(value)) % len(buttons)][1])
                else:
                    calls = await h.press(uid, str(value))
                failures = [c.text for c in calls if c.text.startswith("Maaf, terjadi gangguan")]
                assert not failures, f"a handler failed on {kind} {value!r}"
                assert all(len(c.text) <= 4096 for c in calls)
            rows = await h.db.fetchall("SELECT * FROM registrations")
            for row in rows:
                StoredRegistration.model_validate(dict(row))
        assert api.unexpected == []
