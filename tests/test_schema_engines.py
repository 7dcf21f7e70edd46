"""The PostgreSQL schema is the SQLite migrations' schema: columns, keys, indexes, defaults."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import pg as test_pg

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "storage" / "migrations"
SQLITE_MIGRATIONS = MIGRATIONS / "sqlite" if (MIGRATIONS / "sqlite").is_dir() else MIGRATIONS
POSTGRESQL_MIGRATIONS = MIGRATIONS / "postgresql"

# SQLite declared types and what each becomes in PostgreSQL.
PG_TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea", "REAL": "double precision"}
# pg_constraint.confdeltype → the action as SQLite's PRAGMA foreign_key_list spells it.
PG_ON_DELETE = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


@dataclass
class Column:
    """What both engines must agree on for one column."""

    name: str
    type: str  # the PostgreSQL type name
    not_null: bool
    has_default: bool


@dataclass
class Table:
    """One table's shape, engine-neutral."""

    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    unique: set[tuple[str, ...]] = field(default_factory=set)  # UNIQUE constraints, not indexes
    # name → (unique, partial, columns)
    indexes: dict[str, tuple[bool, bool, tuple[str, ...]]] = field(default_factory=dict)
    # (columns, referenced table, referenced columns, ON DELETE)
    foreign_keys: set[tuple[tuple[str, ...], str, tuple[str, ...], str]] = field(
        default_factory=set
    )
    checks: int = 0  # how many CHECK constraints
    triggers: set[str] = field(default_factory=set)
    # PostgreSQL only (not compared): identity columns, and the collation of each text column.
    identity: set[str] = field(default_factory=set)
    collations: dict[str, str | None] = field(default_factory=dict)


def sqlite_database(extra_sql: str = "") -> sqlite3.Connection:
    """An in-memory database built by the SQLite migrations, in order (then `extra_sql`)."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    for path in sorted(SQLITE_MIGRATIONS.glob("*.sql")):
        db.executescript(path.read_text(encoding="utf-8"))
    if extra_sql:
        db.executescript(extra_sql)
    return db


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def sqlite_schema(db: sqlite3.Connection) -> dict[str, Table]:
    """The engine-neutral shape of every table of a SQLite database."""
    tables: dict[str, Table] = {}
    rows = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for name, sql in rows:
        table = Table()
        info = db.execute(f"PRAGMA table_info({name})").fetchall()
        for _cid, column, declared, notnull, default, pk in info:
            # A primary key column holds no NULL in PostgreSQL. SQLite's rowid alias cannot either;
            # a TEXT key of a rowid table could (a SQLite quirk), which no code relies on.
            table.columns.append(
                Column(
                    column, PG_TYPES[declared.upper()], bool(notnull or pk), default is not None
                )
            )
        table.primary_key = tuple(
            r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])
        )
        for _seq, index, unique, origin, partial in db.execute(f"PRAGMA index_list({name})"):
            columns = tuple(r[2] for r in db.execute(f"PRAGMA index_info({index})"))
            if origin == "u":
                table.unique.add(columns)
            elif origin == "c":
                table.indexes[index] = (bool(unique), bool(partial), columns)
        fks: dict[int, list[Any]] = {}
        for fk_id, _seq, target, source, to, _on_update, on_delete, _match in db.execute(
            f"PRAGMA foreign_key_list({name})"
        ):
            fks.setdefault(fk_id, []).append((source, target, to, on_delete))
        for parts in fks.values():
            table.foreign_keys.add(
                (
                    tuple(p[0] for p in parts),
                    parts[0][1],
                    tuple(p[2] for p in parts),
                    parts[0][3],
                )
            )
        table.checks = len(re.findall(r"\bCHECK\s*\(", _strip_comments(sql), re.IGNORECASE))
        table.triggers = {
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (name,)
            )
        }
        tables[name] = table
    return tables


async def postgresql_schema(conn: Any) -> dict[str, Table]:
    """The engine-neutral shape of every table in the public schema of a PostgreSQL database."""
    tables: dict[str, Table] = {}
    for row in await conn.fetch(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity,"
        " collation_name FROM information_schema.columns WHERE table_schema = 'public'"
        " ORDER BY table_name, ordinal_position"
    ):
        table = tables.setdefault(row["table_name"], Table())
        name, has_default = row["column_name"], row["column_default"] is not None
        table.columns.append(
            Column(name, row["data_type"], row["is_nullable"] == "NO", has_default)
        )
        if row["is_identity"] == "YES":
            table.identity.add(name)
        if row["data_type"] == "text":
            table.collations[name] = row["collation_name"]
    constraints = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS tbl, c.contype::text,"
        " c.confrelid::regclass::text AS ref, c.confdeltype::text,"
        " ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i)"
        "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n"
        "       ORDER BY k.i)::text[] AS cols,"
        " ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i)"
        "       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n"
        "       ORDER BY k.i)::text[] AS refcols"
        " FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace"
        " WHERE s.nspname = 'public' AND c.conrelid <> 0"
    )
    for c in constraints:
        table = tables[c["tbl"]]
        if c["contype"] == "p":
            table.primary_key = tuple(c["cols"])
        elif c["contype"] == "u":
            table.unique.add(tuple(c["cols"]))
        elif c["contype"] == "f":
            on_delete = PG_ON_DELETE[c["confdeltype"]]
            table.foreign_keys.add((tuple(c["cols"]), c["ref"], tuple(c["refcols"]), on_delete))
        elif c["contype"] == "c":
            table.checks += 1
    for i in await conn.fetch(
        "SELECT t.relname AS tbl, x.relname AS name, ix.indisunique AS is_unique,"
        " ix.indpred IS NOT NULL AS partial,"
        " ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true)"
        "       FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k)::text[] AS cols"
        " FROM pg_index ix JOIN pg_class x ON x.oid = ix.indexrelid"
        " JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace"
        " WHERE s.nspname = 'public'"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)"
    ):
        tables[i["tbl"]].indexes[i["name"]] = (i["is_unique"], i["partial"], tuple(i["cols"]))
    for t in await conn.fetch(
        "SELECT c.relname AS tbl, g.tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid"
        " JOIN pg_namespace s ON s.oid = c.relnamespace"
        " WHERE s.nspname = 'public' AND NOT g.tgisinternal"
    ):
        tables[t["tbl"]].triggers.add(t["tgname"])
    return tables


def differences(sqlite: dict[str, Table], pg: dict[str, Table]) -> list[str]:
    """Every way the two schemas differ, one line each (empty: equal)."""
    out = []
    if set(sqlite) != set(pg):
        out.append(f"tables only in SQLite: {sorted(set(sqlite) - set(pg))}")
        out.append(f"tables only in PostgreSQL: {sorted(set(pg) - set(sqlite))}")
    for name in sorted(set(sqlite) & set(pg)):
        s, p = sqlite[name], pg[name]
        if [c.name for c in s.columns] != [c.name for c in p.columns]:
            out.append(
                f"{name}: columns {[c.name for c in s.columns]} != {[c.name for c in p.columns]}"
            )
            continue
        for sc, pc in zip(s.columns, p.columns, strict=True):
            if sc != pc:
                out.append(f"{name}.{sc.name}: SQLite {sc} != PostgreSQL {pc}")
        for attribute in (
            "primary_key",
            "unique",
            "indexes",
            "foreign_keys",
            "checks",
            "triggers",
        ):
            if getattr(s, attribute) != getattr(p, attribute):
                out.append(
                    f"{name} {attribute}: SQLite {getattr(s, attribute)}"
                    f" != PostgreSQL {getattr(p, attribute)}"
                )
    return out


def postgresql_script() -> str:
    """The PostgreSQL migrations, in order, as one script."""
    files = sorted(POSTGRESQL_MIGRATIONS.glob("*.sql"))
    assert files, f"no PostgreSQL migrations in {POSTGRESQL_MIGRATIONS}"
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


@pytest.fixture(scope="module")
def pg_server(postgres_server: None) -> str:
    """The URI of the `postgres` database on the test process's server (tests/pg.py)."""
    return test_pg.url("postgres")


async def _fresh_database(server_uri: str) -> str:
    """Create an empty database on the server, apply the PostgreSQL migrations; its URI."""
    import asyncpg

    name = f"t_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(server_uri)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    uri = server_uri.replace("/postgres?", f"/{name}?", 1)
    assert name in uri, server_uri
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute(postgresql_script())
    finally:
        await conn.close()
    return uri


@pytest.fixture(scope="module")
def pg_schema(pg_server: str) -> dict[str, Table]:
    """The shape of a database built by the PostgreSQL migrations."""
    import asyncpg

    async def describe() -> dict[str, Table]:
        conn = await asyncpg.connect(await _fresh_database(pg_server))
        try:
            return await postgresql_schema(conn)
        finally:
            await conn.close()

    return asyncio.run(describe())


@pytest.fixture
async def pg(pg_server: str) -> AsyncIterator[Any]:
    """A connection to a fresh database built by the PostgreSQL migrations."""
    import asyncpg

    conn = await asyncpg.connect(await _fresh_database(pg_server))
    try:
        yield conn
    finally:
        await conn.close()


def test_postgresql_schema_matches_the_sqlite_migrations(pg_schema: dict[str, Table]) -> None:
    sqlite = sqlite_schema(sqlite_database())
    assert len(sqlite) > 20, "the SQLite migrations were not found"
    assert differences(sqlite, pg_schema) == []


def test_a_column_added_to_sqlite_only_is_a_difference(pg_schema: dict[str, Table]) -> None:
    sqlite = sqlite_schema(sqlite_database("ALTER TABLE outbox ADD COLUMN priority INTEGER;"))
    assert differences(sqlite, pg_schema) == [
        "outbox: columns ['id', 'kind', 'broadcast_id', 'chat_id', 'text', 'buttons', 'status',"
        " 'attempts', 'not_before', 'claimed_at', 'lease_until', 'done_at', 'error', 'created_at',"
        " 'sent_message_id', 'delivery', 'priority'] != ['id', 'kind', 'broadcast_id', 'chat_id',"
        " 'text', 'buttons', 'status', 'attempts', 'not_before', 'claimed_at', 'lease_until',"
        " 'done_at', 'error', 'created_at', 'sent_message_id', 'delivery']"
    ]
    dropped_index = sqlite_schema(sqlite_database("DROP INDEX outbox_leased;"))
    assert [d.split(":")[0] for d in differences(dropped_index, pg_schema)] == ["outbox indexes"]


def test_surrogate_keys_are_identities_and_text_compares_bytewise(
    pg_schema: dict[str, Table],
) -> None:
    sqlite = sqlite_database()
    surrogate = set()
    for name in pg_schema:
        info = sqlite.execute(f"PRAGMA table_info({name})").fetchall()
        if any(r[1] == "id" and r[2] == "INTEGER" and r[5] == 1 for r in info):
            surrogate.add((name, "id"))
    assert len(surrogate) > 10
    # Surrogate keys under another name: WhatsApp's inbox order and its sent messages' ids.
    surrogate |= {("whatsapp_inbox", "seq"), ("whatsapp_messages", "message_id")}
    # A surrogate key numbers itself; a Telegram id used as a key (users.telegram_id) never does.
    assert {(t, c) for t, table in pg_schema.items() for c in table.identity} == surrogate
    # "C" compares bytes, as SQLite's BINARY: ISO times and codes sort the same on both engines.
    assert {
        (t, c, collation)
        for t, table in pg_schema.items()
        for c, collation in table.collations.items()
        if collation != "C"
    } == set()


# One row per table, in foreign-key order: only the columns without a default (and a few keys),
# so that every default and identity fills in the rest. Telegram ids above 2**32 prove BIGINT.
BIG = 5_000_000_123
ROWS: dict[str, dict[str, Any]] = {
    "users": {"telegram_id": BIG},
    "funding_programs": {
        "name": "APBD",
        "source_type": "apbd_kabupaten",
        "region_code": "12.01",
        "quota": 10,
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    },
    "registrations": {"operator_id": BIG, "nik_enc": b"\x00\xff", "funding_program_id": 1},
    "roles": {"telegram_id": BIG, "role": "cadre", "region_code": "12.01.01", "granted_by": "cli"},
    "registration_events": {"registration_id": 1, "actor": "system", "to_status": "diajukan"},
    "fix_requests": {"registration_id": 1, "fields": '["name"]', "requested_by": BIG},
    "p3ke": {"nik_hash": "h1", "decile": 3},
    "p3ke_imports": {"source": "p3ke.csv", "rows": 1},
    "review_steps": {"reviewer_id": BIG, "registration_id": 1},
    "members": {
        "nik_hash": "h1",
        "nik_enc": b"\x01",
        "nik_masked": "1210********0003",
        "kpj": "12345678901",
        "programs": "JKK_JKM",
        "protected_until": "2026-12-31",
        "status": "aktif",
    },
    "claims": {
        "claim_no": "K1",
        "kpj": "12345678901",
        "type": "JHT",
        "status": "diajukan",
        "status_date": "2026-01-02",
    },
    "membership_flow_state": {"telegram_id": BIG, "flow": "status", "step": "nik"},
    "status_lookups": {"telegram_id": BIG},
    "questions": {"asker_id": BIG, "text": "Berapa iurannya?"},
    "cadre_invites": {
        "code": "abc",
        "desa_code": "12.01.01.2001",
        "created_by": BIG,
        "expires_at": "2026-02-01T00:00:00Z",
    },
    "cadres": {"telegram_id": BIG, "desa_code": "12.01.01.2001", "name": "Sri", "invite_id": 1},
    "broadcasts": {"author_id": BIG},
    "outbox": {"kind": "broadcast", "broadcast_id": 1, "chat_id": BIG},
    "reminders_sent": {
        "kind": "fix",
        "subject": "1",
        "period": "1",
        "recipient_id": BIG,
        "outbox_id": 1,
    },
    "privacy_requests": {
        "kind": "correction",
        "requested_by": BIG,
        "text_enc": b"\x02",
        "outcome": "open",
    },
    "privacy_sessions": {"telegram_id": BIG},
    "member_links": {"telegram_id": BIG, "nik_hash": "h1", "proof": "kpj"},
    "link_requests": {
        "telegram_id": BIG,
        "nik_hash": "h1",
        "code_salt": b"salt",
        "code_digest": "ab12",
        "expires_at": "2026-02-01T00:00:00Z",
    },
    "cadre_invite_uses": {"invite_id": 1, "telegram_id": BIG},
    "cadre_pending": {"phone_hash": "p1", "desa_code": "12.01.01.2001", "name": "Ani"},
    "command_scopes": {"bot_id": 42, "telegram_id": BIG, "menu": "cadre:id"},
    "rate_buckets": {"name": "telegram", "tokens": 30.0, "updated_at": 1_700_000_000.25},
    "flood_buckets": {"telegram_id": BIG, "tokens": 29.0, "updated_at": 1_700_000_000.25},
    "inbox": {"update_id": BIG, "person": BIG, "body": "{}", "received_at": "2026-01-01T00:00Z"},
    "whatsapp_inbox": {"message_id": "wamid.1", "person": 10**16 + BIG, "received_at": "2026"},
    "whatsapp_contacts": {"person": 10**16 + BIG, "last_inbound_at": "2026-01-01T00:00Z"},
    "whatsapp_messages": {"person": 10**16 + BIG, "choices": "[]", "created_at": "2026"},
}


def _shape(value: Any) -> Any:
    """A value with its digits blurred: two timestamps taken moments apart have the same shape."""
    return re.sub(r"\d", "9", value) if isinstance(value, str) else value


async def test_one_row_per_table_gets_the_same_defaults_on_both_engines(pg: Any) -> None:
    sqlite = sqlite_database()
    sqlite.row_factory = sqlite3.Row
    tables = [
        r[0]
        for r in sqlite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    assert sorted(ROWS) == sorted(tables), "give every table a row in ROWS"
    for table, values in ROWS.items():
        names = ", ".join(values)
        sqlite.execute(
            f"INSERT INTO {table}({names}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
        marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        await pg.execute(f"INSERT INTO {table}({names}) VALUES ({marks})", *values.values())
    for table, values in ROWS.items():
        lite = dict(sqlite.execute(f"SELECT * FROM {table}").fetchone())
        post = dict(await pg.fetchrow(f"SELECT * FROM {table}"))
        assert list(post) == list(lite), table
        for column, given in values.items():
            assert lite[column] == given and post[column] == given, f"{table}.{column}"
        for column in lite.keys() - values.keys():
            assert _shape(post[column]) == _shape(lite[column]), f"{table}.{column}"
    # Identity columns numbered the rows; the next insert takes the next number.
    second = await pg.fetchval(
        "INSERT INTO outbox(kind, chat_id) VALUES ('notice', 1) RETURNING id"
    )
    assert second == 2
    # Timestamps by default: seconds, or milliseconds in the outbox and the audit log.
    created = await pg.fetchval("SELECT created_at FROM users")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    not_before = await pg.fetchval("SELECT not_before FROM outbox WHERE id = 2")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", not_before)


async def test_the_audit_log_is_append_only_on_both_engines(pg: Any) -> None:
    import asyncpg

    sqlite = sqlite_database()
    for table in ("funding_programs", "registrations", "registration_events"):
        values = ROWS[table]
        sqlite.execute(
            f"INSERT INTO {table}({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
        marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        await pg.execute(
            f"INSERT INTO {table}({', '.join(values)}) VALUES ({marks})", *values.values()
        )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        sqlite.execute("UPDATE registration_events SET reason = 'x'")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
        await pg.execute("UPDATE registration_events SET reason = 'x'")
    # Deleting the registration still removes its history (ON DELETE CASCADE), on both.
    sqlite.execute("DELETE FROM registrations")
    await pg.execute("DELETE FROM registrations")
    assert sqlite.execute("SELECT count(*) FROM registration_events").fetchone()[0] == 0
    assert await pg.fetchval("SELECT count(*) FROM registration_events") == 0
