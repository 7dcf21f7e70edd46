"""/kader and every KDR button: who presses decides what follows (reviewer, cadre, someone
imported by phone number, or anyone else)."""

from __future__ import annotations

from telegram import Update

from bot.access import access_of
from bot.context import JagaContext
from handlers.cadres.join import confirm
from handlers.cadres.phone import offer_phone_claim
from handlers.cadres.reviewer import (
    PLACES,
    ask_places,
    create_invite,
    per_cadre,
    pick_desa,
    reviewer_menu,
    revoke,
)
from handlers.cadres.sheet import send_template
from handlers.cadres.summary import cadre_view
from handlers.common import Turn, answer_button, say
from storage import cadres


async def kader(update: Update, context: JagaContext) -> None:
    """Shows reviewers their invite links (and a way to make one), or a cadre their summary."""
    turn = await Turn.load(update, context)
    access = await access_of(context.db, context.settings, turn.id)
    if access.is_reviewer:
        await reviewer_menu(context, turn, access)
    elif access.is_cadre:
        await cadre_view(context, turn, access, 0)
    elif await cadres.any_pending(context.db):
        await offer_phone_claim(context, turn)
    else:
        _ = turn.gettext
        await say(
            context,
            turn.chat_id,
            _(
                "Menu ini untuk kader desa dan petugas dinas. Untuk menjadi kader desa, "
                "mintalah tautan undangan kepada petugas dinas tenaga kerja kabupaten Anda."
            ),
        )


async def button(update: Update, context: JagaContext) -> None:
    """Handles every KDR button; role and scope are checked again on each press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    action = parts[1] if len(parts) > 1 else ""
    if action in ("OK", "NM") and len(parts) == 3:
        await answer_button(query)
        await confirm(update, context, turn, parts[2], typed=action == "NM")
        return
    access = await access_of(context.db, context.settings, turn.id)
    page = int(parts[-1]) if len(parts) > 2 and parts[-1].isdigit() else 0
    if action in ("ME", "SHEET"):
        await answer_button(query)
        if not access.is_cadre:
            await say(context, turn.chat_id, _("Anda bukan kader desa."))
        elif action == "SHEET":
            await send_template(context, turn, access)
        else:
            await cadre_view(context, turn, access, page)
        return
    if not access.is_reviewer:
        await answer_button(query, _("Menu ini hanya untuk petugas dinas."))
        return
    if action == "R" and len(parts) in (3, 4):
        await answer_button(query)
        page = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else 0
        await pick_desa(context, turn, access, None if parts[2] == "-" else parts[2], page)
    elif action == "NEW" and len(parts) == 3:
        await answer_button(query)
        await ask_places(context, turn, access, parts[2])
    elif action == "NEW" and len(parts) == 4 and parts[3].isdigit() and int(parts[3]) in PLACES:
        await answer_button(query)
        await create_invite(context, turn, access, parts[2], int(parts[3]))
    elif action == "X" and len(parts) == 3 and parts[2].isdigit():
        await revoke(context, turn, access, int(parts[2]))
        await answer_button(query)
    elif action == "REP":
        await answer_button(query)
        await per_cadre(context, turn, access, page)
    else:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
