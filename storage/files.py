"""Files holding personal data or the key: created owner-only (0600), checked before use.

The database, its `-wal`/`-shm`/`-journal` companions, the secret key, backups and exports hold
NIKs, names, birth dates, incomes and heirs (UU 27/2022 Pasal 35: the controller must protect
personal data against unauthorised access). Each is created with mode 0600 whatever the umask;
SQLite gives the `-wal`, `-shm` and `-journal` files it creates the mode of the database file
itself, so creating the database 0600 covers them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_MODE = 0o600
# Permission bits that let anyone but the owner read, write or enter.
_NOT_OWNER = stat.S_IRWXG | stat.S_IRWXO

# The files SQLite keeps beside a database while it is open (WAL mode), or after a crash.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


def create_private(path: Path) -> int:
    """Create `path` (it must not exist) as an empty owner-only file; returns a writable fd."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)  # exactly 0600, whatever the umask took away
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_private_database(path: Path) -> None:
    """Create the database file owner-only if it does not exist yet (SQLite would make it 0644)."""
    if path.exists():
        return
    try:
        fd = create_private(path)
    except FileExistsError:
        return
    os.close(fd)


def database_files(path: Path) -> list[Path]:
    """The database and the companions SQLite creates beside it."""
    return [path] + [path.with_name(path.name + suffix) for suffix in DATABASE_COMPANIONS]


def open_to_others(path: Path) -> int | None:
    """The permission bits of `path` if group or others may use it; None if private or absent."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    return stat.S_IMODE(mode) if mode & _NOT_OWNER else None
