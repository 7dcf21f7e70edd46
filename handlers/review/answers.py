"""Typed answers in the review flow: words for the buttons of a card, its reason list and its
fix-field list (matched as the registration flow matches typed answers), a sponsor's name, a
note to the worker; and /batal."""

from __future__ import annotations

import json

from telegram import Update

from bot import review
from bot.access import Access, access_of
from bot.context import JagaContext
from bot.registration import (
    CHAT_FILLER,
    NEGATIONS,
    Choice,
    looks_like_question,
    match_choice,
    normalise,
)
from handlers import router
from handlers.common import Keyboard, Turn, say, typed_choices
from handlers.review.approve import approve
from handlers.review.buttons import ACTIONS
from handlers.review.card import next_card, view
from handlers.review.common import FLOW, clear_step, decided_text, locked_text
from handlers.review.fix import NOTE_ASKED, ask_fix_note, fix_keyboard, send_fix, toggle_field
from handlers.review.reject import (
    ask_reject_note,
    choose_reason_with_note,
    pending_note,
    reject,
)
from handlers.router import typed_command
from storage import registrations
from storage import review as store
from storage.registrations import Registration, Status

# A sponsor's name or a note to the worker: long enough for a sentence, short enough to read.
MAX_NOTE = 300


async def on_message(update: Update, context: JagaContext) -> None:
    """Reads a typed word at a card, reason list or field list as its button, or takes the
    sponsor's name or note asked for, then decides; never a question while a card is open."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.effective_message
    access = await access_of(context.db, context.settings, turn.id)
    step = await store.step_of(context.db, turn.id)
    row = (
        await registrations.get(context.db, step.registration_id) if step.registration_id else None
    )
    if not access.is_reviewer or not review.may_review(access, row):
        await clear_step(context, turn)
        await say(
            context,
            turn.chat_id,
            _("Tidak ada langkah tinjauan yang menunggu. Ketik /tinjau untuk membuka antrean."),
        )
        return
    assert row is not None and message is not None
    if step.action is None:  # a card (or its payer question) is open: a typed press?
        await _typed_press(update, context, turn, access, row, step, message.text or "")
        return
    if step.action == store.StepAction.REJECT and not step.reason_code:  # the reason list
        await _typed_reason(context, turn, access, row, message.text or "")
        return
    if step.action == store.StepAction.FIX and step.reason_code != NOTE_ASKED:  # the field list
        await _typed_field(context, turn, access, row, message.text or "")
        return
    text = (message.text or "").strip()
    if not text:
        await say(
            context,
            turn.chat_id,
            _("Mohon kirim teks biasa, atau tekan salah satu tombol di atas."),
        )
        return
    if len(text) > MAX_NOTE:
        await _too_long(context, turn)
        return
    if not await _still_ours(context, turn, row):
        return
    if _not_an_entry(text, sponsor=step.action == store.StepAction.SPONSOR):
        # "jangan", "batal", "siapa ya?": not a sponsor's name or a note; nothing is decided.
        await say(
            context,
            turn.chat_id,
            _("Itu belum saya catat. Tulis teksnya, atau tekan salah satu tombol di atas."),
        )
        return
    if step.action == store.StepAction.SPONSOR:
        await approve(context, turn, access, row, str(step.program_id or 0), text)
    elif step.action == store.StepAction.REJECT:
        await reject(context, turn, access, row, step.reason_code or "lain", text)
    else:
        await send_fix(context, turn, access, row, text)


async def _too_long(context: JagaContext, turn: Turn) -> None:
    """Says a typed note is too long."""
    text = turn.gettext(
        "Terlalu panjang: paling banyak {n} huruf. Silakan kirim yang lebih singkat."
    ).format(n=MAX_NOTE)
    await say(context, turn.chat_id, text)


async def _still_ours(context: JagaContext, turn: Turn, row: Registration) -> bool:
    """Whether the card is still waiting and locked for this reviewer; else the step is
    forgotten and the reviewer told who decided it, or who has it open."""
    if row.status != Status.SUBMITTED:
        await clear_step(context, turn)
        await say(context, turn.chat_id, await decided_text(context, turn, row))
        return False
    if not await store.lock(context.db, row.id, turn.id, review.LOCK_MINUTES):
        await clear_step(context, turn)
        await say(context, turn.chat_id, locked_text(turn, row))
        return False
    return True


async def on_cancel(context: JagaContext, user_id: int) -> None:
    """Leaves the desk's flow, forgetting the unfinished review step (/batal); the card is left
    for later."""
    await store.clear_step(context.db, user_id, leaving=FLOW)


# Other words a reviewer types for a card's buttons (the labels themselves always work);
# matched as the registration flow matches typed answers (chat politeness dropped, close
# spellings forgiven).
_CARD_WORDS: dict[str, tuple[str, ...]] = {
    "OK": ("setujui", "setuju", "disetujui", "acc", "approve", "terima", "diterima",
           "ok setujui", "oke setujui", "setujui saja", "approved"),
    "NO": ("tolak", "ditolak", "reject", "tidak setuju", "tolak saja"),
    "FIX": ("minta perbaikan", "perbaikan", "perbaiki", "revisi", "fix", "minta perbaiki"),
    "SKIP": ("lewati", "lewat", "skip", "berikutnya", "selanjutnya", "next", "nanti",
             "nanti dulu", "nanti saja", "lanjut", "lewati dulu", "skip dulu"),
    "D": ("rincian", "detail", "detil"),
}  # fmt: skip
_YES = ("ya", "iya", "y", "ok", "oke", "ya setujui", "setujui", "setuju", "acc", "yes")
_SELF_PAID = ("mandiri", "sendiri", "dibayar sendiri", "bayar sendiri", "pekerja sendiri")
# Words that start a rejection typed with its reason ("tolak, ahli warisnya tidak jelas").
_REJECT_LEADS = frozenset({"tolak", "ditolak"})
# What is left around the reason typed after "tolak".
_PUNCTUATION = " \t\n,.:;!-–—"
# Other words for the rejection reasons and the fix fields (their labels always work).
_REASON_WORDS: dict[str, tuple[str, ...]] = {
    "nik": ("nik salah", "nik tidak valid", "nik tidak cocok", "nik palsu"),
    "ganda": ("ganda", "dobel", "double", "duplikat", "sudah terdaftar", "sudah daftar"),
    "wilayah": ("bukan warga", "luar kabupaten", "luar daerah", "beda kabupaten"),
    "usia": ("usia", "umur", "terlalu tua", "terlalu muda", "lewat umur"),
    "kriteria": ("tidak memenuhi kriteria", "kriteria", "tidak memenuhi syarat"),
    "data": ("data tidak lengkap", "tidak lengkap", "data kurang", "data kurang lengkap"),
    "lain": ("lain", "lainnya", "alasan lainnya"),
}  # fmt: skip
_FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "birth_date": ("lahir", "tanggal lahir", "tgl lahir", "ttl"),
    "mother_name": ("ibu kandung", "nama ibu", "ibu"),
    "phone": ("hp", "no hp", "nomor telepon", "telepon", "wa", "nomor wa"),
    "address": ("desa", "alamat rumah"),
    "income": ("gaji", "pendapatan", "penghasilan sebulan"),
    "pay_period": ("periode", "lama bayar"),
    "payer": ("pembayar", "yang bayar"),
    "heir": ("waris", "ahli waris"),
}  # fmt: skip


def _card_choices(turn: Turn, confirming: bool) -> list[Choice]:
    """What can be typed at an open card (or at its "Setujui ..., iuran dibayar ...?")."""
    _ = turn.gettext
    labels = {"OK": _("Setujui"), "NO": _("Tolak"), "FIX": _("Minta perbaikan"),
              "SKIP": _("Lewati"), "D": _("Rincian")}  # fmt: skip
    choices = [
        Choice(labels[a], a, words)
        for a, words in _CARD_WORDS.items()
        if not (confirming and a == "OK")  # asked "Setujui ...?": "setujui" is the yes
    ]
    choices.append(Choice(_(review.SELF_PAID), "P", _SELF_PAID))
    if confirming:  # a yes is the approval itself; Kembali goes back to the payers
        choices.append(Choice(_("Ya, setujui"), "A", _YES))
        choices.append(Choice(_("Catat sponsor dulu"), "S", ("sponsor", "catat sponsor")))
        choices.append(Choice(_("Kembali"), "OK"))
    else:
        choices.append(Choice(_("Kembali"), "V"))
    return choices


# Words that turn a typed decision round or hold it back ("jgn di acc", "ok tapi tunggu",
# "tolak jika nik salah"), after `normalise` (which spells "gak", "ga", "tak"... as "tidak").
_NOT_NOW = NEGATIONS | frozenset({"jgn", "jngn", "gausah", "gaksah", "bkn"})
_HEDGES = frozenset(
    {"tapi", "tp", "tpi", "tunggu", "tggu", "nanti", "ntar", "entar", "nnti", "nti", "kalau",
     "kalo", "klo", "kl", "jika", "jka", "apabila", "bila", "mungkin", "mgkn", "masa"}
)  # fmt: skip

# In a reason typed after "tolak" a no is part of it ("nik tidak valid"), and so may be "masa"
# ("masa berlaku"); a question or an "if/but/wait" still holds the rejection back.
_NOTE_HEDGES = _HEDGES - {"masa"}


# Typed where a sponsor's name or a note is asked, these are a change of mind, not the text.
_CHANGE_OF_MIND = frozenset(
    {"batal", "kembali", "jangan", "jgn", "tidak", "tidak jadi", "gak jadi", "ga jadi", "stop",
     "cancel", "tunggu", "nanti", "nanti dulu", "lewati", "skip", "belum"}
)  # fmt: skip


def _not_an_entry(text: str, *, sponsor: bool) -> bool:
    """Whether text typed at the sponsor's-name or note question is not that text: a change of
    mind, or (for a name, which never has one) a question, a no or a hedge."""
    plain = " ".join(w for w in normalise(text).split() if w not in CHAT_FILLER)
    return plain in _CHANGE_OF_MIND or (sponsor and _held_back(text))


def _held_back(text: str, *, negations: bool = True, hedges: frozenset[str] = _HEDGES) -> bool:
    """Whether a message is a question, a no or a "but/if/wait" rather than a decision."""
    words = set(normalise(text).split())
    return "?" in text or bool(words & hedges) or (negations and bool(words & _NOT_NOW))


# Where the first clause of a typed message ends ("Setujui aja pak, datanya cocok").
_CLAUSE_ENDS = str.maketrans({",": "\n", ".": "\n", ";": "\n", ":": "\n"})


def _decisions(confirming: bool) -> frozenset[str]:
    """The card actions that decide (or open the approval) and so are taken only from an
    unmistakable word: the yes at "Setujui ...?", and "Setujui" at the card."""
    return frozenset({"A"}) if confirming else frozenset({"OK"})


def _asks_something_else(text: str) -> bool:
    """Whether a message at a card is a question of the reviewer's own (a sentence that asks,
    naming no decision); a short "gimana ini?" is about the card and gets the hint."""
    return len(text.split()) >= 3 and looks_like_question(text) and not _names_a_decision(text)


def _names_a_decision(text: str) -> bool:
    """Whether a message says one of the card's decision words ("setujui? masa sih")."""
    words = set(normalise(text).split())
    return any(
        set(phrase.split()) <= words for phrases in _CARD_WORDS.values() for phrase in phrases
    )


def typed_action(turn: Turn, text: str, confirming: bool) -> str | None:
    """The card action a typed word stands for, or None. A decision is read only from the
    word alone (forms of address and politeness aside; at the card, in the first clause:
    "Setujui aja pak, datanya cocok"), never from a sentence, a question, a no or an "if"."""
    if "terima kasih" in normalise(text):  # thanks, not "terima" (approve)
        return None
    choices = _card_choices(turn, confirming)
    found = match_choice(text, choices)
    if found is None or found.value not in _decisions(confirming):
        return found.value if found is not None else None
    if _held_back(text):
        return None
    exact = match_choice(text, choices, fuzzy=False)
    if exact is None and not confirming:  # the approval is asked next: a comment may follow
        first = text.translate(_CLAUSE_ENDS).split("\n", 1)[0]
        exact = match_choice(first, choices, fuzzy=False)
    return exact.value if exact is not None and exact.value == found.value else None


def _reason_choices(turn: Turn) -> list[Choice]:
    _ = turn.gettext
    choices = [
        Choice(_(label), code, _REASON_WORDS.get(code, ()))
        for code, label in review.REJECT_REASONS.items()
    ]
    return [*choices, Choice(_("Kembali"), "BACK")]


def _field_choices(turn: Turn) -> list[Choice]:
    _ = turn.gettext
    choices = [
        Choice(_(label), name, _FIELD_WORDS.get(name, ()))
        for name, label in review.FIX_FIELDS.items()
    ]
    return [*choices, Choice(_("Lanjut"), "NEXT"), Choice(_("Kembali"), "BACK")]


def typed_reason(turn: Turn, text: str) -> str | None:
    """The rejection reason (or "BACK") a typed answer names, or None."""
    found = match_choice(text, _reason_choices(turn))
    return found.value if found is not None else None


def typed_field(turn: Turn, text: str) -> str | None:
    """The fix field (or "NEXT", "BACK") a typed answer names, or None."""
    found = match_choice(text, _field_choices(turn))
    return found.value if found is not None else None


def _typed_reject_note(text: str) -> str | None:
    """The reason typed after "tolak" ("tolak, ahli warisnya tidak jelas"), or None when the
    message is not a rejection with a reason."""
    first, _space, rest = text.strip().partition(" ")
    lead, comma, after = first.partition(",")
    if lead.strip(_PUNCTUATION).lower() not in _REJECT_LEADS:
        return None
    note = f"{after}{comma and ' '}{rest}".strip(_PUNCTUATION)
    if not [w for w in normalise(note).split() if w not in CHAT_FILLER]:
        return None  # "tolak saja pak": the reason list
    return note


async def _hint(
    context: JagaContext, turn: Turn, labels: list[str], keyboard: Keyboard | None
) -> None:
    """One short line saying which words work here; the step stays as it was."""
    await say(context, turn.chat_id, typed_choices(turn.tr, labels), keyboard)


async def _typed_press(
    update: Update,
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: Registration,
    step: store.ReviewStep,
    text: str,
) -> None:
    """Acts on the open card as if the typed word's button were pressed ("tolak, <reason>"
    lists the reasons with it kept as the note); a typed command leaves the desk; anything
    else (a question, a no, an "if") gets one line of what to type, and the card stays open."""
    _ = turn.gettext
    confirming = step.program_id is not None
    note = _typed_reject_note(text)
    held = note is not None and _held_back(text, negations=False, hedges=_NOTE_HEDGES)
    if note is not None and not held:
        await _reject_with_note(context, turn, access, row, note)
        return
    action = None if held else typed_action(turn, text, confirming)
    if action is None:
        if not held and (
            typed_command(text) is not None  # "cek status": the card left
            or _asks_something_else(text)  # "klaim sy udh sampe mana": a question of their own
        ):
            await clear_step(context, turn)  # the card stays locked for a while
            await router.message(update, context)
            return
        if confirming:
            labels = [_("Ya, setujui"), _("Catat sponsor dulu"), _("Kembali")]
        else:
            labels = [_("Setujui"), _("Tolak"), _("Minta perbaikan"), _("Lewati")]
        await _hint(context, turn, labels, None)
        return
    arg = str(step.program_id) if action in ("A", "S") else ("0" if action == "P" else "")
    if not await _still_ours(context, turn, row):
        return
    if action == "SKIP":
        await clear_step(context, turn)
        await store.unlock(context.db, row.id, turn.id)
        await next_card(context, turn, access, after=(row.submitted_at, row.id), skipped=row.id)
        return
    await ACTIONS[action](context, turn, access, row, arg)


async def _reject_with_note(
    context: JagaContext, turn: Turn, access: Access, row: Registration, note: str
) -> None:
    """ "tolak, <reason>": lists the reasons with the text kept as the note, naming the reason
    it seems to give; one press (or a reason typed) rejects."""
    if len(note) > MAX_NOTE:
        await _too_long(context, turn)
        return
    if not await _still_ours(context, turn, row):
        return
    code = typed_reason(turn, note)
    await choose_reason_with_note(
        context, turn, row, note, code if code in review.REJECT_REASONS else None
    )


async def _typed_reason(
    context: JagaContext, turn: Turn, access: Access, row: Registration, text: str
) -> None:
    """A reason typed at the reason list: as its button (Kembali shows the card again). With
    a note typed with "tolak, ..." the reason rejects at once, so only the reason's word
    alone counts then, never one inside a sentence or a question."""
    _ = turn.gettext
    code = typed_reason(turn, text)
    if code not in (None, "BACK") and await pending_note(context, turn, row):
        exact = match_choice(text, _reason_choices(turn), fuzzy=False)
        held = _held_back(text, negations=False, hedges=_NOTE_HEDGES)
        if held or exact is None or exact.value != code:
            code = None
    if code is None:
        await _hint(
            context,
            turn,
            [_(review.REJECT_REASONS[code]) for code in ("data", "lain")] + [_("Kembali")],
            None,
        )
        return
    if not await _still_ours(context, turn, row):
        return
    if code == "BACK":
        await view(context, turn, access, row, "")
        return
    await ask_reject_note(context, turn, access, row, code)


async def _typed_field(
    context: JagaContext, turn: Turn, access: Access, row: Registration, text: str
) -> None:
    """A field typed at the fix list ticks or unticks it; Lanjut and Kembali as their buttons."""
    _ = turn.gettext
    name = typed_field(turn, text)
    if name is None:
        chosen = json.loads((await store.step_of(context.db, turn.id)).fields or "[]")
        await _hint(
            context,
            turn,
            [_(review.FIX_FIELDS[name]) for name in ("birth_date", "address")] + [_("Lanjut")],
            fix_keyboard(turn, row.id, chosen),
        )
        return
    if not await _still_ours(context, turn, row):
        return
    if name == "BACK":
        await view(context, turn, access, row, "")
        return
    if name == "NEXT":
        await ask_fix_note(context, turn, access, row, "")
        return
    chosen = await toggle_field(context, turn, row, name)
    labels = ", ".join(_(review.FIX_FIELDS[f]) for f in chosen) or "-"
    await say(
        context,
        turn.chat_id,
        _("Dipilih: {fields}. Pilih bagian lain, atau tekan Lanjut.").format(fields=labels),
        fix_keyboard(turn, row.id, chosen),
    )
