"""What several parts of the registration flow share: the flow's name, the message limit,
button data, the draft's scratch and today's contribution."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot import clock
from bot.context import JagaContext
from bot.contributions import Quote, payer_of, quote, sector_of
from bot.i18n import N_
from bot.registration import Step
from handlers.common import Keyboard, Turn
from storage.registrations import Registration

# One logger for the whole flow, so its lines keep the name they always had.
log = logging.getLogger("handlers.registration")

FLOW = "daftar"
# What /batal says for this flow (handlers/router.py): the answers are kept, not deleted.
CANCEL_TEXT = N_(
    "Pendaftaran dihentikan. Jawaban Anda tetap tersimpan: ketik /daftar untuk melanjutkan, "
    "atau /start untuk ke menu."
)
# No message is longer than this: people read slowly on small screens.
MAX_MESSAGE = 600
# A step's handler of a typed answer or a button value: (context, turn, registration, input).
TextAnswer = Callable[[JagaContext, Turn, Registration, str], Coroutine[Any, Any, None]]
# Whether typed text is an answer to the registration's question (not a question of its own).
Reads = Callable[[Registration, str], bool]


@dataclass(frozen=True)
class StepDef:
    """One question as data: its text and choices, how it takes a typed answer and a pressed
    choice, and the line saying what may be typed instead of pressing. Each part of the flow
    defines its questions' answers; steps.py joins them with their text (asking.py) in one
    table. What each answer fills is bot/registration.py FIELDS."""

    # The question's text and choices, for a registration waiting at it (asking.py).
    ask: Callable[[Turn, Registration, str], tuple[str, Keyboard | None]] | None = None
    typed: TextAnswer | None = None  # None: a typed word is read only as one of its choices
    pressed: TextAnswer | None = None  # takes the value of a pressed (or typed) choice
    reads: Reads | None = (
        None  # typed text this reads is its answer, even if it looks like a question
    )
    hint: str | None = None  # marked with N_: what to type instead of pressing


def reg_data(step: Step, value: str) -> str:
    """The callback data of a button answering `step` with `value`."""
    return f"REG {step} {value}"


def step_of(r: Registration) -> Step:
    """The question a registration waits for (the caller knows it waits for one)."""
    assert r.step is not None
    return Step(r.step)


def scratch_with(r: Registration, **changes: Any) -> str:
    """The draft's scratch (JSON) with `changes` applied; a change to None removes the key."""
    scratch = json.loads(r.scratch or "{}")
    scratch.update(changes)
    return json.dumps({k: v for k, v in scratch.items() if v is not None})


def turn_region(r: Registration, scratch: dict[str, Any]) -> str:
    """The deployment region stored for this draft when it started."""
    return str(scratch.get("region", "12"))


def normal_total(income: int, with_jht: bool) -> int:
    """The monthly contribution without any discount (what is stored and shown as normal)."""
    programs = "JKK_JKM_JHT" if with_jht else "JKK_JKM"
    return quote(income, programs, None, "program", clock.today()).normal


def quote_of(r: Registration) -> Quote:
    """Today's contribution of this registration: its income, programs, sector and payer."""
    assert r.income is not None  # asked before the programs, the period and the summary
    return quote(
        r.income,
        r.programs,
        sector_of(r.occupation),
        payer_of(r.sumber_iuran, r.payer),
        clock.today(),
    )


def fit(text: str, room: int) -> str:
    """`text` cut at a sentence end so that it fits in `room` characters."""
    if len(text) <= room:
        return text
    cut = text[: room - 1]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    return (cut[: end + 1] if end > room // 2 else cut.rstrip()) + "…"
