"""`jaga rotate-key`: re-encrypt and re-hash everything under a new secret key, all or nothing.

Runs while the bot is stopped (storage/keys.py opens the database exclusively). In one
transaction: every ciphertext is decrypted with the old key (any failure: nothing changes) and
encrypted with the new one; every keyed hash is recomputed from the value it stands for (the
registration's own NIK or phone, else the NIK found through every NIK stored encrypted); hashes of
values stored nowhere are cleared as storage/keys.py says per column; the P3KE list, which holds
hashes only, is emptied and must be imported again. Before COMMIT every new ciphertext is checked
to decrypt with the new key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.crypto import FieldCipher
from storage import keys as store
from storage.db import Conn
from storage.files import create_private

# A new key must be at least this long (the generated one is 64 characters).
MIN_KEY_LENGTH = 32


class RotationError(Exception):
    """The rotation cannot be done; nothing was changed. The message is for the operator."""


@dataclass
class Rotation:
    """What a rotation changed: values per `table.column`, and what had to be dropped."""

    encrypted: Counter[str] = field(default_factory=Counter)
    hashed: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    flow_states: int = 0
    p3ke_deleted: int = 0


def read_new_key(path: Path, old: bytes) -> bytes:
    """The key in `path` if usable as JAGA_SECRET_KEY, else a RotationError saying why."""
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        raise RotationError(f"cannot read the new key file {path}: {exc.strerror}") from None
    if not value:
        raise RotationError(f"the new key file {path} is empty")
    if any(b < 0x21 or b > 0x7E for b in value):
        raise RotationError(
            f"the new key in {path} must be one line of printable ASCII without spaces "
            "(it may have to be set as JAGA_SECRET_KEY); e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if len(value) < MIN_KEY_LENGTH:
        raise RotationError(
            f"the new key in {path} is {len(value)} characters; use at least {MIN_KEY_LENGTH}"
        )
    if value == old:
        raise RotationError(f"the new key in {path} is the current key")
    return value


async def rotate(path: Path, old: bytes, new: bytes) -> Rotation:
    """Re-encrypt and re-hash the database at `path` under `new` in one transaction."""
    if not await asyncio.to_thread(path.exists):
        raise RotationError(f"no database at {path} (JAGA_DB)")
    try:
        db = await store.open_exclusive(path)
    except store.DatabaseBusy:
        raise RotationError(
            f"{path} is in use by another process (is the bot running? an import or backup?): "
            "stop the bot first; nothing was changed"
        ) from None
    try:
        async with db.write() as conn:
            return await _rotate(conn, FieldCipher(old), FieldCipher(new))
    finally:
        await db.close()


async def _rotate(conn: Conn, old: FieldCipher, new: FieldCipher) -> Rotation:
    result = Rotation()
    # 1. Decrypt everything with the old key first: a wrong key or altered data changes nothing.
    clear: dict[str, list[tuple[store.RowKey, str]]] = {}
    for col in store.ENCRYPTED:
        values = []
        for rowid, token in await store.encrypted_values(conn, col):
            try:
                values.append((rowid, old.decrypt(token)))
            except ValueError:
                raise RotationError(
                    f"{col.name} row {_label(rowid)} does not decrypt with the current key (wrong "
                    "JAGA_SECRET_KEY or secret.key, or altered data); nothing was changed"
                ) from None
        clear[col.name] = values
    flows = await store.flow_states(conn)
    flow_data: list[tuple[store.RowKey, dict[str, object]]] = []
    for rowid, text in flows:
        data = json.loads(text or "{}")
        for name, value in data.items():
            if name.endswith("_enc") and isinstance(value, str):
                try:
                    data[name] = old.decrypt(base64.b64decode(value, validate=True))
                except (ValueError, binascii.Error):
                    raise RotationError(
                        f"membership_flow_state row {_label(rowid)} ({name}) does not decrypt "
                        "with the current key; nothing was changed"
                    ) from None
        flow_data.append((rowid, data))

    # 2. Every NIK known in clear, by its old hash, to recompute hashes stored elsewhere.
    niks: dict[str, str] = {}
    for name in ("registrations.nik_enc", "members.nik_enc"):
        for _rowid, nik in clear[name]:
            niks[old.lookup_hash("nik", nik)] = nik
    for _rowid, data in flow_data:
        for name, value in data.items():
            if name.startswith("nik") and name.endswith("_enc") and isinstance(value, str):
                niks[old.lookup_hash("nik", value)] = value
    phones = {old.lookup_hash("phone", p): p for _r, p in clear["registrations.phone_enc"]}
    known = {"nik": niks, "phone": phones}

    # 3. Hashes first (they may be primary keys), then ciphertexts, then flow states.
    for hcol in store.HASHED:
        updates: list[tuple[str, store.RowKey]] = []
        unknown: list[store.RowKey] = []
        for rowid, digest in await store.hashed_values(conn, hcol):
            value = known[hcol.kind].get(digest)
            if value is None:
                unknown.append(rowid)
            else:
                updates.append((new.lookup_hash(hcol.kind, value), rowid))
        await store.set_values(conn, hcol, updates)
        result.hashed[hcol.name] = len(updates)
        if unknown:
            result.dropped[hcol.name] = await store.drop_unknown(conn, hcol, unknown)
    for col in store.ENCRYPTED:
        await store.set_values(
            conn, col, [(new.encrypt(value), rowid) for rowid, value in clear[col.name]]
        )
        result.encrypted[col.name] = len(clear[col.name])
    rewritten: list[tuple[str, store.RowKey]] = []
    lost: list[store.RowKey] = []
    for rowid, data in flow_data:
        if not any(k.endswith(("_enc", "_hash")) for k in data):
            continue
        out: dict[str, object] = {}
        for name, value in data.items():
            if name.endswith("_enc") and isinstance(value, str):
                out[name] = base64.b64encode(new.encrypt(value)).decode()
            elif name.endswith("_hash") and isinstance(value, str):
                if value not in niks:
                    lost.append(rowid)
                    break
                out[name] = new.lookup_hash("nik", niks[value])
            else:
                out[name] = value
        else:
            rewritten.append((json.dumps(out), rowid))
    await store.set_flow_state_data(conn, rewritten)
    await store.end_flow_states(conn, lost)
    result.flow_states = len(rewritten)
    if lost:
        result.dropped["membership_flow_state.data"] = len(lost)
    result.p3ke_deleted = await store.clear_hash_only(conn, "key rotation: list cleared")

    # 4. Check before COMMIT: every ciphertext decrypts with the new key, none with the old.
    for col in store.ENCRYPTED:
        for rowid, token in await store.encrypted_values(conn, col):
            new.decrypt(token)  # raises ValueError: the transaction is rolled back
            try:
                old.decrypt(token)
            except ValueError:
                continue
            raise RotationError(f"{col.name} row {_label(rowid)} still decrypts with the old key")
    return result


def _label(key: store.RowKey) -> str:
    """A row's key as an error message names it (its id, or its key values)."""
    return "/".join(str(value) for value in key)


def install_key_file(key_file: Path, new: bytes) -> Path:
    """Write `new` as the key file (mode 0600), keeping the old one as `<name>.old`."""
    old_copy = key_file.with_name(key_file.name + ".old")
    temp = key_file.with_name(key_file.name + ".new")
    temp.unlink(missing_ok=True)
    fd = create_private(temp)  # 0600 whatever the umask
    with os.fdopen(fd, "wb") as f:
        f.write(new)
        f.flush()
        os.fsync(f.fileno())
    os.replace(key_file, old_copy)
    os.replace(temp, key_file)
    return old_copy
