"""Work and contribution: occupation, income, programs, the months paid at once and who pays."""

from __future__ import annotations

from typing import Any

from bot.context import JagaContext
from bot.contributions import load_table
from bot.i18n import N_
from bot.registration import (
    OCCUPATION_CODES,
    PERIODS,
    PROGRAM_LABELS,
    Step,
    check_free_text,
    read_income,
)
from handlers.common import Turn
from handlers.registration.asking import ask_current
from handlers.registration.common import FLOW, StepDef, normal_total
from handlers.registration.flow import advance, again, stale
from storage import registrations
from storage.registrations import Registration


async def occupation_choice(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value not in OCCUPATION_CODES:
        await stale(context, turn)
        return
    other = r.occupation_other if value == "lainnya" else None
    await advance(context, turn, r, Step.OCCUPATION, occupation=value, occupation_other=other)


async def _occupation_other(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    value = check_free_text(text)
    if value is None:
        await again(
            context, turn, turn.gettext("Silakan ketik nama pekerjaannya, 2 sampai 60 huruf.")
        )
        return
    await advance(context, turn, r, Step.OCCUPATION_OTHER, occupation_other=value)


async def _income_fields(r: Registration, income: int) -> dict[str, Any]:
    table = load_table()
    fields: dict[str, Any] = {
        "income": income,
        "income_base": table.bracket_for(income).base,
        "table_version": table.version,
    }
    if r.programs:
        fields["monthly_contribution"] = normal_total(income, r.programs == "JKK_JKM_JHT")
    return fields


async def _income_choice(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    table = load_table()
    numbers = {f"b{b.number}": b for b in table.brackets}
    bracket = numbers.get(value)
    if bracket is None:
        await stale(context, turn)
        return
    # A button gives a range; its dasar penghasilan stands for the reported income.
    await advance(context, turn, r, Step.INCOME, **await _income_fields(r, bracket.base))


async def _income_text(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    reading = read_income(text)  # "kira2 1,5 jt sebulan" is Rp1.500.000
    income = reading.amount
    if income is None:
        problems = {
            "range": N_("Ketik satu jumlah saja, misalnya rata-ratanya per bulan: 1,5 juta."),
            "varies": N_("Kalau berubah-ubah, ketik rata-rata sebulan, misalnya 900 ribu."),
            "daily": N_("Tolong tulis penghasilan per bulan, misalnya 1,5 juta."),
        }
        unclear = N_("Jumlah itu tidak bisa saya baca. Tulis misalnya 1,5 juta atau 1500000.")
        await again(context, turn, turn.gettext(problems.get(reading.problem or "", unclear)))
        return
    note = turn.gettext("Penghasilan per bulan: {amount}").format(amount=turn.tr.money(income))
    await advance(context, turn, r, Step.INCOME, note=note, **await _income_fields(r, income))


async def _programs(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value not in PROGRAM_LABELS:
        await stale(context, turn)
        return
    assert r.income is not None  # asked before the programs
    amount = normal_total(r.income, value == "JKK_JKM_JHT")
    await advance(context, turn, r, Step.PROGRAMS, programs=value, monthly_contribution=amount)


async def _period(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if not value.isdigit() or int(value) not in PERIODS:
        await stale(context, turn)
        return
    await advance(context, turn, r, Step.PERIOD, pay_period_months=int(value))


async def _payer(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value not in ("sendiri", "program"):
        await stale(context, turn)
        return
    fields: dict[str, Any] = {
        "payer": value,
        "sumber_iuran": "mandiri" if value == "sendiri" else None,
    }
    if value == "program":
        fields["pay_period_months"] = None  # the program pays: no period of the worker's own
    elif not r.pay_period_months and r.editing:
        # Changed to self-paying from the summary: the period was never asked, ask it now.
        await registrations.save_step(context.db, r.id, turn.id, FLOW, step=Step.PERIOD, **fields)
        await ask_current(context, turn, r.with_answers(**fields, step=Step.PERIOD))
        return
    await advance(context, turn, r, Step.PAYER, **fields)


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
def _reads_job(r: Registration, text: str) -> bool:
    return "?" not in text and check_free_text(text) is not None


def _reads_income(r: Registration, text: str) -> bool:
    return read_income(text).amount is not None


STEPS: dict[Step, StepDef] = {
    Step.OCCUPATION: StepDef(
        pressed=occupation_choice, hint=N_("Ketik pekerjaannya, misalnya Nelayan atau Petani.")
    ),
    Step.OCCUPATION_OTHER: StepDef(typed=_occupation_other, reads=_reads_job),
    Step.INCOME: StepDef(typed=_income_text, pressed=_income_choice, reads=_reads_income),
    Step.PROGRAMS: StepDef(pressed=_programs, hint=N_("Ketik JKK JKM, atau JKK JKM JHT.")),
    Step.PAYER: StepDef(pressed=_payer),
    Step.PERIOD: StepDef(pressed=_period, hint=N_("Ketik jumlah bulannya: 1, 3, 6 atau 12.")),
}
