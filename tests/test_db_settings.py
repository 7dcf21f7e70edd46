"""JAGA_DB: either engine by its value, one clear line for each database that cannot be used."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jaga import cli
from storage.db import Database
from tests import pg

SECRET = "test-secret-key-of-enough-length-0123456789"


@pytest.fixture(scope="module")
def server(postgres_server: None) -> None:
    """This module always needs PostgreSQL, whichever engine the run is on."""


def migrate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db: str) -> int:
    """`jaga migrate` with JAGA_DB set to `db`, from an empty folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", db)
    monkeypatch.setenv("JAGA_SECRET_KEY", SECRET)
    monkeypatch.setenv("JAGA_DATA_DIR", str(tmp_path / "data"))
    return cli.main(["migrate"])


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.usefixtures("restore_logging")
def test_an_unknown_scheme_is_one_line_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert migrate(monkeypatch, tmp_path, "mysql://jaga@db/jaga") == 2
    line = one_line(capsys.readouterr().err)
    assert "JAGA_DB" in line and "mysql" in line
    assert not (tmp_path / "mysql:").exists()


@pytest.mark.usefixtures("restore_logging")
def test_an_unreachable_server_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    assert migrate(monkeypatch, tmp_path, "postgresql://jaga:pw@127.0.0.1:1/jaga") == 2
    line = one_line(capsys.readouterr().err)
    assert "JAGA_DB" in line and "127.0.0.1:1" in line and "pw" not in line
    assert not (tmp_path / "postgresql:").exists()


@pytest.mark.usefixtures("server", "restore_logging")
def test_an_unknown_user_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = pg.url("postgres").replace("postgres@", "nobody@", 1)
    assert migrate(monkeypatch, tmp_path, target) == 2
    line = one_line(capsys.readouterr().err)
    assert "JAGA_DB" in line and "refused the user name or password" in line


@pytest.mark.usefixtures("server", "restore_logging")
def test_a_missing_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert migrate(monkeypatch, tmp_path, pg.url("no_such_database")) == 2
    assert "no such database" in one_line(capsys.readouterr().err)


@pytest.mark.usefixtures("server", "restore_logging")
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migrate_works_on_both_engines_and_refuses_a_newer_schema(
    engine: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = pg.new_database() if engine == "postgresql" else str(tmp_path / "jaga.sqlite3")
    assert migrate(monkeypatch, tmp_path, target) == 0
    out = capsys.readouterr().out
    assert "schema at" in out and (engine == "sqlite" or "postgres@" in out)

    async def from_the_future() -> None:
        db = await Database.open(target)
        await db.execute("INSERT INTO schema_migrations(name) VALUES ('9999_from_the_future')")
        await db.close()

    asyncio.run(from_the_future())
    assert migrate(monkeypatch, tmp_path, target) == 2
    line = one_line(capsys.readouterr().err)
    assert "JAGA_DB" in line and "newer schema" in line and "9999_from_the_future" in line
    pg.drop_created()
