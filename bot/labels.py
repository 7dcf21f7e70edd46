"""The names of a submission's states, payers, rejection reasons and fixable fields.

Shared by the review desk (bot/review.py) and the notices it sends (bot/notify.py), which is why
they live apart from both.
"""

from __future__ import annotations

from bot.i18n import N_

STATUS_LABELS = {
    "draft": N_("draf"),
    "diajukan": N_("diajukan"),
    "perlu_perbaikan": N_("perlu perbaikan"),
    "disetujui": N_("disetujui"),
    "ditolak": N_("ditolak"),
    "terdaftar": N_("terdaftar"),
}
# States a submission can be in, in the order of the workflow (reports list them so).
STATES = ("diajukan", "perlu_perbaikan", "disetujui", "ditolak", "terdaftar")

SOURCE_LABELS = {
    "mandiri": N_("Mandiri (dibayar sendiri)"),
    "apbd_kabupaten": N_("APBD kabupaten"),
    "apbd_provinsi": N_("APBD provinsi"),
    "dbh_sawit": N_("DBH sawit"),
    "apbdes": N_("APBDes (dana desa)"),
    "csr_sertakan": N_("CSR / SERTAKAN"),
    "donatur": N_("Donatur"),
}
# The label of an approval without a program: the worker pays.
SELF_PAID = SOURCE_LABELS["mandiri"]

# Rejection reasons: short code (goes into callback data) -> label (shown and stored).
REJECT_REASONS = {
    "nik": N_("NIK tidak valid atau tidak cocok dengan KTP"),
    "ganda": N_("Sudah terdaftar atau pengajuan ganda"),
    "wilayah": N_("Tidak tinggal atau bekerja di kabupaten ini"),
    "usia": N_("Usia di luar batas program"),
    "kriteria": N_("Tidak memenuhi kriteria penerima bantuan iuran"),
    "data": N_("Data tidak lengkap atau tidak dapat diperiksa"),
    "lain": N_("Alasan lain"),
}

# Fields a reviewer can ask to be fixed: the registration flow's field groups, in its order.
FIX_FIELDS = {
    "nik": N_("NIK"),
    "name": N_("Nama"),
    "birth_date": N_("Tanggal lahir"),
    "mother_name": N_("Nama ibu kandung"),
    "phone": N_("Nomor HP"),
    "address": N_("Alamat"),
    "occupation": N_("Pekerjaan"),
    "income": N_("Penghasilan"),
    "programs": N_("Program"),
    "pay_period": N_("Periode bayar"),
    "payer": N_("Pembayar iuran"),
    "heir": N_("Ahli waris"),
}
