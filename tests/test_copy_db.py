"""`jaga copy-db`: a live deployment from SQLite to PostgreSQL and back, row for row.

These tests start the suite's PostgreSQL themselves (tests/pg.py), whatever JAGA_TEST_DB says.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot import copy_db
from bot.copy_db import CopyError, copy_database
from jaga.cli import main as jaga
from storage.db import Database
from tests import pg
from tests.conftest import HarnessFactory, make_settings
from tests.factories import nik_for
from tests.test_registration import answer_until_summary

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pgserver") is None,
    reason="pgserver (the suite's PostgreSQL) is not installed: pip install -e '.[dev]'",
)

WORKER = 611
SECOND = 612
KEY = "test-secret-key-of-enough-length-0123456789"  # make_settings' key


async def dump(target: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (migrations' record aside), columns by name, in a fixed order."""
    db = await Database.open(target)
    try:
        out = {}
        for table, columns in sorted((await copy_db.tables(db)).items()):
            names = ", ".join(copy_db.quoted(c) for c in sorted(columns))
            rows = await db.fetchall(f"SELECT {names} FROM {copy_db.quoted(table)}")
            out[table] = sorted((tuple(r) for r in rows), key=repr)
        return out
    finally:
        await db.close()


async def register(h: Any, user: int) -> str:
    """The user registers themselves by chat, end to end; returns the reference number."""
    await answer_until_summary(h, user, nik=nik_for("12.10.19"))
    await h.tap(user, "Kirim")
    done = str(h.text(user))
    assert "Nomor pendaftaran: " in done
    return done.split("Nomor pendaftaran: ")[1].split("\n")[0]


@pytest.mark.usefixtures("postgres_server")
async def test_sqlite_to_postgresql_and_back_keeps_every_row(
    harness_factory: HarnessFactory, tmp_path: Path
) -> None:
    live = tmp_path / "live.sqlite3"
    url = pg.new_database()
    back = tmp_path / "back.sqlite3"
    async with harness_factory(make_settings(tmp_path, db=live)) as h:
        ref = await register(h, WORKER)
        await h.send(WORKER, "/status")
        # Copied while the bot runs on it: the source is read in one read transaction.
        there = await copy_database(str(live), url)
    again = await copy_database(url, str(back))

    for counted in (there, again):
        assert [(c.table, c.source == c.target) for c in counted] == [
            (c.table, True) for c in counted
        ]
    counts = {c.table: c.target for c in again}
    assert counts["registrations"] == 1 and counts["users"] >= 1
    assert "schema_migrations" not in counts
    before, on_postgres, after = await dump(str(live)), await dump(url), await dump(str(back))
    assert {t: len(r) for t, r in before.items()} == counts
    assert before == on_postgres == after
    # Ciphertexts byte for byte: nothing was decrypted on the way.
    sql = "SELECT nik_enc, phone_enc FROM registrations WHERE ref = ?"
    stored = []
    for target in (str(live), url, str(back)):
        db = await Database.open(target)
        try:
            row = await db.fetchone(sql, (ref,))
            assert row is not None
            stored.append(tuple(row))
        finally:
            await db.close()
    assert all(isinstance(v, bytes) and v for v in stored[0])
    assert stored[0] == stored[1] == stored[2]

    # Each copy opens, and the bot reads the worker's registration from it.
    for target in (url, str(back)):
        async with harness_factory(make_settings(tmp_path, db=target)) as copy:
            await copy.send(WORKER, "/status")
            assert f"Nomor pendaftaran: {ref}" in copy.text(WORKER)
            # New rows get new ids after the copied ones (PostgreSQL's sequences were moved on).
            other = await register(copy, SECOND)
            assert other != ref
            ids = await copy.db.fetchall("SELECT id FROM registrations ORDER BY id")
            assert len({r[0] for r in ids}) == 2


@pytest.mark.usefixtures("postgres_server", "restore_logging")
def test_cli_refuses_a_target_that_holds_rows_unless_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "jaga.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", KEY)
    source = tmp_path / "jaga.sqlite3"
    assert jaga(["migrate"]) == 0  # a migrated database with a few rows
    with sqlite3.connect(source) as conn:
        conn.execute("INSERT INTO users(telegram_id, language) VALUES (1, 'id'), (2, 'en')")
    conn.close()
    url = pg.new_database()
    capsys.readouterr()
    assert jaga(["copy-db", str(source), url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "users: 2 rows" in out
    assert out[-1].endswith(f"2 rows in {len(out) - 1} tables copied from {source}")

    assert jaga(["copy-db", str(source), url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "TO already holds 2 rows (2 in users)" in err and "--replace" in err

    with sqlite3.connect(source) as conn:
        conn.execute("INSERT INTO users(telegram_id, language) VALUES (3, 'id')")
    conn.close()
    assert jaga(["copy-db", str(source), url, "--replace"]) == 0
    assert "users: 3 rows" in capsys.readouterr().out.splitlines()


async def test_differing_columns_are_named_and_nothing_is_copied(tmp_path: Path) -> None:
    source, target = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    for path in (source, target):
        db = await Database.open(path)
        await db.close()
    with sqlite3.connect(target) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN nickname TEXT")
    conn.close()
    with pytest.raises(CopyError, match=r"table users .*only in TO: nickname"):
        await copy_database(str(source), str(target))
    with pytest.raises(CopyError, match="same database"):
        await copy_database(str(source), str(tmp_path / "." / "a.sqlite3"))
    with pytest.raises(CopyError, match="FROM: no SQLite database"):
        await copy_database(str(tmp_path / "missing.sqlite3"), str(target))
    assert not (tmp_path / "missing.sqlite3").exists()
