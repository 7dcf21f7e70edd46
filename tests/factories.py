"""Test data: submitted registrations written straight into storage, as the flow would."""

from __future__ import annotations

import itertools
import json
from typing import Any

from bot.crypto import FieldCipher, mask_nik
from storage import registrations
from storage.db import Database
from storage.registrations import Registration

_serials = itertools.count(1)


def nik_for(region: str = "12.10.19", *, birth: str = "150580", female: bool = False) -> str:
    """A structurally valid NIK in a kecamatan (`12.10.19`), unique per call."""
    day = int(birth[:2]) + (40 if female else 0)
    return region.replace(".", "") + f"{day:02d}" + birth[2:] + f"{next(_serials):04d}"


async def submitted_registration(
    db: Database,
    cipher: FieldCipher,
    *,
    operator_id: int = 501,
    for_self: bool = True,
    nik: str | None = None,
    phone: str = "+6281234567890",
    desa_code: str = "12.10.19.1001",
    status: str = "diajukan",
    flags: list[str] | None = None,
    **fields: Any,
) -> Registration:
    """Create a complete submission (status `diajukan` unless given) and return its row."""
    nik = nik or nik_for(desa_code[:8])
    registration_id = await registrations.create_draft(db, operator_id, "summary")
    values: dict[str, Any] = {
        "for_self": int(for_self),
        "worker_telegram_id": operator_id if for_self else None,
        "consent_version": "test",
        "consent_at": "2026-11-01T00:00:00Z",
        "nik_enc": cipher.encrypt(nik),
        "nik_hash": cipher.lookup_hash("nik", nik),
        "nik_masked": mask_nik(nik),
        "name": "Budi Santoso",
        "birth_date": "1980-05-15",
        "sex": "L",
        "mother_name": "Siti Aminah",
        "phone_enc": cipher.encrypt(phone),
        "phone_hash": cipher.lookup_hash("phone", phone),
        "kabupaten_code": desa_code[:5],
        "kecamatan_code": desa_code[:8],
        "desa_code": desa_code,
        "occupation": "nelayan",
        "income": 1_000_000,
        "income_base": 1_000_000,
        "programs": "JKK_JKM",
        "monthly_contribution": 16_800,
        "table_version": "test",
        "pay_period_months": 1,
        "payer": "program",
    }
    values.update(fields)
    await registrations.update(db, registration_id, **values)
    ref = f"JP-{desa_code[:5].replace('.', '')}-{registration_id:06d}"
    await registrations.submit(db, registration_id, ref, json.dumps(flags or []))
    if status != "diajukan":
        await db.execute(
            "UPDATE registrations SET status = ? WHERE id = ?", (status, registration_id)
        )
    row = await registrations.get(db, registration_id)
    assert row is not None
    return row
