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
