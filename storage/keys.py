"""Key rotation's storage side: exclusive access and every column the secret key protects.

The lists below name each column holding ciphertext (`FieldCipher.encrypt`) or a keyed hash
(`FieldCipher.lookup_hash`); tests/test_keys.py fails when a migration adds an `*_enc` or
`*_hash` column that is not listed here. Table and column names in the SQL come from these
constants only, never from input.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from storage.db import Conn, Database
from storage.sqlite import SqliteDatabase

# Which row a value came from: the values of its table's key columns (see KEYS).
RowKey = tuple[Any, ...]

# The columns that find one row of each table below again. Values the rotation rewrites are
# never part of it, except cadre_pending's phone hash (that table has no other key): a row is
# rewritten once, addressed by the values read before any change. members is found by its KPJ,
# not its primary key, because its NIK hash changes before its ciphertext is rewritten.
KEYS: dict[str, tuple[str, ...]] = {
    "registrations": ("id",),
    "members": ("kpj",),
    "privacy_requests": ("id",),
    "claims": ("claim_no",),
    "member_links": ("telegram_id",),
    "link_requests": ("id",),
    "privacy_sessions": ("telegram_id",),
    "reminders_sent": ("id",),
    "cadre_pending": ("phone_hash", "desa_code"),
    "membership_flow_state": ("telegram_id",),
}

# What to do with a keyed hash whose value is known nowhere in clear (so it cannot be recomputed):
# `null`: clear the column; `delete`: delete the row; `null_or_delete`: clear it unless it is the
# row's only way to be found (claims: no KPJ either), then delete; `reset_session`: clear it and
# the step that waits for it.
Unknown = Literal["null", "delete", "null_or_delete", "reset_session"]


@dataclass(frozen=True)
class Encrypted:
    """A column of ciphertext; rows are addressed by their table's KEYS."""

    table: str
    column: str

    @property
    def name(self) -> str:
        """`table.column`."""
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class Hashed:
    """A column of keyed hashes of `kind` ("nik" or "phone"); rows are addressed by KEYS."""

    table: str
    column: str
    kind: str
    unknown: Unknown
    where: str = "1 = 1"  # which rows hold such a hash (reminders_sent: protection reminders only)

    @property
    def name(self) -> str:
        """`table.column`."""
        return f"{self.table}.{self.column}"


ENCRYPTED = (
    Encrypted("registrations", "nik_enc"),
    Encrypted("registrations", "phone_enc"),
    Encrypted("members", "nik_enc"),
    Encrypted("privacy_requests", "text_enc"),
)

# Each hash is recomputed from the value it stands for, found by its old hash among every NIK
# and phone number stored encrypted (registrations, members, flow states).
HASHED = (
    Hashed("registrations", "nik_hash", "nik", "null"),
    Hashed("registrations", "phone_hash", "phone", "null"),
    Hashed("members", "nik_hash", "nik", "delete"),
    Hashed("claims", "nik_hash", "nik", "null_or_delete"),
    Hashed("member_links", "nik_hash", "nik", "delete"),
    Hashed("link_requests", "nik_hash", "nik", "delete"),
    Hashed("privacy_sessions", "nik_hash", "nik", "reset_session"),
    Hashed("reminders_sent", "subject", "nik", "delete", where="kind = 'protection'"),
    # Cadres imported by phone only, not yet claimed: unknown numbers are dropped (import again).
    Hashed("cadre_pending", "phone_hash", "phone", "delete"),
)

# Hash-only tables: the values were never stored, so the table is emptied and must be imported
# again with the new key.
HASH_ONLY = ("p3ke.nik_hash",)

# JSON columns whose `*_enc` keys hold base64 ciphertext and `*_hash` keys keyed NIK hashes.
FLOW_STATE = ("membership_flow_state", "data")


class DatabaseBusy(Exception):
    """Another process (the bot, an import, a backup) has the database open."""


async def open_exclusive(path: Path) -> Database:
    """The database opened by this process alone, migrated; DatabaseBusy if anyone else has it.

    `locking_mode=EXCLUSIVE` set before the first access makes SQLite refuse while any other
    connection has the WAL database open (even an idle one, like a running bot), and keeps
    everyone else out until `close()`.
    """
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=1.0)
    conn.row_factory = aiosqlite.Row
    try:
        await conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        await conn.execute("PRAGMA busy_timeout=1000")
        try:
            await conn.execute("BEGIN EXCLUSIVE")
            await conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise DatabaseBusy(str(exc)) from None
        await conn.execute("PRAGMA foreign_keys=ON")
        db = SqliteDatabase(path, conn, conn)
        await db.migrate()
    except BaseException:
        await conn.close()
        raise
    return db


async def columns_named_like_secrets(db: Database) -> set[str]:
    """`table.column` of every column whose name ends in `_enc` or `_hash`."""
    if db.engine == "postgresql":
        rows = await db.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        pairs = [(str(r[0]), str(r[1])) for r in rows]
    else:
        pairs = []
        tables = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        for (table,) in tables:
            for column in await db.fetchall(f"PRAGMA table_info({table})"):
                pairs.append((str(table), str(column["name"])))
    return {f"{table}.{name}" for table, name in pairs if name.endswith(("_enc", "_hash"))}


def _key_of(table: str) -> tuple[str, str]:
    """The key columns of `table` for a SELECT list, and the WHERE clause finding one row."""
    key = KEYS[table]
    return ", ".join(key), " AND ".join(f"{name} = ?" for name in key)


async def encrypted_values(conn: Conn, col: Encrypted) -> list[tuple[RowKey, bytes]]:
    """(row key, ciphertext) of every row where the column is set."""
    names, _ = _key_of(col.table)
    width = len(KEYS[col.table])
    rows = await conn.execute_fetchall(
        f"SELECT {names}, {col.column} FROM {col.table} WHERE {col.column} IS NOT NULL"
    )
    return [(tuple(r[:width]), bytes(r[width])) for r in rows]


async def set_values(
    conn: Conn, col: Encrypted | Hashed, values: Sequence[tuple[bytes | str, RowKey]]
) -> None:
    """Write (ciphertext or hash, row key) pairs into the column."""
    _, where = _key_of(col.table)
    await conn.executemany(
        f"UPDATE {col.table} SET {col.column} = ? WHERE {where}",
        [(value, *key) for value, key in values],
    )


async def hashed_values(conn: Conn, col: Hashed) -> list[tuple[RowKey, str]]:
    """(row key, hash) of every row where the column holds a hash."""
    names, _ = _key_of(col.table)
    width = len(KEYS[col.table])
    rows = await conn.execute_fetchall(
        f"SELECT {names}, {col.column} FROM {col.table} "
        f"WHERE {col.column} IS NOT NULL AND ({col.where})"
    )
    return [(tuple(r[:width]), str(r[width])) for r in rows]


async def drop_unknown(conn: Conn, col: Hashed, keys: list[RowKey]) -> int:
    """Apply the column's `unknown` rule to rows whose hash cannot be recomputed; rows affected."""
    _, where = _key_of(col.table)
    count = 0
    for key in keys:
        if col.unknown == "delete":
            sql = f"DELETE FROM {col.table} WHERE {where}"
        elif col.unknown == "null_or_delete":
            cursor = await conn.execute(
                f"UPDATE {col.table} SET {col.column} = NULL WHERE {where} AND kpj IS NOT NULL",
                key,
            )
            if cursor.rowcount:
                count += 1
                continue
            sql = f"DELETE FROM {col.table} WHERE {where}"
        elif col.unknown == "reset_session":
            sql = f"UPDATE {col.table} SET {col.column} = NULL, step = NULL WHERE {where}"
        else:
            sql = f"UPDATE {col.table} SET {col.column} = NULL WHERE {where}"
        cursor = await conn.execute(sql, key)
        count += cursor.rowcount
    return count


async def flow_states(conn: Conn) -> list[tuple[RowKey, str]]:
    """(row key, JSON data) of every status/claims/iuran/answer flow state."""
    table, column = FLOW_STATE
    rows = await conn.execute_fetchall(f"SELECT telegram_id, {column} FROM {table}")
    return [((r[0],), str(r[1])) for r in rows]


async def set_flow_state_data(conn: Conn, values: list[tuple[str, RowKey]]) -> None:
    """Write (JSON data, row key) pairs."""
    table, column = FLOW_STATE
    await conn.executemany(
        f"UPDATE {table} SET {column} = ? WHERE telegram_id = ?",
        [(value, *key) for value, key in values],
    )


async def end_flow_states(conn: Conn, keys: list[RowKey]) -> None:
    """Forget flow states that cannot be carried over; their people start that step again."""
    for key in keys:
        await conn.execute("UPDATE users SET active_flow = NULL WHERE telegram_id = ?", key)
        await conn.execute("DELETE FROM membership_flow_state WHERE telegram_id = ?", key)


async def clear_hash_only(conn: Conn, source: str) -> int:
    """Empty the P3KE list (hashes of NIKs stored nowhere) and record it; rows deleted."""
    cursor = await conn.execute("DELETE FROM p3ke")
    deleted = cursor.rowcount
    if deleted:
        await conn.execute("INSERT INTO p3ke_imports(source, rows) VALUES (?, 0)", (source,))
    return deleted
