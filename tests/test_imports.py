"""`jaga import members|claims`: good files, bad rows, re-imports, 'now terdaftar' messages."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.membership import FileSource, ImportFailed, import_claims, import_members
from jaga import cli
from storage import audit, outbox, users
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration
from tests.test_outbox import fast_sender

MEMBER_HEADER = "nik,kpj,program,dilindungi_sampai,tanggal_bayar_terakhir,status"
CLAIM_HEADER = "no_klaim,nik,kpj,jenis,status,tanggal_status,jumlah_dibayar"


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def count(h: Harness, table: str) -> int:
    return int(await h.db.fetchval(f"SELECT count(*) FROM {table}"))


async def queued(h: Harness) -> list[tuple[str, int, str]]:
    """The outbox rows (kind, chat, text), by chat."""
    rows = await h.db.fetchall("SELECT kind, chat_id, text FROM outbox ORDER BY chat_id, id")
    return [(r["kind"], r["chat_id"], r["text"]) for r in rows]


async def wait_until_delivered(h: Harness, limit: float = 10.0) -> None:
    """Wait (bounded) until the sender has dealt with every outbox row."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    marks = ", ".join("?" for _ in outbox.FINAL)
    while await h.db.fetchval(
        f"SELECT count(*) FROM outbox WHERE status NOT IN ({marks})", outbox.FINAL
    ):
        assert loop.time() < deadline, "the sender did not finish"
        await asyncio.sleep(0.02)


async def test_members_csv_is_imported_and_reimport_changes_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    cipher = harness.app.bot_data.cipher
    nik_a, nik_b = nik_for(), nik_for(female=True)
    path = write(
        tmp_path / "members.csv",
        MEMBER_HEADER,
        f"{nik_a},12345678901,JKK+JKM,2026-12-31,2026-12-01,aktif",
        f"{nik_b[:4]} {nik_b[4:8]} {nik_b[8:12]} {nik_b[12:]},12345678902,"
        "JKK JKM JHT,31/01/2027,,AKTIF",
    )
    summary = await import_members(harness.db, cipher, FileSource(path))
    assert (summary.rows, summary.changed, summary.unchanged) == (2, 2, 0)
    row = await harness.db.fetchone(
        "SELECT * FROM members WHERE nik_hash = ?", (cipher.lookup_hash("nik", nik_b),)
    )
    assert row["kpj"] == "12345678902"
    assert row["programs"] == "JKK_JKM_JHT"
    assert row["protected_until"] == "2027-01-31"
    assert row["last_paid"] is None
    assert cipher.decrypt(row["nik_enc"]) == nik_b
    assert row["nik_masked"] == nik_b[:4] + "********" + nik_b[12:]

    again = await import_members(harness.db, cipher, FileSource(path))
    assert (again.changed, again.unchanged) == (0, 2)
    assert await count(harness, "members") == 2

    write(
        path,
        MEMBER_HEADER,
        f"{nik_a},12345678901,JKK+JKM,2027-01-31,2027-01-02,aktif",
    )
    later = await import_members(harness.db, cipher, FileSource(path))
    assert (later.changed, later.unchanged) == (1, 0)
    until = await harness.db.fetchval(
        "SELECT protected_until FROM members WHERE kpj = '12345678901'"
    )
    assert until == "2027-01-31"


async def test_members_xlsx_with_numbers_and_date_cells(harness: Harness, tmp_path: Path) -> None:
    nik = nik_for()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NIK", "No KPJ", "Program", "Protected until", "Last paid", "Status"])
    sheet.append([nik, 98765432101, "JKK, JKM", dt.date(2026, 11, 30), None, "aktif"])
    path = tmp_path / "members.xlsx"
    book.save(path)
    summary = await import_members(harness.db, harness.app.bot_data.cipher, FileSource(path))
    assert summary.changed == 1
    row = await harness.db.fetchone("SELECT kpj, protected_until FROM members")
    assert (row["kpj"], row["protected_until"]) == ("98765432101", "2026-11-30")


async def test_bad_member_rows_are_reported_by_line_and_nothing_is_imported(
    harness: Harness, tmp_path: Path
) -> None:
    good, repeated = nik_for(), nik_for()
    path = write(
        tmp_path / "members.csv",
        MEMBER_HEADER,
        f"{good},12345678901,JKK+JKM,2026-12-31,2026-12-01,aktif",
        "12345,12345678902,JKK+JKM,2026-12-31,2026-12-01,aktif",
        f"{nik_for()},1234567890,JKK+JKM,2026-12-31,2026-12-01,aktif",
        f"{nik_for()},12345678903,JHT,2026-12-31,2026-12-01,aktif",
        f"{nik_for()},12345678904,JKK+JKM,31-13-2026,2026-12-01,aktif",
        f"{nik_for()},12345678905,JKK+JKM,2026-12-31,kemarin,aktif",
        f"{nik_for()},12345678906,JKK+JKM,2026-12-31,2026-12-01,hilang",
        "",
        f"{repeated},12345678907,JKK+JKM,2026-12-31,2026-12-01,aktif",
    )
    with pytest.raises(ImportFailed) as failed:
        await import_members(harness.db, harness.app.bot_data.cipher, FileSource(path))
    lines = {e.line: e.message for e in failed.value.errors}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8]
    assert "16 digits" in lines[3]
    assert "11 digits" in lines[4]
    assert "program" in lines[5]
    assert "dilindungi_sampai" in lines[6]
    assert "tanggal_bayar_terakhir" in lines[7]
    assert "status" in lines[8]
    assert await count(harness, "members") == 0


async def test_repeated_nik_and_taken_kpj_are_refused(harness: Harness, tmp_path: Path) -> None:
    cipher = harness.app.bot_data.cipher
    first, second = nik_for(), nik_for()
    path = write(
        tmp_path / "a.csv", MEMBER_HEADER, f"{first},12345678901,JKK+JKM,2026-12-31,,aktif"
    )
    await import_members(harness.db, cipher, FileSource(path))
    write(
        path,
        MEMBER_HEADER,
        f"{second},12345678901,JKK+JKM,2026-12-31,,aktif",
        f"{first},12345678909,JKK+JKM,2026-12-31,,aktif",
        f"{first},12345678909,JKK+JKM,2026-12-31,,aktif",
    )
    with pytest.raises(ImportFailed) as failed:
        await import_members(harness.db, cipher, FileSource(path))
    messages = [str(e) for e in failed.value.errors]
    assert messages == [
        "line 2: KPJ already belongs to another member",
        "line 4: NIK repeats line 3",
    ]
    assert await harness.db.fetchval("SELECT kpj FROM members") == "12345678901"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("nik,kpj,status\n", "missing column(s) program, dilindungi_sampai"),
        ("", "the file is empty"),
    ],
)
async def test_unusable_files_are_refused(
    harness: Harness, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "members.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFailed, match=re.escape(expected)):
        await import_members(harness.db, harness.app.bot_data.cipher, FileSource(path))


async def test_unsupported_file_type(harness: Harness, tmp_path: Path) -> None:
    path = write(tmp_path / "members.txt", MEMBER_HEADER)
    with pytest.raises(ImportFailed, match=r"use \.csv or \.xlsx"):
        await import_members(harness.db, harness.app.bot_data.cipher, FileSource(path))


async def test_kpj_moves_approved_registration_to_terdaftar_and_tells_the_worker(
    harness: Harness, tmp_path: Path
) -> None:
    cipher = harness.app.bot_data.cipher
    nik = nik_for()
    registration = await submitted_registration(
        harness.db, cipher, nik=nik, operator_id=601, status="disetujui"
    )
    waiting = await submitted_registration(harness.db, cipher, operator_id=602)
    by_cadre = await submitted_registration(
        harness.db, cipher, operator_id=603, for_self=False, status="disetujui", name="Sari"
    )
    assert by_cadre.nik_enc is not None and waiting.nik_enc is not None
    cadre_nik = cipher.decrypt(by_cadre.nik_enc)
    waiting_nik = cipher.decrypt(waiting.nik_enc)
    path = write(
        tmp_path / "members.csv",
        MEMBER_HEADER,
        f"{nik},12345678901,JKK+JKM,2026-12-31,2026-12-01,aktif",
        f"{waiting_nik},12345678902,JKK+JKM,2026-12-31,2026-12-01,aktif",
        f"{cadre_nik},12345678903,JKK+JKM,2026-12-31,2026-12-01,aktif",
    )
    summary = await import_members(harness.db, cipher, FileSource(path))
    assert registration.ref is not None and by_cadre.ref is not None
    assert sorted(summary.registered) == sorted([registration.ref, by_cadre.ref])
    row = await harness.db.fetchone(
        "SELECT status, kpj FROM registrations WHERE id = ?", (registration.id,)
    )
    assert (row["status"], row["kpj"]) == ("terdaftar", "12345678901")
    events = await audit.history(harness.db, registration.id)
    assert (events[-1].actor, events[-1].to_status) == ("import", "terdaftar")
    still = await harness.db.fetchval(
        "SELECT status FROM registrations WHERE id = ?", (waiting.id,)
    )
    assert still == "diajukan"

    # The messages wait in the outbox, written in the same transaction as the change.
    assert await queued(harness) == [
        (
            "terdaftar",
            601,
            f"Selamat, Budi Santoso sudah terdaftar di BPJS Ketenagakerjaan "
            f"(nomor {registration.ref}).\nNomor kepesertaan (KPJ): 12345678901",
        ),
        (
            "terdaftar",
            603,
            "Kabar untuk pekerja yang Anda daftarkan:\n"
            f"Selamat, Sari sudah terdaftar di BPJS Ketenagakerjaan (nomor {by_cadre.ref})."
            "\nNomor kepesertaan (KPJ): 12345678903",
        ),
    ]

    # A re-import neither repeats the transition nor the message.
    again = await import_members(harness.db, cipher, FileSource(path))
    assert again.registered == []
    assert len(await queued(harness)) == 2
    assert len(await audit.history(harness.db, registration.id)) == len(events)


async def test_failed_import_queues_no_message(harness: Harness, tmp_path: Path) -> None:
    cipher = harness.app.bot_data.cipher
    nik = nik_for()
    await submitted_registration(harness.db, cipher, nik=nik, operator_id=621, status="disetujui")
    path = write(
        tmp_path / "m.csv",
        MEMBER_HEADER,
        f"{nik},12345678901,JKK+JKM,2026-12-31,,aktif",
        f"{nik_for()},12345678902,JKK+JKM,2026-12-31,,hilang",
    )
    with pytest.raises(ImportFailed):
        await import_members(harness.db, cipher, FileSource(path))
    assert await queued(harness) == []
    assert await harness.db.fetchval("SELECT status FROM registrations") == "disetujui"


async def test_message_is_in_the_recipients_language(harness: Harness, tmp_path: Path) -> None:
    cipher = harness.app.bot_data.cipher
    nik = nik_for()
    await users.set_language(harness.db, 631, "en")
    row = await submitted_registration(
        harness.db, cipher, nik=nik, operator_id=631, status="disetujui"
    )
    path = write(tmp_path / "m.csv", MEMBER_HEADER, f"{nik},12345678901,JKK+JKM,2026-12-31,,aktif")
    await import_members(harness.db, cipher, FileSource(path))
    assert await queued(harness) == [
        (
            "terdaftar",
            631,
            f"Congratulations, Budi Santoso is now registered with BPJS Ketenagakerjaan "
            f"(number {row.ref}).\nMembership number (KPJ): 12345678901",
        )
    ]


async def test_sender_delivers_import_messages_and_skips_who_blocked_the_bot(
    harness: Harness, tmp_path: Path
) -> None:
    cipher = harness.app.bot_data.cipher
    blocked_nik, nik = nik_for(), nik_for()
    await submitted_registration(
        harness.db, cipher, nik=blocked_nik, operator_id=611, status="disetujui"
    )
    row = await submitted_registration(
        harness.db, cipher, nik=nik, operator_id=612, status="disetujui"
    )
    path = write(
        tmp_path / "m.csv",
        MEMBER_HEADER,
        f"{blocked_nik},12345678901,JKK+JKM,2026-12-31,,aktif",
        f"{nik},12345678902,JKK+JKM,2026-12-31,,aktif",
    )
    await import_members(harness.db, cipher, FileSource(path))
    harness.api.fail_next("sendMessage", status=403, chat_id=611)
    sender = await fast_sender(harness)
    try:
        await wait_until_delivered(harness)
    finally:
        await sender.stop()
    assert harness.text(612) == (
        f"Selamat, Budi Santoso sudah terdaftar di BPJS Ketenagakerjaan (nomor {row.ref})."
        "\nNomor kepesertaan (KPJ): 12345678902"
    )
    statuses = await harness.db.fetchall("SELECT chat_id, status FROM outbox ORDER BY chat_id")
    assert [tuple(r) for r in statuses] == [(611, "blocked"), (612, "sent")]
    # The person who blocked the bot was tried once, not again and again.
    assert len([c for c in harness.api.sent(611) if c.method == "sendMessage"]) == 1


async def test_claims_csv_import_update_and_bad_rows(harness: Harness, tmp_path: Path) -> None:
    cipher = harness.app.bot_data.cipher
    nik = nik_for()
    path = write(
        tmp_path / "claims.csv",
        CLAIM_HEADER,
        f"K-001,{nik},,JKK,diproses,2026-11-02,",
        "K-002,,12345678901,jkm,dibayar,05/11/2026,Rp42.000.000",
    )
    summary = await import_claims(harness.db, cipher, FileSource(path))
    assert (summary.rows, summary.changed) == (2, 2)
    paid = await harness.db.fetchone("SELECT * FROM claims WHERE claim_no = 'K-002'")
    assert (paid["type"], paid["amount_paid"], paid["status_date"]) == (
        "JKM",
        42_000_000,
        "2026-11-05",
    )
    first = await harness.db.fetchone("SELECT * FROM claims WHERE claim_no = 'K-001'")
    assert first["nik_hash"] == cipher.lookup_hash("nik", nik)

    write(path, CLAIM_HEADER, f"K-001,{nik},,JKK,dibayar,2026-11-20,3500000")
    update = await import_claims(harness.db, cipher, FileSource(path))
    assert update.changed == 1
    row = await harness.db.fetchone(
        "SELECT status, amount_paid FROM claims WHERE claim_no='K-001'"
    )
    assert (row["status"], row["amount_paid"]) == ("dibayar", 3_500_000)
    assert (await import_claims(harness.db, cipher, FileSource(path))).unchanged == 1

    write(
        path,
        CLAIM_HEADER,
        "K-003,,,JKK,diajukan,2026-11-02,",
        "K-004,,12345678901,JP,diajukan,2026-11-02,",
        "K-005,,12345678901,JHT,selesai,2026-11-02,",
        "K-006,,12345678901,JHT,diajukan,besok,",
        "K-007,,12345678901,JHT,dibayar,2026-11-02,banyak",
        "K-008,,12345678901,JHT,diajukan,2026-11-02,",
        "K-008,,12345678901,JHT,diproses,2026-11-03,",
    )
    with pytest.raises(ImportFailed) as failed:
        await import_claims(harness.db, cipher, FileSource(path))
    assert [e.line for e in failed.value.errors] == [2, 3, 4, 5, 6, 8]
    assert "NIK or a KPJ" in failed.value.errors[0].message
    assert "repeats line 7" in failed.value.errors[-1].message
    assert await count(harness, "claims") == 2


def test_cli_import_reports_bad_rows_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("JAGA_SECRET_KEY", "cli-test-secret-key-of-enough-length-0123")
    bad = write(
        tmp_path / "bad.csv",
        MEMBER_HEADER,
        f"{nik_for()},12345678901,JKK+JKM,2026-12-31,,aktif",
        "123,12345678902,JKK+JKM,2026-12-31,,aktif",
    )
    assert cli.main(["import", "members", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "1 bad row(s); nothing was imported" in err
    assert f"{bad}: line 3: NIK must be 16 digits" in err

    good = write(
        tmp_path / "good.csv", MEMBER_HEADER, f"{nik_for()},12345678901,JKK+JKM,2026-12-31,,aktif"
    )
    assert cli.main(["import", "members", str(good)]) == 0
    assert "1 members rows, 1 new or changed, 0 unchanged" in capsys.readouterr().out
    claims = write(tmp_path / "c.csv", CLAIM_HEADER, "K-1,,12345678901,JHT,diajukan,2026-11-02,")
    assert cli.main(["import", "claims", str(claims)]) == 0
    assert cli.main(["import", "claims", str(tmp_path / "missing.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


# --- jaga import cadres, jaga grant cadre with a desa name -------------------------------------

CADRE_HEADER = "telegram_id,phone,name,kode_desa,desa,kecamatan"


def _cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, region: str = "12.10") -> Path:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("JAGA_DB", str(db))
    monkeypatch.setenv("JAGA_SECRET_KEY", "cli-test-secret-key-of-enough-length-0123")
    monkeypatch.setenv("JAGA_REGION", region)
    return db


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def test_cli_import_cadres_csv_by_id_desa_name_and_phone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _cli_env(tmp_path, monkeypatch)
    good = write(
        tmp_path / "kader.csv",
        CADRE_HEADER,
        "2002,,sari lubis,12.10.19.1001,,",
        "2003,,Rina Sitorus,,Sei Penggantungan,",
        "2004,,Budi Harahap,,Pardamean,Rantau Selatan",
        ",0812 9876 5432,Ani Siregar,,Desa Sei Lumut,",
    )
    assert cli.main(["import", "cadres", str(good)]) == 0
    out = capsys.readouterr().out
    assert "4 cadre rows, 3 roles granted now, 0 already held, 1 by phone only" in out
    assert "share that phone number" in out
    assert _rows(db, "SELECT telegram_id, region_code FROM roles ORDER BY telegram_id") == [
        (2002, "12.10.19.1001"),
        (2003, "12.10.19.2002"),
        (2004, "12.10.02.1007"),
    ]
    assert _rows(db, "SELECT name FROM cadres ORDER BY telegram_id") == [
        ("Sari Lubis",),
        ("Rina Sitorus",),
        ("Budi Harahap",),
    ]
    assert _rows(db, "SELECT desa_code, name FROM cadre_pending") == [
        ("12.10.19.2003", "Ani Siregar")
    ]
    assert "0812" not in str(_rows(db, "SELECT * FROM cadre_pending"))  # a keyed hash only
    # Importing again grants nothing twice.
    assert cli.main(["import", "cadres", str(good)]) == 0
    assert "0 roles granted now, 3 already held" in capsys.readouterr().out


def test_cli_import_cadres_bad_rows_by_line_and_nothing_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _cli_env(tmp_path, monkeypatch, region="12")
    bad = write(
        tmp_path / "bad.csv",
        CADRE_HEADER,
        "2002,,Sari Lubis,12.10.19.1001,,",  # fine
        ",,Tanpa Nomor,12.10.19.1001,,",
        "2003,,Rina Sitorus,,Pardamean,",  # four desa of that name in the province
        "2004,,Budi Harahap,,Desa Tidak Ada,",
        "abc,,Ani Siregar,12.10.19.1001,,",
        "2005,,123,12.10.19.1001,,",
        ",0812,Tono Nasution,12.10.19.1001,,",
        "2002,,Sari Lubis,12.10.19.1001,,",
        "2006,,Dewi Lestari,14.71.01.1001,,",
    )
    assert cli.main(["import", "cadres", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "8 bad row(s); nothing was imported" in err
    assert f"{bad}: line 3: needs a telegram_id or a phone number" in err
    assert f"{bad}: line 4: 4 desa are named 'Pardamean'" in err
    assert "12.10.02.1007 (kelurahan Pardamean, kecamatan Rantau Selatan)" in err
    assert f"{bad}: line 5: no desa named 'Desa Tidak Ada'" in err
    assert f"{bad}: line 6: telegram_id must be a number" in err
    assert f"{bad}: line 7: name is empty or not a person's name" in err
    assert f"{bad}: line 8: phone is not an Indonesian mobile number" in err
    assert f"{bad}: line 9: the same cadre and desa as line 2" in err
    assert f"{bad}: line 10: " in err
    assert _rows(db, "SELECT COUNT(*) FROM roles") == [(0,)]
    assert _rows(db, "SELECT COUNT(*) FROM cadres") == [(0,)]
    missing = write(tmp_path / "cols.csv", "nama,kode_desa", "Sari Lubis,12.10.19.1001")
    assert cli.main(["import", "cadres", str(missing)]) == 1
    assert "missing column(s) telegram_id or phone" in capsys.readouterr().err


def test_cli_import_cadres_xlsx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _cli_env(tmp_path, monkeypatch)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Telegram ID", "Nama", "Desa", "Kecamatan"])
    sheet.append([2002.0, "Sari Lubis", "Sei Berombang", "Panai Hilir"])
    sheet.append([2003, "Rina Sitorus", "sei  tawar", None])
    path = tmp_path / "kader.xlsx"
    book.save(path)
    assert cli.main(["import", "cadres", str(path)]) == 0
    assert "2 cadre rows, 2 roles granted now" in capsys.readouterr().out
    assert _rows(db, "SELECT telegram_id, region_code FROM roles ORDER BY telegram_id") == [
        (2002, "12.10.19.1001"),
        (2003, "12.10.19.2004"),
    ]


def test_cli_grant_cadre_by_desa_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _cli_env(tmp_path, monkeypatch, region="12")
    argv = ["grant", "cadre", "2002", "--region", "Sei Berombang", "--name", "sari lubis"]
    assert cli.main(argv) == 0
    assert "cadre 2002 (Sari Lubis) 12.10.19.1001 (Sei Berombang): granted" in (
        capsys.readouterr().out
    )
    assert _rows(db, "SELECT display_name FROM users WHERE telegram_id = 2002") == [
        ("Sari Lubis",)
    ]
    assert cli.main(["grant", "cadre", "2003", "--region", "Pardamean"]) == 2
    err = capsys.readouterr().err
    assert "4 desa are named 'Pardamean'" in err
    assert "12.10.02.1007 (kelurahan Pardamean, kecamatan Rantau Selatan)" in err
    assert "12.01.02.2006 (desa Pardamean, kecamatan Sorkam)" in err
    assert cli.main(["grant", "cadre", "2003", "--region", "Pardamean, Rantau Selatan"]) == 0
    assert "12.10.02.1007" in capsys.readouterr().out
    assert cli.main(["grant", "cadre", "2004", "--region", "Desa Tidak Ada"]) == 2
    assert "no desa named 'Desa Tidak Ada' in JAGA_REGION 12" in capsys.readouterr().err
    assert cli.main(["grant", "--revoke", "cadre", "2002", "--region", "sei berombang"]) == 0
    assert _rows(db, "SELECT telegram_id FROM roles WHERE revoked_at IS NULL") == [(2003,)]
