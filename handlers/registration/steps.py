"""Every registration question in one table, in the order asked: its text and choices, how it
takes a typed answer and a pressed choice, what it reads as an answer, and what to type instead
of pressing.

Each part of the flow defines the answers of its own questions (consent.py, nik.py …) and
asking.py their text; this table joins them and checks, when imported, that every question has
exactly one record and a text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from bot.registration import ORDER, Step
from handlers.registration import birth, consent, heir, nik, person, regions, submit, work
from handlers.registration.asking import QUESTIONS
from handlers.registration.common import StepDef

_PARTS = (consent, nik, person, birth, regions, work, heir, submit)


def _joined() -> Mapping[Step, StepDef]:
    """The parts' records in the order the questions are asked; each question exactly once."""
    counts = Counter(step for part in _PARTS for step in part.STEPS)
    doubled = sorted(step for step, n in counts.items() if n > 1)
    missing = sorted((set(ORDER) - set(counts)) | (set(ORDER) - set(QUESTIONS)))
    if doubled or missing:
        raise RuntimeError(f"registration steps doubled {doubled} or missing {missing}")
    records = {step: record for part in _PARTS for step, record in part.STEPS.items()}
    return MappingProxyType({step: replace(records[step], ask=QUESTIONS[step]) for step in ORDER})


STEPS: Mapping[Step, StepDef] = _joined()
