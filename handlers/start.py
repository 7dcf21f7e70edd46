"""/start and /bantuan: the greeting, what the bot can do, and the main menu."""

from __future__ import annotations

from telegram import Update

from bot import menus
from bot.access import OFFICIAL_COMMANDS, access_of, audience
from bot.context import JagaContext
from handlers import cadres, registration
from handlers.common import Keyboard, Turn, answer_button, columns, layout, say

# Left out of a worker's /bantuan (600 characters at most): /start is how everyone arrives.
_NOT_IN_HELP = frozenset({"start"})
# The menu button that starts a registration from a photo of the KTP (not a command).
PHOTO_MENU = "daftar_foto"


def menu_keyboard(turn: Turn, context: JagaContext) -> Keyboard:
    """The main menu: one button per command that has a menu label, in the user's language."""
    _ = turn.gettext
    buttons = [
        (_(command.menu_label), f"MENU {command.name}")
        for command in context.services.commands.values()
        if command.menu_label
    ]
    # Registering from a photo of the KTP (handlers/registration/photo.py photo_start).
    buttons.insert(1, (_("Daftar pakai foto KTP"), f"MENU {PHOTO_MENU}"))
    return layout(columns(buttons, 2))


async def start(update: Update, context: JagaContext) -> None:
    """Greets the user, says what the bot can do and shows the main menu."""
    # A cadre invite link (t.me/<bot>?start=<code>) arrives as `/start <code>`: handlers/cadres/.
    if context.args and cadres.is_invite_code(context.args[0]):
        await cadres.open_invite(update, context, context.args[0])
        return
    turn = await Turn.load(update, context)
    _ = turn.gettext
    text = _(
        "Selamat datang di Jaga Pekerja.\n\n"
        "Di sini Anda bisa:\n"
        "• mendaftar BPJS Ketenagakerjaan (jaminan kecelakaan kerja dan kematian),\n"
        "• melihat status pendaftaran dan klaim,\n"
        "• bertanya soal iuran dan manfaat.\n\n"
        "Silakan pilih tombol di bawah, atau tulis pertanyaan Anda."
    )
    await say(context, turn.chat_id, text, menu_keyboard(turn, context))


async def help_command(update: Update, context: JagaContext) -> None:
    """Lists the commands this person may use, in plain words, and where to get more help."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    who = audience(await access_of(context.db, context.settings, turn.id))
    entries = menus.entries(context.services.commands.values(), who)
    lines = [_("Cara memakai Jaga Pekerja:"), ""]
    if who == "worker":
        lines += [f"/{name} – {_(text)}" for name, text in entries if name not in _NOT_IN_HELP]
    else:  # officials: their own commands explained, the workers' ones named (600 characters)
        lines += [f"/{name} – {_(text)}" for name, text in entries if name in OFFICIAL_COMMANDS]
        others = [f"/{name}" for name, _text in entries if name not in OFFICIAL_COMMANDS]
        lines += ["", _("Perintah lain: {commands}").format(commands=" ".join(others))]
        if who == "cadre":  # many workers at once, offline: the spreadsheet (handlers/cadres/)
            lines.append(
                _(
                    "Banyak pekerja sekaligus: /kader, tekan Unduh formulir, isi tanpa sinyal, "
                    "lalu kirim filenya ke sini."
                )
            )
    if who == "worker":  # officials' help is full (600 characters)
        lines += ["", _("Daftar lebih cepat: kirim foto KTP saat ditanya NIK.")]
    lines += [
        "",
        _("Anda juga bisa langsung menulis pertanyaan."),
        _("Untuk urusan di kantor BPJS Ketenagakerjaan, hubungi layanan 175."),
    ]
    await say(context, turn.chat_id, "\n".join(lines))


async def menu_button(update: Update, context: JagaContext) -> None:
    """Runs the command whose menu button was pressed."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_button(query)
    if query.data == f"MENU {PHOTO_MENU}":
        await registration.photo_start(update, context)
        return
    command = context.services.commands.get(query.data.removeprefix("MENU "))
    if command is None:  # a menu from an older version of the bot
        await start(update, context)
        return
    await command.callback(update, context)
