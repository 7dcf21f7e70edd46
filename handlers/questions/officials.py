"""/pertanyaan: cadres and reviewers answer the questions passed on to them."""

from __future__ import annotations

from telegram import Update

from bot import notify
from bot.access import access_of, within
from bot.context import JagaContext
from bot.i18n import Translator, translator
from handlers.common import Button, Turn, answer_button, layout, say
from handlers.questions.common import log
from storage import membership as store
from storage import outbox as outbox_store
from storage import questions
from storage.users import language_of

ANSWER_FLOW_NAME = "jawab"
MAX_LISTED = 5


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
        if await _visible(context, turn.id, q.region_code)
    ]  # fmt: skip
    if not waiting:
        await say(context, turn.chat_id, _("Tidak ada pertanyaan yang menunggu jawaban."))
        return
    lines = [_("Pertanyaan yang menunggu jawaban ({count}):").format(count=len(waiting))]
    rows: list[list[Button]] = []
    for question in waiting[:MAX_LISTED]:
        lines.append(f"\n#{question.id} ({question.region_code or '-'}): {question.text}")
        rows.append([(_("Jawab #{id}").format(id=question.id), f"QNA {question.id}")])
    await say(context, turn.chat_id, "\n".join(lines)[:4000], layout(rows))


async def answer_question_button(update: Update, context: JagaContext) -> None:
    """QNA <id>: takes the official's next message as the answer to that question."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    arg = query.data.removeprefix("QNA ").strip()
    question = await questions.get(context.db, int(arg)) if arg.isdigit() else None
    if question is None or not await _visible(context, turn.id, question.region_code):
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    if question.status != questions.QuestionStatus.OPEN:
        await answer_button(query, _("Pertanyaan ini sudah dijawab."))
        return
    await answer_button(query)
    await store.set_flow_state(
        context.db, turn.id, ANSWER_FLOW_NAME, "answer", question_id=question.id
    )
    await say(
        context,
        turn.chat_id,
        _("Tulis jawaban untuk pertanyaan #{id}:\n«{text}»\n\nKetik /batal untuk batal.").format(
            id=question.id, text=question.text
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
    question = (
        None if state.question_id is None else await questions.get(context.db, state.question_id)
    )
    await store.end_flow(context.db, turn.id, ANSWER_FLOW_NAME)
    if question is None or not await _visible(context, turn.id, question.region_code):
        await say(context, turn.chat_id, _("Anda tidak lagi bisa menjawab pertanyaan ini."))
        return
    asker_language = await language_of(context.db, question.asker_id)
    tr = translator(asker_language or context.settings.language)
    answer = notify.QueuedNotices(
        [notify.OutgoingMessage(question.asker_id, _answer_text(tr, question.text, text[:3000]))]
    )
    if not await questions.answer(
        context.db, question.id, turn.id, text[:3000], then=answer.queue
    ):
        await say(context, turn.chat_id, _("Pertanyaan ini sudah dijawab orang lain."))
        return
    (row_id,) = await answer.dispatch(context.services.outbox)
    if await outbox_store.status_of(context.db, row_id) in ("blocked", "failed", "skipped"):
        log.warning("event=question_answer_undelivered id=%s", question.id)
        await say(
            context,
            turn.chat_id,
            _("Jawaban tersimpan, tetapi tidak bisa dikirim: pekerja itu tidak lagi memakai bot."),
        )
        return
    log.info("event=question_answered_by_official id=%s by=%s", question.id, turn.id)
    await say(context, turn.chat_id, _("Jawaban terkirim. Terima kasih."))


def _answer_text(tr: Translator, question: str, answer: str) -> str:
    """The official's answer as the asker receives it, in the asker's language."""
    _ = tr.gettext
    return _("Jawaban petugas untuk pertanyaan Anda:\n«{question}»\n\n{answer}").format(
        question=question, answer=answer
    )


async def answer_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow; the question stays open for later."""
    await store.end_flow(context.db, telegram_id, ANSWER_FLOW_NAME)
