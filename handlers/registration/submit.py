"""The summary's buttons: change one answer, or send the registration (or the fix a reviewer
asked for) with a reference number."""

from __future__ import annotations

import json
from typing import Any

from bot import clock
from bot.context import JagaContext
from bot.i18n import N_
from bot.registration import FIELDS, Step, check_nik, flags_for, reference
from handlers.common import Turn, say
from handlers.registration.asking import ask_current
from handlers.registration.common import FLOW, StepDef, log, scratch_with
from handlers.registration.flow import own_area, stale
from storage import registrations
from storage.registrations import Registration, Status


async def _summary_choice(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value.startswith("e:") and value[2:] in FIELDS:
        first = FIELDS[value[2:]][0]
        fields: dict[str, Any] = {"scratch": scratch_with(r, page=None, decade=None)}
        own = (
            await own_area(context, turn, r.with_answers(**fields))
            if first == Step.KABUPATEN
            else None
        )
        if own is not None:  # a cadre's or reviewer's address list starts at their own area
            first, area = own
            fields.update(area)
        await registrations.save_step(
            context.db, r.id, turn.id, FLOW, step=first, editing=1, **fields
        )
        await ask_current(context, turn)
        return
    if value == "send":
        if r.status == Status.NEEDS_FIX:
            await _resubmit(context, turn, r)
        else:
            await _submit(context, turn, r)
        return
    await stale(context, turn)


async def _flags(context: JagaContext, r: Registration) -> str:
    """The reviewer's flags for a registration as it is about to be (re)submitted, as JSON."""
    settings = context.settings
    duplicate_phone = False
    if r.phone_hash:
        duplicate_phone = await registrations.phone_in_use(
            context.db, r.phone_hash, other_than=r.id
        )
    today = clock.today()
    # The NIK's own birth date and sex, to compare with the answers as they are now.
    check = check_nik(context.cipher.decrypt(r.nik_enc), today) if r.nik_enc else None
    from_nik = None
    if check is not None and check.birth_date is not None and check.sex is not None:
        from_nik = (check.birth_date, check.sex)
    flags = flags_for(
        r.model_dump(),
        duplicate_phone=duplicate_phone,
        today=today,
        min_age=settings.min_age,
        max_age=settings.max_age,
        from_nik=from_nik,
    )
    return json.dumps(flags)


async def _submit(context: JagaContext, turn: Turn, r: Registration) -> None:
    """Turns the draft into a submission with a reference number and says what happens next."""
    _ = turn.gettext
    flags = await _flags(context, r)
    assert r.kabupaten_code is not None  # a draft at the summary has its address
    ref = reference(r.id, r.kabupaten_code)
    try:
        await registrations.submit(
            context.db, r.id, ref, flags, actor=str(turn.id), operator=turn.id
        )
    except registrations.DuplicateNik:
        await registrations.delete_draft(context.db, turn.id, flow=None)
        await say(
            context,
            turn.chat_id,
            _("NIK ini baru saja didaftarkan orang lain. Ketik /status untuk melihat statusnya."),
        )
        return
    log.info(
        "event=registration_submitted registration=%s ref=%s flags=%s",
        r.id,
        ref,
        ",".join(flags),
    )
    lines = [
        _("Terima kasih. Pendaftaran sudah kami terima."),
        "",
        _("Nomor pendaftaran: {ref}").format(ref=ref),
        _("Mohon simpan nomor ini."),
        "",
        _(
            "Langkah berikutnya: petugas dinas tenaga kerja kabupaten akan memeriksa data ini. "
            "Kabar akan dikirim lewat chat ini. Jika disetujui, petugas mendaftarkannya ke BPJS "
            "Ketenagakerjaan; data peserta biasanya baru muncul beberapa hari kemudian."
        ),
        "",
        _("Untuk melihat status, ketik /status."),
    ]
    if not r.for_self:
        lines.append(_("Untuk mendaftarkan orang lain lagi, ketik /daftar."))
    await say(context, turn.chat_id, "\n".join(lines))


async def _resubmit(context: JagaContext, turn: Turn, r: Registration) -> None:
    """Sends the corrected registration back to the reviewer's queue."""
    _ = turn.gettext
    flags = await _flags(context, r)
    done = await registrations.resubmit(
        context.db, r.id, flags, actor=str(turn.id), operator=turn.id
    )
    if not done:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    log.info("event=registration_resubmitted registration=%s ref=%s", r.id, r.ref)
    text = _(
        "Terima kasih. Perbaikan untuk {ref} sudah dikirim dan akan diperiksa lagi oleh petugas. "
        "Kabar akan dikirim lewat chat ini."
    ).format(ref=r.ref)
    await say(context, turn.chat_id, text)


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
STEPS: dict[Step, StepDef] = {
    Step.SUMMARY: StepDef(
        pressed=_summary_choice,
        hint=N_("Ketik Kirim jika data sudah benar, atau misalnya: Ubah nama."),
    )
}
