"""/kader: invite links (create, use, expired, revoked, used), the cadre view, counts per cadre."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from telegram import Update

from bot.access import access_of
from storage import cadres, roles
from tests.conftest import ADMIN_ID, Harness
from tests.factories import submitted_registration

REVIEWER = 8101  # reviews Kabupaten Labuhanbatu (12.10)
DESA = "12.10.19.1001"  # Sei Berombang, Panai Hilir


async def make_reviewer(h: Harness) -> None:
    """A reviewer for Labuhanbatu."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")


async def create_invite_link(h: Harness) -> str:
    """The reviewer walks /kader → kecamatan → desa and gets a link; returns its code."""
    await h.send(REVIEWER, "/kader")
    await h.tap(REVIEWER, "Buat tautan undangan")
    await h.tap(REVIEWER, "Panai Hilir")
    await h.tap(REVIEWER, "Sei Berombang")
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


async def _registered_by(h: Harness, cadre: int, **fields: Any) -> dict[str, Any]:
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
        "'2099-12-31')"
    )
    await harness.db.execute(
        "UPDATE registrations SET funding_program_id = ? WHERE id = ?", (program, approved["id"])
    )
    await harness.send(cadre, "/kader")
    text = harness.text(cadre)
    assert "Pekerja yang Anda daftarkan: 3" in text
    assert "sedang diperiksa petugas: 1" in text and "perlu diperbaiki: 1" in text
    assert "DBH Sawit: 1 dari 20 kuota desa terpakai, sisa 19." in text
    assert harness.last(cadre).buttons == [(f"Ahmad Yani ({fix['ref']})", f"FIX {fix['id']}")]


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
