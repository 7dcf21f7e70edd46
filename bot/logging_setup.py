"""Structured logs: one line per event (key=value or JSON), personal data masked everywhere.

Masking uses lokal-id's detectors (NIK, KK, phone, e-mail, account and card numbers, names next to
a keyword) on the formatted message *and* on tracebacks, so a NIK inside an exception message is
masked too (`1210********0003`, `0812****7890`). Bot tokens are replaced as well. The filter sits
on the handler, so records of every logger (ours, python-telegram-bot's, httpx's) pass through it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Literal, TextIO

from lokal import mask_pii
from lokal.samaran.logging import SamaranFilter
from lokal.samaran.types import PiiType

from bot.patterns import linear

LogFormat = Literal["kv", "json"]

# What is masked in logs and in the admins' error notices. Income and dates stay readable: they
# carry no identity alone and are needed to read the logs.
MASKED_TYPES: tuple[PiiType, ...] = (
    "NIK", "KK", "NPWP", "PASSPORT", "SIM", "BPJS", "PHONE", "EMAIL", "BANK_ACCOUNT", "CARD",
    "NAME",
)  # fmt: skip

# A bot token as it appears in Bot API URLs: `bot123456:AA…` or a bare `123456:AA…`. Masking runs
# on text people typed (requests, notes), so both patterns are RE2, linear (bot/patterns.py).
_TOKEN = linear(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_BLANK_RUNS = linear(r"[ \t]{9,}")
# key=value pairs in a message, for the JSON format.
_PAIR = linear(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_HANDLER_NAME = "jaga"


# For messages to officials entitled to the person's name (a reviewer): identifiers only.
IDENTIFIER_TYPES: tuple[PiiType, ...] = tuple(t for t in MASKED_TYPES if t != "NAME")


def mask_text(text: str, types: tuple[PiiType, ...] = MASKED_TYPES) -> str:
    """The text with personal data partially masked and bot tokens removed."""
    # lokal's detectors take time superlinear in long runs of blanks (people's text may be all
    # blanks); beyond traceback indentation they carry nothing, so they are shortened first.
    masked = mask_pii(_BLANK_RUNS.sub(" " * 8, text), mode="partial", types=types).text
    return _TOKEN.sub("<token>", masked)


class MaskingFilter(SamaranFilter):
    """Masks personal data (lokal-id) and bot tokens in the message, traceback and stack."""

    def __init__(self) -> None:
        super().__init__(mode="partial", types=MASKED_TYPES)

    def _mask(self, text: str) -> str:
        return _TOKEN.sub("<token>", super()._mask(text))


class OneLineFormatter(logging.Formatter):
    """`ts=… level=… logger=… <message> exc="…"`, or the same as one JSON object per line."""

    def __init__(self, fmt: LogFormat = "kv"):
        super().__init__()
        self.fmt = fmt

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """UTC, ISO 8601 with milliseconds."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        """One line, whatever the message and traceback contain."""
        message = record.getMessage()
        exc = record.exc_text
        if record.exc_info and not exc:
            exc = mask_text(self.formatException(record.exc_info))
        if record.stack_info:
            exc = (exc + "\n" if exc else "") + record.stack_info
        if self.fmt == "json":
            entry: dict[str, object] = {
                "ts": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
            }
            for pair in _PAIR.finditer(message):
                key, value = pair.group(1), pair.group(2)
                entry.setdefault(key, value[1:-1] if value.startswith('"') else value)
            entry["msg"] = message
            if exc:
                entry["exc"] = exc
            return json.dumps(entry, ensure_ascii=False)
        line = f"ts={self.formatTime(record)} level={record.levelname} logger={record.name} "
        line += message.replace("\r", "\\r").replace("\n", "\\n")
        if exc:
            line += " exc=" + json.dumps(exc, ensure_ascii=False)
        return line


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time of the record (it may be replaced)."""

    @property
    def stream(self) -> TextIO:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def make_handler(stream: TextIO | None, fmt: LogFormat = "kv") -> logging.Handler:
    """A stream handler (standard error if None) that masks and writes one line per record."""
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(OneLineFormatter(fmt))
    return handler


def configure(level: int, fmt: LogFormat = "kv", stream: TextIO | None = None) -> None:
    """Send every logger's records through one masking, one-line handler (call again to change)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(make_handler(stream, fmt))
    root.setLevel(level)
    # One line per HTTP call would drown everything else (and carries the token in the URL).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.captureWarnings(True)
