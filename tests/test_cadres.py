"""/kader: invite links (create, use, expired, revoked, used), the cadre view, counts per cadre."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from telegram import Update

from bot.access import access_of
from storage import cadres, roles
from storage.registrations import Registration
from tests.conftest import ADMIN_ID, Harness
from tests.factories import submitted_registration

REVIEWER = 8101  # reviews Kabupaten Labuhanbatu (12.10)
DESA = "12.10.19.1001"  # Sei Berombang, Panai Hilir


async def make_reviewer(h: Harness) -> None:
    """A reviewer for Labuhanbatu."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")


async def create_invite_link(h: Harness, places: str = "1 orang") -> str:
    """The reviewer walks /kader → kecamatan → desa → places and gets a link; returns its code."""
    await h.send(REVIEWER, "/kader")
    await h.tap(REVIEWER, "Buat tautan undangan")
    await h.tap(REVIEWER, "Panai Hilir")
    await h.tap(REVIEWER, "Sei Berombang")
    assert "Berapa calon kader Desa Sei Berombang" in h.text(REVIEWER)
    await h.tap(REVIEWER, places)
    photo = h.last(REVIEWER)
    assert photo.method == "sendPhoto"
    match = re.search(r"https://t\.me/JagaPekerjaBot\?start=(\S+)", photo.text)
    assert match, photo.text
    return match.group(1)


def start_with(h: Harness, user_id: int, code: str, first_name: str) -> Update:
    """`/start <code>` from someone whose Telegram name is `first_name`."""
    update = Update.de_json(
        {
            "update_id": 10_000 + user_id,
            "message": {
                "message_id": h.api.next_message_id(user_id),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                "text": f"/start {code}",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        },
        h.app.bot,
    )
    assert update is not None
    return update


async def test_reviewer_creates_a_link_with_a_qr_code(harness: Harness) -> None:
    await make_reviewer(harness)
    code = await create_invite_link(harness)
    photo = harness.last(REVIEWER)
    assert photo.files and next(iter(photo.files.values())).startswith(b"\x89PNG")
    assert "Sei Berombang" in photo.text
    invite = await cadres.invite_by_code(harness.db, code)
    assert invite is not None and invite.desa_code == DESA and invite.created_by == REVIEWER
    assert [label for label, _ in photo.buttons] == ["Cabut tautan ini"]


async def test_opening_the_link_and_confirming_the_name_makes_a_cadre(harness: Harness) -> None:
    await make_reviewer(harness)
    code = await create_invite_link(harness)
    await harness.update(start_with(harness, 8201, code, "Sari Lubis"))
    assert "Sei Berombang" in harness.text(8201)
    assert "Apakah nama Anda Sari Lubis?" in harness.text(8201)
    await harness.tap(8201, "Ya, benar")
    assert "Anda sekarang kader Desa Sei Berombang" in harness.text(8201)
    access = await access_of(harness.db, harness.app.bot_data.settings, 8201)
    assert access.cadre_regions == (DESA,)
    assert await cadres.name_of(harness.db, 8201, DESA) == "Sari Lubis"
    # A second person with the same link: it was for one cadre only.
    await harness.update(start_with(harness, 8202, code, "Budi"))
    assert "sudah tidak berlaku" in harness.text(8202)
    assert not (await access_of(harness.db, harness.app.bot_data.settings, 8202)).is_cadre


async def test_a_cadre_can_type_their_name(harness: Harness) -> None:
    await make_reviewer(harness)
    code = await create_invite_link(harness)
    await harness.send(8301, f"/start {code}")  # Telegram name "User8301" is not a name
    assert "Ketik nama lengkap Anda" in harness.text(8301)
    await harness.send(8301, "12345")
    assert "tidak bisa saya pakai" in harness.text(8301)
    await harness.send(8301, "sari  lubis")
    assert "Terima kasih, Sari Lubis" in harness.text(8301)
    assert await cadres.name_of(harness.db, 8301, DESA) == "Sari Lubis"


async def test_expired_and_revoked_links_do_not_work(harness: Harness) -> None:
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = await cadres.create_invite(harness.db, "kEXPIREDexpired00", DESA, ADMIN_ID, past)
    await harness.update(start_with(harness, 8401, expired.code, "Sari"))
    assert "sudah tidak berlaku" in harness.text(8401)

    await make_reviewer(harness)
    code = await create_invite_link(harness)
    await harness.tap(REVIEWER, "Cabut tautan ini")
    assert "sudah dicabut" in harness.text(REVIEWER)
    await harness.update(start_with(harness, 8402, code, "Sari"))
    assert "sudah tidak berlaku" in harness.text(8402)
    # A confirm button shown before the revocation does not work either.
    await harness.press(8402, f"KDR OK {code}")
    assert not (await access_of(harness.db, harness.app.bot_data.settings, 8402)).is_cadre


async def test_reviewer_cannot_invite_outside_their_kabupaten(harness: Harness) -> None:
    await make_reviewer(harness)
    await harness.send(REVIEWER, "/kader")
    await harness.press(REVIEWER, "KDR NEW 12.05.01.2001")
    assert "di luar wilayah tugas Anda" in harness.text(REVIEWER)
    assert await harness.db.fetchval("SELECT COUNT(*) FROM cadre_invites") == 0
    # Nor can someone without the role make one.
    await harness.press(8501, "KDR NEW 12.10.19.1001")
    assert await harness.db.fetchval("SELECT COUNT(*) FROM cadre_invites") == 0


async def test_someone_without_a_role_is_told_how_to_become_a_cadre(harness: Harness) -> None:
    await harness.send(8601, "/kader")
    assert "tautan undangan" in harness.text(8601)


async def _registered_by(h: Harness, cadre: int, **fields: Any) -> Registration:
    return await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=cadre, for_self=False, **fields
    )


async def test_cadre_view_counts_fix_buttons_and_quota(harness: Harness) -> None:
    cadre = 8701
    await roles.grant(harness.db, cadre, "cadre", DESA, "test")
    await _registered_by(harness, cadre)
    fix = await _registered_by(harness, cadre, status="perlu_perbaikan", name="Ahmad Yani")
    approved = await _registered_by(harness, cadre, status="disetujui")
    await _registered_by(harness, 9999)  # someone else's
    program = await harness.db.insert(
        "INSERT INTO funding_programs(name, source_type, region_code, quota, quota_per_desa, "
        "starts_on, ends_on) VALUES ('DBH Sawit', 'dbh_sawit', '12.10', 300, 20, '2020-01-01', "
        "'2099-12-31') RETURNING id"
    )
    await harness.db.execute(
        "UPDATE registrations SET funding_program_id = ? WHERE id = ?", (program, approved.id)
    )
    await harness.send(cadre, "/kader")
    text = harness.text(cadre)
    assert "Pekerja yang Anda daftarkan: 3" in text
    assert "sedang diperiksa petugas: 1" in text and "perlu diperbaiki: 1" in text
    assert "DBH Sawit: 1 dari 20 kuota desa terpakai, sisa 19." in text
    assert harness.last(cadre).buttons == [
        (f"Ahmad Yani ({fix.ref})", f"FIX {fix.id}"),
        ("Unduh formulir", "KDR SHEET"),
    ]


async def test_reviewer_sees_submissions_per_cadre(harness: Harness) -> None:
    await make_reviewer(harness)
    code = await create_invite_link(harness)
    await harness.update(start_with(harness, 8801, code, "Sari Lubis"))
    await harness.tap(8801, "Ya, benar")
    await _registered_by(harness, 8801)
    await _registered_by(harness, 8801, status="perlu_perbaikan")
    await harness.send(REVIEWER, "/kader")
    await harness.tap(REVIEWER, "Pendaftaran per kader")
    text = harness.text(REVIEWER)
    assert "Sari Lubis (Sei Berombang): 2" in text
    assert "perlu diperbaiki 1" in text


# --- invites for several cadres ----------------------------------------------------------------


async def test_an_invite_for_five_admits_five_then_refuses_and_shows_places_left(
    harness: Harness,
) -> None:
    await make_reviewer(harness)
    code = await create_invite_link(harness, "5 orang")
    assert "bisa dipakai oleh 5 kader" in harness.last(REVIEWER).text
    names = ("Sari Lubis", "Ani Siregar", "Tono Nasution")
    for user, name in zip(range(9101, 9104), names, strict=True):
        await harness.update(start_with(harness, user, code, name))
        await harness.tap(user, "Ya, benar")
        assert "Anda sekarang kader Desa Sei Berombang" in harness.text(user)
    # Pressing the same button again does not take a second place.
    await harness.press(9103, f"KDR OK {code}")
    await harness.send(REVIEWER, "/kader")
    assert any("sisa 2 dari 5" in label for label in harness.labels(REVIEWER))
    for user in (9104, 9105):
        await harness.update(start_with(harness, user, code, "Rina Sitorus"))
        await harness.tap(user, "Ya, benar")
        assert "Anda sekarang kader" in harness.text(user)
    await harness.update(start_with(harness, 9106, code, "Budi Harahap"))
    assert "sudah tidak berlaku" in harness.text(9106)
    assert not (await access_of(harness.db, harness.app.bot_data.settings, 9106)).is_cadre
    invite = await cadres.invite_by_code(harness.db, code)
    assert invite is not None and (invite.uses, invite.state("2000-01-01")) == (5, "used")
    # A full invite is no longer listed for revoking.
    await harness.send(REVIEWER, "/kader")
    assert "Belum ada tautan undangan yang berlaku." in harness.text(REVIEWER)


async def test_a_multi_use_invite_expires_and_a_shown_button_stops_working(
    harness: Harness,
) -> None:
    await make_reviewer(harness)
    code = await create_invite_link(harness, "10 orang (biasa)")
    await harness.update(start_with(harness, 9201, code, "Sari Lubis"))
    await harness.tap(9201, "Ya, benar")
    await harness.update(start_with(harness, 9202, code, "Rina Sitorus"))  # asked, not pressed
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await harness.db.execute(
        "UPDATE cadre_invites SET expires_at = ? WHERE code = ?", (past, code)
    )
    await harness.tap(9202, "Ya, benar")
    assert "sudah tidak berlaku" in harness.text(9202)
    assert not (await access_of(harness.db, harness.app.bot_data.settings, 9202)).is_cadre
    await harness.update(start_with(harness, 9203, code, "Budi Harahap"))
    assert "sudah tidak berlaku" in harness.text(9203)
    # The cadre who joined in time stays a cadre.
    assert (await access_of(harness.db, harness.app.bot_data.settings, 9201)).is_cadre


# --- the cadre's list of everyone they registered ----------------------------------------------


async def test_cadre_sees_every_worker_in_any_desa_with_state_and_fix_buttons_paged(
    harness: Harness,
) -> None:
    cadre = 8702
    await roles.grant(harness.db, cadre, "cadre", DESA, "test")
    fix = await _registered_by(harness, cadre, status="perlu_perbaikan", name="Ahmad Yani")
    # Registered in a neighbouring desa, where she is not the cadre: listed all the same.
    await _registered_by(
        harness, cadre, desa_code="12.10.19.2002", status="terdaftar", name="Rina Sitorus"
    )
    for n in range(40):
        await _registered_by(harness, cadre, name=f"Pekerja Nomor {n:02d}")
    await harness.send(cadre, "/kader")
    first = harness.last(cadre)
    assert len(first.text) <= 600
    assert "Pekerja yang Anda daftarkan: 42" in first.text
    assert "• Ahmad Yani: perlu diperbaiki" in first.text  # those to fix come first
    assert (f"Ahmad Yani ({fix.ref})", f"FIX {fix.id}") in first.buttons
    assert ("»", "KDR ME 1") in first.buttons
    seen = first.text
    page = 1
    while ("»", f"KDR ME {page}") in harness.last(cadre).buttons:
        await harness.press(cadre, f"KDR ME {page}")
        assert len(harness.text(cadre)) <= 600
        seen += harness.text(cadre)
        page += 1
    assert page > 2
    assert "Halaman" in harness.text(cadre)
    assert "• Rina Sitorus (Sei Penggantungan): sudah terdaftar di BPJS" in seen
    for n in range(40):
        assert f"• Pekerja Nomor {n:02d}: sedang diperiksa petugas" in seen


# --- names in lists, whoever granted the role ---------------------------------------------------


async def test_per_cadre_list_includes_granted_cadres_by_name(harness: Harness) -> None:
    await make_reviewer(harness)
    await roles.grant(harness.db, 2002, "cadre", DESA, "cli")  # `jaga grant cadre 2002 …`
    await roles.grant(harness.db, 2003, "cadre", "12.10.19.2002", "cli")  # never wrote yet
    harness.updates.names[2002] = ("Rina", "Sitorus")
    await harness.send(2002, "/kader")  # her Telegram name is kept from her first message
    await _registered_by(harness, 2002, status="perlu_perbaikan")
    await harness.send(REVIEWER, "/kader")
    await harness.tap(REVIEWER, "Pendaftaran per kader")
    text = harness.text(REVIEWER)
    assert "Rina Sitorus (Sei Berombang): 1" in text
    assert "tanpa nama (ID 2003) (Sei Penggantungan): 0" in text
    assert "Telegram 2002" not in text


async def test_review_card_names_the_cadre(harness: Harness) -> None:
    await make_reviewer(harness)
    await roles.grant(harness.db, 2002, "cadre", DESA, "cli")
    harness.updates.names[2002] = ("Rina", "Sitorus")
    await harness.send(2002, "/kader")
    await _registered_by(harness, 2002)
    await harness.send(REVIEWER, "/tinjau")
    card = next(c.text for c in harness.api.sent(REVIEWER) if "NIK:" in c.text)
    assert "Didaftarkan oleh: kader Rina Sitorus" in card
    assert "Telegram 2002" not in card


# --- cadres imported by phone number ------------------------------------------------------------


async def test_an_imported_cadre_claims_the_role_by_sharing_their_contact(
    harness: Harness,
) -> None:
    cipher = harness.app.bot_data.cipher
    pending = cadres.ImportedCadre(
        2, None, cipher.lookup_hash("phone", "+6281298765432"), "Sari Lubis", DESA
    )
    await cadres.import_cadres(harness.db, [pending])
    # Someone else's number (or a forwarded contact) grants nothing.
    await harness.send(9301, "/kader")
    assert "Kirim nomor HP saya" in harness.labels(9301)
    await harness.update(harness.updates.contact(9301, "081211112222"))
    assert "tidak tercatat sebagai kader" in harness.text(9301)
    await harness.send(9302, "/kader")
    await harness.update(harness.updates.contact(9302, "081298765432", own=False))
    assert "nomor HP Anda sendiri" in harness.text(9302)
    await harness.update(harness.updates.contact(9302, "0812 9876 5432"))
    assert "Terima kasih, Sari Lubis. Anda sekarang kader Desa Sei Berombang" in harness.text(9302)
    assert (await access_of(harness.db, harness.app.bot_data.settings, 9302)).cadre_regions == (
        DESA,
    )
    assert await cadres.name_of(harness.db, 9302, DESA) == "Sari Lubis"
    assert any(
        c.method == "setMyCommands" and "scope" in c.params for c in harness.api.calls
    )  # her cadre menu
    assert not await cadres.any_pending(harness.db)
