"""/tinjau, /ekspor, /laporan: the district review desk in a private chat (reviewers only).

Every press is re-checked on the server: the presser's role now, the submission's district and
its state. Callback data: `REV <id> <action> [arg]`, `REVQ ALL|D12`, `EXP <format> [status]`;
`REVQ C [<request id> F|D|DY]`: correction requests from /data_saya (list, ask the worker to fix a
submission under review, or mark one done after the change was made outside the bot).

The parts: `queue` (/tinjau and its filter), `card` (the next card and how it is shown),
`buttons` (the card's buttons), `approve`, `reject` and `fix` (the three decisions),
`corrections` (correction requests), `answers` (typed words, sponsor names and notes), `export`
(/ekspor), `report` (/laporan), `common` (what several share).
"""

from handlers.review.answers import on_cancel, on_message
from handlers.review.buttons import button
from handlers.review.common import CANCEL_TEXT, FLOW
from handlers.review.export import export_button, export_command
from handlers.review.queue import queue, queue_filter
from handlers.review.report import report_command

__all__ = [
    "CANCEL_TEXT",
    "FLOW",
    "button",
    "export_button",
    "export_command",
    "on_cancel",
    "on_message",
    "queue",
    "queue_filter",
    "report_command",
]
