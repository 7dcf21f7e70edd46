"""/data_saya and the guards around personal data: groups, forwards, oversized texts, floods.

/data_saya shows a worker everything stored about them and offers two buttons per registration:
ask for a correction (a request the district's reviewers see) and withdraw consent, which deletes
the registration, or for an approved enrolment removes everything the district does not need for
its payments. A cadre reaches a worker they registered only by typing the worker's NIK and birth
date. Callback data: `DATA SHOW <id>`, `DATA FIX <id>`, `DATA DEL <id>`, `DATA DELOK <id>`,
`DATA NO`, `DATA OTHER`, and for the accounts linked to the worker `DATA LINKS` and
`DATA UNLINK <telegram id>`; every press is re-checked against the database (owner, cadre
proof, state).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable

from telegram import CallbackQuery, Update
from telegram.ext import ApplicationHandlerStop

from bot import callbacks, clock, notify
from bot.context import JagaContext
from bot.crypto import mask_phone
from bot.flood import FloodLimiter
from bot.i18n import LANGUAGE_NAMES, N_, Translator, translator
from bot.logging_setup import IDENTIFIER_TYPES, mask_text
from bot.membership import own_account
from bot.patterns import linear
from bot.registration import (
    HEIR_LABELS,
    OCCUPATION_LABELS,
    PROGRAM_LABELS,
    STATUS_WORDS,
    read_birth_date,
)
from bot.review import SOURCE_LABELS, region_name
from bot.untrusted import MAX_TEXT_LENGTH, clean_text
from handlers.common import Button, Turn, account_words, answer_button, layout, open_link, say
from handlers.registration import FLOW as REGISTRATION_FLOW
from handlers.registration.common import MAX_MESSAGE, quote_of
from handlers.telegram.render import markup_of
from storage import membership as membership_store
from storage import privacy, registrations, roles, users, whatsapp
from storage.registrations import Registration, Status

log = logging.getLogger(__name__)

FLOW = "data_saya"
# Failed NIK + birth date proofs a cadre may make in this many hours.
MAX_ATTEMPTS = 5
ATTEMPT_WINDOW_HOURS = 24

FIELD_NAMES = {
    "phone": N_("nomor HP"),
    "mother_name": N_("nama ibu kandung"),
    "heir": N_("ahli waris"),
    "income": N_("penghasilan yang Anda sebutkan"),
    "telegram": N_("tautan ke akun Telegram/WhatsApp Anda dan kader Anda"),
}
KEPT_NAMES = (
    N_("nomor pendaftaran dan status"),
    N_("NIK, nama, tanggal lahir dan jenis kelamin"),
    N_("alamat dan pekerjaan"),
    N_("program, dasar penghasilan, iuran, periode bayar, sumber iuran dan sponsornya"),
    N_("nomor KPJ, tanggal dan catatan pemeriksaan"),
    N_("catatan persetujuan Anda dan waktunya"),
)


# --- /data_saya ------------------------------------------------------------------------------


async def data_saya(update: Update, context: JagaContext) -> None:
    """Shows everything stored about the user, with buttons to correct or delete it."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    # A new look at one's data ends any earlier cadre proof and unfinished step.
    await privacy.set_session(
        context.db,
        turn.id,
        leaving=FLOW,
        step=None,
        nik_hash=None,
        verified_id=None,
        correction_id=None,
    )
    rows = await privacy.registrations_of(context.db, turn.id)
    linked = await _linked_rows(context, turn.id, rows)
    language = LANGUAGE_NAMES.get(turn.user.language or context.settings.language, "")
    parts = [
        _("Data Anda di Jaga Pekerja"),
        _("Akun: {account}. Bahasa: {language}.").format(
            account=account_words(turn.tr, turn.id), language=language
        ),
    ]
    buttons: list[list[Button]] = []
    if not rows and not linked:
        parts.append(_("Tidak ada data pendaftaran atas nama Anda."))
    for row in rows + linked:
        # One line each; the fields and the correct/delete buttons are behind "Lihat data".
        label = row.ref or _("draf")
        status = _(STATUS_WORDS.get(row.status, row.status))
        parts.append(_("Pendaftaran {ref}: {status}").format(ref=label, status=status))
        buttons.append([(_("Lihat data {ref}").format(ref=label), f"DATA SHOW {row.id}")])
    if linked and await _may_act(context, turn.id, linked[0], deleting=True) is None:
        parts.append(
            _(
                "Data yang terhubung lewat nomor KPJ hanya bisa dihapus dari akun dengan nomor "
                "HP yang tercatat, atau lewat kader desa atau petugas kabupaten."
            )
        )
    links = await _link_count(context, turn.id, rows)
    if links:
        parts.append(
            _("Akun Telegram/WhatsApp yang terhubung dengan data Anda: {count}.").format(
                count=links
            )
        )
        buttons.append([(_("Akun yang terhubung"), "DATA LINKS")])
    parts.append(
        _(
            "Data ini hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan dan hanya dilihat "
            "petugas kabupaten Anda. NIK dan nomor HP ditampilkan sebagian demi keamanan."
        )
    )
    access = await roles.held_by(context.db, turn.id)
    cadre = any(role == "cadre" for role, _region in access)
    if cadre or await privacy.registered_for_others(context.db, turn.id):
        buttons.append([(_("Data pekerja yang saya daftarkan"), "DATA OTHER")])
    await say(context, turn.chat_id, "\n\n".join(parts), layout(buttons) if buttons else None)


def _row_buttons(turn: Turn, row: Registration, *, may_delete: bool) -> list[list[Button]]:
    _ = turn.gettext
    label = row.ref or _("draf")
    out: list[list[Button]] = []
    if row.status != Status.DRAFT:
        out.append([(_("Minta perbaikan {ref}").format(ref=label), f"DATA FIX {row.id}")])
    if may_delete:
        out.append([(_("Hapus data {ref}").format(ref=label), f"DATA DEL {row.id}")])
    return out


# Links that prove the account is the worker's own, enough to withdraw consent: the phone on
# record shared by Telegram, or a code a cadre or reviewer checked with the worker in person.
# A KPJ is printed on a card the family may hold: enough to see the data and ask for a
# correction, not to delete it.
DELETING_PROOFS = frozenset({"own", "phone", "code"})


async def _linked_rows(
    context: JagaContext, telegram_id: int, own: list[Registration]
) -> list[Registration]:
    """The submitted registrations of the worker this account is linked to by a proof (a
    worker registered by a cadre or the district), less those already its own."""
    link = await membership_store.link_of(context.db, telegram_id)
    if link is None:
        return []
    seen = {r.id for r in own}
    rows = await privacy.submitted_for_nik(context.db, link[0])
    return [r for r in rows if r.id not in seen]


def describe(turn: Turn, context: JagaContext, row: Registration) -> str:
    """Every stored field of a registration, in plain words, as the worker or registrant."""
    tr = turn.tr
    _ = tr.gettext
    # The one who registered someone else is "Anda"; the worker is "Dia" to them.
    registrant = row.for_self is False and row.operator_id == turn.id
    lines = [
        _("Pendaftaran {ref}").format(ref=row.ref or _("(belum dikirim)")),
        _("Status: {status}").format(status=_(STATUS_WORDS.get(row.status, row.status))),
    ]

    def add(label: str, value: object) -> None:
        if value not in (None, ""):
            lines.append(f"{label}: {_display(str(value))}")

    add(_("Nama"), row.name)
    add(_("NIK"), row.nik_masked)
    if row.birth_date:
        add(_("Tanggal lahir"), tr.date(dt.date.fromisoformat(row.birth_date)))
    sex = {"L": _("Laki-laki"), "P": _("Perempuan")}.get(row.sex or "")
    add(_("Jenis kelamin"), sex)
    add(_("Nama ibu kandung"), row.mother_name)
    if row.phone_enc:
        try:
            phone = mask_phone(context.cipher.decrypt(row.phone_enc))
        except ValueError:
            phone = "***"
        add(_("Nomor HP"), phone)
    if row.desa_code:
        add(
            _("Alamat"),
            ", ".join(
                region_name(code)
                for code in (row.desa_code, row.kecamatan_code, row.kabupaten_code)
                if code
            ),
        )
    occupation = row.occupation
    if occupation:
        add(
            _("Pekerjaan"),
            row.occupation_other or _(OCCUPATION_LABELS.get(occupation, occupation)),
        )
    if row.income is not None:
        add(_("Penghasilan per bulan"), tr.money(row.income))
    if row.programs:
        add(_("Program"), PROGRAM_LABELS.get(row.programs, row.programs))
    contribution = _contribution_lines(turn, row)
    at = len(lines)
    lines += contribution
    payer = {
        "sendiri": _("Dia sendiri") if registrant else _("Anda sendiri"),
        "program": _("program pemerintah"),
    }
    add(_("Pembayar iuran"), payer.get(row.payer or ""))
    if row.sumber_iuran:
        add(_("Sumber iuran"), _(SOURCE_LABELS.get(row.sumber_iuran, row.sumber_iuran)))
    if row.heir_name:
        relation = _(HEIR_LABELS.get(row.heir_relation or "", row.heir_relation or ""))
        add(_("Ahli waris"), f"{row.heir_name} ({relation})" if relation else row.heir_name)
    add(_("Nomor KPJ"), row.kpj)
    if row.consent_at:
        # The date in words; the version of the consent text is ours, not the person's.
        lines.append(
            _("Persetujuan diberikan {date}").format(date=_stored_date(tr, row.consent_at))
        )
    if registrant:
        who = _("Anda")
    elif row.for_self is False:
        who = _("kader desa ({account})").format(account=account_words(tr, row.operator_id))
    elif row.operator_id == 0:
        who = _("tidak lagi tertaut ke akun Telegram/WhatsApp")
    else:
        who = _("Anda sendiri")
    add(_("Didaftarkan oleh"), who)
    if row.submitted_at:
        add(_("Dikirim"), _stored_date(tr, row.submitted_at))
    if len("\n".join(lines)) > MAX_MESSAGE:  # a long name or address: the amounts in short
        lines[at : at + len(contribution)] = _contribution_lines(turn, row, short=True)
    return "\n".join(lines)


def _contribution_lines(turn: Turn, row: Registration, *, short: bool = False) -> list[str]:
    """The summary's contribution lines (`short`: the discount without its end date)."""
    # The regulation's name is left out of the discount note: this view is long already.
    _ = turn.gettext
    tr = turn.tr
    months = row.pay_period_months
    if row.monthly_contribution is None:
        if not months:
            return []
        return [_("Dibayar sekaligus untuk: {months} bulan").format(months=months)]
    if row.income is None:  # withdrawn consent: the income is deleted, the amount kept
        lines = [_("Iuran per bulan: {value}").format(value=tr.money(row.monthly_contribution))]
        if months:
            lines.append(_("Dibayar sekaligus untuk: {months} bulan").format(months=months))
        return lines
    q = quote_of(row)
    if row.payer is None and not row.sumber_iuran:  # a draft not yet at the payer question
        return [_("Iuran per bulan: {value}").format(value=tr.money(q.normal))]
    if not q.self_paid:
        return [_("Iuran per bulan: {value}, dibayar program").format(value=tr.money(q.normal))]
    monthly = _("Iuran per bulan: {value}").format(value=tr.money(q.to_pay))
    if q.discount_until is not None and short:
        monthly += " " + _("(normal {normal})").format(normal=tr.money(q.normal))
    elif q.discount_until is not None:
        monthly += " " + _("(normal {normal}, dipotong sampai {end})").format(
            normal=tr.money(q.normal), end=tr.date(q.discount_until)
        )
    if not months:
        return [monthly]
    period = _("Dibayar sekaligus untuk: {months} bulan ({amount})").format(
        months=months, amount=tr.money(q.period_total(months))
    )
    return [monthly, period]


def _display(value: str) -> str:
    """Stored text as shown: without direction marks or invisible characters."""
    return clean_text(value)


def _stored_date(tr: Translator, stamp: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return tr.date(moment.astimezone(clock.WIB).date())


# --- buttons ---------------------------------------------------------------------------------


async def button(update: Update, context: JagaContext) -> None:
    """Answers a `DATA …` press after re-checking who may act on which registration."""
    query = update.callback_query
    assert query is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = (query.data or "").split()
    action = parts[1] if len(parts) > 1 else ""
    if action == "OTHER" and len(parts) == 2:
        await answer_button(query)
        await _ask_nik(context, turn)
        return
    if action == "NO" and len(parts) == 2:
        await answer_button(query, _("Baik, tidak ada yang dihapus."))
        return
    if action == "LINKS" and len(parts) == 2:
        await answer_button(query)
        await _show_links(context, turn)
        return
    if action == "UNLINK" and len(parts) == 3 and parts[2].isascii() and parts[2].isdigit():
        await _unlink(context, turn, query, int(parts[2]))
        return
    if action == "SHOW" and len(parts) == 3 and parts[2].isascii() and parts[2].isdigit():
        shown = await registrations.get(context.db, int(parts[2]))
        if shown is None or await _may_act(context, turn.id, shown) is None:
            await answer_button(query, _("Tombol ini sudah tidak berlaku."))
            return
        await answer_button(query)
        may_delete = await _may_act(context, turn.id, shown, deleting=True) is not None
        await say(
            context,
            turn.chat_id,
            describe(turn, context, shown),
            layout(_row_buttons(turn, shown, may_delete=may_delete)),
        )
        return
    if action not in {"FIX", "DEL", "DELOK"} or len(parts) != 3 or not parts[2].isdigit():
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    registration_id = int(parts[2])
    row = await registrations.get(context.db, registration_id)
    deleting = action in {"DEL", "DELOK"}
    on_behalf = None if row is None else await _may_act(context, turn.id, row, deleting=deleting)
    if row is None or on_behalf is None:
        done = await privacy.withdrawn_by(context.db, registration_id, turn.id)
        if done is not None and action in {"DEL", "DELOK"}:
            await answer_button(query, _("Data ini sudah dihapus sebelumnya."))
            return
        log.info("event=data_button_refused user=%s action=%s", turn.id, action)
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    await answer_button(query)
    if action == "FIX":
        await _ask_correction(context, turn, row)
    elif action == "DEL":
        await _confirm_delete(context, turn, row)
    else:
        await _delete(context, turn, row, on_behalf=on_behalf)


async def _may_act(
    context: JagaContext, telegram_id: int, row: Registration, *, deleting: bool = False
) -> bool | None:
    """False: the worker themselves (or an account linked to them, for deleting only by a
    strong proof); True: their cadre, proved by NIK + birth date; None: no."""
    if row.worker_telegram_id == telegram_id:
        return False
    if row.operator_id == telegram_id and row.for_self is not False:
        return False
    if row.operator_id == telegram_id and row.for_self is False:
        state = await privacy.session(context.db, telegram_id, attempts_window=_window())
        if state.verified_id == row.id:
            return True
    link = await membership_store.link_of(context.db, telegram_id)
    linked = link is not None and row.status != Status.DRAFT and link[0] == row.nik_hash
    if linked and link is not None and (not deleting or link[1] in DELETING_PROOFS):
        return False
    return None


async def _confirm_delete(context: JagaContext, turn: Turn, row: Registration) -> None:
    """Says plainly what withdrawing consent deletes and what stays, then asks to confirm."""
    _ = turn.gettext
    ref = row.ref or _("draf")
    if row.status in privacy.KEPT_STATUSES:
        # Short: the full list of what stays is in the message after the deletion.
        removed = ", ".join(_(name) for name in FIELD_NAMES.values())
        text = _(
            "Pendaftaran {ref} sudah disetujui. Jika persetujuan ditarik, yang dihapus: "
            "{removed}.\n\n"
            "Yang tetap disimpan, karena kabupaten wajib menyimpannya untuk pembayaran iuran: "
            "NIK, nama, tanggal lahir, alamat, pekerjaan, program, iuran dan nomor KPJ.\n\n"
            "Kepesertaan BPJS Ketenagakerjaan tidak otomatis berhenti; untuk itu hubungi kantor "
            "BPJS atau petugas kabupaten. Lanjutkan?"
        ).format(ref=ref, removed=removed)
    else:
        text = _(
            "Semua data pendaftaran {ref} akan dihapus dan tidak bisa dikembalikan. "
            "Pendaftaran ini juga batal. Lanjutkan?"
        ).format(ref=ref)
    keyboard = layout(
        [
            [(_("Ya, tarik persetujuan dan hapus"), f"DATA DELOK {row.id}")],
            [(_("Tidak jadi"), "DATA NO")],
        ]
    )
    await say(context, turn.chat_id, text, keyboard)


async def _delete(context: JagaContext, turn: Turn, row: Registration, *, on_behalf: bool) -> None:
    """Withdraws consent, deletes or anonymises, and confirms what was deleted."""
    _ = turn.gettext
    # A withdrawn draft takes the registration flow it answered with it (if it is active).
    result = await privacy.withdraw(
        context.db, row.id, turn.id, on_behalf=on_behalf, draft_flow=REGISTRATION_FLOW
    )
    if result is None:
        await say(context, turn.chat_id, _("Data ini sudah dihapus sebelumnya."))
        return
    log.info(
        "event=consent_withdrawn registration=%s outcome=%s on_behalf=%s",
        row.id,
        result.outcome,
        int(on_behalf),
    )
    ref = result.ref or _("draf")
    if result.outcome == "deleted":
        text = _(
            "Selesai. Persetujuan Anda sudah dicatat ditarik dan seluruh data pendaftaran {ref} "
            "sudah dihapus: NIK, nama, tanggal lahir, nama ibu, nomor HP, alamat, pekerjaan, "
            "penghasilan, program dan ahli waris."
        ).format(ref=ref)
    else:
        removed = ", ".join(_(name) for name in FIELD_NAMES.values())
        kept = "\n".join("• " + _(name) for name in KEPT_NAMES)
        text = _(
            "Selesai. Persetujuan Anda sudah ditarik. Dari pendaftaran {ref} sudah "
            "dihapus: {removed}.\n\nYang tetap disimpan untuk pembayaran iuran oleh kabupaten:\n"
            "{kept}"
        ).format(ref=ref, removed=removed, kept=kept)
    await say(context, turn.chat_id, text)


# --- accounts linked to the worker -------------------------------------------------------------

PROOF_WORDS = {
    "own": N_("akun pekerja sendiri"),
    "phone": N_("nomor HP yang sama"),
    "kpj": N_("nomor KPJ"),
    "code": N_("kode yang diperiksa kader atau petugas"),
}


async def _own_nik_hashes(
    context: JagaContext, telegram_id: int, rows: list[Registration] | None = None
) -> set[str]:
    """The NIK hashes of the worker this account is: its own submitted registrations."""
    if rows is None:
        rows = await privacy.registrations_of(context.db, telegram_id)
    return {
        r.nik_hash
        for r in rows
        if r.status != Status.DRAFT and r.nik_hash and own_account(r) == telegram_id
    }


async def _link_count(context: JagaContext, telegram_id: int, rows: list[Registration]) -> int:
    """Accounts linked to this worker's data, plus this account's own link to a worker."""
    count = 0
    for nik_hash in await _own_nik_hashes(context, telegram_id, rows):
        links = await membership_store.links_to(context.db, nik_hash)
        count += sum(1 for link in links if link.telegram_id != telegram_id)
    if await membership_store.linked_nik_hash(context.db, telegram_id) is not None:
        count += 1
    return count


async def _show_links(context: JagaContext, turn: Turn) -> None:
    """Lists the accounts linked to the worker's data, each with a button to remove it."""
    _ = turn.gettext
    lines: list[str] = []
    buttons: list[list[Button]] = []
    for nik_hash in sorted(await _own_nik_hashes(context, turn.id)):
        for link in await membership_store.links_to(context.db, nik_hash):
            other = link.telegram_id
            if other == turn.id:
                continue
            lines.append(
                _("• {account}, sejak {date} (bukti: {proof})").format(
                    account=account_words(turn.tr, other),
                    date=_stored_date(turn.tr, link.linked_at),
                    proof=_(PROOF_WORDS.get(link.proof, link.proof)),
                )
            )
            buttons.append([(_("Hapus tautan {id}").format(id=other), f"DATA UNLINK {other}")])
    text = (
        _("Akun Telegram/WhatsApp lain yang terhubung dengan data Anda:") + "\n" + "\n".join(lines)
        if lines
        else _("Tidak ada akun lain yang terhubung dengan data Anda.")
    )
    if await membership_store.linked_nik_hash(context.db, turn.id) is not None:
        text += "\n\n" + _("Akun ini sendiri terhubung dengan data seorang pekerja.")
        buttons.append([(_("Hapus tautan akun ini"), f"DATA UNLINK {turn.id}")])
    await say(context, turn.chat_id, text, layout(buttons) if buttons else None)


async def _unlink(context: JagaContext, turn: Turn, query: CallbackQuery, other: int) -> None:
    """Removes a link: the linked account itself, or the worker whose data it reaches."""
    _ = turn.gettext
    nik_hash = await membership_store.linked_nik_hash(context.db, other)
    allowed = nik_hash is not None and (
        other == turn.id or nik_hash in await _own_nik_hashes(context, turn.id)
    )
    if nik_hash is None or not allowed:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    await membership_store.unlink(context.db, other, nik_hash)
    log.info("event=account_unlinked user=%s by=%s", other, turn.id)
    await answer_button(query)
    await say(
        context,
        turn.chat_id,
        _("Tautan akun ini sudah dihapus.")
        if other == turn.id
        else _(
            "Tautan akun {id} sudah dihapus. Akun itu tidak bisa lagi melihat data Anda."
        ).format(id=other),
    )


# --- corrections -----------------------------------------------------------------------------


async def _ask_correction(context: JagaContext, turn: Turn, row: Registration) -> None:
    """Asks what is wrong; the next text message is the correction request."""
    _ = turn.gettext
    await privacy.set_session(
        context.db, turn.id, flow=FLOW, step="correction", correction_id=row.id
    )
    await say(
        context,
        turn.chat_id,
        _(
            "Tulis apa yang salah dan apa yang benar, misalnya: “Nama ibu kandung yang benar "
            "Siti Aminah”. Petugas kabupaten akan memeriksa dan memperbaikinya.\n"
            "Ketik /batal jika tidak jadi."
        ),
    )


async def _store_correction(
    context: JagaContext, turn: Turn, state: privacy.Session, text: str
) -> None:
    _ = turn.gettext
    row = (
        None
        if state.correction_id is None
        else await registrations.get(context.db, state.correction_id)
    )
    on_behalf = None if row is None else await _may_act(context, turn.id, row)
    if row is None or on_behalf is None:
        await _end(context, turn)
        await say(context, turn.chat_id, _("Data ini sudah tidak ada. Ketik /data_saya."))
        return
    if len(text) < 3:
        await say(context, turn.chat_id, _("Mohon tulis perbaikannya dengan kalimat singkat."))
        return
    notices = notify.QueuedNotices(await _reviewer_notices(context, row, text))
    await privacy.request_correction(
        context.db,
        row,
        turn.id,
        context.cipher.encrypt(text),
        on_behalf=on_behalf,
        then=notices.queue,
        flow=None,
    )
    log.info("event=correction_requested registration=%s", row.id)
    await say(
        context,
        turn.chat_id,
        _(
            "Terima kasih. Permintaan perbaikan untuk {ref} sudah diteruskan ke petugas "
            "kabupaten. Anda akan diberi tahu jika ada yang perlu dilengkapi."
        ).format(ref=row.ref),
    )
    await notices.dispatch(context.services.outbox)


async def _reviewer_notices(
    context: JagaContext, row: Registration, text: str
) -> list[notify.OutgoingMessage]:
    """The notes to the reviewers of the registration's kabupaten, with NIK and phone masked."""
    region = row.kabupaten_code or ""
    reviewers = {tid for tid, _code in await roles.holders(context.db, "reviewer", region)}
    notices = []
    for reviewer in sorted(reviewers):
        language = await users.language_of(context.db, reviewer)
        _ = translator(language or context.settings.language).gettext
        notice = _(
            "Permintaan perbaikan data untuk {ref}: “{text}”\nPeriksa lewat /tinjau."
        ).format(ref=row.ref, text=mask_text(text, IDENTIFIER_TYPES))
        notices.append(notify.OutgoingMessage(reviewer, notice))
    return notices


# --- a cadre's worker ------------------------------------------------------------------------


async def _ask_nik(context: JagaContext, turn: Turn) -> None:
    _ = turn.gettext
    state = await privacy.session(context.db, turn.id, attempts_window=_window())
    if state.attempts >= MAX_ATTEMPTS:
        await say(context, turn.chat_id, _("Terlalu banyak percobaan. Silakan coba lagi besok."))
        return
    await privacy.set_session(
        context.db, turn.id, flow=FLOW, step="nik", nik_hash=None, verified_id=None
    )
    await say(
        context,
        turn.chat_id,
        _(
            "Untuk melihat data pekerja yang Anda daftarkan, ketik NIK pekerja itu (16 angka).\n"
            "Ketik /batal jika tidak jadi."
        ),
    )


async def _nik(context: JagaContext, turn: Turn, text: str) -> None:
    _ = turn.gettext
    nik = clean_text(text).translate(_NIK_SEPARATORS)
    if not _NIK_DIGITS.fullmatch(nik):
        await say(context, turn.chat_id, _("NIK harus 16 angka. Silakan ketik lagi."))
        return
    await privacy.set_session(
        context.db, turn.id, step="birth_date", nik_hash=context.cipher.lookup_hash("nik", nik)
    )
    await say(
        context, turn.chat_id, _("Sekarang ketik tanggal lahir pekerja itu, contoh: 15-05-1980.")
    )


# Typed text: RE2 patterns, linear in the text (bot/patterns.py); clean_text made digits 0-9.
_NIK_SEPARATORS = str.maketrans("", "", " \n.-")
_NIK_DIGITS = linear(r"[0-9]{16}")


def parse_birth_date(text: str) -> dt.date | None:
    """A whole birth date as people type it (`15-05-1980`, `12 maret 1978`, `1980-05-15`, read
    as the registration reads it); None if a part is missing or it is not a real date."""
    reading = read_birth_date(text, clock.today(), asked="day")
    if reading.year is None or reading.month is None or reading.day is None:
        return None
    try:
        return dt.date(reading.year, reading.month, reading.day)
    except ValueError:
        return None


async def _birth_date(context: JagaContext, turn: Turn, state: privacy.Session, text: str) -> None:
    _ = turn.gettext
    birth = parse_birth_date(text)
    if birth is None:
        await say(
            context, turn.chat_id, _("Tanggal tidak terbaca. Ketik seperti ini: 15-05-1980.")
        )
        return
    row = None
    if state.nik_hash is not None:
        row = await privacy.registered_by(context.db, turn.id, state.nik_hash, birth.isoformat())
    if row is None:
        # The same answer for an unknown NIK and a wrong date: nothing to learn by guessing.
        failures = await privacy.failed_attempt(
            context.db, turn.id, attempts_window=_window(), flow=None
        )
        log.info("event=cadre_proof_failed user=%s attempts=%d", turn.id, failures)
        await say(
            context,
            turn.chat_id,
            _(
                "NIK dan tanggal lahir itu tidak cocok dengan pekerja yang Anda daftarkan. "
                "Periksa KTP-nya lalu coba lagi lewat /data_saya."
            ),
        )
        return
    await privacy.set_session(
        context.db, turn.id, flow=None, step=None, nik_hash=None, verified_id=row.id
    )
    await say(
        context,
        turn.chat_id,
        describe(turn, context, row),
        layout(_row_buttons(turn, row, may_delete=True)),
    )


# --- the flow's messages ---------------------------------------------------------------------


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes the text the current /data_saya step waits for (NIK, birth date or correction)."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.effective_message
    state = await privacy.session(context.db, turn.id, attempts_window=_window())
    if state.step is None:
        await _end(context, turn)
        await say(context, turn.chat_id, _("Ketik /data_saya untuk melihat data Anda."))
        return
    if message is None or not message.text:
        await say(context, turn.chat_id, _("Mohon ketik jawaban Anda sebagai teks."))
        return
    text = clean_text(message.text)
    if state.step == "nik":
        await _nik(context, turn, text)
    elif state.step == "birth_date":
        await _birth_date(context, turn, state, text)
    else:
        await _store_correction(context, turn, state, text)


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow, forgetting the unfinished step (failed attempts are kept)."""
    await privacy.set_session(
        context.db, telegram_id, flow=None, step=None, nik_hash=None, correction_id=None
    )


async def _end(context: JagaContext, turn: Turn) -> None:
    await privacy.set_session(
        context.db, turn.id, flow=None, step=None, nik_hash=None, correction_id=None
    )


def _window() -> str:
    since = clock.now() - dt.timedelta(hours=ATTEMPT_WINDOW_HOURS)
    return clock.utc_iso(since)


# --- guards: groups, forwards, oversized texts, floods ---------------------------------------

GROUP_COMMANDS = frozenset({"start", "bantuan"})

# A guard's rule: it stops the update whatever happens to its own reply. python-telegram-bot goes
# on to the next handler group after an exception, so a guard whose reply failed would otherwise
# let the update through (a forwarded NIK stored as an answer, a private menu sent to a group).


async def guard_reply(reply: Awaitable[object], guard: str) -> None:
    """Awaits a guard's reply; a failure is logged and swallowed, so the guard still stops."""
    try:
        await reply
    except Exception as exc:
        log.warning("event=guard_reply_failed guard=%s error=%s", guard, type(exc).__name__)


async def answer_in_group(update: Update, context: JagaContext) -> None:
    """In a group, /start and /bantuan get one short answer with a button to the private chat."""
    await guard_reply(_answer_in_group(update, context), "group")


async def _answer_in_group(update: Update, context: JagaContext) -> None:
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return
    command, _sep, mention = message.text.split()[0][1:].partition("@")
    if command.lower() not in GROUP_COMMANDS:
        return
    if mention and mention.lower() != (context.bot.username or "").lower():
        return  # addressed to another bot in the group
    turn = await Turn.load(update, context)
    _ = turn.gettext
    # A group is on Telegram: answered in the group's own thread, as a reply there is.
    keyboard = markup_of(open_link(_("Buka chat pribadi"), f"https://t.me/{context.bot.username}"))
    await message.reply_text(
        _(
            "Jaga Pekerja hanya melayani lewat chat pribadi, supaya data pribadi Anda tidak "
            "terlihat orang lain. Tekan tombol di bawah."
        ),
        reply_markup=keyboard,
        do_quote=False,
    )


async def refused_unread(update: Update, context: JagaContext) -> bool:
    """Answers, without reading it, a forwarded message or an oversized text; True if so.

    A forwarded message is never taken as an answer: it may carry someone else's data.
    """
    message = update.message
    if message is None:
        return False
    if message.forward_origin is not None:
        text = N_(
            "Pesan terusan tidak saya baca, karena bisa berisi data orang lain. "
            "Silakan ketik sendiri jawaban atau pertanyaan Anda."
        )
    elif len(message.text or message.caption or "") > MAX_TEXT_LENGTH:
        text = N_("Pesan Anda terlalu panjang. Mohon kirim paling banyak {n} huruf.")
    else:
        return False
    log.info(
        "event=message_refused user=%s forwarded=%d",
        update.effective_user.id if update.effective_user else None,
        message.forward_origin is not None,
    )
    await guard_reply(_say_refused(update, context, text), "unread")
    return True


async def _say_refused(update: Update, context: JagaContext, text: str) -> None:
    turn = await Turn.load(update, context)
    await say(context, turn.chat_id, turn.gettext(text).format(n=MAX_TEXT_LENGTH))


async def refused_forged_button(update: Update, context: JagaContext) -> bool:
    """Answers a press whose data does not fit its prefix's grammar; True if so.

    Unknown prefixes are left to the stale-button handler (old messages, old versions). Empty
    data is refused here: python-telegram-bot's pattern check skips it, so any handler matches.
    """
    query = update.callback_query
    if query is None or callbacks.parse(query.data) is not None:
        return False
    if query.data and not callbacks.known(query.data):
        return False
    log.warning(
        "event=forged_button user=%s data=%r",
        update.effective_user.id if update.effective_user else None,
        (query.data or "")[:64],
    )
    await guard_reply(_answer_forged(update, context), "forged_button")
    return True


async def _answer_forged(update: Update, context: JagaContext) -> None:
    query = update.callback_query
    assert query is not None
    turn = await Turn.load(update, context)
    await answer_button(query, turn.gettext("Tombol ini sudah tidak berlaku."))


class FloodGuard:
    """The group -10 handler: serves, warns once, or silently drops a person's update."""

    def __init__(self, limiter: FloodLimiter):
        self.limiter = limiter

    async def __call__(self, update: Update, context: JagaContext) -> None:
        """Stops updates of a person who sends far more than anyone can type."""
        user = update.effective_user
        if user is None:
            return
        verdict = await self.limiter.decide(user.id)
        if verdict == FloodLimiter.SERVE:
            return
        if verdict == FloodLimiter.WARN:
            log.warning("event=flood_limited user=%s", user.id)
            chat = update.effective_chat
            if chat is not None and chat.type == "private" and not user.is_bot:
                await guard_reply(self._warn(update, context), "flood")
        raise ApplicationHandlerStop

    @staticmethod
    async def _warn(update: Update, context: JagaContext) -> None:
        turn = await Turn.load(update, context)
        await say(
            context,
            turn.chat_id,
            turn.gettext(
                "Pesan Anda datang terlalu cepat. Mohon tunggu sebentar, lalu kirim "
                "lagi pesan terakhir Anda."
            ),
        )


# --- retention -------------------------------------------------------------------------------


async def retention_job(context: JagaContext) -> None:
    """Daily: deletes rejected submissions, abandoned drafts and old WhatsApp records past their
    retention period."""
    settings = context.settings
    now = clock.now()
    rejected, drafts = await privacy.purge_expired(
        context.db,
        rejected_before=clock.utc_iso(now - dt.timedelta(days=settings.rejected_retention_days)),
        drafts_before=clock.utc_iso(now - dt.timedelta(days=settings.draft_retention_days)),
    )
    # Handled WhatsApp events (already emptied of what was typed) and sent-message records.
    whatsapp_rows = await whatsapp.purge(context.db)
    log.info(
        "event=retention_purge rejected=%d drafts=%d whatsapp=%d", rejected, drafts, whatsapp_rows
    )
