"""The shared submission factory produces rows the flow and the desk can rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crypto import FieldCipher
from storage import registrations
from storage.db import Database
from tests.factories import nik_for, submitted_registration


async def test_submission_is_stored_encrypted_and_unique_per_nik(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "f.sqlite3")
    cipher = FieldCipher(b"k" * 32)
    try:
        nik = nik_for()
        row = await submitted_registration(db, cipher, nik=nik)
        assert row.status == "diajukan"
        assert row.ref is not None and row.ref.startswith("JP-1210-")
        assert row.nik_enc is not None and nik.encode() not in row.nik_enc
        assert cipher.decrypt(row.nik_enc) == nik
        assert row.nik_masked == nik[:4] + "********" + nik[12:]
        with pytest.raises(registrations.DuplicateNik):
            await submitted_registration(db, cipher, nik=nik, operator_id=777)
    finally:
        await db.close()


async def test_submission_is_logged_and_the_log_is_append_only(tmp_path: Path) -> None:
    from storage import audit

    db = await Database.open(tmp_path / "a.sqlite3")
    try:
        row = await submitted_registration(db, FieldCipher(b"k" * 32))
        events = await audit.history(db, row.id)
        assert [(e.from_status, e.to_status) for e in events] == [("draft", "diajukan")]
        with pytest.raises(Exception, match="append-only"):
            await db.execute("UPDATE registration_events SET reason = 'x'")
    finally:
        await db.close()


def test_field_cipher_round_trip_detects_wrong_key_and_tampering() -> None:
    cipher = FieldCipher(b"k" * 32)
    token = cipher.encrypt("1210191505800042")
    assert cipher.encrypt("1210191505800042") != token  # a fresh nonce every time
    assert cipher.decrypt(token) == "1210191505800042"
    with pytest.raises(ValueError, match="wrong JAGA_SECRET_KEY"):
        FieldCipher(b"x" * 32).decrypt(token)
    tampered = token[:-1] + bytes([token[-1] ^ 1])
    with pytest.raises(ValueError, match="altered"):
        cipher.decrypt(tampered)
    assert cipher.lookup_hash("nik", "1") != cipher.lookup_hash("phone", "1")
