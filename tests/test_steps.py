"""The registration's questions as one table: every step once, and its presses in the grammar."""

from __future__ import annotations

from bot import callbacks
from bot.registration import ORDER
from handlers.registration.steps import STEPS


def test_every_question_has_one_record_in_the_order_asked() -> None:
    assert tuple(STEPS) == ORDER
    assert all(record.ask is not None for record in STEPS.values())


def test_a_question_takes_presses_exactly_when_the_grammar_has_its_buttons() -> None:
    pressed = {str(step) for step, record in STEPS.items() if record.pressed is not None}
    in_grammar = {shape[0].pattern for shape in callbacks.GRAMMAR["REG"]}
    assert pressed == in_grammar


def test_a_question_without_buttons_takes_typed_answers() -> None:
    typed_only = [s for s, r in STEPS.items() if r.pressed is None]
    assert typed_only and all(STEPS[s].typed is not None for s in typed_only)
