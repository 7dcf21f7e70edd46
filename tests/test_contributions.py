"""The BPU contribution table (PP 44/2015 Lampiran II), the PP 50/2025 discount, `quote`."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from bot import contributions as c

NOT_IN_WINDOW = date(2025, 6, 1)

# (income_from, income_to, base, JKK+JKM, +JHT) typed from PP 44/2015 Lampiran II as
# transcribed, not computed.
EXPECTED_ROWS = [
    (0, 1_099_000, 1_000_000, 16_800, 36_800),
    (1_100_000, 1_299_000, 1_200_000, 18_800, 42_800),
    (1_300_000, 1_499_000, 1_400_000, 20_800, 48_800),
    (1_500_000, 1_699_000, 1_600_000, 22_800, 54_800),
    (1_700_000, 1_899_000, 1_800_000, 24_800, 60_800),
    (1_900_000, 2_099_000, 2_000_000, 26_800, 66_800),
    (2_100_000, 2_299_000, 2_200_000, 28_800, 72_800),
    (2_300_000, 2_499_000, 2_400_000, 30_800, 78_800),
    (2_500_000, 2_699_000, 2_600_000, 32_800, 84_800),
    (2_700_000, 3_199_000, 2_950_000, 36_300, 95_300),
    (3_200_000, 3_699_000, 3_450_000, 41_300, 110_300),
    (3_700_000, 4_199_000, 3_950_000, 46_300, 125_300),
    (4_200_000, 4_699_000, 4_450_000, 51_300, 140_300),
    (4_700_000, 5_199_000, 4_950_000, 56_300, 155_300),
    (5_200_000, 5_699_000, 5_450_000, 61_300, 170_300),
    (5_700_000, 6_199_000, 5_950_000, 66_300, 185_300),
    (6_200_000, 6_699_000, 6_450_000, 71_300, 200_300),
    (6_700_000, 7_199_000, 6_950_000, 76_300, 215_300),
    (7_200_000, 7_699_000, 7_450_000, 81_300, 230_300),
    (7_700_000, 8_199_000, 7_950_000, 86_300, 245_300),
    (8_200_000, 9_199_000, 8_700_000, 93_800, 267_800),
    (9_200_000, 10_199_000, 9_700_000, 103_800, 297_800),
    (10_200_000, 11_199_000, 10_700_000, 113_800, 327_800),
    (11_200_000, 12_199_000, 11_700_000, 123_800, 357_800),
    (12_200_000, 13_199_000, 12_700_000, 133_800, 387_800),
    (13_200_000, 14_199_000, 13_700_000, 143_800, 417_800),
    (14_200_000, 15_199_000, 14_700_000, 153_800, 447_800),
    (15_200_000, 16_199_000, 15_700_000, 163_800, 477_800),
    (16_200_000, 17_199_000, 16_700_000, 173_800, 507_800),
    (17_200_000, 18_199_000, 17_700_000, 183_800, 537_800),
    (18_200_000, 19_199_000, 18_200_000, 188_800, 552_800),
    (19_200_000, 20_199_000, 19_200_000, 198_800, 582_800),
]


def _normal(bracket: c.Bracket, *, with_jht: bool) -> c.Contribution:
    return c.monthly(
        bracket, with_jht=with_jht, on=NOT_IN_WINDOW, transport=False, government_paid=False
    )


def test_table_has_32_rows_with_a_version() -> None:
    table = c.load_table()
    assert len(table.brackets) == 32
    assert table.version
    assert table.mark is c.Mark.LIKELY
    assert any("lara_bpjs" in s for s in table.sources)


@pytest.mark.parametrize(("row", "expected"), list(enumerate(EXPECTED_ROWS, start=1)))
def test_every_row_matches_domain(row: int, expected: tuple[int, int, int, int, int]) -> None:
    income_from, income_to, base, two_programs, three_programs = expected
    bracket = c.load_table().brackets[row - 1]
    assert (bracket.number, bracket.income_from, bracket.income_to, bracket.base) == (
        row,
        income_from,
        income_to,
        base,
    )
    assert c.load_table().bracket_for(income_from) == bracket
    assert c.load_table().bracket_for(income_to) == bracket
    without = _normal(bracket, with_jht=False)
    assert without.total == two_programs
    assert without.jkm == 6_800
    assert without.jht == 0
    assert without.jkk + without.jkm == two_programs
    with_jht = _normal(bracket, with_jht=True)
    assert with_jht.total == three_programs
    assert with_jht.discount == 0
    assert not with_jht.discount_applies


def test_lowest_row_components() -> None:
    first = _normal(c.load_table().bracket_for(800_000), with_jht=True)
    assert (first.jkk, first.jkm, first.jht) == (10_000, 6_800, 20_000)
    assert first.mark is c.Mark.CONFIRMED


def test_marks_per_row() -> None:
    marks = [b.mark for b in c.load_table().brackets]
    assert marks[0] is c.Mark.CONFIRMED
    assert set(marks[1:30]) == {c.Mark.LIKELY}
    assert marks[30:] == [c.Mark.UNCERTAIN, c.Mark.UNCERTAIN]
    top = _normal(c.load_table().brackets[-1], with_jht=False)
    assert top.mark is c.Mark.UNCERTAIN
    assert not top.mark.plain
    assert c.Mark.CONFIRMED.plain


@pytest.mark.parametrize(
    ("income", "row"),
    [
        (0, 1),
        (1_000_000, 1),
        (1_099_000, 1),
        (1_099_999, 1),
        (1_100_000, 2),
        (2_000_000, 6),
        (2_699_000, 9),
        (2_700_000, 10),
        (20_199_000, 32),
        (20_200_000, 32),
        (500_000_000, 32),
    ],
)
def test_bracket_edges(income: int, row: int) -> None:
    assert c.load_table().bracket_for(income).number == row


def test_negative_income_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        c.load_table().bracket_for(-1)


TRANSPORT_EDGES = [
    (date(2025, 12, 31), False),
    (date(2026, 1, 1), True),
    (date(2027, 3, 31), True),
    (date(2027, 4, 1), False),
]
NON_TRANSPORT_EDGES = [
    (date(2026, 3, 31), False),
    (date(2026, 4, 1), True),
    (date(2026, 12, 31), True),
    (date(2027, 1, 1), False),
]


@pytest.mark.parametrize(
    ("transport", "day", "applies"),
    [(True, d, a) for d, a in TRANSPORT_EDGES] + [(False, d, a) for d, a in NON_TRANSPORT_EDGES],
)
def test_discount_window_edges(transport: bool, day: date, applies: bool) -> None:
    bracket = c.load_table().bracket_for(1_000_000)
    result = c.monthly(bracket, with_jht=False, on=day, transport=transport, government_paid=False)
    assert result.discount_applies is applies
    assert result.total == (8_400 if applies else 16_800)
    assert result.discount == (8_400 if applies else 0)


@pytest.mark.parametrize("transport", [True, False])
def test_government_paid_never_discounted(transport: bool) -> None:
    bracket = c.load_table().bracket_for(1_000_000)
    result = c.monthly(
        bracket, with_jht=False, on=date(2026, 6, 1), transport=transport, government_paid=True
    )
    assert not result.discount_applies
    assert result.total == 16_800


def test_discount_excludes_jht() -> None:
    bracket = c.load_table().bracket_for(1_000_000)
    result = c.monthly(
        bracket, with_jht=True, on=date(2026, 6, 1), transport=False, government_paid=False
    )
    # Rp8.400 for JKK+JKM (PP 50/2025, as reported by NTV) plus the full JHT Rp20.000.
    assert result.total == 28_400
    assert result.discount == 8_400
    assert result.jht == 20_000


def test_discount_on_a_higher_row() -> None:
    bracket = c.load_table().bracket_for(3_000_000)  # row 10: JKK 29.500 + JKM 6.800
    result = c.monthly(
        bracket, with_jht=False, on=date(2026, 2, 1), transport=True, government_paid=False
    )
    assert result.total == 18_150
    assert result.mark is c.Mark.LIKELY


def test_payment_periods() -> None:
    table = c.load_table()
    assert table.periods == (1, 3, 6, 12)
    normal = _normal(table.bracket_for(1_000_000), with_jht=False)
    assert [c.for_period(normal, m) for m in (1, 3, 6, 12)] == [16_800, 50_400, 100_800, 201_600]
    with pytest.raises(ValueError, match="payment period"):
        c.for_period(normal, 2)


def test_period_total_crosses_window_end() -> None:
    bracket = c.load_table().bracket_for(1_000_000)
    # Non-transport window ends 2026-12-31: Nov and Dec discounted, Jan-Apr 2027 not.
    total = c.period_total(
        bracket,
        with_jht=False,
        start=date(2026, 11, 15),
        months=6,
        transport=False,
        government_paid=False,
    )
    assert total == 2 * 8_400 + 4 * 16_800


def test_occupations() -> None:
    codes = [o.code for o in c.OCCUPATIONS]
    assert codes == [
        "nelayan",
        "petani",
        "sawit",
        "peternak",
        "pedagang",
        "ojek_sopir",
        "buruh_harian",
        "lainnya",
    ]
    assert frozenset({"ojek_sopir"}) == c.TRANSPORT_OCCUPATIONS
    assert c.is_transport("ojek_sopir")
    assert not c.is_transport("nelayan")
    with pytest.raises(ValueError, match="unknown occupation"):
        c.is_transport("pilot")


def test_data_file_cites_sources() -> None:
    text = c.DATA_FILE.read_text("utf-8")
    # Facts are cited by regulation or publication, never by notes outside the repository.
    assert "domain.md" not in text and "/work/" not in text
    raw = tomllib.loads(text)
    assert "PP 50/2025" in raw["discount"]["regulation"]
    assert raw["discount"]["programs"] == ["jkk", "jkm"]
    for program in ("jkk", "jkm", "jht"):
        assert raw["rates"][program]["sources"]
    assert "Lampiran II" in raw["table_source"]["title"]


def test_overlapping_brackets_rejected() -> None:
    text = c.DATA_FILE.read_text("utf-8")
    raw = tomllib.loads(text)
    raw["brackets"][1]["income_from"] = 1_000_000
    with pytest.raises(ValueError, match="overlap"):
        c._parse(raw)


@pytest.mark.parametrize(
    ("payer", "discounted"),
    [
        ("mandiri", True),
        ("csr_sertakan", True),  # PP 50/2025 excludes only APBN/APBD
        ("donatur", True),
        ("apbd_kabupaten", False),
        ("apbd_provinsi", False),
        ("dbh_sawit", False),
        ("apbdes", False),
        ("program", False),  # asked for, not assigned yet
        ("unknown_code", False),
    ],
)
def test_quote_follows_who_pays(payer: str, discounted: bool) -> None:
    q = c.quote(1_000_000, "JKK_JKM", "non_transport", payer, date(2026, 6, 1))
    assert (q.base, q.normal) == (1_000_000, 16_800)
    assert q.discount == (8_400 if discounted else 0)
    assert q.to_pay == q.normal - q.discount
    assert q.discount_until == (date(2026, 12, 31) if discounted else None)
    assert q.self_paid is (payer == "mandiri")


def test_quote_never_discounts_after_the_window_or_for_an_unknown_sector() -> None:
    after = c.quote(1_000_000, "JKK_JKM_JHT", "non_transport", "mandiri", date(2027, 1, 1))
    assert (after.normal, after.discount, after.to_pay, after.discount_until) == (
        36_800, 0, 36_800, None,
    )  # fmt: skip
    unknown = c.quote(1_000_000, "JKK_JKM", None, "mandiri", date(2026, 6, 1))
    assert unknown.discount == 0
    transport = c.quote(1_000_000, "JKK_JKM", "transport", "mandiri", date(2027, 3, 31))
    assert (transport.to_pay, transport.discount_until) == (8_400, date(2027, 3, 31))
    # A period that crosses the end is summed month by month.
    late_2026 = c.quote(1_000_000, "JKK_JKM", "non_transport", "mandiri", date(2026, 11, 15))
    assert late_2026.period_total(3) == 2 * 8_400 + 16_800


def test_apbdes_as_apbd_is_marked_as_an_assumption() -> None:
    payers = c.load_table().payers
    assert payers["apbdes"].apbn_apbd and payers["apbdes"].mark is c.Mark.UNCERTAIN
    assert "ASSUMPTION" in payers["apbdes"].source
    assert not payers["csr_sertakan"].apbn_apbd
    assert c.sector_of("ojek_sopir") == "transport" and c.sector_of("nelayan") == "non_transport"
    assert c.sector_of(None) is None
    assert c.payer_of(None, "program") == "program"
    assert c.payer_of(None, "sendiri") == "mandiri"
    assert c.payer_of("mandiri", "program") == "mandiri"
    assert c.payer_of("dbh_sawit", "sendiri") == "dbh_sawit"
