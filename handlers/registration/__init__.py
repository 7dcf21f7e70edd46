"""/daftar: a worker registers (or a cadre registers a neighbour), one question at a time.

Every answer is committed to the registration row before the next question is sent, so a
restart continues at the same question. Buttons carry `REG <step> <value>`; a press whose step
is not the one the registration waits for is a stale button and is answered as such.

The parts: `entry` (/daftar, a fix request, /batal), `messages` (typed messages and button
presses), `asking` (each question's text and buttons), `flow` (store an answer, ask the next),
the answers of each step (`consent`, `nik`, `person`, `regions`, `work`, `heir`), `summary`
and `submit` (the summary screen and sending), `photo` (a KTP photo at the NIK step),
`pickers` (years and regions as button grids) and `common` (what several share).
"""

from handlers.registration.common import CANCEL_TEXT, FLOW
from handlers.registration.entry import ask_again, daftar, fix, on_cancel, resume_choice
from handlers.registration.messages import button, document, on_message
from handlers.registration.photo import ktp_button, photo_start

__all__ = [
    "CANCEL_TEXT",
    "FLOW",
    "ask_again",
    "button",
    "daftar",
    "document",
    "fix",
    "ktp_button",
    "on_cancel",
    "on_message",
    "photo_start",
    "resume_choice",
]
