"""Questions in the worker's own words, the /iuran calculator, and questions passed to officials.

Free text outside a flow lands here (handlers/router.py). A contribution question with an income
("iuran kalau penghasilan 2 juta?") is computed from the contribution table; anything else is
matched against the curated knowledge base of the user's language. When nothing fits well
enough the bot says so, offers the closest topics, and offers to pass the question to the
worker's cadre or district, who answer it with /pertanyaan.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import LinkPreviewOptions, Update

from bot import membership, notify, paying
from bot.access import access_of, within
from bot.context import JagaContext
from bot.contributions import (
    NON_TRANSPORT,
    SELF_PAID,
    TRANSPORT,
    Mark,
    Quote,
    is_transport,
    load_table,
    payer_of,
    quote,
)
from bot.i18n import N_, Translator, translator
from bot.knowledge import (
    OTHER_LANGUAGE_MARGIN,
    KnowledgeBase,
    Topic,
    answer_any,
    parse_contribution_question,
)
from bot.registration import (
    STATUS_WORDS,
    SYNONYMS,
    Choice,
    Step,
    match_choice,
    normalise,
    read_income,
)
from handlers import registration
from handlers.common import Button, Turn, answer_button, inline, say
from handlers.start import menu_keyboard
from storage import membership as store
from storage import outbox as outbox_store
from storage import questions, registrations, roles
from storage.registrations import Status
from storage.users import language_of

log = logging.getLogger(__name__)

IURAN_FLOW_NAME = "iuran"
ANSWER_FLOW_NAME = "jawab"
MAX_RELATED = 3
MAX_LISTED = 5
# Incomes offered as buttons in /iuran (rupiah a month); anything else can be typed.
INCOME_CHOICES = (1_000_000, 1_500_000, 2_000_000, 3_000_000)
# The lowest income base (PP 44/2015 Lampiran II) and the top of its bracket, as the iuran
# topic states them.
LOWEST_INCOME = 1_000_000
LOWEST_BRACKET_TOP = 1_100_000
SECTORS = {"T": "transport", "N": "non_transport", "G": "government"}
DETAIL_SECTORS: dict[str, str | None] = {**SECTORS, "U": None}


# No message is longer than this (characters).
MAX_ANSWER = 600
# Buttons that start a command from an answer (the MENU callbacks of handlers/start.py).
ACTION_LABELS = {"daftar": N_("Daftar sekarang"), "status": N_("Cek status")}
# Languages whose knowledge base also reads a question (English typed to an Indonesian user).
KNOWLEDGE_LANGUAGES = ("id", "en")


def knowledge(language: str) -> KnowledgeBase:
    """The knowledge base of a language, or the Indonesian one when it has none yet."""
    try:
        return KnowledgeBase.load(language)
    except FileNotFoundError:
        return KnowledgeBase.load("id")


def _other_knowledge(kb: KnowledgeBase) -> list[KnowledgeBase]:
    """The knowledge bases of the other languages a question may be typed in."""
    return [knowledge(language) for language in KNOWLEDGE_LANGUAGES if language != kb.language]


async def send(context: JagaContext, chat_id: int, text: str, rows: list[list[Button]]) -> None:
    """Send an answer without link previews (sources are URLs) and with its buttons."""
    await context.bot.send_message(
        chat_id,
        text,
        reply_markup=inline(rows) if rows else None,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


# --- free text ------------------------------------------------------------------------------


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
        await show_contribution(context, turn, income, await _sector_of(context, turn.id))
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


# Words that ask for several months at once ("iuran 3 bln", "setahun berapa"), by months.
_YEAR_WORDS = frozenset({"setahun", "tahun", "thn", "year", "yearly", "annual"})
_MONTH_WORDS = frozenset({"bulan", "bln", "bl", "month", "months"})
_PERIOD_TOPICS = frozenset({"iuran", "periode_bayar"})


def asked_months(text: str) -> int | None:
    """The number of months a question asks the total for (3, 6 or 12), if any."""
    words = normalise(text).replace("setahun", "1 tahun").split()
    periods = load_table().periods
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        if word.isdigit() and after in _MONTH_WORDS and int(word) in periods:
            return int(word)
        if word in ("1", "satu", "a", "per") and after in _YEAR_WORDS and 12 in periods:
            return 12
    return None


def _period_line(tr: Translator, months: int, on: dt.date) -> str:
    """The lowest contribution paid for several months at once, for 2 and 3 programmes."""
    two, three = _quotes(LOWEST_INCOME, None, on)
    return tr.gettext(
        "Bayar {months} bulan sekaligus (penghasilan di bawah {income}): {two}, atau {three} "
        "dengan JHT."
    ).format(
        income=tr.money(LOWEST_BRACKET_TOP),
        months=months,
        two=tr.money(two.period_total(months)),
        three=tr.money(three.period_total(months)),
    )


def topic_text(
    tr: Translator, kb: KnowledgeBase, topic: Topic, on: dt.date, question: str = ""
) -> str:
    """A topic as the reader gets it: title, the answer true on that day, and its source."""
    answer = topic.render(on, kb.language)
    source = tr.gettext("Sumber: {source}").format(source=topic.cited)
    text = f"{topic.title}\n\n{answer}\n\n{source}"
    months = asked_months(question) if topic.id in _PERIOD_TOPICS else None
    if months is not None:  # the total for those months, when it fits in one message
        longer = f"{topic.title}\n\n{answer}\n\n{_period_line(tr, months, on)}\n\n{source}"
        text = longer if len(longer) <= MAX_ANSWER else text
    return text


def topic_rows(tr: Translator, kb: KnowledgeBase, topic: Topic) -> list[list[Button]]:
    """Buttons under an answer: its command (register, status), details, related topics."""
    rows: list[list[Button]] = []
    if topic.action in ACTION_LABELS:
        rows.append([(tr.gettext(ACTION_LABELS[topic.action]), f"MENU {topic.action}")])
    if topic.details:
        rows.append([(tr.gettext("Selengkapnya"), f"ASK MORE {topic.id}")])
    for related in topic.related[:MAX_RELATED]:
        rows.append([(kb.topic(related).title, f"ASK {related}")])
    return rows


async def show_topic(
    context: JagaContext, turn: Turn, kb: KnowledgeBase, topic: Topic, question: str = ""
) -> None:
    """A topic's answer, its source, and buttons to its command and related topics."""
    text = topic_text(turn.tr, kb, topic, membership.today(), question)
    await send(context, turn.chat_id, text, topic_rows(turn.tr, kb, topic))


async def ask_button(update: Update, context: JagaContext) -> None:
    """ASK <topic> shows a topic, ASK MORE <topic> its details; ASK FWD <id> passes it on."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    args = query.data.split()[1:]
    if len(args) == 2 and args[0] == "FWD" and args[1].isdigit():
        await answer_button(query)
        await forward(context, turn, int(args[1]))
        return
    kb = knowledge(turn.tr.language)
    more = len(args) == 2 and args[0] == "MORE"
    try:
        topic = kb.topic(args[-1]) if len(args) == 1 or more else None
    except KeyError:
        topic = None
    if topic is None or (more and not topic.details):
        await answer_button(query, _("Topik ini sudah tidak ada. Silakan tulis pertanyaan Anda."))
        return
    await answer_button(query)
    if more:
        await send(context, turn.chat_id, f"{topic.title}\n\n{topic.details}", [])
        return
    await show_topic(context, turn, kb, topic)


async def _region_of(context: JagaContext, telegram_id: int) -> str | None:
    """The desa (or kabupaten) of the worker behind this account, when known."""
    worker = await membership.worker_of(context.db, telegram_id)
    registration = worker.registration if worker is not None else None
    if registration is None:
        return None
    return registration.desa_code or registration.kabupaten_code


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


async def forward(context: JagaContext, turn: Turn, question_id: int) -> None:
    """Passes the asker's question on (once) and tells the officials of their region."""
    _ = turn.gettext
    question = await questions.get(context.db, question_id)
    if question is None or question["asker_id"] != turn.id:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    if question["status"] != "draft":
        await say(context, turn.chat_id, _("Pertanyaan ini sudah diteruskan ke petugas."))
        return
    region = await _region_of(context, turn.id)
    notices = notify.QueuedNotices(
        [] if region is None else await _official_notes(context, region)
    )
    if not await questions.forward(context.db, question_id, turn.id, region, then=notices.queue):
        await say(context, turn.chat_id, _("Pertanyaan ini sudah diteruskan ke petugas."))
        return
    log.info("event=question_forwarded id=%s region=%s", question_id, region)
    await say(
        context,
        turn.chat_id,
        _(
            "Pertanyaan Anda sudah diteruskan ke petugas. Jawabannya akan dikirim lewat chat "
            "ini. Untuk hal yang mendesak, hubungi BPJS 175."
        ),
    )
    await notices.dispatch(context.services.outbox)


async def _official_notes(context: JagaContext, region: str) -> list[notify.OutgoingMessage]:
    """A short note to the reviewers of the kabupaten and the cadres of the desa."""
    recipients = {tid for tid, _ in await roles.holders(context.db, "reviewer", region[:5])}
    if len(region) > 5:
        recipients |= {tid for tid, _ in await roles.holders(context.db, "cadre", region)}
    notices = []
    for telegram_id in sorted(recipients):
        language = await language_of(context.db, telegram_id)
        _ = translator(language or context.settings.language).gettext
        text = _("Ada pertanyaan baru dari pekerja. Ketik /pertanyaan untuk membaca dan menjawab.")
        notices.append(notify.OutgoingMessage(telegram_id, text))
    return notices


# --- contributions --------------------------------------------------------------------------


# Sector codes in IUR callback data; U: not known (no discount is applied then).
SECTOR_CODES = {"transport": "T", "non_transport": "N", "government": "G", None: "U"}


def _quotes(income: int, sector: str | None, on: dt.date) -> tuple[Quote, Quote]:
    """The 2- and 3-program quotes; `government` means paid by a Pemda program (APBD)."""
    payer = "program" if sector == "government" else SELF_PAID
    kind = sector if sector in (TRANSPORT, NON_TRANSPORT) else None
    return (
        quote(income, "JKK_JKM", kind, payer, on),
        quote(income, "JKK_JKM_JHT", kind, payer, on),
    )


def contribution_text(tr: Translator, income: int, sector: str | None, on: dt.date) -> str:
    """The short answer: a month's amount for 2 and 3 programs, and the discount if it applies."""
    _ = tr.gettext
    table = load_table()
    two, three = _quotes(income, sector, on)
    lines = [
        _("Iuran untuk penghasilan {income} per bulan").format(income=tr.money(income)),
        _("JKK + JKM (2 program): {amount} per bulan").format(amount=tr.money(two.to_pay)),
        _("JKK + JKM + JHT (3 program): {amount} per bulan").format(amount=tr.money(three.to_pay)),
        "",
    ]
    discount = table.discount
    if two.discount_until is not None:
        lines.append(
            _(
                "Sudah termasuk diskon {percent}% iuran JKK dan JKM ({regulation}) yang berlaku "
                "sampai {end}. JHT tidak didiskon."
            ).format(
                percent=discount.percent,
                regulation=discount.regulation,
                end=tr.date(two.discount_until),
            )
        )
    elif sector == "government":
        lines.append(
            _(
                "Iuran yang dibayar Pemda atau program pemerintah tidak mendapat diskon {reg}."
            ).format(reg=discount.regulation)
        )
    elif sector is None and _discount_running(on):
        lines.append(
            _(
                "Diskon {percent}% iuran JKK dan JKM ({regulation}): ojek, sopir dan kurir "
                "{t_start} – {t_end}; pekerjaan lain {n_start} – {n_end}. Pilih pekerjaan Anda "
                "untuk menghitung dengan diskon."
            ).format(
                percent=discount.percent,
                regulation=discount.regulation,
                t_start=tr.date(discount.transport.start),
                t_end=tr.date(discount.transport.end),
                n_start=tr.date(discount.non_transport.start),
                n_end=tr.date(discount.non_transport.end),
            )
        )
    weakest = table.bracket_for(income).mark
    for q in (two, three):
        if not q.mark.plain and q.mark is not Mark.LIKELY:
            weakest = q.mark
    if weakest is Mark.LIKELY:
        lines.append(_("Pastikan angkanya ke BPJS 175 atau kantor cabang sebelum membayar."))
    elif not weakest.plain:
        lines.append(
            _(
                "Angka untuk penghasilan setinggi ini belum pasti. Tanyakan ke BPJS 175 atau "
                "kantor cabang sebelum membayar."
            )
        )
    return "\n".join(lines).strip()


def contribution_details(tr: Translator, income: int, sector: str | None, on: dt.date) -> str:
    """The details: base, each program's part, the discount, and paying for several months."""
    _ = tr.gettext
    table = load_table()
    bracket = table.bracket_for(income)
    lines = [_("Rincian iuran, penghasilan {income} per bulan").format(income=tr.money(income))]
    if bracket.mark.plain:
        lines.append(_("Dasar penghasilan: {base}").format(base=tr.money(bracket.base)))
    else:
        lines.append(
            _("Dasar penghasilan (tabel PP 44/2015): {base}").format(base=tr.money(bracket.base))
        )
    quotes = _quotes(income, sector, on)
    for q in quotes:
        c = q.monthly
        parts = [
            _("JKK {amount}").format(amount=tr.money(c.jkk)),
            _("JKM {amount}").format(amount=tr.money(c.jkm)),
        ]
        if c.with_jht:
            parts.append(_("JHT {amount}").format(amount=tr.money(c.jht)))
        detail = " + ".join(parts)
        if q.discount:
            detail += " − " + _("diskon {amount}").format(amount=tr.money(q.discount))
        programs = "JKK + JKM + JHT" if c.with_jht else "JKK + JKM"
        lines += ["", f"{programs}: {detail}"]
        periods = [
            _("{months} bulan {amount}").format(
                months=months, amount=tr.money(q.period_total(months))
            )
            for months in table.periods
            if months > 1
        ]
        lines.append(_("Bayar sekaligus: {periods}").format(periods=" · ".join(periods)))
    lines.append("")
    if quotes[0].discount_until is not None:
        lines.append(
            _("Bulan sesudah {end} dihitung tanpa diskon.").format(
                end=tr.date(quotes[0].discount_until)
            )
        )
    weakest = max((q.mark for q in quotes), key=lambda m: list(Mark).index(m))
    if weakest is Mark.LIKELY:
        lines.append(_("Pastikan angkanya ke BPJS 175."))
    elif not weakest.plain:
        lines.append(_("Angka ini belum pasti; tanyakan ke BPJS 175."))
    lines.append(_("Sumber: PP 44/2015 dan PP 50/2025."))
    return "\n".join(lines).strip()


def _discount_running(on: dt.date) -> bool:
    """Whether the discount is on for some sector that day (then the sector matters)."""
    discount = load_table().discount
    return any(discount.window(transport=t).contains(on) for t in (True, False))


async def show_contribution(
    context: JagaContext, turn: Turn, income: int, sector: str | None
) -> None:
    """The contribution for an income; when the sector is unknown and a discount is on, asks it."""
    _ = turn.gettext
    on = membership.today()
    text = contribution_text(turn.tr, income, sector, on)
    rows: list[list[Button]] = []
    if sector is None and _discount_running(on):
        rows.append([(_("Ojek, sopir, kurir"), f"IUR C {income} T")])
        rows.append([(_("Nelayan, petani, pedagang, lainnya"), f"IUR C {income} N")])
    rows.append([(_("Rincian"), f"IUR D {income} {SECTOR_CODES[sector]}")])
    rows.append([(_("Hitung lagi"), "IUR START")])
    await send(context, turn.chat_id, text, rows)


# --- /iuran ---------------------------------------------------------------------------------


def _sector_buttons(turn: Turn) -> list[list[Button]]:
    _ = turn.gettext
    return [
        [(_("Ojek, sopir, kurir"), "IUR S T")],
        [(_("Nelayan, petani, pedagang, lainnya"), "IUR S N")],
        [(_("Iuran dibayar Pemda/program"), "IUR S G")],
    ]


async def iuran(update: Update, context: JagaContext) -> None:
    """/iuran: asks the kind of work (for the discount), then the income."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    await store.set_flow_state(context.db, turn.id, IURAN_FLOW_NAME, "sector")
    await say(
        context,
        turn.chat_id,
        _("Menghitung iuran BPJS Ketenagakerjaan.\n\nApa pekerjaan Anda?"),
        inline(_sector_buttons(turn)),
    )


def _income_buttons(turn: Turn) -> list[list[Button]]:
    _ = turn.gettext
    first, *others = INCOME_CHOICES
    rows = [[(_("Di bawah {amount}").format(amount=turn.tr.money(1_100_000)), f"IUR I {first}")]]
    rows += [[(turn.tr.money(amount), f"IUR I {amount}")] for amount in others]
    return rows


def _sector_choices(turn: Turn) -> list[Choice]:
    """The kinds of work of /iuran as typed answers, with the registration's words for jobs."""
    jobs = SYNONYMS[Step.OCCUPATION]
    others = tuple(w for job, words in jobs.items() if job != "ojek_sopir" for w in (job, *words))
    words = {"T": jobs["ojek_sopir"], "N": others, "G": SYNONYMS[Step.PAYER]["program"]}
    return [
        Choice(label, data.removeprefix("IUR S "), words[data.removeprefix("IUR S ")])
        for [(label, data)] in _sector_buttons(turn)
    ]


async def _ask_income(context: JagaContext, turn: Turn, sector: str) -> None:
    """Stores the kind of work and asks the income."""
    await store.set_flow_state(
        context.db, turn.id, IURAN_FLOW_NAME, "income", sector=SECTORS[sector]
    )
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Berapa penghasilan Anda rata-rata per bulan? Pilih, atau tulis angkanya "
            "(misalnya 1,5 juta)."
        ),
        inline(_income_buttons(turn)),
    )


async def iuran_button(update: Update, context: JagaContext) -> None:
    """IUR S <sector> asks the income; IUR I/C compute; IUR D details; IUR PAY how to pay."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    await answer_button(query)
    args = query.data.split()[1:]
    if args == ["START"]:
        await iuran(update, context)
        return
    if len(args) == 2 and args[0] == "S" and args[1] in SECTORS:
        await _ask_income(context, turn, args[1])
        return
    if len(args) == 2 and args[0] == "I" and args[1].isdigit():
        state = await store.flow_state(context.db, turn.id, IURAN_FLOW_NAME)
        sector = state.get("sector") if state else None
        await store.end_flow(context.db, turn.id, IURAN_FLOW_NAME)
        await show_contribution(context, turn, int(args[1]), sector)
        return
    if len(args) == 3 and args[0] == "C" and args[1].isdigit() and args[2] in SECTORS:
        await show_contribution(context, turn, int(args[1]), SECTORS[args[2]])
        return
    if len(args) == 3 and args[0] == "D" and args[1].isdigit() and args[2] in DETAIL_SECTORS:
        text = contribution_details(
            turn.tr, int(args[1]), DETAIL_SECTORS[args[2]], membership.today()
        )
        await send(context, turn.chat_id, text, [[(_("Hitung lagi"), "IUR START")]])
        return
    if args == ["PAY"]:
        await say(context, turn.chat_id, paying.how_text(turn.tr))
        return
    await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))


async def iuran_message(update: Update, context: JagaContext) -> None:
    """Takes the typed income (tolerant: `1,5 juta`, `Rp 2.000.000`) and shows the result."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    state = await store.flow_state(context.db, turn.id, IURAN_FLOW_NAME)
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    if state is None or state["step"] == "sector":
        typed = match_choice(text, _sector_choices(turn)) if text else None
        if typed is None and len(text.split()) > 1:  # "brp iuran nelayan?": the one job named
            words = set(normalise(text).split())
            named = [c for c in _sector_choices(turn) if words & {normalise(w) for w in c.words}]
            if len(named) == 1:
                typed = named[0]
        if typed is not None:  # "nelayan", "ojek" typed instead of pressed
            await _ask_income(context, turn, typed.value)
            return
        if state is None:
            await store.set_flow_state(context.db, turn.id, IURAN_FLOW_NAME, "sector")
        await say(
            context,
            turn.chat_id,
            _("Silakan pilih pekerjaan Anda dengan tombol di bawah, atau /batal."),
            inline(_sector_buttons(turn)),
        )
        return
    amount = read_income(text).amount if text else None  # "kira2 1,5 jt sebulan" too
    if amount is None or amount < 100_000:
        await say(
            context,
            turn.chat_id,
            _(
                "Penghasilan itu tidak terbaca. Tulis penghasilan per bulan dalam rupiah, "
                "misalnya 1500000 atau 1,5 juta. Atau ketik /batal."
            ),
            inline(_income_buttons(turn)),
        )
        return
    await store.end_flow(context.db, turn.id, IURAN_FLOW_NAME)
    await show_contribution(context, turn, amount, state.get("sector"))


async def iuran_cancel(context: JagaContext, telegram_id: int) -> None:
    """Forgets the answers given so far."""
    await store.clear_flow_state(context.db, telegram_id, IURAN_FLOW_NAME)


# --- /pertanyaan: officials answer passed-on questions --------------------------------------


async def _visible(context: JagaContext, telegram_id: int, region: str | None) -> bool:
    """Whether this person may answer a question from `region` (re-checked on every action)."""
    access = await access_of(context.db, context.settings, telegram_id)
    if region is None:
        return access.is_admin
    return any(within(region, r) for r in access.review_regions() + access.cadre_regions)


async def pertanyaan(update: Update, context: JagaContext) -> None:
    """Lists the open questions of the official's regions, each with an answer button."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    access = await access_of(context.db, context.settings, turn.id)
    if not (access.is_reviewer or access.is_cadre):
        await say(context, turn.chat_id, _("Perintah ini untuk kader dan petugas kabupaten."))
        return
    waiting = [
        q for q in await questions.open_questions(context.db)
        if await _visible(context, turn.id, q["region_code"])
    ]  # fmt: skip
    if not waiting:
        await say(context, turn.chat_id, _("Tidak ada pertanyaan yang menunggu jawaban."))
        return
    lines = [_("Pertanyaan yang menunggu jawaban ({count}):").format(count=len(waiting))]
    rows: list[list[Button]] = []
    for question in waiting[:MAX_LISTED]:
        lines.append(f"\n#{question['id']} ({question['region_code'] or '-'}): {question['text']}")
        rows.append([(_("Jawab #{id}").format(id=question["id"]), f"QNA {question['id']}")])
    await say(context, turn.chat_id, "\n".join(lines)[:4000], inline(rows))


async def answer_question_button(update: Update, context: JagaContext) -> None:
    """QNA <id>: takes the official's next message as the answer to that question."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    arg = query.data.removeprefix("QNA ").strip()
    question = await questions.get(context.db, int(arg)) if arg.isdigit() else None
    if question is None or not await _visible(context, turn.id, question["region_code"]):
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    if question["status"] != "open":
        await answer_button(query, _("Pertanyaan ini sudah dijawab."))
        return
    await answer_button(query)
    await store.set_flow_state(
        context.db, turn.id, ANSWER_FLOW_NAME, "answer", question_id=question["id"]
    )
    await say(
        context,
        turn.chat_id,
        _("Tulis jawaban untuk pertanyaan #{id}:\n«{text}»\n\nKetik /batal untuk batal.").format(
            id=question["id"], text=question["text"]
        ),
    )


async def answer_message(update: Update, context: JagaContext) -> None:
    """Stores the answer and sends it to the asker."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    state = await store.flow_state(context.db, turn.id, ANSWER_FLOW_NAME)
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    if state is None:
        await store.end_flow(context.db, turn.id, ANSWER_FLOW_NAME)
        await pertanyaan(update, context)
        return
    if not text:
        await say(context, turn.chat_id, _("Tulis jawabannya sebagai teks, atau /batal."))
        return
    question = await questions.get(context.db, int(state["question_id"]))
    await store.end_flow(context.db, turn.id, ANSWER_FLOW_NAME)
    if question is None or not await _visible(context, turn.id, question["region_code"]):
        await say(context, turn.chat_id, _("Anda tidak lagi bisa menjawab pertanyaan ini."))
        return
    asker_language = await language_of(context.db, question["asker_id"])
    tr = translator(asker_language or context.settings.language)
    answer = notify.QueuedNotices(
        [
            notify.OutgoingMessage(
                int(question["asker_id"]), _answer_text(tr, question["text"], text[:3000])
            )
        ]
    )
    if not await questions.answer(
        context.db, question["id"], turn.id, text[:3000], then=answer.queue
    ):
        await say(context, turn.chat_id, _("Pertanyaan ini sudah dijawab orang lain."))
        return
    (row_id,) = await answer.dispatch(context.services.outbox)
    if await outbox_store.status_of(context.db, row_id) in ("blocked", "failed", "skipped"):
        log.warning("event=question_answer_undelivered id=%s", question["id"])
        await say(
            context,
            turn.chat_id,
            _("Jawaban tersimpan, tetapi tidak bisa dikirim: pekerja itu tidak lagi memakai bot."),
        )
        return
    log.info("event=question_answered_by_official id=%s by=%s", question["id"], turn.id)
    await say(context, turn.chat_id, _("Jawaban terkirim. Terima kasih."))


def _answer_text(tr: Translator, question: str, answer: str) -> str:
    """The official's answer as the asker receives it, in the asker's language."""
    _ = tr.gettext
    return _("Jawaban petugas untuk pertanyaan Anda:\n«{question}»\n\n{answer}").format(
        question=question, answer=answer
    )


async def answer_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the question open for later."""
    await store.clear_flow_state(context.db, telegram_id, ANSWER_FLOW_NAME)
