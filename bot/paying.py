"""Paying the contribution: how much, where, and what being late means, in one set of words.

The channels and the late-payment rules are in bot/data/payment_channels.toml (with sources);
the amounts come from `bot.contributions.quote`. The approval notice, the protection reminders,
/status and the [Cara bayar] button all build their lines here, so they say the same thing.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.contributions import Quote
from bot.i18n import N_, Translator

DATA_FILE = Path(__file__).parent / "data" / "payment_channels.toml"
# The [Cara bayar] button: handled by handlers/questions/calculator.py (the IUR buttons).
PAY_BUTTON_DATA = "IUR PAY"
PAY_BUTTON_LABEL = N_("Cara bayar")

# How each channel is called in a message, keyed by the data file's codes.
CHANNEL_LABELS = {
    "kantor_pos": N_("kantor pos"),
    "gerai_ritel": N_("minimarket"),
    "bank": N_("bank"),
    "perisai": N_("agen Perisai"),
    "kantor_bpjs": N_("kantor BPJS Ketenagakerjaan"),
    "jmo": N_("aplikasi JMO"),
}


@dataclass(frozen=True, slots=True)
class PaymentRules:
    """The channels (in the order shown) and the months arrears may still be paid."""

    channels: tuple[str, ...]
    grace_months: int


@cache
def rules() -> PaymentRules:
    """Read the packaged payment data once; every channel must have a label."""
    raw = tomllib.loads(DATA_FILE.read_text("utf-8"))
    channels = tuple(str(c["code"]) for c in raw["channels"])
    unknown = set(channels) - set(CHANNEL_LABELS)
    if unknown:
        raise ValueError(f"payment channels without a label: {sorted(unknown)}")
    for channel in raw["channels"]:
        if not channel.get("sources"):
            raise ValueError(f"payment channel {channel['code']} has no source")
    return PaymentRules(channels, int(raw["late_payment"]["grace_months"]))


def _places(tr: Translator) -> str:
    """`kantor pos, minimarket, … atau aplikasi JMO`."""
    labels = [tr.gettext(CHANNEL_LABELS[c]) for c in rules().channels]
    return tr.gettext("{items} atau {last}").format(items=", ".join(labels[:-1]), last=labels[-1])


def where_line(tr: Translator) -> str:
    """Where to pay, in one line."""
    return tr.gettext("Bayar dengan NIK di {places}.").format(places=_places(tr))


def amount_line(tr: Translator, q: Quote, months: int | None = None) -> str:
    """How much: the amount to pay a month (with the discount and its end), and for a period."""
    _ = tr.gettext
    if q.discount_until is not None:
        text = _(
            "Iuran yang dibayar: {amount} per bulan (normal {normal}, dipotong sampai {end})."
        ).format(
            amount=tr.money(q.to_pay), normal=tr.money(q.normal), end=tr.date(q.discount_until)
        )
    else:
        text = _("Iuran yang dibayar: {amount} per bulan.").format(amount=tr.money(q.to_pay))
    if months and months > 1:
        text += " " + _("Untuk {months} bulan: {total}.").format(
            months=months, total=tr.money(q.period_total(months))
        )
    if not q.mark.plain:
        text += " " + _("Pastikan jumlahnya saat membayar.")
    return text


def paid_by_line(tr: Translator, who: str, *, cadre: bool) -> str:
    """For a program-paid worker: who pays, and that the worker does not."""
    if cadre:
        return tr.gettext("Iuran dibayar oleh {who}. Pekerja tidak perlu membayar.").format(
            who=who
        )
    return tr.gettext("Iuran dibayar oleh {who}. Anda tidak perlu membayar.").format(who=who)


def late_text(tr: Translator, pay_by: dt.date | None = None) -> str:
    """What being late means, in the words of the knowledge base; with the last day arrears
    can be paid when it is known."""
    if pay_by is not None:
        return tr.gettext(
            "Tidak ada denda. Kecelakaan di bulan yang belum dibayar tidak ditanggung. Bayar "
            "paling lambat {date} agar tetap menjadi peserta; bila lebih dari {months} bulan, "
            "tanyakan ke BPJS 175 atau kantor cabang."
        ).format(date=tr.date(pay_by), months=rules().grace_months)
    return tr.gettext(
        "Tidak ada denda. Kecelakaan di bulan yang belum dibayar tidak ditanggung. Bayar dalam "
        "{months} bulan agar tetap menjadi peserta; bila lebih dari {months} bulan, tanyakan ke "
        "BPJS 175 atau kantor cabang."
    ).format(months=rules().grace_months)


def how_text(tr: Translator) -> str:
    """The [Cara bayar] answer: the steps of paying at a counter or in the app."""
    _ = tr.gettext
    return "\n".join(
        [
            _("Cara membayar iuran BPJS Ketenagakerjaan:"),
            _("1. Pilih tempat: {places}.").format(places=_places(tr)),
            _("2. Sebutkan NIK (16 angka di KTP) atau nomor kartu KPJ."),
            _("3. Pilih untuk berapa bulan: 1, 3, 6 atau 12 bulan sekaligus."),
            _("4. Simpan bukti bayarnya."),
            _("Agen Perisai: petugas lapangan BPJS Ketenagakerjaan."),
            "",
            _(
                "Tidak ada denda bila terlambat, tetapi kecelakaan di bulan yang belum dibayar "
                "tidak ditanggung."
            ),
        ]
    )
