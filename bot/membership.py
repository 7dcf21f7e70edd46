"""Membership and claim data from the BPJS branch: the source interface, import rules, arrears.

The bot is not BPJS's core system. Member and claim records arrive as extracts (CSV or XLSX)
through `jaga import members|claims PATH`; a future API client only has to implement
`MembershipSource`. Every row is checked before anything is written, and the whole file is then
upserted in one transaction, so an import is all or nothing and can be repeated safely.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import hmac
import io
import secrets
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from lokal import parse_nik

from bot import notify
from bot.crypto import FieldCipher, mask_nik
from bot.patterns import linear
from storage import membership as store
from storage import outbox, roles
from storage.db import Database
from storage.registrations import Registration, Status

WIB = ZoneInfo("Asia/Jakarta")
# Arrears may be paid up to 3 months after the protection period ends, without a fine
# (Perdir BPJS Ketenagakerjaan 22/PERDIR.02/072022). What follows more than 3 unpaid months is
# told differently by BPJS's sources (bot/data/payment_channels.toml, after_grace): the bot
# sends the worker to BPJS.
GRACE_MONTHS = 3
# NIK lookups (/status, the registration NIK step when the NIK is taken, failed link proofs)
# and claim-number lookups one person may make in an hour: one shared limit.
LOOKUPS_PER_HOUR = 5
# One-time link codes: digits, hours valid, wrong tries before the request is refused.
CODE_DIGITS = 6
CODE_HOURS = 24
MAX_WRONG_CODES = 3
# Codes asked for one worker's data within CODE_HOURS, by any accounts: each one notifies the
# worker's cadre (or the district's reviewers), so throwaway accounts must not flood them.
MAX_CODES_PER_WORKER = 3

MEMBER_STATUSES = tuple(s.value for s in store.MemberStatus)
CLAIM_TYPES = tuple(t.value for t in store.ClaimType)
CLAIM_STATUSES = tuple(s.value for s in store.ClaimStatus)
# The steps a claim goes through, in order (the bot's own names: BPJS publishes no official
# labels for claim statuses).
CLAIM_STEPS = ("diajukan", "diverifikasi", "diproses", "disetujui", "dibayar")

# Patterns run on cells and on typed messages: RE2, linear in the text (bot/patterns.py). `\pZ`
# adds the Unicode spaces (no-break space from spreadsheets) to RE2's ASCII-only `\s`.
_KPJ = linear(r"\d{11}")
_CLAIM_NO = linear(r"[A-Za-z0-9][A-Za-z0-9./-]{0,39}")
_HEADER_GAPS = linear(r"[\s\pZ-]+")
_NUMBER_GAPS = linear(r"[\s\pZ.-]")
_NIK_DIGITS = linear(r"\d{16}")
_ISO_DATE = linear(r"\d{4}-\d{1,2}-\d{1,2}")
_DATE_PARTS = linear(r"\d+|[a-z]+")
_LETTERS = linear(r"[a-z]+")
_RP_PREFIX = linear(r"(?i)^rp\.?[\s\pZ]*")
# A registration's reference number as bot/registration.py `reference` makes it
# (`JP-1210-000042`), typed in any case, with or without dashes, dots or spaces.
_REFERENCE = linear(r"(?i)jp[\s\pZ.-]*(\d{4})[\s\pZ.-]*(\d{6,12})")
_REFERENCE_INSIDE = linear(r"(?i)(?:^|[^0-9a-z])jp[\s\pZ.-]*(\d{4})[\s\pZ.-]*(\d{6,12})(?:$|\D)")
_GROUPED_NUMBER = linear(r"[\d.,]+")


R = TypeVar("R", "MemberRecord", "ClaimRecord")


def today() -> dt.date:
    """Today's date in Western Indonesia (WIB); tests replace this function to pin the date."""
    return dt.datetime.now(WIB).date()


# --- the source interface -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRecord:
    """One member as BPJS reports it."""

    line: int
    nik: str
    kpj: str
    programs: str  # JKK_JKM or JKK_JKM_JHT
    protected_until: dt.date
    last_paid: dt.date | None
    status: str
    birth_date: dt.date | None = None


@dataclass(frozen=True)
class ClaimRecord:
    """One claim as BPJS reports it; matched to a worker by NIK or KPJ."""

    line: int
    claim_no: str
    nik: str | None
    kpj: str | None
    type: str
    status: str
    status_date: dt.date
    amount_paid: int | None


@dataclass(frozen=True)
class RowError:
    """A bad row: its line in the file and what is wrong, for the operator."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportFailed(Exception):
    """The file cannot be imported; nothing was written."""

    def __init__(self, message: str, errors: Sequence[RowError] = ()):
        super().__init__(message)
        self.errors = list(errors)


class MembershipSource(Protocol):
    """Where member and claim records come from: a file today, an API later."""

    def members(self) -> list[MemberRecord]:
        """Every member record, validated; raises ImportFailed listing the bad rows."""
        ...

    def claims(self) -> list[ClaimRecord]:
        """Every claim record, validated; raises ImportFailed listing the bad rows."""
        ...


@dataclass(frozen=True)
class FileSource:
    """A CSV or XLSX extract with a header row."""

    path: Path

    def members(self) -> list[MemberRecord]:
        """The members of the file, or ImportFailed with every bad row."""
        records, errors = _parse_all(read_table(self.path), MEMBER_COLUMNS, _member)
        return _checked(records, errors)

    def claims(self) -> list[ClaimRecord]:
        """The claims of the file, or ImportFailed with every bad row."""
        records, errors = _parse_all(read_table(self.path), CLAIM_COLUMNS, _claim)
        seen: dict[str, int] = {}
        for record in records:
            first = seen.setdefault(record.claim_no, record.line)
            if first != record.line:
                errors.append(RowError(record.line, f"claim number repeats line {first}"))
        return _checked(records, errors)


# --- reading files --------------------------------------------------------------------------

Row = tuple[int, dict[str, Any]]  # (line number in the file, {header name: value})


@dataclass(frozen=True)
class Table:
    """The header names of an extract and its non-empty data rows with their line numbers."""

    header: list[str]
    rows: list[Row]


def read_table(path: Path) -> Table:
    """Read a CSV (UTF-8, comma or semicolon) or XLSX (first sheet) file with a header row."""
    if not path.is_file():
        raise ImportFailed("no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_table(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_table(path)
    raise ImportFailed(f"unsupported file type {suffix or '(none)'}; use .csv or .xlsx")


def _header(cells: Iterable[Any]) -> list[str]:
    return [_HEADER_GAPS.sub("_", str(c or "").strip().lower()) for c in cells]


def _csv_table(path: Path) -> Table:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed("not UTF-8 text; save the CSV as UTF-8") from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[Row] = []
    try:
        for cells in reader:
            if header is None:
                header = _header(cells)
            elif any(c.strip() for c in cells):
                rows.append((reader.line_num, dict(zip(header, cells, strict=False))))
    except csv.Error as exc:
        raise ImportFailed(f"line {reader.line_num}: {exc}") from None
    if header is None:
        raise ImportFailed("the file is empty")
    return Table(header, rows)


def _xlsx_table(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        kind = exc.__class__.__name__
        raise ImportFailed(f"not a readable XLSX file ({kind})") from None
    header: list[str] | None = None
    rows: list[Row] = []
    try:
        for number, cells in enumerate(workbook.worksheets[0].iter_rows(values_only=True), 1):
            if header is None:
                header = _header(cells)
            elif any(c is not None and str(c).strip() for c in cells):
                rows.append((number, dict(zip(header, cells, strict=False))))
    finally:
        workbook.close()
    if header is None:
        raise ImportFailed("the first sheet is empty")
    return Table(header, rows)


# --- columns and values ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of an extract: its name, the other names it may have, and whether it is needed."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True


MEMBER_COLUMNS = (
    Column("nik"),
    Column("kpj", ("no_kpj", "nomor_kpj", "kpj_number")),
    Column("program", ("programs", "programs_list")),
    Column("dilindungi_sampai", ("protected_until", "masa_perlindungan", "perlindungan_sampai")),
    Column("tanggal_bayar_terakhir", ("last_payment_date", "last_paid", "bayar_terakhir")),
    Column("status", ("status_kepesertaan",)),
    Column("tanggal_lahir", ("birth_date", "tgl_lahir"), required=False),
)
CLAIM_COLUMNS = (
    Column("no_klaim", ("nomor_klaim", "claim_number", "claim_no")),
    Column("nik", required=False),
    Column("kpj", ("no_kpj", "nomor_kpj", "kpj_number"), required=False),
    Column("jenis", ("jenis_klaim", "type", "claim_type", "program")),
    Column("status", ("status_klaim",)),
    Column("tanggal_status", ("status_date", "tanggal")),
    Column("jumlah_dibayar", ("amount_paid", "nominal_dibayar", "dibayar"), required=False),
)


def _resolve(header: Sequence[str], columns: Sequence[Column]) -> dict[str, str]:
    """Map each column to the header name the file uses; ImportFailed if a needed one is absent."""
    found: dict[str, str] = {}
    missing = []
    for column in columns:
        name = next((n for n in (column.name, *column.aliases) if n in header), None)
        if name is not None:
            found[column.name] = name
        elif column.required:
            missing.append(column.name)
    if missing:
        raise ImportFailed(
            "line 1: missing column(s) " + ", ".join(missing)
            + "; expected " + ", ".join(c.name for c in columns)
        )  # fmt: skip
    return found


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without `.0`, no surrounding spaces."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "januari", "january"),
            ("feb", "peb", "februari", "pebruari", "february"),
            ("mar", "maret", "march"),
            ("apr", "april"),
            ("mei", "may"),
            ("jun", "juni", "june"),
            ("jul", "juli", "july"),
            ("agu", "agt", "ags", "agus", "agustus", "aug", "august"),
            ("sep", "sept", "september"),
            ("okt", "oct", "oktober", "october"),
            ("nov", "nop", "november", "nopember"),
            ("des", "dec", "desember", "december"),
        ),
        start=1,
    )
    for name in names
}


def parse_date(value: Any, *, two_digit_years: bool = False) -> dt.date | None:
    """A date from a cell or a message: ISO, DD-MM-YYYY, DD/MM/YYYY, `15 Mei 1980`, Excel dates."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value).lower()
    if not text:
        return None
    try:
        if _ISO_DATE.fullmatch(text):
            return dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        return None
    parts = _DATE_PARTS.findall(text)
    if len(parts) == 1 and len(parts[0]) in (6, 8) and parts[0].isdigit():
        digits = parts[0]
        parts = [digits[:2], digits[2:4], digits[4:]]
    if len(parts) != 3:
        return None
    day_s, month_s, year_s = parts
    month = int(month_s) if month_s.isdigit() else _MONTHS.get(month_s)
    if month is None or not day_s.isdigit() or not year_s.isdigit():
        return None
    year = int(year_s)
    if len(year_s) == 2 and two_digit_years:
        year += 2000 if year <= today().year % 100 else 1900
    elif len(year_s) != 4:
        return None
    try:
        return dt.date(year, month, int(day_s))
    except ValueError:
        return None


def parse_programs(value: Any) -> str | None:
    """`JKK,JKM`, `JKK+JKM+JHT`, `jkk jkm jht` → JKK_JKM / JKK_JKM_JHT; None if not one of them."""
    names = set(_LETTERS.findall(cell_text(value).lower()))
    if names == {"jkk", "jkm"}:
        return "JKK_JKM"
    if names == {"jkk", "jkm", "jht"}:
        return "JKK_JKM_JHT"
    return None


def clean_nik(value: Any) -> tuple[str | None, str | None]:
    """(NIK, None) for a structurally valid NIK, else (None, what is wrong)."""
    text = _NUMBER_GAPS.sub("", cell_text(value))
    if not _NIK_DIGITS.fullmatch(text):
        return None, "NIK must be 16 digits"
    info = parse_nik(text)
    if not info.valid or info.nik is None:
        return None, "NIK is not valid (" + ", ".join(str(e) for e in info.errors) + ")"
    return info.nik, None


def ref_in(value: str) -> str | None:
    """The reference number said inside a short message ("JP-1210-000003 udh sampe mana?"),
    in its stored form, or None."""
    match = _REFERENCE_INSIDE.search(value[:200])
    return None if match is None else f"JP-{match.group(1)}-{int(match.group(2)):06d}"


def clean_ref(value: str) -> str | None:
    """A typed reference number in its stored form (`jp 1210 000003` -> `JP-1210-000003`), or
    None when the text is not one."""
    match = _REFERENCE.fullmatch(value.strip())
    return None if match is None else f"JP-{match.group(1)}-{int(match.group(2)):06d}"


def nik_birth_date(nik: str) -> dt.date | None:
    """The birth date written in a NIK (day + 40 for women), if it is a real date."""
    info = parse_nik(nik, reference_date=today())
    return dt.date.fromisoformat(info.birth_date) if info.valid and info.birth_date else None


def _amount(value: Any) -> int | None:
    text = _RP_PREFIX.sub("", cell_text(value))
    text = text.replace(".", "").replace(",", "") if _GROUPED_NUMBER.fullmatch(text) else text
    return int(text) if text.isdigit() else None


def _member(values: dict[str, Any]) -> MemberRecord | str:
    nik, problem = clean_nik(values["nik"])
    if nik is None:
        return problem or "bad NIK"
    kpj = _NUMBER_GAPS.sub("", cell_text(values["kpj"]))
    if not _KPJ.fullmatch(kpj):
        return f"KPJ must be 11 digits, got {kpj or 'nothing'!r}"
    programs = parse_programs(values["program"])
    if programs is None:
        return f"program must be JKK+JKM or JKK+JKM+JHT, got {cell_text(values['program'])!r}"
    protected = parse_date(values["dilindungi_sampai"])
    if protected is None:
        return f"dilindungi_sampai is not a date: {cell_text(values['dilindungi_sampai'])!r}"
    raw_paid = values["tanggal_bayar_terakhir"]
    last_paid = parse_date(raw_paid)
    if last_paid is None and cell_text(raw_paid):
        return f"tanggal_bayar_terakhir is not a date: {cell_text(raw_paid)!r}"
    status = cell_text(values["status"]).lower().replace(" ", "").replace("-", "").replace("_", "")
    status = {"active": "aktif", "inactive": "nonaktif", "tidakaktif": "nonaktif"}.get(
        status, status
    )
    if status not in MEMBER_STATUSES:
        allowed, got = ", ".join(MEMBER_STATUSES), cell_text(values["status"])
        return f"status must be one of {allowed}, got {got!r}"
    raw_birth = values.get("tanggal_lahir")
    birth = parse_date(raw_birth)
    if birth is None and cell_text(raw_birth):
        return f"tanggal_lahir is not a date: {cell_text(raw_birth)!r}"
    return MemberRecord(0, nik, kpj, programs, protected, last_paid, status, birth)


def _claim(values: dict[str, Any]) -> ClaimRecord | str:
    claim_no = cell_text(values["no_klaim"])
    if not _CLAIM_NO.fullmatch(claim_no):
        return f"no_klaim must be 1-40 letters, digits, '.', '/' or '-', got {claim_no!r}"
    nik: str | None = None
    if cell_text(values.get("nik")):
        nik, problem = clean_nik(values["nik"])
        if nik is None:
            return problem or "bad NIK"
    kpj = _NUMBER_GAPS.sub("", cell_text(values.get("kpj"))) or None
    if kpj is not None and not _KPJ.fullmatch(kpj):
        return f"KPJ must be 11 digits, got {kpj!r}"
    if nik is None and kpj is None:
        return "a claim needs a NIK or a KPJ number"
    kind = cell_text(values["jenis"]).upper()
    if kind not in CLAIM_TYPES:
        return f"jenis must be one of {', '.join(CLAIM_TYPES)}, got {cell_text(values['jenis'])!r}"
    status = cell_text(values["status"]).lower()
    if status not in CLAIM_STATUSES:
        return f"status must be one of {', '.join(CLAIM_STATUSES)}, got {status!r}"
    status_date = parse_date(values["tanggal_status"])
    if status_date is None:
        return f"tanggal_status is not a date: {cell_text(values['tanggal_status'])!r}"
    raw_amount = values.get("jumlah_dibayar")
    amount = _amount(raw_amount)
    if amount is None and cell_text(raw_amount):
        return f"jumlah_dibayar must be whole rupiah, got {cell_text(raw_amount)!r}"
    return ClaimRecord(0, claim_no, nik, kpj, kind, status, status_date, amount)


def _parse_all(
    table: Table, columns: Sequence[Column], parse: Callable[[dict[str, Any]], R | str]
) -> tuple[list[R], list[RowError]]:
    """Every row parsed: the good records and the bad rows with their line and problem."""
    names = _resolve(table.header, columns)
    records: list[R] = []
    errors: list[RowError] = []
    for line, values in table.rows:
        result = parse({column: values.get(name) for column, name in names.items()})
        if isinstance(result, str):
            errors.append(RowError(line, result))
        else:
            records.append(replace(result, line=line))
    return records, errors


def _checked(records: list[R], errors: list[RowError]) -> list[R]:
    """The records when every row is good, else ImportFailed with the bad rows in line order."""
    if errors:
        errors = sorted(errors, key=lambda e: e.line)
        raise ImportFailed(f"{len(errors)} bad row(s); nothing was imported", errors)
    return records


# --- importing ------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import did."""

    rows: int = 0
    changed: int = 0
    unchanged: int = 0
    registered: list[str] = field(default_factory=list)  # refs moved to `terdaftar`


async def import_members(
    db: Database, cipher: FieldCipher, source: MembershipSource, *, default_language: str = "id"
) -> ImportSummary:
    """Upsert every member of the source in one transaction; approved registrations that now
    have a KPJ become `terdaftar`, and the messages telling their worker and the cadre who
    registered them go into the outbox in that same transaction (the bot's sender delivers)."""
    records = source.members()
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    kpj_line: dict[str, tuple[int, str]] = {}
    hashes = {r.line: cipher.lookup_hash("nik", r.nik) for r in records}
    for record in records:
        nik_hash = hashes[record.line]
        earlier = first_line.setdefault(nik_hash, record.line)
        if earlier != record.line:
            errors.append(RowError(record.line, f"NIK repeats line {earlier}"))
        seen = kpj_line.setdefault(record.kpj, (record.line, nik_hash))
        if seen[1] != nik_hash:
            errors.append(
                RowError(record.line, f"KPJ also given to another NIK on line {seen[0]}")
            )
    owners = await store.kpj_owners(db, [r.kpj for r in records])
    for record in records:
        owner = owners.get(record.kpj)
        if owner is not None and owner != hashes[record.line]:
            errors.append(RowError(record.line, "KPJ already belongs to another member"))
    _checked(records, errors)
    summary = ImportSummary(rows=len(records))
    async with db.write() as conn:
        # Free KPJs that move between NIKs inside this file? Not allowed above; order is safe.
        for record in records:
            nik_hash = hashes[record.line]
            changed = await store.upsert_member(
                conn,
                store.Member(
                    nik_hash=nik_hash,
                    nik_enc=cipher.encrypt(record.nik),
                    nik_masked=mask_nik(record.nik),
                    kpj=record.kpj,
                    programs=record.programs,
                    protected_until=record.protected_until.isoformat(),
                    last_paid=record.last_paid.isoformat() if record.last_paid else None,
                    status=store.MemberStatus(record.status),
                    birth_date=record.birth_date.isoformat() if record.birth_date else None,
                ),
            )
            if changed:
                summary.changed += 1
            else:
                summary.unchanged += 1
            registration = await store.register_approved(conn, nik_hash, record.kpj)
            if registration is not None:
                summary.registered.append(str(registration.ref))
                # Rendering only reads (committed data): no deadlock on the open transaction.
                messages = await notify.status_messages(
                    db,
                    registration.with_answers(kpj=record.kpj),
                    Status.REGISTERED,
                    None,
                    default_language=default_language,
                )
                for message in messages:
                    await outbox.enqueue(
                        conn, "terdaftar", message.chat_id, message.text, message.buttons
                    )
    return summary


async def import_claims(
    db: Database, cipher: FieldCipher, source: MembershipSource
) -> ImportSummary:
    """Upsert every claim of the source in one transaction."""
    records = source.claims()
    summary = ImportSummary(rows=len(records))
    async with db.write() as conn:
        for record in records:
            changed = await store.upsert_claim(
                conn,
                store.Claim(
                    claim_no=record.claim_no,
                    nik_hash=cipher.lookup_hash("nik", record.nik) if record.nik else None,
                    kpj=record.kpj,
                    type=store.ClaimType(record.type),
                    status=store.ClaimStatus(record.status),
                    status_date=record.status_date.isoformat(),
                    amount_paid=record.amount_paid,
                ),
            )
            if changed:
                summary.changed += 1
            else:
                summary.unchanged += 1
    return summary


# --- arrears --------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """Shift a date by whole months, clamping the day to the month's length."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Arrears:
    """How far behind a member's contributions are on a day."""

    months: int  # months begun without cover since the protection period ended (0: covered)
    ends_on: dt.date  # the last day arrears can still be paid; after it the membership ends

    @property
    def covered(self) -> bool:
        """Still inside the paid protection period."""
        return self.months == 0

    @property
    def lapsed(self) -> bool:
        """More than 3 consecutive months unpaid: the membership has ended."""
        return self.months > GRACE_MONTHS


def arrears(protected_until: dt.date, on: dt.date) -> Arrears:
    """Months begun since cover ended: 1 in the first month after it, 4 and more once lapsed."""
    ends_on = add_months(protected_until, GRACE_MONTHS)
    months = 0
    while on > add_months(protected_until, months) and months <= GRACE_MONTHS:
        months += 1
    return Arrears(months=months, ends_on=ends_on)


def iter_claim_steps(status: str) -> Iterator[tuple[str, str]]:
    """(step, 'done'|'current'|'todo') for each step of a claim; a refused claim stops there."""
    if status == "ditolak":  # the extract does not say at which step it was refused
        yield "diajukan", "done"
        yield "ditolak", "current"
        return
    position = CLAIM_STEPS.index(status)
    for index, step in enumerate(CLAIM_STEPS):
        if index < position:
            yield step, "done"
        elif index == position:
            yield step, "done" if step == "dibayar" else "current"
        else:
            yield step, "todo"


# --- the worker behind a Telegram account or a NIK ---------------------------------------------


@dataclass(frozen=True)
class Worker:
    """What the bot knows of one worker: their registration here and their BPJS member record."""

    nik_hash: str
    registration: Registration | None
    member: store.Member | None

    @property
    def kpj(self) -> str | None:
        """The KPJ number, from BPJS's extract or the registration it completed."""
        if self.member is not None:
            return self.member.kpj
        if self.registration is not None and self.registration.kpj:
            return self.registration.kpj
        return None


async def worker_of(db: Database, telegram_id: int) -> Worker | None:
    """The worker this account registered as, or is linked to by a proof."""
    registration = await store.own_registration(db, telegram_id)
    nik_hash = await store.linked_nik_hash(db, telegram_id)
    if nik_hash is None and registration is not None:
        nik_hash = registration.nik_hash
    if nik_hash is None:
        return None
    if registration is None or registration.nik_hash != nik_hash:
        registration = await store.registration_by_nik_hash(db, nik_hash)
    member = await store.member_by_nik_hash(db, nik_hash)
    return Worker(nik_hash, registration, member)


async def worker_by_nik(db: Database, cipher: FieldCipher, nik: str) -> Worker | None:
    """What the bot knows of the worker with this NIK, or None. Knowing a NIK proves nothing:
    callers show details only to an account `entitled` to them."""
    return await worker_of_nik_hash(db, cipher.lookup_hash("nik", nik))


async def worker_of_nik_hash(db: Database, nik_hash: str) -> Worker | None:
    """The worker with this NIK hash, or None."""
    registration = await store.registration_by_nik_hash(db, nik_hash)
    member = await store.member_by_nik_hash(db, nik_hash)
    if registration is None and member is None:
        return None
    return Worker(nik_hash, registration, member)


def own_account(registration: Registration | None) -> int | None:
    """The worker's own Telegram account on a registration (a self-registration's sender)."""
    if registration is None:
        return None
    if registration.worker_telegram_id:
        return registration.worker_telegram_id
    if registration.for_self is True and registration.operator_id:
        return registration.operator_id
    return None


# Roles whose holders act as a worker's cadre when they register someone else.
CADRE_ROLES = frozenset({"cadre", "reviewer", "admin"})


async def acts_as_cadre(db: Database, telegram_id: int, admins: Collection[int] = ()) -> bool:
    """Whether this account holds the cadre role now, or reviews or administers (`admins`: the
    deployment's admins, who hold no row in the roles table)."""
    if telegram_id in admins:
        return True
    return any(role in CADRE_ROLES for role, _region in await roles.held_by(db, telegram_id))


async def cadre_of(
    db: Database, registration: Registration | None, admins: Collection[int] = ()
) -> int | None:
    """The cadre who registered the worker for them, if a cadre did.

    Anyone may register a relative or neighbour ("orang lain"), but only a sender who holds the
    cadre role (or reviews) now is that worker's cadre: sees their details and confirms codes.
    """
    if registration is None or registration.for_self is not False:
        return None
    operator = registration.operator_id
    if not operator or not await acts_as_cadre(db, operator, admins):
        return None
    return operator


async def entitled(
    db: Database, telegram_id: int, worker: Worker, admins: Collection[int] = ()
) -> bool:
    """Whether this account may see the worker's details: the worker's own account, the cadre
    who registered them, or an account linked to them by a proof."""
    if telegram_id == own_account(worker.registration):
        return True
    if telegram_id == await cadre_of(db, worker.registration, admins):
        return True
    return await store.linked_nik_hash(db, telegram_id) == worker.nik_hash


def phone_matches(cipher: FieldCipher, worker: Worker, phone: str) -> bool:
    """Whether a phone number (in +62 form) is the one on the worker's registration."""
    registration = worker.registration
    stored = registration.phone_hash if registration is not None else None
    return bool(stored) and hmac.compare_digest(str(stored), cipher.lookup_hash("phone", phone))


def kpj_matches(worker: Worker, typed: str) -> bool:
    """Whether a typed KPJ (spaces, dots and dashes allowed) is the worker's membership number."""
    kpj = _NUMBER_GAPS.sub("", typed)
    return (
        bool(_KPJ.fullmatch(kpj))
        and worker.kpj is not None
        and hmac.compare_digest(kpj, worker.kpj)
    )


def new_link_code() -> tuple[str, bytes, str]:
    """A one-time code of CODE_DIGITS digits, with the salt and digest that are stored."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_bytes(16)
    return code, salt, code_digest(salt, code)


def code_digest(salt: bytes, code: str) -> str:
    """sha256(salt || code), hex: what a link request stores instead of its code."""
    return hashlib.sha256(salt + code.encode()).hexdigest()


def nik_kabupaten(nik: str) -> str:
    """The kabupaten/kota code written in a NIK's first four digits, e.g. `12.10`."""
    return f"{nik[:2]}.{nik[2:4]}"


async def may_look_up(db: Database, telegram_id: int) -> bool:
    """Whether this person has lookups left this hour."""
    return await store.lookups_in_last_hour(db, telegram_id) < LOOKUPS_PER_HOUR
