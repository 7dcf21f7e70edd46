"""/status: linked and unlinked users, arrears warnings, NIK + birth date lookups, the limit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot import membership
from bot.membership import FileSource, import_members
from storage import audit, roles
from storage import membership as store
from tests.conftest import Harness, HarnessFactory
from tests.factories import nik_for, submitted_registration

WORKER = 501
CADRE = 777
MEMBER_HEADER = "nik,kpj,program,dilindungi_sampai,tanggal_bayar_terakhir,status"


def pin_today(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    monkeypatch.setattr(membership, "today", lambda: day)


async def add_member(
    h: Harness, tmp_path: Path, nik: str, until: str = "2026-12-31", status: str = "aktif"
) -> None:
    path = tmp_path / f"m{nik}.csv"
    path.write_text(
        f"{MEMBER_HEADER}\n{nik},12345678901,JKK+JKM+JHT,{until},2026-12-01,{status}\n",
        encoding="utf-8",
    )
    await import_members(h.db, h.app.bot_data.cipher, FileSource(path))


async def lookup(h: Harness, user: int, nik: str, button: str = "STS OTHER") -> str:
    await h.press(user, button)
    await h.send(user, nik)
    return h.text(user)


async def test_unlinked_user_is_offered_to_link_or_look_up(harness: Harness) -> None:
    await harness.send(WORKER, "/status")
    assert "belum terhubung" in harness.text(WORKER)
    assert harness.labels(WORKER)[:2] == ["Hubungkan data saya", "Cek status orang lain"]


async def test_menu_button_opens_status(harness: Harness) -> None:
    await harness.send(WORKER, "/start")
    await harness.tap(WORKER, "Cek status")
    assert "belum terhubung" in harness.text(WORKER)


async def test_self_registered_worker_sees_state_and_history(harness: Harness) -> None:
    cipher = harness.app.bot_data.cipher
    row = await submitted_registration(harness.db, cipher, operator_id=WORKER)
    async with harness.db.write() as conn:
        await conn.execute(
            "UPDATE registrations SET status = 'perlu_perbaikan', reason = ? WHERE id = ?",
            ("Foto KTP buram", row.id),
        )
        await audit.log_transition(
            conn, row.id, "9001", "diajukan", "perlu_perbaikan", "Foto KTP buram"
        )
    await harness.send(WORKER, "/status")
    text = harness.text(WORKER)
    assert f"Nomor pendaftaran: {row.ref}" in text
    assert "Status: Petugas kabupaten meminta data diperbaiki." in text
    assert "Alasan: Foto KTP buram" in text
    assert "Belum ada data kepesertaan" not in text
    assert "Status klaim" in harness.labels(WORKER)
    # The history is one press away, so that the answer stays short.
    await harness.tap(WORKER, "Riwayat pendaftaran")
    history = harness.text(WORKER)
    assert ": pendaftaran dikirim" in history
    assert ": petugas meminta perbaikan (Foto KTP buram)" in history


async def test_member_within_protection_period(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nik = nik_for()
    await submitted_registration(
        harness.db, harness.app.bot_data.cipher, operator_id=WORKER, nik=nik, status="disetujui",
        payer="sendiri",
    )  # fmt: skip
    await add_member(harness, tmp_path, nik)
    pin_today(monkeypatch, dt.date(2026, 12, 31))
    await harness.send(WORKER, "/status")
    text = harness.text(WORKER)
    assert len(text) <= 600
    assert "Nomor KPJ: 12345678901" in text
    assert "JKK, JKM dan JHT" in text
    assert "Terlindungi sampai: 31 Desember 2026" in text
    assert "Pembayaran terakhir: 1 Desember 2026" in text
    assert "paling lambat 31 Desember 2026" in text
    assert "PERINGATAN" not in text and "PERHATIAN" not in text


@pytest.mark.parametrize(
    ("today", "expected", "absent"),
    [
        (dt.date(2027, 1, 1), "iuran bulan ini belum dibayar", "PERINGATAN"),
        (dt.date(2027, 1, 31), "iuran bulan ini belum dibayar", "PERINGATAN"),
        (dt.date(2027, 2, 1), "PERINGATAN: iuran sudah 2 bulan belum dibayar.", "PERHATIAN"),
        (dt.date(2027, 3, 31), "PERINGATAN: iuran sudah 3 bulan belum dibayar.", "PERHATIAN"),
        (dt.date(2027, 4, 1), "PERHATIAN: iuran belum dibayar lebih dari 3 bulan", "PERINGATAN"),
    ],
)
async def test_late_contributions_are_warned_about(
    harness: Harness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    today: dt.date,
    expected: str,
    absent: str,
) -> None:
    nik = nik_for()
    await add_member(harness, tmp_path, nik)
    await membership_link(harness, nik)
    pin_today(monkeypatch, today)
    await harness.send(WORKER, "/status")
    text = harness.text(WORKER)
    assert expected in text
    assert absent not in text
    assert len(text) <= 600
    # The knowledge base's words: no fine, no cover for unpaid months, BPJS for the rest.
    assert "Tidak ada denda" in text and "lebih dari 3 bulan" in text and "BPJS 175" in text
    if today <= dt.date(2027, 3, 31):
        assert "Bayar paling lambat 31 Maret 2027 agar tetap menjadi peserta" in text
        assert "Cara bayar" in harness.labels(WORKER)
    else:
        assert "dimulai dari nol" not in text  # sources disagree on what happens then
        assert "Cara bayar" not in harness.labels(WORKER)


async def membership_link(h: Harness, nik: str) -> None:
    await store.link(h.db, WORKER, h.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj")


async def test_ended_membership_from_bpjs_data(harness: Harness, tmp_path: Path) -> None:
    nik = nik_for()
    await add_member(harness, tmp_path, nik, status="berakhir")
    await membership_link(harness, nik)
    await harness.send(WORKER, "/status")
    assert "kepesertaan ini sudah berakhir" in harness.text(WORKER)


async def test_someone_else_sees_only_the_general_state(harness: Harness) -> None:
    cipher = harness.app.bot_data.cipher
    nik = nik_for()
    row = await submitted_registration(harness.db, cipher, operator_id=WORKER, nik=nik)
    async with harness.db.write() as conn:
        await conn.execute(
            "UPDATE registrations SET status = 'perlu_perbaikan', reason = ? WHERE id = ?",
            ("Foto KTP buram", row.id),
        )
    text = await lookup(harness, CADRE, nik)
    assert "Pendaftaran dengan NIK ini sedang diperiksa petugas kabupaten." in text
    assert row.ref is not None
    for secret in ("Budi", row.ref, "Foto KTP buram", "Nama:"):
        assert secret not in text
    assert len(text) <= 600
    unknown = await lookup(harness, CADRE, nik_for())
    assert "Belum ada pendaftaran" in unknown
    # Looking up someone else does not link them to the cadre's account.
    await harness.send(CADRE, "/status")
    assert "belum terhubung" in harness.text(CADRE)


async def test_the_cadre_who_registered_the_worker_sees_the_details(harness: Harness) -> None:
    cipher = harness.app.bot_data.cipher
    await roles.grant(harness.db, CADRE, "cadre", "12.10.19.1001", "test")
    nik = nik_for()
    row = await submitted_registration(
        harness.db, cipher, operator_id=CADRE, for_self=False, nik=nik
    )
    text = await lookup(harness, CADRE, nik)
    assert row.ref is not None
    assert "Nama: Budi Santoso" in text and row.ref in text


async def test_a_neighbour_who_registered_the_worker_sees_only_the_general_state(
    harness: Harness, tmp_path: Path
) -> None:
    # Anyone may register a relative or neighbour; only a cadre becomes the worker's cadre.
    neighbour = 888
    nik = nik_for()
    row = await submitted_registration(
        harness.db, harness.app.bot_data.cipher, operator_id=neighbour, for_self=False, nik=nik
    )
    await add_member(harness, tmp_path, nik)
    text = await lookup(harness, neighbour, nik)
    assert "Rinciannya hanya bisa dilihat" in text
    assert row.ref is not None
    for secret in ("12345678901", "Budi", row.ref, "Nomor KPJ"):
        assert secret not in text
    # Once the role is revoked, a former cadre is no longer the worker's cadre either.
    await roles.grant(harness.db, CADRE, "cadre", "12.10.19.1001", "test")
    other = nik_for()
    await submitted_registration(
        harness.db, harness.app.bot_data.cipher, operator_id=CADRE, for_self=False, nik=other
    )
    assert "Nama: Budi Santoso" in await lookup(harness, CADRE, other)
    await roles.revoke(harness.db, CADRE, "cadre", "12.10.19.1001")
    assert "Nama: Budi Santoso" not in await lookup(harness, CADRE, other)


async def test_lookups_are_limited_per_hour(harness: Harness) -> None:
    for _ in range(membership.LOOKUPS_PER_HOUR):
        text = await lookup(harness, CADRE, nik_for())
        assert "Belum ada pendaftaran" in text
    await harness.press(CADRE, "STS OTHER")
    assert "5 kali mencari data dalam satu jam terakhir" in harness.text(CADRE)
    assert await harness.db.fetchval("SELECT count(*) FROM membership_flow_state") == 0
    # Another person is not affected.
    await harness.press(WORKER, "STS OTHER")
    assert "Ketik NIK pekerja" in harness.text(WORKER)


async def test_limit_also_holds_when_reached_mid_flow(harness: Harness) -> None:
    await harness.press(CADRE, "STS OTHER")
    for _ in range(membership.LOOKUPS_PER_HOUR):
        await harness.db.execute("INSERT INTO status_lookups(telegram_id) VALUES (?)", (CADRE,))
    await harness.send(CADRE, nik_for())
    assert "5 kali mencari data" in harness.text(CADRE)


async def test_bad_inputs_get_a_way_forward_and_batal_forgets_the_nik(harness: Harness) -> None:
    await harness.press(CADRE, "STS SELF")
    await harness.send(CADRE, "12345")
    assert "NIK harus 16 angka" in harness.text(CADRE)
    await harness.send(CADRE, "/batal")
    assert harness.text(CADRE).startswith("Dibatalkan.")
    assert await harness.db.fetchval("SELECT count(*) FROM membership_flow_state") == 0
    assert await harness.db.fetchval("SELECT count(*) FROM status_lookups") == 0


async def test_flow_survives_a_restart(harness_factory: HarnessFactory, tmp_path: Path) -> None:
    nik = nik_for()
    async with harness_factory() as first:
        await add_member(first, tmp_path, nik)
        await first.press(CADRE, "STS OTHER")
    async with harness_factory() as second:
        await second.send(CADRE, nik)
        text = second.text(CADRE)
        assert "tercatat sebagai peserta" in text
        assert "12345678901" not in text


async def test_a_nik_typed_alone_outside_a_flow_is_looked_up(harness: Harness) -> None:
    cipher = harness.app.bot_data.cipher
    nik = nik_for()
    row = await submitted_registration(harness.db, cipher, operator_id=WORKER, nik=nik)
    stranger = WORKER + 500
    # After "cek status", people type the NIK at once instead of pressing a button.
    await harness.send(stranger, "cek status")
    await harness.send(stranger, " ".join(nik[i : i + 4] for i in range(0, 16, 4)))
    text = harness.text(stranger)
    # Without proof, a NIK gives only the general state, and the proof is asked for.
    assert "NIK saja belum cukup" in text
    assert row.ref is not None
    assert row.ref not in text and "Budi" not in text
    await harness.send(stranger, "/batal")
    await harness.send(stranger, nik_for())
    assert "Belum ada pendaftaran" in harness.text(stranger)
    assert "Daftar sekarang" in harness.labels(stranger)
    # Each counts against the hourly lookup limit, as /status does.
    lookups = await harness.db.fetchval(
        "SELECT COUNT(*) FROM status_lookups WHERE telegram_id = ?", (stranger,)
    )
    assert lookups == 2
