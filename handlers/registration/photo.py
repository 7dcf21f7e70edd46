"""A photo of the KTP at the NIK step.

The photo is read in memory and dropped; what was read waits, encrypted, in the draft's scratch
("ktp") until the person confirms it, and only then fills the registration (SECURITY.md).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError

from bot import clock, ktp
from bot.context import JagaContext
from bot.i18n import N_
from bot.registration import (
    Step,
    check_name,
    check_nik,
    format_nik,
    kabupaten_choices,
    region_name,
)
from handlers.common import Keyboard, Sent, Turn, answer_button, columns, edit, layout, say
from handlers.registration.asking import ask_current, ktp_prompt
from handlers.registration.common import FLOW, MAX_MESSAGE, fit, log, scratch_with, turn_region
from handlers.registration.entry import daftar
from handlers.registration.flow import advance, again
from handlers.registration.nik import fields_from_nik
from storage import registrations, users
from storage.registrations import Registration, Status

KTP_FIELDS = {"nik": N_("Ubah NIK"), "name": N_("Ubah nama"), "birth": N_("Ubah tgl lahir"),
              "address": N_("Ubah alamat")}  # fmt: skip


def image_of(message: Message) -> tuple[str, int | None] | None:
    """The file id and size of a photo, or of a document sent at the NIK step (read as one)."""
    if message.photo:
        biggest = message.photo[-1]
        return biggest.file_id, biggest.file_size
    if message.document is not None:
        return message.document.file_id, message.document.file_size
    return None


async def photo_start(update: Update, context: JagaContext) -> None:
    """Starts (or continues) a registration that takes the NIK from a KTP photo; asks consent."""
    turn = await Turn.load(update, context)
    current = await registrations.active_of(context.db, turn.id)
    if current is not None and current.step == Step.NIK:
        await registrations.save_step(
            context.db, current.id, turn.id, FLOW, scratch=scratch_with(current, by_photo=1)
        )
        await ask_current(context, turn)
        return
    if current is not None and current.status == Status.DRAFT and current.step != Step.CONSENT:
        await daftar(update, context)
        return
    scratch = json.dumps({"by_photo": 1})
    await registrations.create_draft(context.db, turn.id, Step.CONSENT, flow=FLOW, scratch=scratch)
    await ask_current(context, turn)


async def _ktp_problem(
    context: JagaContext, turn: Turn, problem: str, status: Sent | None = None
) -> None:
    """One line of why the photo cannot be used, with [Coba lagi] [Ketik saja]."""
    _ = turn.gettext
    keyboard = layout([[(_("Coba lagi"), "KTP retry"), (_("Ketik saja"), "KTP type")]])
    text = _(ktp.PROBLEM_MESSAGES[problem])
    if status is not None:
        await edit(context, status, text, keyboard)
        return
    await say(context, turn.chat_id, text, keyboard)


# Photos being read now, by user: the album (media group) each came in, or None.
_reading: dict[int, str | None] = {}
_tasks: set[asyncio.Task[None]] = set()


async def settled() -> None:
    """Waits until every photo being read is answered (for the tests and the bench)."""
    while _tasks:
        await asyncio.gather(*_tasks, return_exceptions=True)


def _wait_budget(context: JagaContext) -> float:
    """How long the update waits for its photo before the reading goes on beside it.

    The worker reads one photo at a time: behind other people's photos, or at its first start
    on a busy machine, a reading can outlast the update's time bound, which would cut it off
    and tell the person to try again. Past this budget the update ends (the person's next
    message is answered meanwhile) and the reading edits the "reading…" message when done.
    """
    bound = context.settings.handler_timeout_seconds
    return max(0.0, min(bound - 1.0, bound * 0.7))


async def ktp_photo(context: JagaContext, turn: Turn, r: Registration, message: Message) -> None:
    """Reads a KTP photo in memory, keeps the reading encrypted, and shows it to be confirmed."""
    image = image_of(message)
    assert image is not None
    file_id, size = image
    album = message.media_group_id
    if album is not None and (
        album == json.loads(r.scratch or "{}").get("ktp_album")
        or (turn.id in _reading and _reading[turn.id] == album)
    ):
        # Two photos sent together (an album): the first one read is the one shown.
        log.info("event=ktp_photo_skipped registration=%s reason=album", r.id)
        return
    if turn.id in _reading:
        await say(
            context,
            turn.chat_id,
            turn.gettext("Foto Anda sebelumnya masih dibaca. Mohon tunggu sebentar."),
        )
        return
    document = message.document
    if document is not None and not (document.mime_type or "").startswith("image/"):
        await _ktp_problem(context, turn, "not_image")
        return
    if size is not None and size > ktp.MAX_BYTES:
        log.info("event=ktp_photo_refused registration=%s reason=too_large", r.id)
        await _ktp_problem(context, turn, "too_large")
        return
    status = await say(context, turn.chat_id, turn.gettext("Sedang membaca foto…"))
    _reading[turn.id] = album
    task = asyncio.get_running_loop().create_task(
        _read_and_show(context, turn, r.id, file_id, status, album)
    )
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    await asyncio.wait({task}, timeout=_wait_budget(context))


async def _read_and_show(
    context: JagaContext,
    turn: Turn,
    registration_id: int,
    file_id: str,
    status: Sent,
    album: str | None,
) -> None:
    """Downloads and reads the photo, then shows the reading (or the problem) in `status`."""
    try:
        await _read_photo(context, turn, registration_id, file_id, status, album)
    except Exception as exc:  # as for any handler: logged and the admins told; the person hears
        log.exception("event=ktp_photo_failed registration=%s", registration_id)
        try:
            await _ktp_problem(context, turn, "failed", status)
        finally:
            await context.application.process_error(None, exc)
    finally:
        _reading.pop(turn.id, None)


async def _read_photo(
    context: JagaContext,
    turn: Turn,
    registration_id: int,
    file_id: str,
    status: Sent,
    album: str | None,
) -> None:
    try:
        telegram_file = await context.bot.get_file(file_id)
        if telegram_file.file_size is not None and telegram_file.file_size > ktp.MAX_BYTES:
            await _ktp_problem(context, turn, "too_large", status)
            return
        data = bytes(await telegram_file.download_as_bytearray())  # in memory only, not on disk
    except TelegramError as exc:  # the file could not be fetched now: asked for again
        log.warning("event=ktp_photo_fetch_failed registration=%s error=%s", registration_id, exc)
        await _ktp_problem(context, turn, "failed", status)
        return
    reading = await ktp.read_ktp(data, today=clock.today())
    del data
    log.info("event=ktp_photo registration=%s problem=%s", registration_id, reading.problem or "-")
    # The person may have moved on while it was read (typed the NIK, /batal): not kept.
    r = await registrations.active_of(context.db, turn.id)
    user = await users.get_or_create(context.db, turn.id)
    if r is None or r.id != registration_id or r.step != Step.NIK or user.active_flow != FLOW:
        log.info("event=ktp_photo_dropped registration=%s reason=moved_on", registration_id)
        await edit(context, status, turn.gettext("Foto ini tidak dipakai lagi."))
        return
    if reading.problem is None and reading.nik is None:
        reading.problem = "no_nik"
    if reading.problem is not None:
        await _ktp_problem(context, turn, reading.problem, status)
        return
    sealed = base64.b64encode(context.cipher.encrypt(reading.model_dump_json())).decode()
    await registrations.save_step(
        context.db,
        r.id,
        turn.id,
        FLOW,
        scratch=scratch_with(r, ktp=sealed, ktp_skip=None, ktp_album=album),
    )
    text, keyboard = _ktp_summary(turn, r, reading)
    await edit(context, status, text, keyboard)


def _pending_reading(context: JagaContext, r: Registration) -> ktp.KtpReading | None:
    """The reading waiting for confirmation, decrypted, or None."""
    sealed = json.loads(r.scratch or "{}").get("ktp")
    if not sealed:
        return None
    return ktp.KtpReading.model_validate_json(context.cipher.decrypt(base64.b64decode(sealed)))


# Parts of a reading worth checking again when the photo showed them poorly.
_UNSURE = {"nik": N_("NIK"), "name": N_("nama"), "birth_date": N_("tanggal lahir"),
           "address": N_("alamat"), "desa": N_("desa")}  # fmt: skip


def _ktp_summary(turn: Turn, r: Registration, reading: ktp.KtpReading) -> tuple[str, Keyboard]:
    """What was read, in one short message, with [Benar] and the [Ubah …] buttons."""
    _ = turn.gettext
    assert reading.nik is not None
    lines = [
        _("Dari foto KTP, kami membaca:"),
        _("NIK: {nik}").format(nik=format_nik(reading.nik)),
    ]
    lines.append(_("Nama: {name}").format(name=reading.name or "-"))
    if reading.birth_date is not None:
        lines.append(_("Tanggal lahir: {date}").format(date=turn.tr.date(reading.birth_date)))
    if reading.sex is not None:
        sex = _("Laki-laki") if reading.sex == "L" else _("Perempuan")
        lines.append(_("Jenis kelamin: {sex}").format(sex=sex))
    address = ", ".join(
        p for p in (reading.address, reading.rt_rw and "RT/RW " + reading.rt_rw) if p
    )
    if address:
        lines.append(_("Alamat: {address}").format(address=address))
    if reading.desa_code:
        lines.append(
            _("Desa: {desa}, Kec. {kecamatan}").format(
                desa=region_name(reading.desa_code), kecamatan=region_name(reading.kecamatan_code)
            )
        )
    unsure = [
        _(word)
        for field, word in _UNSURE.items()
        if reading.confidence.get(field, 1) < ktp.LOW_CONFIDENCE
    ]
    if unsure:
        lines.append(
            _("Kurang jelas di foto, mohon periksa: {parts}.").format(parts=", ".join(unsure))
        )
    lines += ["", _("Apakah ini benar?")]
    text = fit("\n".join(lines), MAX_MESSAGE)
    edits = [(_(label), f"KTP edit {field}") for field, label in KTP_FIELDS.items()]
    return text, layout([[(_("Benar"), "KTP ok")], *columns(edits, 2)])


async def ktp_button(update: Update, context: JagaContext) -> None:
    """Takes a press on the photo's buttons: confirm, change one part, try again or type."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_button(query)
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    r = await registrations.active_of(context.db, turn.id)
    if r is None or r.step != Step.NIK:
        await again(context, turn, _("Tombol ini sudah tidak berlaku."), r)
        return
    await users.set_active_flow(context.db, turn.id, FLOW)
    me = bool(r.for_self)
    if parts[1] in ("retry", "how"):
        await registrations.save_step(
            context.db, r.id, turn.id, FLOW, scratch=scratch_with(r, ktp=None, by_photo=1)
        )
        await say(
            context, turn.chat_id, ktp_prompt(turn, me), layout([[(_("Ketik saja"), "KTP type")]])
        )
        return
    if parts[1] == "type":
        await registrations.save_step(
            context.db,
            r.id,
            turn.id,
            FLOW,
            scratch=scratch_with(r, ktp=None, ktp_skip=None, by_photo=None),
        )
        await ask_current(context, turn)
        return
    reading = _pending_reading(context, r)
    if reading is None:
        await again(context, turn, _("Tombol ini sudah tidak berlaku."), r)
        return
    skip = parts[2] if parts[1] == "edit" else json.loads(r.scratch).get("ktp_skip")
    if parts[1] == "from":
        await _ktp_apply(context, turn, r, reading, skip, from_card=parts[2] == "card")
        return
    if reading.mismatches and skip not in ("nik", "birth"):
        await registrations.save_step(
            context.db, r.id, turn.id, FLOW, scratch=scratch_with(r, ktp_skip=skip)
        )
        await say(context, turn.chat_id, *_mismatch_question(turn, reading))
        return
    await _ktp_apply(context, turn, r, reading, skip, from_card=False)


def _mismatch_question(turn: Turn, reading: ktp.KtpReading) -> tuple[str, Keyboard]:
    """The NIK and the printed card disagree: both shown, the person says which is right."""
    _ = turn.gettext
    assert reading.nik is not None
    check = check_nik(reading.nik, clock.today())
    lines = []
    if "birth_date" in reading.mismatches and check.birth_date and reading.birth_date:
        lines.append(
            _("Tanggal lahir di NIK {nik}, di kartu {card}.").format(
                nik=turn.tr.date(check.birth_date), card=turn.tr.date(reading.birth_date)
            )
        )
    if "sex" in reading.mismatches:
        words = {"L": _("Laki-laki"), "P": _("Perempuan")}
        lines.append(
            _("Jenis kelamin di NIK {nik}, di kartu {card}.").format(
                nik=words.get(check.sex or "", "-"), card=words.get(reading.sex or "", "-")
            )
        )
    lines.append(_("Mana yang benar?"))
    keyboard = layout([[(_("Sesuai NIK"), "KTP from nik"), (_("Sesuai kartu"), "KTP from card")]])
    return "\n".join(lines), keyboard


async def _ktp_apply(
    context: JagaContext,
    turn: Turn,
    r: Registration,
    reading: ktp.KtpReading,
    skip: str | None,
    *,
    from_card: bool,
) -> None:
    """Stores what the person confirmed (all but `skip`), then asks the next open question."""
    _ = turn.gettext
    fields: dict[str, Any] = {}
    done: list[str] = []
    base = r.with_answers(scratch=scratch_with(r, ktp=None, ktp_skip=None, by_photo=None))
    if skip != "nik":
        assert reading.nik is not None
        nik_fields = await fields_from_nik(context, turn, base, reading.nik)
        if nik_fields is None:  # the problem was said; the reading is not kept
            if await registrations.active_of(context.db, turn.id) is not None:
                await registrations.save_step(
                    context.db, r.id, turn.id, FLOW, scratch=base.scratch
                )
            return
        fields.update(nik_fields)
        base = base.with_answers(scratch=nik_fields["scratch"])
        if skip == "birth":
            base = base.with_answers(
                scratch=scratch_with(base, correcting_birth=True, decade=None)
            )
            done.append(Step.BIRTH_CONFIRM)
        else:
            done.append(Step.BIRTH_CONFIRM)
            if from_card and reading.mismatches:
                flags = {*json.loads(fields["flags"]), "birth_corrected"}
                fields["flags"] = json.dumps(sorted(flags))
                if "birth_date" in reading.mismatches and reading.birth_date is not None:
                    fields["birth_date"] = reading.birth_date.isoformat()
                if "sex" in reading.mismatches and reading.sex is not None:
                    fields["sex"] = reading.sex
    name = check_name(reading.name) if reading.name and skip != "name" else None
    if name is not None:
        fields["name"] = name
        done.append(Step.NAME)
    desa = reading.desa_code
    served = {w.code for w in kabupaten_choices(turn_region(r, json.loads(base.scratch)))}
    if skip != "address" and desa and desa[:5] in served:
        fields.update(kabupaten_code=desa[:5], kecamatan_code=desa[:8], desa_code=desa)
        done += [Step.KABUPATEN, Step.KECAMATAN, Step.DESA]
    fields["scratch"] = scratch_with(base, ktp_done=[str(s) for s in done] or None)
    log.info("event=ktp_confirmed registration=%s changed=%s", r.id, skip or "-")
    note = _("Terima kasih, data dari foto sudah disimpan.")
    if skip == "nik":
        await registrations.save_step(context.db, r.id, turn.id, FLOW, **fields)
        text = (
            _("Ketik NIK Anda (16 angka).")
            if r.for_self
            else _("Ketik NIK orang yang didaftarkan (16 angka).")
        )
        await say(context, turn.chat_id, f"{note}\n\n{text}")
        return
    await advance(context, turn, r, Step.NIK, note=note, **fields)
