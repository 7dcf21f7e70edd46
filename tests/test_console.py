"""`jaga console`: the real Application in a terminal, driven by piped lines."""

from __future__ import annotations

import io
import re

from bot.console import run_console
from bot.settings import Settings


async def test_console_prints_greeting_and_numbered_buttons(settings: Settings) -> None:
    out = io.StringIO()
    await run_console(settings, io.StringIO("/start\n/bahasa\n2\n"), out, phone=None)
    text = out.getvalue()
    assert "Selamat datang di Jaga Pekerja." in text
    assert re.search(r"\[\d+\] Daftar BPJS", text)
    assert re.search(r"\[\d+\] Bantuan", text)
    assert "[2] English" in text
    assert "OK, I will use English." in text  # "2" pressed the second button


async def test_console_button_label_presses_it(settings: Settings) -> None:
    out = io.StringIO()
    await run_console(settings, io.StringIO("/bahasa\nEnglish\n/start\n"), out, phone=None)
    assert "OK, I will use English." in out.getvalue()
    assert "Welcome to Jaga Pekerja." in out.getvalue()


REGISTRATION_LINES = [
    "/daftar", "Setuju", "Diri saya sendiri", "1210 1915 0580 0042", "budi santoso", "Benar",
    "siti aminah", "Kirim nomor HP saya", "Kabupaten Labuhanbatu", "Panai Hilir", "berombang",
    "Sei Berombang", "Nelayan", "1 juta", "1", "1", "2", "Lewati", "Kirim",
]  # fmt: skip


async def test_console_completes_a_registration_with_a_reference(settings: Settings) -> None:
    out = io.StringIO()
    source = io.StringIO("\n".join(REGISTRATION_LINES) + "\n")
    await run_console(settings, source, out, phone="0812 3456 7890")
    text = out.getvalue()
    assert "Nomor HP: +6281234567890" in text
    assert "Nomor pendaftaran: JP-1210-000001" in text
    assert "Maaf, terjadi gangguan" not in text
