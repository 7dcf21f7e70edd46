"""The birth date: the check of the NIK's reading, a date typed whole or in parts at any of the
birth-date questions, and a typed date that differs from the NIK (kept, or the NIK's taken)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot import clock
from bot.context import JagaContext
from bot.i18n import N_
from bot.registration import (
    DateReading,
    Step,
    age_on,
    check_nik,
    match_choice,
    read_birth_date,
)
from handlers.common import Turn, say, typed_choices
from handlers.registration import person
from handlers.registration.asking import ask_current, offered_choices, short_question
from handlers.registration.common import FLOW, StepDef, scratch_with, step_of
from handlers.registration.flow import advance, again, stale
from storage import registrations
from storage.registrations import Registration

# Which part a lone number typed at each birth-date question is.
_ASKED = {
    Step.BIRTH_CONFIRM: "year",
    Step.BIRTH_YEAR: "year",
    Step.BIRTH_MONTH: "month",
    Step.BIRTH_DAY: "day",
}


async def nik_facts(context: JagaContext, r: Registration) -> tuple[dt.date, str] | None:
    """The birth date and sex the registration's NIK carries (kept in the draft's scratch since
    the NIK step, or read from the stored NIK)."""
    scratch = json.loads(r.scratch or "{}")
    if scratch.get("nik_birth") and scratch.get("nik_sex"):
        return dt.date.fromisoformat(scratch["nik_birth"]), str(scratch["nik_sex"])
    if not r.nik_enc:
        return None
    check = check_nik(context.cipher.decrypt(r.nik_enc), clock.today())
    if check.birth_date is None or check.sex is None:
        return None
    return check.birth_date, check.sex


async def birth_confirm(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    """The birth-date check answered: right (go on; after a typed date, the sex is asked), the
    NIK's date taken, or wrong (the year is asked)."""
    scratch = json.loads(r.scratch or "{}")
    if value == "yes" and scratch.get("birth_typed"):
        # The typed date is kept although the NIK says otherwise; the sex is asked next.
        await advance(
            context,
            turn,
            r,
            Step.BIRTH_DAY,
            scratch=scratch_with(r, correcting_birth=True, birth_typed=None),
        )
        return
    if value == "yes":
        await advance(
            context, turn, r, Step.BIRTH_CONFIRM, scratch=scratch_with(r, correcting_birth=None)
        )
        return
    if value == "nik":
        facts = await nik_facts(context, r)
        if facts is None:
            await stale(context, turn)
            return
        birth, sex = facts
        flags = set(json.loads(r.flags or "[]"))
        if r.sex == sex:
            flags.discard("birth_corrected")
        await advance(
            context,
            turn,
            r,
            Step.BIRTH_CONFIRM,
            birth_date=birth.isoformat(),
            flags=json.dumps(sorted(flags)),
            scratch=scratch_with(r, correcting_birth=None, birth_typed=None),
        )
        return
    if value == "no":
        await advance(
            context,
            turn,
            r,
            Step.BIRTH_CONFIRM,
            scratch=scratch_with(r, correcting_birth=True, decade=None, birth_typed=None),
        )
        return
    await stale(context, turn)


async def birth_day(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    """A day pressed: the date is complete; checked against the age limits and the NIK."""
    scratch = json.loads(r.scratch or "{}")
    try:
        birth = dt.date(scratch["birth_year"], scratch["birth_month"], int(value))
    except (KeyError, ValueError):
        await again(context, turn, turn.gettext("Tanggal itu tidak ada. Silakan pilih lagi."))
        return
    await take_date(context, turn, r, birth)


async def take_date(context: JagaContext, turn: Turn, r: Registration, birth: dt.date) -> None:
    """Stores a birth date given by hand. Outside the age limits the year is asked again; when
    it differs from the NIK's, the person hears so and chooses which one is kept; else the sex
    is asked."""
    age = age_on(birth, clock.today())
    settings = context.settings
    cleared: dict[str, Any] = {"birth_year": None, "birth_month": None, "decade": None}
    if not settings.min_age <= age <= settings.max_age:
        await registrations.save_step(
            context.db,
            r.id,
            turn.id,
            FLOW,
            step=Step.BIRTH_YEAR,
            scratch=scratch_with(r, correcting_birth=True, **cleared),
        )
        await again(
            context,
            turn,
            turn.gettext(
                "Dengan tanggal lahir itu umurnya {age} tahun. Pendaftaran ini untuk umur "
                "{low} sampai {high} tahun. "
                "Silakan pilih lagi, atau ketik /batal."
            ).format(age=age, low=settings.min_age, high=settings.max_age),
        )
        return
    facts = await nik_facts(context, r)
    if facts is not None and facts[0] != birth:
        # Said at once, with the choice: a NIK can carry a wrong date, so either may be right.
        fields: dict[str, Any] = {
            "step": Step.BIRTH_CONFIRM,
            "birth_date": birth.isoformat(),
            "scratch": scratch_with(
                r,
                correcting_birth=None,
                birth_typed=True,
                nik_birth=facts[0].isoformat(),
                nik_sex=facts[1],
                **cleared,
            ),
        }
        await registrations.save_step(context.db, r.id, turn.id, FLOW, **fields)
        await ask_current(context, turn, r.with_answers(**fields))
        return
    await advance(
        context,
        turn,
        r,
        Step.BIRTH_DAY,
        birth_date=birth.isoformat(),
        scratch=scratch_with(r, correcting_birth=True, birth_typed=None, **cleared),
    )


async def typed_date(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    """A message at a birth-date question: a date, whole ("15-5-80", "15 mei 1980") or in parts
    (what is missing is asked next), or else a button's word, or one line of what to type."""
    step = step_of(r)
    reading = read_birth_date(text, clock.today(), _ASKED[step])
    scratch = json.loads(r.scratch or "{}")
    known = step in (Step.BIRTH_MONTH, Step.BIRTH_DAY)
    year = reading.year or (scratch.get("birth_year") if known else None)
    month = reading.month or (scratch.get("birth_month") if step == Step.BIRTH_DAY else None)
    day = reading.day
    if reading == DateReading():  # no part of a date in the message
        await _by_button(context, turn, r, text)
        return
    if year is not None and month is not None and day is not None:
        try:
            birth = dt.date(year, month, day)
        except ValueError:
            await again(context, turn, turn.gettext("Tanggal itu tidak ada. Silakan pilih lagi."))
            return
        facts = await nik_facts(context, r)
        if step == Step.BIRTH_CONFIRM and r.birth_date == birth.isoformat() == (
            facts[0].isoformat() if facts else None
        ):
            await birth_confirm(context, turn, r, "yes")  # the date shown, typed back
            return
        await take_date(context, turn, r, birth)
        return
    # Part of a date: what was given is kept and the first missing part is asked.
    following = (
        Step.BIRTH_YEAR if year is None else Step.BIRTH_MONTH if month is None else Step.BIRTH_DAY
    )
    fields: dict[str, Any] = {
        "step": following,
        "scratch": scratch_with(
            r,
            correcting_birth=True,
            birth_typed=None,
            birth_year=year,
            birth_month=month,
            decade=None,
        ),
    }
    await registrations.save_step(context.db, r.id, turn.id, FLOW, **fields)
    await ask_current(context, turn, r.with_answers(**fields))


async def _by_button(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    """A message with no date in it: a button's label or other word for it, or else one line of
    what can be typed."""
    _ = turn.gettext
    step = step_of(r)
    choices = offered_choices(turn, r)
    picked = match_choice(text, choices)
    if picked is not None:
        pressed = STEPS[step].pressed
        assert pressed is not None  # every date question offers choices
        await pressed(context, turn, r, picked.value)
        return
    if (known := STEPS[step].hint) is not None:
        hint = _(known)
    else:
        hint = typed_choices(turn.tr, [c.label for c in choices if c.shown])
    _short, markup = short_question(turn, r)
    await say(context, turn.chat_id, hint, markup)


# The questions of the birth date: a whole or partial date typed at any of them is read here
# (the check against the NIK is this part's); the year and month pickers are person.py's.
STEPS: dict[Step, StepDef] = {
    Step.BIRTH_CONFIRM: StepDef(typed=typed_date, pressed=birth_confirm),
    Step.BIRTH_YEAR: StepDef(
        typed=typed_date,
        pressed=person.birth_year,
        hint=N_("Ketik tahun lahirnya, misalnya 1985."),
    ),
    Step.BIRTH_MONTH: StepDef(
        typed=typed_date,
        pressed=person.birth_month,
        hint=N_("Ketik nama bulannya (misalnya Agustus) atau angkanya (8)."),
    ),
    Step.BIRTH_DAY: StepDef(
        typed=typed_date, pressed=birth_day, hint=N_("Ketik tanggalnya saja, misalnya 17.")
    ),
}
