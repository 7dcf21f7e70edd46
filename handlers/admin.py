"""/peran: an admin grants or revokes roles from Telegram (the same as `jaga grant`)."""

from __future__ import annotations

import logging

from telegram import Update

from bot import menus, notify, review
from bot.access import access_of
from bot.context import JagaContext
from bot.i18n import translator
from handlers.common import Turn, say
from storage import roles, users

log = logging.getLogger(__name__)

COMMAND = "peran"

ROLE_LABELS = {
    "admin": "admin",
    "reviewer": "peninjau (reviewer)",
    "cadre": "kader (cadre)",
}


async def roles_command(update: Update, context: JagaContext) -> None:
    """Grants (`/peran reviewer ID KODE`) or revokes (`/peran cabut reviewer ID [KODE]`)."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_admin:
        log.warning("event=grant_refused user=%s reason=not_admin", turn.id)
        await say(context, turn.chat_id, _("Perintah ini khusus admin."))
        return
    args = [a.strip() for a in (context.args or []) if a.strip()]
    revoke = bool(args) and args[0].lower() in ("cabut", "revoke")
    if revoke:
        args = args[1:]
    usage = _(
        "Cara memakai:\n"
        "/peran reviewer ID_TELEGRAM KODE_KABUPATEN – jadikan peninjau, mis. "
        "/peran reviewer 123456789 12.10\n"
        "/peran cadre ID_TELEGRAM KODE_DESA – jadikan kader desa\n"
        "/peran admin ID_TELEGRAM KODE_WILAYAH – jadikan admin\n"
        "/peran cabut reviewer ID_TELEGRAM [KODE] – cabut peran"
    )
    needed = (2, 3) if revoke else (3,)
    if len(args) not in needed or not args[1].isdecimal():
        await say(context, turn.chat_id, usage)
        return
    role, telegram_id = args[0].lower(), int(args[1])
    region = args[2] if len(args) > 2 else None
    if role not in roles.ROLES:
        await say(context, turn.chat_id, _("Peran tidak dikenal.") + "\n\n" + usage)
        return
    if revoke:
        # Only inside the admin's own regions: every grant it would end must lie in them.
        held = [
            r for held_role, r in await roles.held_by(context.db, telegram_id) if held_role == role
        ]
        if not all(access.can_administer(code) for code in ([region] if region else held)):
            await _outside(context, turn, region)
            return
        ended = await roles.revoke(context.db, telegram_id, role, region)
        log.info(
            "event=role_revoked by=%s user=%s role=%s region=%s count=%s",
            turn.id,
            telegram_id,
            role,
            region,
            ended,
        )
        text = (
            _("Peran {role} untuk {id} dicabut.").format(role=ROLE_LABELS[role], id=telegram_id)
            if ended
            else _("{id} tidak memegang peran itu.").format(id=telegram_id)
        )
        if ended:
            await _set_menu(context, telegram_id)  # their remaining roles' menu, or the default
        await say(context, turn.chat_id, text)
        return
    assert region is not None
    problem = review.grant_problem(context.settings, role, region)
    if problem is not None:
        messages = {
            "role": _("Peran tidak dikenal."),
            "region": _("Kode wilayah {code} tidak dikenal.").format(code=region[:20]),
            "level": _(
                "Peninjau diberi kode kabupaten (mis. 12.10), kader kode desa "
                "(mis. 12.10.19.1001)."
            ),
            "outside": _("Wilayah {code} di luar wilayah layanan bot ini.").format(
                code=region[:20]
            ),
        }
        await say(context, turn.chat_id, messages[problem])
        return
    if not access.can_administer(region):
        await _outside(context, turn, region)
        return
    area = review.region_name(region)
    welcome = notify.QueuedNotices([await _welcome(context, telegram_id, role, area)])
    added = await roles.grant(
        context.db, telegram_id, role, region, str(turn.id), then=welcome.queue
    )
    log.info(
        "event=role_granted by=%s user=%s role=%s region=%s new=%s",
        turn.id,
        telegram_id,
        role,
        region,
        added,
    )
    if not added:
        await say(
            context,
            turn.chat_id,
            _("{id} sudah memegang peran {role} untuk {area}.").format(
                id=telegram_id, role=ROLE_LABELS[role], area=area
            ),
        )
        return
    await _set_menu(context, telegram_id)
    await say(
        context,
        turn.chat_id,
        _("Peran {role} untuk {area} diberikan kepada {id}.").format(
            role=ROLE_LABELS[role], area=area, id=telegram_id
        ),
    )
    await welcome.dispatch(context.services.outbox)


async def _outside(context: JagaContext, turn: Turn, region: str | None) -> None:
    """Refuses a grant or revoke outside the admin's own regions."""
    log.warning("event=grant_refused user=%s reason=outside region=%s", turn.id, region)
    await say(context, turn.chat_id, turn.gettext("Wilayah itu di luar wilayah tugas Anda."))


async def _set_menu(context: JagaContext, telegram_id: int) -> None:
    """The person's command menu for the roles they hold now (bot/menus.py)."""
    commands = context.services.commands.values()
    await menus.set_menu(context.bot, context.db, context.settings, commands, telegram_id)


async def _welcome(
    context: JagaContext, telegram_id: int, role: str, area: str
) -> notify.OutgoingMessage:
    """The note telling a new role holder what they can now do, in their language."""
    language = await users.language_of(context.db, telegram_id)
    _ = translator(language or context.settings.language).gettext
    if role == "reviewer":
        text = _(
            "Anda sekarang petugas peninjau untuk {area}. Ketik /tinjau untuk membuka antrean, "
            "/laporan untuk laporan, /ekspor untuk mengunduh data."
        ).format(area=area)
    elif role == "cadre":
        text = _(
            "Anda sekarang kader untuk {area}. Ketik /daftar untuk mendaftarkan warga."
        ).format(area=area)
    else:
        text = _("Anda sekarang admin untuk {area}.").format(area=area)
    # Through the outbox, queued with the grant: paced and retried; a blocked chat is skipped.
    return notify.OutgoingMessage(telegram_id, text)
