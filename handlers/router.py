"""Where a message goes: into the active flow, or else to the questions; /batal leaves a flow."""

from __future__ import annotations

import logging

from telegram import ReplyKeyboardRemove, Update

from bot.context import JagaContext
from handlers import questions
from handlers.common import Turn, answer_button, say
from storage import users

log = logging.getLogger(__name__)


async def message(update: Update, context: JagaContext) -> None:
    """Hands a message to the flow the user is in, or treats it as a question."""
    turn = await Turn.load(update, context)
    flow = context.services.flows.get(turn.user.active_flow or "")
    if flow is not None:
        await flow.on_message(update, context)
        return
    # Outside a flow, any message is a question about coverage.
    await questions.on_text(update, context)


async def cancel(update: Update, context: JagaContext) -> None:
    """Leaves the current flow (its unsent answers kept or dropped) and shows the way back."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    flow = context.services.flows.get(turn.user.active_flow or "")
    if flow is None:
        text = _("Tidak ada langkah yang sedang berjalan. Ketik /start untuk melihat menu.")
    else:
        await flow.on_cancel(context, turn.id)
        await users.set_active_flow(context.db, turn.id, None)
        text = (
            _(flow.cancel_text)
            if flow.cancel_text
            else _(
                "Dibatalkan. Data yang belum dikirim sudah dihapus. Ketik /start untuk ke menu."
            )
        )
    await say(context, turn.chat_id, text, ReplyKeyboardRemove())


async def stale_button(update: Update, context: JagaContext) -> None:
    """Answers a press on a button no handler knows (an old message, an old bot version)."""
    query = update.callback_query
    assert query is not None
    turn = await Turn.load(update, context)
    log.info("event=stale_button user=%s data=%r", turn.id, (query.data or "")[:64])
    await answer_button(query, turn.gettext("Tombol ini sudah tidak berlaku."))


async def edited_message(update: Update, context: JagaContext) -> None:
    """Explains that edits are not read: the user should send the answer again."""
    turn = await Turn.load(update, context)
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Pesan yang diubah tidak saya baca. Silakan kirim jawaban Anda sebagai pesan baru."
        ),
    )


async def unknown_command(update: Update, context: JagaContext) -> None:
    """Answers a command the bot does not have."""
    turn = await Turn.load(update, context)
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Perintah itu tidak saya kenal. Ketik /bantuan untuk melihat daftar perintah."
        ),
    )
