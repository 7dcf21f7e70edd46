"""/status: registration state and history, membership and arrears; lookups by NIK + birth date."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from typing import Any

from telegram import Update

from bot import membership
from bot.context import JagaContext
from bot.i18n import N_, Translator
from bot.membership import Worker
from handlers.common import Button, Turn, answer_button, inline, say
from storage import audit
from storage import membership as store
from storage.db import Database

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
    """The worker's registration, its history, their membership and any arrears, in plain words."""
    _ = tr.gettext
    lines: list[str] = []
    registration = worker.registration
    if registration is not None:
        if not own and registration.get("name"):
            lines.append(_("Nama: {name}").format(name=registration["name"]))
        lines.append(_("Nomor pendaftaran: {ref}").format(ref=registration["ref"]))
        state = STATE_WORDS[registration["status"]]
        lines.append(_("Status: {state}").format(state=_(state)))
        if registration["status"] in ("perlu_perbaikan", "ditolak") and registration.get("reason"):
            lines.append(_("Alasan: {reason}").format(reason=registration["reason"]))
        events = await audit.history(db, int(registration["id"]))
        if events:
            lines += ["", _("Riwayat:")]
            for event in events[-MAX_EVENTS:]:
                words = (
                    _(RESENT)
                    if event["from_status"] == "perlu_perbaikan"
                    and event["to_status"] == "diajukan"
                    else _(EVENT_WORDS.get(event["to_status"], event["to_status"]))
                )
                if event.get("reason") and event["to_status"] in ("perlu_perbaikan", "ditolak"):
                    words += f" ({event['reason']})"
                lines.append(f"• {tr.date(_event_date(event['at']))}: {words}")
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
        }.get(registration["status"])
        if next_step:
            lines += ["", next_step]
    member = worker.member
    if member is not None:
        lines += ["", *member_lines(tr, member, registration)]
    elif registration is None:
        lines.append(_("Belum ada data kepesertaan dari BPJS untuk pekerja ini."))
    return "\n".join(lines).strip()


def member_lines(
    tr: Translator, member: dict[str, Any], registration: dict[str, Any] | None
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
    if late.covered:
        lines.append(
            _("Bayar iuran berikutnya paling lambat {date} agar tetap terlindungi.").format(
                date=tr.date(protected)
            )
        )
    elif late.lapsed:
        lines.append(
            _(
                "PERHATIAN: iuran belum dibayar lebih dari 3 bulan berturut-turut sejak "
                "{date}. Menurut aturan BPJS, kepesertaan berakhir, dan bila mendaftar lagi "
                "masa iuran dimulai dari nol. Pastikan ke kantor cabang BPJS Ketenagakerjaan "
                "atau BPJS 175."
            ).format(date=tr.date(protected))
        )
    else:
        warning = (
            _("PERINGATAN: iuran sudah {months} bulan belum dibayar.").format(months=late.months)
            if late.months >= 2
            else _("Masa perlindungan sudah lewat: iuran bulan ini belum dibayar.")
        )
        lines.append(warning)
        lines.append(
            _(
                "Tunggakan masih bisa dibayar sampai {date}, tanpa denda. Bila lebih dari 3 bulan "
                "berturut-turut tidak dibayar, kepesertaan berakhir dan harus mulai dari nol."
            ).format(date=tr.date(late.ends_on))
        )
    if not late.covered and registration is not None and registration.get("payer") == "program":
        lines.append(_("Iuran Anda dibayar oleh program Pemda: tanyakan ke petugas kabupaten."))
    return lines


# --- /status --------------------------------------------------------------------------------


async def status(update: Update, context: JagaContext) -> None:
    """Shows the linked worker's status, or offers to link this account or check someone else."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    worker = await membership.worker_of(context.db, turn.id)
    if worker is None:
        text = _(
            "Akun Telegram ini belum terhubung dengan data pekerja.\n\n"
            "Bila Anda sudah terdaftar (sendiri, lewat kader atau Pemda), hubungkan dengan NIK "
            "dan tanggal lahir Anda. Ini cukup dilakukan sekali."
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
    buttons: list[list[Button]] = [[(_("Status klaim"), "MENU klaim")]]
    buttons.append([(_("Cek status orang lain"), "STS OTHER")])
    await say(context, turn.chat_id, text, inline(buttons))


async def limit_reached(context: JagaContext, turn: Turn) -> None:
    """Says that the hourly lookup limit is reached."""
    _ = turn.gettext
    await say(
        context,
        turn.chat_id,
        _(
            "Anda sudah {count} kali mencari data dalam satu jam terakhir. Demi keamanan data "
            "pekerja, silakan coba lagi nanti."
        ).format(count=membership.LOOKUPS_PER_HOUR),
    )


async def button(update: Update, context: JagaContext) -> None:
    """STS SELF|OTHER: asks for the NIK of the worker to link or look up."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    await answer_button(query)
    purpose = query.data.removeprefix("STS ").strip()
    if purpose not in ("SELF", "OTHER"):
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return
    await store.set_flow_state(context.db, turn.id, FLOW, "nik", purpose=purpose.lower())
    question = (
        _("Ketik NIK Anda (16 angka di KTP).")
        if purpose == "SELF"
        else _("Ketik NIK pekerja yang ingin dicek (16 angka di KTP).")
    )
    await say(context, turn.chat_id, question + "\n" + _("Ketik /batal untuk berhenti."))


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes the NIK, then the birth date; then shows the worker (or the same 'not found')."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    state = await store.flow_state(context.db, turn.id, FLOW)
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    if state is None:  # the state row went missing: start again cleanly
        await store.end_flow(context.db, turn.id, FLOW)
        await status(update, context)
        return
    if state["step"] == "nik":
        nik, _problem = membership.clean_nik(text)
        if nik is None:
            await say(
                context,
                turn.chat_id,
                _(
                    "NIK harus 16 angka, seperti tertulis di KTP. Spasi boleh. "
                    "Silakan ketik lagi, atau /batal."
                ),
            )
            return
        await store.set_flow_state(
            context.db,
            turn.id,
            FLOW,
            "birth",
            purpose=state["purpose"],
            nik_enc=base64.b64encode(context.cipher.encrypt(nik)).decode(),
        )
        await say(
            context,
            turn.chat_id,
            _("Ketik tanggal lahir sesuai KTP, misalnya 15-05-1980."),
        )
        return
    birth = membership.parse_date(text, two_digit_years=True)
    if birth is None:
        await say(
            context,
            turn.chat_id,
            _("Tanggal itu tidak terbaca. Tulis seperti 15-05-1980, atau /batal."),
        )
        return
    await store.end_flow(context.db, turn.id, FLOW)
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return
    await store.record_lookup(context.db, turn.id)
    nik = context.cipher.decrypt(base64.b64decode(str(state["nik_enc"])))
    worker = await membership.find_worker(context.db, context.cipher, nik, birth)
    log.info("event=status_lookup user=%s found=%s", turn.id, worker is not None)
    if worker is None:
        # The same answer for an unknown NIK and a wrong birth date (no enumeration).
        await say(
            context,
            turn.chat_id,
            _(
                "Data dengan NIK dan tanggal lahir itu tidak ditemukan. Periksa lagi angkanya. "
                "Bila baru mendaftar, data dari BPJS bisa perlu beberapa hari."
            ),
            inline([[(_("Coba lagi"), f"STS {str(state['purpose']).upper()}")]]),
        )
        return
    if state["purpose"] == "self":
        await store.link(context.db, turn.id, worker.nik_hash)
        intro = _("Akun Telegram ini sekarang terhubung dengan data Anda.")
        body = await describe(context.db, turn.tr, worker, own=True)
        keyboard = inline([[(_("Status klaim"), "MENU klaim")]])
    else:
        intro = _("Data pekerja yang Anda cari:")
        body = await describe(context.db, turn.tr, worker, own=False)
        keyboard = None
    await say(context, turn.chat_id, intro + "\n\n" + body, keyboard)


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Forgets the NIK typed so far."""
    await store.clear_flow_state(context.db, telegram_id, FLOW)
