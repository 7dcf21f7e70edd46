"""BPU contribution (iuran) table and calculator, read from bot/data/contributions.toml.

`quote` is the one place an amount for a person is worked out: registration, /iuran, the
approval notice, reminders, /status and the export all call it, so they show the same figures
for the same person and day.
"""

from __future__ import annotations

import bisect
import calendar
import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_FILE",
    "NON_TRANSPORT",
    "OCCUPATIONS",
    "SELF_PAID",
    "TRANSPORT",
    "TRANSPORT_OCCUPATIONS",
    "Bracket",
    "Contribution",
    "ContributionTable",
    "Discount",
    "DiscountWindow",
    "Mark",
    "Occupation",
    "PayerRule",
    "Quote",
    "Rate",
    "for_period",
    "is_transport",
    "load_table",
    "monthly",
    "payer_of",
    "period_total",
    "quote",
    "sector_of",
]


class Mark(StrEnum):
    """How sure a figure is (see the data file's header); only CONFIRMED may be stated plainly."""

    CONFIRMED = "CONFIRMED"
    LIKELY = "LIKELY"
    UNCERTAIN = "UNCERTAIN"
    CONFLICT = "CONFLICT"

    @property
    def plain(self) -> bool:
        """Whether a figure with this mark may be stated without hedging."""
        return self is Mark.CONFIRMED


_MARK_ORDER = {Mark.CONFIRMED: 0, Mark.LIKELY: 1, Mark.UNCERTAIN: 2, Mark.CONFLICT: 3}


def _weakest(*marks: Mark) -> Mark:
    """Return the least certain of the given marks."""
    return max(marks, key=_MARK_ORDER.__getitem__)


@dataclass(frozen=True, slots=True)
class Occupation:
    """An occupation code used by the registration flow."""

    code: str
    transport: bool


OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation("nelayan", transport=False),
    Occupation("petani", transport=False),
    Occupation("sawit", transport=False),
    Occupation("peternak", transport=False),
    Occupation("pedagang", transport=False),
    Occupation("ojek_sopir", transport=True),
    Occupation("buruh_harian", transport=False),
    Occupation("lainnya", transport=False),
)
TRANSPORT_OCCUPATIONS: frozenset[str] = frozenset(o.code for o in OCCUPATIONS if o.transport)
DATA_FILE = Path(__file__).parent / "data" / "contributions.toml"

_OCCUPATION_CODES: frozenset[str] = frozenset(o.code for o in OCCUPATIONS)


def is_transport(occupation: str) -> bool:
    """Tell whether an occupation code is in the transport sector (PP 50/2025 windows)."""
    if occupation not in _OCCUPATION_CODES:
        raise ValueError(f"unknown occupation code: {occupation!r}")
    return occupation in TRANSPORT_OCCUPATIONS


@dataclass(frozen=True, slots=True)
class Bracket:
    """One row of the income table: reported income range and its dasar penghasilan."""

    number: int
    income_from: int
    income_to: int
    base: int
    mark: Mark
    note: str = ""


@dataclass(frozen=True, slots=True)
class Rate:
    """A program's rate: a share of the base in basis points, or a flat monthly amount."""

    program: str
    basis_points: int
    flat: int
    mark: Mark
    sources: tuple[str, ...]

    def amount(self, base: int) -> int:
        """Monthly amount in whole rupiah for a dasar penghasilan."""
        return self.flat + _round_half_up(base * self.basis_points, 10_000)


@dataclass(frozen=True, slots=True)
class DiscountWindow:
    """Inclusive dates during which the discount applies to one sector."""

    sector: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        """Tell whether a day lies inside the window (both ends inclusive)."""
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Discount:
    """The PP 50/2025 temporary discount on JKK and JKM."""

    regulation: str
    percent: int
    programs: frozenset[str]
    transport: DiscountWindow
    non_transport: DiscountWindow
    mark: Mark
    sources: tuple[str, ...]

    def window(self, *, transport: bool) -> DiscountWindow:
        """Return the window of a sector."""
        return self.transport if transport else self.non_transport

    def applies(self, *, on: date, transport: bool, government_paid: bool) -> bool:
        """Tell whether the discount applies on a day for a sector and funding source."""
        if government_paid:
            return False
        return self.window(transport=transport).contains(on)


@dataclass(frozen=True, slots=True)
class PayerRule:
    """A funding source and whether it pays from APBN/APBD (no PP 50/2025 discount then)."""

    code: str
    apbn_apbd: bool
    mark: Mark
    source: str


@dataclass(frozen=True, slots=True)
class Contribution:
    """A monthly contribution; jkk/jkm/jht are normal amounts, total has the discount taken off."""

    bracket: Bracket
    with_jht: bool
    jkk: int
    jkm: int
    jht: int
    discount: int
    total: int
    discount_applies: bool
    mark: Mark

    @property
    def normal_total(self) -> int:
        """Total without any discount."""
        return self.jkk + self.jkm + self.jht


def _round_half_up(numerator: int, denominator: int) -> int:
    """Divide non-negative integers rounding halves up."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class ContributionTable:
    """The versioned contribution table with rates, payment periods and discount."""

    version: str
    mark: Mark
    sources: tuple[str, ...]
    brackets: tuple[Bracket, ...]
    jkk: Rate
    jkm: Rate
    jht: Rate
    periods: tuple[int, ...]
    discount: Discount
    payers: Mapping[str, PayerRule]

    def government_paid(self, payer: str | None) -> bool:
        """Whether a payer (a funding source code) pays from APBN/APBD; unknown codes do."""
        rule = self.payers.get(payer or "program")
        return True if rule is None else rule.apbn_apbd

    def bracket_for(self, income: int) -> Bracket:
        """Return the bracket of a monthly reported income; above the table gives the top row."""
        if income < 0:
            raise ValueError(f"income must not be negative: {income}")
        starts = [b.income_from for b in self.brackets]
        return self.brackets[max(bisect.bisect_right(starts, income) - 1, 0)]

    def monthly(
        self,
        bracket: Bracket,
        *,
        with_jht: bool,
        on: date,
        transport: bool,
        government_paid: bool,
    ) -> Contribution:
        """Compute one month's contribution for a bracket on a given day."""
        jkk = self.jkk.amount(bracket.base)
        jkm = self.jkm.amount(bracket.base)
        jht = self.jht.amount(bracket.base) if with_jht else 0
        applies = self.discount.applies(
            on=on, transport=transport, government_paid=government_paid
        )
        discount = 0
        if applies:
            amounts = {"jkk": jkk, "jkm": jkm, "jht": jht}
            discount = sum(
                _round_half_up(amounts[p] * self.discount.percent, 100)
                for p in sorted(self.discount.programs)
            )
        marks = [bracket.mark, self.jkk.mark, self.jkm.mark]
        if with_jht:
            marks.append(self.jht.mark)
        if applies:
            marks.append(self.discount.mark)
        return Contribution(
            bracket=bracket,
            with_jht=with_jht,
            jkk=jkk,
            jkm=jkm,
            jht=jht,
            discount=discount,
            total=jkk + jkm + jht - discount,
            discount_applies=applies,
            mark=_weakest(*marks),
        )

    def for_period(self, contribution: Contribution, months: int) -> int:
        """Amount for paying a monthly contribution for an allowed number of months."""
        if months not in self.periods:
            raise ValueError(f"payment period must be one of {self.periods}, not {months}")
        return contribution.total * months

    def period_total(
        self,
        bracket: Bracket,
        *,
        with_jht: bool,
        start: date,
        months: int,
        transport: bool,
        government_paid: bool,
    ) -> int:
        """Sum month by month from a start day, so a period crossing a discount edge is exact."""
        if months not in self.periods:
            raise ValueError(f"payment period must be one of {self.periods}, not {months}")
        return sum(
            self.monthly(
                bracket,
                with_jht=with_jht,
                on=_add_months(start, i),
                transport=transport,
                government_paid=government_paid,
            ).total
            for i in range(months)
        )


def _add_months(day: date, months: int) -> date:
    """Shift a date by whole months, clamping the day to the month's length."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _rate(program: str, raw: Mapping[str, Any]) -> Rate:
    """Build a Rate from its TOML table."""
    kind = raw["kind"]
    if kind == "flat":
        basis_points, flat = 0, int(raw["amount"])
    elif kind == "percent_of_base":
        basis_points, flat = int(raw["basis_points"]), 0
    else:
        raise ValueError(f"unknown rate kind for {program}: {kind!r}")
    return Rate(program, basis_points, flat, Mark(raw["mark"]), tuple(raw["sources"]))


def _parse(raw: Mapping[str, Any]) -> ContributionTable:
    """Validate and convert the TOML document into a ContributionTable."""
    brackets = tuple(
        Bracket(
            number=i,
            income_from=int(row["income_from"]),
            income_to=int(row["income_to"]),
            base=int(row["base"]),
            mark=Mark(row["mark"]),
            note=str(row.get("note", "")),
        )
        for i, row in enumerate(raw["brackets"], start=1)
    )
    if not brackets or brackets[0].income_from != 0:
        raise ValueError("the first bracket must start at income 0")
    for low, high in itertools.pairwise(brackets):
        if not low.income_from <= low.income_to < high.income_from:
            raise ValueError(f"brackets {low.number} and {high.number} overlap or are unordered")
    windows = {w["sector"]: w for w in raw["discount"]["windows"]}
    disc = raw["discount"]

    def window(sector: str) -> DiscountWindow:
        w = windows[sector]
        if not isinstance(w["start"], date) or not w["start"] <= w["end"]:
            raise ValueError(f"bad discount window for {sector}")
        return DiscountWindow(sector, w["start"], w["end"])

    discount = Discount(
        regulation=str(disc["regulation"]),
        percent=int(disc["percent"]),
        programs=frozenset(disc["programs"]),
        transport=window("transport"),
        non_transport=window("non_transport"),
        mark=Mark(disc["mark"]),
        sources=tuple(disc["sources"]),
    )
    if not discount.programs <= {"jkk", "jkm"}:
        raise ValueError("the PP 50/2025 discount covers JKK and JKM only")
    source = raw["table_source"]
    return ContributionTable(
        version=str(raw["version"]),
        mark=Mark(source["mark"]),
        sources=tuple(source["urls"]),
        brackets=brackets,
        jkk=_rate("jkk", raw["rates"]["jkk"]),
        jkm=_rate("jkm", raw["rates"]["jkm"]),
        jht=_rate("jht", raw["rates"]["jht"]),
        periods=tuple(int(m) for m in raw["payment"]["periods_months"]),
        discount=discount,
        payers={
            str(p["code"]): PayerRule(
                str(p["code"]), bool(p["apbn_apbd"]), Mark(p["mark"]), str(p["source"])
            )
            for p in raw["payers"]
        },
    )


@cache
def load_table() -> ContributionTable:
    """Load the packaged contribution table once."""
    return _parse(tomllib.loads(DATA_FILE.read_text("utf-8")))


def monthly(
    bracket: Bracket, *, with_jht: bool, on: date, transport: bool, government_paid: bool
) -> Contribution:
    """Compute one month's contribution with the packaged table."""
    return load_table().monthly(
        bracket, with_jht=with_jht, on=on, transport=transport, government_paid=government_paid
    )


def for_period(contribution: Contribution, months: int) -> int:
    """Amount for paying a monthly contribution for 1, 3, 6 or 12 months."""
    return load_table().for_period(contribution, months)


def period_total(
    bracket: Bracket,
    *,
    with_jht: bool,
    start: date,
    months: int,
    transport: bool,
    government_paid: bool,
) -> int:
    """Month-by-month total for a payment period with the packaged table."""
    return load_table().period_total(
        bracket,
        with_jht=with_jht,
        start=start,
        months=months,
        transport=transport,
        government_paid=government_paid,
    )


TRANSPORT = "transport"
NON_TRANSPORT = "non_transport"
SELF_PAID = "mandiri"


def sector_of(occupation: str | None) -> str | None:
    """The PP 50/2025 sector of an occupation code (transport or not); None if unknown."""
    if occupation not in _OCCUPATION_CODES:
        return None
    return TRANSPORT if is_transport(occupation) else NON_TRANSPORT


def payer_of(assigned: str | None, requested: str | None) -> str:
    """Who pays for a registration: the source the district `assigned`, else the worker's
    `requested` payer (`sendiri` or `program`).

    `mandiri` (the worker), a funding source code, or `program` (a program was asked for and is
    not assigned yet).
    """
    if assigned:
        return assigned
    return SELF_PAID if requested == "sendiri" else "program"


@dataclass(frozen=True, slots=True)
class Quote:
    """One person's monthly contribution on one day: the figures every screen shows.

    `normal` is without any discount, `discount` what PP 50/2025 takes off that month for this
    payer and sector (0 when it does not apply), `to_pay` the difference; `discount_until` is the
    last day of the discount window when it applies.
    """

    base: int
    normal: int
    discount: int
    to_pay: int
    discount_until: date | None
    mark: Mark
    monthly: Contribution
    payer: str
    self_paid: bool
    on: date
    transport: bool
    government_paid: bool

    def period_total(self, months: int) -> int:
        """Amount to pay for `months` months from the quote's day, month by month."""
        return load_table().period_total(
            self.monthly.bracket,
            with_jht=self.monthly.with_jht,
            start=self.on,
            months=months,
            transport=self.transport,
            government_paid=self.government_paid,
        )


def quote(
    income: int, programs: str | None, sector: str | None, payer: str | None, on: date
) -> Quote:
    """The contribution of a person on a day.

    `programs` is `JKK_JKM` or `JKK_JKM_JHT`; `sector` is `transport`, `non_transport` or None
    (unknown: no discount, since its dates differ by sector); `payer` a funding source code,
    `mandiri` or `program` (see `payer_of`).
    """
    table = load_table()
    bracket = table.bracket_for(income)
    payer = payer or "program"
    government = table.government_paid(payer) or sector is None
    transport = sector == TRANSPORT
    contribution = table.monthly(
        bracket,
        with_jht=programs == "JKK_JKM_JHT",
        on=on,
        transport=transport,
        government_paid=government,
    )
    until = (
        table.discount.window(transport=transport).end if contribution.discount_applies else None
    )
    return Quote(
        base=bracket.base,
        normal=contribution.normal_total,
        discount=contribution.discount,
        to_pay=contribution.total,
        discount_until=until,
        mark=contribution.mark,
        monthly=contribution,
        payer=payer,
        self_paid=payer == SELF_PAID,
        on=on,
        transport=transport,
        government_paid=government,
    )
