"""The cadres' spreadsheet: the XLSX template, reading a filled one back, row checks, results.

A cadre with no signal in the field fills one row per worker offline and sends the file back to
the bot. Every row is checked as the chat checks a typed answer (bot/registration.py); the
handler (handlers/cadres/) runs these pure functions off the event loop, writes the valid rows
and returns the same file with a result column. Nothing here touches the database or network.

The template carries a hidden marker sheet with its version, so an older template or any other
workbook is recognised and refused with a clear message. Values are read, never formulas
(openpyxl `data_only`): a formula cell without a saved value is reported on its row.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.patterns import linear
from bot.registration import (
    HEIR_LABELS,
    HEIR_RELATIONS,
    OCCUPATION_CODES,
    OCCUPATION_LABELS,
    PERIODS,
    PROGRAM_LABELS,
    SYNONYMS,
    Choice,
    NikCheck,
    Step,
    age_on,
    check_free_text,
    check_income,
    check_name,
    check_nik,
    check_phone,
    children,
    match_choice,
    normalise,
    region_name,
)

# Bump when the columns change: a file of another version is refused (its columns differ).
TEMPLATE_VERSION = "2026-11-24.1"
MARKER = "jaga-pekerja-formulir-kader"
MARKER_SHEET = "jaga"
LISTS_SHEET = "pilihan"
# Rows a file may hold: a desa's worth of workers, checked and answered within seconds.
MAX_ROWS = 1000
# A filled template of MAX_ROWS rows is about 100 kB; anything far bigger is not one.
MAX_FILE_BYTES = 5 * 1024 * 1024
# XLSX is a zip: its unpacked size is bounded too (a small file can unpack to gigabytes).
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# Cells under merged ranges, summed over the sheets: a filled template has a handful.
MAX_MERGED_CELLS = 100_000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_ROW = 2  # row 1 holds the headers


@dataclass(frozen=True)
class Column:
    """One column of the template: its key, its header and its width."""

    key: str
    header: str  # marked with N_, translated into the cadre's language
    width: int


COLUMNS: tuple[Column, ...] = (
    Column("nik", N_("NIK (16 angka)"), 20),
    Column("name", N_("Nama lengkap sesuai KTP"), 26),
    Column("birth_date", N_("Tanggal lahir (boleh kosong)"), 16),
    Column("sex", N_("Jenis kelamin (boleh kosong)"), 14),
    Column("mother_name", N_("Nama ibu kandung"), 24),
    Column("phone", N_("No. HP (boleh kosong)"), 16),
    Column("desa", N_("Desa/kelurahan"), 22),
    Column("occupation", N_("Pekerjaan"), 20),
    Column("income", N_("Penghasilan per bulan"), 16),
    Column("programs", N_("Program"), 18),
    Column("payer", N_("Pembayar iuran"), 22),
    Column("period", N_("Masa bayar (bulan)"), 12),
    Column("heir_name", N_("Nama ahli waris (boleh kosong)"), 24),
    Column("heir_relation", N_("Hubungan ahli waris"), 18),
    Column("consent", N_("Sudah setuju (ya/tidak)"), 14),
    Column("result", N_("Hasil (diisi bot)"), 48),
)
INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
RESULT_COLUMN = INDEX["result"] + 1  # 1-based, as openpyxl counts

PAYER_LABELS = {"sendiri": N_("Sendiri"), "program": N_("Program desa / kabupaten")}
SEX_LABELS = {"L": N_("Laki-laki"), "P": N_("Perempuan")}
CONSENT_LABELS = {"yes": N_("ya"), "no": N_("tidak")}

_INSTRUCTIONS = (
    N_("Cara mengisi formulir pendaftaran BPJS Ketenagakerjaan"),
    "",
    N_("1. Satu baris untuk satu pekerja, mulai dari baris 2 lembar {sheet}."),
    N_("2. NIK: 16 angka seperti di KTP. Kolom NIK sudah berformat teks; jangan diubah."),
    N_("3. Tanggal lahir dan jenis kelamin boleh kosong: diambil dari NIK. Isi hanya jika NIK "
       "mencatatnya salah. Tulis tanggal seperti 17-08-1990."),
    N_("4. No. HP boleh kosong jika pekerja tidak punya HP."),
    N_("5. Desa/kelurahan kosong berarti Desa {desa}."),
    N_("6. Pekerjaan, program, pembayar iuran, dan hubungan ahli waris: pilih dari daftar."),
    N_("7. Penghasilan per bulan ditulis dalam rupiah, misalnya 1500000 atau 1,5 juta."),
    N_("8. Masa bayar diisi jika pekerja membayar sendiri: 1, 3, 6, atau 12 bulan."),
    N_("9. Ahli waris boleh kosong. Jika diisi, pilih juga hubungannya."),
    N_("10. Sudah setuju: tulis ya hanya jika orang itu sudah setuju datanya dipakai untuk "
       "pendaftaran BPJS Ketenagakerjaan. Baris tanpa ya tidak dikirim."),
    N_("11. Paling banyak {max} baris. Kirim file ini kembali ke bot sebagai dokumen."),
    N_("12. Bot mengisi kolom Hasil. Perbaiki baris yang perlu diperbaiki, lalu kirim file yang "
       "sama lagi. Baris yang sudah terkirim tidak dikirim dua kali."),
    "",
    N_("Data ini hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan. Yang bisa melihatnya: "
       "petugas dinas tenaga kerja kabupaten dan BPJS Ketenagakerjaan. Simpan file ini dengan "
       "aman dan hapus setelah semua baris terkirim."),
)  # fmt: skip


# --- the desa a cadre may fill in -------------------------------------------------------------


def desa_options(cadre_regions: Sequence[str]) -> list[tuple[str, str]]:
    """(label, code) of every desa in the kecamatan of the cadre's desa, their own first.

    With several kecamatan, or two desa of one name, the label names the kecamatan too.
    """
    kecamatans = list(dict.fromkeys(code[:8] for code in cadre_regions if code.count(".") >= 2))
    own = [code for code in cadre_regions if code.count(".") == 3]
    found: list[tuple[str, str]] = []
    for kecamatan in kecamatans:
        found += [(w.name, w.code) for w in children(kecamatan)]
    found.sort(key=lambda item: (item[1] not in own, own.index(item[1]) if item[1] in own else 0))
    names = [name for name, _code in found]
    labelled = []
    for name, code in found:
        if len(kecamatans) > 1 or names.count(name) > 1:
            name = f"{name} (Kec. {region_name(code[:8])})"
        labelled.append((name, code))
    return labelled


# --- the template -----------------------------------------------------------------------------


def build_template(tr: Translator, options: Sequence[tuple[str, str]], default_desa: str) -> bytes:
    """The XLSX template: the workers' sheet with dropdowns, instructions, hidden lists, marker."""
    _ = tr.gettext
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Pekerja")
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for number, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=number, value=_(column.header))
        cell.font = bold
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    sheet.freeze_panes = "A2"
    last = FIRST_ROW + MAX_ROWS - 1
    # NIK and phone numbers are text: as numbers, a spreadsheet drops digits and leading zeros.
    for key in ("nik", "phone"):
        letter = get_column_letter(INDEX[key] + 1)
        for row in range(FIRST_ROW, last + 1):
            sheet[f"{letter}{row}"].number_format = "@"
    sheet.cell(row=1, column=INDEX["desa"] + 1).comment = Comment(
        _("Kosong berarti Desa {desa}.").format(desa=region_name(default_desa)), "Jaga Pekerja"
    )

    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    columns = {
        "desa": [label for label, _code in options],
        "occupation": [_(OCCUPATION_LABELS[c]) for c in OCCUPATION_CODES],
        "programs": list(PROGRAM_LABELS.values()),
        "payer": [_(label) for label in PAYER_LABELS.values()],
        "period": [str(p) for p in PERIODS],
        "heir_relation": [_(HEIR_LABELS[c]) for c in HEIR_RELATIONS],
        "sex": [_(label) for label in SEX_LABELS.values()],
        "consent": [_(label) for label in CONSENT_LABELS.values()],
    }
    for number, (key, values) in enumerate(columns.items(), start=1):
        letter = get_column_letter(number)
        for row, value in enumerate(values, start=1):
            lists.cell(row=row, column=number, value=value)
        target = get_column_letter(INDEX[key] + 1)
        validation = DataValidation(
            type="list",
            formula1=f"{LISTS_SHEET}!${letter}$1:${letter}${max(len(values), 1)}",
            allow_blank=True,
            # An occupation not in the list is typed as it is ("Lainnya" in the chat).
            showErrorMessage=key != "occupation",
            errorTitle=_("Pilih dari daftar"),
            error=_("Pilih salah satu isi daftar."),
        )
        validation.add(f"{target}{FIRST_ROW}:{target}{last}")
        sheet.add_data_validation(validation)

    help_sheet = workbook.create_sheet(_("Petunjuk"))
    help_sheet.column_dimensions["A"].width = 110
    for row, line in enumerate(_INSTRUCTIONS, start=1):
        text = _(line).format(sheet=sheet.title, desa=region_name(default_desa), max=MAX_ROWS)
        cell = help_sheet.cell(row=row, column=1, value=text if line else None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if row == 1:
            cell.font = bold

    marker = workbook.create_sheet(MARKER_SHEET)
    marker.sheet_state = "veryHidden"
    marker["A1"], marker["B1"] = MARKER, TEMPLATE_VERSION
    marker["A2"], marker["B2"] = "desa", default_desa
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- reading a filled file --------------------------------------------------------------------


@dataclass(frozen=True)
class FileProblem:
    """Why a whole file cannot be read: `kind` names it, `rows` for too many rows."""

    # csv, save_as_xlsx, not_xlsx, too_big, not_template, old_version, other_desa, columns,
    # empty, too_many
    kind: str
    rows: int = 0


@dataclass(frozen=True)
class Worker:
    """A row that passed every check: what the chat would have stored after its questions."""

    nik: str
    name: str
    birth_date: dt.date
    sex: str
    mother_name: str
    phone: str | None
    desa_code: str
    occupation: str
    occupation_other: str | None
    income: int
    programs: str
    payer: str
    period: int | None
    heir_name: str | None
    heir_relation: str | None
    flags: tuple[str, ...]  # birth_corrected, nik_district_unknown


@dataclass
class Row:
    """One filled row: the worker if every check passed, else the problems; or no consent."""

    number: int
    worker: Worker | None = None
    problems: list[str] = field(default_factory=list)
    consent: bool = False


@dataclass
class Sheet:
    """A template file read: its rows (empty ones skipped) and the workbook to write results in."""

    workbook: Any
    rows: list[Row]
    default_desa: str


# Spreadsheets of other formats (Excel 97-2003, LibreOffice/OpenDocument, Numbers): the data is
# there, so the cadre is asked to save it as .xlsx, not to fill a new form.
_OTHER_SHEET_SUFFIXES = (".xls", ".ods", ".fods", ".numbers", ".et", ".xlsm", ".xlsb")
_OTHER_SHEET_MIMES = (
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.ms-excel.sheet.macroenabled.12",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12",
)


def file_problem(filename: str | None, mime: str | None, size: int | None) -> FileProblem | None:
    """What is wrong with a document before it is downloaded, from its name, type and size."""
    name = (filename or "").lower()
    if name.endswith(".csv") or (mime or "").startswith("text/"):
        return FileProblem("csv")
    if name.endswith(_OTHER_SHEET_SUFFIXES) or (mime or "").lower() in _OTHER_SHEET_MIMES:
        return FileProblem("save_as_xlsx")
    if not name.endswith(".xlsx") and mime != XLSX_MIME:
        return FileProblem("not_xlsx")
    if size is not None and size > MAX_FILE_BYTES:
        return FileProblem("too_big")
    return None


def read_sheet(
    data: bytes,
    tr: Translator,
    *,
    today: dt.date,
    min_age: int,
    max_age: int,
    options: Sequence[tuple[str, str]],
) -> Sheet | FileProblem:
    """Read and check a filled template; every problem is said in `tr`'s language."""
    if len(data) > MAX_FILE_BYTES:
        return FileProblem("too_big")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                return FileProblem("too_big")
            sheets = [
                archive.read(i)
                for i in infos
                if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
            ]
            has_formulas = any(_has_formulas(xml) for xml in sheets)
            # openpyxl makes an object for every cell of a merged range while loading: a range
            # over a million rows takes gigabytes, whatever the file's size.
            if sum(_merged_cells(xml) for xml in sheets) > MAX_MERGED_CELLS:
                return FileProblem("too_big")
    except (zipfile.BadZipFile, OSError):
        return FileProblem("not_xlsx")
    try:
        with warnings.catch_warnings():  # openpyxl warns about features it drops; values stay
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), data_only=True)
            formulas = load_workbook(io.BytesIO(data), data_only=False) if has_formulas else None
    except Exception:  # openpyxl raises many kinds for a broken or foreign file
        return FileProblem("not_xlsx")
    if MARKER_SHEET not in workbook.sheetnames or workbook[MARKER_SHEET]["A1"].value != MARKER:
        return FileProblem("not_template")
    marker = workbook[MARKER_SHEET]
    if marker["B1"].value != TEMPLATE_VERSION:
        return FileProblem("old_version")
    default_desa = str(marker["B2"].value or "")
    codes = [code for _label, code in options]
    if default_desa not in codes:
        # Another desa's form (shared by a colleague): an empty desa cell means that desa,
        # which this cadre does not serve. Never moved silently to the cadre's own desa.
        return FileProblem("other_desa")
    located = locate(workbook)
    if located is None:
        return FileProblem("columns")
    sheet, places = located

    width = len(COLUMNS) - 1  # the result column is ours
    data_columns = [places[c.key] for c in COLUMNS[:width]]
    merged: set[int] = set()
    for span in sheet.merged_cells.ranges:
        if not any(span.min_col <= column <= span.max_col for column in data_columns):
            continue  # a title or note the cadre merged in a column of their own
        merged.update(range(max(span.min_row, FIRST_ROW), span.max_row + 1))
        if len(merged) > MAX_ROWS:
            return FileProblem("too_many", len(merged))
    # A row is a worker only with a NIK or a name: a row with just a dropdown value copied down
    # (consent "ya" dragged to row 500) or a number in a column the cadre added is not one.
    who = {places[key] for key in _WHO}
    # Only the cells stored in the file are visited: iterating up to max_row would create every
    # empty cell in between, and one value in row 1,048,576 of a 20 kB file would take minutes
    # and gigabytes.
    stored: dict[tuple[int, int], Any] = sheet._cells
    filled = {
        number
        for (number, column), cell in stored.items()
        if number >= FIRST_ROW and column in who and _blank_to_none(cell.value) is not None
    }
    if formulas is not None:  # a formula with no saved value is reported on its row
        filled |= {
            number
            for (number, column), cell in formulas[sheet.title]._cells.items()
            if number >= FIRST_ROW and column in who and cell.data_type == "f"
        }
    if len(filled | merged) > MAX_ROWS:
        return FileProblem("too_many", len(filled | merged))
    raw: list[tuple[int, list[Any]]] = []
    for number in sorted(filled | merged):
        values = [
            _blank_to_none(cell.value) if (cell := stored.get((number, column))) else None
            for column in data_columns
        ]
        raw.append((number, values))
    if len(raw) > MAX_ROWS:
        return FileProblem("too_many", len(raw))
    if not raw:
        return FileProblem("empty")
    formula_cells: set[tuple[int, int]] = set()
    if formulas is not None:
        formula_sheet = formulas[sheet.title]
        for number, values in raw:
            for index, value in enumerate(values):
                cell = formula_sheet.cell(row=number, column=data_columns[index])
                if value is None and cell.data_type == "f":
                    formula_cells.add((number, index))

    checker = _Checker(tr, today, min_age, max_age, options, default_desa)
    rows: list[Row] = []
    first_of_nik: dict[str, int] = {}
    for number, values in raw:
        row = Row(number)
        rows.append(row)
        if number in merged:
            row.problems.append(
                tr.gettext(
                    "Baris ini memakai sel gabungan (merge). Pisahkan selnya, isi setiap sel, "
                    "lalu kirim lagi."
                )
            )
            continue
        without_value = [i for i in range(width) if (number, i) in formula_cells]
        if without_value:
            names = ", ".join(tr.gettext(COLUMNS[i].header) for i in without_value)
            row.problems.append(
                tr.gettext(
                    "Kolom {columns} berisi rumus tanpa nilai. Ketik nilainya langsung."
                ).format(columns=names)
            )
            continue
        row.consent = checker.consent(values[INDEX["consent"]])
        if not row.consent:
            continue  # nothing of a person who has not agreed is checked or kept
        worker, problems = checker.check(values)
        if worker is not None and worker.nik in first_of_nik:
            problems.append(
                tr.gettext("NIK ini sama dengan baris {row}.").format(row=first_of_nik[worker.nik])
            )
            worker = None
        if worker is not None:
            first_of_nik[worker.nik] = number
        row.worker, row.problems = worker, problems
    return Sheet(workbook, rows, default_desa)


# Columns of which one must be filled for a row to be read as a worker.
_WHO = ("nik", "name", "mother_name")
# Marks typed before a number to keep it text ('3201…); in a cell already formatted as text,
# Excel and LibreOffice keep the mark as part of the value.
_TEXT_MARKS = "'\u2018\u2019`"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().lstrip(_TEXT_MARKS).strip()
        return value or None
    return value


def locate(workbook: Any) -> tuple[Any, dict[str, int]] | None:
    """The workers' sheet and the column number of each field, found by their headers.

    The sheet may be renamed or moved and the columns reordered, and the cadre may add columns
    of their own (ignored): each of our headers must be there once, in any language (the file
    may have been downloaded by a cadre reading another). Without a result column one is added
    after the last header.
    """
    known = {
        normalise(translator(lang).gettext(column.header)): column.key
        for column in COLUMNS
        for lang in LANGUAGES
    }
    for sheet in workbook.worksheets:
        if sheet.title in (MARKER_SHEET, LISTS_SHEET):
            continue
        places: dict[str, int] = {}
        last = 0
        for (row, column), cell in sorted(sheet._cells.items()):
            if row != 1 or cell.value is None:
                continue
            last = max(last, column)
            key = known.get(normalise(str(cell.value)))
            if key is not None:
                places.setdefault(key, column)
        if all(column.key in places for column in COLUMNS[:-1]):
            places.setdefault("result", last + 1)
            return sheet, places
    return None


# Cell text is typed by people: patterns run in linear time (RE2, bot/patterns.py).
_SCIENTIFIC = linear(r"\d+(?:[.,]\d+)?[eE]\+?\d+")
_DMY = linear(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4}|\d{2})")
_YMD = linear(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


_MERGE_REF = linear(r'<mergeCell ref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def _merged_cells(xml: bytes) -> int:
    """How many cells the merged ranges of a sheet's XML cover."""
    total = 0
    for m in _MERGE_REF.finditer(xml.decode("utf-8", "replace")):
        columns = column_index_from_string(m.group(3)) - column_index_from_string(m.group(1))
        total += (abs(columns) + 1) * (abs(int(m.group(4)) - int(m.group(2))) + 1)
    return total


def _has_formulas(xml: bytes) -> bool:
    """Whether sheet XML holds a cell formula (`<f>`, `<f t="shared" …/>`; not `<formula1>`)."""
    return any(tag in xml for tag in (b"<f>", b"<f ", b"<f/>"))


def parse_date(value: Any, today: dt.date) -> dt.date | None:
    """A birth date from a cell: an Excel date, or text `17-08-1990`, `17/8/90`, `1990-08-17`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 100_000:  # a date whose cell lost its date format: Excel's day number
            converted = from_excel(value)
            return converted.date() if isinstance(converted, dt.datetime) else None
        return None
    text = str(value).strip()
    day = month = year = 0
    if m := _DMY.fullmatch(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        if len(m[3]) == 2:  # 90 is 1990, 05 is 2005: the century that puts it in the past
            year += 2000 if 2000 + year <= today.year else 1900
    elif m := _YMD.fullmatch(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


class _Checker:
    """Checks one row's values as the chat checks typed answers; problems in plain words."""

    def __init__(
        self,
        tr: Translator,
        today: dt.date,
        min_age: int,
        max_age: int,
        options: Sequence[tuple[str, str]],
        default_desa: str,
    ):
        _ = tr.gettext
        self.tr = tr
        self.today = today
        self.min_age = min_age
        self.max_age = max_age
        self.default_desa = default_desa
        # A file filled in one language may be sent back by a cadre reading another.
        languages = [translator(lang) for lang in LANGUAGES]

        def choices(
            labels: dict[str, str], step: Step | None, *, translate: bool = True
        ) -> list[Choice]:
            found = []
            for value, label in labels.items():
                shown = _(label) if translate else label
                words = (label, value, *(other.gettext(label) for other in languages))
                if step is not None:
                    words += SYNONYMS.get(step, {}).get(value, ())
                found.append(Choice(shown, value, words))
            return found

        self.sex = choices(SEX_LABELS, Step.SEX)
        self.occupation = choices(OCCUPATION_LABELS, Step.OCCUPATION)
        self.programs = choices(PROGRAM_LABELS, Step.PROGRAMS, translate=False)
        self.payer = choices(PAYER_LABELS, Step.PAYER)
        self.period = choices({str(p): str(p) for p in PERIODS}, Step.PERIOD, translate=False)
        self.heir = choices(HEIR_LABELS, Step.HEIR_RELATION)
        consent_words = (
            *SYNONYMS[Step.CONSENT_OTHER]["yes"],
            *(t.gettext("ya") for t in languages),
        )
        self.consent_choices = [Choice(_("ya"), "yes", consent_words)]
        self.desa = [Choice(label, code, (code,)) for label, code in options]
        # Dropdown values repeat on every row: each typed value is matched once per column.
        self._matched: dict[tuple[int, str], Choice | None] = {}

    def _match(self, value: str, choices: list[Choice], *, fuzzy: bool = True) -> Choice | None:
        key = (id(choices), value)
        if key not in self._matched:
            self._matched[key] = match_choice(value, choices, fuzzy=fuzzy)
        return self._matched[key]

    def consent(self, value: Any) -> bool:
        """Whether the consent cell says yes."""
        if value is None:
            return False
        return self._match(str(value), self.consent_choices, fuzzy=False) is not None

    def check(self, values: list[Any]) -> tuple[Worker | None, list[str]]:
        """The worker of a row, or the problems found (each in plain words)."""
        _ = self.tr.gettext
        problems: list[str] = []

        def cell(key: str) -> Any:
            return values[INDEX[key]]

        def text(key: str) -> str | None:
            value = cell(key)
            if value is None:
                return None
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return str(value)

        check = self._nik(cell("nik"), problems)
        name = self._name(text("name"), _("Nama"), problems)
        mother = self._name(text("mother_name"), _("Nama ibu kandung"), problems)
        birth, sex, corrected = self._birth(check, cell("birth_date"), text("sex"), problems)

        phone: str | None = None
        if (typed_phone := text("phone")) is not None:
            phone = check_phone(typed_phone)
            if phone is None:
                problems.append(
                    _("No. HP tidak bisa dibaca. Tulis misalnya 0812 3456 7890, atau kosongkan.")
                )

        desa = self.default_desa
        if (typed_desa := text("desa")) is not None:
            found = self._match(typed_desa, self.desa)
            if found is None:
                problems.append(_("Desa/kelurahan tidak ada di daftar. Pilih dari daftar."))
            else:
                desa = found.value

        occupation, other = "", None
        typed_job = text("occupation")
        if typed_job is None:
            problems.append(_("Pekerjaan belum diisi."))
        elif (job := self._match(typed_job, self.occupation)) is not None:
            occupation = job.value
        elif (other := check_free_text(typed_job)) is not None:
            occupation = "lainnya"
        else:
            problems.append(_("Pekerjaan tidak bisa dibaca. Pilih dari daftar."))

        income = self._income(cell("income"), problems)
        programs = self._pick(text("programs"), self.programs, _("Program"), problems)
        payer = self._pick(text("payer"), self.payer, _("Pembayar iuran"), problems)
        period: int | None = None
        if payer == "sendiri":
            picked = self._pick(text("period"), self.period, _("Masa bayar"), problems)
            period = int(picked) if picked else None

        heir_name: str | None = None
        heir_relation: str | None = None
        if (typed_heir := text("heir_name")) is not None:
            heir_name = check_name(typed_heir)
            if heir_name is None:
                problems.append(_("Nama ahli waris hanya boleh berisi huruf."))
            heir_relation = self._pick(
                text("heir_relation"), self.heir, _("Hubungan ahli waris"), problems
            )
        elif text("heir_relation") is not None:
            # A relation names someone: without the name the heir would be lost unseen.
            problems.append(
                _(
                    "Hubungan ahli waris diisi, tetapi nama ahli waris kosong. Isi nama ahli "
                    "waris, atau kosongkan hubungannya."
                )
            )

        if problems or check is None or check.nik is None:
            return None, problems
        assert name and mother and birth and sex and programs and payer and income
        flags = {"birth_corrected"} if corrected else set()
        if not check.district_known:
            flags.add("nik_district_unknown")
        worker = Worker(
            nik=check.nik,
            name=name,
            birth_date=birth,
            sex=sex,
            mother_name=mother,
            phone=phone,
            desa_code=desa,
            occupation=occupation,
            occupation_other=other if occupation == "lainnya" else None,
            income=income,
            programs=programs,
            payer=payer,
            period=period,
            heir_name=heir_name,
            heir_relation=heir_relation,
            flags=tuple(sorted(flags)),
        )
        return worker, []

    def _nik(self, value: Any, problems: list[str]) -> NikCheck | None:
        _ = self.tr.gettext
        if value is None:
            problems.append(_("NIK belum diisi."))
            return None
        if isinstance(value, int | float) or _SCIENTIFIC.fullmatch(str(value).strip()):
            problems.append(
                _(
                    "NIK tersimpan sebagai angka, sehingga angka terakhirnya hilang. Ubah format "
                    "kolom NIK menjadi Teks, lalu ketik ulang NIK dari KTP."
                )
            )
            return None
        check = check_nik(str(value), self.today)
        messages = {
            "digits": _("NIK hanya boleh berisi angka."),
            "length": _("NIK harus 16 angka; yang tertulis {count} angka.").format(
                count=check.length
            ),
            "example": _("Itu NIK contoh. Tulis NIK dari KTP."),
            "province": _("Dua angka pertama NIK bukan kode provinsi."),
            "regency": _("Angka ke-3 dan ke-4 NIK bukan kode kabupaten/kota yang ada."),
            "region": _("Kode wilayah di awal NIK tidak lengkap."),
            "birth": _("Tanggal lahir di dalam NIK tidak mungkin."),
            "serial": _("Empat angka terakhir NIK tidak boleh 0000."),
        }
        if check.error is not None:
            problems.append(messages.get(check.error, messages["digits"]))
            return None
        return check

    def _name(self, value: str | None, label: str, problems: list[str]) -> str | None:
        _ = self.tr.gettext
        if value is None:
            problems.append(_("{column} belum diisi.").format(column=label))
            return None
        name = check_name(value)
        if name is None:
            problems.append(
                _("{column} tidak bisa dibaca. Tulis dengan huruf, sesuai KTP.").format(
                    column=label
                )
            )
        return name

    def _birth(
        self, check: NikCheck | None, typed_date: Any, typed_sex: str | None, problems: list[str]
    ) -> tuple[dt.date | None, str | None, bool]:
        """The birth date and sex (from the NIK unless typed), and whether they were corrected."""
        _ = self.tr.gettext
        birth = check.birth_date if check is not None else None
        sex = check.sex if check is not None else None
        corrected = False
        if typed_date is not None:
            day = parse_date(typed_date, self.today)
            if day is None:
                problems.append(
                    _("Tanggal lahir tidak bisa dibaca. Tulis seperti 17-08-1990, atau kosongkan.")
                )
            elif day != birth:
                birth, corrected = day, birth is not None
        if typed_sex is not None:
            found = self._match(typed_sex, self.sex)
            if found is None:
                problems.append(_("Jenis kelamin: pilih Laki-laki atau Perempuan."))
            elif found.value != sex:
                sex, corrected = found.value, corrected or sex is not None
        if birth is not None and birth > self.today:
            # A date not yet reached is a typing mistake (the chat offers no later year).
            problems.append(
                _(
                    "Tanggal lahir ini ada di masa depan. Periksa tahunnya, "
                    "atau kosongkan kolom itu."
                )
            )
        elif birth is not None and check is not None:
            age = age_on(birth, self.today)
            if not self.min_age <= age <= self.max_age:
                problems.append(
                    _(
                        "Umurnya {age} tahun; pendaftaran ini untuk umur {low} sampai {high}."
                    ).format(age=age, low=self.min_age, high=self.max_age)
                )
        return birth, sex, corrected

    def _income(self, value: Any, problems: list[str]) -> int:
        _ = self.tr.gettext
        if value is None:
            problems.append(_("Penghasilan per bulan belum diisi."))
            return 0
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(round(value))
        income = check_income(str(value))
        if income is None:
            problems.append(
                _("Penghasilan tidak bisa dibaca. Tulis misalnya 1500000 atau 1,5 juta.")
            )
            return 0
        return income

    def _pick(
        self, value: str | None, choices: list[Choice], label: str, problems: list[str]
    ) -> str | None:
        _ = self.tr.gettext
        if value is None:
            problems.append(_("{column} belum diisi.").format(column=label))
            return None
        found = self._match(value, choices)
        if found is None:
            problems.append(_("{column}: pilih dari daftar.").format(column=label))
            return None
        return found.value


# --- the result file --------------------------------------------------------------------------

_GREEN = PatternFill("solid", fgColor="E2EFDA")
_RED = PatternFill("solid", fgColor="FCE4D6")


# --- entry points for a worker process (arguments and results cross as pickles) ---------------


def template_file(language: str, options: Sequence[tuple[str, str]], default_desa: str) -> bytes:
    """build_template in a language given by its code."""
    return build_template(translator(language), options, default_desa)


def check_file(
    data: bytes,
    language: str,
    today: dt.date,
    min_age: int,
    max_age: int,
    options: Sequence[tuple[str, str]],
) -> list[Row] | FileProblem:
    """read_sheet's rows (the workbook stays behind), problems in the language given."""
    sheet = read_sheet(
        data, translator(language), today=today, min_age=min_age, max_age=max_age, options=options
    )
    return sheet if isinstance(sheet, FileProblem) else sheet.rows


def result_file(data: bytes, results: dict[int, tuple[bool, str]]) -> bytes:
    """The file as sent (values, not formulas) with each row's result written in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook = load_workbook(io.BytesIO(data), data_only=True)
    return write_results(Sheet(workbook, [], ""), results)


def write_results(sheet: Sheet, results: dict[int, tuple[bool, str]]) -> bytes:
    """The same file with the result of each row in the result column (green: sent)."""
    located = locate(sheet.workbook)
    worksheet, column = (
        (located[0], located[1]["result"])
        if located is not None
        else (sheet.workbook.worksheets[0], RESULT_COLUMN)
    )
    for number, (sent, text) in results.items():
        cell = worksheet.cell(row=number, column=column, value=text)
        cell.fill = _GREEN if sent else _RED
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    sheet.workbook.save(out)
    return out.getvalue()


def problem_text(
    problem: FileProblem, gettext: Callable[[str], str], number: Callable[[int], str]
) -> str:
    """What to tell a cadre about a file that cannot be read, and what to do."""
    _ = gettext
    texts = {
        "csv": _(
            "File CSV tidak bisa saya baca. Pakai formulir Excel (.xlsx): ketik /kader lalu "
            "tekan Unduh formulir."
        ),
        "not_xlsx": _(
            "File ini bukan formulir Excel (.xlsx) yang bisa saya baca. Ketik /kader lalu tekan "
            "Unduh formulir."
        ),
        "too_big": _(
            "File ini terlalu besar untuk formulir. Kirim formulir dari /kader saja, paling "
            "banyak {max} baris."
        ),
        "not_template": _(
            "File ini bukan formulir Jaga Pekerja. Ketik /kader, tekan Unduh formulir, isi "
            "formulir itu, lalu kirim ke sini."
        ),
        "old_version": _(
            "Formulir ini versi lama. Ketik /kader, tekan Unduh formulir, salin datanya ke "
            "formulir baru, lalu kirim lagi."
        ),
        "columns": _(
            "Nama kolom di formulir ini diubah atau ada yang dihapus. Salin data ke formulir "
            "baru dari /kader tanpa mengubah nama kolomnya, lalu kirim lagi."
        ),
        "save_as_xlsx": _(
            "File ini tersimpan dalam format lain. Buka file itu, pilih Simpan Sebagai, pilih "
            "jenis Excel (.xlsx), lalu kirim file itu ke sini. Data Anda tidak perlu diketik "
            "ulang."
        ),
        "other_desa": _(
            "Formulir ini untuk desa lain, bukan desa Anda. Ketik /kader, tekan Unduh formulir, "
            "salin datanya ke formulir itu, lalu kirim lagi."
        ),
        "empty": _("Formulir ini belum berisi data pekerja. Isi mulai baris 2, lalu kirim lagi."),
        "too_many": _(
            "Formulir ini berisi {rows} baris. Paling banyak {max} baris sekali kirim. Bagi "
            "menjadi beberapa file, lalu kirim satu per satu."
        ),
    }
    return texts[problem.kind].format(rows=number(problem.rows), max=number(MAX_ROWS))
