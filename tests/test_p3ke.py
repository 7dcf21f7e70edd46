"""P3KE / DTSEN deciles: import all or nothing, stored as hashes, shown on the card, filter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.crypto import FieldCipher
from jaga.cli import main as jaga
from storage import p3ke, roles
from storage.db import Database
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

REVIEWER = 7001


SECRET = "cli-test-secret-key-of-enough-length-0123"


def test_import_with_bad_rows_imports_nothing_and_names_the_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", SECRET)
    good = tmp_path / "good.csv"
    first, second = nik_for(), nik_for()
    good.write_text(f"nik;desil\n{first[:4]} {first[4:]};1\n{second};7\n", encoding="utf-8")
    assert jaga(["import", "p3ke", str(good)]) == 0
    assert "2 P3KE rows imported" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"nik,desil\n{nik_for()},2\n12345,1\n{nik_for()},11\n{first},3\n\n{nik_for()}\n",
        encoding="utf-8",
    )
    assert jaga(["import", "p3ke", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "3 bad row(s); nothing imported" in err
    assert "line 3: not a valid 16-digit NIK" in err
    assert "line 4: decile must be a whole number 1-10" in err
    assert "line 7: expected two columns" in err
    assert "line 5" not in err  # a NIK from the previous list is fine in a new list

    async def check() -> None:
        db = await Database.open(tmp_path / "cli.sqlite3")
        try:
            # Nothing of the bad file went in; the previous list is intact.
            assert await p3ke.size(db) == 2
            cipher = FieldCipher(SECRET.encode())
            assert await p3ke.decile_of(db, cipher.lookup_hash("nik", first)) == 1
            # Only keyed hashes are stored, never the NIK.
            rows = await db.fetchall("SELECT nik_hash FROM p3ke")
            assert all(first not in r[0] and len(r[0]) == 64 for r in rows)
        finally:
            await db.close()

    asyncio.run(check())

    again = tmp_path / "again.csv"
    again.write_text(f"{second},2\n{second},3\n", encoding="utf-8")
    assert jaga(["import", "p3ke", str(again)]) == 1
    assert "line 2: the same NIK is already on line 1" in capsys.readouterr().err
    assert jaga(["import", "p3ke", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


async def test_reimport_replaces_the_list(tmp_path: Path) -> None:
    from bot.p3ke import import_file

    db = await Database.open(tmp_path / "p.sqlite3")
    cipher = FieldCipher(b"k" * 32)
    try:
        old, new = nik_for(), nik_for()
        path = tmp_path / "a.csv"
        path.write_text(f"{old},4\n", encoding="utf-8")
        assert await import_file(db, cipher, path) == 1
        path.write_text(f"{new},2\n", encoding="utf-8")
        assert await import_file(db, cipher, path) == 1
        assert await p3ke.decile_of(db, cipher.lookup_hash("nik", old)) is None
        assert await p3ke.decile_of(db, cipher.lookup_hash("nik", new)) == 2
    finally:
        await db.close()


async def test_card_shows_decile_and_filter_keeps_deciles_one_and_two(harness: Harness) -> None:
    h = harness
    cipher = h.app.bot_data.cipher
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    poor, richer, unlisted = nik_for(), nik_for(), nik_for()
    await p3ke.replace_all(
        h.db,
        [(cipher.lookup_hash("nik", poor), 1), (cipher.lookup_hash("nik", richer), 6)],
        source="test",
    )
    r_richer = await submitted_registration(h.db, cipher, nik=richer)
    r_unlisted = await submitted_registration(h.db, cipher, nik=unlisted)
    r_poor = await submitted_registration(h.db, cipher, nik=poor)
    await h.send(REVIEWER, "/tinjau")
    assert h.text(REVIEWER).startswith(f"Pengajuan {r_richer.ref}")
    assert "P3KE: desil 6" in h.text(REVIEWER)
    await h.tap(REVIEWER, "Lewati")
    assert h.text(REVIEWER).startswith(f"Pengajuan {r_unlisted.ref}")
    assert "P3KE: NIK tidak ada di daftar" in h.text(REVIEWER)
    await h.tap(REVIEWER, "Hanya desil 1–2 P3KE")
    assert "Filter: hanya desil 1–2 P3KE (1 menunggu)." in h.text(REVIEWER)
    assert h.text(REVIEWER).startswith(f"Pengajuan {r_poor.ref}")
    assert "P3KE: desil 1" in h.text(REVIEWER)
    await h.tap(REVIEWER, "Lewati")
    assert "Tidak ada pengajuan lain" in h.text(REVIEWER)
    await h.tap(REVIEWER, "Tampilkan semua")
    assert h.text(REVIEWER).startswith(f"Pengajuan {r_richer.ref}")
