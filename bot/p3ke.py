"""Reading a P3KE / DTSEN extract: (NIK, decile) rows, checked line by line, stored as hashes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from bot.crypto import FieldCipher
from bot.patterns import linear
from storage import p3ke
from storage.db import Database

# Shown at most; the rest are counted.
MAX_ERRORS = 50

# Cells are untrusted text: RE2 patterns, linear in the cell (bot/patterns.py). `\pZ` adds the
# Unicode spaces (no-break space from spreadsheets) to RE2's ASCII-only `\s`.
_NIK_GAPS = linear(r"[\s\pZ.\-']")
_NIK_DIGITS = linear(r"\d{16}")
_DECILE = linear(r"(?:desil[\s\pZ]*)?0*(\d{1,2})(?:[.,]0+)?")


class P3keInvalid(Exception):
    """The file has bad rows (`errors`: 'line N: why'); nothing was imported."""

    def __init__(self, errors: list[str], total: int):
        super().__init__(f"{total} bad row(s); nothing imported")
        self.errors = errors
        self.total = total


def clean_nik(text: str) -> str | None:
    """A NIK as 16 digits, or None if it is not a plausible NIK (spaces, dots, a leading ')."""
    nik = _NIK_GAPS.sub("", text)
    if not _NIK_DIGITS.fullmatch(nik):
        return None
    day, month = int(nik[6:8]), int(nik[8:10])
    if nik[12:] == "0000" or not 1 <= month <= 12 or not (1 <= day <= 31 or 41 <= day <= 71):
        return None
    return nik


def _decile(text: str) -> int | None:
    match = _DECILE.fullmatch(text.strip().lower())
    if match is None:
        return None
    value = int(match.group(1))
    return value if 1 <= value <= 10 else None


def read_rows(path: Path, cipher: FieldCipher) -> Iterator[tuple[str, int]]:
    """Yield (NIK hash, decile) for each good row; raise P3keInvalid at the end if any was bad.

    The NIK itself never leaves this function: only its keyed hash is yielded.
    """
    errors: list[str] = []
    total_bad = 0
    seen: dict[str, int] = {}
    rows = 0

    def bad(line: int, why: str) -> None:
        nonlocal total_bad
        total_bad += 1
        if len(errors) < MAX_ERRORS:
            errors.append(f"line {line}: {why}")

    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first = f.readline()
            delimiter = max(",;\t", key=first.count) if first.strip() else ","
            f.seek(0)
            reader = csv.reader(f, delimiter=delimiter)
            for cells in reader:
                line = reader.line_num
                cells = [c.strip() for c in cells]
                if not any(cells):
                    continue
                if line == 1 and "nik" in cells[0].lower():
                    continue  # header row
                if len(cells) < 2:
                    bad(line, "expected two columns: NIK and decile")
                    continue
                nik = clean_nik(cells[0])
                if nik is None:
                    bad(line, "not a valid 16-digit NIK")
                    continue
                decile = _decile(cells[1])
                if decile is None:
                    bad(line, f"decile must be a whole number 1-10, not {cells[1][:12]!r}")
                    continue
                digest = cipher.lookup_hash("nik", nik)
                if digest in seen:
                    bad(line, f"the same NIK is already on line {seen[digest]}")
                    continue
                seen[digest] = line
                rows += 1
                yield digest, decile
    except UnicodeDecodeError:
        raise P3keInvalid(["the file is not UTF-8 text (save it as CSV UTF-8)"], 1) from None
    if rows == 0 and total_bad == 0:
        raise P3keInvalid(["the file has no rows"], 1)
    if total_bad:
        if total_bad > len(errors):
            errors.append(f"… and {total_bad - len(errors)} more")
        raise P3keInvalid(errors, total_bad)


async def import_file(db: Database, cipher: FieldCipher, path: Path) -> int:
    """Replace the decile list with the file's rows, all or nothing; returns the row count."""
    return await p3ke.replace_all(db, read_rows(path, cipher), source=path.name)
