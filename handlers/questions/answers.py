"""Free text outside a flow: small talk, a contribution, the own status, a topic, or none."""

from __future__ import annotations

from telegram import Update

from bot import membership
from bot.context import JagaContext
from bot.contributions import is_transport, load_table, payer_of, sector_of
from bot.i18n import translator
from bot.knowledge import (
    OTHER_LANGUAGE_MARGIN,
    KnowledgeBase,
    Topic,
    answer_any,
    parse_contribution_question,
)
from bot.registration import STATUS_WORDS, occupation_named
from handlers import registration
from handlers.common import Button, Turn, say
from handlers.questions.amounts import show_contribution
from handlers.questions.common import ACTION_LABELS, MAX_ANSWER, knowledge, log, send
from handlers.questions.topics import show_topic, topic_rows, topic_text
from handlers.start import menu_keyboard
from storage import questions, registrations
from storage.registrations import Status

# Languages whose knowledge base also reads a question (English typed to an Indonesian user).
KNOWLEDGE_LANGUAGES = ("id", "en")


def _other_knowledge(kb: KnowledgeBase) -> list[KnowledgeBase]:
    """The knowledge bases of the other languages a question may be typed in."""
    return [knowledge(language) for language in KNOWLEDGE_LANGUAGES if language != kb.language]


async def on_text(update: Update, context: JagaContext) -> None:
    """Answers free text outside a flow: a contribution, a topic, or an honest 'I don't know'."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    if not text:
        await say(
            context,
            turn.chat_id,
            _("Saya hanya bisa membaca pesan teks. Tulis pertanyaan Anda, atau ketik /start."),
        )
        return
    kb = knowledge(turn.tr.language)
    # Small talk in the other language too ("I want to register" to an Indonesian reader).
    talk = next(
        (t for t in (k.small_talk(text) for k in (kb, *_other_knowledge(kb))) if t is not None),
        None,
    )
    if talk is not None:
        await small_talk(update, context, turn, talk)
        return
    income = parse_contribution_question(text)
    if income is not None:
        # The job said with the amount ("iuran ojek 2jt") decides the sector, else their own.
        named = sector_of(occupation_named(text))
        sector = named or await _sector_of(context, turn.id)
        await show_contribution(context, turn, income, sector)
        return
    if any(k.asks_own_status(text) for k in (kb, *_other_knowledge(kb))):
        await own_status(context, turn, kb, text)
        return
    english = _typed_english(kb, text) if turn.user.language is None else None
    if english is not None:
        await _show_in_english(context, turn, english, text)
        return
    match = answer_any(kb, _other_knowledge(kb), text)
    if match is not None:
        log.info("event=question_answered topic=%s score=%.2f", match.topic.id, match.score)
        await show_topic(context, turn, kb, match.topic, text)
        return
    question_id = await questions.add_draft(context.db, turn.id, text)
    log.info("event=question_unanswered id=%s", question_id)
    rows: list[list[Button]] = [[(t.title, f"ASK {t.id}")] for t in kb.closest(text, 3)]
    rows.append([(_("Teruskan ke petugas"), f"ASK FWD {question_id}")])
    await send(
        context,
        turn.chat_id,
        _(
            "Maaf, saya belum bisa menjawab pertanyaan itu dengan pasti, dan saya tidak mau "
            "menebak.\n\n"
            "Mungkin salah satu topik di bawah ini yang Anda cari. Atau teruskan pertanyaan Anda "
            "ke kader desa atau petugas kabupaten; jawabannya akan dikirim lewat chat ini."
        ),
        rows,
    )


async def _own_state(context: JagaContext, turn: Turn) -> str | None:
    """One or two lines on the asker's own registration or membership, in /status's words and
    only what /status shows this account; None when the account has nothing registered."""
    from handlers.status import STATE_WORDS, sender_sees  # handlers.status imports this module

    _ = turn.gettext
    worker = await membership.worker_of(context.db, turn.id)
    if worker is not None and worker.registration is not None:
        registration = worker.registration
        state = STATE_WORDS[registration.status]
        return "\n".join(
            [
                _("Nomor pendaftaran: {ref}").format(ref=registration.ref),
                _("Status: {state}").format(state=_(state)),
            ]
        )
    if worker is not None and worker.kpj is not None:
        return _("Anda tercatat sebagai peserta BPJS Ketenagakerjaan, nomor KPJ {kpj}.").format(
            kpj=worker.kpj
        )
    sent = await registrations.for_others_by(context.db, turn.id, limit=1)
    if sent and await sender_sees(context.db, turn.id, sent[0]):
        return _("Pendaftaran terakhir yang Anda kirim: {ref}, {state}.").format(
            ref=sent[0].ref, state=_(STATUS_WORDS[sent[0].status])
        )
    draft = await registrations.active_of(context.db, turn.id)
    if draft is not None and draft.status == Status.DRAFT:
        return _("Pendaftaran Anda belum dikirim. Ketik /daftar untuk melanjutkannya.")
    return None


async def own_status(context: JagaContext, turn: Turn, kb: KnowledgeBase, question: str) -> None:
    """Answers a question about the asker's own registration with its state and a button to
    /status; someone with nothing registered gets the general answer and a button to /daftar."""
    _ = turn.gettext
    state = await _own_state(context, turn)
    if state is not None:
        log.info("event=question_answered topic=own_status")
        text = state + "\n\n" + _("Tekan Cek status untuk rinciannya.")
        label = ACTION_LABELS["status"]  # a variable: a literal key inside _() is extracted
        await send(context, turn.chat_id, text, [[(_(label), "MENU status")]])
        return
    topic = kb.topic("setelah_daftar")
    log.info("event=question_answered topic=%s own=none", topic.id)
    label = ACTION_LABELS["daftar"]
    rows = [[(_(label), "MENU daftar")]]
    rows += [row for row in topic_rows(turn.tr, kb, topic) if row[0][1] != "MENU daftar"]
    await send(context, turn.chat_id, topic_text(turn.tr, kb, topic, membership.today()), rows)


async def _show_in_english(context: JagaContext, turn: Turn, topic: Topic, question: str) -> None:
    """An English answer to an English question from someone who has not chosen a language,
    with the way to switch (the stored language is left as it is)."""
    tr = translator("en")
    kb = knowledge("en")
    log.info("event=question_answered topic=%s language=en", topic.id)
    hint = tr.gettext("Ganti bahasa: /bahasa")
    text = topic_text(tr, kb, topic, membership.today(), question)
    rows = topic_rows(tr, kb, topic)
    if len(text) + len(hint) + 2 <= MAX_ANSWER:
        text = f"{text}\n\n{hint}"
    else:  # a long answer: the way to switch is a button instead
        rows.append([(tr.gettext("Ganti bahasa"), "MENU bahasa")])
    await send(context, turn.chat_id, text, rows)


async def small_talk(update: Update, context: JagaContext, turn: Turn, kind: str) -> None:
    """Answers a greeting, thanks, "ok", an apology, "never mind" or "are you a bot?" with the
    main menu; "daftar" starts /daftar."""
    _ = turn.gettext
    if kind == "register":
        await registration.daftar(update, context)
        return
    if kind == "greeting":
        text = _(
            "Halo! Saya Jaga Pekerja. Saya bisa membantu Anda mendaftar BPJS Ketenagakerjaan "
            "dan menjawab pertanyaan soal iuran dan manfaat.\n\n"
            "Pilih tombol di bawah, atau tulis pertanyaan Anda."
        )
    elif kind == "never":
        text = _(
            "Baik, tidak apa-apa. Bila nanti ada yang ingin ditanyakan, tulis saja atau pilih "
            "tombol di bawah."
        )
    elif kind == "sorry":
        text = _(
            "Tidak apa-apa. Bila ada yang ingin ditanyakan, tulis saja atau pilih tombol di bawah."
        )
    elif kind == "bot":
        text = _(
            "Ya, saya bot Jaga Pekerja. Saya bisa membantu Anda mendaftar BPJS Ketenagakerjaan, "
            "menghitung iuran, dan menjawab pertanyaan soal manfaat dan klaim.\n\n"
            "Pertanyaan yang tidak bisa saya jawab bisa diteruskan ke petugas."
        )
    elif kind == "thanks":
        text = _(
            "Sama-sama. Semoga sehat dan selamat bekerja.\n\n"
            "Bila ada yang ingin ditanyakan, tulis saja atau pilih tombol di bawah."
        )
    else:
        text = _(
            "Baik. Ada lagi yang bisa saya bantu? Pilih tombol di bawah, atau tulis pertanyaan."
        )
    log.info("event=small_talk kind=%s", kind)
    await say(context, turn.chat_id, text, menu_keyboard(turn, context))


def _typed_english(kb: KnowledgeBase, text: str) -> Topic | None:
    """The English topic for a question typed in English to a reader of another language."""
    if kb.language == "en":
        return None
    english = knowledge("en")
    if english.language != "en" or english.coverage(text) < kb.coverage(text) + (
        OTHER_LANGUAGE_MARGIN
    ):
        return None
    match = english.answer(text)
    return match.topic if match is not None else None


async def _sector_of(context: JagaContext, telegram_id: int) -> str | None:
    """'transport', 'non_transport' or 'government' from the worker's registration, if any."""
    worker = await membership.worker_of(context.db, telegram_id)
    registration = worker.registration if worker is not None else None
    if registration is None or not registration.occupation:
        return None
    if load_table().government_paid(
        payer_of(registration.sumber_iuran, registration.payer)
    ):  # APBN/APBD: no discount
        return "government"
    try:
        return "transport" if is_transport(registration.occupation) else "non_transport"
    except ValueError:
        return None
