"""`jaga backup PATH`: a consistent copy of the database, taken while the bot keeps running.

SQLite's online backup API copies the database page by page from a read transaction. The bot's
database is in WAL mode, so that read transaction does not block the bot's writes, and the copy is
the database as it was at one instant (a snapshot), never half of a transaction.

The copy is written next to PATH as `PATH.partial`, checked (`PRAGMA integrity_check`), switched
to a self-contained single file (journal_mode=DELETE) and only then renamed to PATH, so PATH is
either a complete, checked backup or absent.

The backup is owner-only (mode 0600) from its first byte, whatever the umask.

Restore (see SECURITY.md): stop the bot, copy the backup over JAGA_DB keeping it owner-only
(`install -m 600 PATH "$JAGA_DB"`), delete JAGA_DB-wal and JAGA_DB-shm if present, start the bot
(`jaga migrate` first shows the schema it holds; every `jaga` command refuses to start while the
database is readable by group or others). The backup does not contain the secret key: without
the same JAGA_SECRET_KEY (or data/secret.key) the NIKs and phone numbers in it cannot be read.
Keep the key backed up separately.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from storage.files import PRIVATE_MODE, ensure_private_database


class BackupError(Exception):
    """The backup could not be made; the message is for the operator."""


def backup(source: Path, destination: Path) -> dict[str, int]:
    """Copy the database at `source` to `destination`; returns the row count of each table."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file name")
    if destination.resolve() == source.resolve():
        raise BackupError("the backup must not be the database itself")
    if not destination.parent.is_dir():
        raise BackupError(f"no folder {destination.parent}")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        # Owner-only from its first byte (and so its -journal); SQLite fills the empty file.
        ensure_private_database(partial)
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                # pages=-1: one step, from one read transaction: a consistent snapshot. In WAL
                # mode that transaction does not hold up the bot's writers.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")
                check = dst.execute("PRAGMA integrity_check").fetchone()
                if check is None or check[0] != "ok":
                    raise BackupError(f"the copy failed its integrity check: {check}")
                counts = table_counts(dst)
            finally:
                dst.close()
        finally:
            src.close()
        _fsync(partial)
        os.replace(partial, destination)
        _fsync(destination.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {destination}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    os.chmod(destination, PRIVATE_MODE)  # it holds personal data (already so; kept explicit)
    return counts


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows in each table of an open database."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
