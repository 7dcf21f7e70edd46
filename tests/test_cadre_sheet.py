"""A cadre's spreadsheet: the template, a filled file sent back, results, re-sending, bad files."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from bot import clock
from bot.cadre_sheet import (
    COLUMNS,
    INDEX,
    MARKER,
    TEMPLATE_VERSION,
    XLSX_MIME,
    FileProblem,
    desa_options,
    read_sheet,
)
from bot.fakeapi import ApiCall
from bot.i18n import translator
from bot.membership import FileSource, import_members
from bot.registration import StoredRegistration
from handlers import cadres
from handlers.cadres import sheet_submit
from storage import audit, roles
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

CADRE = 8901
DESA = "12.10.19.1001"  # Sei Berombang, Panai Hilir, Labuhanbatu
_file_ids = itertools.count(1)


async def make_cadre(h: Harness, telegram_id: int = CADRE) -> None:
    """A cadre of Sei Berombang."""
    await roles.grant(h.db, telegram_id, "cadre", DESA, "test")


async def download_template(h: Harness) -> bytes:
    """The template the cadre gets from /kader → Unduh formulir."""
    await h.send(CADRE, "/kader")
    calls = await h.tap(CADRE, "Unduh formulir")
    documents = [c for c in calls if c.method == "sendDocument"]
    assert len(documents) == 1
    return documents[0].files["document"]


def worker(nik: Any = None, **values: Any) -> dict[str, Any]:
    """One filled row by column key: a valid worker with consent unless changed."""
    row: dict[str, Any] = {
        "nik": nik or nik_for("12.10.19"),
        "name": "budi santoso",
        "mother_name": "Siti Aminah",
        "phone": "0812 3456 7890",
        "occupation": "Nelayan",
        "income": "1,5 juta",
        "programs": "JKK + JKM",
        "payer": "Program desa / kabupaten",
        "heir_name": "Rina Wati",
        "heir_relation": "Suami / istri",
        "consent": "ya",
    }
    row.update(values)
    return row


def fill(template: bytes, rows: Sequence[dict[str, Any]], *, start: int = 2) -> bytes:
    """The template with these rows written from row `start`."""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook.worksheets[0]
    for number, row in enumerate(rows, start=start):
        for key, value in row.items():
            sheet.cell(row=number, column=INDEX[key] + 1, value=value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def upload(
    h: Harness,
    content: bytes,
    *,
    user: int = CADRE,
    name: str = "formulir.xlsx",
    mime: str = XLSX_MIME,
) -> list[ApiCall]:
    """The person sends `content` as a document; returns the calls it caused."""
    file_id = f"file{next(_file_ids)}"
    h.api.add_file(file_id, content)
    document = {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}",
        "file_name": name,
        "mime_type": mime,
        "file_size": len(content),
    }
    before = len(h.api.calls)
    await h.update(h.updates._update(message=h.updates._message(user, document=document)))
    await cadres.settled()  # the file is checked beside the update
    return h.api.calls[before:]


def answer(calls: list[ApiCall]) -> ApiCall:
    """The one message the upload was answered with."""
    sent = [c for c in calls if c.method in ("sendMessage", "sendDocument")]
    assert len(sent) == 1, [c.method for c in calls]
    return sent[0]


def results(call: ApiCall) -> dict[int, str]:
    """The result column of the returned file, by row number."""
    assert call.method == "sendDocument"
    sheet = load_workbook(io.BytesIO(call.files["document"])).worksheets[0]
    column = INDEX["result"] + 1
    return {
        row: str(sheet.cell(row=row, column=column).value)
        for row in range(2, sheet.max_row + 1)
        if sheet.cell(row=row, column=column).value is not None
    }


_SUBMITTED_QUERY = (
    "SELECT * FROM registrations WHERE operator_id = ? AND status = 'diajukan' ORDER BY id"
)


async def submitted(h: Harness) -> list[Registration]:
    return [Registration.from_row(r) for r in await h.db.fetchall(_SUBMITTED_QUERY, (CADRE,))]


# --- the template -----------------------------------------------------------------------------


async def test_template_has_dropdowns_desa_list_instructions_and_version(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    workbook = load_workbook(io.BytesIO(await download_template(harness)))
    assert workbook.sheetnames == ["Pekerja", "pilihan", "Petunjuk", "jaga"]
    assert workbook["pilihan"].sheet_state == "hidden"
    marker = workbook["jaga"]
    assert marker.sheet_state == "veryHidden"
    assert (marker["A1"].value, marker["B1"].value) == (MARKER, TEMPLATE_VERSION)
    sheet = workbook["Pekerja"]
    headers = [sheet.cell(row=1, column=i + 1).value for i in range(len(COLUMNS))]
    assert headers[0] == "NIK (16 angka)" and headers[-2] == "Sudah setuju (ya/tidak)"
    assert sheet.cell(row=2, column=INDEX["nik"] + 1).number_format == "@"  # NIK as text
    lists = workbook["pilihan"]
    by_column: dict[str, list[str]] = {}
    for validation in sheet.data_validations.dataValidation:
        column = str(validation.sqref).split(":")[0].rstrip("0123456789")
        letter = validation.formula1.split("!$")[1].split("$")[0]
        by_column[column] = [c.value for c in lists[letter] if c.value is not None]
    letter_of = {key: chr(ord("A") + i) for key, i in INDEX.items()}
    desa = by_column[letter_of["desa"]]
    assert desa[0] == "Sei Berombang" and "Sei Lumut" in desa and len(desa) == 8
    assert by_column[letter_of["occupation"]][:2] == ["Nelayan", "Petani"]
    assert by_column[letter_of["programs"]] == ["JKK + JKM", "JKK + JKM + JHT"]
    assert by_column[letter_of["payer"]] == ["Sendiri", "Program desa / kabupaten"]
    assert by_column[letter_of["period"]] == ["1", "3", "6", "12"]
    assert "Suami / istri" in by_column[letter_of["heir_relation"]]
    assert by_column[letter_of["consent"]] == ["ya", "tidak"]
    instructions = " ".join(str(c.value) for c in workbook["Petunjuk"]["A"] if c.value)
    assert "Sei Berombang" in instructions and "1000 baris" in instructions


async def test_help_tells_cadres_about_the_form(harness: Harness) -> None:
    await make_cadre(harness)
    await harness.send(CADRE, "/bantuan")
    assert "Unduh formulir" in harness.text(CADRE) and len(harness.text(CADRE)) <= 600
    await harness.send(7001, "/bantuan")
    assert "Unduh formulir" not in harness.text(7001)


async def test_a_non_cadre_sending_a_document_is_answered_politely(harness: Harness) -> None:
    calls = await upload(harness, b"anything", user=7001)
    assert "hanya membaca file formulir pendaftaran dari kader desa" in answer(calls).text
    assert not any(c.method == "getFile" for c in calls)


# --- a filled file ----------------------------------------------------------------------------


async def test_good_file_is_submitted_counted_and_returned_with_references(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    corrected = nik_for("12.10.19", birth="150580")
    rows = [
        worker(),
        worker(payer="Sendiri", period=3, occupation="tukang kayu", income=2_000_000),
        worker(
            corrected,
            birth_date="17-08-1981",
            sex="Perempuan",
            heir_name=None,
            heir_relation=None,
            phone=None,
            desa="Sei Lumut",
        ),
        worker(mother_name=None),  # to fix
        worker(consent="tidak"),  # not asked yet
    ]
    calls = await upload(harness, fill(template, rows))
    reply = answer(calls)
    assert "3 terkirim, 1 perlu diperbaiki, 1 belum setuju" in reply.text
    done = await submitted(harness)
    assert len(done) == 3
    first, second, third = done
    assert {r.for_self for r in done} == {0}
    for row in await harness.db.fetchall(_SUBMITTED_QUERY, (CADRE,)):
        StoredRegistration.model_validate(dict(row))  # stored exactly as the chat stores one
    assert first.name == "Budi Santoso" and first.desa_code == DESA
    assert first.consent_version and first.consent_at
    assert first.payer == "program" and first.pay_period_months is None
    assert first.heir_relation == "pasangan" and first.income == 1_500_000
    assert first.nik_enc is not None
    assert harness.app.bot_data.cipher.decrypt(first.nik_enc) == rows[0]["nik"]
    assert second.occupation == "lainnya" and second.occupation_other == "tukang kayu"
    assert second.sumber_iuran == "mandiri" and second.pay_period_months == 3
    assert third.birth_date == "1981-08-17" and third.sex == "P"
    assert third.desa_code == "12.10.19.2003" and third.phone_hash is None
    assert "birth_corrected" in json.loads(third.flags)
    # Every row phones from the same number: the second one on is flagged for the reviewer.
    assert "duplicate_phone" in json.loads(second.flags)
    events = await harness.db.fetchall(
        "SELECT to_status, actor FROM registration_events WHERE registration_id = ?",
        (first.id,),
    )
    assert [tuple(e) for e in events] == [("diajukan", str(CADRE))]
    column = results(reply)
    assert column[2] == f"Terkirim: {first.ref}" and column[4] == f"Terkirim: {third.ref}"
    assert first.ref is not None and first.ref.startswith("JP-1210-")
    assert column[5] == "Perlu diperbaiki: Nama ibu kandung belum diisi."
    assert column[6].startswith("Belum setuju")


async def test_sending_the_corrected_file_again_submits_only_the_new_rows(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    rows = [worker(), worker(), worker(income="banyak"), worker(consent=None)]
    first = answer(await upload(harness, fill(template, rows)))
    assert "2 terkirim, 1 perlu diperbaiki, 1 belum setuju" in first.text
    # The returned file, with its result column, corrected and sent back.
    fixed = fill(first.files["document"], [{"income": 900_000}, {"consent": "ya"}], start=4)
    again = answer(await upload(harness, fixed))
    assert "2 terkirim, 0 perlu diperbaiki, 0 belum setuju" in again.text
    assert "2 baris sudah terkirim sebelumnya" in again.text
    done = await submitted(harness)
    assert len(done) == 4
    assert results(again)[2] == f"Sudah terkirim sebelumnya: {done[0].ref}"
    # A third time: nothing new, nothing doubled.
    third = answer(await upload(harness, again.files["document"]))
    assert "0 terkirim" in third.text and "4 baris sudah terkirim sebelumnya" in third.text
    assert len(await submitted(harness)) == 4


async def test_a_crash_mid_file_keeps_the_rows_before_it_and_a_resend_completes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_cadre(harness)
    content = fill(await download_template(harness), [worker() for _ in range(5)])
    monkeypatch.setattr(sheet_submit, "BATCH", 2)  # rows are committed two at a time
    real = audit.log_transition
    rows_logged = itertools.count(1)

    async def failing(*args: Any, **kwargs: Any) -> None:
        if next(rows_logged) == 3:  # the third row: inside the second batch's transaction
            raise RuntimeError("disk gone")
        await real(*args, **kwargs)

    monkeypatch.setattr(audit, "log_transition", failing)
    await upload(harness, content)
    # The first batch stayed; nothing of the batch that failed, no row half written.
    assert len(await submitted(harness)) == 2
    assert await harness.db.fetchval("SELECT COUNT(*) FROM registrations") == 2
    monkeypatch.setattr(audit, "log_transition", real)
    reply = answer(await upload(harness, content))
    assert "3 terkirim, 0 perlu diperbaiki" in reply.text
    assert "2 baris sudah terkirim sebelumnya" in reply.text
    done = await submitted(harness)
    assert len(done) == 5 and len({r.nik_hash for r in done}) == 5


async def test_a_second_file_while_the_first_is_checked_waits_its_turn(harness: Harness) -> None:
    await make_cadre(harness)
    content = fill(await download_template(harness), [worker()])
    harness.api.add_file("one", content)
    harness.api.add_file("two", content)
    for file_id in ("one", "two"):
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": "f.xlsx"}
        message = harness.updates._message(CADRE, document=document)
        await harness.update(harness.updates._update(message=message))
    assert "masih diperiksa" in harness.text(CADRE)
    await cadres.settled()
    assert "1 terkirim" in harness.text(CADRE)
    assert len(await submitted(harness)) == 1


# --- bad input ----------------------------------------------------------------------------------


async def test_a_csv_file_is_refused_with_the_way_to_the_template(harness: Harness) -> None:
    await make_cadre(harness)
    calls = await upload(harness, b"nik,nama\n1,2\n", name="data.csv", mime="text/csv")
    assert "File CSV tidak bisa saya baca" in answer(calls).text
    assert not any(c.method == "getFile" for c in calls)


async def test_a_workbook_that_is_not_the_template_is_refused(harness: Harness) -> None:
    await make_cadre(harness)
    workbook = Workbook()
    workbook.active["A1"] = "NIK"
    out = io.BytesIO()
    workbook.save(out)
    assert "bukan formulir Jaga Pekerja" in answer(await upload(harness, out.getvalue())).text
    assert "bukan formulir Excel" in answer(await upload(harness, b"PK not a zip")).text


async def test_a_template_with_a_renamed_column_is_refused(harness: Harness) -> None:
    await make_cadre(harness)
    workbook = load_workbook(io.BytesIO(await download_template(harness)))
    workbook.worksheets[0]["A1"] = "Nomor KTP"  # the NIK column renamed: no longer known
    out = io.BytesIO()
    workbook.save(out)
    text = answer(await upload(harness, fill(out.getvalue(), [worker()]))).text
    assert "Nama kolom di formulir ini diubah" in text


async def test_an_old_template_version_is_refused(harness: Harness) -> None:
    await make_cadre(harness)
    workbook = load_workbook(io.BytesIO(await download_template(harness)))
    workbook["jaga"]["B1"] = "2020-01-01.1"
    out = io.BytesIO()
    workbook.save(out)
    assert "Formulir ini versi lama" in answer(await upload(harness, out.getvalue())).text


async def test_more_rows_than_the_limit_are_refused(harness: Harness) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    content = fill(template, [{"nik": str(n)} for n in range(5000)])
    text = answer(await upload(harness, content)).text
    assert "berisi 5.000 baris" in text and "Paling banyak 1.000 baris" in text
    assert await submitted(harness) == []


async def test_a_value_far_below_the_rows_is_read_without_creating_every_empty_row(
    harness: Harness,
) -> None:
    # A stray value in row 1,048,576 of a 20 kB file once meant a million empty rows (minutes,
    # gigabytes): only the cells the file stores are visited.
    await make_cadre(harness)
    template = await download_template(harness)
    content = fill(template, [worker()])
    content = fill(content, [{"nik": "catatan"}], start=20_000)
    sheet = read_sheet(
        content,
        translator("id"),
        today=dt.date(2026, 11, 30),
        min_age=15,
        max_age=65,
        options=desa_options([DESA]),
    )
    assert not isinstance(sheet, FileProblem)
    assert [row.number for row in sheet.rows] == [2, 20_000]
    assert len(sheet.workbook.worksheets[0]._cells) < 5_000  # not 20,000 rows of 15 cells
    got = results(answer(await upload(harness, content)))
    assert got[2].startswith("Terkirim") and got[20_000].startswith("Belum setuju")


async def test_a_merged_range_over_many_rows_is_refused_before_it_is_loaded(
    harness: Harness,
) -> None:
    # Loading makes one object per merged cell: a range over a million rows is gigabytes.
    await make_cadre(harness)
    template = await download_template(harness)
    workbook = load_workbook(io.BytesIO(template))
    workbook.worksheets[0].merge_cells("Q2:Z20000")
    out = io.BytesIO()
    workbook.save(out)
    text = answer(await upload(harness, out.getvalue())).text
    assert "terlalu besar" in text
    assert await submitted(harness) == []


async def test_formulas_merged_cells_and_numeric_niks_are_reported_per_row(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    rows = [
        worker(name="=B10"),  # a formula openpyxl saves without a value
        worker(),  # merged below
        worker(nik=1.21001e15),
        worker(nik="1.21001E+15"),
        worker(),
    ]
    workbook = load_workbook(io.BytesIO(fill(template, rows)))
    workbook.worksheets[0].merge_cells("B3:C3")
    out = io.BytesIO()
    workbook.save(out)
    reply = answer(await upload(harness, out.getvalue()))
    assert "1 terkirim, 4 perlu diperbaiki" in reply.text
    column = results(reply)
    assert "rumus tanpa nilai" in column[2] and "Nama lengkap sesuai KTP" in column[2]
    assert "sel gabungan" in column[3]
    for row in (4, 5):
        assert "NIK tersimpan sebagai angka" in column[row] and "Teks" in column[row]
    assert column[6].startswith("Terkirim: JP-")


async def test_dates_as_text_or_excel_dates_are_read(harness: Harness) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    niks = [nik_for("12.10.19", birth="170890") for _ in range(4)]
    rows = [
        worker(niks[0], birth_date="17-08-1990"),
        worker(niks[1], birth_date="17/8/90"),
        worker(niks[2], birth_date=dt.datetime(1990, 8, 17)),  # noqa: DTZ001 (an Excel date)
        worker(niks[3], birth_date="31-02-1990"),
    ]
    reply = answer(await upload(harness, fill(template, rows)))
    assert "3 terkirim, 1 perlu diperbaiki" in reply.text
    done = await submitted(harness)
    assert {r.birth_date for r in done} == {"1990-08-17"}
    assert all("birth_corrected" not in json.loads(r.flags) for r in done)
    assert "Tanggal lahir tidak bisa dibaca" in results(reply)[5]


async def test_duplicates_in_the_file_or_in_storage_and_age_limits_are_reported(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    taken = nik_for("12.10.19")
    await submitted_registration(harness.db, harness.app.bot_data.cipher, nik=taken)
    twice = nik_for("12.10.19")
    rows = [
        worker(twice),
        worker(twice),
        worker(taken),
        worker(nik_for("12.10.19", birth="150550")),  # 76 years old
        worker(nik="1210"),
    ]
    reply = answer(await upload(harness, fill(template, rows)))
    assert "1 terkirim, 4 perlu diperbaiki" in reply.text
    column = results(reply)
    assert "NIK ini sama dengan baris 2" in column[3]
    assert "sudah didaftarkan sebelumnya lewat orang lain" in column[4]
    assert "pendaftaran ini untuk umur 15 sampai 65" in column[5]
    assert "NIK harus 16 angka; yang tertulis 4 angka" in column[6]


async def test_a_bpjs_members_nik_is_refused_like_one_registered_elsewhere(
    harness: Harness, tmp_path: Path
) -> None:
    # Sent as the cadre's registration, /status would show the cadre the member's KPJ.
    await make_cadre(harness)
    template = await download_template(harness)
    member = nik_for("12.10.19")
    elsewhere = nik_for("12.10.19")
    csv = tmp_path / "members.csv"
    csv.write_text(
        "nik,kpj,program,dilindungi_sampai,tanggal_bayar_terakhir,status\n"
        f"{member},12345678901,JKK+JKM,2026-12-31,2026-12-01,aktif\n",
        encoding="utf-8",
    )
    cipher = harness.app.bot_data.cipher
    await import_members(harness.db, cipher, FileSource(csv))
    await submitted_registration(harness.db, cipher, nik=elsewhere)
    reply = answer(await upload(harness, fill(template, [worker(member), worker(elsewhere)])))
    assert "0 terkirim, 2 perlu diperbaiki" in reply.text
    column = results(reply)
    assert column[2] == column[3]  # the member's row reads as one registered by someone else
    assert "sudah didaftarkan sebelumnya" in column[2]
    assert "12345678901" not in column[2] + reply.text
    assert await submitted(harness) == []


async def test_a_birth_date_not_yet_reached_or_too_young_is_refused_per_row(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    today = clock.today()
    rows = [
        worker(birth_date=(today + dt.timedelta(days=30)).strftime("%d-%m-%Y")),
        worker(birth_date=dt.date(today.year - 10, today.month, min(today.day, 28))),
        worker(birth_date="17-08-1990"),
    ]
    reply = answer(await upload(harness, fill(template, rows)))
    assert "1 terkirim, 2 perlu diperbaiki" in reply.text
    column = results(reply)
    assert "Tanggal lahir ini ada di masa depan" in column[2] and "Umurnya" not in column[2]
    assert "Umurnya 10 tahun" in column[3]
    assert column[4].startswith("Terkirim: JP-")


async def test_an_heir_relation_without_an_heir_name_is_a_row_problem(harness: Harness) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    rows = [worker(heir_name=None), worker(heir_name=None, heir_relation=None)]
    reply = answer(await upload(harness, fill(template, rows)))
    assert "1 terkirim, 1 perlu diperbaiki" in reply.text
    column = results(reply)
    assert "nama ahli waris kosong" in column[2]
    assert column[3].startswith("Terkirim: JP-")
    [sent] = await submitted(harness)
    assert sent.heir_name is None and sent.heir_relation is None


async def test_a_filled_form_sent_at_the_nik_question_is_checked_as_a_form(
    harness: Harness,
) -> None:
    await make_cadre(harness)
    template = await download_template(harness)
    # The cadre has started registering someone and is at the NIK question.
    await harness.send(CADRE, "/daftar")
    await harness.tap(CADRE, "Setuju")
    await harness.tap(CADRE, "Orang lain")
    await harness.tap(CADRE, "Sudah, dia setuju")
    row = await harness.db.fetchone(
        "SELECT step FROM registrations WHERE operator_id = ? AND status = 'draft'", (CADRE,)
    )
    assert row is not None and row[0] == "nik"
    reply = answer(await upload(harness, fill(template, [worker()])))
    assert "1 terkirim" in reply.text
    assert len(await submitted(harness)) == 1
