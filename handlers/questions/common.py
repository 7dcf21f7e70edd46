"""What several parts share: the knowledge base of a language, the answer's limits, sending."""

from __future__ import annotations

import logging

from bot.context import JagaContext
from bot.i18n import N_
from bot.knowledge import KnowledgeBase
from handlers.common import Button, layout, say

# One logger for questions, the calculator and /pertanyaan, so lines keep the name they had.
log = logging.getLogger("handlers.questions")


# No message is longer than this (characters).
MAX_ANSWER = 600
# Buttons that start a command from an answer (the MENU callbacks of handlers/start.py).
ACTION_LABELS = {"daftar": N_("Daftar sekarang"), "status": N_("Cek status")}


def knowledge(language: str) -> KnowledgeBase:
    """The knowledge base of a language, or the Indonesian one when it has none yet."""
    try:
        return KnowledgeBase.load(language)
    except FileNotFoundError:
        return KnowledgeBase.load("id")


async def send(context: JagaContext, chat_id: int, text: str, rows: list[list[Button]]) -> None:
    """Send an answer without link previews (sources are URLs) and with its buttons."""
    await say(context, chat_id, text, layout(rows) if rows else None, previews=False)
