"""Reading a KTP photo (bot/ktp.py): the parser on OCR-like lines, and real OCR on generated cards.

The OCR tests share one worker process (started by the first, stopped at the end of the module);
the cards come from tests/ktp_cards.py. Accuracy on hundreds of cards is in `make bench`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import random
from collections.abc import Iterator
from math import cos, radians, sin

import pytest
from PIL import Image, ImageFilter

from bot import ktp
from bot.registration import check_nik
from tests import ktp_cards

TODAY = dt.date(2026, 12, 1)
# A woman born on 15 May 1980 in Rantau Utara (12.10.01): day 15 + 40.
NIK = "1210015505800123"


def ktp_lines(**override: str) -> list[str]:
    """The text rows of a KTP as the OCR joins them (a tab between columns)."""
    rows = {
        "province": "PROVINSI SUMATERA UTARA",
        "kabupaten": "KABUPATEN LABUHANBATU",
        "nik": f"NIK\t: {NIK}",
        "name": "Nama\t: SITI AMINAH",
        "birth": "Tempat/Tgl Lahir\t: RANTAUPRAPAT, 15-05-1980",
        "sex": "Jenis Kelamin\t: PEREMPUAN\tGol. Darah : O",
        "address": "Alamat\t: JL. SUDIRMAN NO. 12",
        "rt_rw": "RT/RW\t: 002/003",
        "desa": "Kel/Desa\t: PADANG MATINGGI",
        "kecamatan": "Kecamatan\t: RANTAU UTARA\tRANTAU UTARA",
        "religion": "Agama\t: ISLAM",
    }
    rows.update(override)
    return [row for row in rows.values() if row]


# --- the parser ---------------------------------------------------------------------------------


def test_clean_lines_give_every_field() -> None:
    reading = ktp.parse_lines(ktp_lines(), TODAY)
    assert reading.problem is None
    assert reading.nik == NIK
    assert reading.name == "SITI AMINAH"
    assert reading.birth_place == "RANTAUPRAPAT"
    assert reading.birth_date == dt.date(1980, 5, 15)
    assert reading.sex == "P"
    assert reading.address == "JL. SUDIRMAN NO. 12"
    assert reading.rt_rw == "002/003"
    assert reading.desa == "PADANG MATINGGI"
    assert reading.kecamatan == "RANTAU UTARA"
    assert reading.kabupaten_code == "12.10"
    assert reading.kecamatan_code == "12.10.01"
    assert reading.desa_code == "12.10.01.1001"
    assert reading.mismatches == []
    assert reading.confidence["nik"] == 1.0


def test_letters_misread_in_numbers_are_read_as_digits() -> None:
    reading = ktp.parse_lines(
        ktp_lines(
            nik="NIK\t: 12IO0l55O58OOl23",
            birth="Tempat/Tgl Lahir\t: RANTAUPRAPAT, l5-O5-198O",
            rt_rw="RT/RW\t: OO2/OO3",
        ),
        TODAY,
    )
    assert reading.nik == NIK
    assert reading.birth_date == dt.date(1980, 5, 15)
    assert reading.rt_rw == "002/003"
    assert reading.problem is None
    assert reading.confidence["nik"] < 1.0  # corrected digits are worth a second look


def test_label_variants_and_merged_boxes() -> None:
    lines = [
        ("PROVINSI SUMATERA UTARA", 0.99),
        ("KABUPATEN LABUHANBATU", 0.98),
        (f"NIK:{NIK}", 0.97),
        ("Nama : SITI AMINAH", 0.95),
        ("Tempat/Tgl.Lahir:RANTAUPRAPAT,15-05-1980", 0.9),
        ("Jenis kelamin:PEREMPUAN Gol Darah:-", 0.93),
        ("A1amat\t: DUSUN II", 0.9),
        ("RT / RW\t:002 / 003", 0.9),
        ("Kelurahan/Desa\t: PADANG MATlNGGI", 0.7),
        ("Kecarnatan\t: RANTAU UTARA", 0.9),
    ]
    reading = ktp.parse_lines(lines, TODAY)
    assert reading.problem is None
    assert (reading.nik, reading.name, reading.sex) == (NIK, "SITI AMINAH", "P")
    assert reading.birth_date == dt.date(1980, 5, 15)
    assert reading.address == "DUSUN II"
    assert reading.rt_rw == "002/003"
    assert reading.desa_code == "12.10.01.1001"  # matched despite "MATlNGGI"
    assert reading.confidence["name"] == 0.95
    assert reading.confidence["desa"] < ktp.LOW_CONFIDENCE  # a poor reading, and fuzzily matched


def test_laki_laki_read_as_male() -> None:
    male = "1210011505800123"  # the same NIK for a man: day 15 without the 40
    reading = ktp.parse_lines(
        ktp_lines(nik=f"NIK\t: {male}", sex="Jenis Kelamin\t: LAKI-LAKl"), TODAY
    )
    assert reading.sex == "L"
    assert reading.mismatches == []


def test_nik_disagreeing_with_the_card_is_reported_not_fixed() -> None:
    reading = ktp.parse_lines(
        ktp_lines(
            birth="Tempat/Tgl Lahir\t: RANTAUPRAPAT, 16-05-1980",
            sex="Jenis Kelamin\t: LAKI-LAKI",
        ),
        TODAY,
    )
    assert reading.nik == NIK
    assert reading.birth_date == dt.date(1980, 5, 16)
    assert reading.sex == "L"
    assert sorted(reading.mismatches) == ["birth_date", "sex"]
    assert reading.problem is None


def test_colon_read_as_a_digit_is_dropped() -> None:
    reading = ktp.parse_lines(ktp_lines(nik=f"NIK\t1{NIK}"), TODAY)
    assert reading.nik == NIK


def test_nik_that_cannot_be_a_nik_is_not_taken() -> None:
    bad = "1210015513800123"  # month 13
    assert check_nik(bad, TODAY).error == "birth"
    reading = ktp.parse_lines(ktp_lines(nik=f"NIK\t: {bad}"), TODAY)
    assert reading.nik is None
    assert reading.nik_read == bad
    assert reading.nik_error == "birth"
    assert reading.problem == "no_nik"
    assert reading.name == "SITI AMINAH"  # the rest is still read


def test_missing_nik_row() -> None:
    reading = ktp.parse_lines(ktp_lines(nik=""), TODAY)
    assert reading.problem == "no_nik"
    assert reading.nik_error == "missing"


def test_desa_found_in_the_kabupaten_without_the_kecamatan_row() -> None:
    reading = ktp.parse_lines(ktp_lines(kecamatan=""), TODAY)
    assert reading.desa_code == "12.10.01.1001"
    assert reading.kecamatan_code == "12.10.01"


def test_desa_names_with_digits_match_exactly() -> None:
    reading = ktp.parse_lines(
        ktp_lines(desa="Kel/Desa\t: S-4 AEK NABARA", kecamatan="Kecamatan\t: BILAH HULU"), TODAY
    )
    assert reading.desa == "S-4 AEK NABARA"
    assert reading.desa_code == "12.10.09.2022"


def test_other_documents_are_recognised() -> None:
    kk = ["KARTU KELUARGA", "No. 1210012345678901", "Nama Kepala Keluarga : BUDI"]
    sim = ["SURAT IZIN MENGEMUDI", "INDONESIA DRIVING LICENSE SIM C", "1. BUDI"]
    other = ["SELAMAT DATANG DI WARUNG KAMI", "NASI GORENG 15.000", "ES TEH MANIS 5.000"]
    assert ktp.parse_lines(kk, TODAY).problem == "kk"
    assert ktp.parse_lines(sim, TODAY).problem == "sim"
    assert ktp.parse_lines(other, TODAY).problem == "not_a_card"
    assert ktp.parse_lines([], TODAY).problem == "unreadable"
    assert ktp.parse_lines([("x7", 0.3)], TODAY).problem == "unreadable"


def test_a_surname_containing_sim_is_not_a_driving_licence() -> None:
    reading = ktp.parse_lines(ktp_lines(name="Nama\t: ERNAWATI SIMANJUNTAK"), TODAY)
    assert reading.problem is None
    assert reading.name == "ERNAWATI SIMANJUNTAK"


def _box(x: float, y: float, width: float, text: str, tilt: float) -> ktp.Box:
    """A text box of a photo tilted by `tilt` degrees (turned about the origin)."""
    a = radians(tilt)
    corners = [(x, y), (x + width, y), (x + width, y + 24), (x, y + 24)]
    turned = tuple((px * cos(a) - py * sin(a), px * sin(a) + py * cos(a)) for px, py in corners)
    return (turned, text, 0.9)


@pytest.mark.parametrize("tilt", [-9.0, 0.0, 9.0])
def test_boxes_of_a_tilted_photo_join_into_rows(tilt: float) -> None:
    boxes = [
        _box(20, 100, 60, "Nama", tilt),
        _box(300, 100, 280, ": SITI AMINAH", tilt),
        _box(20, 140, 200, "Tempat/Tgl Lahir", tilt),
        _box(300, 140, 170, ": RANTAUPRAPAT,", tilt),
        _box(480, 140, 120, "15-05-1980", tilt),
        _box(20, 180, 150, "Jenis Kelamin", tilt),
        _box(300, 180, 140, ": PEREMPUAN", tilt),
    ]
    random.Random(1).shuffle(boxes)
    lines = [text for text, _score in ktp.lines_from_boxes(boxes)]
    assert lines == [
        "Nama\t: SITI AMINAH",
        "Tempat/Tgl Lahir\t: RANTAUPRAPAT, 15-05-1980",
        "Jenis Kelamin\t: PEREMPUAN",
    ]


# --- real OCR in the worker process -------------------------------------------------------------


@pytest.fixture(scope="module")
def ocr_worker() -> Iterator[None]:
    """One OCR worker for this module's tests, stopped at the end."""
    yield
    asyncio.run(ktp.shutdown())


async def test_too_large_is_refused_before_the_worker_starts() -> None:
    await ktp.shutdown()
    blob = random.Random(3).randbytes(20 * 1024 * 1024)
    reading = await ktp.read_ktp(blob, today=TODAY)
    assert reading.problem == "too_large"
    assert ktp.worker_pid() is None


async def test_photos_wait_no_longer_than_the_queue_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ktp, "_waiting", ktp.MAX_WAITING)
    reading = await ktp.read_ktp(ktp_cards.clean_card(1)[1], today=TODAY)
    assert reading.problem == "busy"


@pytest.mark.usefixtures("ocr_worker")
async def test_generated_cards_are_read_in_another_process() -> None:
    clean = [ktp_cards.clean_card(seed) for seed in (11, 12, 13)]
    degraded = [ktp_cards.degraded_card(seed) for seed in (21, 22, 23)]
    right = {"clean": 0, "degraded": 0}
    for kind, cards in (("clean", clean), ("degraded", degraded)):
        for person, photo in cards:
            reading = await ktp.read_ktp(photo, today=TODAY)
            right[kind] += (
                reading.problem is None
                and reading.nik == person.nik
                and reading.name == person.name
                and reading.birth_date == person.birth_date
                and reading.sex == person.sex
                and reading.desa_code == person.desa_code
            )
    pid = ktp.worker_pid()
    assert pid is not None and pid != os.getpid()
    # bench/ocr.py measures 200 of each; here a lower bound that a broken reader cannot meet.
    assert right["clean"] == 3
    assert right["degraded"] >= 2


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.usefixtures("ocr_worker")
async def test_bad_photos_get_their_reason() -> None:
    _person, clean = ktp_cards.clean_card(31)
    card = Image.open(io.BytesIO(clean))
    bottom = card.crop((0, int(card.height * 0.45), card.width, card.height))  # NIK cut off
    cases = {
        "noise": (ktp_cards.noise_image(5), "unreadable"),
        "kk": (ktp_cards.kk_card(6), "kk"),
        "sim": (ktp_cards.sim_card(7), "sim"),
        "cropped": (_png(bottom), "no_nik"),
        "blurred": (_png(card.filter(ImageFilter.GaussianBlur(8))), "unreadable"),
        "pdf": (b"%PDF-1.4\n" + bytes(range(256)) * 40, "not_image"),
        "bomb": (_png(Image.new("1", (9000, 9000))), "too_large"),  # 81 MP, a few kB
    }
    got = {
        name: (await ktp.read_ktp(data, today=TODAY)).problem for name, (data, _) in cases.items()
    }
    assert got == {name: want for name, (_, want) in cases.items()}


@pytest.mark.usefixtures("ocr_worker")
async def test_sideways_and_upside_down_photos_are_turned() -> None:
    person, clean = ktp_cards.clean_card(41)
    card = Image.open(io.BytesIO(clean))
    for turn in (90, 180):
        reading = await ktp.read_ktp(_png(card.rotate(turn, expand=True)), today=TODAY)
        assert (reading.problem, reading.nik) == (None, person.nik)


@pytest.mark.usefixtures("ocr_worker")
async def test_a_crashed_worker_is_replaced() -> None:
    await ktp.start()
    pid = ktp.worker_pid()
    assert pid is not None
    os.kill(pid, 9)
    first = await ktp.read_ktp(b"not a photo", today=TODAY)
    assert first.problem == "failed"
    second = await ktp.read_ktp(b"not a photo", today=TODAY)
    assert second.problem == "not_image"
    assert ktp.worker_pid() not in (None, pid)
