"""/iuran and income questions: every row of the PP 44/2015 table, periods, discount windows."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import clock, membership
from bot.contributions import SELF_PAID, TRANSPORT, quote
from tests.conftest import Harness
from tests.factories import submitted_registration

USER = 501

# PP 44/2015 Lampiran II as transcribed, copied by hand: (income from, income to, JKK+JKM,
# JKK+JKM+JHT).
TABLE = [
    (0, 1_099_000, 16_800, 36_800),
    (1_100_000, 1_299_000, 18_800, 42_800),
    (1_300_000, 1_499_000, 20_800, 48_800),
    (1_500_000, 1_699_000, 22_800, 54_800),
    (1_700_000, 1_899_000, 24_800, 60_800),
    (1_900_000, 2_099_000, 26_800, 66_800),
    (2_100_000, 2_299_000, 28_800, 72_800),
    (2_300_000, 2_499_000, 30_800, 78_800),
    (2_500_000, 2_699_000, 32_800, 84_800),
    (2_700_000, 3_199_000, 36_300, 95_300),
    (3_200_000, 3_699_000, 41_300, 110_300),
    (3_700_000, 4_199_000, 46_300, 125_300),
    (4_200_000, 4_699_000, 51_300, 140_300),
    (4_700_000, 5_199_000, 56_300, 155_300),
    (5_200_000, 5_699_000, 61_300, 170_300),
    (5_700_000, 6_199_000, 66_300, 185_300),
    (6_200_000, 6_699_000, 71_300, 200_300),
    (6_700_000, 7_199_000, 76_300, 215_300),
    (7_200_000, 7_699_000, 81_300, 230_300),
    (7_700_000, 8_199_000, 86_300, 245_300),
    (8_200_000, 9_199_000, 93_800, 267_800),
    (9_200_000, 10_199_000, 103_800, 297_800),
    (10_200_000, 11_199_000, 113_800, 327_800),
    (11_200_000, 12_199_000, 123_800, 357_800),
    (12_200_000, 13_199_000, 133_800, 387_800),
    (13_200_000, 14_199_000, 143_800, 417_800),
    (14_200_000, 15_199_000, 153_800, 447_800),
    (15_200_000, 16_199_000, 163_800, 477_800),
    (16_200_000, 17_199_000, 173_800, 507_800),
    (17_200_000, 18_199_000, 183_800, 537_800),
    (18_200_000, 19_199_000, 188_800, 552_800),
    (19_200_000, 20_199_000, 198_800, 582_800),
]


def rp(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def pin_today(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    monkeypatch.setattr(membership, "today", lambda: day)


async def calculate(h: Harness, income: str, sector: str) -> str:
    """The short answer of /iuran for a typed income (at most 600 characters)."""
    await h.send(USER, "/iuran")
    await h.press(USER, f"IUR S {sector}")
    await h.send(USER, income)
    text = h.text(USER)
    assert len(text) <= 600
    return text


async def details(h: Harness) -> str:
    """Press [Rincian] under the last answer: the details (at most 600 characters)."""
    await h.tap(USER, "Rincian")
    text = h.text(USER)
    assert text.startswith("Rincian iuran, penghasilan")
    assert len(text) <= 600
    return text


async def test_every_row_of_the_table(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    pin_today(monkeypatch, dt.date(2027, 6, 1))  # every discount window has ended
    for number, (low, high, two, three) in enumerate(TABLE, start=1):
        for income in (max(low, 100_000), high):
            text = await calculate(harness, str(income), "N")
            assert f"JKK + JKM (2 program): {rp(two)} per bulan" in text, (number, income)
            assert f"JKK + JKM + JHT (3 program): {rp(three)} per bulan" in text, (number, income)
            more = await details(harness)
            periods = " · ".join(f"{m} bulan {rp(three * m)}" for m in (3, 6, 12))
            assert f"Bayar sekaligus: {periods}" in more
            assert "diskon" not in text.split("Diskon")[0]
            assert "diskon" not in more
            if number == 1:
                assert "Dasar penghasilan: Rp1.000.000" in more
                assert "Pastikan angkanya" not in text
            else:
                assert "Dasar penghasilan (tabel PP 44/2015)" in more
            if number >= 31:
                assert "belum pasti" in text
            elif number > 1:
                assert "Pastikan angkanya ke BPJS 175" in text


async def test_income_above_the_table_uses_the_last_row(harness: Harness) -> None:
    text = await calculate(harness, "50 juta", "G")
    assert f"JKK + JKM (2 program): {rp(198_800)} per bulan" in text


@pytest.mark.parametrize(
    ("sector", "day", "discounted"),
    [
        ("T", dt.date(2025, 12, 31), False),
        ("T", dt.date(2026, 1, 1), True),
        ("T", dt.date(2027, 3, 31), True),
        ("T", dt.date(2027, 4, 1), False),
        ("N", dt.date(2026, 3, 31), False),
        ("N", dt.date(2026, 4, 1), True),
        ("N", dt.date(2026, 12, 31), True),
        ("N", dt.date(2027, 1, 1), False),
        ("G", dt.date(2026, 6, 1), False),
    ],
)
async def test_discount_window_edges(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, sector: str, day: dt.date, discounted: bool
) -> None:
    pin_today(monkeypatch, day)
    text = await calculate(harness, "1 juta", sector)
    if discounted:
        assert "JKK + JKM (2 program): Rp8.400 per bulan" in text
        assert "JKK + JKM + JHT (3 program): Rp28.400 per bulan" in text
        assert "Sudah termasuk diskon 50% iuran JKK dan JKM (PP 50/2025)" in text
        assert "JKK + JKM: JKK Rp10.000 + JKM Rp6.800 − diskon Rp8.400" in await details(harness)
    else:
        assert "JKK + JKM (2 program): Rp16.800 per bulan" in text
        assert "JKK + JKM + JHT (3 program): Rp36.800 per bulan" in text
        assert "Sudah termasuk diskon" not in text
    if sector == "G":
        assert "tidak mendapat diskon PP 50/2025" in text


async def test_periods_crossing_the_end_of_the_discount(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, dt.date(2026, 11, 15))
    text = await calculate(harness, "1 juta", "N")
    assert "sampai 31 Desember 2026" in text
    # Nov + Dec discounted (8.400), the rest normal (16.800).
    three = 2 * 8_400 + 16_800
    six = 2 * 8_400 + 4 * 16_800
    twelve = 2 * 8_400 + 10 * 16_800
    more = await details(harness)
    assert f"3 bulan {rp(three)} · 6 bulan {rp(six)} · 12 bulan {rp(twelve)}" in more
    assert "Bulan sesudah 31 Desember 2026 dihitung tanpa diskon." in more


async def test_free_text_question_with_income(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, dt.date(2026, 6, 1))
    await harness.send(USER, "iuran kalau penghasilan 2 juta?")
    text = harness.text(USER)
    assert text.startswith("Iuran untuk penghasilan Rp2.000.000 per bulan")
    assert "JKK + JKM (2 program): Rp26.800 per bulan" in text
    assert "Pilih pekerjaan Anda untuk menghitung dengan diskon." in text
    assert harness.labels(USER)[:2] == ["Ojek, sopir, kurir", "Nelayan, petani, pedagang, lainnya"]
    await harness.tap(USER, "Nelayan, petani, pedagang, lainnya")
    assert "JKK + JKM (2 program): Rp13.400 per bulan" in harness.text(USER)


async def test_free_text_uses_the_workers_own_registration(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_today(monkeypatch, dt.date(2026, 6, 1))
    await submitted_registration(
        harness.db, harness.app.bot_data.cipher, operator_id=USER, payer="sendiri"
    )
    await harness.send(USER, "berapa iuran kalau gaji saya 1,5 juta")
    text = harness.text(USER)
    assert "JKK + JKM (2 program): Rp11.400 per bulan" in text  # nelayan, discount on
    assert harness.labels(USER) == ["Rincian", "Hitung lagi"]


async def test_bad_income_and_stray_text_get_a_way_forward(harness: Harness) -> None:
    await harness.send(USER, "/iuran")
    await harness.send(USER, "entahlah")  # ("saya nelayan" is the press: test_field_walks)
    assert "pilih pekerjaan Anda dengan tombol" in harness.text(USER)
    await harness.tap(USER, "Nelayan, petani, pedagang, lainnya")
    await harness.send(USER, "banyak")
    assert "Penghasilan itu tidak terbaca" in harness.text(USER)
    await harness.send(USER, "2")
    assert "Penghasilan itu tidak terbaca" in harness.text(USER)
    await harness.tap(USER, "Rp1.500.000")
    assert "Iuran untuk penghasilan Rp1.500.000 per bulan" in harness.text(USER)
    active = await harness.db.fetchval(
        "SELECT active_flow FROM users WHERE telegram_id = ?", (USER,)
    )
    assert active is None


async def test_no_answer_or_detail_is_over_600_characters_in_either_language(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old single answer was 815 characters; now a short answer and a [Rincian] button.
    from bot.i18n import translator
    from handlers.questions import contribution_details, contribution_text

    longest = 0
    for language in ("id", "en"):
        tr = translator(language)
        for day in (dt.date(2026, 2, 1), dt.date(2026, 6, 1), dt.date(2027, 6, 1)):
            for sector in ("transport", "non_transport", "government", None):
                for _low, high, _two, _three in TABLE:
                    for build in (contribution_text, contribution_details):
                        longest = max(longest, len(build(tr, high, sector, day)))
    assert longest <= 600
    pin_today(monkeypatch, dt.date(2026, 6, 1))
    await harness.send(USER, "iuran kalau penghasilan 19 juta?")
    assert len(harness.text(USER)) <= 600
    assert "Rincian" in harness.labels(USER)


async def test_a_question_naming_one_job_at_the_job_step_is_read_as_that_job(
    harness: Harness,
) -> None:
    await harness.send(USER, "/iuran")
    await harness.send(USER, "brp iuran nelayan?")
    assert "penghasilan" in harness.text(USER).lower()  # on to the income, job taken
    await harness.send(USER, "/batal")
    await harness.send(USER, "/iuran")
    await harness.send(USER, "nelayan atau ojek bedanya apa?")  # two jobs: asked again
    assert "pilih pekerjaan Anda dengan tombol" in harness.text(USER)


async def test_a_job_said_with_the_amount_picks_its_discount(harness: Harness) -> None:
    h = harness
    await h.send(USER + 40, "brp iuran ojek gaji 2jt sebulan")
    answer = h.text(USER + 40)
    transport = quote(2_000_000, "JKK_JKM", TRANSPORT, SELF_PAID, clock.today())
    assert f"Rp{transport.to_pay:,}".replace(",", ".") in answer
    assert transport.discount_until is not None
    assert str(transport.discount_until.year) in answer
    assert "pekerjaan" not in answer.lower()  # not asked: the job was said
