"""A knowledge base topic as the reader gets it, and the ASK buttons under answers."""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot import membership
from bot.context import JagaContext
from bot.contributions import load_table
from bot.i18n import Translator
from bot.knowledge import KnowledgeBase, Topic
from bot.registration import normalise
from handlers.common import Button, Turn, answer_button
from handlers.questions.amounts import period_line
from handlers.questions.common import ACTION_LABELS, MAX_ANSWER, knowledge, send
from handlers.questions.forwarding import forward

MAX_RELATED = 3


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


def topic_text(
    tr: Translator, kb: KnowledgeBase, topic: Topic, on: dt.date, question: str = ""
) -> str:
    """A topic as the reader gets it: title, the answer true on that day, and its source."""
    answer = topic.render(on, kb.language)
    source = tr.gettext("Sumber: {source}").format(source=topic.cited)
    text = f"{topic.title}\n\n{answer}\n\n{source}"
    months = asked_months(question) if topic.id in _PERIOD_TOPICS else None
    if months is not None:  # the total for those months, when it fits in one message
        longer = f"{topic.title}\n\n{answer}\n\n{period_line(tr, months, on)}\n\n{source}"
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
