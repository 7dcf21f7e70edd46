"""`jaga rotate-key`: every ciphertext and keyed hash moves to the new key, in one transaction."""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.crypto import FieldCipher, mask_nik
from jaga.cli import main
from storage import keys as key_store
from storage import membership, p3ke, privacy, registrations
from storage.db import Database
from tests.conftest import make_settings
from tests.factories import nik_for, submitted_registration

OLD = b"old-secret-key-of-enough-length-0123456789"
NEW = b"new-secret-key-of-enough-length-9876543210"
WORKER, CADRE, LINKED, STATUS_USER, STRANGER = 701, 702, 703, 704, 705


def read_all(path: Path, sql: str) -> list[Any]:
    """Rows of a query, on a connection closed right after (an open one blocks the rotation)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`jaga` pointed at a temporary database, the key in JAGA_SECRET_KEY; returns the DB path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "jaga.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", OLD.decode())
    (tmp_path / "new.key").write_bytes(NEW + b"\n")
    return tmp_path / "jaga.sqlite3"


async def fill(path: Path) -> dict[str, Any]:
    """A row in every table the key protects; returns the values in clear."""
    cipher = FieldCipher(OLD)
    db = await Database.open(path)
    try:
        nik, phone, cadre_nik = nik_for(), "+6281234567890", nik_for()
        own = await submitted_registration(db, cipher, operator_id=WORKER, nik=nik, phone=phone)
        theirs = await submitted_registration(
            db, cipher, operator_id=CADRE, for_self=False, nik=cadre_nik, phone="+6281311112222"
        )
        member_nik = nik_for()
        async with db.write() as conn:
            await membership.upsert_member(
                conn,
                membership.Member(
                    nik_hash=cipher.lookup_hash("nik", member_nik),
                    nik_enc=cipher.encrypt(member_nik),
                    nik_masked=mask_nik(member_nik),
                    kpj="12345678901",
                    programs="JKK_JKM",
                    protected_until="2026-12-31",
                    last_paid=None,
                    status=membership.MemberStatus.ACTIVE,
                    birth_date="1980-05-15",
                ),
            )
            claims = [
                ("K-1", cipher.lookup_hash("nik", member_nik), "12345678901"),
                ("K-2", cipher.lookup_hash("nik", nik), None),
                # NIKs stored nowhere else: the hash is cleared (found by KPJ) or the row goes.
                ("K-3", cipher.lookup_hash("nik", nik_for()), "99999999999"),
                ("K-4", cipher.lookup_hash("nik", nik_for()), None),
            ]
            for claim_no, nik_hash, kpj in claims:
                await membership.upsert_claim(
                    conn,
                    membership.Claim(
                        claim_no=claim_no,
                        nik_hash=nik_hash,
                        kpj=kpj,
                        type=membership.ClaimType.JHT,
                        status=membership.ClaimStatus.PROCESSING,
                        status_date="2026-10-01",
                        amount_paid=None,
                    ),
                )
            await conn.execute(
                "INSERT INTO reminders_sent(kind, subject, period, recipient_id) "
                "VALUES ('protection', ?, '2026-W40', ?), ('fix', ?, 'f1', ?)",
                (cipher.lookup_hash("nik", member_nik), LINKED, str(own.id), WORKER),
            )
            await conn.executemany(
                "INSERT INTO p3ke(nik_hash, decile) VALUES (?, ?)",
                [(cipher.lookup_hash("nik", nik), 1), (cipher.lookup_hash("nik", nik_for()), 2)],
            )
        await membership.link(db, LINKED, cipher.lookup_hash("nik", member_nik), proof="kpj")
        await privacy.request_correction(
            db, own, WORKER, cipher.encrypt("Nama ibu salah"), on_behalf=False
        )
        await privacy.set_session(db, CADRE, step="birth_date", nik_hash=own.nik_hash)
        await privacy.set_session(
            db, STRANGER, step="birth_date", nik_hash=cipher.lookup_hash("nik", nik_for())
        )
        status_nik = nik_for()
        await membership.set_flow_state(
            db,
            STATUS_USER,
            "status",
            "birth",
            purpose="self",
            nik_enc=base64.b64encode(cipher.encrypt(status_nik)).decode(),
        )
        # The schema has no secret column the rotation does not know of.
        listed = {c.name for c in (*key_store.ENCRYPTED, *key_store.HASHED)}
        listed |= set(key_store.HASH_ONLY)
        found = await key_store.columns_named_like_secrets(db)
        assert found - listed == set(), "a new *_enc/*_hash column: add it to storage/keys.py"
        return {
            "nik": nik,
            "phone": phone,
            "cadre_nik": cadre_nik,
            "member_nik": member_nik,
            "status_nik": status_nik,
            "own": own.id,
            "theirs": theirs.id,
        }
    finally:
        await db.close()


async def check(path: Path, clear: dict[str, Any]) -> None:
    """Everything decrypts with the new key, nothing with the old, and every lookup finds."""
    new, old = FieldCipher(NEW), FieldCipher(OLD)
    db = await Database.open(path)  # a normal open works again after the exclusive one
    try:
        own = await registrations.live_by_nik_hash(db, new.lookup_hash("nik", clear["nik"]))
        assert own is not None and own.id == clear["own"]
        assert own.nik_enc is not None and new.decrypt(own.nik_enc) == clear["nik"]
        assert own.phone_enc is not None and new.decrypt(own.phone_enc) == clear["phone"]
        assert own.phone_hash == new.lookup_hash("phone", clear["phone"])
        assert await registrations.phone_in_use(
            db, new.lookup_hash("phone", clear["phone"]), other_than=0
        )
        theirs = await registrations.live_by_nik_hash(
            db, new.lookup_hash("nik", clear["cadre_nik"])
        )
        assert theirs is not None and theirs.id == clear["theirs"]

        member_hash = new.lookup_hash("nik", clear["member_nik"])
        member = await membership.member_by_nik_hash(db, member_hash)
        assert member is not None and new.decrypt(member.nik_enc) == clear["member_nik"]
        assert await membership.linked_nik_hash(db, LINKED) == member_hash
        assert [c.claim_no for c in await membership.claims_of(db, member_hash, None)] == ["K-1"]
        own_claims = await membership.claims_of(db, new.lookup_hash("nik", clear["nik"]), None)
        assert [c.claim_no for c in own_claims] == ["K-2"]
        k3 = await membership.claim_by_no(db, "K-3")
        assert k3 is not None and k3.nik_hash is None and k3.kpj == "99999999999"
        assert await membership.claim_by_no(db, "K-4") is None

        reminders = {
            r["kind"]: r["subject"] for r in await db.fetchall("SELECT * FROM reminders_sent")
        }
        assert reminders == {"protection": member_hash, "fix": str(clear["own"])}

        [request] = await privacy.open_corrections(db, "")
        assert request.text_enc is not None
        assert new.decrypt(request.text_enc) == "Nama ibu salah"

        window = "2000-01-01T00:00:00Z"
        cadre = await privacy.session(db, CADRE, attempts_window=window)
        assert (
            cadre.nik_hash == new.lookup_hash("nik", clear["nik"]) and cadre.step == "birth_date"
        )
        stranger = await privacy.session(db, STRANGER, attempts_window=window)
        assert stranger.nik_hash is None and stranger.step is None  # types the NIK again

        state = await membership.flow_state(db, STATUS_USER, "status")
        assert state is not None and state.nik_enc is not None
        token = base64.b64decode(state.nik_enc)
        assert new.decrypt(token) == clear["status_nik"]

        assert await p3ke.size(db) == 0
        # The old key opens nothing any more.
        tokens = [own.nik_enc, own.phone_enc, member.nik_enc, request.text_enc, token]
        for value in tokens:
            with pytest.raises(ValueError, match="cannot decrypt"):
                old.decrypt(value)
    finally:
        await db.close()


@pytest.mark.usefixtures("restore_logging")
def test_rotate_key_with_the_key_in_the_environment(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clear = asyncio.run(fill(env))
    assert main(["rotate-key", "--new-key-file", str(tmp_path / "new.key")]) == 0
    out = capsys.readouterr().out
    asyncio.run(check(env, clear))
    assert "registrations.nik_enc: 2 values" in out
    assert "claims.nik_hash: 2 rows cleared" in out
    assert "P3KE list: 2 NIK hashes deleted" in out and "jaga import p3ke" in out
    assert "set JAGA_SECRET_KEY to the contents of" in out
    assert not (tmp_path / "secret.key").exists()
    # Run again with the same (now current) key file: refused, nothing changes.
    monkeypatch.setenv("JAGA_SECRET_KEY", NEW.decode())
    assert main(["rotate-key", "--new-key-file", str(tmp_path / "new.key")]) == 1
    assert "is the current key" in capsys.readouterr().err


@pytest.mark.usefixtures("restore_logging")
def test_rotate_key_with_the_generated_key_file(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JAGA_SECRET_KEY")
    key_file = tmp_path / "secret.key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(OLD)
    clear = asyncio.run(fill(env))
    assert main(["rotate-key", "--new-key-file", str(tmp_path / "new.key")]) == 0
    out = capsys.readouterr().out
    asyncio.run(check(env, clear))
    assert key_file.read_bytes() == NEW
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (tmp_path / "secret.key.old").read_bytes() == OLD
    assert "secret.key.old" in out and "delete it once" in out
    # The bot's settings now read the new key from the file.
    settings = make_settings(tmp_path, secret_key=None)
    assert settings.key == NEW
    # A second rotation waits until the operator has dealt with secret.key.old.
    (tmp_path / "newer.key").write_bytes(b"x" * 40)
    assert main(["rotate-key", "--new-key-file", str(tmp_path / "newer.key")]) == 1
    assert "secret.key.old is still there" in capsys.readouterr().err
    assert key_file.read_bytes() == NEW


@pytest.mark.usefixtures("restore_logging")
def test_rotate_key_refuses_while_the_database_is_open(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(fill(env))
    before = read_all(env, "SELECT nik_enc, nik_hash FROM registrations")
    bot = sqlite3.connect(env, isolation_level=None)  # an idle connection, as a running bot has
    bot.execute("SELECT COUNT(*) FROM users").fetchall()
    try:
        assert main(["rotate-key", "--new-key-file", str(tmp_path / "new.key")]) == 1
    finally:
        bot.close()
    err = capsys.readouterr().err
    assert "in use by another process (is the bot running?" in err and "nothing was changed" in err
    after = read_all(env, "SELECT nik_enc, nik_hash FROM registrations")
    assert after == before


@pytest.mark.usefixtures("restore_logging")
def test_rotate_key_with_the_wrong_current_key_changes_nothing(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(fill(env))
    before = read_all(env, "SELECT * FROM registrations")
    monkeypatch.setenv("JAGA_SECRET_KEY", "w" * 40)
    assert main(["rotate-key", "--new-key-file", str(tmp_path / "new.key")]) == 1
    assert "does not decrypt with the current key" in capsys.readouterr().err
    assert read_all(env, "SELECT * FROM registrations") == before
    (tmp_path / "short.key").write_text("short")
    assert main(["rotate-key", "--new-key-file", str(tmp_path / "short.key")]) == 1
    assert "use at least 32" in capsys.readouterr().err
    assert main(["rotate-key", "--new-key-file", str(tmp_path / "missing.key")]) == 1
    assert "cannot read the new key file" in capsys.readouterr().err
