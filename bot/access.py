"""What a person may see and do, from JAGA_ADMINS and the roles table."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from storage import roles
from storage.db import Database


def within(code: str, region: str) -> bool:
    """Whether region `code` lies in (or is) `region`, e.g. 12.10.19.1001 within 12.10."""
    return code == region or code.startswith(region + ".")


@dataclass(frozen=True)
class Access:
    """One person's roles: admin of the deployment, reviewer per kabupaten, cadre per desa."""

    telegram_id: int
    admin_regions: tuple[str, ...]
    reviewer_regions: tuple[str, ...]
    cadre_regions: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        """Holds the admin role."""
        return bool(self.admin_regions)

    @property
    def is_reviewer(self) -> bool:
        """Reviews some kabupaten (admins review everywhere they administer)."""
        return bool(self.reviewer_regions) or self.is_admin

    @property
    def is_cadre(self) -> bool:
        """A cadre of some desa."""
        return bool(self.cadre_regions)

    def can_review(self, region_code: str) -> bool:
        """May review submissions whose address is in `region_code`."""
        return any(within(region_code, r) for r in self.admin_regions + self.reviewer_regions)

    def can_administer(self, region_code: str) -> bool:
        """May grant and revoke roles for `region_code`: only inside their own admin regions, so
        an admin of one kabupaten cannot give themselves (or anyone) another's."""
        return any(within(region_code, r) for r in self.admin_regions)

    def review_regions(self) -> tuple[str, ...]:
        """The regions whose submissions this person reviews."""
        return self.admin_regions + self.reviewer_regions


async def access_of(db: Database, settings: Settings, telegram_id: int) -> Access:
    """Look up a person's roles now (every action is re-checked, never cached in a button)."""
    held = await roles.held_by(db, telegram_id)
    admin = [region for role, region in held if role == "admin"]
    if telegram_id in settings.admins:
        admin.insert(0, settings.region)
    return Access(
        telegram_id=telegram_id,
        admin_regions=tuple(dict.fromkeys(admin)),
        reviewer_regions=tuple(region for role, region in held if role == "reviewer"),
        cadre_regions=tuple(region for role, region in held if role == "cadre"),
    )


# --- who sees which command -------------------------------------------------------------------

# Commands only some people may use; every other command is for everyone (workers).
CADRE_COMMANDS = frozenset({"kader", "pertanyaan"})
REVIEWER_COMMANDS = CADRE_COMMANDS | {"tinjau", "ekspor", "laporan", "siaran"}
ADMIN_COMMANDS = REVIEWER_COMMANDS | {"peran"}
OFFICIAL_COMMANDS = ADMIN_COMMANDS


def audience(access: Access) -> str:
    """The menu a person gets: 'admin', 'reviewer', 'cadre' or 'worker'."""
    if access.is_admin:
        return "admin"
    if access.reviewer_regions:
        return "reviewer"
    if access.is_cadre:
        return "cadre"
    return "worker"


def may_use(name: str, who: str) -> bool:
    """Whether the command `name` belongs in the menu of `who` (see `audience`)."""
    if name not in OFFICIAL_COMMANDS:
        return True
    allowed = {"admin": ADMIN_COMMANDS, "reviewer": REVIEWER_COMMANDS, "cadre": CADRE_COMMANDS}
    return name in allowed.get(who, frozenset())


async def role_holders(db: Database, settings: Settings) -> list[int]:
    """Everyone holding a role now, with the admins of JAGA_ADMINS, in id order."""
    held = await roles.holders_of_any(db)
    return sorted(set(held) | set(settings.admins))
