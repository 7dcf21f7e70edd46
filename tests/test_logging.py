"""Structured logs: one line per event, NIK, phone and tokens masked, tracebacks included."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logging_setup import configure, make_handler, mask_text
from tests.conftest import ADMIN_ID, Harness
from tests.factories import nik_for

NIK = nik_for("12.10.19")
PHONE = "081234567890"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    """A logger writing through the masking handler into a buffer."""
    out = io.StringIO()
    handler = make_handler(out, "kv")
    log = logging.getLogger("test.masking")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log, out, handler
    log.removeHandler(handler)


def test_messages_are_one_line_with_nik_phone_and_token_masked(
    logger: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    log, out, _handler = logger
    log.info("event=test nik=%s phone=%s\nurl=https://api.telegram.org/bot%s/x", NIK, PHONE, TOKEN)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert NIK not in line and PHONE not in line and TOKEN not in line
    assert f"nik={NIK[:4]}********{NIK[-4:]}" in line
    assert "0812****7890" in line and "<token>" in line
    assert line.startswith("ts=") and " level=INFO logger=test.masking event=test " in line


def test_tracebacks_are_masked_and_kept_on_the_same_line(
    logger: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    log, out, _handler = logger
    try:
        raise ValueError(f"bad NIK {NIK} for +62 812-3456-7890")
    except ValueError:
        log.exception("event=boom")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "Traceback" in lines[0] and "ValueError" in lines[0]
    assert NIK not in lines[0] and "812-3456-7890" not in lines[0]


def test_json_format_has_the_pairs_as_fields() -> None:
    out = io.StringIO()
    handler = make_handler(out, "json")
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "event=e user=%s", (5,), None)
    assert handler.filter(record)
    handler.emit(record)
    entry = json.loads(out.getvalue())
    assert entry["event"] == "e" and entry["user"] == "5" and entry["level"] == "WARNING"


def test_configure_replaces_its_own_handler_only() -> None:
    root = logging.getLogger()
    saved = list(root.handlers)
    level = root.level
    others = [h for h in saved if h.get_name() != "jaga"]
    try:
        configure(logging.INFO, "kv", io.StringIO())
        configure(logging.INFO, "json", io.StringIO())
        ours = [h for h in root.handlers if h.get_name() == "jaga"]
        assert len(ours) == 1
        assert [h for h in root.handlers if h.get_name() != "jaga"] == others
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
        logging.captureWarnings(False)


def test_mask_text_leaves_ordinary_log_values_alone() -> None:
    line = "event=x user=700000001 chat=123456789 ref=JP-1210-000001 amount=16800 at=2026-11-01"
    assert mask_text(line) == line


async def test_handler_errors_reach_the_admins_masked_once(harness: Harness) -> None:
    from telegram.ext import CommandHandler

    async def boom(update: object, context: object) -> None:
        raise RuntimeError(f"cannot store NIK {NIK}")

    h = harness
    h.app.add_handler(CommandHandler("boom", boom), group=-2)
    await h.send(801, "/boom")
    notice = h.text(ADMIN_ID)
    assert "RuntimeError" in notice and NIK not in notice and NIK[:4] + "****" in notice
    assert "pengguna 801" in notice
    # A second failure of the same kind soon after: the user is answered, the admins not again.
    before = len(h.api.sent(ADMIN_ID))
    await h.send(802, "/boom")
    assert len(h.api.sent(ADMIN_ID)) == before
    assert any(c.text.startswith("Maaf, terjadi gangguan.") for c in h.api.sent(802))
