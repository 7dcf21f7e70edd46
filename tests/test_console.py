"""`jaga console`: the real Application in a terminal, driven by piped lines."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.settings import Settings
from jaga import cli
from jaga.console import run_console


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


async def test_console_plays_a_granted_reviewer_with_their_name(settings: Settings) -> None:
    from storage import roles
    from storage.db import Database

    db = await Database.open(settings.db)
    try:  # as `jaga grant reviewer 555 --region 12.10` would
        await roles.grant(db, 555, "reviewer", "12.10", "cli")
    finally:
        await db.close()
    out = io.StringIO()
    lines = "/tinjau\n/kader\nPendaftaran per kader\n/bantuan\n"
    await run_console(
        settings, io.StringIO(lines), out, phone=None, user_id=555, name="Edwin Siregar"
    )
    text = out.getvalue()
    assert "Tidak ada pengajuan yang menunggu keputusan Anda" in text  # /tinjau is open to him
    assert "Undangan kader desa." in text and "[1] Buat tautan undangan" in text
    assert "Belum ada kader di wilayah Anda." in text
    assert "/tinjau – " in text
    db = await Database.open(settings.db)
    try:  # his Telegram name as the console played it, kept for lists
        assert await db.fetchval("SELECT display_name FROM users WHERE telegram_id = 555") == (
            "Edwin Siregar"
        )
    finally:
        await db.close()


async def test_console_default_user_is_a_worker(settings: Settings) -> None:
    out = io.StringIO()
    await run_console(settings, io.StringIO("/tinjau\n/bantuan\n"), out, phone=None)
    text = out.getvalue()
    assert "/tinjau – " not in text and "/daftar – " in text


def test_cli_console_user_and_name_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", "cli-test-secret-key-of-enough-length-0123")
    monkeypatch.delenv("JAGA_TELEGRAM_TOKEN", raising=False)
    assert cli.main(["grant", "reviewer", "555", "--region", "12.10"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("/kader\n"))
    assert cli.main(["console", "--user", "555", "--name", "Edwin"]) == 0
    assert "Undangan kader desa." in capsys.readouterr().out
    assert cli.main(["console", "--user", "0"]) == 2
