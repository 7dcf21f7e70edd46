"""/status: registration state and history, membership and arrears; NIK lookups; linking.

A NIK is no secret (and the birth date is written inside it), so knowing one shows only the
registration state in general words. The details are for the worker's own account, the cadre who
registered them, and accounts linked by a proof: a contact shared with Telegram's share-contact
button that matches the phone on record, the 11-digit KPJ, or a one-time code that the worker's
cadre (else a reviewer of the district) types after checking the person.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import logging
from typing import Any

from telegram import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot import clock, contributions, membership, paying
from bot.context import JagaContext
from bot.i18n import N_, Translator, translator
from bot.membership import Worker
from bot.registration import STATUS_WORDS, check_phone, is_help, looks_like_question
from bot.review import SOURCE_LABELS
from handlers import questions
from handlers.common import Button, Keyboard, Turn, answer_button, inline, say
from handlers.registration.common import MAX_MESSAGE, fit
from storage import audit, registrations, roles, users
from storage import membership as store
from storage.db import Database
from storage.registrations import Registration, Status

log = logging.getLogger(__name__)

FLOW = "status"

# What each registration state means, in words a worker understands.
STATE_WORDS = {
    "diajukan": N_("Sudah dikirim, menunggu diperiksa petugas kabupaten."),
    "perlu_perbaikan": N_("Petugas kabupaten meminta data diperbaiki."),
    "disetujui": N_(
        "Disetujui petugas kabupaten, sedang didaftarkan ke BPJS Ketenagakerjaan. "
        "Nomor kartu (KPJ) akan muncul di sini setelah terdaftar."
    ),
    "ditolak": N_("Tidak disetujui petugas kabupaten."),
    "terdaftar": N_("Sudah terdaftar di BPJS Ketenagakerjaan."),
}
# One line of the history for each change of state.
EVENT_WORDS = {
    "diajukan": N_("pendaftaran dikirim"),
    "perlu_perbaikan": N_("petugas meminta perbaikan"),
    "disetujui": N_("disetujui petugas kabupaten"),
    "ditolak": N_("tidak disetujui"),
    "terdaftar": N_("terdaftar di BPJS Ketenagakerjaan"),
}
RESENT = N_("dikirim lagi setelah diperbaiki")
# The state for someone who knows the NIK but is not entitled to the details (a NIK is no secret).
GENERAL_WORDS = {
    "diajukan": N_("Pendaftaran dengan NIK ini sedang diperiksa petugas kabupaten."),
    "perlu_perbaikan": N_("Pendaftaran dengan NIK ini sedang diperiksa petugas kabupaten."),
    "disetujui": N_("Pendaftaran dengan NIK ini sedang diproses."),
    "ditolak": N_("Pendaftaran dengan NIK ini tidak dilanjutkan."),
    "terdaftar": N_("NIK ini sudah terdaftar di BPJS Ketenagakerjaan."),
}
MEMBER_GENERAL = N_("NIK ini tercatat sebagai peserta BPJS Ketenagakerjaan.")
# The same for someone who typed a reference number: a reference proves no more than a NIK.
REF_GENERAL_WORDS = {
    "diajukan": N_("Pendaftaran dengan nomor ini sedang diperiksa petugas kabupaten."),
    "perlu_perbaikan": N_("Pendaftaran dengan nomor ini sedang diperiksa petugas kabupaten."),
    "disetujui": N_("Pendaftaran dengan nomor ini sedang diproses."),
    "ditolak": N_("Pendaftaran dengan nomor ini tidak dilanjutkan."),
    "terdaftar": N_("Pendaftaran dengan nomor ini sudah terdaftar di BPJS Ketenagakerjaan."),
}
NOT_ENTITLED = N_(
    "Rinciannya hanya bisa dilihat pekerja itu sendiri setelah akunnya terhubung, "
    "dan kader yang mendaftarkannya."
)
# People a cadre or relative registered, listed by /status (newest first).
MAX_LISTED = 8
PROGRAM_WORDS = {
    "JKK_JKM": N_("JKK dan JKM (kecelakaan kerja dan kematian)"),
    "JKK_JKM_JHT": N_("JKK, JKM dan JHT (kecelakaan kerja, kematian dan hari tua)"),
}
MAX_EVENTS = 8


# --- showing a worker -----------------------------------------------------------------------


def _event_date(at: str) -> dt.date:
    """The WIB date of a stored UTC timestamp."""
    moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment.astimezone(membership.WIB).date()


async def describe(db: Database, tr: Translator, worker: Worker, *, own: bool) -> str:
    """The worker's registration, their membership and any arrears, in plain words (the
    history is a separate message: `history`). Only for an account `entitled` to it."""
    _ = tr.gettext
    lines: list[str] = []
    registration = worker.registration
    if registration is not None:
        if not own and registration.name:
            lines.append(_("Nama: {name}").format(name=registration.name))
        lines.append(_("Nomor pendaftaran: {ref}").format(ref=registration.ref))
        if registration.status != Status.REGISTERED or worker.member is None:
            state = STATE_WORDS[registration.status]
            lines.append(_("Status: {state}").format(state=_(state)))
        if registration.status in (Status.NEEDS_FIX, Status.REJECTED) and registration.reason:
            lines.append(_("Alasan: {reason}").format(reason=registration.reason))
        next_step = {
            "diajukan": _("Petugas kabupaten akan memeriksanya. Tidak perlu mendaftar lagi."),
            "perlu_perbaikan": _(
                "Silakan perbaiki sesuai catatan petugas. Kader desa atau petugas kabupaten "
                "bisa membantu."
            ),
            "disetujui": _(
                "Setelah terdaftar, data baru biasanya muncul di aplikasi JMO setelah 7–14 hari."
            ),
            "ditolak": _(
                "Bila keadaan Anda sudah berubah, Anda bisa mendaftar lagi dengan /daftar."
            ),
        }.get(registration.status)
        if next_step:
            lines += ["", next_step]
    member = worker.member
    if member is not None:
        lines += ["", *member_lines(tr, member, registration)]
    elif registration is None:
        lines.append(_("Belum ada data kepesertaan dari BPJS untuk pekerja ini."))
    return "\n".join(lines).strip()


async def history(db: Database, tr: Translator, registration: Registration) -> str:
    """The registration's changes of state, newest last (at most MAX_EVENTS)."""
    _ = tr.gettext
    lines = [_("Riwayat pendaftaran {ref}:").format(ref=registration.ref)]
    for event in (await audit.history(db, registration.id))[-MAX_EVENTS:]:
        words = (
            _(RESENT)
            if event["from_status"] == "perlu_perbaikan" and event["to_status"] == "diajukan"
            else _(EVENT_WORDS.get(event["to_status"], event["to_status"]))
        )
        if event.get("reason") and event["to_status"] in ("perlu_perbaikan", "ditolak"):
            words += f" ({event['reason']})"
        lines.append(f"• {tr.date(_event_date(event['at']))}: {words}")
    return "\n".join(lines)


def general_state(tr: Translator, worker: Worker) -> str:
    """The state of a NIK's registration in general words: no name, KPJ, reason or amounts."""
    _ = tr.gettext
    if worker.registration is not None:
        state = worker.registration.status
        return _(GENERAL_WORDS[state])
    return _(MEMBER_GENERAL)


def member_lines(
    tr: Translator, member: dict[str, Any], registration: Registration | None
) -> list[str]:
    """KPJ, programs, protection period and a warning when contributions are late."""
    _ = tr.gettext
    protected = dt.date.fromisoformat(member["protected_until"])
    programs = PROGRAM_WORDS[member["programs"]]
    lines = [
        _("Kepesertaan BPJS Ketenagakerjaan (data BPJS per {date}):").format(
            date=tr.date(_event_date(member["updated_at"]))
        ),
        _("Nomor KPJ: {kpj}").format(kpj=member["kpj"]),
        _("Program: {programs}").format(programs=_(programs)),
        _("Terlindungi sampai: {date}").format(date=tr.date(protected)),
    ]
    if member.get("last_paid"):
        last = dt.date.fromisoformat(member["last_paid"])
        lines.append(_("Pembayaran terakhir: {date}").format(date=tr.date(last)))
    lines.append("")
    if member["status"] == "berakhir":
        lines.append(
            _(
                "Menurut data BPJS, kepesertaan ini sudah berakhir. Untuk terlindungi lagi, "
                "perlu mendaftar ulang, dan masa iuran dimulai dari nol."
            )
        )
        return lines
    if member["status"] == "nonaktif":
        lines.append(
            _(
                "Menurut data BPJS, kepesertaan ini tidak aktif. Tanyakan ke kantor cabang "
                "BPJS Ketenagakerjaan atau BPJS 175."
            )
        )
        return lines
    late = membership.arrears(protected, membership.today())
    return [*lines, *_payment_lines(tr, member, registration, protected, late)]


def _payer(registration: Registration | None) -> str:
    """Who pays: from the registration here; a member registered elsewhere pays themselves."""
    if registration is None:
        return contributions.SELF_PAID
    return contributions.payer_of(registration.sumber_iuran, registration.payer)


def asks_to_pay(worker: Worker) -> bool:
    """Whether /status asks this worker to pay now (late, self-paying, still a member)."""
    member = worker.member
    if member is None or member["status"] != "aktif" or _payer(worker.registration) != "mandiri":
        return False
    protected = dt.date.fromisoformat(member["protected_until"])
    late = membership.arrears(protected, membership.today())
    return not late.covered and not late.lapsed


def _payment_lines(
    tr: Translator,
    member: dict[str, Any],
    registration: Registration | None,
    protected: dt.date,
    late: membership.Arrears,
) -> list[str]:
    """By when, how much and what being late means; a program-paid worker is told who pays."""
    _ = tr.gettext
    payer = _payer(registration)
    if payer != contributions.SELF_PAID:
        assert registration is not None
        who = _(SOURCE_LABELS[payer]) if payer in SOURCE_LABELS else _("program pemerintah")
        if registration.sponsor:
            who = f"{registration.sponsor}, {who}"
        return [paying.paid_by_line(tr, who, cadre=False)]
    if late.covered:
        return [
            _("Bayar iuran berikutnya paling lambat {date} agar tetap terlindungi.").format(
                date=tr.date(protected)
            )
        ]
    if late.lapsed:
        return [
            _("PERHATIAN: iuran belum dibayar lebih dari {months} bulan sejak {date}.").format(
                months=membership.GRACE_MONTHS, date=tr.date(protected)
            ),
            paying.late_text(tr),
        ]
    warning = (
        _("PERINGATAN: iuran sudah {months} bulan belum dibayar.").format(months=late.months)
        if late.months >= 2
        else _("Masa perlindungan sudah lewat: iuran bulan ini belum dibayar.")
    )
    lines = [warning]
    if registration is not None and registration.income:
        q = contributions.quote(
            registration.income,
            member["programs"],
            contributions.sector_of(registration.occupation),
            contributions.SELF_PAID,
            membership.today(),
        )
        lines.append(paying.amount_line(tr, q))
    lines.append(paying.late_text(tr, late.ends_on))
    return lines


# --- /status --------------------------------------------------------------------------------


async def status(update: Update, context: JagaContext) -> None:
    """Shows the worker this account is (or is linked to); else the people it registered, if
    any, each a button away; and offers to link or check a NIK."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    worker = await membership.worker_of(context.db, turn.id)
    if worker is None and await _list_submitted(context, turn, has_own=False):
        return
    if worker is None:
        text = _(
            "Akun ini belum terhubung dengan data pekerja.\n\n"
            "Bila Anda sudah terdaftar (sendiri, lewat kader atau Pemda), hubungkan akun ini "
            "dengan data Anda. Ini cukup dilakukan sekali."
        )
        rows: list[list[Button]] = [
            [(_("Hubungkan data saya"), "STS SELF")],
            [(_("Cek status orang lain"), "STS OTHER")],
        ]
        if "daftar" in context.services.commands:
            rows.append([(_("Daftar sekarang"), "MENU daftar")])
        await say(context, turn.chat_id, text, inline(rows))
        return
    text = await describe(context.db, turn.tr, worker, own=True)
    others = bool(await _submitted_for_others(context.db, turn.id, limit=1))
    await say(context, turn.chat_id, text, inline(_own_buttons(turn, worker, others=others)))


async def _list_submitted(context: JagaContext, turn: Turn, *, has_own: bool) -> bool:
    """Lists the people this account registered (a cadre's or relative's), newest first, each
    with a button to its status; False when there are none. `has_own`: the account has its own
    data too, so linking is not offered."""
    _ = turn.gettext
    rows = await _submitted_for_others(context.db, turn.id, limit=MAX_LISTED)
    if not rows:
        return False
    head = _("Pekerja yang Anda daftarkan:")
    tail = [_("Tekan nama untuk melihat statusnya.")]
    if not has_own:
        tail.append(
            _(
                "Akun ini belum terhubung dengan data Anda sendiri. Bila Anda sendiri sudah "
                "terdaftar, tekan «Hubungkan data saya»."
            )
        )
    room = MAX_MESSAGE - len(head) - sum(len(t) + 1 for t in tail) - 2
    lines: list[str] = []
    buttons: list[list[Button]] = []
    for row in rows:
        line = f"• {(row.name or '')[:30]} ({row.ref}): {_(STATUS_WORDS[row.status])}"
        if len(line) + 1 > room:
            break
        room -= len(line) + 1
        lines.append(line)
        buttons.append([(f"{(row.name or '')[:24]} ({row.ref})", f"STS REG {row.id}")])
    if not has_own:
        buttons.append([(_("Hubungkan data saya"), "STS SELF")])
    buttons.append([(_("Cek status orang lain"), "STS OTHER")])
    text = "\n".join([head, *lines, "", *tail])
    await say(context, turn.chat_id, text, inline(buttons))
    return True


async def _submitted_for_others(
    db: Database, telegram_id: int, *, limit: int
) -> list[Registration]:
    """The people this account registered that it still follows, newest first: none once a
    cadre's role was revoked (a relative who was never a cadre keeps theirs)."""
    if await roles.lost(db, telegram_id, "cadre"):
        return []
    return await registrations.for_others_by(db, telegram_id, limit=limit)


async def sender_sees(db: Database, telegram_id: int, registration: Registration) -> bool:
    """Whether this account sent the registration and still sees what its notices told: not
    when it registered someone else as a cadre and that role was revoked since."""
    if registration.operator_id != telegram_id:
        return False
    return bool(registration.for_self) or not await roles.lost(db, telegram_id, "cadre")


def _own_buttons(turn: Turn, worker: Worker, *, others: bool = False) -> list[list[Button]]:
    _ = turn.gettext
    buttons: list[list[Button]] = []
    if asks_to_pay(worker):
        buttons.append([(_(paying.PAY_BUTTON_LABEL), paying.PAY_BUTTON_DATA)])
    if worker.registration is not None:
        buttons.append([(_("Riwayat pendaftaran"), "STS HIST")])
    buttons.append([(_("Status klaim"), "MENU klaim")])
    if others:
        buttons.append([(_("Pekerja yang saya daftarkan"), "STS MINE")])
    buttons.append([(_("Cek status orang lain"), "STS OTHER")])
    return buttons


async def limit_reached(
    context: JagaContext, turn: Turn, keyboard: Keyboard | None = None
) -> None:
    """Says that the hourly lookup limit is reached."""
    _ = turn.gettext
    await say(
        context,
        turn.chat_id,
        _(
            "Anda sudah {count} kali mencari data dalam satu jam terakhir. Demi keamanan data "
            "pekerja, silakan coba lagi nanti."
        ).format(count=membership.LOOKUPS_PER_HOUR),
        keyboard,
    )


async def button(update: Update, context: JagaContext) -> None:
    """STS SELF|OTHER asks for a NIK; STS HIST shows the history; STS MINE lists the people
    this account registered and STS REG <id> shows one of them; STS OK|NO <id> is a cadre's
    or reviewer's answer to a link request (OK then asks for the code)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    action = parts[1] if len(parts) > 1 else ""
    if action in ("OK", "NO") and len(parts) == 3 and parts[2].isascii() and parts[2].isdigit():
        await _answer_request(context, turn, query, int(parts[2]), confirm=action == "OK")
        return
    await answer_button(query)
    if action == "REG" and len(parts) == 3 and parts[2].isascii() and parts[2].isdigit():
        registration = await registrations.get(context.db, int(parts[2]))
        if (
            registration is None
            or not registration.ref
            or not await sender_sees(context.db, turn.id, registration)
        ):
            await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
            return
        await _show_registration(context, turn, registration)
        return
    if action == "MINE" and len(parts) == 2:
        if not await _list_submitted(context, turn, has_own=True):
            await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    if action == "HIST" and len(parts) == 2:
        worker = await membership.worker_of(context.db, turn.id)
        if worker is None or worker.registration is None:
            await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
            return
        await say(context, turn.chat_id, await history(context.db, turn.tr, worker.registration))
        return
    if action not in ("SELF", "OTHER") or len(parts) != 2:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return
    await store.set_flow_state(context.db, turn.id, FLOW, "nik", purpose=action.lower())
    question = (
        _("Ketik NIK Anda (16 angka di KTP).")
        if action == "SELF"
        else _(
            "Ketik NIK pekerja yang ingin dicek (16 angka di KTP), atau nomor pendaftarannya "
            "(diawali JP)."
        )
    )
    await say(context, turn.chat_id, question + "\n" + _("Ketik /batal untuk berhenti."))


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes the NIK, then (to link) a proof: a shared contact, the KPJ or a request for a code;
    for a cadre or reviewer, the code shown by the worker."""
    turn = await Turn.load(update, context)
    state = await store.flow_state(context.db, turn.id, FLOW)
    message = update.effective_message
    if state is None or message is None:  # the state row went missing: start again cleanly
        await store.end_flow(context.db, turn.id, FLOW)
        await status(update, context)
        return
    text = (message.text or "").strip()
    if state["step"] in ("nik", "proof") and await leave_for_other_words(update, context, text):
        return
    if state["step"] == "nik":
        await _nik(context, turn, state, text)
    elif state["step"] == "proof":
        await _proof(context, turn, state, message)
    else:
        await _code(context, turn, state, text)


async def leave_for_other_words(update: Update, context: JagaContext, text: str) -> bool:
    """Where a number is asked, a command typed as words ("cek status", "hapus data sy")
    leaves the step and runs that command; False for anything else (an answer, a question)."""
    # Imported here: the router hands messages to this module.
    from handlers import router

    if router.typed_command(text) is None:
        return False
    turn = await Turn.load(update, context)
    await store.end_flow(context.db, turn.id, turn.user.active_flow or "")
    await router.message(update, context)
    return True


async def typed_nik(update: Update, context: JagaContext) -> bool:
    """A NIK typed alone outside any flow (after "Cek status", people type it at once): looked
    up as /status would for the person's own NIK; a reference number alone, as "Cek status
    orang lain" would. False when the message is neither (nor a KPJ)."""
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    kpj = _typed_kpj(text)
    # A reference alone, or in a short question about it ("JP-1210-000003 udh sampe mana?").
    ref = membership.ref_in(text) if len(text) <= 120 else None
    if ref is None and (len(text) > 40 or (membership.clean_nik(text)[0] is None and kpj is None)):
        return False
    turn = await Turn.load(update, context)
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return True
    if ref is not None:  # the reference number the bot gave after a registration
        await _ref(context, turn, ref, retry="OTHER")
        return True
    if kpj is not None:  # the KPJ from the card, typed before the NIK
        worker = await membership.worker_of(context.db, turn.id)
        if worker is not None and membership.kpj_matches(worker, kpj):
            await status(update, context)  # already linked: the KPJ is a way to ask
            return True
        await _ask_nik_for_kpj(context, turn, kpj)
        return True
    await store.set_flow_state(context.db, turn.id, FLOW, "nik", purpose="self")
    await _nik(context, turn, {"purpose": "self"}, text)
    return True


def _typed_kpj(text: str) -> str | None:
    """An 11-digit KPJ typed alone (spaces, dots and dashes allowed), else None."""
    digits = text.replace(" ", "").replace(".", "").replace("-", "")
    return digits if len(digits) == 11 and digits.isascii() and digits.isdigit() else None


async def _ask_nik_for_kpj(context: JagaContext, turn: Turn, kpj: str) -> None:
    """Keeps a KPJ typed where a NIK was expected and asks for the NIK: the two together link
    the account (a KPJ alone finds no one: the bot looks people up by NIK)."""
    _ = turn.gettext
    kpj_enc = base64.b64encode(context.cipher.encrypt(kpj)).decode()
    await store.set_flow_state(context.db, turn.id, FLOW, "nik", purpose="self", kpj_enc=kpj_enc)
    await say(
        context,
        turn.chat_id,
        _(
            "Itu nomor KPJ Anda. Sekarang ketik NIK Anda (16 angka di KTP). Bila NIK dan KPJ "
            "cocok, akun ini langsung terhubung dengan data Anda.\n"
            "Ketik /batal untuk berhenti."
        ),
    )


def _answer_then_ask_nik(turn: Turn, text: str) -> str:
    """A question asked where a NIK is awaited: its answer, then the NIK asked again, short."""
    _ = turn.gettext
    again = _("Untuk cek status, ketik NIK (16 angka), atau /batal.")
    match = None if is_help(text) else questions.knowledge(turn.tr.language).answer(text)
    if match is not None:
        body = f"{match.topic.title}\n\n{match.topic.answer}"
    elif is_help(text):
        body = _("Saya perlu NIK orang yang statusnya ingin Anda lihat, seperti tertulis di KTP.")
    else:
        body = _(
            "Maaf, pertanyaan itu belum bisa saya jawab di sini. Ketik /batal, lalu tulis lagi "
            "pertanyaan Anda."
        )
    return fit(body, MAX_MESSAGE - len(again) - 2) + "\n\n" + again


async def _nik(context: JagaContext, turn: Turn, state: dict[str, Any], text: str) -> None:
    """A NIK: shows the details to an entitled account, the general state to anyone else; to
    link, asks for a proof."""
    _ = turn.gettext
    nik, _problem = membership.clean_nik(text)
    kpj = _typed_kpj(text) if nik is None and state.get("purpose") == "self" else None
    if kpj is not None and not state.get("kpj_enc"):
        await _ask_nik_for_kpj(context, turn, kpj)
        return
    ref = membership.clean_ref(text) if nik is None and len(text) <= 40 else None
    if ref is not None:
        await _ref(context, turn, ref, retry=str(state["purpose"]).upper())
        return
    if nik is None:
        if is_help(text) or (len(text.split()) >= 2 and looks_like_question(text)):
            await say(context, turn.chat_id, _answer_then_ask_nik(turn, text))
            return
        wrong = (
            _(
                "NIK harus 16 angka, seperti tertulis di KTP. Spasi boleh. Nomor pendaftaran "
                "juga bisa (diawali JP, misalnya JP-1210-000003). Silakan ketik lagi, atau /batal."
            )
            if state.get("purpose") == "other"
            else _(
                "NIK harus 16 angka, seperti tertulis di KTP. Spasi boleh. "
                "Silakan ketik lagi, atau /batal."
            )
        )
        await say(context, turn.chat_id, wrong)
        return
    if not await membership.may_look_up(context.db, turn.id):
        await store.end_flow(context.db, turn.id, FLOW)
        await limit_reached(context, turn)
        return
    await store.record_lookup(context.db, turn.id)
    worker = await membership.worker_by_nik(context.db, context.cipher, nik)
    log.info("event=status_lookup user=%s found=%s", turn.id, worker is not None)
    if worker is None:
        await store.end_flow(context.db, turn.id, FLOW)
        await say(
            context,
            turn.chat_id,
            _(
                "Belum ada pendaftaran atau data kepesertaan dengan NIK itu. Periksa lagi "
                "angkanya. Bila baru mendaftar, data dari BPJS bisa perlu beberapa hari."
            ),
            inline(
                [
                    [(_("Coba lagi"), f"STS {str(state['purpose']).upper()}")],
                    [(_("Daftar sekarang"), "MENU daftar")],
                ]
            ),
        )
        return
    if await membership.entitled(context.db, turn.id, worker, context.settings.admins):
        await store.end_flow(context.db, turn.id, FLOW)
        own = membership.own_account(worker.registration) == turn.id
        own = own or await store.linked_nik_hash(context.db, turn.id) == worker.nik_hash
        body = await describe(context.db, turn.tr, worker, own=own)
        await say(context, turn.chat_id, body, inline(_own_buttons(turn, worker)) if own else None)
        return
    if state.get("kpj_enc"):
        kpj = context.cipher.decrypt(base64.b64decode(str(state["kpj_enc"])))
        if membership.kpj_matches(worker, kpj):
            await _linked(context, turn, worker, "kpj")
            return
        await _await_proof(context, turn, nik)
        await _proof_failed(context, turn, _(KPJ_MISMATCH))
        return
    if state["purpose"] == "other":
        await store.end_flow(context.db, turn.id, FLOW)
        await say(
            context,
            turn.chat_id,
            general_state(turn.tr, worker) + "\n\n" + _(NOT_ENTITLED),
        )
        return
    await _await_proof(context, turn, nik)
    await say(
        context,
        turn.chat_id,
        _(
            "NIK saja belum cukup, karena NIK bisa diketahui orang lain. Buktikan bahwa ini "
            "data Anda dengan salah satu cara:\n"
            "1. Tekan «Kirim nomor HP saya» (nomor yang dipakai saat mendaftar).\n"
            "2. Ketik nomor KPJ Anda (11 angka di kartu BPJS Ketenagakerjaan).\n"
            "3. Tekan «Minta kode ke kader», lalu tunjukkan kodenya kepada kader desa atau "
            "petugas kabupaten.\n"
            "Ketik /batal untuk berhenti."
        ),
        _proof_keyboard(turn),
    )


async def _ref(context: JagaContext, turn: Turn, ref: str, *, retry: str) -> None:
    """A typed reference number: counted like a NIK lookup, then shown as `_show_registration`
    does; an unknown number gets one line. `retry`: the button to try again (SELF or OTHER)."""
    _ = turn.gettext
    await store.end_flow(context.db, turn.id, FLOW)
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return
    await store.record_lookup(context.db, turn.id)
    registration = await registrations.get_by_ref(context.db, ref)
    found = registration is not None and registration.status != Status.DRAFT
    log.info("event=status_ref_lookup user=%s found=%s", turn.id, found)
    if registration is None or not found or not registration.nik_hash:
        await say(
            context,
            turn.chat_id,
            _("Nomor pendaftaran {ref} tidak ditemukan. Periksa lagi angkanya.").format(ref=ref),
            inline([[(_("Coba lagi"), f"STS {retry}")]]),
        )
        return
    await _show_registration(context, turn, registration)


async def _show_registration(context: JagaContext, turn: Turn, registration: Registration) -> None:
    """One registration, for whoever asks by its reference or its button: in full (with the BPJS
    membership) to an account `entitled` to its worker, as the NIK path does; to its worker's
    account and to the account that sent it (`sender_sees`: not a cadre whose role was revoked),
    what the notices already told them (no BPJS membership data); to anyone else only its state
    in general words. A reference number proves nothing."""
    _ = turn.gettext
    nik_hash = str(registration.nik_hash or "")
    worker = await membership.worker_of_nik_hash(context.db, nik_hash) if nik_hash else None
    current = (
        worker is not None
        and worker.registration is not None
        and worker.registration.id == registration.id
    )
    if (
        worker is not None
        and current
        and await membership.entitled(context.db, turn.id, worker, context.settings.admins)
    ):
        own = membership.own_account(worker.registration) == turn.id
        own = own or await store.linked_nik_hash(context.db, turn.id) == worker.nik_hash
        body = await describe(context.db, turn.tr, worker, own=own)
        await say(context, turn.chat_id, body, inline(_own_buttons(turn, worker)) if own else None)
        return
    if turn.id == registration.worker_telegram_id or await sender_sees(
        context.db, turn.id, registration
    ):
        own = turn.id == membership.own_account(registration)
        body = await describe(context.db, turn.tr, Worker(nik_hash, registration, None), own=own)
        await say(context, turn.chat_id, body)
        return
    await say(
        context,
        turn.chat_id,
        _(REF_GENERAL_WORDS[registration.status]) + "\n\n" + _(NOT_ENTITLED),
    )


async def _await_proof(context: JagaContext, turn: Turn, nik: str) -> None:
    """The linking flow waits for a proof of this NIK (kept encrypted meanwhile)."""
    await store.set_flow_state(
        context.db,
        turn.id,
        FLOW,
        "proof",
        purpose="self",
        nik_enc=base64.b64encode(context.cipher.encrypt(nik)).decode(),
    )


def _proof_keyboard(turn: Turn) -> ReplyKeyboardMarkup:
    _ = turn.gettext
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(_("Kirim nomor HP saya"), request_contact=True)],
            [KeyboardButton(_(ASK_CODE))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


ASK_CODE = N_("Minta kode ke kader")
KPJ_MISMATCH = N_(
    "Nomor KPJ itu tidak cocok dengan NIK ini. Periksa kartu BPJS Anda, atau tekan "
    "«Kirim nomor HP saya» atau «Minta kode ke kader»."
)


async def _proof(
    context: JagaContext, turn: Turn, state: dict[str, Any], message: Message
) -> None:
    """A shared contact or a typed KPJ that must match the worker; or a request for a code."""
    _ = turn.gettext
    nik = context.cipher.decrypt(base64.b64decode(str(state["nik_enc"])))
    worker = await membership.worker_by_nik(context.db, context.cipher, nik)
    if worker is None:  # deleted in the meantime
        await store.end_flow(context.db, turn.id, FLOW)
        await say(context, turn.chat_id, _("Data ini sudah tidak ada."), ReplyKeyboardRemove())
        return
    text = (message.text or "").strip()
    if message.contact is not None:
        if message.contact.user_id != turn.id:
            await say(
                context,
                turn.chat_id,
                _(
                    "Itu nomor orang lain. Tekan tombol «Kirim nomor HP saya» untuk mengirim "
                    "nomor Anda sendiri."
                ),
            )
            return
        phone = check_phone(message.contact.phone_number)
        if phone is not None and membership.phone_matches(context.cipher, worker, phone):
            await _linked(context, turn, worker, "phone")
            return
        await _proof_failed(
            context,
            turn,
            _(
                "Nomor HP ini tidak sama dengan yang tercatat. Coba cara lain: ketik nomor KPJ, "
                "atau tekan «Minta kode ke kader»."
            ),
        )
        return
    if text in (ASK_CODE, _(ASK_CODE)):
        await _request_code(context, turn, worker, nik)
        return
    digits = text.replace(" ", "").replace(".", "").replace("-", "")
    if len(digits) == 11 and digits.isascii() and digits.isdigit():
        if membership.kpj_matches(worker, digits):
            await _linked(context, turn, worker, "kpj")
            return
        await _proof_failed(context, turn, _(KPJ_MISMATCH))
        return
    await say(
        context,
        turn.chat_id,
        _("Tekan salah satu tombol di bawah, atau ketik nomor KPJ (11 angka), atau /batal."),
        _proof_keyboard(turn),
    )


async def _proof_failed(context: JagaContext, turn: Turn, text: str) -> None:
    """A wrong proof counts against the hourly lookup limit, so proofs cannot be guessed."""
    if not await membership.may_look_up(context.db, turn.id):
        await store.end_flow(context.db, turn.id, FLOW)
        await limit_reached(context, turn, ReplyKeyboardRemove())
        return
    await store.record_lookup(context.db, turn.id)
    await say(context, turn.chat_id, text, _proof_keyboard(turn))


async def _linked(context: JagaContext, turn: Turn, worker: Worker, proof: str) -> None:
    """Links this account, tells the worker's own account and cadre, and confirms."""
    _ = turn.gettext
    notices = await link_notices(context, worker, turn.id)
    await store.link(context.db, turn.id, worker.nik_hash, proof=proof, notices=notices)
    await store.end_flow(context.db, turn.id, FLOW)
    log.info("event=account_linked user=%s proof=%s", turn.id, proof)
    await say(
        context,
        turn.chat_id,
        _(
            "Akun ini sekarang terhubung dengan data Anda. Ketik /status untuk melihat "
            "status, atau /klaim untuk klaim."
        ),
        ReplyKeyboardRemove(),
    )


def _who(worker: Worker) -> str:
    """The worker as named to their cadre: name and reference, else the masked NIK."""
    registration = worker.registration
    if registration is not None and registration.name:
        return f"{registration.name} ({registration.ref})"
    if worker.member is not None:
        return str(worker.member["nik_masked"])
    return str(registration.ref) if registration is not None else ""


async def _translator_of(context: JagaContext, telegram_id: int) -> Translator:
    return translator(
        await users.language_of(context.db, telegram_id) or context.settings.language
    )


async def link_notices(
    context: JagaContext, worker: Worker, new_account: int, *, skip: int | None = None
) -> list[tuple[int, str]]:
    """Messages telling the worker's own account, accounts already linked and their cadre that
    another account was linked (each in their language; not to the new account or `skip`)."""
    own = membership.own_account(worker.registration)
    cadre = await membership.cadre_of(context.db, worker.registration, context.settings.admins)
    linked = [int(r["telegram_id"]) for r in await store.links_to(context.db, worker.nik_hash)]
    notices: list[tuple[int, str]] = []
    seen = {new_account, skip}
    for person in [own, *linked]:
        if person is None or person in seen:
            continue
        seen.add(person)
        tr = await _translator_of(context, person)
        notices.append(
            (
                person,
                tr.gettext(
                    "Akun lain baru saja dihubungkan dengan data BPJS Ketenagakerjaan "
                    "Anda dan sekarang bisa melihat status dan klaim Anda. Bila itu bukan Anda "
                    "atau keluarga Anda, hapus tautannya lewat /data_saya."
                ),
            )
        )
    if cadre is not None and cadre not in seen:
        tr = await _translator_of(context, cadre)
        notices.append(
            (
                cadre,
                tr.gettext(
                    "Akun lain baru saja dihubungkan dengan data {who}, pekerja yang "
                    "Anda daftarkan. Bila ini mencurigakan, beri tahu pekerja itu."
                ).format(who=_who(worker)),
            )
        )
    return notices


# --- link codes confirmed by a cadre or reviewer ----------------------------------------------


async def _confirmers(context: JagaContext, worker: Worker, nik: str) -> tuple[str, list[int]]:
    """The kabupaten of the worker and who may confirm a code: their cadre, else its reviewers."""
    registration = worker.registration
    known = registration.kabupaten_code if registration is not None else None
    kabupaten = known or membership.nik_kabupaten(nik)
    cadre = await membership.cadre_of(context.db, registration, context.settings.admins)
    if cadre is not None:
        return kabupaten, [cadre]
    reviewers = await roles.holders(context.db, "reviewer", kabupaten)
    return kabupaten, sorted({telegram_id for telegram_id, _code in reviewers})


async def _request_code(context: JagaContext, turn: Turn, worker: Worker, nik: str) -> None:
    """Gives the person a one-time code and asks their cadre (else the district) to check it."""
    _ = turn.gettext
    kabupaten, confirmers = await _confirmers(context, worker, nik)
    confirmers = [c for c in confirmers if c != turn.id]
    cadre = await membership.cadre_of(context.db, worker.registration, context.settings.admins)
    await store.end_flow(context.db, turn.id, FLOW)
    if not confirmers:
        await say(
            context,
            turn.chat_id,
            _(
                "Belum ada kader atau petugas kabupaten yang bisa memeriksa kode untuk data ini. "
                "Silakan hubungkan dengan nomor HP atau nomor KPJ, atau datang ke dinas tenaga "
                "kerja kabupaten."
            ),
            ReplyKeyboardRemove(),
        )
        return
    now = clock.now()
    recent = await store.recent_link_requests(context.db, worker.nik_hash, clock.utc_iso(now))
    if recent >= membership.MAX_CODES_PER_WORKER:  # each code notifies the confirmers
        log.info("event=link_code_refused user=%s reason=too_many", turn.id)
        await say(
            context,
            turn.chat_id,
            _(
                "Hari ini sudah beberapa kali diminta kode untuk data ini. Silakan hubungkan "
                "dengan nomor HP atau nomor KPJ, atau datang ke kader desa atau dinas tenaga "
                "kerja kabupaten."
            ),
            ReplyKeyboardRemove(),
        )
        return
    code, salt, digest = membership.new_link_code()
    expires = clock.utc_iso(now + dt.timedelta(hours=membership.CODE_HOURS))
    texts = {c: await _translator_of(context, c) for c in confirmers}
    who = _who(worker)

    def notices(request_id: int) -> list[tuple[int, str, list[list[tuple[str, str]]]]]:
        out = []
        for person, tr in texts.items():
            text = tr.gettext(
                "Seseorang meminta akunnya dihubungkan dengan data {who}. Setujui "
                "hanya bila Anda bertemu atau menelepon {who} dan ia sendiri menyebutkan kode "
                "dari HP-nya. Setelah menekan Setujui, Anda diminta mengetik kode itu."
            ).format(who=who)
            buttons = [
                [
                    (tr.gettext("Setujui"), f"STS OK {request_id}"),
                    (tr.gettext("Tolak"), f"STS NO {request_id}"),
                ]
            ]
            out.append((person, text, buttons))
        return out

    await store.open_link_request(
        context.db,
        telegram_id=turn.id,
        nik_hash=worker.nik_hash,
        code_salt=salt,
        code_digest=digest,
        kabupaten_code=kabupaten,
        cadre_id=cadre,
        expires_at=expires,
        notices=notices,
    )
    log.info("event=link_code_requested user=%s confirmers=%d", turn.id, len(confirmers))
    helper = (
        _("kader desa yang mendaftarkan Anda")
        if cadre is not None
        else _("petugas dinas tenaga kerja kabupaten")
    )
    await say(
        context,
        turn.chat_id,
        _(
            "Kode Anda: {code}\n\nTunjukkan atau sebutkan kode ini kepada {helper}; mereka "
            "sudah diberi tahu. Kode berlaku 24 jam. Jangan berikan kode ini kepada orang lain."
        ).format(code=code, helper=helper),
        ReplyKeyboardRemove(),
    )


async def _may_confirm(context: JagaContext, telegram_id: int, request: dict[str, Any]) -> bool:
    """The worker's cadre named on the request, or a reviewer of its kabupaten (not the asker)."""
    if telegram_id == request["telegram_id"]:
        return False
    if request["cadre_id"] is not None and telegram_id == request["cadre_id"]:
        # Still a cadre: a role revoked since the request was made confirms nothing.
        return await membership.acts_as_cadre(context.db, telegram_id, context.settings.admins)
    kabupaten = str(request["kabupaten_code"] or "")
    return any(
        role == "reviewer" and (kabupaten == region or kabupaten.startswith(region + "."))
        for role, region in await roles.held_by(context.db, telegram_id)
    )


def _open(request: dict[str, Any] | None) -> bool:
    now = clock.utc_iso(clock.now())
    return request is not None and request["status"] == "open" and request["expires_at"] > now


async def _answer_request(
    context: JagaContext, turn: Turn, query: CallbackQuery, request_id: int, *, confirm: bool
) -> None:
    """[Setujui] asks for the code the worker shows; [Tolak] refuses and tells the asker."""
    _ = turn.gettext
    request = await store.link_request(context.db, request_id)
    if request is None or not await _may_confirm(context, turn.id, request):
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    if not _open(request):
        await answer_button(query, _("Permintaan ini sudah selesai atau kedaluwarsa."))
        return
    await answer_button(query)
    if confirm:
        await store.set_flow_state(context.db, turn.id, FLOW, "code", request=request_id)
        await say(
            context,
            turn.chat_id,
            _(
                "Ketik kode 6 angka yang ditunjukkan pekerja itu dari HP-nya.\n"
                "Ketik /batal untuk berhenti."
            ),
        )
        return
    tr = await _translator_of(context, int(request["telegram_id"]))
    refused = tr.gettext(
        "Permintaan menghubungkan akun Anda dengan data pekerja tidak disetujui. Bila ini data "
        "Anda, hubungkan dengan nomor HP atau nomor KPJ lewat /status."
    )
    done = await store.decide_link_request(
        context.db,
        request_id,
        decided_by=turn.id,
        confirm=False,
        now=clock.utc_iso(clock.now()),
        notices=[(int(request["telegram_id"]), refused)],
    )
    log.info("event=link_request_refused request=%s by=%s", request_id, turn.id)
    await say(
        context,
        turn.chat_id,
        _("Permintaan ditolak. Akun itu tidak dihubungkan.")
        if done is not None
        else _("Permintaan ini sudah selesai atau kedaluwarsa."),
    )


async def _code(context: JagaContext, turn: Turn, state: dict[str, Any], text: str) -> None:
    """The code a cadre or reviewer types: right links the asker, wrong is counted."""
    _ = turn.gettext
    request_id = int(state["request"])
    request = await store.link_request(context.db, request_id)
    if request is None or not _open(request) or not await _may_confirm(context, turn.id, request):
        await store.end_flow(context.db, turn.id, FLOW)
        await say(context, turn.chat_id, _("Permintaan ini sudah selesai atau kedaluwarsa."))
        return
    code = text.replace(" ", "")
    digest = membership.code_digest(bytes(request["code_salt"]), code)
    if not hmac.compare_digest(digest, str(request["code_digest"])):
        wrong = await store.wrong_code(context.db, request_id, membership.MAX_WRONG_CODES)
        log.info("event=link_code_wrong request=%s count=%d", request_id, wrong)
        if wrong >= membership.MAX_WRONG_CODES:
            await store.end_flow(context.db, turn.id, FLOW)
            await say(
                context,
                turn.chat_id,
                _(
                    "Kode salah {count} kali, jadi permintaan ini dibatalkan. Pekerja itu bisa "
                    "meminta kode baru lewat /status."
                ).format(count=wrong),
            )
            return
        await say(context, turn.chat_id, _("Kode itu tidak cocok. Periksa lagi, atau /batal."))
        return
    worker = await membership.worker_of_nik_hash(context.db, str(request["nik_hash"]))
    asker = int(request["telegram_id"])
    tr = await _translator_of(context, asker)
    notices = [
        (
            asker,
            tr.gettext(
                "Akun ini sekarang terhubung dengan data Anda. Ketik /status untuk "
                "melihat status, atau /klaim untuk klaim."
            ),
        )
    ]
    if worker is not None:
        notices += await link_notices(context, worker, asker, skip=turn.id)
    done = await store.decide_link_request(
        context.db,
        request_id,
        decided_by=turn.id,
        confirm=True,
        now=clock.utc_iso(clock.now()),
        notices=notices,
    )
    await store.end_flow(context.db, turn.id, FLOW)
    if done is None:
        await say(context, turn.chat_id, _("Permintaan ini sudah selesai atau kedaluwarsa."))
        return
    log.info("event=account_linked user=%s proof=code by=%s", asker, turn.id)
    await say(context, turn.chat_id, _("Kode cocok. Akun pekerja itu sekarang terhubung."))


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Forgets the NIK typed so far (or the link request being confirmed)."""
    await store.clear_flow_state(context.db, telegram_id, FLOW)
