"""`jaga console`: the real Application in a terminal, driven by piped lines."""

from __future__ import annotations

import io

from bot.console import run_console
from bot.settings import Settings


async def test_console_prints_greeting_and_numbered_buttons(settings: Settings) -> None:
    out = io.StringIO()
    await run_console(settings, io.StringIO("/start\n2\n"), out, phone=None)
    text = out.getvalue()
    assert "Selamat datang di Jaga Pekerja." in text
    assert "[1] Bahasa / Language" in text
    assert "[2] Bantuan" in text
    assert "Cara memakai Jaga Pekerja:" in text  # "2" pressed the Bantuan button


async def test_console_button_label_presses_it(settings: Settings) -> None:
    out = io.StringIO()
    await run_console(settings, io.StringIO("/bahasa\nEnglish\n/start\n"), out, phone=None)
    assert "OK, I will use English." in out.getvalue()
    assert "Welcome to Jaga Pekerja." in out.getvalue()
