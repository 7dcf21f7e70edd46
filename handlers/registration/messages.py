"""Typed messages and button presses at a question: an answer, a button's label typed, a
question about coverage answered in between, or a file read as a KTP photo."""

from __future__ import annotations

import asyncio
import json

from telegram import Message, Update

from bot.context import JagaContext
from bot.knowledge import parse_contribution_question
from bot.registration import (
    CHAT_FILLER,
    FIELDS,
    NEGATIONS,
    ORDER,
    Choice,
    Step,
    check_free_text,
    check_name,
    find_phone,
    is_chat_word,
    is_help,
    looks_like_question,
    match_choice,
    name_of_answer,
    normalise,
    read_income,
)
from bot.untrusted import clean_text
from handlers import cadres, questions
from handlers.common import Turn, answer_button, clear_keyboard, say, typed_choices
from handlers.registration import consent, person
from handlers.registration.asking import ask_current, offered_choices, question_of, short_question
from handlers.registration.common import (
    CANCEL_TEXT,
    FLOW,
    MAX_MESSAGE,
    TextAnswer,
    fit,
    log,
    normal_total,
    scratch_with,
    step_of,
)
from handlers.registration.entry import continue_draft, on_cancel, resume_keyboard, start_new
from handlers.registration.flow import advance, again, go_back
from handlers.registration.person import answer_contact
from handlers.registration.photo import image_of, ktp_photo
from handlers.registration.steps import STEPS
from handlers.registration.work import occupation_choice
from storage import registrations, users
from storage.registrations import Registration, Status


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes a typed answer, a typed button label or a question, then asks the next (or same)."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.message
    registration = await registrations.active_of(context.db, turn.id)
    if message is None:
        return
    if registration is None or registration.step is None:
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            _("Tidak ada pendaftaran yang sedang berjalan. Ketik /daftar untuk mulai."),
        )
        return
    if "resume_open" in json.loads(registration.scratch or "{}"):
        # "Lanjutkan" or "Mulai dari awal" is open: typed text answers that, nothing else.
        await _resume_typed(context, turn, registration, message.text or "")
        return
    step = Step(registration.step)
    if step == Step.NIK and image_of(message) is not None:
        await ktp_photo(context, turn, registration, message)
        return
    if message.contact is not None and step == Step.PHONE:
        await answer_contact(
            context, turn, registration, message.contact.phone_number, message.contact.user_id
        )
        return
    if not message.text:
        _question, keyboard = question_of(turn, registration)
        problem = (
            _("Maaf, saya hanya bisa membaca tulisan. Silakan ketik jawabannya atau tekan tombol.")
            if keyboard is not None
            else _("Maaf, saya hanya bisa membaca tulisan. Silakan ketik jawabannya.")
        )
        await again(context, turn, problem, registration)
        return
    await _typed(context, turn, registration, message.text[:500])


async def document(update: Update, context: JagaContext) -> None:
    """A file sent while the registration waits for the NIK is read as a KTP photo, unless it
    is a spreadsheet (a cadre's filled form); any other file goes to the cadres' handler."""
    user = update.effective_user
    message = update.message
    spreadsheet = message is not None and _is_spreadsheet(message)
    if user is not None and not spreadsheet:
        r = await registrations.active_of(context.db, user.id)
        flow = await users.get_or_create(context.db, user.id, user.full_name)
        if r is not None and r.step == Step.NIK and flow.active_flow == FLOW:
            await on_message(update, context)
            return
    await cadres.document(update, context)


_SPREADSHEET_ENDINGS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")


def _is_spreadsheet(message: Message) -> bool:
    """Whether a sent document is a spreadsheet, by its name or its type."""
    document = message.document
    if document is None:
        return False
    name = (document.file_name or "").lower()
    kind = (document.mime_type or "").lower()
    return name.endswith(_SPREADSHEET_ENDINGS) or "spreadsheet" in kind or "excel" in kind


async def _typed(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    """A typed message at a question: a button's label or other word for it, the step's own
    answer (a NIK, a name), a question about coverage, or else one line of what to type."""
    step = step_of(r)
    if step == Step.FOR_WHOM and (whom := consent.whom_of(text)) is not None:
        # "untuk tetangga saya", "istri sy": another person; "sy sendiri": oneself.
        await _pressed(step)(context, turn, r, whom)
        return
    if step == Step.PHONE and await person.answer_phone_talk(context, turn, r, text):
        return  # "dia blm punya hp gmn?", "pake hp anak", "utk apa no hp sy"
    field = _corrected_field(r, text)
    if field is not None:  # "penghasilannya salah, cuma 900rb" at a later question
        await _correct(context, turn, r, field, text)
        return
    handler = STEPS[step].typed
    choices = offered_choices(turn, r)
    # Where a question takes free text too (a name, an amount), only an exact label or word
    # counts as a press: "Lewi" is a name, not a typo of "Lewati". Who is registered is read
    # by whom_of above; a word found inside a longer answer ("pak budi sendiri") decides
    # nothing there.
    picked = match_choice(text, choices, fuzzy=handler is None and step != Step.FOR_WHOM)
    if picked is not None and text.strip().endswith("?") and not picked.label.endswith("?"):
        picked = None  # "jht?" asks what JHT is; it does not choose it
    if (
        picked is not None
        and step in (Step.CONSENT, Step.CONSENT_OTHER)
        and picked.value == "yes"
        and not _HESITANT.isdisjoint(normalise(text).split())
    ):
        picked = None  # "kurang setuju", "sudah tp dia ragu": agreement is never guessed
        if step == Step.CONSENT_OTHER:  # "hrs izin dulu ya? dia di laut": say why it is asked
            await _answer_question(context, turn, r, text)
            return
    if picked is not None:
        await _pressed(step)(context, turn, r, picked.value)
        return
    reads = STEPS[step].reads
    if is_help(text) or (looks_like_question(text) and not (reads and reads(r, text))):
        await _answer_question(context, turn, r, text)
        return
    words = normalise(text)
    if words in ("lanjut", "lanjutkan"):  # typed instead of pressing "Lanjutkan"
        await ask_current(context, turn, r)
        return
    plain = " ".join(w for w in words.split() if w not in CHAT_FILLER)
    if plain in _BACK_WORDS:  # "salah", "kembali": the previous question again
        await go_back(context, turn, r)
        return
    if (
        plain in _STOP_WORDS or plain in _LATER_WORDS
    ):  # "batal", "stop aja bang": as /batal, the answers kept
        await on_cancel(context, turn.id)
        await say(context, turn.chat_id, turn.gettext(CANCEL_TEXT), clear_keyboard())
        return
    if plain in _REGISTER_WORDS:  # "daftar" typed while registering: the same question, short
        short, keyboard = short_question(turn, r)
        lead = turn.gettext("Pendaftaran sedang berjalan.")
        await say(context, turn.chat_id, f"{lead}\n\n{short}", keyboard)
        return
    if words in ("mulai dari awal", "mulai ulang", "ulang dari awal") and r.status == Status.DRAFT:
        await start_new(context, turn)
        return
    if handler is not None:
        await handler(context, turn, r, text)
        return
    if step == Step.OCCUPATION and (job := _job_by_word(text, choices)) is not None:
        # "sopir angkot", "nelayan tradisional": one button's word among others.
        await occupation_choice(context, turn, r, job)
        return
    if step == Step.OCCUPATION and _other_job(text) is not None:
        # A job not on the buttons ("tukang kayu") is "Lainnya" with its name.
        await advance(
            context,
            turn,
            r,
            Step.OCCUPATION_OTHER,
            occupation="lainnya",
            occupation_other=_other_job(text),
        )
        return
    _text, keyboard = short_question(turn, r)
    await say(context, turn.chat_id, _hint(turn, r, choices), keyboard)


# Words that make a "yes" at a consent question doubtful: it is asked again.
_HESITANT = NEGATIONS | {
    "kurang", "ragu", "tapi", "tp", "mungkin", "nanti", "entar", "gimana", "harus", "hrs",
    "perlu", "gabisa", "gbs", "blm",
}  # fmt: skip
# Typed alone at a question: go back to the previous one.
_BACK_WORDS = frozenset(
    {"salah", "ulang", "ulangi", "kembali", "balik", "mundur", "sebelumnya", "back",
     "salah saya", "kembali ke sebelumnya", "balik lagi", "keliru", "salah ketik"}
)  # fmt: skip
# Words that continue a draft, or start it over, at the resume choice.
_RESUME_GO = frozenset(
    {"lanjut", "lanjutkan", "lanjutin", "terus", "terusin", "teruskan", "sambung", "sambungin",
     "continue", "go", "ya", "iya", "oke", "ok", "yes", "boleh", "sip", "siap"}
)  # fmt: skip
_RESUME_NEW = ("dari awal", "ulang", "mulai lagi", "mulai baru", "baru", "dari nol", "awal",
               "ulangi", "start over", "new")  # fmt: skip


async def _resume_typed(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    """Typed text while "Lanjutkan" / "Mulai dari awal" is open: read only as that choice (never
    stored as an answer), or one line saying which words work."""
    padded = f" {normalise(text)} "
    if any(f" {phrase} " in padded for phrase in _RESUME_NEW):
        await start_new(context, turn)
        return
    if not _RESUME_GO.isdisjoint(padded.split()):
        await continue_draft(context, turn, r)
        return
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Ketik «lanjut» untuk meneruskan pendaftaran tadi, atau «dari awal» untuk mulai "
            "lagi. Bisa juga tekan tombolnya."
        ),
        resume_keyboard(turn, r),
    )


# A field's name in a typed correction ("penghasilannya salah", "nama ibu keliru"), longest
# phrases first so that "nama ibu" is not read as "nama".
_FIELD_NAMES: tuple[tuple[str, str], ...] = (
    ("tanggal lahir", "birth_date"), ("nama ibu kandung", "mother_name"),
    ("nama ibu", "mother_name"), ("nama ibunya", "mother_name"), ("ibu kandung", "mother_name"),
    ("nama mamak", "mother_name"), ("nama mamaknya", "mother_name"), ("ahli waris", "heir"),
    ("nomor hp", "phone"), ("no hp", "phone"), ("masa bayar", "pay_period"),
    ("nama saya", "name"), ("nama lengkap", "name"), ("lahir", "birth_date"),
    ("waris", "heir"), ("hp", "phone"), ("handphone", "phone"), ("telepon", "phone"),
    ("nik", "nik"), ("ktp", "nik"), ("alamat", "address"), ("alamatnya", "address"),
    ("desa", "address"), ("kecamatan", "address"), ("kabupaten", "address"),
    ("kampung", "address"), ("pekerjaan", "occupation"), ("pekerjaannya", "occupation"),
    ("kerja", "occupation"), ("kerjaan", "occupation"), ("kerjaannya", "occupation"),
    ("penghasilan", "income"), ("penghasilannya", "income"), ("penghasilanku", "income"),
    ("gaji", "income"), ("gajinya", "income"), ("pendapatan", "income"),
    ("pendapatannya", "income"), ("income", "income"), ("program", "programs"),
    ("programnya", "programs"), ("pembayar", "payer"), ("nama", "name"),
)  # fmt: skip
# Words that say an earlier answer is wrong ("salah", "harusnya", "cuma").
_CORRECTION_WORDS = frozenset(
    {"salah", "ganti", "ubah", "bukan", "keliru", "harusnya", "seharusnya", "cuma", "cuman",
     "ralat", "koreksi", "perbaiki", "diganti", "diubah", "ganti2", "salah2", "wrong", "change"}
)  # fmt: skip
# Words after which a corrected name is said ("nama ibu salah, harusnya Siti Aminah").
_VALUE_OPENERS = ("harusnya", "seharusnya", "yang benar", "benarnya", "jadi", "mestinya")


def _corrected_field(r: Registration, text: str) -> str | None:
    """The one answered field a message says is wrong (its name with a correction word), or
    None."""
    words = normalise(text[:200]).split()
    if len(words) > 15 or _CORRECTION_WORDS.isdisjoint(words):
        return None
    padded = f" {' '.join(words)} "
    named: set[str] = set()
    for phrase, field in _FIELD_NAMES:
        if f" {phrase} " in padded:
            named.add(field)
            padded = padded.replace(f" {phrase} ", " | ")
    if len(named) != 1:
        return None
    field = named.pop()
    step = step_of(r)
    first = FIELDS[field][0]
    if field == "pay_period" and r.payer != "sendiri":
        return None
    answered = step == Step.SUMMARY or ORDER.index(first) < ORDER.index(step)
    current = step in FIELDS[field]
    return field if answered and not current else None


async def _correct(
    context: JagaContext, turn: Turn, r: Registration, field: str, text: str
) -> None:
    """Opens the question of a field said to be wrong, as the summary's "Ubah …" does; a new
    value said with it ("cuma 900 ribu") is taken as that question's answer at once. From a
    question before the summary, the form goes on from there afterwards."""
    step = step_of(r)
    if step != Step.SUMMARY and not r.editing and r.status == Status.DRAFT:
        r = r.with_answers(scratch=scratch_with(r, back_to=str(step)))
    handler, value = _corrected_value(field, text)
    if handler is None:
        await _pressed(Step.SUMMARY)(context, turn, r, f"e:{field}")
        return
    first = FIELDS[field][0]
    scratch = scratch_with(r, page=None, decade=None)
    await registrations.save_step(
        context.db, r.id, turn.id, FLOW, step=first, editing=1, scratch=scratch
    )
    await handler(context, turn, r.with_answers(step=first, editing=1, scratch=scratch), value)


def _corrected_value(field: str, text: str) -> tuple[TextAnswer | None, str]:
    """The question's own handler and the value to give it, when the correction carries a
    readable one (an amount, a phone number, a name after "harusnya"); else (None, "")."""
    if field == "income":
        # "bukan sejuta, harusnya 900rb": the amount after "harusnya" is the new one.
        tail = _after_opener(text, (*_VALUE_OPENERS, "cuma", "cuman", "hanya"))
        if tail and read_income(tail).amount is not None:
            return STEPS[Step.INCOME].typed, tail
        reading = read_income(text)
        if reading.amount is not None or reading.problem in ("varies", "range", "daily"):
            return STEPS[Step.INCOME].typed, text
    if field == "phone" and find_phone(text) is not None:
        return STEPS[Step.PHONE].typed, text
    if field in ("name", "mother_name"):
        # "..., harusnya Siti Aminah", or the name said with the field ("salah, nama ibu sy
        # Siti Aminah"); never a correction word itself ("nama ibu keliru", "bukan Budi").
        value = _after_opener(text, _VALUE_OPENERS) or name_of_answer(text)
        said = set(normalise(value).split())
        if (
            value
            and _CORRECTION_WORDS.isdisjoint(said)
            and not is_chat_word(value)
            and check_name(name_of_answer(value))
        ):
            step = Step.NAME if field == "name" else Step.MOTHER
            return STEPS[step].typed, value
    return None, ""


def _after_opener(text: str, openers: tuple[str, ...]) -> str:
    """What is said after the last of `openers` ("..., harusnya Siti Aminah"), or ""."""
    cleaned = clean_text(text[:200])
    padded = " " + "".join(ch if ch.isalnum() else " " for ch in cleaned.lower()) + " "
    cuts = [padded.rfind(f" {w} ") + len(w) + 1 for w in openers if f" {w} " in padded]
    return cleaned[max(cuts) :].strip(" ,.:;-") if cuts else ""


# Typed words that stop the registration, as /batal does.
_STOP_WORDS = frozenset(
    {"batal", "batalkan", "berhenti", "stop", "keluar", "cancel", "tidak jadi", "udahan",
     "sudahan", "tidak jadi daftar", "batal daftar"}
)  # fmt: skip
# "Later": the registration stops with its answers kept, to be continued with /daftar.
_LATER_WORDS = frozenset(
    {"nanti", "besok", "lain kali", "nanti lagi", "besok lagi", "nanti dulu", "nanti nanti"}
)
# Typed words that ask to register, said while already registering.
_REGISTER_WORDS = frozenset({"daftar", "mau daftar", "daftar bpjs", "saya mau daftar", "/daftar"})

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


def _hint(turn: Turn, r: Registration, choices: list[Choice]) -> str:
    """One short line saying what can be typed at a question with buttons."""
    _ = turn.gettext
    step = step_of(r)
    if (hint := STEPS[step].hint) is not None:
        return _(hint)
    line = typed_choices(turn.tr, [c.label for c in choices if c.shown])
    return (
        line
        if len(line) <= 110
        else _("Ketik salah satu pilihan di tombol, atau tekan tombolnya.")
    )


async def _answer_question(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    """Answers a question asked in the middle, then asks the same question again, short, in the
    same message."""
    _ = turn.gettext
    short, keyboard = short_question(turn, r)
    if is_help(text):
        body = _(
            "Saya menanyakan data pendaftaran satu per satu. Jawab dengan mengetik atau menekan "
            "tombol. Ketik /batal untuk berhenti; jawaban Anda tetap tersimpan."
        )
    elif r.step == Step.CONSENT_OTHER:
        # "harus izin dulu?", "dia di laut, gak bisa ditelpon": the agreement comes first.
        body = _(
            "Ya, orang yang didaftarkan harus setuju dulu. Kalau belum bisa ditanya, tekan "
            "Belum: jawaban Anda disimpan, dan pendaftaran bisa dilanjutkan setelah dia setuju."
        )
    elif "status" in normalise(text).split() and r.status == Status.DRAFT:
        # "cek status sy" in the middle: this registration has none yet.
        body = _(
            "Pendaftaran ini belum dikirim, jadi belum ada statusnya. Setelah dikirim, ketik "
            "/status untuk melihatnya."
        )
    else:
        body = _knowledge_answer(turn, r, text)
    log.info("event=registration_question step=%s", r.step)
    room = MAX_MESSAGE - len(short) - 2
    await say(context, turn.chat_id, fit(body, room) + "\n\n" + short, keyboard)


# How the knowledge base's answers point at their topic buttons, which a registration question
# does not show (its own choices take their place).
_BUTTON_HINTS = ("tombol di bawah", "button below")


def _without_button_hints(answer: str) -> str:
    """The answer without what points at topic buttons not shown here: the pointing clause cut
    off its sentence, or the sentence dropped when nothing else is left of it."""
    lines = []
    for line in answer.split("\n"):
        if not line.strip():
            lines.append(line)
            continue
        sentences = []
        for sentence in line.split(". "):
            low = sentence.lower()
            hits = [low.find(hint) for hint in _BUTTON_HINTS if hint in low]
            if not hits:
                sentences.append(sentence)
                continue
            head = sentence[: min(hits)]
            cut = max(head.rfind(";"), head.rfind(","), head.rfind(":"))
            if cut > 0 and len(head[:cut].split()) >= 4:  # "Cara mencairkan:" alone says nothing
                sentences.append(head[:cut].rstrip())
        text = ". ".join(sentences).rstrip()
        if text and text != line.rstrip() and not text.endswith((".", "?", "!")):
            text += "."  # a clause was cut off: the sentence still ends
        if text:
            lines.append(text)
    return "\n".join(lines).strip()


def _knowledge_answer(turn: Turn, r: Registration, text: str) -> str:
    """The answer to a coverage question: the contribution for an income, or a curated topic."""
    _ = turn.gettext
    income = parse_contribution_question(text)
    kb = questions.knowledge(turn.tr.language)
    match = kb.answer(text) if income is None else None
    if match is not None and match.topic.id == "iuran" and r.income:
        income = r.income  # "brp iuran sy?" once the income is known: their own figure
    if income is not None:
        return _(
            "Untuk penghasilan {income} per bulan, iuran JKK + JKM {two} per bulan; dengan JHT "
            "{three} per bulan. Petugas akan memeriksa angkanya lagi."
        ).format(
            income=turn.tr.money(income),
            two=turn.tr.money(normal_total(income, False)),
            three=turn.tr.money(normal_total(income, True)),
        )
    if match is None:
        return _(
            "Maaf, pertanyaan itu belum bisa saya jawab di sini. Setelah pendaftaran selesai, "
            "tulis lagi pertanyaan Anda; bisa diteruskan ke petugas."
        )
    source = _("Sumber: {source}").format(source=match.topic.cited)
    answer = f"{match.topic.title}\n\n{_without_button_hints(match.topic.answer)}"
    with_source = f"{answer}\n{source}"
    return with_source if len(with_source) <= MAX_MESSAGE - 160 else answer


async def button(update: Update, context: JagaContext) -> None:
    """Takes a button answer `REG <step> <value>` if the registration waits for that step."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    parts = query.data.split(" ", 2)
    registration = await registrations.active_of(context.db, turn.id)
    if len(parts) != 3 or registration is None or registration.step != parts[1]:
        await answer_button(query, turn.gettext("Tombol ini sudah tidak berlaku."))
        if registration is not None and registration.step is not None:
            await users.set_active_flow(context.db, turn.id, FLOW)
            await ask_current(context, turn)
        return
    if "resume_open" in json.loads(registration.scratch or "{}"):
        # A question's button pressed instead of "Lanjutkan": the draft goes on from there.
        scratch = scratch_with(registration, resume_open=None)
        await registrations.save_step(context.db, registration.id, turn.id, FLOW, scratch=scratch)
        registration = registration.with_answers(scratch=scratch)
    # The press is acknowledged while the answer is stored and the next question sent, so
    # neither waits for the other's Bot API round trip.
    acknowledged = asyncio.create_task(answer_button(query))
    try:
        if turn.user.active_flow != FLOW:
            await users.set_active_flow(context.db, turn.id, FLOW)
        await _pressed(Step(parts[1]))(context, turn, registration, parts[2])
    finally:
        await acknowledged


def _pressed(step: Step) -> TextAnswer:
    """The handler of a choice at `step` (every step a choice reaches has one)."""
    pressed = STEPS[step].pressed
    if pressed is None:
        raise ValueError(f"no choices at {step}")
    return pressed
