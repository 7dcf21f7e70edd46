"""`jaga grant` and `jaga program`: roles and funding programs from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jaga.cli import main as jaga
from storage import funding, roles
from storage.db import Database


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh database for the command line, nothing read from a stray .env."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", "cli-test-secret-key-of-enough-length-0123")
    return tmp_path / "cli.sqlite3"


def held(path: Path, telegram_id: int) -> list[roles.Grant]:
    async def go() -> list[roles.Grant]:
        db = await Database.open(path)
        try:
            return await roles.held_by(db, telegram_id)
        finally:
            await db.close()

    return asyncio.run(go())


def test_grant_a_reviewer_by_the_kabupaten_name(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert jaga(["grant", "reviewer", "4242", "--region", "Labuhan Batu"]) == 0
    assert "reviewer 4242 12.10 (Kabupaten Labuhanbatu): granted" in capsys.readouterr().out
    assert jaga(["grant", "admin", "4243", "--region", "kota medan"]) == 0
    assert "admin 4243 12.71 (Kota Medan): granted" in capsys.readouterr().out
    assert jaga(["grant", "reviewer", "1", "--region", "tapanuli"]) == 2
    assert "no kabupaten/kota named 'tapanuli'" in capsys.readouterr().err


def test_grant_and_revoke(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert jaga(["grant", "reviewer", "4242", "--region", "12.10"]) == 0
    assert "reviewer 4242 12.10 (Kabupaten Labuhanbatu): granted" in capsys.readouterr().out
    assert held(cli_env, 4242) == [("reviewer", "12.10")]
    assert jaga(["grant", "reviewer", "4242", "--region", "12.10"]) == 0
    assert "already held" in capsys.readouterr().out
    assert jaga(["grant", "cadre", "4343", "--region", "12.10.19.1001"]) == 0
    # Wrong level, unknown code, outside the deployment, missing region: one line, non-zero.
    assert jaga(["grant", "reviewer", "1", "--region", "12.10.19"]) == 2
    assert "a reviewer needs a kabupaten code" in capsys.readouterr().err
    assert jaga(["grant", "reviewer", "1", "--region", "12.66"]) == 2
    assert "unknown region code 12.66" in capsys.readouterr().err
    assert jaga(["grant", "reviewer", "1", "--region", "11.01"]) == 2
    assert "outside JAGA_REGION 12" in capsys.readouterr().err
    assert jaga(["grant", "reviewer", "1"]) == 2
    assert "--region is required" in capsys.readouterr().err
    assert jaga(["grant", "--revoke", "reviewer", "4242"]) == 0
    assert held(cli_env, 4242) == []
    assert jaga(["grant", "--revoke", "reviewer", "4242"]) == 2
    assert "does not hold reviewer" in capsys.readouterr().err


def test_program_add_list_close(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add = ["program", "add", "--name", "DBH Sawit 2026", "--source", "dbh_sawit"]
    period = ["--from", "2026-01-01", "--to", "2026-12-31"]
    assert jaga([*add, "--region", "12.10", "--quota", "500", "--per-desa", "100", *period]) == 0
    assert "program 1 added: DBH Sawit 2026 (dbh_sawit, 12.10)" in capsys.readouterr().out
    assert jaga(["program", "list"]) == 0
    listed = capsys.readouterr().out
    assert "1\tDBH Sawit 2026\tdbh_sawit\t12.10\t0/500 used, max 100/desa" in listed
    assert "2026-01-01..2026-12-31\topen" in listed
    assert jaga([*add, "--region", "12.10", "--quota", "5", "--from", "2026-12-31",
                 "--to", "2026-01-01"]) == 2  # fmt: skip
    assert "--to is before --from" in capsys.readouterr().err
    assert jaga([*add, "--region", "12.10", "--quota", "5", "--from", "1 Jan", "--to", "x"]) == 2
    assert jaga([*add, "--region", "99.99", "--quota", "5", *period]) == 2
    assert "unknown region code" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: unknown source type
        jaga(["program", "add", "--name", "X", "--source", "apbn", "--region", "12.10",
              "--quota", "1", *period])  # fmt: skip
    assert jaga(["program", "close", "1"]) == 0
    assert jaga(["program", "close", "1"]) == 2
    assert "no open program 1" in capsys.readouterr().err

    async def closed() -> str | None:
        db = await Database.open(cli_env)
        try:
            program = await funding.get(db, 1)
            assert program is not None
            return program.closed_at
        finally:
            await db.close()

    assert asyncio.run(closed()) is not None


def test_export_csv_to_standard_output(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.crypto import FieldCipher
    from bot.settings import load_settings
    from tests.factories import submitted_registration

    async def submit() -> str:
        db = await Database.open(cli_env)
        try:
            row = await submitted_registration(db, FieldCipher(load_settings().key))
            return str(row.ref)
        finally:
            await db.close()

    ref = asyncio.run(submit())
    assert jaga(["export", "--format", "csv", "--out", "-"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("ref,status,nik,nama,tanggal_lahir")
    assert lines[1].startswith(f"{ref},diajukan,")
    assert captured.err.splitlines()[-1] == "1 rows"  # logs go to stderr too
    assert not (cli_env.parent / "-").exists()
    assert jaga(["export", "--format", "xlsx", "--out", "-"]) == 2
    assert "give a file name for xlsx" in capsys.readouterr().err
