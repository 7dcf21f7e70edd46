"""Roles and access: admins from settings and grants, reviewers scoped to their kabupaten."""

from __future__ import annotations

from pathlib import Path

from bot.access import access_of, within
from storage import roles
from storage.db import Database
from tests.conftest import ADMIN_ID, make_settings


async def test_roles_grant_revoke_and_scope(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    db = await Database.open(settings.db)
    try:
        assert (await access_of(db, settings, ADMIN_ID)).can_review("12.10.19.1001")
        assert await roles.grant(db, 42, "reviewer", "12.10", "cli")
        assert not await roles.grant(db, 42, "reviewer", "12.10", "cli")  # already held
        access = await access_of(db, settings, 42)
        assert access.can_review("12.10.19.1001")
        assert not access.can_review("12.05.01.2001")
        assert not access.is_admin
        assert await roles.holders(db, "reviewer", "12") == [(42, "12.10")]
        assert await roles.revoke(db, 42, "reviewer") == 1
        assert not (await access_of(db, settings, 42)).is_reviewer
    finally:
        await db.close()


def test_within_is_by_whole_code_segments() -> None:
    assert within("12.10.19", "12.10")
    assert not within("12.100", "12.10")


async def test_menu_audience_and_names_only_for_role_holders(tmp_path: Path) -> None:
    from bot.access import audience, may_use, role_holders
    from storage import users

    settings = make_settings(tmp_path)
    db = await Database.open(settings.db)
    try:
        await roles.grant(db, 42, "reviewer", "12.10", "cli")
        await roles.grant(db, 43, "cadre", "12.10.19.1001", "cli")
        assert audience(await access_of(db, settings, ADMIN_ID)) == "admin"
        assert audience(await access_of(db, settings, 42)) == "reviewer"
        assert audience(await access_of(db, settings, 43)) == "cadre"
        assert audience(await access_of(db, settings, 44)) == "worker"
        assert may_use("daftar", "worker") and not may_use("kader", "worker")
        assert may_use("kader", "cadre") and not may_use("tinjau", "cadre")
        assert may_use("tinjau", "reviewer") and not may_use("peran", "reviewer")
        assert may_use("peran", "admin")
        assert await role_holders(db, settings) == [42, 43, ADMIN_ID]
        # A Telegram name is kept for role holders only (lists and cards), not for workers.
        await users.get_or_create(db, 42, "Edwin Siregar")
        await users.get_or_create(db, 44, "Budi Santoso")
        await users.get_or_create(db, 42, "Another Name")  # the first one stays
        assert await users.name_of(db, 42) == "Edwin Siregar"
        assert await users.name_of(db, 44) is None
    finally:
        await db.close()
