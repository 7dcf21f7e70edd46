"""`jaga backup PATH`: an online copy while the bot writes; restoring it finds every row."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.backup import BackupError, backup, table_counts
from jaga.cli import main
from storage.db import Database
from tests.conftest import Harness, HarnessFactory, make_settings
from tests.factories import submitted_registration


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}
    finally:
        conn.close()


@pytest.mark.sqlite_only
async def test_backup_while_the_bot_writes_restores_every_row(
    harness: Harness, tmp_path: Path, harness_factory: HarnessFactory
) -> None:
    h = harness
    cipher = h.app.bot_data.cipher
    for uid in range(900, 910):
        await submitted_registration(h.db, cipher, operator_id=uid)
        await h.send(uid, "/bahasa")
        await h.press(uid, "LANG en")

    async def keep_writing() -> None:
        for uid in range(910, 930):
            await h.send(uid, "/start")

    target = tmp_path / "backup.sqlite3"
    writer = asyncio.create_task(keep_writing())
    counts = await asyncio.to_thread(backup, h.db.path, target)
    await writer
    assert counts["registrations"] == 10
    assert 10 <= counts["users"] <= 30

    # Restore: the backup becomes the database of a fresh deployment (same key).
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    (restored_dir / "jaga.sqlite3").write_bytes(target.read_bytes())
    backed_up = dump(target)
    settings = make_settings(restored_dir)
    async with harness_factory(settings) as again:
        assert dump(restored_dir / "jaga.sqlite3") == backed_up
        rows = await again.db.fetchall("SELECT * FROM registrations ORDER BY id")
        assert len(rows) == 10
        for row in rows:  # the NIK is still readable with the same key
            assert again.app.bot_data.cipher.decrypt(row["nik_enc"]).startswith("1210")
        await again.send(905, "/data_saya")
        assert "Your data" in again.text(905) or "Data Anda" in again.text(905)
        show = next(d for _label, d in again.last(905).buttons if d.startswith("DATA SHOW"))
        await again.press(905, show)
        assert "Budi Santoso" in again.text(905)


async def test_backup_refuses_to_overwrite_or_copy_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "jaga.sqlite3")
    await db.close()
    existing = tmp_path / "exists.sqlite3"
    existing.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="exists"):
        backup(Path(db.target), existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(BackupError, match="no database"):
        backup(tmp_path / "missing.sqlite3", tmp_path / "b.sqlite3")
    with pytest.raises(BackupError, match="no folder"):
        backup(Path(db.target), tmp_path / "nowhere" / "b.sqlite3")
    assert not (tmp_path / "b.sqlite3").exists()


async def test_backup_file_is_self_contained_and_private(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "jaga.sqlite3")
    await db.execute("INSERT INTO users(telegram_id) VALUES (1)")
    target = tmp_path / "b.sqlite3"
    backup(Path(db.target), target)
    await db.close()
    assert not await asyncio.to_thread(Path(f"{target}-wal").exists)
    assert (await asyncio.to_thread(target.stat)).st_mode & 0o077 == 0
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert table_counts(conn)["users"] == 1
    finally:
        conn.close()


@pytest.mark.usefixtures("restore_logging")
def test_cli_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "jaga.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", "k" * 40)
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 0
    assert main(["backup", str(tmp_path / "b.sqlite3")]) == 0
    out = capsys.readouterr().out
    assert "integrity ok" in out and "secret key is not in the backup" in out
    assert main(["backup", str(tmp_path / "b.sqlite3")]) == 1
    assert "exists" in capsys.readouterr().err


async def test_backup_is_owner_only_before_it_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await Database.open(tmp_path / "jaga.sqlite3")
    await db.execute("INSERT INTO users(telegram_id) VALUES (1)")
    await db.close()
    seen: list[int] = []
    real_replace = os.replace

    def replace(src: Path, dst: Path) -> None:
        seen.append(stat.S_IMODE(os.stat(src).st_mode))  # the full copy, not yet renamed
        real_replace(src, dst)

    monkeypatch.setattr("bot.backup.os.replace", replace)
    previous = os.umask(0o022)  # the usual shell umask: SQLite alone would create it 0644
    try:
        backup(tmp_path / "jaga.sqlite3", tmp_path / "b.sqlite3")
    finally:
        os.umask(previous)
    assert seen == [0o600]
    assert stat.S_IMODE((tmp_path / "b.sqlite3").stat().st_mode) == 0o600
