"""Where a message goes: into the active flow, or else to the questions; /batal leaves a flow."""

from __future__ import annotations

import logging

from telegram import Update

from bot import membership
from bot.context import JagaContext
from bot.registration import CHAT_FILLER, looks_like_question, normalise, progress
from handlers import claims, language, questions, registration, status
from handlers.common import Turn, answer_button, clear_keyboard, layout, say
from storage import registrations

log = logging.getLogger(__name__)


async def message(update: Update, context: JagaContext) -> None:
    """Hands a message to the flow the user is in, or treats it as a question."""
    turn = await Turn.load(update, context)
    text = update.message.text if update.message is not None else None
    if text and await language.typed(update, context, turn, text):  # "English please", anywhere
        return
    flow = context.services.flows.get(turn.user.active_flow or "")
    if flow is not None:
        await flow.on_message(update, context)
        return
    if text:
        # A reference number said with words ("cek status JP-1210-000003"): that registration.
        if membership.ref_in(text) is not None and await status.typed_nik(update, context):
            return
        command = context.services.commands.get(typed_command(text) or "")
        if command is not None:  # "cek status", "status sy gmn bang": the command itself
            await command.callback(update, context)
            return
        if await _unfinished_draft(update, context, turn, text):
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


# Words that ask to go on with (or start over) a registration stopped earlier: "daftar ulang",
# "sy mau lanjutin daftar yg kmrn", "sy mau ulang dr awal bang".
_DRAFT_WORDS = frozenset(
    {"daftar", "lanjut", "lanjutkan", "lanjutin", "terusin", "teruskan", "ulang",
     "awal", "sambung", "sambungin"}
)  # fmt: skip


async def _unfinished_draft(update: Update, context: JagaContext, turn: Turn, text: str) -> bool:
    """For someone with an unsent draft (stopped with /batal): a message asking to register or
    continue leads to the resume choice, as /daftar does; a greeting mentions the draft in one
    line with a button to continue. False for everything else, and for everyone else."""
    words = normalise(text[:200]).split()
    if not words or len(words) > 10 or looks_like_question(text):
        return False
    draft = await registrations.draft_under_way(context.db, turn.id)
    if draft is None:
        return False
    if not _DRAFT_WORDS.isdisjoint(words):
        await registration.daftar(update, context)
        return True
    if questions.knowledge(turn.tr.language).small_talk(text) != "greeting":
        return False
    _ = turn.gettext
    done, total = progress(draft)
    line = _(
        "Halo! Pendaftaran Anda belum selesai ({done} dari {total} terisi). Tekan tombol untuk "
        "melanjutkan, atau tulis pertanyaan Anda."
    ).format(done=done, total=total)
    await say(context, turn.chat_id, line, layout([[(_("Lanjutkan pendaftaran"), "REGX go")]]))
    return True


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
    """The small-talk kind of a message made only of these signs (and skin tones), "ack" for
    one of other emoji or marks alone ("😂😂", "??": nothing to answer or forward), or None."""
    signs = {ch for ch in text if not ch.isspace() and not "\U0001f3fb" <= ch <= "\U0001f3ff"}
    kinds = {_SIGNS.get(ch) for ch in signs}
    if len(kinds) == 1 and None not in kinds:
        return kinds.pop()
    return "ack" if signs and not any(ch.isalnum() for ch in signs) else None


async def cancel(update: Update, context: JagaContext) -> None:
    """Leaves the current flow (its unsent answers kept or dropped) and shows the way back."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    flow = context.services.flows.get(turn.user.active_flow or "")
    if flow is None:
        text = _("Tidak ada langkah yang sedang berjalan. Ketik /start untuk melihat menu.")
    else:
        await flow.on_cancel(context, turn.id)  # its state and the pointer, in one commit
        text = (
            _(flow.cancel_text)
            if flow.cancel_text
            else _("Dibatalkan. Ketik /start untuk ke menu.")
        )
    await say(context, turn.chat_id, text, clear_keyboard())


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
