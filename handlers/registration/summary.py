"""The summary screen before sending: every answer, the contribution and the [Ubah …]
buttons."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.i18n import N_
from bot.registration import (
    HEIR_LABELS,
    OCCUPATION_LABELS,
    PROGRAM_LABELS,
    Step,
    format_nik,
    region_name,
)
from handlers.common import Turn, columns, layout
from handlers.registration.common import quote_of, reg_data
from storage.registrations import Registration, Status

FIELD_LABELS = {
    "nik": N_("Ubah NIK"),
    "name": N_("Ubah nama"),
    "birth_date": N_("Ubah tgl lahir"),
    "mother_name": N_("Ubah nama ibu"),
    "phone": N_("Ubah no. HP"),
    "address": N_("Ubah alamat"),
    "occupation": N_("Ubah pekerjaan"),
    "income": N_("Ubah penghasilan"),
    "programs": N_("Ubah program"),
    "pay_period": N_("Ubah masa bayar"),
    "payer": N_("Ubah pembayar"),
    "heir": N_("Ubah ahli waris"),
}


def summary_screen(
    turn: Turn, r: Registration, *, nik: str | None, phone: str | None
) -> tuple[str, Any]:
    _ = turn.gettext
    tr = turn.tr
    # Every question is answered by the time the summary is shown.
    assert r.birth_date is not None and r.income is not None
    address = ", ".join(
        region_name(code) for code in (r.desa_code, r.kecamatan_code, r.kabupaten_code)
    )
    occupation = (
        r.occupation_other
        if r.occupation == "lainnya"
        else _(OCCUPATION_LABELS.get(r.occupation or "", "-"))
    )
    heir = "-"
    if r.heir_name:
        heir = f"{r.heir_name} ({_(HEIR_LABELS.get(r.heir_relation or '', '-'))})"
    lines = [
        _("Periksa data berikut:"),
        "",
        _("NIK: {value}").format(value=format_nik(nik) if nik else "-"),
        _("Nama: {value}").format(value=r.name),
        _("Tanggal lahir: {value}").format(value=tr.date(dt.date.fromisoformat(r.birth_date))),
        _("Jenis kelamin: {value}").format(
            value=_("Laki-laki") if r.sex == "L" else _("Perempuan")
        ),
        _("Nama ibu kandung: {value}").format(value=r.mother_name),
        _("No. HP: {value}").format(value=phone or "-"),
        _("Alamat: {value}").format(value=address),
        _("Pekerjaan: {value}").format(value=occupation),
        _("Penghasilan per bulan: {value}").format(value=tr.money(r.income)),
        _("Program: {value}").format(value=PROGRAM_LABELS.get(r.programs or "", "-")),
        *_amount_lines(turn, r),
        _("Ahli waris: {value}").format(value=heir),
    ]
    fixing = r.status == Status.NEEDS_FIX
    lines += [
        "",
        _("Jika sudah benar, tekan Kirim perbaikan.")
        if fixing
        else _("Jika sudah benar, tekan Kirim."),
    ]
    edit = [
        (_(label), reg_data(Step.SUMMARY, f"e:{field}"))
        for field, label in FIELD_LABELS.items()
        if field != "pay_period" or r.payer == "sendiri"  # a program pays: no period to ask
    ]
    send = _("Kirim perbaikan") if fixing else _("Kirim")
    return "\n".join(lines), layout([*columns(edit, 2), [(send, reg_data(Step.SUMMARY, "send"))]])


def _amount_lines(turn: Turn, r: Registration) -> list[str]:
    """The summary's money lines: a month's contribution, the period and who pays."""
    _ = turn.gettext
    tr = turn.tr
    q = quote_of(r)
    if not q.self_paid:
        return [
            _("Iuran per bulan: {value}, dibayar program").format(value=tr.money(q.normal)),
            _("Pembayar: {value}").format(value=_("Program desa / kabupaten")),
        ]
    monthly = _("Iuran per bulan: {value}").format(value=tr.money(q.to_pay))
    discount = discount_note(turn, r)
    if discount:
        monthly += " " + discount
    months = r.pay_period_months or 1
    return [
        monthly,
        _("Dibayar sekaligus untuk: {months} bulan ({amount})").format(
            months=months, amount=tr.money(q.period_total(months))
        ),
        _("Pembayar: {value}").format(value=_("Sendiri")),
    ]


def discount_note(turn: Turn, r: Registration) -> str | None:
    """The PP 50/2025 discount, in brackets, when it applies today to this payer and sector."""
    q = quote_of(r)
    if q.discount_until is None:
        return None
    return turn.gettext("(normal {normal}, dipotong sampai {end} menurut PP 50/2025)").format(
        normal=turn.tr.money(q.normal), end=turn.tr.date(q.discount_until)
    )
