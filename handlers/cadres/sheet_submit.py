"""The checked rows of a filled spreadsheet stored as submitted registrations, in batches,
never twice for the same NIK."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

from bot import cadre_sheet, clock
from bot.context import JagaContext
from bot.contributions import ContributionTable, load_table, quote
from bot.crypto import FieldCipher, mask_nik
from bot.i18n import N_
from bot.registration import CONSENT_VERSION, flags_for, reference
from handlers.common import Turn
from storage import membership as membership_store
from storage import registrations

log = logging.getLogger(__name__)

# Spreadsheet rows stored per commit: one disk sync per batch, the write lock held briefly.
BATCH = 20


@dataclass(frozen=True)
class _Sealed:
    """A checked worker's NIK and phone as stored: keyed hashes and encrypted values."""

    nik_hash: str
    nik_enc: bytes
    phone_hash: str | None
    phone_enc: bytes | None


def _seal(cipher: FieldCipher, workers: list[cadre_sheet.Worker]) -> list[_Sealed]:
    return [
        _Sealed(
            cipher.lookup_hash("nik", w.nik),
            cipher.encrypt(w.nik),
            cipher.lookup_hash("phone", w.phone) if w.phone else None,
            cipher.encrypt(w.phone) if w.phone else None,
        )
        for w in workers
    ]


async def submit_rows(
    context: JagaContext, turn: Turn, rows: list[cadre_sheet.Row], today: dt.date
) -> tuple[dict[int, tuple[bool, str]], dict[str, int]]:
    """Submits every checked row with consent, one transaction each (a restart goes on where it
    stopped: a NIK already submitted by this cadre is reported, never doubled)."""
    _ = turn.gettext
    settings = context.settings
    results: dict[int, tuple[bool, str]] = {}
    tally = {"sent": 0, "already": 0, "fix": 0, "waiting": 0}
    checked = [row for row in rows if row.worker is not None]
    sealed = await asyncio.to_thread(
        _seal, context.cipher, [row.worker for row in checked if row.worker is not None]
    )
    # One query per few hundred rows, not one per row.
    live = await registrations.live_by_nik_hashes(context.db, [s.nik_hash for s in sealed])
    phones = await registrations.phones_in_use(
        context.db, [s.phone_hash for s in sealed if s.phone_hash]
    )
    # A BPJS member with no live registration here is refused as the chat refuses the NIK
    # (handlers/registration/nik.py `_nik_taken`): as the cadre's registration, /status would show
    # the cadre the member's record. Only an account linked to that member may register it.
    members = await membership_store.members_among(
        context.db, [s.nik_hash for s in sealed if s.nik_hash not in live]
    )
    members.discard(await membership_store.linked_nik_hash(context.db, turn.id) or "")
    for row in rows:
        if row.problems:
            tally["fix"] += 1
            results[row.number] = (
                False,
                _("Perlu diperbaiki: {problems}").format(problems=" ".join(row.problems)),
            )
        elif not row.consent:
            tally["waiting"] += 1
            results[row.number] = (
                False,
                _("Belum setuju, tidak dikirim. Tulis ya jika orang itu sudah setuju."),
            )
    table = load_table()
    consent_at = clock.utc_iso(clock.now())
    batch: list[tuple[int, dict[str, Any], list[str]]] = []
    for row, seal in zip(checked, sealed, strict=True):
        worker = row.worker
        assert worker is not None
        existing = live.get(seal.nik_hash)
        if existing is not None:
            if existing.operator_id == turn.id:
                tally["already"] += 1
                results[row.number] = (
                    True,
                    _("Sudah terkirim sebelumnya: {ref}").format(ref=existing.ref),
                )
            else:
                tally["fix"] += 1
                results[row.number] = (False, _(_SUBMITTED_ELSEWHERE))
            continue
        if seal.nik_hash in members:
            # The same words as a NIK registered by someone else: nothing tells the two apart.
            tally["fix"] += 1
            results[row.number] = (False, _(_SUBMITTED_ELSEWHERE))
            continue
        fields = _fields(worker, seal, table, consent_at, today)
        flags = flags_for(
            {
                **fields,
                "flags": json.dumps(list(worker.flags)),
                "scratch": json.dumps({"nik_district_unknown": True})
                if "nik_district_unknown" in worker.flags
                else "{}",
            },
            duplicate_phone=seal.phone_hash is not None and seal.phone_hash in phones,
            today=today,
            min_age=settings.min_age,
            max_age=settings.max_age,
        )
        if seal.phone_hash:
            phones.add(seal.phone_hash)  # a second row with this phone is flagged too
        batch.append((row.number, fields, flags))
        if len(batch) >= BATCH:
            await _write_batch(context, turn, batch, results, tally)
            batch = []
    if batch:
        await _write_batch(context, turn, batch, results, tally)
    return results, tally


async def _write_batch(
    context: JagaContext,
    turn: Turn,
    batch: list[tuple[int, dict[str, Any], list[str]]],
    results: dict[int, tuple[bool, str]],
    tally: dict[str, int],
) -> None:
    """Stores a batch of checked rows in one commit (each row whole or not at all)."""
    _ = turn.gettext
    done = await registrations.insert_submitted(
        context.db,
        turn.id,
        [
            (
                fields,
                json.dumps(flags),
                functools.partial(_reference, kabupaten=fields["kabupaten_code"]),
            )
            for _number, fields, flags in batch
        ],
        actor=str(turn.id),
    )
    for (number, _fields, flags), stored in zip(batch, done, strict=True):
        if stored is None:  # submitted by someone else since the file was read
            tally["fix"] += 1
            results[number] = (False, _(_SUBMITTED_ELSEWHERE))
            continue
        registration_id, ref = stored
        tally["sent"] += 1
        results[number] = (True, _("Terkirim: {ref}").format(ref=ref))
        log.info(
            "event=registration_submitted registration=%s ref=%s flags=%s source=sheet",
            registration_id,
            ref,
            ",".join(flags),
        )


_SUBMITTED_ELSEWHERE = N_(
    "NIK ini sudah didaftarkan sebelumnya lewat orang lain. Hapus baris ini, atau tanyakan ke "
    "petugas kabupaten."
)


def _reference(registration_id: int, *, kabupaten: str) -> str:
    return reference(registration_id, kabupaten)


def _fields(
    worker: cadre_sheet.Worker,
    seal: _Sealed,
    table: ContributionTable,
    consent_at: str,
    today: dt.date,
) -> dict[str, Any]:
    """The registration columns of a checked row, as the chat stores them after its questions."""
    desa = worker.desa_code
    self_paid = worker.payer == "sendiri"
    return {
        "for_self": 0,
        "consent_version": CONSENT_VERSION,
        "consent_at": consent_at,
        "nik_enc": seal.nik_enc,
        "nik_hash": seal.nik_hash,
        "nik_masked": mask_nik(worker.nik),
        "name": worker.name,
        "birth_date": worker.birth_date.isoformat(),
        "sex": worker.sex,
        "mother_name": worker.mother_name,
        "phone_enc": seal.phone_enc,
        "phone_hash": seal.phone_hash,
        "kabupaten_code": desa[:5],
        "kecamatan_code": desa[:8],
        "desa_code": desa,
        "occupation": worker.occupation,
        "occupation_other": worker.occupation_other,
        "income": worker.income,
        "income_base": table.bracket_for(worker.income).base,
        "table_version": table.version,
        "programs": worker.programs,
        # What the chat stores: the normal monthly amount, before any discount.
        "monthly_contribution": quote(
            worker.income, worker.programs, None, "program", today
        ).normal,
        "pay_period_months": worker.period if self_paid else None,
        "payer": worker.payer,
        "sumber_iuran": "mandiri" if self_paid else None,
        "heir_name": worker.heir_name,
        "heir_relation": worker.heir_relation if worker.heir_name else None,
    }
