"""What the parts of /status share: the flow's name, its words, who sees what, the limit."""

from __future__ import annotations

import logging

from bot import membership
from bot.context import JagaContext
from bot.i18n import N_
from handlers.common import Keyboard, Turn, say
from storage import roles
from storage.db import Database
from storage.registrations import Registration

# One logger for the whole flow, so its lines keep the name they always had.
log = logging.getLogger("handlers.status")

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


async def sender_sees(db: Database, telegram_id: int, registration: Registration) -> bool:
    """Whether this account sent the registration and still sees what its notices told: not
    when it registered someone else as a cadre and that role was revoked since."""
    if registration.operator_id != telegram_id:
        return False
    return bool(registration.for_self) or not await roles.lost(db, telegram_id, "cadre")


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
