"""Moving through the questions: store an answer and ask the next, start the address at a cadre's
or reviewer's own area, or say what was wrong and ask the same question again."""

from __future__ import annotations

import json
from typing import Any

from bot.access import access_of
from bot.channels import is_whatsapp, wa_id_of
from bot.context import JagaContext
from bot.registration import Step, kabupaten_choices, next_step, previous_step
from handlers.common import Turn, say
from handlers.registration.asking import ask_current, short_question
from handlers.registration.common import FLOW, scratch_with, turn_region
from storage import registrations
from storage.registrations import Registration, Status


async def advance(
    context: JagaContext,
    turn: Turn,
    r: Registration,
    step: Step,
    *,
    note: str | None = None,
    **fields: Any,
) -> None:
    """Store the answer and the next step in one commit, then ask the next question (after
    `note`, in the same message)."""
    merged = r.with_answers(**fields)
    scratch = json.loads(merged.scratch or "{}")
    following = next_step(step, merged, scratch.get("fixing"))
    if following == Step.PHONE and _number_known(turn, merged):
        # WhatsApp gives the person's own number: taken, shown in this message, and changeable
        # from the summary like any answer.
        phone = f"+{wa_id_of(turn.id)}"
        given = {
            "phone_enc": context.cipher.encrypt(phone),
            "phone_hash": context.cipher.lookup_hash("phone", phone),
        }
        fields.update(given)
        merged = merged.with_answers(**given)
        shown = turn.gettext("Nomor HP: {phone} (nomor WhatsApp Anda)").format(phone=phone)
        note = f"{note}\n\n{shown}" if note else shown
        following = next_step(Step.PHONE, merged, scratch.get("fixing"))
    # Questions answered from a confirmed KTP photo are not asked again on the way forward.
    from_photo = set(scratch.get("ktp_done", ()))
    while following in from_photo and following != Step.SUMMARY and not merged.editing:
        following = next_step(following, merged)
    if following == Step.KABUPATEN:
        own = await own_area(context, turn, merged)
        if own is not None:
            following, area = own
            fields.update(area)
            merged = merged.with_answers(**area)
    back_to = scratch.get("back_to")
    if back_to and following == Step.SUMMARY and merged.status == Status.DRAFT:
        # A correction typed at a later question (see messages.py): once the corrected answer
        # is in, the form goes on from the question where it was typed.
        following = Step(back_to)
        fields.update(editing=0, scratch=scratch_with(merged, back_to=None))
        merged = merged.with_answers(**fields)
    if following == Step.SUMMARY and merged.status == Status.DRAFT:
        fields.setdefault("editing", 1)  # from the summary on, a change returns to it
    await registrations.save_step(context.db, r.id, turn.id, FLOW, step=following, **fields)
    # What was just committed, so the next question needs no read-back.
    await ask_current(context, turn, merged.with_answers(**fields, step=following), note)


def _number_known(turn: Turn, r: Registration) -> bool:
    """Whether the phone question can be skipped: a WhatsApp person registering themselves,
    for the first time (a change asked from the summary or by a reviewer is asked)."""
    return bool(is_whatsapp(turn.id) and r.for_self and not r.editing and not r.phone_hash)


async def own_area(
    context: JagaContext, turn: Turn, r: Registration
) -> tuple[Step, dict[str, Any]] | None:
    """Where the address questions start for a cadre (their kecamatan's desa, their desa first)
    or a reviewer (their kabupaten's kecamatan); None for everyone else."""
    access = await access_of(context.db, context.settings, turn.id)
    served = {w.code for w in kabupaten_choices(turn_region(r, json.loads(r.scratch or "{}")))}
    for code in access.cadre_regions:
        if code.count(".") >= 2 and code[:5] in served:
            return Step.DESA, {
                "kabupaten_code": code[:5],
                "kecamatan_code": code[:8],
                "desa_code": None,
                "scratch": scratch_with(r, home=code, page=None),
            }
    for code in access.reviewer_regions:
        if code.count(".") >= 1 and code[:5] in served:
            return Step.KECAMATAN, {
                "kabupaten_code": code[:5],
                "kecamatan_code": None,
                "desa_code": None,
                "scratch": scratch_with(r, home=code[:5], page=None),
            }
    return None


async def again(
    context: JagaContext, turn: Turn, problem: str, r: Registration | None = None
) -> None:
    """Say what was wrong and ask the same question again, short, in one message."""
    if r is None:
        r = await registrations.active_of(context.db, turn.id)
    if r is None or r.step is None:
        await say(context, turn.chat_id, problem)
        return
    short, keyboard = short_question(turn, r)
    await say(context, turn.chat_id, f"{problem}\n\n{short}", keyboard)


async def go_back(context: JagaContext, turn: Turn, r: Registration) -> None:
    """ "salah", "ulang", "kembali" alone: asks the previous question that applied again, or
    (at the first question, or while changing an answer) says the summary allows any change."""
    step = Step(r.step or Step.CONSENT)
    previous = previous_step(step, r)
    if previous is None or r.editing or step == Step.SUMMARY or r.status != Status.DRAFT:
        await again(
            context,
            turn,
            turn.gettext(
                "Semua jawaban bisa diubah di ringkasan sebelum dikirim (tombol Ubah …)."
            ),
            r,
        )
        return
    scratch = scratch_with(r, page=None, decade=None)
    await registrations.save_step(context.db, r.id, turn.id, FLOW, step=previous, scratch=scratch)
    note = turn.gettext("Baik, kembali ke pertanyaan sebelumnya.")
    await ask_current(context, turn, r.with_answers(step=previous, scratch=scratch), note)


async def stale(context: JagaContext, turn: Turn) -> None:
    """A button value this question does not offer (an old or forged button): ask again."""
    await again(context, turn, turn.gettext("Tombol ini sudah tidak berlaku."))
