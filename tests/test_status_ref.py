"""/status by reference number, and the people an account registered, listed by /status.

A reference number is printed on every registration notice, so it proves nothing: only the
accounts that may see a worker's details by NIK see them by reference; anyone else gets the
state in general words, counted against the same hourly lookup limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import membership
from bot.fakeapi import ApiCall
from bot.membership import FileSource, import_members
from storage import membership as store
from storage import roles
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

WORKER = 501
CADRE = 777
RELATIVE = 888
STRANGER = 999
KPJ = "12345678901"


async def register(
    h: Harness, operator: int, *, for_self: bool = False, **fields: Any
) -> Registration:
    return await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=operator, for_self=for_self, **fields
    )


async def import_member(h: Harness, tmp_path: Path, nik: str) -> None:
    path = tmp_path / f"m{nik}.csv"
    path.write_text(
        "nik,kpj,program,dilindungi_sampai,tanggal_bayar_terakhir,status\n"
        f"{nik},{KPJ},JKK+JKM,2026-12-31,2026-12-01,aktif\n",
        encoding="utf-8",
    )
    await import_members(h.db, h.app.bot_data.cipher, FileSource(path))


def typed(ref: str) -> str:
    """The reference as people type it: small letters, spaces instead of dashes."""
    return ref.lower().replace("-", " ")


async def look_up(h: Harness, user: int, text: str) -> str:
    await h.press(user, "STS OTHER")
    await h.send(user, text)
    return h.text(user)


async def lookups(h: Harness, user: int) -> int:
    return int(await store.lookups_in_last_hour(h.db, user))


async def test_a_reference_number_is_accepted_where_a_nik_is_asked(harness: Harness) -> None:
    await roles.grant(harness.db, CADRE, "cadre", "12.10.19.1001", "test")
    row = await register(harness, CADRE)
    assert row.ref is not None
    compact = row.ref.replace("-", "")
    for text in (typed(row.ref), row.ref, compact, f" {row.ref.lower()} "):
        answer = await look_up(harness, CADRE, text)
        assert "NIK harus" not in answer
        assert "Nama: Budi Santoso" in answer and f"Nomor pendaftaran: {row.ref}" in answer
    # Typed alone, outside the flow, it is looked up too.
    await harness.send(CADRE, typed(row.ref))
    assert "Nama: Budi Santoso" in harness.text(CADRE)


async def test_a_stranger_with_a_reference_sees_the_general_state_and_is_counted(
    harness: Harness, tmp_path: Path
) -> None:
    nik = nik_for()
    row = await register(harness, WORKER, for_self=True, nik=nik, status="perlu_perbaikan")
    await harness.db.execute(
        "UPDATE registrations SET reason = 'Foto KTP buram' WHERE id = ?", (row.id,)
    )
    assert row.ref is not None
    text = await look_up(harness, STRANGER, typed(row.ref))
    assert "Pendaftaran dengan nomor ini sedang diperiksa petugas kabupaten." in text
    for secret in ("Budi", "Foto KTP buram", "Nama:", "Alasan", KPJ):
        assert secret not in text
    assert await lookups(harness, STRANGER) == 1
    # Registered at BPJS: still no KPJ nor name for a stranger.
    await harness.db.execute(
        "UPDATE registrations SET status = 'disetujui' WHERE id = ?", (row.id,)
    )
    await import_member(harness, tmp_path, nik)
    text = await look_up(harness, STRANGER, row.ref)
    assert "sudah terdaftar di BPJS Ketenagakerjaan" in text
    assert KPJ not in text and "Budi" not in text and "Terlindungi" not in text
    assert await lookups(harness, STRANGER) == 2
    # An unknown number gets one line, and is counted too.
    text = await look_up(harness, STRANGER, "JP-1210-999999")
    assert "tidak ditemukan" in text and "\n" not in text
    assert await lookups(harness, STRANGER) == 3


async def test_reference_lookups_share_the_hourly_limit(harness: Harness) -> None:
    row = await register(harness, WORKER, for_self=True)
    assert row.ref is not None
    for _ in range(membership.LOOKUPS_PER_HOUR - 1):
        assert "tidak ditemukan" in await look_up(harness, STRANGER, "JP 1210 888888")
    # The flow is entered before the last lookup is used up; the reference then hits the limit.
    await harness.press(STRANGER, "STS OTHER")
    await harness.db.execute("INSERT INTO status_lookups(telegram_id) VALUES (?)", (STRANGER,))
    await harness.send(STRANGER, typed(row.ref))
    text = harness.text(STRANGER)
    assert "5 kali mencari data" in text and "nomor ini" not in text
    # Typed alone outside the flow: the same limit.
    await harness.send(STRANGER, row.ref)
    assert "5 kali mencari data" in harness.text(STRANGER)
    assert await harness.db.fetchval("SELECT count(*) FROM membership_flow_state") == 0


async def test_the_worker_and_a_linked_account_see_the_details_by_reference(
    harness: Harness, tmp_path: Path
) -> None:
    nik = nik_for()
    row = await register(harness, CADRE, nik=nik, worker_telegram_id=WORKER, status="disetujui")
    await import_member(harness, tmp_path, nik)
    assert row.ref is not None
    text = await look_up(harness, WORKER, typed(row.ref))
    assert f"Nomor KPJ: {KPJ}" in text and row.ref in text
    linked = 4242
    await store.link(
        harness.db, linked, harness.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj"
    )
    text = await look_up(harness, linked, typed(row.ref))
    assert f"Nomor KPJ: {KPJ}" in text
    # CADRE holds no cadre role: the sender sees the registration as the notices told it,
    # but not BPJS's membership record, as by NIK.
    text = await look_up(harness, CADRE, typed(row.ref))
    assert "Nama: Budi Santoso" in text and row.ref in text
    assert KPJ not in text and "Terlindungi" not in text


async def test_status_lists_the_people_an_account_registered(harness: Harness) -> None:
    await roles.grant(harness.db, CADRE, "cadre", "12.10.19.1001", "test")
    rows = [
        await register(harness, CADRE, name=f"Pekerja Nomor {i:02d} Dari Desa Sei Berombang")
        for i in range(1, 11)
    ]
    someone_elses = await register(harness, RELATIVE)
    await harness.send(CADRE, "/status")
    text = harness.text(CADRE)
    assert text.startswith("Pekerja yang Anda daftarkan:")
    assert len(text) <= 600
    assert "Pekerja Nomor 10" in text and str(rows[-1].ref) in text
    assert "Pekerja Nomor 01" not in text  # the oldest do not fit
    assert "sedang diperiksa petugas" in text
    labels = harness.labels(CADRE)
    assert "Cek status orang lain" in labels and "Hubungkan data saya" in labels
    people = [label for label in labels if label.startswith("Pekerja Nomor")]
    assert 1 <= len(people) <= 8 and str(rows[-1].ref) in people[0]
    await harness.tap(CADRE, people[0])
    shown = harness.text(CADRE)
    assert f"Nomor pendaftaran: {rows[-1].ref}" in shown and "Nama: Pekerja Nomor 10" in shown
    # Pressing does not count as a lookup; a forged press for another's registration shows nothing.
    assert await lookups(harness, CADRE) == 0
    await harness.press(CADRE, f"STS REG {someone_elses.id}")
    assert "Budi" not in harness.text(CADRE) and "tidak berlaku" in harness.text(CADRE)


async def test_status_shows_own_data_and_a_button_to_the_people_registered(
    harness: Harness,
) -> None:
    await register(harness, RELATIVE, for_self=True, name="Sari Dewi")
    neighbour = await register(harness, RELATIVE, name="Ahmad Yani")
    await harness.send(RELATIVE, "/status")
    assert "Ahmad" not in harness.text(RELATIVE)
    await harness.tap(RELATIVE, "Pekerja yang saya daftarkan")
    text = harness.text(RELATIVE)
    assert f"Ahmad Yani ({neighbour.ref})" in text
    assert "Hubungkan data saya" not in harness.labels(RELATIVE)


async def test_after_a_duplicate_nik_status_shows_that_registration(harness: Harness) -> None:
    nik = nik_for()
    row = await register(harness, RELATIVE, nik=nik, name="Ahmad Yani")
    await harness.send(RELATIVE, "/daftar")
    await harness.tap(RELATIVE, "Setuju")
    await harness.tap(RELATIVE, "Orang lain")
    await harness.tap(RELATIVE, "Sudah, dia setuju")
    calls = await harness.send(RELATIVE, nik)
    assert "Ketik /status untuk melihat status" in calls[0].text
    await harness.send(RELATIVE, "/status")
    text = harness.text(RELATIVE)
    assert f"Ahmad Yani ({row.ref})" in text and "belum terhubung dengan data pekerja" not in text
    await harness.tap(RELATIVE, f"Ahmad Yani ({row.ref})")
    assert "Status: Sudah dikirim, menunggu diperiksa petugas kabupaten." in harness.text(RELATIVE)


async def revoked_cadre_who_registered(h: Harness) -> tuple[Registration, ApiCall]:
    """CADRE registered Ahmad Yani (rejected, with a reason), saw the list, then lost the role;
    returns the registration and the list message they still have."""
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    row = await register(h, CADRE, name="Ahmad Yani", status="ditolak")
    await h.db.execute(
        "UPDATE registrations SET reason = 'Foto KTP buram' WHERE id = ?", (row.id,)
    )
    assert row.ref is not None
    await h.send(CADRE, "/status")
    assert "Ahmad Yani" in h.text(CADRE)  # still a cadre: listed, a button away
    old_list = h.last(CADRE)
    await roles.revoke(h.db, CADRE, "cadre")
    return row, old_list


async def test_a_revoked_cadre_is_no_longer_listed_the_people_they_registered(
    harness: Harness,
) -> None:
    h = harness
    await revoked_cadre_who_registered(h)
    await h.send(CADRE, "/status")
    text = h.text(CADRE)
    assert not text.startswith("Pekerja yang Anda daftarkan") and "Ahmad" not in text
    assert "Akun ini belum terhubung dengan data pekerja" in text
    # A relative who was never a cadre keeps the people they registered.
    kept = await register(h, RELATIVE, name="Sari Dewi")
    await h.send(RELATIVE, "/status")
    assert h.text(RELATIVE).startswith("Pekerja yang Anda daftarkan:")
    await h.press(RELATIVE, f"STS REG {kept.id}")
    assert "Nama: Sari Dewi" in h.text(RELATIVE)
    assert "Nama: Sari Dewi" in await look_up(h, RELATIVE, str(kept.ref))


async def test_a_revoked_cadres_old_or_forged_button_shows_nothing(harness: Harness) -> None:
    h = harness
    row, old_list = await revoked_cadre_who_registered(h)
    await h.press(CADRE, f"STS REG {row.id}", old_list)
    assert "Tombol ini sudah tidak berlaku." in h.text(CADRE) and "Ahmad" not in h.text(CADRE)
    await h.press(CADRE, f"STS REG {row.id}")  # forged, on the last message
    assert "Tombol ini sudah tidak berlaku." in h.text(CADRE)
    await h.press(CADRE, "STS MINE", old_list)
    assert "Tombol ini sudah tidak berlaku." in h.text(CADRE)
    assert await lookups(h, CADRE) == 0


async def test_a_revoked_cadres_reference_number_gets_a_strangers_answer(
    harness: Harness,
) -> None:
    h = harness
    row, _old_list = await revoked_cadre_who_registered(h)
    assert row.ref is not None
    for attempt, sent in enumerate((typed(row.ref), row.ref), start=1):
        if attempt == 1:
            text = await look_up(h, CADRE, sent)
        else:
            await h.send(CADRE, sent)  # typed alone, outside the flow
            text = h.text(CADRE)
        assert "Pendaftaran dengan nomor ini tidak dilanjutkan." in text
        for secret in ("Ahmad", "Foto KTP buram", "Nama:", "Alasan", "Status:"):
            assert secret not in text
        assert await lookups(h, CADRE) == attempt


async def test_a_revoked_cadre_with_own_data_gets_no_button_to_the_people_registered(
    harness: Harness,
) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await register(h, CADRE, for_self=True, name="Sari Lubis")
    await register(h, CADRE, name="Ahmad Yani")
    await roles.revoke(h.db, CADRE, "cadre", "12.10.19.1001")
    await h.send(CADRE, "/status")
    assert "Pekerja yang saya daftarkan" not in h.labels(CADRE)
    assert "Riwayat pendaftaran" in h.labels(CADRE)  # their own data stays theirs


@pytest.mark.parametrize(
    "typed",
    ["JP-{ref} udh sampe mana?", "jp {spaced} udh sampe mana ya", "cek status JP-{ref}"],
)
async def test_a_reference_said_in_a_short_question_is_looked_up(
    harness: Harness, typed: str
) -> None:
    h = harness
    row = await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=5001)
    assert row.ref is not None
    ref = row.ref.removeprefix("JP-")
    await h.send(5001, typed.format(ref=ref, spaced=ref.replace("-", " ")))
    text = h.text(5001)
    assert row.ref in text and "Pensiun" not in text, text
