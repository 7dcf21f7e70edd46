"""/klaim: the linked worker's claims, or one claim by its number, with the steps and what next."""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Update

from bot import membership
from bot.context import JagaContext
from bot.i18n import N_, Translator
from bot.patterns import linear
from bot.registration import is_help, looks_like_question, normalise
from bot.untrusted import clean_text
from handlers import questions
from handlers.common import Button, Keyboard, Turn, answer_button, layout, say
from handlers.registration.common import MAX_MESSAGE, fit
from handlers.status import leave_for_other_words, limit_reached
from storage import membership as store

log = logging.getLogger(__name__)

FLOW = "klaim"
MAX_SHOWN = 5

TYPE_WORDS = {
    "JKK": N_("JKK (kecelakaan kerja)"),
    "JKM": N_("JKM (santunan kematian)"),
    "JHT": N_("JHT (jaminan hari tua)"),
    "BEASISWA": N_("Beasiswa anak"),
}
STEP_WORDS = {
    "diajukan": N_("Diajukan"),
    "diverifikasi": N_("Berkas diperiksa"),
    "diproses": N_("Diproses BPJS"),
    "disetujui": N_("Disetujui"),
    "dibayar": N_("Dibayar"),
    "ditolak": N_("Ditolak"),
}
MARKS = {"done": "✅", "current": "▶️", "todo": "⬜"}

# What to prepare while a claim is open, per type (PP 44/2015, PP 49/2023 and BPJS
# Ketenagakerjaan's claim requirements; no durations where the sources conflict or are unknown).
OPEN_NEXT = {
    "JKK": N_(
        "Pastikan laporan Tahap I sudah masuk (paling lambat 2×24 jam setelah kecelakaan). "
        "Siapkan KPJ, e-KTP, kronologi kecelakaan, surat keterangan dokter, dan laporan polisi "
        "bila kecelakaan lalu lintas. Setelah sembuh atau ada keterangan dokter, ajukan "
        "Formulir Tahap II. Status kasus diputuskan paling lama 30 hari setelah laporan Tahap I."
    ),
    "JKM": N_(
        "Ahli waris menyiapkan: KPJ, e-KTP peserta dan ahli waris, akta kematian, Kartu "
        "Keluarga, surat keterangan ahli waris, buku nikah (bila suami/istri) dan buku tabungan, "
        "lalu membawanya ke kantor cabang BPJS Ketenagakerjaan. Lama proses berbeda-beda; "
        "tanyakan ke kantor cabang atau BPJS 175."
    ),
    "JHT": N_(
        "Siapkan KPJ, e-KTP, Kartu Keluarga, buku tabungan, dan NPWP bila saldo di atas "
        "Rp50 juta. Saldo sampai Rp15 juta bisa diurus lewat aplikasi JMO; di atas itu lewat "
        "Lapak Asik (online) atau kantor cabang."
    ),
    "BEASISWA": N_(
        "Siapkan formulir beasiswa, surat keterangan sekolah/kampus, KTP atau kartu pelajar "
        "anak, dan akta kelahiran anak. Berkas diajukan di kantor cabang BPJS Ketenagakerjaan."
    ),
}
ASK_BRANCH = N_(
    "Bila BPJS meminta kelengkapan berkas, datang ke kantor cabang BPJS Ketenagakerjaan atau "
    "hubungi BPJS 175."
)


# What to do next, in a line or two, when the claim is no longer open.
NEXT_WORDS = {
    "disetujui": N_(
        "Klaim sudah disetujui dan menunggu pembayaran ke rekening. Bila lama tidak masuk, "
        "tanyakan ke kantor cabang BPJS Ketenagakerjaan atau BPJS 175."
    ),
    "dibayar": N_(
        "Bila dana belum masuk ke rekening, hubungi kantor cabang BPJS Ketenagakerjaan atau "
        "BPJS 175 dengan membawa buku tabungan."
    ),
    "ditolak": N_(
        "Tanyakan alasan penolakan dan berkas apa yang bisa dilengkapi ke kantor cabang BPJS "
        "Ketenagakerjaan atau BPJS 175."
    ),
}
OPEN_STATUSES = (
    store.ClaimStatus.SUBMITTED,
    store.ClaimStatus.VERIFIED,
    store.ClaimStatus.PROCESSING,
)


def is_open(claim: store.Claim) -> bool:
    """Whether the claim is still being handled (its papers are explained behind a button)."""
    return claim.status in OPEN_STATUSES


def describe_claim(tr: Translator, claim: store.Claim, *, owner: bool = True) -> str:
    """One claim, short: type, steps done and current, last change, amount paid (to its owner
    only), and the next step in a line or two (what to prepare is behind "Penjelasan")."""
    _ = tr.gettext
    status = claim.status
    kind = TYPE_WORDS[claim.type]
    lines = [_("Klaim {type} – nomor {number}").format(type=_(kind), number=claim.claim_no)]
    for step, state in membership.iter_claim_steps(status):
        suffix = _(" (sekarang)") if state == "current" else ""
        lines.append(f"{MARKS[state]} {_(STEP_WORDS[step])}{suffix}")
    changed = dt.date.fromisoformat(claim.status_date)
    lines.append(_("Perubahan terakhir: {date}").format(date=tr.date(changed)))
    if owner and status == store.ClaimStatus.PAID and claim.amount_paid is not None:
        lines.append(_("Dibayar: {amount}").format(amount=tr.money(claim.amount_paid)))
    lines.append("")
    if is_open(claim):
        lines.append(
            _("Berikutnya: siapkan berkas klaim. Tekan Penjelasan untuk melihat daftarnya.")
        )
    else:
        lines.append(_(NEXT_WORDS[status]))
        if status == store.ClaimStatus.PAID and claim.type == store.ClaimType.BEASISWA:
            lines.append(_("Beasiswa diajukan lagi setiap tahun sesuai jenjang sekolah anak."))
    return "\n".join(lines)


def explain_open(tr: Translator, kind: str) -> str:
    """What to prepare while a claim of this type is open, and where to ask."""
    _ = tr.gettext
    return "\n\n".join(
        (
            _("Yang perlu disiapkan untuk klaim {type}:").format(type=_(TYPE_WORDS[kind])),
            _(OPEN_NEXT[kind]),
            _(ASK_BRANCH),
        )
    )


def _claim_buttons(turn: Turn, claim: store.Claim) -> list[list[Button]]:
    """The Penjelasan button for an open claim (none otherwise)."""
    if not is_open(claim):
        return []
    return [[(turn.gettext("Penjelasan"), f"CLM E {claim.type}")]]


def _footer(tr: Translator) -> str:
    _ = tr.gettext
    return _(
        "Data klaim dari BPJS cabang bisa terlambat beberapa hari. Status resmi ada di menu "
        "Tracking Klaim aplikasi JMO."
    )


def _list_line(tr: Translator, claim: store.Claim) -> str:
    """One short line of the list: number, type, current step and its date."""
    _ = tr.gettext
    changed = dt.date.fromisoformat(claim.status_date)
    kind, state = claim.type, claim.status
    return _("• {number} – {type}: {step} ({date})").format(
        number=claim.claim_no,
        type=_(TYPE_WORDS[kind]),
        step=_(STEP_WORDS[state]),
        date=tr.date(changed),
    )


async def klaim(update: Update, context: JagaContext) -> None:
    """Shows the linked worker's claims, a claim by number (/klaim NOMOR), or asks the number."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    typed = " ".join(context.args or []).strip()
    if typed:
        await _take(context, turn, typed)
        return
    worker = await membership.worker_of(context.db, turn.id)
    if worker is None:
        await store.set_flow_state(context.db, turn.id, FLOW, "number")
        await say(
            context,
            turn.chat_id,
            _(
                "Ketik nomor klaim Anda. Untuk melihat semua klaim Anda, hubungkan dulu akun ini "
                "dengan data Anda.\n"
                "Ketik /batal untuk berhenti."
            ),
            layout([[(_("Hubungkan data saya"), "STS SELF")]]),
        )
        return
    if turn.user.active_flow == FLOW:  # "Status klaim" pressed at the claim-number prompt
        await store.end_flow(context.db, turn.id, FLOW)
    claims = await store.claims_of(context.db, worker.nik_hash, worker.kpj, limit=MAX_SHOWN + 1)
    buttons: list[list[Button]] = [[(_("Cari dengan nomor klaim"), "CLM NO")]]
    if not claims:
        await say(
            context,
            turn.chat_id,
            _("Belum ada data klaim untuk Anda.") + "\n\n" + _footer(turn.tr),
            layout(buttons),
        )
        return
    if len(claims) == 1:
        text = describe_claim(turn.tr, claims[0]) + "\n\n" + _footer(turn.tr)
        await say(context, turn.chat_id, text, layout(_claim_buttons(turn, claims[0]) + buttons))
        return
    # A short line per claim; each claim's steps and next step are behind its own button.
    shown = claims[:MAX_SHOWN]
    lines = [_("Klaim Anda, yang terbaru di atas:")]
    lines += [_list_line(turn.tr, claim) for claim in shown]
    if len(claims) > MAX_SHOWN:
        lines.append(_("Hanya {count} klaim terbaru yang ditampilkan.").format(count=MAX_SHOWN))
    parts = ["\n".join(lines), _("Tekan tombol klaim untuk melihat rinciannya."), _footer(turn.tr)]
    rows: list[list[Button]] = [
        [(_("Klaim {number}").format(number=claim.claim_no), f"CLM D {claim.claim_no}")]
        for claim in shown
    ]
    await say(context, turn.chat_id, "\n\n".join(parts), layout(rows + buttons))


async def show_by_number(context: JagaContext, turn: Turn, number: str) -> None:
    """One claim by number: free for the worker's own claims (own account or a proven link);
    for anyone else counted against the lookup limit and shown without the amount paid."""
    _ = turn.gettext
    number = clean_text(number)  # also from `/klaim NOMOR`, where nothing else bounds it
    if not number or len(number) > 40:
        await say(
            context, turn.chat_id, _("Ketik nomor klaim saja (huruf dan angka), atau /batal.")
        )
        return
    claim = await store.claim_by_no(context.db, number) or await store.claim_by_no(
        context.db, number.upper()
    )
    worker = await membership.worker_of(context.db, turn.id)
    own = claim is not None and _is_own(claim, worker)
    if not own:
        if not await membership.may_look_up(context.db, turn.id):
            await limit_reached(context, turn)
            return
        await store.record_lookup(context.db, turn.id)
    if claim is None:
        await say(
            context,
            turn.chat_id,
            _(
                "Klaim dengan nomor {number} tidak ditemukan. Periksa lagi nomornya. Data klaim "
                "dari BPJS cabang bisa terlambat beberapa hari."
            ).format(number=number),
            layout([[(_("Coba nomor lain"), "CLM NO")]]),
        )
        return
    text = describe_claim(turn.tr, claim, owner=own)
    await say(
        context,
        turn.chat_id,
        text + "\n\n" + _footer(turn.tr),
        layout(_claim_buttons(turn, claim)) if is_open(claim) else None,
    )


def _is_own(claim: store.Claim, worker: membership.Worker | None) -> bool:
    """Whether the claim is the linked worker's (by NIK hash or KPJ)."""
    return worker is not None and (
        claim.nik_hash == worker.nik_hash or (worker.kpj is not None and claim.kpj == worker.kpj)
    )


async def button(update: Update, context: JagaContext) -> None:
    """CLM NO asks for a claim number; CLM D shows one of the worker's own claims from the list;
    CLM E explains what to prepare while a claim of a type is open."""
    query = update.callback_query
    assert query is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = (query.data or "").split(" ")
    if len(parts) == 3 and parts[1] == "E" and parts[2] in OPEN_NEXT:
        await answer_button(query)
        await say(context, turn.chat_id, explain_open(turn.tr, parts[2]))
        return
    if len(parts) == 3 and parts[1] == "D":
        # Only the worker's own claims: a forged number must not show someone else's claim.
        claim = await store.claim_by_no(context.db, parts[2])
        worker = await membership.worker_of(context.db, turn.id)
        if claim is None or not _is_own(claim, worker):
            await answer_button(query, _("Tombol ini sudah tidak berlaku."))
            return
        await answer_button(query)
        await say(
            context,
            turn.chat_id,
            describe_claim(turn.tr, claim) + "\n\n" + _footer(turn.tr),
            layout(_claim_buttons(turn, claim)) if is_open(claim) else None,
        )
        return
    await answer_button(query)
    await store.set_flow_state(context.db, turn.id, FLOW, "number")
    await say(context, turn.chat_id, _("Ketik nomor klaim. Ketik /batal untuk berhenti."))


# Words people put before a claim number ("no klaim 123", "nomor klaim: JKK-1").
_NUMBER_WORDS = frozenset({"no", "nomor", "nomer", "nmr", "klaim", "claim", "kode", "saya"})
_NUMBER_PUNCTUATION = ":#.,()"
# A claim number as BPJS extracts write it (the same rule as the import).
_CLAIM_NO = linear(r"[A-Za-z0-9][A-Za-z0-9./-]{0,39}")


def typed_number(text: str, *, prefixed: bool = False) -> str | None:
    """The claim number in a short message, without the words around it ("no klaim 123" is
    "123"); with `prefixed`, only when "klaim" is typed before a number. None when unclear."""
    words = [w.strip(_NUMBER_PUNCTUATION) for w in clean_text(text[:80]).split()]
    words = [w for w in words if w]
    lead = 0
    while lead < len(words) and words[lead].lower() in _NUMBER_WORDS:
        lead += 1
    rest = words[lead:]
    if len(rest) != 1 or not _CLAIM_NO.fullmatch(rest[0]):
        return None
    if prefixed and not {"klaim", "claim"} & {w.lower() for w in words[:lead]}:
        return None
    return rest[0] if any(ch.isdigit() for ch in rest[0]) else None


async def typed_claim(update: Update, context: JagaContext) -> bool:
    """A claim number typed outside any flow after the word klaim ("no klaim 123"): shown as
    /klaim 123 would. False when the message is not one."""
    message = update.effective_message
    number = typed_number(message.text or "", prefixed=True) if message is not None else None
    if number is None:
        return False
    turn = await Turn.load(update, context)
    await _take(context, turn, number)
    return True


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes the claim number and shows that claim; anything else keeps the prompt open."""
    turn = await Turn.load(update, context)
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    if await leave_for_other_words(update, context, text):
        return
    await _take(context, turn, text)


# Words that show a message is about the claim number itself ("nomornya di mana", "ada di
# kartu?") or about one's own claim ("klaim sy gmn"): answered with where the number is
# written and how to see one's claims, not from the knowledge base.
_ABOUT_NUMBER = ("nomor", "nomer", "kartu")
_ABOUT_NUMBER_WORDS = frozenset({"no", "nmr", "kode", "nik", "kpj"})
_OWN_WORDS = frozenset({"saya", "aku", "ku", "gue", "punya", "punyaku"})
ASK_NUMBER = N_("Ketik nomor klaim saja (huruf dan angka), atau /batal.")
WHERE_NUMBER = N_(
    "Nomor klaim tertulis di tanda terima pengajuan klaim dari BPJS Ketenagakerjaan. "
    "Nomor itu bukan NIK dan bukan nomor KPJ di kartu."
)


async def _take(context: JagaContext, turn: Turn, text: str) -> None:
    """Looks up (and counts) only what can be a claim number; else answers, prompt kept."""
    _ = turn.gettext
    number = typed_number(text)
    nik = membership.clean_nik(number or text)[0] if len(text) <= 40 else None
    if number is not None and nik is None:
        await store.end_flow(context.db, turn.id, FLOW)
        await show_by_number(context, turn, number)
        return
    if turn.user.active_flow != FLOW:
        await store.set_flow_state(context.db, turn.id, FLOW, "number")
    own, keyboard = await _own_claims(context, turn)
    if nik is not None:
        body = _("Itu NIK, bukan nomor klaim.") + " " + own
    elif not clean_text(text[:80]).strip():
        await say(context, turn.chat_id, _(ASK_NUMBER))  # nothing readable: the rule alone
        return
    else:
        body = _answer(turn, text) or _(WHERE_NUMBER) + "\n" + own
    ask = _(ASK_NUMBER)
    await say(
        context, turn.chat_id, fit(body, MAX_MESSAGE - len(ask) - 2) + "\n\n" + ask, keyboard
    )


async def _own_claims(context: JagaContext, turn: Turn) -> tuple[str, Keyboard]:
    """How to see one's own claims without a number (the list, or linking), and its button."""
    _ = turn.gettext
    if await membership.worker_of(context.db, turn.id) is not None:
        return (
            _("Untuk melihat semua klaim Anda, tekan Status klaim."),
            layout([[(_("Status klaim"), "MENU klaim")]]),
        )
    return (
        _("Untuk melihat klaim Anda sendiri tanpa nomor klaim, tekan Hubungkan data saya."),
        layout([[(_("Hubungkan data saya"), "STS SELF")]]),
    )


def _answer(turn: Turn, text: str) -> str | None:
    """The knowledge base's answer to a question not about the claim number, else None."""
    words = normalise(text).split()
    if is_help(text) or len(words) < 2 or not looks_like_question(text):
        return None
    if any(w.startswith(_ABOUT_NUMBER) or w in _ABOUT_NUMBER_WORDS for w in words):
        return None
    claim = any(w.startswith(("klaim", "claim")) for w in words)
    if claim and (not _OWN_WORDS.isdisjoint(words) or "klaimku" in words):
        return None
    match = questions.knowledge(turn.tr.language).answer(text)
    return None if match is None else f"{match.topic.title}\n\n{match.topic.answer}"


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow; nothing typed is kept."""
    await store.end_flow(context.db, telegram_id, FLOW)
