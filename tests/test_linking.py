"""Linking an account to a worker needs proof, not knowledge of the NIK (and the birth date in it).

A: the worker (registered themselves, or by cadre C). B: another account that knows A's NIK.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from bot import membership
from bot.membership import FileSource, import_members
from storage import db as db_module
from storage import membership as store
from storage import reminders, roles
from storage.db import Database, migrations
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

A = 501
B = 666
C = 777
PHONE = "+6281234567890"
KPJ = "12345678901"


async def register_a(h: Harness, **fields: Any) -> tuple[str, Registration]:
    nik = nik_for()
    row = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=A, nik=nik, phone=PHONE, **fields
    )
    return nik, row


async def register_a_by_cadre(h: Harness) -> tuple[str, Registration]:
    await roles.grant(h.db, C, "cadre", "12.10.19.1001", "test")
    nik = nik_for()
    row = await submitted_registration(
        h.db,
        h.app.bot_data.cipher,
        operator_id=C,
        for_self=False,
        worker_telegram_id=A,
        nik=nik,
        phone=PHONE,
    )
    return nik, row


async def import_member(h: Harness, tmp_path: Path, nik: str, until: str = "2026-12-31") -> None:
    path = tmp_path / f"m{nik}.csv"
    path.write_text(
        "nik,kpj,program,dilindungi_sampai,tanggal_bayar_terakhir,status\n"
        f"{nik},{KPJ},JKK+JKM,{until},2026-12-01,aktif\n",
        encoding="utf-8",
    )
    await import_members(h.db, h.app.bot_data.cipher, FileSource(path))


async def start_linking(h: Harness, user: int, nik: str) -> str:
    await h.press(user, "STS SELF")
    await h.send(user, nik)
    return h.text(user)


async def links(h: Harness) -> list[tuple[int, str]]:
    rows = await h.db.fetchall("SELECT telegram_id, proof FROM member_links ORDER BY telegram_id")
    return [(r["telegram_id"], r["proof"]) for r in rows]


async def notices(h: Harness) -> dict[int, list[str]]:
    rows = await h.db.fetchall("SELECT chat_id, text FROM outbox WHERE kind = 'notice'")
    out: dict[int, list[str]] = {}
    for row in rows:
        out.setdefault(row["chat_id"], []).append(row["text"])
    return out


async def test_nik_and_birth_date_do_not_link(harness: Harness) -> None:
    nik, row = await register_a(harness)
    async with harness.db.write() as conn:
        await conn.execute(
            "UPDATE registrations SET status = 'ditolak', reason = 'Data tidak sesuai' "
            "WHERE id = ?",
            (row.id,),
        )
    prompt = await start_linking(harness, B, nik)
    assert "NIK saja belum cukup" in prompt
    assert len(prompt) <= 600
    assert "Kirim nomor HP saya" in harness.labels(B)
    await harness.send(B, "15-05-1980")  # the birth date written in the NIK proves nothing
    assert await links(harness) == []
    await harness.send(B, "/batal")
    await harness.send(B, "/status")
    text = harness.text(B)
    assert "belum terhubung" in text
    assert "Budi" not in text and "Data tidak sesuai" not in text
    # Checking the NIK as "someone else" gives the state in general words only.
    await harness.press(B, "STS OTHER")
    await harness.send(B, nik)
    text = harness.text(B)
    assert "tidak dilanjutkan" in text
    for secret in ("Budi", str(row.ref), "Data tidak sesuai", "Alasan"):
        assert secret not in text


async def test_own_shared_contact_matching_the_phone_on_record_links(harness: Harness) -> None:
    nik, _row = await register_a_by_cadre(harness)
    await start_linking(harness, B, nik)
    # Someone else's contact is not the sender's own number.
    await harness.update(harness.updates.contact(B, PHONE, own=False))
    assert "nomor orang lain" in harness.text(B)
    await harness.update(harness.updates.contact(B, "+6289999999999"))
    assert "tidak sama dengan yang tercatat" in harness.text(B)
    assert await links(harness) == []
    await harness.update(harness.updates.contact(B, PHONE))
    assert "sekarang terhubung" in harness.text(B)
    assert await links(harness) == [(B, "phone")]
    # The worker's own account and their cadre are told, through the outbox.
    told = await notices(harness)
    assert set(told) == {A, C}
    assert "/data_saya" in told[A][0]
    assert "Budi Santoso" in told[C][0]
    await harness.send(B, "/status")
    assert "Nomor pendaftaran" in harness.text(B)


async def test_matching_kpj_links_and_a_wrong_one_is_counted(
    harness: Harness, tmp_path: Path
) -> None:
    nik = nik_for()
    await import_member(harness, tmp_path, nik)
    await start_linking(harness, B, nik)
    await harness.send(B, "123 4567 8900")
    assert "tidak cocok" in harness.text(B)
    assert await links(harness) == []
    assert await store.lookups_in_last_hour(harness.db, B) == 2  # the NIK and the wrong KPJ
    await harness.send(B, "123.4567.8901")
    assert "sekarang terhubung" in harness.text(B)
    assert await links(harness) == [(B, "kpj")]
    await harness.send(B, "/status")
    assert f"Nomor KPJ: {KPJ}" in harness.text(B)


async def test_a_code_confirmed_by_the_cadre_links(harness: Harness) -> None:
    nik, _row = await register_a_by_cadre(harness)
    await start_linking(harness, B, nik)
    await harness.tap(B, "Minta kode ke kader")
    given = harness.text(B)
    match = re.search(r"\b(\d{6})\b", given)
    assert match is not None
    code = match.group(1)
    request = await harness.db.fetchone("SELECT * FROM link_requests")
    assert code not in str(dict(request))  # stored only as a salted digest
    outbox = await harness.db.fetchone(
        "SELECT chat_id, text, buttons FROM outbox WHERE kind = 'notice'"
    )
    assert outbox["chat_id"] == C and code not in outbox["text"]
    assert f"STS OK {request['id']}" in outbox["buttons"]
    # Nobody but the cadre (or a reviewer of the district) can confirm.
    calls = await harness.press(B, f"STS OK {request['id']}")
    assert calls[0].method == "answerCallbackQuery"
    assert await store.flow_state(harness.db, B, "status") is None
    await harness.send(C, "/start")
    await harness.press(C, f"STS OK {request['id']}")
    assert "Ketik kode 6 angka" in harness.text(C)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    await harness.send(C, wrong)
    assert "tidak cocok" in harness.text(C)
    assert await links(harness) == []
    await harness.send(C, code)
    assert "Kode cocok" in harness.text(C)
    assert await links(harness) == [(B, "code")]
    told = await notices(harness)
    assert any("sekarang terhubung" in text for text in told[B])
    assert A in told  # the worker's own account hears of the new link


async def test_a_reviewer_confirms_for_a_worker_without_a_cadre(harness: Harness) -> None:
    nik, _row = await register_a(harness)
    await roles.grant(harness.db, 9100, "reviewer", "12.10", "test")
    await start_linking(harness, B, nik)
    await harness.tap(B, "Minta kode ke kader")
    request = await harness.db.fetchone("SELECT * FROM link_requests")
    assert (await notices(harness)).keys() == {9100}
    await harness.send(9100, "/start")
    await harness.press(9100, f"STS NO {request['id']}")
    assert "ditolak" in harness.text(9100)
    assert await links(harness) == []
    assert any("tidak disetujui" in text for text in (await notices(harness))[B])


async def test_a_neighbour_who_registered_the_worker_cannot_confirm_a_code(
    harness: Harness,
) -> None:
    # N registered A as "orang lain" without being a cadre: N is no cadre of A's.
    neighbour = 888
    nik = nik_for()
    await submitted_registration(
        harness.db,
        harness.app.bot_data.cipher,
        operator_id=neighbour,
        for_self=False,
        worker_telegram_id=A,
        nik=nik,
        phone=PHONE,
    )
    await roles.grant(harness.db, 9100, "reviewer", "12.10", "test")
    await start_linking(harness, B, nik)
    await harness.tap(B, "Minta kode ke kader")
    assert "petugas dinas tenaga kerja kabupaten" in harness.text(B)
    request = await harness.db.fetchone("SELECT * FROM link_requests")
    assert request["cadre_id"] is None
    assert (await notices(harness)).keys() == {9100}  # the district confirms, not N
    await harness.send(neighbour, "/start")
    await harness.press(neighbour, f"STS OK {request['id']}")
    assert await store.flow_state(harness.db, neighbour, "status") is None
    assert "Ketik kode 6 angka" not in harness.text(neighbour)
    # The reviewer still can.
    await harness.send(9100, "/start")
    await harness.press(9100, f"STS OK {request['id']}")
    assert "Ketik kode 6 angka" in harness.text(9100)


async def test_a_cadre_whose_role_ended_cannot_confirm_a_code(harness: Harness) -> None:
    nik, _row = await register_a_by_cadre(harness)
    await start_linking(harness, B, nik)
    await harness.tap(B, "Minta kode ke kader")
    request = await harness.db.fetchone("SELECT * FROM link_requests")
    assert request["cadre_id"] == C
    await roles.revoke(harness.db, C, "cadre")
    await harness.send(C, "/start")
    await harness.press(C, f"STS OK {request['id']}")
    assert await store.flow_state(harness.db, C, "status") is None
    assert "Ketik kode 6 angka" not in harness.text(C)


async def test_an_expired_code_cannot_be_confirmed(harness: Harness) -> None:
    nik, _row = await register_a_by_cadre(harness)
    await start_linking(harness, B, nik)
    await harness.tap(B, "Minta kode ke kader")
    await harness.db.execute("UPDATE link_requests SET expires_at = '2000-01-01T00:00:00Z'")
    request_id = await harness.db.fetchval("SELECT id FROM link_requests")
    await harness.send(C, "/start")
    calls = await harness.press(C, f"STS OK {request_id}")
    assert calls[0].method == "answerCallbackQuery"
    assert await store.flow_state(harness.db, C, "status") is None


async def test_the_workers_own_account_outranks_a_link_for_reminders(
    harness: Harness, tmp_path: Path
) -> None:
    nik, _row = await register_a(harness, status="terdaftar")
    await import_member(harness, tmp_path, nik, until="2026-12-31")
    await store.link(
        harness.db, B, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    await store.link(
        harness.db, B + 1, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    due = await reminders.members_due(harness.db, "2027-01-31", "2026-01-01")
    assert [(r.recipient_id, r.for_cadre) for r in due] == [(A, 0)]


async def test_the_worker_sees_and_removes_a_link_in_data_saya(harness: Harness) -> None:
    nik, _row = await register_a(harness)
    await store.link(
        harness.db, B, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    await harness.send(A, "/data_saya")
    text = harness.text(A)
    assert len(text) <= 600
    assert "Akun Telegram/WhatsApp yang terhubung dengan data Anda: 1." in text
    await harness.tap(A, "Akun yang terhubung")
    assert f"ID Telegram {B}" in harness.text(A)
    # B cannot remove someone else's link; A can remove B's.
    await harness.press(C, f"DATA UNLINK {B}")
    assert await links(harness) == [(B, "kpj")]
    await harness.tap(A, f"Hapus tautan {B}")
    assert await links(harness) == []
    await harness.send(B, "/status")
    assert "belum terhubung" in harness.text(B)


async def test_data_saya_is_short_and_details_are_one_press_away(harness: Harness) -> None:
    _nik, row = await register_a(harness, heir_name="Siti Rahma", heir_relation="istri")
    await harness.send(A, "/data_saya")
    assert len(harness.text(A)) <= 600
    await harness.tap(A, f"Lihat data {row.ref}")
    details = harness.text(A)
    assert len(details) <= 600
    assert "Nama ibu kandung: Siti Aminah" in details
    assert f"Hapus data {row.ref}" in harness.labels(A)


async def test_migration_drops_links_made_without_proof(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    before = [m for m in migrations() if m[0] < "0010"]
    monkeypatch.setattr(db_module, "migrations", lambda engine="sqlite": before)
    old = await Database.open(path)
    await old.execute("INSERT INTO member_links(telegram_id, nik_hash) VALUES (666, 'abc')")
    await old.close()
    monkeypatch.undo()
    db = await Database.open(path)
    try:
        assert await db.fetchval("SELECT count(*) FROM member_links") == 0
        columns = {r["name"] for r in await db.fetchall("PRAGMA table_info(member_links)")}
        assert "proof" in columns
    finally:
        await db.close()


async def test_daftar_nik_check_tells_others_nothing_and_counts(harness: Harness) -> None:
    nik, row = await register_a(harness)

    async def at_nik_step(user: int) -> None:
        await harness.send(user, "/daftar")
        await harness.tap(user, "Setuju")
        await harness.tap(user, "Orang lain")
        await harness.tap(user, "Sudah, dia setuju")

    await at_nik_step(B)
    calls = await harness.send(B, nik)
    text = calls[0].text
    assert "tidak bisa didaftarkan lagi" in text
    assert str(row.ref) not in text and "diperiksa" not in text and "status:" not in text
    assert await store.lookups_in_last_hour(harness.db, B) == 1
    # The same limit as /status: after it, every NIK is refused alike.
    for _ in range(membership.LOOKUPS_PER_HOUR - 1):
        await harness.db.execute("INSERT INTO status_lookups(telegram_id) VALUES (?)", (B,))
    await at_nik_step(B)
    calls = await harness.send(B, nik_for())
    assert "5 kali mencari data" in calls[0].text
    await harness.press(B, "STS OTHER")
    assert "5 kali mencari data" in harness.text(B)


async def test_daftar_refuses_a_bpjs_members_nik_to_an_unlinked_account(
    harness: Harness, tmp_path: Path
) -> None:
    # A member from BPJS's extract with no registration here: registering their NIK would make
    # B the registration's own account, and /status would then show B the member's KPJ.
    nik = nik_for()
    await import_member(harness, tmp_path, nik)
    await harness.send(B, "/daftar")
    await harness.tap(B, "Setuju")
    await harness.tap(B, "Diri saya sendiri")
    calls = await harness.send(B, nik)
    assert "tidak bisa didaftarkan lagi" in calls[0].text
    assert KPJ not in calls[0].text
    assert await store.lookups_in_last_hour(harness.db, B) == 1
    # The member's own account, once linked by a proof, may register (e.g. to join again).
    await store.link(
        harness.db, A, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    await harness.send(A, "/daftar")
    await harness.tap(A, "Setuju")
    await harness.tap(A, "Diri saya sendiri")
    calls = await harness.send(A, nik)
    assert "tidak bisa didaftarkan" not in calls[0].text


async def test_a_rejected_sender_of_a_nik_does_not_see_the_real_workers_record(
    harness: Harness, tmp_path: Path
) -> None:
    # B registered A's NIK first and was rejected; A then registered it, and BPJS's data came.
    nik = nik_for()
    cipher = harness.app.bot_data.cipher
    await submitted_registration(harness.db, cipher, operator_id=B, nik=nik, status="ditolak")
    await submitted_registration(harness.db, cipher, operator_id=A, nik=nik, phone=PHONE)
    await import_member(harness, tmp_path, nik)
    calls = await harness.send(B, "/status")
    assert KPJ not in calls[0].text and "belum terhubung" in calls[0].text
    calls = await harness.send(A, "/status")
    assert KPJ in calls[0].text


def test_codes_are_random_and_of_the_stated_length() -> None:
    codes = {membership.new_link_code()[0] for _ in range(50)}
    assert all(len(c) == membership.CODE_DIGITS and c.isdigit() for c in codes)
    assert len(codes) > 40
    _code, salt, digest = membership.new_link_code()
    assert membership.code_digest(salt, _code) == digest
    assert dt.timedelta(hours=membership.CODE_HOURS) == dt.timedelta(days=1)
