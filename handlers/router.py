"""Where a message goes: into the active flow, or else to the questions; /batal leaves a flow."""

from __future__ import annotations

import logging

from telegram import ReplyKeyboardRemove, Update

from bot.context import JagaContext
from bot.registration import CHAT_FILLER, normalise
from handlers import claims, questions, status
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
    text = update.message.text if update.message is not None else None
    if text:
        command = context.services.commands.get(typed_command(text) or "")
        if command is not None:  # "cek status", "status sy gmn bang": the command itself
            await command.callback(update, context)
            return
        talk = _sign_talk(text)
        if talk is not None:  # a thumbs-up or folded hands, sent alone
            await questions.small_talk(update, context, turn, talk)
            return
        if await status.typed_nik(update, context):  # a NIK alone: its status
            return
        if await claims.typed_claim(update, context):  # "no klaim 123": that claim
            return
    # Outside a flow, any message is a question about coverage.
    await questions.on_text(update, context)


# Commands people type as words instead of pressing the menu ("cek status", "data saya").
_TYPED_COMMANDS = {
    "status": "status", "cek status": "status", "lihat status": "status",
    "status pendaftaran": "status", "cek pendaftaran": "status", "status daftar": "status",
    "data": "data_saya", "lihat data": "data_saya", "hapus data": "data_saya",
    "hitung iuran": "iuran",
    "ganti no hp": "data_saya", "ganti nomor hp": "data_saya",
    "ubah data": "data_saya", "ganti data": "data_saya", "salah nama": "data_saya",
    "data salah": "data_saya", "perbaiki data": "data_saya",
    "cek klaim": "klaim", "status klaim": "klaim", "lihat klaim": "klaim",
    "english": "bahasa", "english please": "bahasa", "bahasa inggris": "bahasa",
    "ganti bahasa": "bahasa", "in english": "bahasa", "bahasa": "bahasa",
    "bahasa indonesia": "bahasa", "language": "bahasa",
    "stop": "berhenti", "berhenti": "berhenti", "jangan kirim lagi": "berhenti",
    "jangan kirim pesan lagi": "berhenti", "berhenti kirim": "berhenti",
}  # fmt: skip
# Words around a typed command that do not change it ("status sy gmn bang").
_AROUND_COMMAND = frozenset({"saya", "ku", "awak", "gimana", "bagaimana", "cemana", "mana"})


def typed_command(text: str) -> str | None:
    """The command a short typed message stands for ("cek status sy" is status), or None."""
    words = normalise(text[:80]).split()
    kept = [w for w in words if w not in CHAT_FILLER and w not in _AROUND_COMMAND]
    return _TYPED_COMMANDS.get(" ".join(kept)) if len(words) <= 6 else None


# Signs sent alone as a reply: thumbs up and OK are "ok", folded hands "thanks".
_SIGNS = {"\U0001f44d": "ack", "\U0001f44c": "ack", "\u2705": "ack", "\U0001f64f": "thanks"}


def _sign_talk(text: str) -> str | None:
    """The small-talk kind of a message made only of these signs (and skin tones), or None."""
    signs = {ch for ch in text if not ch.isspace() and not "\U0001f3fb" <= ch <= "\U0001f3ff"}
    kinds = {_SIGNS.get(ch) for ch in signs}
    return kinds.pop() if len(kinds) == 1 and None not in kinds else None


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
