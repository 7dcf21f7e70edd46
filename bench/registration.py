"""A person registering themself: reads each prompt, presses buttons by label, types answers."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lokal import parse_nik

from bench.people import Lost, Person
from bench.standin import Sent
from bot.registration import children

KABUPATEN = "12.10"  # Labuhanbatu, Sumatera Utara
MAX_TURNS = 40  # a registration takes about 20; more means the person is stuck
FIRST_NAMES = ["Budi", "Sari", "Edwin", "Rahmat", "Siti", "Agus", "Dewi", "Joko", "Nur", "Rudi"]
_numbers = itertools.count()
# Per completed registration: (messages the bot sent, answers the person gave).
SENDS: list[tuple[int, int]] = []

Action = Callable[[], Awaitable[None]]


def _letters(n: int) -> str:
    """A number spelled in letters, so that names differ without digits in them."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out += "abcdefghijklmnopqrstuvwxyz"[r]
        if n == 0:
            return out.capitalize()


@dataclass(frozen=True)
class Identity:
    """Who the person is: a valid Sumatera Utara NIK and the rest of their answers."""

    nik: str
    name: str
    mother: str
    heir: str
    phone: str
    kecamatan: str
    types_income: bool

    @classmethod
    def new(cls) -> Identity:
        """The next unique person of this bench run."""
        n = next(_numbers)
        kecamatans = children(KABUPATEN)
        kecamatan = kecamatans[n % len(kecamatans)].code
        female = n % 3 == 0
        day, month, year = 1 + n % 28, 1 + n % 12, 1970 + n % 30
        serial = 1 + n // len(kecamatans)
        nik = f"{kecamatan.replace('.', '')}{day + 40 * female:02d}{month:02d}{year % 100:02d}"
        nik += f"{serial:04d}"
        info = parse_nik(nik)
        assert info.valid, (nik, info.errors)
        first = FIRST_NAMES[n % len(FIRST_NAMES)]
        return cls(
            nik=nik,
            name=f"{first} {_letters(n)}",
            mother=f"Ibu {_letters(n + 7)}",
            heir=f"{FIRST_NAMES[(n + 3) % len(FIRST_NAMES)]} {_letters(n + 11)}",
            phone=f"62812{n:08d}",
            kecamatan=kecamatan,
            types_income=n % 2 == 0,
        )

    @property
    def nik_as_typed(self) -> str:
        """The NIK as people type it from the card, in groups of four."""
        return " ".join(self.nik[i : i + 4] for i in range(0, 16, 4))


def _region(message: Sent, code: str | None) -> str | None:
    """The label of the region button with `code` (or the first region), else the next page."""
    regions = [(label, data) for label, data in message.buttons if data.count(".") >= 1]
    for label, data in regions:
        if code is None or data.endswith(" " + code):
            return label
    for label, data in message.buttons:
        if data.endswith(" p1") or "›" in label:
            return label
    return None


def decide(person: Person, me: Identity, m: Sent) -> Action | None:
    """What a person does on reading `m`, or None if it asks nothing of them."""
    text = m.text.lower()
    labels = [label for label, _ in m.buttons]

    def tap(label: str) -> Action:
        return lambda: person.tap(label)

    def say(answer: str) -> Action:
        return lambda: person.say(answer)

    if "Setuju" in labels:
        return tap("Setuju")
    if "Kirim" in labels:  # the summary: everything checked
        return tap("Kirim")
    if "Diri saya sendiri" in labels:
        return tap("Diri saya sendiri")
    if "Mulai dari awal" in labels:
        return tap("Mulai dari awal")
    if "Benar" in labels and "Salah" in labels:
        return tap("Benar")
    if m.asks_contact:
        return lambda: person.share_phone(me.phone)
    if "ketik nik" in text:  # its one button offers a KTP photo instead
        return say(me.nik_as_typed)
    if not m.buttons and "nama lengkap" in text:
        return say(me.name)
    if not m.buttons and "ibu kandung" in text:
        return say(me.mother)
    if "pilih kecamatan" in text:
        label = _region(m, me.kecamatan)
        return tap(label) if label else None
    if "pilih desa" in text:
        label = _region(m, None)
        return tap(label) if label else None
    if "kabupaten/kota" in text and m.buttons:
        label = _region(m, KABUPATEN)
        return tap(label) if label else None
    if "Nelayan" in labels:
        return tap("Nelayan")
    if "pilih program" in text and labels:
        return tap(labels[0])
    if "berapa kira-kira penghasilan" in text and m.buttons:
        return say("1,5 juta") if me.types_income else tap(labels[0])
    if "berapa bulan" in text and labels:
        return tap(labels[0])
    if "Saya sendiri" in labels:
        return tap("Saya sendiri")
    if "Lewati" in labels and "ahli waris" in text:
        return say(me.heir)
    if "Anak" in labels:
        return tap("Anak")
    return None


def _done(m: Sent) -> bool:
    return "nomor pendaftaran" in m.text.lower()


async def register(person: Person) -> None:
    """From /daftar to the reference number, as a worker registering themself."""
    me = Identity.new()
    await person.say("/daftar")
    sent = 0
    for answers in range(MAX_TURNS):
        message = await person.until(lambda m: _done(m) or decide(person, me, m) is not None)
        sent += len(person.seen)  # this turn's messages (button acknowledgements not counted)
        if _done(message):
            SENDS.append((sent, answers))
            return
        action = decide(person, me, message)
        assert action is not None
        await action()
    raise Lost(f"user {person.id}: no reference number after {MAX_TURNS} answers")


def sends_summary() -> dict[str, float]:
    """Messages sent per completed registration, against the bound of one per answer plus two."""
    if not SENDS:
        return {}
    over = [sent - answers for sent, answers in SENDS]
    return {
        "registrations": len(SENDS),
        "mean_sends": sum(sent for sent, _ in SENDS) / len(SENDS),
        "max_sends": max(sent for sent, _ in SENDS),
        "max_sends_over_answers": max(over),  # must stay <= 2
    }
