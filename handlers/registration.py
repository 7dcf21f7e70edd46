"""/daftar: a worker registers (or a cadre registers a neighbour), one question at a time.

Every answer is committed to the registration row before the next question is sent, so a
restart continues at the same question. Buttons carry `REG <step> <value>`; a press whose step
is not the one the registration waits for is a stale button and is answered as such.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot import clock, ktp
from bot.access import access_of, within
from bot.context import JagaContext
from bot.contributions import Quote, load_table, payer_of, quote, sector_of
from bot.crypto import mask_nik
from bot.i18n import N_
from bot.knowledge import parse_contribution_question
from bot.registration import (
    CONSENT_VERSION,
    EXAMPLE_NIK,
    FIELDS,
    HEIR_LABELS,
    HEIR_RELATIONS,
    OCCUPATION_CODES,
    OCCUPATION_LABELS,
    ORDER,
    PERIODS,
    PROGRAM_LABELS,
    QUESTION_WORDS,
    STATUS_WORDS,
    SYNONYMS,
    Choice,
    Step,
    age_on,
    check_free_text,
    check_income,
    check_name,
    check_nik,
    check_phone,
    children,
    flags_for,
    format_nik,
    is_help,
    kabupaten_choices,
    looks_like_question,
    match_choice,
    next_step,
    normalise,
    progress,
    reference,
    region_name,
    search_regions,
    split_heir,
)
from handlers import cadres, questions
from handlers.common import Button, Keyboard, Turn, answer_button, columns, inline, say
from storage import registrations, review, users

log = logging.getLogger(__name__)

FLOW = "daftar"
# What /batal says for this flow (handlers/router.py): the answers are kept, not deleted.
CANCEL_TEXT = N_(
    "Pendaftaran dihentikan. Jawaban Anda tetap tersimpan: ketik /daftar untuk melanjutkan, "
    "atau /start untuk ke menu."
)
# No message is longer than this: people read slowly on small screens.
MAX_MESSAGE = 600
# A step's handler of a typed answer or a button value: (context, turn, registration, input).
TextAnswer = Callable[[JagaContext, Turn, dict[str, Any], str], Coroutine[Any, Any, None]]
PAGE_SIZE = 10

FIELD_LABELS = {
    "nik": N_("Ubah NIK"),
    "name": N_("Ubah nama"),
    "birth_date": N_("Ubah tgl lahir"),
    "mother_name": N_("Ubah nama ibu"),
    "phone": N_("Ubah no. HP"),
    "address": N_("Ubah alamat"),
    "occupation": N_("Ubah pekerjaan"),
    "income": N_("Ubah penghasilan"),
    "programs": N_("Ubah program"),
    "pay_period": N_("Ubah masa bayar"),
    "payer": N_("Ubah pembayar"),
    "heir": N_("Ubah ahli waris"),
}
MONTHS = (
    N_("Januari"),
    N_("Februari"),
    N_("Maret"),
    N_("April"),
    N_("Mei"),
    N_("Juni"),
    N_("Juli"),
    N_("Agustus"),
    N_("September"),
    N_("Oktober"),
    N_("November"),
    N_("Desember"),
)


# --- entry points -------------------------------------------------------------------------------


async def daftar(update: Update, context: JagaContext) -> None:
    """Starts a registration with the consent question, or offers to continue an unsent one."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    current = await registrations.active_of(context.db, turn.id)
    if current is not None and current["status"] == "draft" and current["step"] != Step.CONSENT:
        await users.set_active_flow(context.db, turn.id, FLOW)
        done, total = progress(current)
        keyboard = inline(
            [
                [(_("Lanjutkan ({done} dari {total} terisi)").format(done=done, total=total),
                  "REGX go")],
                [(_("Mulai dari awal"), "REGX new")],
            ]
        )  # fmt: skip
        await say(
            context,
            turn.chat_id,
            _("Ada pendaftaran yang belum selesai. Lanjutkan dari pertanyaan terakhir?"),
            keyboard,
        )
        return
    waiting = (
        None if current is not None else await registrations.waiting_fix_of(context.db, turn.id)
    )
    if waiting is not None:
        # A fix stopped with /batal is resumed here, not by registering the same NIK again.
        keyboard = inline(
            [[(_("Perbaiki data"), f"FIX {waiting['id']}")], [(_("Daftar baru"), "REGX new")]]
        )
        await say(
            context,
            turn.chat_id,
            _(
                "Pendaftaran {ref} menunggu perbaikan. Tekan «Perbaiki data» untuk "
                "melanjutkannya, atau «Daftar baru» untuk mendaftarkan orang lain."
            ).format(ref=waiting["ref"]),
            keyboard,
        )
        return
    await _start_new(context, turn)


async def _start_new(context: JagaContext, turn: Turn) -> None:
    await registrations.create_draft(context.db, turn.id, Step.CONSENT)
    await users.set_active_flow(context.db, turn.id, FLOW)
    await _ask_current(context, turn)


async def resume_choice(update: Update, context: JagaContext) -> None:
    """Continues the unsent registration at its question, or starts over."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_button(query)
    turn = await Turn.load(update, context)
    if query.data == "REGX new":
        await _start_new(context, turn)
        return
    if await registrations.active_of(context.db, turn.id) is None:
        await say(context, turn.chat_id, turn.gettext("Tidak ada pendaftaran yang belum selesai."))
        await _start_new(context, turn)
        return
    await users.set_active_flow(context.db, turn.id, FLOW)
    await _ask_current(context, turn)


async def fix(update: Update, context: JagaContext) -> None:
    """Opens exactly the questions a reviewer asked to fix (`FIX <id>`), the first one first."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    value = query.data.removeprefix("FIX ")
    r = await registrations.get(context.db, int(value)) if value.isdigit() else None
    request = None
    allowed = r is not None and turn.id in (r["operator_id"], r["worker_telegram_id"])
    if r is not None and allowed and r["status"] == "perlu_perbaikan":
        request = await review.open_fix_request(context.db, r["id"])
    if r is None or request is None:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    await answer_button(query)
    requested, note = request
    fields = sorted((f for f in requested if f in FIELDS), key=lambda f: ORDER.index(FIELDS[f][0]))
    if not fields:
        fields = ["name"]  # a request with no known field: let them check everything from the name
    await registrations.update(
        context.db,
        r["id"],
        step=FIELDS[fields[0]][0],
        editing=1,
        scratch=_scratch(r, fixing=fields, page=None, decade=None, correcting_birth=None),
    )
    await users.set_active_flow(context.db, turn.id, FLOW)
    lines = [_("Perbaikan untuk pendaftaran {ref}.").format(ref=r["ref"])]
    if note:
        lines.append(_("Catatan petugas: {note}").format(note=note))
    await say(context, turn.chat_id, "\n".join(lines))
    await _ask_current(context, turn)


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Keeps the unsent draft for /daftar to continue; a fix in progress stops being asked.

    Kept drafts still go under the retention rule (storage/privacy.py purge_expired).
    """
    current = await registrations.active_of(context.db, telegram_id)
    if current is not None and current["status"] != "draft":
        await registrations.update(context.db, current["id"], step=None, editing=0, scratch="{}")


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes a typed answer, a typed button label or a question, then asks the next (or same)."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.message
    registration = await registrations.active_of(context.db, turn.id)
    if message is None:
        return
    if registration is None or registration["step"] is None:
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            _("Tidak ada pendaftaran yang sedang berjalan. Ketik /daftar untuk mulai."),
        )
        return
    step = Step(registration["step"])
    if step == Step.NIK and _image_of(message) is not None:
        await _ktp_photo(context, turn, registration, message)
        return
    if message.contact is not None and step == Step.PHONE:
        await _answer_contact(
            context, turn, registration, message.contact.phone_number, message.contact.user_id
        )
        return
    if not message.text:
        await _again(
            context,
            turn,
            _(
                "Maaf, saya hanya bisa membaca tulisan. Silakan ketik jawabannya atau tekan "
                "tombol."
            ),
            registration,
        )
        return
    await _typed(context, turn, registration, message.text[:500])


async def _typed(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    """A typed message at a question: a button's label or other word for it, the step's own
    answer (a NIK, a name), a question about coverage, or else one line of what to type."""
    step = Step(r["step"])
    handler = _TEXT_ANSWERS.get(step)
    choices = _choices(turn, r)
    # Where a question takes free text too (a name, an amount), only an exact label or word
    # counts as a press: "Lewi" is a name, not a typo of "Lewati".
    picked = match_choice(text, choices, fuzzy=handler is None)
    if picked is not None and text.strip().endswith("?") and not picked.label.endswith("?"):
        picked = None  # "jht?" asks what JHT is; it does not choose it
    if picked is not None:
        await _CHOICES[step](context, turn, r, picked.value)
        return
    if is_help(text) or (looks_like_question(text) and not _parses(context, step, r, text)):
        await _answer_question(context, turn, r, text)
        return
    words = normalise(text)
    if words in ("lanjut", "lanjutkan"):  # typed instead of pressing "Lanjutkan"
        await _ask_current(context, turn, r)
        return
    if words in ("mulai dari awal", "mulai ulang", "ulang dari awal") and r["status"] == "draft":
        await _start_new(context, turn)
        return
    if handler is not None:
        await handler(context, turn, r, text)
        return
    if step == Step.OCCUPATION and (job := _job_by_word(text, choices)) is not None:
        # "sopir angkot", "nelayan tradisional": one button's word among others.
        await _occupation(context, turn, r, job)
        return
    if step == Step.OCCUPATION and _other_job(text) is not None:
        # A job not on the buttons ("tukang kayu") is "Lainnya" with its name.
        await _advance(
            context,
            turn,
            r,
            Step.OCCUPATION_OTHER,
            occupation="lainnya",
            occupation_other=_other_job(text),
        )
        return
    _text, keyboard = _short_question(turn, r)
    await say(context, turn.chat_id, _hint(turn, r, choices), keyboard)


# Yes/no words that are never the name of a job.
_NOT_A_JOB = frozenset(
    {"ya", "iya", "tidak", "oke", "sudah", "belum", "benar", "salah", "setuju", "batal", "lanjut",
     "kirim", "lewati", "saya", "mau"}
)  # fmt: skip


def _job_by_word(text: str, choices: list[Choice]) -> str | None:
    """The one job button whose one-word name or other word is among the typed words."""
    typed = set(normalise(text).split())
    found = {
        c.value
        for c in choices
        if c.value != "lainnya"
        for key in (c.label, *c.words)
        if len(normalise(key).split()) == 1 and normalise(key) in typed
    }
    return found.pop() if len(found) == 1 else None


def _other_job(text: str) -> str | None:
    """A typed job that is not one of the buttons, or None if it does not look like one."""
    words = normalise(text).split()
    if not words or set(words) & _NOT_A_JOB or max(len(w) for w in words) < 4:
        return None
    return check_free_text(text)


def _parses(context: JagaContext, step: Step, r: dict[str, Any], text: str) -> bool:
    """Whether the step's own parser reads `text` as an answer (then it is not a question)."""
    if step == Step.NIK:
        return check_nik(text, clock.today()).error != "digits"
    if step in (Step.NAME, Step.MOTHER):
        return _name_like(text)
    if step == Step.HEIR_NAME:
        return _name_like(split_heir(text)[1])
    if step == Step.PHONE:
        return check_phone(text) is not None
    if step == Step.INCOME:
        return check_income(text) is not None
    if step == Step.OCCUPATION_OTHER:
        return "?" not in text and check_free_text(text) is not None
    if step in (Step.KABUPATEN, Step.KECAMATAN, Step.DESA):
        return "?" not in text and bool(search_regions(text, _region_options(step, r)))
    return False


def _name_like(text: str) -> bool:
    """Whether `text` reads as a name: "apa harus sesuai ktp" has only letters but asks."""
    words = normalise(text).split()
    asks = len(words) >= 2 and words[0] in QUESTION_WORDS
    return not asks and check_name(text) is not None


def _choices(turn: Turn, r: dict[str, Any]) -> list[Choice]:
    """The answers the current question offers, read from the buttons it shows, with the other
    words people type for them."""
    step = Step(r["step"])
    if step == Step.SUMMARY:
        _text, keyboard = _summary(turn, r, nik=None, phone=None)
    else:
        _text, keyboard = _question(turn, r)
    synonyms = SYNONYMS.get(step, {})
    prefix = f"REG {step} "
    found: list[Choice] = []
    if isinstance(keyboard, InlineKeyboardMarkup):
        for row in keyboard.inline_keyboard:
            for button in row:
                data = button.callback_data
                if isinstance(data, str) and data.startswith(prefix):
                    value = data.removeprefix(prefix)
                    words = synonyms.get(value, ())
                    if step == Step.HEIR_RELATION and button.text == turn.gettext("Benar"):
                        words = SYNONYMS[Step.BIRTH_CONFIRM]["yes"]
                    found.append(Choice(button.text, value, words))
    if step == Step.BIRTH_YEAR:
        # A year can be typed while the decades are shown.
        this_year = clock.today().year
        shown = {c.value for c in found}
        found += [
            Choice(str(y), str(y), shown=False)
            for y in range(this_year - 100, this_year + 1)
            if str(y) not in shown
        ]
    return found


def _hint(turn: Turn, r: dict[str, Any], choices: list[Choice]) -> str:
    """One short line saying what can be typed at a question with buttons."""
    _ = turn.gettext
    step = Step(r["step"])
    hints = {
        Step.BIRTH_YEAR: N_("Ketik tahun lahirnya, misalnya 1985."),
        Step.BIRTH_MONTH: N_("Ketik nama bulannya (misalnya Agustus) atau angkanya (8)."),
        Step.BIRTH_DAY: N_("Ketik tanggalnya saja, misalnya 17."),
        Step.OCCUPATION: N_("Ketik pekerjaannya, misalnya Nelayan atau Petani."),
        Step.PROGRAMS: N_("Ketik JKK JKM, atau JKK JKM JHT."),
        Step.PERIOD: N_("Ketik jumlah bulannya: 1, 3, 6 atau 12."),
        Step.SUMMARY: N_("Ketik Kirim jika data sudah benar, atau misalnya: Ubah nama."),
    }
    if step in hints:
        return _(hints[step])
    labels = [c.label for c in choices if c.shown]
    line = _("Ketik salah satu: {choices}").format(choices=" / ".join(labels))
    return (
        line
        if len(line) <= 110
        else _("Ketik salah satu pilihan di tombol, atau tekan tombolnya.")
    )


async def _answer_question(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    """Answers a question asked in the middle, then asks the same question again, short, in the
    same message."""
    _ = turn.gettext
    short, keyboard = _short_question(turn, r)
    if is_help(text):
        body = _(
            "Saya menanyakan data pendaftaran satu per satu. Jawab dengan mengetik atau menekan "
            "tombol. Ketik /batal untuk berhenti; jawaban Anda tetap tersimpan."
        )
    else:
        body = _knowledge_answer(turn, r, text)
    log.info("event=registration_question step=%s", r["step"])
    room = MAX_MESSAGE - len(short) - 2
    await say(context, turn.chat_id, _fit(body, room) + "\n\n" + short, keyboard)


def _knowledge_answer(turn: Turn, r: dict[str, Any], text: str) -> str:
    """The answer to a coverage question: the contribution for an income, or a curated topic."""
    _ = turn.gettext
    income = parse_contribution_question(text)
    kb = questions.knowledge(turn.tr.language)
    match = kb.answer(text) if income is None else None
    if match is not None and match.topic.id == "iuran" and r["income"]:
        income = r["income"]  # "brp iuran sy?" once the income is known: their own figure
    if income is not None:
        return _(
            "Untuk penghasilan {income} per bulan, iuran JKK + JKM {two} per bulan; dengan JHT "
            "{three} per bulan. Petugas akan memeriksa angkanya lagi."
        ).format(
            income=turn.tr.money(income),
            two=turn.tr.money(_normal_total({"income": income}, False)),
            three=turn.tr.money(_normal_total({"income": income}, True)),
        )
    if match is None:
        return _(
            "Maaf, pertanyaan itu belum bisa saya jawab di sini. Setelah pendaftaran selesai, "
            "tulis lagi pertanyaan Anda; bisa diteruskan ke petugas."
        )
    source = _("Sumber: {source}").format(source=match.topic.cited)
    answer = f"{match.topic.title}\n{match.topic.answer}"
    with_source = f"{answer}\n{source}"
    return with_source if len(with_source) <= MAX_MESSAGE - 160 else answer


def _fit(text: str, room: int) -> str:
    """`text` cut at a sentence end so that it fits in `room` characters."""
    if len(text) <= room:
        return text
    cut = text[: room - 1]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    return (cut[: end + 1] if end > room // 2 else cut.rstrip()) + "…"


async def button(update: Update, context: JagaContext) -> None:
    """Takes a button answer `REG <step> <value>` if the registration waits for that step."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    parts = query.data.split(" ", 2)
    registration = await registrations.active_of(context.db, turn.id)
    if len(parts) != 3 or registration is None or registration["step"] != parts[1]:
        await answer_button(query, turn.gettext("Tombol ini sudah tidak berlaku."))
        if registration is not None and registration["step"] is not None:
            await users.set_active_flow(context.db, turn.id, FLOW)
            await _ask_current(context, turn)
        return
    # The press is acknowledged while the answer is stored and the next question sent, so
    # neither waits for the other's Bot API round trip.
    acknowledged = asyncio.create_task(answer_button(query))
    try:
        if turn.user.active_flow != FLOW:
            await users.set_active_flow(context.db, turn.id, FLOW)
        await _CHOICES[Step(parts[1])](context, turn, registration, parts[2])
    finally:
        await acknowledged


# --- asking -------------------------------------------------------------------------------------


async def _ask_current(
    context: JagaContext,
    turn: Turn,
    registration: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Ask the question the registration waits for (read from the database unless given),
    after `note` (what the last answer was read as) in the same message."""
    if registration is None:
        registration = await registrations.active_of(context.db, turn.id)
    if registration is None or registration["step"] is None:
        return
    if registration["step"] == Step.SUMMARY:
        # The person who typed them sees NIK and phone in full, to catch typing mistakes.
        cipher = context.cipher
        nik = cipher.decrypt(registration["nik_enc"]) if registration["nik_enc"] else None
        phone = cipher.decrypt(registration["phone_enc"]) if registration["phone_enc"] else None
        text, keyboard = _summary(turn, registration, nik=nik, phone=phone)
    else:
        text, keyboard = _question(turn, registration)
    if note:
        text = f"{note}\n\n{text}"
    await say(context, turn.chat_id, text, keyboard)


def _short_question(turn: Turn, r: dict[str, Any]) -> tuple[str, Keyboard | None]:
    """The current question in one line, with its buttons: asked again after an answer to a
    question or a problem."""
    _ = turn.gettext
    step = Step(r["step"])
    me = bool(r["for_self"])
    if step == Step.SUMMARY:
        _text, keyboard = _summary(turn, r, nik=None, phone=None)
        return _(
            "Jika data sudah benar, tekan Kirim. Untuk mengubah, tekan tombol Ubah."
        ), keyboard
    text, keyboard = _question(turn, r)
    short = {
        Step.CONSENT: _("Apakah Anda setuju data tadi dipakai untuk pendaftaran ini?"),
        Step.NIK: _("Ketik NIK Anda (16 angka, ada di KTP).")
        if me
        else _("Ketik NIK orang yang didaftarkan (16 angka, ada di KTP)."),
        Step.BIRTH_CONFIRM: _("Apakah tanggal lahir dan jenis kelamin dari NIK tadi benar?"),
        Step.PHONE: _("Tekan tombol di bawah untuk mengirim nomor HP Anda, atau ketik nomornya.")
        if me
        else None,
        Step.INCOME: _(
            "Berapa kira-kira penghasilan per bulan? Ketik jumlahnya atau pilih tombol."
        ),
        Step.PROGRAMS: _("Pilih program: JKK + JKM, atau JKK + JKM + JHT."),
        Step.HEIR_NAME: _("Ketik nama ahli waris, atau tekan Lewati."),
    }.get(step)
    return short or text.split("\n\n")[0], keyboard


def _b(step: Step, value: str) -> str:
    return f"REG {step} {value}"


def _question(turn: Turn, r: dict[str, Any]) -> tuple[str, Any]:
    """The text and buttons of the question a registration waits for."""
    _ = turn.gettext
    step = Step(r["step"])
    me = bool(r["for_self"])
    scratch = json.loads(r["scratch"] or "{}")
    if step == Step.CONSENT:
        text = _(
            "Sebelum mulai, mohon baca ini.\n\n"
            "Kami akan menanyakan NIK, nama, tanggal lahir, nama ibu kandung, nomor HP, alamat, "
            "pekerjaan, penghasilan, dan ahli waris.\n\n"
            "Data ini hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan. Yang bisa melihatnya: "
            "petugas dinas tenaga kerja kabupaten dan BPJS Ketenagakerjaan. NIK dan nomor HP "
            "disimpan dalam bentuk tersandi. Foto KTP, bila dikirim, dihapus setelah dibaca.\n\n"
            "Anda bisa melihat atau menghapus data Anda dengan /data_saya.\n\n"
            "Apakah Anda setuju?"
        )
        rows = [
            [(_("Setuju"), _b(step, "yes"))],
            [(_("Kenapa data saya diminta?"), _b(step, "why"))],
            [(_("Tidak"), _b(step, "no"))],
        ]
        return text, inline(rows)
    if step == Step.FOR_WHOM:
        rows = [
            [(_("Diri saya sendiri"), _b(step, "self"))],
            [(_("Orang lain"), _b(step, "other"))],
        ]
        return _("Siapa yang didaftarkan?"), inline(rows)
    if step == Step.CONSENT_OTHER:
        text = _(
            "Sudah minta izin Ibu/Bapak yang didaftarkan?\n\n"
            "Datanya hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan. Dia boleh meminta "
            "datanya dihapus lewat Anda atau petugas kabupaten."
        )
        rows = [
            [(_("Sudah, dia setuju"), _b(step, "yes"))],
            [(_("Belum"), _b(step, "no"))],
        ]
        return text, inline(rows)
    if step == Step.NIK and scratch.get("by_photo"):
        return _ktp_prompt(turn, me), inline([[(_("Ketik saja"), "KTP type")]])
    if step == Step.NIK:
        example = format_nik(EXAMPLE_NIK)
        by_photo = inline([[(_("Pakai foto KTP"), "KTP how")]])
        if me:
            return _("Ketik NIK Anda (16 angka, ada di KTP).\nContoh penulisan: {example}").format(
                example=example
            ), by_photo
        return _(
            "Ketik NIK orang yang didaftarkan (16 angka, ada di KTP).\nContoh penulisan: {example}"
        ).format(example=example), by_photo
    if step == Step.NAME:
        return (
            _("Ketik nama lengkap Anda sesuai KTP.")
            if me
            else _("Ketik nama lengkap orang yang didaftarkan, sesuai KTP.")
        ), None
    if step == Step.BIRTH_CONFIRM:
        sex = _("Laki-laki") if r["sex"] == "L" else _("Perempuan")
        text = _(
            "Nama: {name}\n\nDari NIK, kami membaca:\nTanggal lahir: {date}\nJenis kelamin: "
            "{sex}\n\nApakah ini benar?"
        ).format(
            name=r["name"] or "-",
            date=turn.tr.date(dt.date.fromisoformat(r["birth_date"])),
            sex=sex,
        )
        return text, inline([[(_("Benar"), _b(step, "yes")), (_("Salah"), _b(step, "no"))]])
    if step == Step.BIRTH_YEAR:
        return _("Pilih tahun lahir."), inline(_year_rows(turn, scratch.get("decade")))
    if step == Step.BIRTH_MONTH:
        buttons = [(_(m), _b(step, str(i))) for i, m in enumerate(MONTHS, start=1)]
        return _("Pilih bulan lahir."), inline(columns(buttons, 3))
    if step == Step.BIRTH_DAY:
        year, month = scratch["birth_year"], scratch["birth_month"]
        days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
        buttons = [(str(d), _b(step, str(d))) for d in range(1, days + 1)]
        return _("Pilih tanggal lahir."), inline(columns(buttons, 7))
    if step == Step.SEX:
        rows = [[(_("Laki-laki"), _b(step, "L")), (_("Perempuan"), _b(step, "P"))]]
        return _("Pilih jenis kelamin."), inline(rows)
    if step == Step.MOTHER:
        text = (
            _("Ketik nama ibu kandung Anda.")
            if me
            else _("Ketik nama ibu kandung orang yang didaftarkan.")
        )
        return text + "\n" + _("BPJS memakainya untuk memastikan identitas."), None
    if step == Step.PHONE:
        if me:
            keyboard = ReplyKeyboardMarkup(
                [[KeyboardButton(_("Kirim nomor HP saya"), request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
            return _(
                "Tekan tombol di bawah untuk mengirim nomor HP Anda, atau ketik nomornya "
                "(misalnya 0812 3456 7890)."
            ), keyboard
        rows = [[(_("Tidak punya HP"), _b(step, "none"))]]
        return _("Ketik nomor HP orang yang didaftarkan (misalnya 0812 3456 7890)."), inline(rows)
    if step == Step.KABUPATEN:
        options = kabupaten_choices(turn_region(r, scratch))
        text = _("Di kabupaten/kota mana tempat tinggalnya sekarang? Pilih, atau ketik namanya.")
        return text, inline(_region_rows(turn, step, options, scratch.get("page", 0)))
    if step == Step.KECAMATAN:
        options = _region_options(step, r)
        text = _("Pilih kecamatan di {place}, atau ketik namanya.").format(
            place=region_name(r["kabupaten_code"])
        )
        rows = _region_rows(turn, step, options, scratch.get("page", 0), "home" in scratch)
        return text, inline(rows)
    if step == Step.DESA:
        options = _region_options(step, r)
        text = _("Pilih desa/kelurahan di Kecamatan {place}, atau ketik sebagian namanya.").format(
            place=region_name(r["kecamatan_code"])
        )
        rows = _region_rows(turn, step, options, scratch.get("page", 0), "home" in scratch)
        return text, inline(rows)
    if step == Step.OCCUPATION:
        buttons = [(_(OCCUPATION_LABELS[c]), _b(step, c)) for c in OCCUPATION_CODES]
        text = _("Apa pekerjaan Anda?") if me else _("Apa pekerjaan orang yang didaftarkan?")
        return text, inline(columns(buttons, 2))
    if step == Step.OCCUPATION_OTHER:
        return _("Ketik pekerjaannya (misalnya: tukang kayu)."), None
    if step == Step.INCOME:
        table = load_table()
        buttons = []
        for bracket in table.brackets[:6]:
            if bracket.income_from == 0:
                label = _("Sampai {amount}").format(amount=turn.tr.money(bracket.income_to))
            else:
                label = (
                    f"{turn.tr.money(bracket.income_from)} – {turn.tr.money(bracket.income_to)}"
                )
            buttons.append((label, _b(step, f"b{bracket.number}")))
        text = _(
            "Berapa kira-kira penghasilan per bulan?\nPilih tombol, atau ketik jumlahnya "
            "(misalnya 1,5 juta)."
        )
        if not me:
            text = _(
                "Berapa kira-kira penghasilan orang yang didaftarkan per bulan?\nPilih tombol, "
                "atau ketik jumlahnya (misalnya 1,5 juta)."
            )
        return text, inline([[b] for b in buttons])
    if step == Step.PROGRAMS:
        table = load_table()
        bracket = table.bracket_for(r["income"])
        rows = []
        for code, with_jht in (("JKK_JKM", False), ("JKK_JKM_JHT", True)):
            amount = _normal_total(r, with_jht)
            label = _("{programs}: {amount}/bulan").format(
                programs=PROGRAM_LABELS[code], amount=turn.tr.money(amount)
            )
            rows.append([(label, _b(step, code))])
        text = _(
            "Pilih program:\n"
            "• JKK: jaminan kecelakaan kerja\n"
            "• JKM: jaminan kematian\n"
            "• JHT: tabungan hari tua (boleh tidak ikut)"
        )
        if not bracket.mark.plain:
            text += "\n\n" + _(
                "Besar iuran menurut tabel penghasilan BPJS; petugas akan memeriksanya lagi."
            )
        return text, inline(rows)
    if step == Step.PERIOD:
        q = _quote(r)  # the amounts of the summary: same payer, sector and day
        buttons = [
            (
                _("{months} bulan ({amount})").format(
                    months=m, amount=turn.tr.money(q.period_total(m))
                ),
                _b(step, str(m)),
            )
            for m in PERIODS
        ]
        text = _("Iuran dibayar untuk berapa bulan sekaligus?")
        if _discount_note(turn, r):
            text += "\n" + _("Iuran per bulan: {value}").format(value=turn.tr.money(q.to_pay))
            text += " " + (_discount_note(turn, r) or "")
        return text, inline(columns(buttons, 2))
    if step == Step.PAYER:
        rows = [
            [(_("Saya sendiri") if me else _("Dia sendiri"), _b(step, "sendiri"))],
            [(_("Program desa / kabupaten"), _b(step, "program"))],
        ]
        text = _(
            "Siapa yang membayar iuran?\n"
            "Jika ikut program bantuan iuran dari desa atau kabupaten, pilih Program. "
            "Petugas kabupaten akan menentukan sumber dananya."
        )
        return text, inline(rows)
    if step == Step.HEIR_NAME:
        text = _(
            "Siapa ahli warisnya? Ahli waris adalah orang yang menerima santunan bila "
            "terjadi sesuatu.\n"
            "Ketik namanya, atau tekan Lewati."
        )
        if not me:
            text = _(
                "Siapa ahli waris orang yang didaftarkan? Ahli waris adalah orang yang menerima "
                "santunan bila terjadi sesuatu.\nKetik namanya, atau tekan Lewati."
            )
        return text, inline([[(_("Lewati"), _b(step, "skip"))]])
    if step == Step.HEIR_RELATION:
        buttons = [(_(HEIR_LABELS[c]), _b(step, c)) for c in HEIR_RELATIONS]
        guess = scratch.get("heir_guess")
        if guess in HEIR_LABELS:
            # Read from the answer ("istri sy rina wati"): confirm with one press.
            text = _("Ahli waris: {name}, hubungan: {relation}. Benar?").format(
                name=r["heir_name"], relation=_(HEIR_LABELS[guess])
            )
            others = [b for b in buttons if not b[1].endswith(" " + guess)]
            return text, inline([[(_("Benar"), _b(step, guess))], *columns(others, 2)])
        return _("Apa hubungan ahli waris dengan peserta?"), inline(columns(buttons, 2))
    raise AssertionError(f"no question for step {step}")  # the summary is built by _ask_current


def turn_region(r: dict[str, Any], scratch: dict[str, Any]) -> str:
    """The deployment region stored for this draft when it started."""
    return str(scratch.get("region", "12"))


def _year_rows(turn: Turn, decade: int | None) -> list[list[Button]]:
    this_year = clock.today().year
    if decade is None:
        decades = range((this_year - 80) // 10 * 10, this_year - 10, 10)
        buttons = [(f"{d}–{d + 9}", _b(Step.BIRTH_YEAR, f"d{d}")) for d in decades]
        return columns(buttons, 3)
    years = [
        (str(y), _b(Step.BIRTH_YEAR, str(y)))
        for y in range(decade, min(decade + 10, this_year + 1))
    ]
    return [*columns(years, 5), [(turn.gettext("‹ Kembali"), _b(Step.BIRTH_YEAR, "back"))]]


def _region_rows(
    turn: Turn, step: Step, options: tuple[Any, ...], page: int, up: bool = False
) -> list[list[Button]]:
    """A page of regions; `up` adds a way out of a list that started at the person's own area."""
    _ = turn.gettext
    start = page * PAGE_SIZE
    shown = options[start : start + PAGE_SIZE]
    rows = columns([(w.name, _b(step, w.code)) for w in shown], 2)
    nav: list[Button] = []
    if page > 0:
        nav.append((_("‹ Sebelumnya"), _b(step, f"p{page - 1}")))
    if start + PAGE_SIZE < len(options):
        nav.append((_("Berikutnya ›"), _b(step, f"p{page + 1}")))
    rows = [*rows, nav] if nav else rows
    if up and step != Step.KABUPATEN:
        label = _("‹ Kecamatan lain") if step == Step.DESA else _("‹ Kabupaten lain")
        rows.append([(label, _b(step, "up"))])
    return rows


def _normal_total(r: dict[str, Any], with_jht: bool) -> int:
    """The monthly contribution without any discount (what is stored and shown as normal)."""
    programs = "JKK_JKM_JHT" if with_jht else "JKK_JKM"
    return quote(r["income"], programs, None, "program", clock.today()).normal


def _quote(r: dict[str, Any]) -> Quote:
    """Today's contribution of this registration: its income, programs, sector and payer."""
    return quote(
        r["income"], r["programs"], sector_of(r["occupation"]), payer_of(r), clock.today()
    )


def _summary(
    turn: Turn, r: dict[str, Any], *, nik: str | None, phone: str | None
) -> tuple[str, Any]:
    _ = turn.gettext
    tr = turn.tr
    address = ", ".join(
        region_name(code) for code in (r["desa_code"], r["kecamatan_code"], r["kabupaten_code"])
    )
    occupation = (
        r["occupation_other"]
        if r["occupation"] == "lainnya"
        else _(OCCUPATION_LABELS.get(r["occupation"], "-"))
    )
    heir = "-"
    if r["heir_name"]:
        heir = f"{r['heir_name']} ({_(HEIR_LABELS.get(r['heir_relation'] or '', '-'))})"
    lines = [
        _("Periksa data berikut:"),
        "",
        _("NIK: {value}").format(value=format_nik(nik) if nik else "-"),
        _("Nama: {value}").format(value=r["name"]),
        _("Tanggal lahir: {value}").format(value=tr.date(dt.date.fromisoformat(r["birth_date"]))),
        _("Jenis kelamin: {value}").format(
            value=_("Laki-laki") if r["sex"] == "L" else _("Perempuan")
        ),
        _("Nama ibu kandung: {value}").format(value=r["mother_name"]),
        _("No. HP: {value}").format(value=phone or "-"),
        _("Alamat: {value}").format(value=address),
        _("Pekerjaan: {value}").format(value=occupation),
        _("Penghasilan per bulan: {value}").format(value=tr.money(r["income"])),
        _("Program: {value}").format(value=PROGRAM_LABELS.get(r["programs"], "-")),
        *_amount_lines(turn, r),
        _("Ahli waris: {value}").format(value=heir),
    ]
    fixing = r["status"] == "perlu_perbaikan"
    lines += [
        "",
        _("Jika sudah benar, tekan Kirim perbaikan.")
        if fixing
        else _("Jika sudah benar, tekan Kirim."),
    ]
    edit = [
        (_(label), _b(Step.SUMMARY, f"e:{field}"))
        for field, label in FIELD_LABELS.items()
        if field != "pay_period" or r["payer"] == "sendiri"  # a program pays: no period to ask
    ]
    send = _("Kirim perbaikan") if fixing else _("Kirim")
    return "\n".join(lines), inline([*columns(edit, 2), [(send, _b(Step.SUMMARY, "send"))]])


def _amount_lines(turn: Turn, r: dict[str, Any]) -> list[str]:
    """The summary's money lines: a month's contribution, the period and who pays."""
    _ = turn.gettext
    tr = turn.tr
    q = _quote(r)
    if not q.self_paid:
        return [
            _("Iuran per bulan: {value}, dibayar program").format(value=tr.money(q.normal)),
            _("Pembayar: {value}").format(value=_("Program desa / kabupaten")),
        ]
    monthly = _("Iuran per bulan: {value}").format(value=tr.money(q.to_pay))
    discount = _discount_note(turn, r)
    if discount:
        monthly += " " + discount
    months = r["pay_period_months"] or 1
    return [
        monthly,
        _("Dibayar sekaligus untuk: {months} bulan ({amount})").format(
            months=months, amount=tr.money(q.period_total(months))
        ),
        _("Pembayar: {value}").format(value=_("Sendiri")),
    ]


def _discount_note(turn: Turn, r: dict[str, Any]) -> str | None:
    """The PP 50/2025 discount, in brackets, when it applies today to this payer and sector."""
    q = _quote(r)
    if q.discount_until is None:
        return None
    return turn.gettext("(normal {normal}, dipotong sampai {end} menurut PP 50/2025)").format(
        normal=turn.tr.money(q.normal), end=turn.tr.date(q.discount_until)
    )


# --- answers ---------------------------------------------------------------------------------


async def _advance(
    context: JagaContext,
    turn: Turn,
    r: dict[str, Any],
    step: Step,
    *,
    note: str | None = None,
    **fields: Any,
) -> None:
    """Store the answer and the next step in one commit, then ask the next question (after
    `note`, in the same message)."""
    merged = {**r, **fields}
    scratch = json.loads(merged.get("scratch") or "{}")
    following = next_step(step, merged, scratch.get("fixing"))
    # Questions answered from a confirmed KTP photo are not asked again on the way forward.
    from_photo = set(scratch.get("ktp_done", ()))
    while following in from_photo and following != Step.SUMMARY and not merged.get("editing"):
        following = next_step(following, merged)
    if following == Step.KABUPATEN:
        own = await _own_area(context, turn, merged)
        if own is not None:
            following, area = own
            fields.update(area)
            merged.update(area)
    if following == Step.SUMMARY and merged["status"] == "draft":
        fields.setdefault("editing", 1)  # from the summary on, a change returns to it
    await registrations.update(context.db, r["id"], step=following, **fields)
    # What was just committed, so the next question needs no read-back.
    await _ask_current(context, turn, {**merged, **fields, "step": following}, note)


async def _own_area(
    context: JagaContext, turn: Turn, r: dict[str, Any]
) -> tuple[Step, dict[str, Any]] | None:
    """Where the address questions start for a cadre (their kecamatan's desa, their desa first)
    or a reviewer (their kabupaten's kecamatan); None for everyone else."""
    access = await access_of(context.db, context.settings, turn.id)
    served = {w.code for w in kabupaten_choices(turn_region(r, json.loads(r["scratch"] or "{}")))}
    for code in access.cadre_regions:
        if code.count(".") >= 2 and code[:5] in served:
            return Step.DESA, {
                "kabupaten_code": code[:5],
                "kecamatan_code": code[:8],
                "desa_code": None,
                "scratch": _scratch(r, home=code, page=None),
            }
    for code in access.reviewer_regions:
        if code.count(".") >= 1 and code[:5] in served:
            return Step.KECAMATAN, {
                "kabupaten_code": code[:5],
                "kecamatan_code": None,
                "desa_code": None,
                "scratch": _scratch(r, home=code[:5], page=None),
            }
    return None


async def _again(
    context: JagaContext, turn: Turn, problem: str, r: dict[str, Any] | None = None
) -> None:
    """Say what was wrong and ask the same question again, short, in one message."""
    if r is None:
        r = await registrations.active_of(context.db, turn.id)
    if r is None or r["step"] is None:
        await say(context, turn.chat_id, problem)
        return
    short, keyboard = _short_question(turn, r)
    await say(context, turn.chat_id, f"{problem}\n\n{short}", keyboard)


async def _stale(context: JagaContext, turn: Turn) -> None:
    """A button value this question does not offer (an old or forged button): ask again."""
    await _again(context, turn, turn.gettext("Tombol ini sudah tidak berlaku."))


def _scratch(r: dict[str, Any], **changes: Any) -> str:
    scratch = json.loads(r["scratch"] or "{}")
    scratch.update(changes)
    return json.dumps({k: v for k, v in scratch.items() if v is not None})


async def _consent(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    _ = turn.gettext
    if value == "why":
        text = _(
            "Kenapa data ini diminta?\n\n"
            "• NIK, nama, tanggal lahir, dan nama ibu kandung: BPJS memakainya untuk "
            "memastikan identitas.\n"
            "• Nomor HP: untuk memberi kabar.\n"
            "• Alamat: menentukan kabupaten yang memeriksa pendaftaran.\n"
            "• Pekerjaan dan penghasilan: menentukan besar iuran.\n"
            "• Ahli waris: orang yang menerima santunan bila terjadi sesuatu (boleh dilewati)."
        )
        await _again(context, turn, text, r)
        return
    if value == "no":
        await registrations.delete_draft(context.db, turn.id)
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            _(
                "Baik, tidak apa-apa. Tidak ada data yang disimpan. Ketik /daftar jika Anda "
                "berubah pikiran."
            ),
        )
        return
    await _advance(
        context,
        turn,
        r,
        Step.CONSENT,
        consent_version=CONSENT_VERSION,
        consent_at=clock.utc_iso(clock.now()),
        scratch=_scratch(r, region=context.settings.region),
    )


async def _consent_other(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value == "yes":
        log.info("event=registration_person_agreed registration=%s", r["id"])
        await _advance(context, turn, r, Step.CONSENT_OTHER)
        return
    # Not yet: the answers so far stay; /daftar continues here once the person has agreed.
    await users.set_active_flow(context.db, turn.id, None)
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Baik. Silakan minta izin orang yang didaftarkan dulu. Jawaban tadi tetap tersimpan; "
            "ketik /daftar untuk melanjutkan."
        ),
    )


async def _for_whom(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    me = value == "self"
    await _advance(
        context,
        turn,
        r,
        Step.FOR_WHOM,
        for_self=int(me),
        worker_telegram_id=turn.id if me else None,
    )


async def _nik(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    fields = await _nik_fields(context, turn, r, text)
    if fields is not None:
        await _advance(context, turn, r, Step.NIK, **fields)


async def _nik_fields(
    context: JagaContext, turn: Turn, r: dict[str, Any], text: str
) -> dict[str, Any] | None:
    """The columns a typed (or photographed) NIK fills, or None once the problem was said."""
    _ = turn.gettext
    settings = context.settings
    today = clock.today()
    check = check_nik(text, today)
    problems = {
        "digits": _("NIK hanya berisi angka. Silakan ketik lagi 16 angka NIK."),
        "example": _("Itu NIK contoh. Silakan ketik NIK yang tertulis di KTP."),
        "province": _(
            "Dua angka pertama NIK bukan kode provinsi. Silakan periksa KTP dan ketik lagi."
        ),
        "regency": _(
            "Angka ke-3 dan ke-4 NIK bukan kode kabupaten/kota yang ada. Silakan periksa lagi."
        ),
        "region": _("Kode wilayah di awal NIK tidak lengkap. Silakan periksa KTP dan ketik lagi."),
        "birth": _(
            "Tanggal lahir di dalam NIK (angka ke-7 sampai ke-12) tidak mungkin. Silakan "
            "periksa lagi."
        ),
        "serial": _("Empat angka terakhir NIK tidak boleh 0000. Silakan periksa lagi."),
    }
    if check.error == "length":
        await _again(
            context,
            turn,
            _(
                "NIK harus 16 angka. Yang Anda ketik {count} angka. Silakan periksa KTP dan "
                "ketik lagi."
            ).format(count=check.length),
        )
        return None
    if check.error is not None:
        await _again(context, turn, problems[check.error])
        return None
    assert check.nik is not None and check.birth_date is not None
    age = age_on(check.birth_date, today)
    if not settings.min_age <= age <= settings.max_age:
        await _again(
            context,
            turn,
            _(
                "Menurut NIK, umurnya {age} tahun. Pendaftaran ini untuk umur {low} sampai "
                "{high} tahun, "
                "jadi belum bisa diterima. Jika NIK salah ketik, silakan ketik lagi. Jika "
                "tidak, ketik /batal."
            ).format(age=age, low=settings.min_age, high=settings.max_age),
        )
        return None
    nik_hash = context.cipher.lookup_hash("nik", check.nik)
    existing = await registrations.live_by_nik_hash(context.db, nik_hash)
    if await _nik_taken(context, turn, r, nik_hash, existing):
        return None
    log.info("event=registration_nik registration=%s nik=%s", r["id"], mask_nik(check.nik))
    district_unknown = True if not check.district_known else None
    return {
        "nik_enc": context.cipher.encrypt(check.nik),
        "nik_hash": nik_hash,
        "nik_masked": mask_nik(check.nik),
        "birth_date": check.birth_date.isoformat(),
        "sex": check.sex,
        # A typed NIK also ends a photo's reading that was never confirmed.
        "scratch": _scratch(
            r,
            nik_district_unknown=district_unknown,
            correcting_birth=None,
            ktp=None,
            ktp_skip=None,
        ),
        "flags": json.dumps(sorted(set(json.loads(r["flags"])) - {"birth_corrected"})),
    }


async def _nik_taken(
    context: JagaContext,
    turn: Turn,
    r: dict[str, Any],
    nik_hash: str,
    existing: dict[str, Any] | None,
) -> bool:
    """Answers a NIK that is already registered; True if the NIK step must stop here.

    Only the account that registered it, the worker's own account and an account linked to the
    worker by a proof hear its status. Anyone else is told only that it cannot be registered
    again, and each such answer counts against the same hourly limit as /status lookups; at the
    limit every NIK is refused alike, so the limit itself tells nothing.
    """
    # Imported here: this helper is the only part of registration that reads links and limits.
    from bot import membership as lookup_limit
    from handlers.status import limit_reached
    from storage import membership as membership_store

    _ = turn.gettext
    taken = existing is not None and existing["id"] != r["id"]
    if taken and existing is not None:
        mine = turn.id in (existing["operator_id"], existing["worker_telegram_id"])
        mine = mine or await membership_store.linked_nik_hash(context.db, turn.id) == nik_hash
        if mine:
            status = _(STATUS_WORDS.get(existing["status"], existing["status"]))
            text = _(
                "NIK ini sudah terdaftar dengan nomor {ref}, status: {status}. Tidak perlu "
                "mendaftar lagi."
            ).format(ref=existing["ref"], status=status)
            text += "\n" + _("Ketik /status untuk melihat status, atau /daftar untuk NIK lain.")
            await registrations.delete_draft(context.db, turn.id)
            await users.set_active_flow(context.db, turn.id, None)
            await say(context, turn.chat_id, text)
            return True
    if not taken and await membership_store.member_by_nik_hash(context.db, nik_hash) is not None:
        # A BPJS member with no registration here: a registration's own account would see the
        # member record (KPJ, protection, claims), so only an account linked by a proof may.
        taken = await membership_store.linked_nik_hash(context.db, turn.id) != nik_hash
    if not await lookup_limit.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return True
    if not taken:
        return False
    await membership_store.record_lookup(context.db, turn.id)
    log.info("event=registration_nik_taken registration=%s", r["id"])
    await registrations.delete_draft(context.db, turn.id)
    await users.set_active_flow(context.db, turn.id, None)
    await say(
        context,
        turn.chat_id,
        _(
            "NIK ini tidak bisa didaftarkan lagi karena sudah pernah didaftarkan. Bila ini NIK "
            "Anda dan perlu bantuan, tanyakan ke kader desa atau dinas tenaga kerja kabupaten, "
            "atau hubungkan akun Anda lewat /status."
        )
        + "\n"
        + _("Ketik /daftar untuk NIK lain."),
    )
    return True


NAME_RULE = N_(
    "Nama hanya boleh berisi huruf, spasi, titik (.), tanda petik (') dan tanda hubung (-), "
    "2 sampai 100 huruf. Silakan ketik lagi."
)


def _name_answer(step: Step, column: str) -> TextAnswer:
    """A typed answer that must be a person's name, stored (tidied) in `column`."""

    async def answer(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
        name = check_name(text)
        if name is None:
            await _again(context, turn, turn.gettext(NAME_RULE))
            return
        await _advance(context, turn, r, step, **{column: name})

    return answer


async def _birth_confirm(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value == "yes":
        await _advance(
            context, turn, r, Step.BIRTH_CONFIRM, scratch=_scratch(r, correcting_birth=None)
        )
        return
    await _advance(
        context,
        turn,
        r,
        Step.BIRTH_CONFIRM,
        scratch=_scratch(r, correcting_birth=True, decade=None),
    )


async def _birth_year(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value == "back" or value.startswith("d"):
        decade = None if value == "back" else int(value[1:])
        await registrations.update(context.db, r["id"], scratch=_scratch(r, decade=decade))
        await _ask_current(context, turn)
        return
    await _advance(context, turn, r, Step.BIRTH_YEAR, scratch=_scratch(r, birth_year=int(value)))


async def _birth_month(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    await _advance(context, turn, r, Step.BIRTH_MONTH, scratch=_scratch(r, birth_month=int(value)))


async def _birth_day(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    scratch = json.loads(r["scratch"])
    try:
        birth = dt.date(scratch["birth_year"], scratch["birth_month"], int(value))
    except (KeyError, ValueError):
        await _again(context, turn, turn.gettext("Tanggal itu tidak ada. Silakan pilih lagi."))
        return
    age = age_on(birth, clock.today())
    settings = context.settings
    if not settings.min_age <= age <= settings.max_age:
        await registrations.update(
            context.db, r["id"], step=Step.BIRTH_YEAR, scratch=_scratch(r, decade=None)
        )
        await _again(
            context,
            turn,
            turn.gettext(
                "Dengan tanggal lahir itu umurnya {age} tahun. Pendaftaran ini untuk umur "
                "{low} sampai {high} tahun. "
                "Silakan pilih lagi, atau ketik /batal."
            ).format(age=age, low=settings.min_age, high=settings.max_age),
        )
        return
    await _advance(context, turn, r, Step.BIRTH_DAY, birth_date=birth.isoformat())


async def _sex(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    flags = sorted({*json.loads(r["flags"]), "birth_corrected"})
    await _advance(
        context,
        turn,
        r,
        Step.SEX,
        sex=value,
        flags=json.dumps(flags),
        scratch=_scratch(r, correcting_birth=None, decade=None, birth_year=None, birth_month=None),
    )


async def _phone_text(
    context: JagaContext, turn: Turn, r: dict[str, Any], text: str, shared: bool = False
) -> None:
    phone = check_phone(text)
    if phone is None:
        await _again(
            context,
            turn,
            turn.gettext("Nomor HP itu tidak bisa saya baca. Tulis misalnya 0812 3456 7890."),
        )
        return
    await _store_phone(context, turn, r, phone, shared)


async def _answer_contact(
    context: JagaContext, turn: Turn, r: dict[str, Any], number: str, owner: int | None
) -> None:
    if not r["for_self"]:
        # Someone else is registered: their contact card, shared from the phone book, is
        # their number.
        await _phone_text(context, turn, r, number)
        return
    if owner != turn.id:
        await _again(
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
    context: JagaContext, turn: Turn, r: dict[str, Any], phone: str, shared: bool
) -> None:
    confirmation = turn.gettext("Nomor HP: {phone}").format(phone=phone)
    fields: dict[str, Any] = {
        "phone_enc": context.cipher.encrypt(phone),
        "phone_hash": context.cipher.lookup_hash("phone", phone),
    }
    if r["for_self"] and not shared:
        # The share-phone keyboard (hidden by itself once pressed) must go before the next
        # (inline) question; that takes a message of its own.
        await say(context, turn.chat_id, confirmation, ReplyKeyboardRemove())
        await _advance(context, turn, r, Step.PHONE, **fields)
        return
    await _advance(context, turn, r, Step.PHONE, note=confirmation, **fields)


async def _no_phone(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if r["for_self"]:  # the self-registration keyboard has no such button
        await _stale(context, turn)
        return
    await _advance(context, turn, r, Step.PHONE, phone_enc=None, phone_hash=None)


async def _region_choice(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    step = Step(r["step"])
    if value.startswith("p") and value[1:].isdigit():
        await registrations.update(context.db, r["id"], scratch=_scratch(r, page=int(value[1:])))
        await _ask_current(context, turn)
        return
    if value == "up" and step != Step.KABUPATEN:
        # Out of a list that started at the person's own area, to the one above it.
        up = Step.KECAMATAN if step == Step.DESA else Step.KABUPATEN
        # The kecamatan list keeps its own way up, to another kabupaten.
        home = r["kabupaten_code"] if up == Step.KECAMATAN else None
        await registrations.update(
            context.db, r["id"], step=up, scratch=_scratch(r, page=None, home=home)
        )
        await _ask_current(context, turn)
        return
    options = _region_options(step, r)
    if value not in {w.code for w in options}:
        await _stale(context, turn)
        return
    note = await _outside_note(context, turn, r, value) if step == Step.DESA else None
    fields: dict[str, Any] = {"scratch": _scratch(r, page=None)}
    if step == Step.KABUPATEN:
        fields.update(kabupaten_code=value, kecamatan_code=None, desa_code=None)
    elif step == Step.KECAMATAN:
        fields.update(kecamatan_code=value, desa_code=None)
    else:
        fields.update(desa_code=value)
    await _advance(context, turn, r, step, note=note, **fields)


async def _outside_note(
    context: JagaContext, turn: Turn, r: dict[str, Any], desa: str
) -> str | None:
    """A one-line warning when a cadre registers someone outside their own desa (allowed)."""
    if r["for_self"]:
        return None
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_cadre or any(within(desa, own) for own in access.cadre_regions):
        return None
    return turn.gettext(
        "Catatan: desa ini di luar desa tugas Anda sebagai kader. Pendaftaran tetap bisa "
        "dilanjutkan."
    )


def _region_options(step: Step, r: dict[str, Any]) -> tuple[Any, ...]:
    scratch = json.loads(r["scratch"] or "{}")
    if step == Step.KABUPATEN:
        return kabupaten_choices(turn_region(r, scratch))
    if step == Step.KECAMATAN:
        return children(r["kabupaten_code"])
    options = children(r["kecamatan_code"])
    home = scratch.get("home")
    # A cadre's own desa comes first.
    return tuple(sorted(options, key=lambda w: w.code != home)) if home else options


async def _region_text(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    _ = turn.gettext
    step = Step(r["step"])
    found = search_regions(text, _region_options(step, r))
    typed = normalise(text).removeprefix("kabupaten ").removeprefix("kota ")
    exact = [w for w in found if _bare_region(w.name) == typed]
    if len(exact) == 1:  # the name typed in full: taken as the press
        await _region_choice(context, turn, r, exact[0].code)
        return
    if not found:
        await _again(
            context,
            turn,
            _("Nama itu tidak saya temukan. Coba ketik sebagian namanya, atau pilih tombol."),
        )
        return
    rows = [[(w.name, _b(step, w.code))] for w in found]
    await say(
        context,
        turn.chat_id,
        _("Mungkin yang Anda maksud salah satu ini? Silakan pilih."),
        inline(rows),
    )


def _bare_region(name: str) -> str:
    """A region name as typed: lowercase, without "Kabupaten"/"Kota"."""
    return normalise(name).removeprefix("kabupaten ").removeprefix("kota ")


async def _occupation(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in OCCUPATION_CODES:
        await _stale(context, turn)
        return
    other = r["occupation_other"] if value == "lainnya" else None
    await _advance(context, turn, r, Step.OCCUPATION, occupation=value, occupation_other=other)


async def _occupation_other(
    context: JagaContext, turn: Turn, r: dict[str, Any], text: str
) -> None:
    value = check_free_text(text)
    if value is None:
        await _again(
            context, turn, turn.gettext("Silakan ketik nama pekerjaannya, 2 sampai 60 huruf.")
        )
        return
    await _advance(context, turn, r, Step.OCCUPATION_OTHER, occupation_other=value)


async def _income_fields(r: dict[str, Any], income: int) -> dict[str, Any]:
    table = load_table()
    fields: dict[str, Any] = {
        "income": income,
        "income_base": table.bracket_for(income).base,
        "table_version": table.version,
    }
    if r["programs"]:
        fields["monthly_contribution"] = _normal_total(
            {**r, **fields}, r["programs"] == "JKK_JKM_JHT"
        )
    return fields


async def _income_choice(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    table = load_table()
    numbers = {f"b{b.number}": b for b in table.brackets}
    bracket = numbers.get(value)
    if bracket is None:
        await _stale(context, turn)
        return
    # A button gives a range; its dasar penghasilan stands for the reported income.
    await _advance(context, turn, r, Step.INCOME, **await _income_fields(r, bracket.base))


async def _income_text(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    income = check_income(text)
    if income is None:
        await _again(
            context,
            turn,
            turn.gettext("Jumlah itu tidak bisa saya baca. Tulis misalnya 1,5 juta atau 1500000."),
        )
        return
    note = turn.gettext("Penghasilan per bulan: {amount}").format(amount=turn.tr.money(income))
    await _advance(context, turn, r, Step.INCOME, note=note, **await _income_fields(r, income))


async def _programs(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in PROGRAM_LABELS:
        await _stale(context, turn)
        return
    amount = _normal_total(r, value == "JKK_JKM_JHT")
    await _advance(context, turn, r, Step.PROGRAMS, programs=value, monthly_contribution=amount)


async def _period(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if not value.isdigit() or int(value) not in PERIODS:
        await _stale(context, turn)
        return
    await _advance(context, turn, r, Step.PERIOD, pay_period_months=int(value))


async def _payer(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in ("sendiri", "program"):
        await _stale(context, turn)
        return
    fields: dict[str, Any] = {
        "payer": value,
        "sumber_iuran": "mandiri" if value == "sendiri" else None,
    }
    if value == "program":
        fields["pay_period_months"] = None  # the program pays: no period of the worker's own
    elif not r["pay_period_months"] and r["editing"]:
        # Changed to self-paying from the summary: the period was never asked, ask it now.
        await registrations.update(context.db, r["id"], step=Step.PERIOD, **fields)
        await _ask_current(context, turn, {**r, **fields, "step": Step.PERIOD})
        return
    await _advance(context, turn, r, Step.PAYER, **fields)


async def _heir_skip(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    await _advance(context, turn, r, Step.HEIR_NAME, heir_name=None, heir_relation=None)


async def _heir_name(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    # "istri sy rina wati": the name is Rina Wati, the relation (to confirm) Suami / istri.
    relation, rest = split_heir(text)
    name = check_name(rest)
    if name is None:
        await _again(context, turn, turn.gettext(NAME_RULE), r)
        return
    scratch = _scratch(r, heir_guess=relation)
    await _advance(context, turn, r, Step.HEIR_NAME, heir_name=name, scratch=scratch)


async def _heir_relation(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in HEIR_RELATIONS:
        await _stale(context, turn)
        return
    scratch = _scratch(r, heir_guess=None)
    await _advance(context, turn, r, Step.HEIR_RELATION, heir_relation=value, scratch=scratch)


async def _summary_choice(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value.startswith("e:") and value[2:] in FIELDS:
        first = FIELDS[value[2:]][0]
        fields: dict[str, Any] = {"scratch": _scratch(r, page=None, decade=None)}
        own = await _own_area(context, turn, {**r, **fields}) if first == Step.KABUPATEN else None
        if own is not None:  # a cadre's or reviewer's address list starts at their own area
            first, area = own
            fields.update(area)
        await registrations.update(context.db, r["id"], step=first, editing=1, **fields)
        await _ask_current(context, turn)
        return
    if value == "send":
        if r["status"] == "perlu_perbaikan":
            await _resubmit(context, turn, r)
        else:
            await _submit(context, turn, r)
        return
    await _stale(context, turn)


async def _flags(context: JagaContext, r: dict[str, Any]) -> str:
    """The reviewer's flags for a registration as it is about to be (re)submitted, as JSON."""
    settings = context.settings
    duplicate_phone = bool(r["phone_hash"]) and await registrations.phone_in_use(
        context.db, r["phone_hash"], other_than=r["id"]
    )
    flags = flags_for(
        r,
        duplicate_phone=duplicate_phone,
        today=clock.today(),
        min_age=settings.min_age,
        max_age=settings.max_age,
    )
    return json.dumps(flags)


async def _submit(context: JagaContext, turn: Turn, r: dict[str, Any]) -> None:
    """Turns the draft into a submission with a reference number and says what happens next."""
    _ = turn.gettext
    flags = await _flags(context, r)
    ref = reference(r["id"], r["kabupaten_code"])
    try:
        await registrations.submit(context.db, r["id"], ref, flags, actor=str(turn.id))
    except registrations.DuplicateNik:
        await registrations.delete_draft(context.db, turn.id)
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            _("NIK ini baru saja didaftarkan orang lain. Ketik /status untuk melihat statusnya."),
        )
        return
    await users.set_active_flow(context.db, turn.id, None)
    log.info(
        "event=registration_submitted registration=%s ref=%s flags=%s",
        r["id"],
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
    if not r["for_self"]:
        lines.append(_("Untuk mendaftarkan orang lain lagi, ketik /daftar."))
    await say(context, turn.chat_id, "\n".join(lines))


async def _resubmit(context: JagaContext, turn: Turn, r: dict[str, Any]) -> None:
    """Sends the corrected registration back to the reviewer's queue."""
    _ = turn.gettext
    flags = await _flags(context, r)
    done = await registrations.resubmit(context.db, r["id"], flags, actor=str(turn.id))
    await users.set_active_flow(context.db, turn.id, None)
    if not done:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    log.info("event=registration_resubmitted registration=%s ref=%s", r["id"], r["ref"])
    text = _(
        "Terima kasih. Perbaikan untuk {ref} sudah dikirim dan akan diperiksa lagi oleh petugas. "
        "Kabar akan dikirim lewat chat ini."
    ).format(ref=r["ref"])
    await say(context, turn.chat_id, text)


# --- a photo of the KTP at the NIK step ---------------------------------------------------------
# The photo is read in memory and dropped; what was read waits, encrypted, in the draft's scratch
# ("ktp") until the person confirms it, and only then fills the registration (SECURITY.md).

KTP_FIELDS = {"nik": N_("Ubah NIK"), "name": N_("Ubah nama"), "birth": N_("Ubah tgl lahir"),
              "address": N_("Ubah alamat")}  # fmt: skip


def _image_of(message: Message) -> tuple[str, int | None] | None:
    """The file id and size of a photo, or of a document sent at the NIK step (read as one)."""
    if message.photo:
        biggest = message.photo[-1]
        return biggest.file_id, biggest.file_size
    if message.document is not None:
        return message.document.file_id, message.document.file_size
    return None


async def document(update: Update, context: JagaContext) -> None:
    """A file sent while the registration waits for the NIK is read as a KTP photo; any other
    file goes to the cadres' spreadsheet handler."""
    user = update.effective_user
    if user is not None:
        r = await registrations.active_of(context.db, user.id)
        flow = await users.get_or_create(context.db, user.id, user.full_name)
        if r is not None and r["step"] == Step.NIK and flow.active_flow == FLOW:
            await on_message(update, context)
            return
    await cadres.document(update, context)


def _ktp_prompt(turn: Turn, me: bool) -> str:
    _ = turn.gettext
    if me:
        return _(
            "Silakan kirim foto bagian depan KTP Anda. Foto di tempat terang, lurus, seluruh "
            "kartu terlihat. Foto dibaca lalu langsung dihapus."
        )
    return _(
        "Silakan kirim foto bagian depan KTP orang yang didaftarkan. Foto di tempat terang, "
        "lurus, seluruh kartu terlihat. Foto dibaca lalu langsung dihapus."
    )


async def photo_start(update: Update, context: JagaContext) -> None:
    """Starts (or continues) a registration that takes the NIK from a KTP photo; asks consent."""
    turn = await Turn.load(update, context)
    current = await registrations.active_of(context.db, turn.id)
    if current is not None and current["step"] == Step.NIK:
        await users.set_active_flow(context.db, turn.id, FLOW)
        await registrations.update(
            context.db, current["id"], scratch=_scratch(current, by_photo=1)
        )
        await _ask_current(context, turn)
        return
    if current is not None and current["status"] == "draft" and current["step"] != Step.CONSENT:
        await daftar(update, context)
        return
    await registrations.create_draft(context.db, turn.id, Step.CONSENT)
    draft = await registrations.active_of(context.db, turn.id)
    assert draft is not None
    await registrations.update(context.db, draft["id"], scratch=_scratch(draft, by_photo=1))
    await users.set_active_flow(context.db, turn.id, FLOW)
    await _ask_current(context, turn)


async def _ktp_problem(
    context: JagaContext, turn: Turn, problem: str, status: Message | None = None
) -> None:
    """One line of why the photo cannot be used, with [Coba lagi] [Ketik saja]."""
    _ = turn.gettext
    keyboard = inline([[(_("Coba lagi"), "KTP retry"), (_("Ketik saja"), "KTP type")]])
    text = _(ktp.PROBLEM_MESSAGES[problem])
    if status is not None:
        await context.bot.edit_message_text(
            text, chat_id=turn.chat_id, message_id=status.message_id, reply_markup=keyboard
        )
        return
    await say(context, turn.chat_id, text, keyboard)


async def _ktp_photo(
    context: JagaContext, turn: Turn, r: dict[str, Any], message: Message
) -> None:
    """Reads a KTP photo in memory, keeps the reading encrypted, and shows it to be confirmed."""
    image = _image_of(message)
    assert image is not None
    file_id, size = image
    document = message.document
    if document is not None and not (document.mime_type or "").startswith("image/"):
        await _ktp_problem(context, turn, "not_image")
        return
    if size is not None and size > ktp.MAX_BYTES:
        log.info("event=ktp_photo_refused registration=%s reason=too_large", r["id"])
        await _ktp_problem(context, turn, "too_large")
        return
    status = await say(context, turn.chat_id, turn.gettext("Sedang membaca foto…"))
    telegram_file = await context.bot.get_file(file_id)
    if telegram_file.file_size is not None and telegram_file.file_size > ktp.MAX_BYTES:
        await _ktp_problem(context, turn, "too_large", status)
        return
    data = bytes(await telegram_file.download_as_bytearray())  # in memory only, never on disk
    reading = await ktp.read_ktp(data, today=clock.today())
    del data
    log.info("event=ktp_photo registration=%s problem=%s", r["id"], reading.problem or "-")
    if reading.problem is None and reading.nik is None:
        reading.problem = "no_nik"
    if reading.problem is not None:
        await _ktp_problem(context, turn, reading.problem, status)
        return
    sealed = base64.b64encode(context.cipher.encrypt(reading.model_dump_json())).decode()
    await registrations.update(context.db, r["id"], scratch=_scratch(r, ktp=sealed, ktp_skip=None))
    text, keyboard = _ktp_summary(turn, r, reading)
    await context.bot.edit_message_text(
        text, chat_id=turn.chat_id, message_id=status.message_id, reply_markup=keyboard
    )


def _pending_reading(context: JagaContext, r: dict[str, Any]) -> ktp.KtpReading | None:
    """The reading waiting for confirmation, decrypted, or None."""
    sealed = json.loads(r["scratch"] or "{}").get("ktp")
    if not sealed:
        return None
    return ktp.KtpReading.model_validate_json(context.cipher.decrypt(base64.b64decode(sealed)))


# Parts of a reading worth checking again when the photo showed them poorly.
_UNSURE = {"nik": N_("NIK"), "name": N_("nama"), "birth_date": N_("tanggal lahir"),
           "address": N_("alamat"), "desa": N_("desa")}  # fmt: skip


def _ktp_summary(
    turn: Turn, r: dict[str, Any], reading: ktp.KtpReading
) -> tuple[str, InlineKeyboardMarkup]:
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
    text = _fit("\n".join(lines), MAX_MESSAGE)
    edits = [(_(label), f"KTP edit {field}") for field, label in KTP_FIELDS.items()]
    return text, inline([[(_("Benar"), "KTP ok")], *columns(edits, 2)])


async def ktp_button(update: Update, context: JagaContext) -> None:
    """Takes a press on the photo's buttons: confirm, change one part, try again or type."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_button(query)
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    r = await registrations.active_of(context.db, turn.id)
    if r is None or r["step"] != Step.NIK:
        await _again(context, turn, _("Tombol ini sudah tidak berlaku."), r)
        return
    await users.set_active_flow(context.db, turn.id, FLOW)
    me = bool(r["for_self"])
    if parts[1] in ("retry", "how"):
        await registrations.update(context.db, r["id"], scratch=_scratch(r, ktp=None, by_photo=1))
        await say(
            context, turn.chat_id, _ktp_prompt(turn, me), inline([[(_("Ketik saja"), "KTP type")]])
        )
        return
    if parts[1] == "type":
        await registrations.update(
            context.db, r["id"], scratch=_scratch(r, ktp=None, ktp_skip=None, by_photo=None)
        )
        await _ask_current(context, turn)
        return
    reading = _pending_reading(context, r)
    if reading is None:
        await _again(context, turn, _("Tombol ini sudah tidak berlaku."), r)
        return
    skip = parts[2] if parts[1] == "edit" else json.loads(r["scratch"]).get("ktp_skip")
    if parts[1] == "from":
        await _ktp_apply(context, turn, r, reading, skip, from_card=parts[2] == "card")
        return
    if reading.mismatches and skip not in ("nik", "birth"):
        await registrations.update(context.db, r["id"], scratch=_scratch(r, ktp_skip=skip))
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
    keyboard = inline([[(_("Sesuai NIK"), "KTP from nik"), (_("Sesuai kartu"), "KTP from card")]])
    return "\n".join(lines), keyboard


async def _ktp_apply(
    context: JagaContext,
    turn: Turn,
    r: dict[str, Any],
    reading: ktp.KtpReading,
    skip: str | None,
    *,
    from_card: bool,
) -> None:
    """Stores what the person confirmed (all but `skip`), then asks the next open question."""
    _ = turn.gettext
    fields: dict[str, Any] = {}
    done: list[str] = []
    base = {**r, "scratch": _scratch(r, ktp=None, ktp_skip=None, by_photo=None)}
    if skip != "nik":
        assert reading.nik is not None
        nik_fields = await _nik_fields(context, turn, base, reading.nik)
        if nik_fields is None:  # the problem was said; the reading is not kept
            if await registrations.active_of(context.db, turn.id) is not None:
                await registrations.update(context.db, r["id"], scratch=base["scratch"])
            return
        fields.update(nik_fields)
        base["scratch"] = nik_fields["scratch"]
        if skip == "birth":
            base["scratch"] = _scratch(base, correcting_birth=True, decade=None)
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
    served = {w.code for w in kabupaten_choices(turn_region(r, json.loads(base["scratch"])))}
    if skip != "address" and desa and desa[:5] in served:
        fields.update(kabupaten_code=desa[:5], kecamatan_code=desa[:8], desa_code=desa)
        done += [Step.KABUPATEN, Step.KECAMATAN, Step.DESA]
    fields["scratch"] = _scratch(base, ktp_done=[str(s) for s in done] or None)
    log.info("event=ktp_confirmed registration=%s changed=%s", r["id"], skip or "-")
    note = _("Terima kasih, data dari foto sudah disimpan.")
    if skip == "nik":
        await registrations.update(context.db, r["id"], **fields)
        text = (
            _("Ketik NIK Anda (16 angka).")
            if r["for_self"]
            else _("Ketik NIK orang yang didaftarkan (16 angka).")
        )
        await say(context, turn.chat_id, f"{note}\n\n{text}")
        return
    await _advance(context, turn, r, Step.NIK, note=note, **fields)


_TEXT_ANSWERS = {
    Step.NIK: _nik,
    Step.NAME: _name_answer(Step.NAME, "name"),
    Step.MOTHER: _name_answer(Step.MOTHER, "mother_name"),
    Step.PHONE: _phone_text,
    Step.KABUPATEN: _region_text,
    Step.KECAMATAN: _region_text,
    Step.DESA: _region_text,
    Step.OCCUPATION_OTHER: _occupation_other,
    Step.INCOME: _income_text,
    Step.HEIR_NAME: _heir_name,
}
_CHOICES = {
    Step.CONSENT: _consent,
    Step.FOR_WHOM: _for_whom,
    Step.CONSENT_OTHER: _consent_other,
    Step.BIRTH_CONFIRM: _birth_confirm,
    Step.BIRTH_YEAR: _birth_year,
    Step.BIRTH_MONTH: _birth_month,
    Step.BIRTH_DAY: _birth_day,
    Step.SEX: _sex,
    Step.PHONE: _no_phone,
    Step.KABUPATEN: _region_choice,
    Step.KECAMATAN: _region_choice,
    Step.DESA: _region_choice,
    Step.OCCUPATION: _occupation,
    Step.INCOME: _income_choice,
    Step.PROGRAMS: _programs,
    Step.PERIOD: _period,
    Step.PAYER: _payer,
    Step.HEIR_NAME: _heir_skip,
    Step.HEIR_RELATION: _heir_relation,
    Step.SUMMARY: _summary_choice,
}
