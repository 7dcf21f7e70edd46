"""Joining with an invite link: /start <code> names the desa, the person confirms or types a
name and becomes its cadre; typed names (and shared contacts) arrive in `on_message`."""

from __future__ import annotations

import logging

from telegram import Update

from bot.access import access_of
from bot.context import JagaContext
from bot.patterns import linear
from bot.registration import check_name, region_name
from handlers.cadres.common import FLOW, now_iso, welcome_cadre
from handlers.cadres.phone import PHONE_CLAIM, claim_by_phone
from handlers.common import Turn, layout, say
from storage import cadres, users

log = logging.getLogger(__name__)

_CODE = linear(r"k[A-Za-z0-9_-]{16}")


def is_invite_code(value: str) -> bool:
    """Whether a /start parameter is a cadre invite code."""
    return _CODE.fullmatch(value) is not None


async def open_invite(update: Update, context: JagaContext, code: str) -> None:
    """/start <code>: says which desa the invite is for and asks the person to confirm a name."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    invite = await cadres.invite_by_code(context.db, code)
    if invite is not None and await _already_cadre(context, turn, invite):
        await say(
            context,
            turn.chat_id,
            _(
                "Anda sudah menjadi kader Desa {desa}. Ketik /kader untuk melihat ringkasan."
            ).format(desa=region_name(invite.desa_code)),
        )
        return
    if (
        invite is None
        or invite.state(now_iso()) != "open"
        or not await _issuer_may(context, invite)
    ):
        await _invite_not_valid(context, turn)
        return
    tg_user = update.effective_user
    name = check_name(tg_user.full_name) if tg_user is not None else None
    text = _("Anda diundang menjadi kader desa untuk Desa {desa} ({place}).").format(
        desa=region_name(invite.desa_code), place=region_name(invite.desa_code[:8])
    )
    if name is None:
        await cadres.set_pending_invite(context.db, turn.id, code, flow=FLOW)
        await say(context, turn.chat_id, text + "\n\n" + _("Ketik nama lengkap Anda."))
        return
    # The name shown is the name confirmed, whatever the Telegram profile says by then.
    await cadres.set_pending_invite(context.db, turn.id, code, name)
    question = _("Apakah nama Anda {name}?").format(name=name)
    rows = [
        [(_("Ya, benar"), f"KDR OK {code}")],
        [(_("Bukan, saya ketik nama"), f"KDR NM {code}")],
    ]
    await say(context, turn.chat_id, text + "\n\n" + question, layout(rows))


async def _already_cadre(context: JagaContext, turn: Turn, invite: cadres.Invite) -> bool:
    """Whether this person is a cadre of its desa now (a revoked cadre is not)."""
    access = await access_of(context.db, context.settings, turn.id)
    return invite.desa_code in access.cadre_regions


async def _issuer_may(context: JagaContext, invite: cadres.Invite) -> bool:
    """Whether whoever made the invite may still make it: one whose role ended cannot."""
    issuer = await access_of(context.db, context.settings, invite.created_by)
    return issuer.can_review(invite.desa_code)


async def _invite_not_valid(context: JagaContext, turn: Turn) -> None:
    _ = turn.gettext
    await say(
        context,
        turn.chat_id,
        _(
            "Tautan undangan ini sudah tidak berlaku (sudah penuh, dicabut, atau kedaluwarsa). "
            "Mintalah tautan baru kepada petugas dinas. Ketik /start untuk ke menu."
        ),
    )


async def confirm(
    update: Update, context: JagaContext, turn: Turn, code: str, *, typed: bool
) -> None:
    """Joins with the name shown, or asks for the name to be typed."""
    _ = turn.gettext
    invite = await cadres.invite_by_code(context.db, code)
    if invite is None or invite.state(now_iso()) != "open":
        if invite is not None and await cadres.joined_with(context.db, invite.id, turn.id):
            return  # a second press on the same button: already done
        await _invite_not_valid(context, turn)
        return
    pending = await cadres.pending_invite(context.db, turn.id)
    name = pending[1] if pending is not None and pending[0] == code else None
    if typed or name is None:
        await cadres.set_pending_invite(context.db, turn.id, code, flow=FLOW)
        await say(context, turn.chat_id, _("Ketik nama lengkap Anda."))
        return
    await _join(context, turn, code, name)


async def _join(context: JagaContext, turn: Turn, code: str, name: str) -> None:
    _ = turn.gettext
    issued = await cadres.invite_by_code(context.db, code)
    if issued is None or not await _issuer_may(context, issued):
        await cadres.set_pending_invite(context.db, turn.id, None, flow=None)
        await _invite_not_valid(context, turn)
        return
    # Joined or not, the typed name is done with: the person leaves the flow in that commit.
    invite = await cadres.join(context.db, code, turn.id, name, now_iso(), flow=None)
    if invite is None:
        await _invite_not_valid(context, turn)
        return
    log.info("event=cadre_joined invite=%s desa=%s user=%s", invite.id, invite.desa_code, turn.id)
    await welcome_cadre(context, turn, name, [invite.desa_code])


async def on_message(update: Update, context: JagaContext) -> None:
    """The typed name of a new cadre, or the contact of an imported one; then the role."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    pending = await cadres.pending_invite(context.db, turn.id)
    message = update.effective_message
    if pending is not None and pending[0] == PHONE_CLAIM:
        await claim_by_phone(update, context, turn)
        return
    if pending is None:
        await users.set_active_flow(context.db, turn.id, None)
        await _invite_not_valid(context, turn)
        return
    code = pending[0]
    text = message.text if message is not None else None
    name = check_name(text) if text else None
    if name is None:
        await say(
            context,
            turn.chat_id,
            _(
                "Nama itu tidak bisa saya pakai. Ketik nama lengkap Anda dengan huruf, "
                "misalnya: Sari Lubis. Ketik /batal untuk berhenti."
            ),
        )
        return
    await _join(context, turn, code, name)


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow, forgetting the invite the person was typing their name for."""
    await cadres.set_pending_invite(context.db, telegram_id, None, flow=None)
