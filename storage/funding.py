"""Funding programs: who pays the contributions, for which region, how many places, how long."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storage.db import Conn, Database, now_text

SOURCE_TYPES = (
    "mandiri",
    "apbd_kabupaten",
    "apbd_provinsi",
    "dbh_sawit",
    "apbdes",
    "csr_sertakan",
    "donatur",
)


@dataclass(frozen=True)
class Program:
    """A funding program and its quota."""

    id: int
    name: str
    source_type: str
    region_code: str
    quota: int
    quota_per_desa: int | None
    starts_on: str
    ends_on: str
    closed_at: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Program:
        """The program of a `funding_programs` row."""
        return cls(
            id=row["id"],
            name=row["name"],
            source_type=row["source_type"],
            region_code=row["region_code"],
            quota=row["quota"],
            quota_per_desa=row["quota_per_desa"],
            starts_on=row["starts_on"],
            ends_on=row["ends_on"],
            closed_at=row["closed_at"],
        )

    def covers(self, desa_code: str) -> bool:
        """Whether the program pays for workers living in this desa."""
        return desa_code == self.region_code or desa_code.startswith(self.region_code + ".")

    def open_on(self, day: str) -> bool:
        """Whether the program takes approvals on this ISO date."""
        return self.closed_at is None and self.starts_on <= day <= self.ends_on


async def add(
    db: Database,
    *,
    name: str,
    source_type: str,
    region_code: str,
    quota: int,
    quota_per_desa: int | None,
    starts_on: str,
    ends_on: str,
) -> int:
    """Create a program; returns its id."""
    if source_type not in SOURCE_TYPES:
        raise ValueError(f"unknown source type {source_type!r}")
    return await db.insert(
        "INSERT INTO funding_programs(name, source_type, region_code, quota, quota_per_desa, "
        "starts_on, ends_on) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (name, source_type, region_code, quota, quota_per_desa, starts_on, ends_on),
    )


async def get(db: Database, program_id: int) -> Program | None:
    """One program by id."""
    row = await db.fetchone("SELECT * FROM funding_programs WHERE id = ?", (program_id,))
    return None if row is None else Program.from_row(row)


async def all_programs(db: Database) -> list[Program]:
    """Every program, open ones first, then by id."""
    rows = await db.fetchall(
        "SELECT * FROM funding_programs ORDER BY closed_at IS NOT NULL, region_code, id"
    )
    return [Program.from_row(r) for r in rows]


async def close(db: Database, program_id: int) -> bool:
    """Stop a program taking approvals (its approvals stay); False if unknown or closed."""
    changed = await db.execute(
        "UPDATE funding_programs SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
        (now_text(), program_id),
    )
    return changed > 0


async def open_for(db: Database, desa_code: str, day: str) -> list[Program]:
    """Programs that pay for this desa and take approvals on `day` (ISO date)."""
    rows = await db.fetchall(
        "SELECT * FROM funding_programs WHERE closed_at IS NULL AND starts_on <= ? "
        "AND ends_on >= ? ORDER BY id",
        (day, day),
    )
    return [p for p in (Program.from_row(r) for r in rows) if p.covers(desa_code)]


async def in_region(db: Database, region_code: str) -> list[Program]:
    """Programs paying for this region or a part of it, or covering all of it."""
    rows = await db.fetchall(
        "SELECT * FROM funding_programs WHERE region_code = ? OR region_code LIKE ? || '.%' "
        "OR ? LIKE region_code || '.%' ORDER BY closed_at IS NOT NULL, id",
        (region_code, region_code, region_code),
    )
    return [Program.from_row(r) for r in rows]


async def used(db: Database, program_id: int, desa_code: str | None = None) -> int:
    """Places taken in a program (in one desa, if given), over committed data."""
    sql, params = _used_query(program_id, desa_code)
    return int(await db.fetchval(sql, params) or 0)


async def used_in(conn: Conn, program_id: int, desa_code: str | None = None) -> int:
    """Places taken, read inside an open write transaction (for the quota check)."""
    sql, params = _used_query(program_id, desa_code)
    cursor = await conn.execute(sql, params)
    row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


def _used_query(program_id: int, desa_code: str | None) -> tuple[str, tuple[object, ...]]:
    sql = (
        "SELECT COUNT(*) FROM registrations WHERE funding_program_id = ? "
        "AND status IN ('disetujui', 'terdaftar')"
    )
    params: tuple[object, ...] = (program_id,)
    if desa_code is not None:
        sql += " AND desa_code = ?"
        params += (desa_code,)
    return sql, params


async def used_by_program(db: Database, program_ids: list[int]) -> dict[int, int]:
    """Places taken in each of several programs."""
    if not program_ids:
        return {}
    marks = ", ".join("?" for _ in program_ids)
    rows = await db.fetchall(
        f"SELECT funding_program_id, COUNT(*) FROM registrations WHERE funding_program_id IN "
        f"({marks}) AND status IN ('disetujui', 'terdaftar') GROUP BY funding_program_id",
        program_ids,
    )
    counts = {pid: 0 for pid in program_ids}
    counts.update({r[0]: r[1] for r in rows})
    return counts
