"""One grammar for callback data: every button the bot makes parses; forged presses stop early."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import callbacks
from bot.callbacks import GRAMMAR, MAX_ID, number, parse
from storage import roles
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

USER = 821
REVIEWER = 822
STALE = "Tombol ini sudah tidak berlaku."
APOLOGY = "Maaf, terjadi gangguan"

FORGED = [
    f"FIX {2**63}",  # one past SQLite's INTEGER range: OverflowError
    f"FIX {10**40}",
    "FIX ²",  # passes str.isdigit(), fails int()
    "FIX ٣",  # Arabic-Indic three: int() accepts it
    "FIX 0",
    "FIX -1",
    "FIX 1 2",
    "FIX ",
    "FIX",
    f"QNA {2**64}",
    "QNA ²",
    f"DATA DEL {2**63}",
    "DATA DELOK ²",
    f"REV {2**63} OK",
    "REV ² OK",
    "REV 1 ZZ",
    f"REVQ C {2**63} D",
    f"KDR X {2**63}",
    "KDR X ²",
    f"SIA C {2**63}",
    f"SIA H 1 20260101 {2**70}",
    f"ASK FWD {2**63}",
    f"IUR I {10**30}",
    "IUR C ² T",
    "REG nik 1210191505800001",  # a step that takes no button: KeyError
    "REG bogus x",
    "REG birth_m ²",
    "REG birth_y d²",
    "REG period 99999999999999999999999",
    "REG",
    "REGX maybe",
    "MENU " + "x" * 59,
    "LANG ../../etc",
    "EXP pdf",
    "STS " + "\u00a0" * 20,
    "KDR " + "x" * 60,  # 64 bytes of junk after a known prefix
    "DATA  FIX 1",  # a double space
    "",  # empty
    "x" * 64,  # junk with no known prefix: the stale-button handler
    "\x00\x01",
]


def test_numbers_are_ascii_digits_in_range() -> None:
    assert number("1") == 1
    assert number(str(MAX_ID)) == MAX_ID
    for bad in ("0", str(MAX_ID + 1), "²", "٣", "１", "-1", "+1", " 1", "1_000", "", "1e3"):
        assert number(bad) is None, bad
    assert number("0", 0) == 0
    assert number("24", 0, 23) is None


@pytest.mark.parametrize("data", FORGED)
def test_forged_data_does_not_parse(data: str) -> None:
    assert parse(data) is None


VALID = [
    "MENU daftar",
    "MENU data_saya",
    "LANG en",
    "REG consent yes",
    "REG birth_y d1980",
    "REG birth_y 1985",
    "REG birth_y back",
    "REG birth_m 12",
    "REG birth_d 31",
    "REG kab 12.10",
    "REG desa 12.10.19.1001",
    "REG desa p2",
    "REG income b3",
    "REG programs JKK_JKM_JHT",
    "REG summary e:birth_date",
    "REGX go",
    "FIX 12",
    "DATA DELOK 3",
    "STS SELF",
    "CLM NO",
    "ASK FWD 4",
    "ASK program_bpu",
    "IUR C 2000000 T",
    "QNA 9",
    "REV 5 OK",
    "REV 5 P 0",
    "REV 5 R nik",
    "REV 5 F birth_date",
    "REVQ D12",
    "REVQ C 7 DY",
    "EXP xlsx perlu_perbaikan",
    "KDR R -",
    "KDR R 12.10 2",
    "KDR NEW 12.10.19.1001",
    "KDR OK kAbC-_123xyz",
    "SIA W 3 -",
    "SIA R 3 - 1",
    "SIA H 3 20261201 9",
]


@pytest.mark.parametrize("data", VALID)
def test_the_bots_own_buttons_parse(data: str) -> None:
    press = parse(data)
    assert press is not None and press.prefix == data.split()[0]


@given(st.text(max_size=70))
def test_any_text_parses_or_not_without_raising(data: str) -> None:
    press = parse(data)
    if press is not None:
        assert len(data.encode()) <= 64 and press.prefix in GRAMMAR
        for token in press.args:
            if token.isdigit():
                assert int(token) <= MAX_ID


def mutations(seed: int, count: int) -> list[str]:
    """Valid data with one token replaced by something hostile."""
    rng = random.Random(seed)
    hostile = ["²", str(2**63), str(10**25), "-5", "", "x" * 50, "nik", "0", "٣", "1 1"]
    out = []
    for _ in range(count):
        tokens = rng.choice(VALID).split(" ")
        tokens[rng.randrange(len(tokens))] = rng.choice(hostile)
        data = " ".join(tokens)
        if parse(data) is None:
            out.append(data)
    return out


async def test_every_forged_press_gets_one_short_answer_and_nothing_else(
    harness: Harness,
) -> None:
    h = harness
    await h.send(USER, "/start")
    for data in [*FORGED, *mutations(7, 80)]:
        calls = await h.press(USER, data)
        assert [c.method for c in calls] == ["answerCallbackQuery"], (data, calls)
        assert calls[0].params.get("text") == STALE, data
        assert not any(APOLOGY in c.text for c in h.api.sent()), data


async def test_forged_press_is_logged_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await h.send(USER, "/start")
    with caplog.at_level("INFO"):
        await h.press(USER, f"FIX {2**63}")
    forged = [r for r in caplog.records if "event=forged_button" in r.getMessage()]
    assert len(forged) == 1


async def test_every_button_the_bot_shows_parses(harness: Harness) -> None:
    """Walk the menus of a worker and a reviewer; each button's data fits the grammar."""
    h = harness
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=USER, nik=nik_for())
    for text in ("/start", "/bahasa", "/iuran", "/status", "/klaim", "/data_saya", "/daftar"):
        await h.send(USER, text)
    await h.send(USER, "/iuran")
    await h.tap(USER, "Ojek, sopir, kurir")
    for text in ("/tinjau", "/ekspor", "/kader", "/siaran", "/start"):
        await h.send(REVIEWER, text)
    await h.tap(REVIEWER, "Setujui") if "Setujui" in h.labels(REVIEWER) else None
    seen = [data for call in h.api.sent() for _label, data in call.buttons if data]
    assert len(seen) > 20
    unparsed = [data for data in seen if callbacks.parse(data) is None]
    assert unparsed == []
