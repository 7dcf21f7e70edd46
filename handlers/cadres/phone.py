"""Cadres imported by phone number (`jaga import cadres`): /kader asks for the person's own
contact, and the roles imported for that number are granted."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import JagaContext
from bot.registration import check_phone
from handlers.cadres.common import FLOW, welcome_cadre
from handlers.common import Turn, clear_keyboard, phone_request, say
from storage import cadres

log = logging.getLogger(__name__)

PHONE_CLAIM = "phone"  # users.pending_invite while someone is asked for their contact


async def offer_phone_claim(context: JagaContext, turn: Turn) -> None:
    """/kader without a role while imported cadres wait: asks for the person's own contact."""
    _ = turn.gettext
    await cadres.set_pending_invite(context.db, turn.id, PHONE_CLAIM, flow=FLOW)
    keyboard = phone_request(_("Kirim nomor HP saya"))
    await say(
        context,
        turn.chat_id,
        _(
            "Menu ini untuk kader desa dan petugas dinas. Jika dinas sudah mencatat nomor HP "
            "Anda sebagai kader, tekan tombol di bawah untuk mengirim nomor HP Anda. "
            "Jika belum, mintalah tautan undangan kepada petugas dinas. Ketik /batal untuk "
            "berhenti."
        ),
        keyboard,
    )


async def claim_by_phone(update: Update, context: JagaContext, turn: Turn) -> None:
    """The shared contact: the cadre roles imported for that number are granted."""
    _ = turn.gettext
    message = update.effective_message
    contact = message.contact if message is not None else None
    if contact is None or contact.user_id != turn.id:
        await say(
            context,
            turn.chat_id,
            _(
                'Tekan tombol "Kirim nomor HP saya" untuk mengirim nomor HP Anda sendiri. '
                "Ketik /batal untuk berhenti."
            ),
        )
        return
    await cadres.set_pending_invite(context.db, turn.id, None, flow=None)
    phone = check_phone(contact.phone_number)
    found = []
    if phone is not None:
        phone_hash = context.cipher.lookup_hash("phone", phone)
        found = await cadres.claim_pending(context.db, phone_hash, turn.id)
    if not found:
        await say(
            context,
            turn.chat_id,
            _(
                "Nomor HP ini tidak tercatat sebagai kader. Mintalah tautan undangan kepada "
                "petugas dinas tenaga kerja kabupaten Anda."
            ),
            clear_keyboard(),
        )
        return
    log.info("event=cadre_claimed_by_phone user=%s desa=%s", turn.id, len(found))
    await welcome_cadre(context, turn, found[0][1], [desa for desa, _n in found], clear_keyboard())
