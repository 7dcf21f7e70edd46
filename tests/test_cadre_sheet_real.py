"""A cadre's spreadsheet as real cadres send it back: filled in LibreOffice or another program,
columns and sheets moved, marks typed before numbers, other formats, another desa's form."""

from __future__ import annotations

import asyncio
import io
import json

from openpyxl import load_workbook

from bot.cadre_sheet import INDEX
from storage import roles
from tests.conftest import Harness
from tests.factories import nik_for
from tests.test_cadre_sheet import (
    CADRE,
    answer,
    download_template,
    fill,
    make_cadre,
    results,
    submitted,
    upload,
    worker,
)

OTHER_CADRE = 8902
OTHER_KECAMATAN_DESA = "12.10.18.1001"  # Labuhan Bilik, Panai Tengah


def saved(workbook: object) -> bytes:
    out = io.BytesIO()
    workbook.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


async def test_marks_typed_to_keep_numbers_as_text_and_phones_in_any_form_are_read(
    harness: Harness,
) -> None:
    # In a cell already formatted as text, the ' typed before a NIK stays part of the value.
    await make_cadre(harness)
    niks = [nik_for("12.10.19") for _ in range(4)]
    rows = [
        worker("'" + niks[0], phone="'0812 3456 7890"),
        worker("\u2019" + niks[1], phone="+62 812-3456-7891"),
        worker(niks[2], phone=6281234567892),  # a number: no leading zero to lose
        worker(niks[3], phone="  0812 3456 7893  "),
    ]
    reply = answer(await upload(harness, fill(await download_template(harness), rows)))
    assert "4 terkirim, 0 perlu diperbaiki" in reply.text, results(reply)
    done = await submitted(harness)
    assert [(r.nik_masked or "")[-4:] for r in done] == [nik[-4:] for nik in niks]


async def test_columns_reordered_or_added_and_sheets_renamed_moved_or_hidden_are_read(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    template = fill(await download_template(harness), [worker(), worker()])
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook.worksheets[0]
    # The cadre's own numbering column in front, the names swapped, the sheet renamed and
    # moved behind the instructions, and a hidden sheet of their own in front of all.
    sheet.insert_cols(1)
    sheet["A1"] = "No."
    for number in range(2, 60):
        sheet.cell(row=number, column=1, value=number - 1)
    name_column, mother_column = INDEX["name"] + 2, INDEX["mother_name"] + 2
    for number in (1, 2, 3):
        name = sheet.cell(row=number, column=name_column).value
        mother = sheet.cell(row=number, column=mother_column).value
        sheet.cell(row=number, column=name_column, value=mother)
        sheet.cell(row=number, column=mother_column, value=name)
    sheet.title = "Data pekerja desa"
    workbook.move_sheet(sheet, offset=2)
    notes = workbook.create_sheet("catatan saya", 0)
    notes.sheet_state = "hidden"
    notes["A1"] = "belum diisi"
    reply = answer(await upload(harness, saved(workbook)))
    assert "2 terkirim, 0 perlu diperbaiki" in reply.text
    done = await submitted(harness)
    assert [(r.name, r.mother_name) for r in done] == [("Budi Santoso", "Siti Aminah")] * 2
    # The results are in the file's own Hasil column, not over the cadre's data.
    returned = load_workbook(io.BytesIO(reply.files["document"]))["Data pekerja desa"]
    assert returned.cell(row=2, column=INDEX["result"] + 2).value.startswith("Terkirim: JP-")
    assert returned.cell(row=2, column=INDEX["consent"] + 2).value == "ya"
    assert returned.cell(row=59, column=1).value == 58


async def test_a_dropdown_value_copied_down_empty_rows_is_not_a_worker(harness: Harness) -> None:
    # "ya" dragged down to row 300 in LibreOffice, and a desa picked ahead in a few rows.
    await make_cadre(harness)
    rows = [worker()] + [{"consent": "ya"}] * 298 + [{"desa": "Sei Berombang"}] * 5
    reply = answer(await upload(harness, fill(await download_template(harness), rows)))
    assert reply.text.startswith("Hasil formulir: 1 terkirim, 0 perlu diperbaiki, 0 belum")
    assert list(results(reply)) == [2]


async def test_a_row_with_a_name_but_no_nik_is_still_reported(harness: Harness) -> None:
    await make_cadre(harness)
    rows = [worker(), {"name": "Ani", "consent": "ya"}]
    reply = answer(await upload(harness, fill(await download_template(harness), rows)))
    assert "1 terkirim, 1 perlu diperbaiki" in reply.text
    assert "NIK belum diisi" in results(reply)[3]


async def test_another_desas_form_is_refused_not_moved_to_this_cadres_desa(
    harness: Harness,
) -> None:
    # A colleague's form: its empty desa cells mean the colleague's desa.
    await make_cadre(harness)
    await roles.grant(harness.db, OTHER_CADRE, "cadre", OTHER_KECAMATAN_DESA, "test")
    content = fill(await download_template(harness), [worker()])
    reply = answer(await upload(harness, content, user=OTHER_CADRE))
    assert reply.method == "sendMessage"
    assert reply.text.startswith("Formulir ini untuk desa lain, bukan desa Anda.")
    rows = await harness.db.fetchall("SELECT id FROM registrations WHERE status = 'diajukan'")
    assert rows == []


async def test_xls_and_ods_files_are_asked_to_be_saved_as_xlsx(harness: Harness) -> None:
    await make_cadre(harness)
    for name, mime in (
        ("formulir.xls", "application/vnd.ms-excel"),
        ("formulir.ods", "application/vnd.oasis.opendocument.spreadsheet"),
        ("formulir", "application/vnd.oasis.opendocument.spreadsheet"),
    ):
        calls = await upload(harness, b"\xd0\xcf\x11\xe0 not read", name=name, mime=mime)
        text = answer(calls).text
        assert text.startswith("File ini tersimpan dalam format lain."), text
        assert "tidak perlu diketik ulang" in text
        assert not any(c.method == "getFile" for c in calls)


async def test_the_same_file_sent_by_two_cadres_at_once_is_submitted_once(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    await make_cadre(harness, OTHER_CADRE)
    content = fill(await download_template(harness), [worker(), worker(), worker()])
    await asyncio.gather(upload(harness, content), upload(harness, content, user=OTHER_CADRE))
    texts = [harness.text(CADRE), harness.text(OTHER_CADRE)]
    assert any(text.startswith("Hasil formulir: 3 terkirim") for text in texts), texts
    assert any(text.startswith("Hasil formulir: 0 terkirim, 3 perlu") for text in texts), texts
    rows = await harness.db.fetchall(
        "SELECT nik_hash, flags FROM registrations WHERE status = 'diajukan'"
    )
    assert len(rows) == 3 and len({r["nik_hash"] for r in rows}) == 3
    assert all(isinstance(json.loads(r["flags"]), list) for r in rows)
