"""Files with personal data or the key are owner-only (0600); `jaga` refuses shared ones."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.crypto import FieldCipher
from bot.export import write
from jaga.cli import main
from storage.db import Database
from tests.conftest import make_settings
from tests.factories import submitted_registration

KEY = "k" * 40


def mode(path: Path) -> int:
    """The permission bits of a file."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual shell umask (files 0644 unless the code says otherwise), restored afterwards."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`jaga` on a database in tmp_path, key in the environment, no `.env` from the repository."""
    db = tmp_path / "data" / "jaga.sqlite3"
    monkeypatch.setenv("JAGA_DB", str(db))
    monkeypatch.setenv("JAGA_SECRET_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return db


async def _filled_database(path: Path) -> Database:
    db = await Database.open(path)
    await submitted_registration(db, FieldCipher(KEY.encode()), operator_id=501)
    return db


@pytest.mark.usefixtures("umask_022")
async def test_new_database_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jaga.sqlite3"
    db = await _filled_database(path)
    try:
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        for file in files:  # SQLite gives -wal and -shm the database file's own mode
            assert await asyncio.to_thread(file.exists), file
            assert await asyncio.to_thread(mode, file) == 0o600, file
        assert await asyncio.to_thread(mode, path.parent) == 0o700
    finally:
        await db.close()


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o277])
def test_generated_key_is_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    settings = make_settings(tmp_path / "data", secret_key=None)
    previous = os.umask(umask)
    try:
        key = settings.key
    finally:
        os.umask(previous)
    path = tmp_path / "data" / "secret.key"
    assert path.read_bytes() == key
    assert mode(path) == 0o600


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_file_is_owner_only(tmp_path: Path, fmt: str) -> None:
    db = await _filled_database(tmp_path / "jaga.sqlite3")
    try:
        out = tmp_path / f"export.{fmt}"
        count = await asyncio.to_thread(
            write, db.target, FieldCipher(KEY.encode()), out, fmt, None, None
        )
    finally:
        await db.close()
    assert count == 1
    assert await asyncio.to_thread(mode, out) == 0o600
    assert not await asyncio.to_thread(Path(f"{out}.partial").exists)


@pytest.mark.usefixtures("umask_022", "restore_logging")
def test_every_file_the_cli_creates_is_owner_only(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAGA_SECRET_KEY")  # the key is generated into the data folder
    assert main(["migrate"]) == 0
    out = tmp_path / "export.csv"
    assert main(["export", "--format", "csv", "--out", str(out)]) == 0
    assert main(["backup", str(tmp_path / "backup.sqlite3")]) == 0
    files = [
        cli_env,
        cli_env.parent / "secret.key",
        out,
        tmp_path / "backup.sqlite3",
    ]
    for file in files:
        assert mode(file) == 0o600, file
    assert os.umask(0o022) == 0o022  # the caller's umask is given back


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["console"],
        ["migrate"],
        ["backup", "b.sqlite3"],
        ["export", "--format", "csv", "--out", "-"],
        ["grant", "reviewer", "5", "--region", "12.10"],
        ["rotate-key", "--new-key-file", "new.key"],
    ],
)
def test_refuses_to_start_when_the_database_is_readable_by_others(
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.setenv("JAGA_TELEGRAM_TOKEN", "123:abc")
    assert main(["migrate"]) == 0
    capsys.readouterr()
    cli_env.chmod(0o644)
    before = cli_env.read_bytes()
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert str(cli_env) in line and "0644" in line
    assert f"chmod 600 {cli_env}" in line
    assert cli_env.read_bytes() == before
    assert mode(cli_env) == 0o644  # refused, not silently fixed: the operator must know


@pytest.mark.usefixtures("restore_logging")
def test_refuses_a_shared_key_file_then_works_when_private(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JAGA_SECRET_KEY")
    key_file = cli_env.parent / "secret.key"
    key_file.parent.mkdir()
    key_file.write_text(KEY)
    key_file.chmod(0o644)
    assert main(["migrate"]) == 2
    line = _one_error_line(capsys)
    assert f"{key_file} holds the secret key" in line and f"chmod 600 {key_file}" in line
    assert not cli_env.exists()  # nothing was opened

    key_file.chmod(0o600)
    assert main(["migrate"]) == 0
    assert "schema at" in capsys.readouterr().out
    assert mode(cli_env) == 0o600


@pytest.mark.usefixtures("restore_logging")
def test_refuses_shared_wal_and_shm_naming_them_all(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    wal, shm = Path(f"{cli_env}-wal"), Path(f"{cli_env}-shm")
    for file in (wal, shm):  # left behind by an earlier version, or copied in with a restore
        file.write_bytes(b"")
        file.chmod(0o640)
    assert main(["migrate"]) == 2
    line = _one_error_line(capsys)
    assert f"{wal} (mode 0640)" in line and f"{shm} (mode 0640)" in line
    assert f"chmod 600 {wal} {shm}" in line


@pytest.mark.usefixtures("restore_logging")
def test_refuses_a_shared_env_file_holding_the_key(
    cli_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("JAGA_SECRET_KEY")
    env_file = tmp_path / ".env"
    env_file.write_text("JAGA_REGION=12\n")
    env_file.chmod(0o644)
    assert main(["migrate"]) == 0  # nothing secret in it: fine
    capsys.readouterr()
    env_file.write_text(f"JAGA_REGION=12\nJAGA_SECRET_KEY={KEY}\n")
    assert main(["migrate"]) == 2
    assert "chmod 600 .env" in _one_error_line(capsys)
    env_file.chmod(0o600)
    assert main(["migrate"]) == 0


@pytest.mark.usefixtures("restore_logging")
def test_refuses_a_shared_env_file_holding_a_database_password(
    cli_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("JAGA_DB=postgresql://jaga:s3cret@db.example:5432/jaga\n")
    env_file.chmod(0o644)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "jaga.sqlite3"))  # the test's own database
    assert main(["migrate"]) == 2
    line = _one_error_line(capsys)
    assert "chmod 600 .env" in line and "s3cret" not in line
