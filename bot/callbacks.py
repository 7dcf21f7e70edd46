"""The one grammar of callback data: every button the bot makes, and the checks on a press.

Callback data comes back from the client and can be forged (any 1–64 bytes). A press is served
only when its data matches one of the shapes below, token by token: numbers are ASCII digits in
range (ids 1..2**63-1, the SQLite INTEGER range), words are short ASCII. A press with a known
prefix and any other shape is refused by the guard in jaga/app.py; an unknown prefix goes to the
stale-button handler (an old message or an old bot version).

To add a button: add its shape to GRAMMAR (one tuple of tokens per shape) and build its data
with the same tokens. tests/test_callbacks.py checks the table against every button made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_ID = 2**63 - 1  # SQLite's largest INTEGER; a bigger number raises OverflowError there
MAX_BYTES = 64  # Telegram's limit on callback data


@dataclass(frozen=True)
class Tok:
    """One token of a shape: an ASCII pattern; with `lo`/`hi`, its digits are a checked int.

    The digits are the pattern's first group if it has one (`d1990`), else the whole token.
    """

    pattern: str
    lo: int | None = None
    hi: int | None = None

    def matches(self, token: str) -> bool:
        """Whether `token` fits this token's pattern and range."""
        m = re.fullmatch(self.pattern, token, re.ASCII)
        if m is None:
            return False
        if self.lo is None and self.hi is None:
            return True
        digits = m.group(1) if m.re.groups else m.group(0)
        value = number(digits, self.lo if self.lo is not None else 0, self.hi or MAX_ID)
        return value is not None


def lit(*words: str) -> Tok:
    """One of these exact words."""
    return Tok("|".join(re.escape(w) for w in words))


def num(lo: int, hi: int) -> Tok:
    """A whole number from `lo` to `hi`, ASCII digits, no sign, no leading zeros but "0"."""
    return Tok(r"0|[1-9][0-9]{0,18}", lo, hi)


ID = num(1, MAX_ID)  # a row id
ID0 = num(0, MAX_ID)  # a row id, or 0 for "none"
WORD = Tok(r"[A-Za-z0-9_.:-]{1,48}")  # codes, keys, region codes, invite codes
REGION = Tok(r"[0-9]{2}(\.[0-9]{1,4}){0,3}")  # Kemendagri region codes: 32, 32.01, 32.01.01…
REGION_OR_NONE = Tok(REGION.pattern + r"|-")
PAGE = num(0, 10_000)
DAY = Tok(r"20[0-9]{6}")  # yyyymmdd
HOUR = num(0, 23)
AMOUNT = num(0, 10**12)  # rupiah

Shape = tuple[Tok, ...]

_TOPIC = Tok(r"[a-z0-9_-]{1,48}")

# The registration steps that take a button, with the shapes of their values.
_REG_STEPS: dict[str, Sequence[Tok]] = {
    "consent": [lit("yes", "why", "no")],
    "for_whom": [lit("self", "other")],
    "consent_other": [lit("yes", "no")],
    "birth_ok": [lit("yes", "no", "nik")],
    "birth_y": [lit("back"), Tok(r"d([0-9]{4})", 1800, 2200), num(1800, 2200)],
    "birth_m": [num(1, 12)],
    "birth_d": [num(1, 31)],
    "sex": [lit("L", "P")],
    "phone": [lit("none")],
    "kab": [REGION, Tok(r"p([0-9]{1,5})", 0, 10_000)],
    "kec": [REGION, Tok(r"p([0-9]{1,5})", 0, 10_000), lit("up")],
    "desa": [REGION, Tok(r"p([0-9]{1,5})", 0, 10_000), lit("up")],
    "job": [WORD],
    "income": [Tok(r"b([0-9]{1,3})", 1, 999)],
    "programs": [WORD],
    "period": [num(1, 120)],
    "payer": [lit("sendiri", "program")],
    "heir": [lit("skip", "mother")],
    "heir_rel": [WORD],
    "summary": [lit("send"), Tok(r"e:[a-z_]{1,30}")],
}


def _reg_shapes() -> list[Shape]:
    return [(lit(step), value) for step, values in _REG_STEPS.items() for value in values]


# Prefix -> the shapes of the tokens after it. The prefix is the first space-separated word.
GRAMMAR: dict[str, list[Shape]] = {
    "MENU": [(Tok(r"[a-z_]{1,32}"),)],
    "LANG": [(Tok(r"[a-z]{2,3}(_[A-Z]{2})?"),)],
    "REG": _reg_shapes(),
    "REGX": [(lit("go", "new"),)],
    "KTP": [
        (lit("how", "retry", "type", "ok"),),
        (lit("edit"), lit("nik", "name", "birth", "address")),
        (lit("from"), lit("nik", "card")),
    ],  # a KTP photo at the NIK step
    "FIX": [(ID,)],
    "DATA": [(lit("OTHER", "NO", "LINKS"),), (lit("FIX", "DEL", "DELOK", "SHOW", "UNLINK"), ID)],
    "STS": [(lit("SELF", "OTHER", "HIST", "MINE"),), (lit("OK", "NO", "REG"), ID)],
    "CLM": [
        (lit("NO"),),
        (lit("D"), Tok(r"[A-Za-z0-9][A-Za-z0-9./-]{0,39}")),  # one own claim, by its number
        (lit("E"), lit("JKK", "JKM", "JHT", "BEASISWA")),  # what to prepare for an open claim
    ],
    "ASK": [(lit("FWD"), ID), (lit("MORE"), _TOPIC), (_TOPIC,)],  # _TOPIC: a knowledge topic id
    "IUR": [
        (lit("START"),),
        (lit("S"), lit("T", "N", "G")),
        (lit("I"), AMOUNT),
        (lit("C"), AMOUNT, lit("T", "N", "G")),
        (lit("D"), AMOUNT, lit("T", "N", "G", "U")),  # the details of a calculation
        (lit("PAY"),),  # how to pay (approval notice, reminders, /status)
    ],
    "QNA": [(ID,)],
    "REV": [
        (ID, lit("V", "D", "OK", "NO", "FIX", "FN", "FS", "SKIP")),  # D: the flags in full
        (ID, lit("P", "A", "S"), ID0),
        (ID, lit("R", "X", "F"), WORD),
    ],
    "REVQ": [(lit("ALL", "D12", "C"),), (lit("C"), ID, lit("F", "D", "DY"))],
    "EXP": [(lit("csv", "xlsx"),), (lit("csv", "xlsx"), Tok(r"[a-z_]{1,30}"))],
    "KDR": [
        (lit("REP", "ME"),),
        (lit("SHEET"),),  # the cadre's spreadsheet template
        (lit("REP", "ME"), PAGE),
        (lit("R"), REGION_OR_NONE),
        (lit("R"), REGION_OR_NONE, PAGE),
        (lit("NEW"), REGION),
        (lit("NEW"), REGION, lit("1", "5", "10", "20")),  # places on a cadre invite
        (lit("X"), ID),
        (lit("OK", "NM"), Tok(r"k[A-Za-z0-9_-]{1,40}")),
    ],
    "SIA": [
        (lit("NEW"),),
        (lit("C", "T", "GO", "E", "DEL"), ID),
        (lit("W"), ID, Tok(r"[a-z_]{1,20}|-")),
        (lit("S"), ID, Tok(r"[a-z_]{1,20}")),
        (lit("R"), ID, REGION_OR_NONE),
        (lit("R"), ID, REGION_OR_NONE, PAGE),
        (lit("RA"), ID, REGION),
        (lit("D"), ID, DAY),
        (lit("H"), ID, DAY, HOUR),
    ],
}


@dataclass(frozen=True)
class Press:
    """A press whose data matched a shape: its prefix and the tokens after it."""

    prefix: str
    args: tuple[str, ...]

    def int(self, index: int) -> int:
        """The argument at `index` as an int (the grammar already checked its digits)."""
        value = number(self.args[index], 0, MAX_ID)
        if value is None:
            raise ValueError(f"argument {index} of {self.prefix} is not a number")
        return value


def number(token: str, lo: int = 1, hi: int = MAX_ID) -> int | None:
    """`token` as an int if it is ASCII digits from `lo` to `hi` (ids by default), else None.

    `str.isdigit()` accepts `²` and Arabic-Indic digits; `int()` then fails or accepts them.
    """
    if not 1 <= len(token) <= 19 or not token.isascii() or not token.isdigit():
        return None
    value = int(token)
    return value if lo <= value <= hi else None


def prefix_of(data: str | None) -> str:
    """The first word of the data ("" when there is none)."""
    if not data:
        return ""
    return data.split(" ", 1)[0]


def known(data: str | None, grammar: Mapping[str, Sequence[Shape]] = GRAMMAR) -> bool:
    """Whether the data starts with a prefix the bot makes buttons for."""
    return prefix_of(data) in grammar


def parse(data: str | None, grammar: Mapping[str, Sequence[Shape]] = GRAMMAR) -> Press | None:
    """The press if `data` matches a shape of its prefix exactly, else None."""
    if not data or len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return None
    tokens = data.split(" ")  # single spaces only: "a  b" or a trailing space does not parse
    prefix, args = tokens[0], tuple(tokens[1:])
    for shape in grammar.get(prefix, ()):
        if len(shape) == len(args) and all(t.matches(a) for t, a in zip(shape, args, strict=True)):
            return Press(prefix, args)
    return None
