"""Questions in the worker's own words, the /iuran calculator, and questions passed to officials.

Free text outside a flow lands here (handlers/router.py). A contribution question with an income
("iuran kalau penghasilan 2 juta?") is computed from the contribution table; anything else is
matched against the curated knowledge base of the user's language. When nothing fits well
enough the bot says so, offers the closest topics, and offers to pass the question to the
worker's cadre or district, who answer it with /pertanyaan.

The parts: `answers` (free text: small talk, the own status, a topic or an honest "I don't
know"), `topics` (a topic as shown, its buttons), `amounts` (the contribution for an income),
`calculator` (/iuran), `forwarding` (a question passed on to officials), `officials`
(/pertanyaan: officials answer) and `common` (the knowledge base of a language, sending).
"""

from handlers.questions.amounts import contribution_details, contribution_text
from handlers.questions.answers import on_text, small_talk
from handlers.questions.calculator import (
    IURAN_FLOW_NAME,
    iuran,
    iuran_button,
    iuran_cancel,
    iuran_message,
)
from handlers.questions.common import knowledge
from handlers.questions.officials import (
    ANSWER_FLOW_NAME,
    answer_cancel,
    answer_message,
    answer_question_button,
    pertanyaan,
)
from handlers.questions.topics import ask_button, topic_text

__all__ = [
    "ANSWER_FLOW_NAME",
    "IURAN_FLOW_NAME",
    "answer_cancel",
    "answer_message",
    "answer_question_button",
    "ask_button",
    "contribution_details",
    "contribution_text",
    "iuran",
    "iuran_button",
    "iuran_cancel",
    "iuran_message",
    "knowledge",
    "on_text",
    "pertanyaan",
    "small_talk",
    "topic_text",
]
