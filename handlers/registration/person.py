"""The person's details: name, birth date and sex (when the NIK's reading was wrong), mother's
name and phone number."""

from __future__ import annotations

import json
from typing import Any

from bot.context import JagaContext
from bot.i18n import N_
from bot.registration import (
    Step,
    check_name,
    check_phone,
    find_phone,
    is_chat_word,
    looks_like_question,
    name_of_answer,
    normalise,
)
from handlers.common import Turn, clear_keyboard, say
from handlers.registration.asking import ask_current
from handlers.registration.common import FLOW, StepDef, TextAnswer, scratch_with
from handlers.registration.flow import advance, again, stale
from storage import registrations
from storage.registrations import Registration

NAME_RULE = N_(
    "Nama hanya boleh berisi huruf, spasi, titik (.), tanda petik (') dan tanda hubung (-), "
    "2 sampai 100 huruf. Silakan ketik lagi."
)

# A yes, a thanks or a greeting typed where a name is asked.
NOT_A_NAME_HINT = N_("Itu belum terbaca sebagai nama.")


def _name_answer(step: Step, column: str) -> TextAnswer:
    """A typed answer that must be a person's name, stored (tidied) in `column`."""

    async def answer(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
        if is_chat_word(text):
            await again(context, turn, turn.gettext(NOT_A_NAME_HINT), r)
            return
        name = check_name(name_of_answer(text))  # "nama sy budi" is Budi
        if name is None:
            await again(context, turn, turn.gettext(NAME_RULE))
            return
        await advance(context, turn, r, step, **{column: name})

    return answer


async def birth_year(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value == "back" or value.startswith("d"):
        decade = None if value == "back" else int(value[1:])
        await registrations.save_step(
            context.db, r.id, turn.id, FLOW, scratch=scratch_with(r, decade=decade)
        )
        await ask_current(context, turn)
        return
    await advance(
        context, turn, r, Step.BIRTH_YEAR, scratch=scratch_with(r, birth_year=int(value))
    )


async def birth_month(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    await advance(
        context, turn, r, Step.BIRTH_MONTH, scratch=scratch_with(r, birth_month=int(value))
    )


async def _sex(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    flags = sorted({*json.loads(r.flags), "birth_corrected"})
    await advance(
        context,
        turn,
        r,
        Step.SEX,
        sex=value,
        flags=json.dumps(flags),
        scratch=scratch_with(
            r, correcting_birth=None, decade=None, birth_year=None, birth_month=None
        ),
    )


async def _phone_text(
    context: JagaContext, turn: Turn, r: Registration, text: str, shared: bool = False
) -> None:
    phone = find_phone(text)
    if phone is None:
        await again(
            context,
            turn,
            turn.gettext("Nomor HP itu tidak bisa saya baca. Tulis misalnya 0812 3456 7890."),
        )
        return
    await _store_phone(context, turn, r, phone, shared)


async def answer_contact(
    context: JagaContext, turn: Turn, r: Registration, number: str, owner: int | None
) -> None:
    if not r.for_self:
        # Someone else is registered: their contact card, shared from the phone book, is
        # their number.
        await _phone_text(context, turn, r, number)
        return
    if owner != turn.id:
        await again(
            context,
            turn,
            turn.gettext(
                "Itu nomor orang lain. Tekan tombol untuk mengirim nomor Anda sendiri, atau "
                "ketik nomornya."
            ),
        )
        return
    await _phone_text(context, turn, r, number, True)  # the shared number, checked as if typed


async def _store_phone(
    context: JagaContext, turn: Turn, r: Registration, phone: str, shared: bool
) -> None:
    confirmation = turn.gettext("Nomor HP: {phone}").format(phone=phone)
    fields: dict[str, Any] = {
        "phone_enc": context.cipher.encrypt(phone),
        "phone_hash": context.cipher.lookup_hash("phone", phone),
    }
    if r.for_self and not shared:
        # The share-phone keyboard (hidden by itself once pressed) must go before the next
        # (inline) question; that takes a message of its own.
        await say(context, turn.chat_id, confirmation, clear_keyboard())
        await advance(context, turn, r, Step.PHONE, **fields)
        return
    await advance(context, turn, r, Step.PHONE, note=confirmation, **fields)


async def _no_phone(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if r.for_self:  # the self-registration keyboard has no such button
        await stale(context, turn)
        return
    await advance(context, turn, r, Step.PHONE, phone_enc=None, phone_hash=None)


# Words for a phone in chat ("hp nya gak ada", "blm pny nomor").
_PHONE_WORDS = frozenset({"hp", "handphone", "ponsel", "nomor", "no", "telepon", "telpon", "wa"})
_HAVING_WORDS = frozenset({"punya", "pny", "ada", "pegang"})
_NOT_WORDS = frozenset({"tidak", "belum", "bukan"})
# Someone else's phone used ("pake hp anak", "numpang hp istri").
_BORROW_WORDS = frozenset({"pakai", "pake", "pinjam", "minjam", "numpang", "nebeng", "ikut"})
_WHY_WORDS = frozenset({"kenapa", "mengapa", "apa", "gunanya", "fungsinya", "perlu", "why"})


def phone_talk(text: str) -> str | None:
    """What a typed message at the phone question says instead of a number: "none" (no phone,
    "dia blm punya hp gmn?"), "family" (a relative's phone is used) or "why" (why it is asked)."""
    words = normalise(text).split()
    present = set(words)
    phone = bool(present & _PHONE_WORDS)
    if phone and present & _BORROW_WORDS:
        return "family"
    if present & _NOT_WORDS and present & _HAVING_WORDS and (phone or len(words) <= 3):
        return "none"
    asks_why = (
        "kenapa" in present
        or "mengapa" in present
        or (present & {"untuk", "buat"} and present & _WHY_WORDS)
    )
    if phone and asks_why:
        return "why"
    return None


async def answer_phone_talk(context: JagaContext, turn: Turn, r: Registration, text: str) -> bool:
    """Answers "tidak punya HP", "pakai HP anak" or "untuk apa no HP" typed at the phone
    question (no phone is stored, a relative's number is asked for, or the reason given);
    False when the message is none of these."""
    _ = turn.gettext
    talk = phone_talk(text)
    if talk is None or find_phone(text) is not None:
        return False
    if talk == "none" and not r.for_self:
        await _no_phone(context, turn, r, "none")
    elif talk == "why":
        await again(
            context,
            turn,
            _("Nomor HP dipakai untuk mengirim kabar tentang pendaftaran ini."),
            r,
        )
    elif r.for_self:  # no "no phone" button for oneself: a relative's number is asked for
        await again(
            context,
            turn,
            _("Nomor HP keluarga juga boleh. Silakan ketik nomornya."),
            r,
        )
    else:
        await again(
            context,
            turn,
            _("Nomor HP keluarga juga boleh. Ketik nomornya, atau tekan Tidak punya HP."),
            r,
        )
    return True


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
def name_like(text: str) -> bool:
    """Whether `text` reads as a name: "apa harus sesuai ktp" has only letters but asks."""
    words = normalise(text).split()
    asks = len(words) >= 2 and looks_like_question(text)
    return not asks and not is_chat_word(text) and check_name(name_of_answer(text)) is not None


def _reads_name(r: Registration, text: str) -> bool:
    return name_like(text)


def _reads_phone(r: Registration, text: str) -> bool:
    return check_phone(text) is not None


STEPS: dict[Step, StepDef] = {
    Step.NAME: StepDef(typed=_name_answer(Step.NAME, "name"), reads=_reads_name),
    Step.SEX: StepDef(pressed=_sex),
    Step.MOTHER: StepDef(typed=_name_answer(Step.MOTHER, "mother_name"), reads=_reads_name),
    Step.PHONE: StepDef(typed=_phone_text, pressed=_no_phone, reads=_reads_phone),
}
