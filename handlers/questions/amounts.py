"""The contribution for an income: a month for 2 and 3 programs, the details, the discount."""

from __future__ import annotations

import datetime as dt

from bot import membership
from bot.context import JagaContext
from bot.contributions import NON_TRANSPORT, SELF_PAID, TRANSPORT, Mark, Quote, load_table, quote
from bot.i18n import Translator
from handlers.common import Button, Turn
from handlers.questions.common import send

# The lowest income base (PP 44/2015 Lampiran II) and the top of its bracket, as the iuran
# topic states them.
LOWEST_INCOME = 1_000_000
LOWEST_BRACKET_TOP = 1_100_000


# Sector codes in IUR callback data; U: not known (no discount is applied then).
SECTOR_CODES = {"transport": "T", "non_transport": "N", "government": "G", None: "U"}


def _quotes(income: int, sector: str | None, on: dt.date) -> tuple[Quote, Quote]:
    """The 2- and 3-program quotes; `government` means paid by a Pemda program (APBD)."""
    payer = "program" if sector == "government" else SELF_PAID
    kind = sector if sector in (TRANSPORT, NON_TRANSPORT) else None
    return (
        quote(income, "JKK_JKM", kind, payer, on),
        quote(income, "JKK_JKM_JHT", kind, payer, on),
    )


def period_line(tr: Translator, months: int, on: dt.date) -> str:
    """The lowest contribution paid for several months at once, for 2 and 3 programmes."""
    two, three = _quotes(LOWEST_INCOME, None, on)
    return tr.gettext(
        "Bayar {months} bulan sekaligus (penghasilan di bawah {income}): {two}, atau {three} "
        "dengan JHT."
    ).format(
        income=tr.money(LOWEST_BRACKET_TOP),
        months=months,
        two=tr.money(two.period_total(months)),
        three=tr.money(three.period_total(months)),
    )


def contribution_text(tr: Translator, income: int, sector: str | None, on: dt.date) -> str:
    """The short answer: a month's amount for 2 and 3 programs, and the discount if it applies."""
    _ = tr.gettext
    table = load_table()
    two, three = _quotes(income, sector, on)
    lines = [
        _("Iuran untuk penghasilan {income} per bulan").format(income=tr.money(income)),
        _("JKK + JKM (2 program): {amount} per bulan").format(amount=tr.money(two.to_pay)),
        _("JKK + JKM + JHT (3 program): {amount} per bulan").format(amount=tr.money(three.to_pay)),
        "",
    ]
    discount = table.discount
    if two.discount_until is not None:
        lines.append(
            _(
                "Sudah termasuk diskon {percent}% iuran JKK dan JKM ({regulation}) yang berlaku "
                "sampai {end}. JHT tidak didiskon."
            ).format(
                percent=discount.percent,
                regulation=discount.regulation,
                end=tr.date(two.discount_until),
            )
        )
    elif sector == "government":
        lines.append(
            _(
                "Iuran yang dibayar Pemda atau program pemerintah tidak mendapat diskon {reg}."
            ).format(reg=discount.regulation)
        )
    elif sector is None and _discount_running(on):
        lines.append(
            _(
                "Diskon {percent}% iuran JKK dan JKM ({regulation}): ojek, sopir dan kurir "
                "{t_start} – {t_end}; pekerjaan lain {n_start} – {n_end}. Pilih pekerjaan Anda "
                "untuk menghitung dengan diskon."
            ).format(
                percent=discount.percent,
                regulation=discount.regulation,
                t_start=tr.date(discount.transport.start),
                t_end=tr.date(discount.transport.end),
                n_start=tr.date(discount.non_transport.start),
                n_end=tr.date(discount.non_transport.end),
            )
        )
    weakest = table.bracket_for(income).mark
    for q in (two, three):
        if not q.mark.plain and q.mark is not Mark.LIKELY:
            weakest = q.mark
    if weakest is Mark.LIKELY:
        lines.append(_("Pastikan angkanya ke BPJS 175 atau kantor cabang sebelum membayar."))
    elif not weakest.plain:
        lines.append(
            _(
                "Angka untuk penghasilan setinggi ini belum pasti. Tanyakan ke BPJS 175 atau "
                "kantor cabang sebelum membayar."
            )
        )
    return "\n".join(lines).strip()


def contribution_details(tr: Translator, income: int, sector: str | None, on: dt.date) -> str:
    """The details: base, each program's part, the discount, and paying for several months."""
    _ = tr.gettext
    table = load_table()
    bracket = table.bracket_for(income)
    lines = [_("Rincian iuran, penghasilan {income} per bulan").format(income=tr.money(income))]
    if bracket.mark.plain:
        lines.append(_("Dasar penghasilan: {base}").format(base=tr.money(bracket.base)))
    else:
        lines.append(
            _("Dasar penghasilan (tabel PP 44/2015): {base}").format(base=tr.money(bracket.base))
        )
    quotes = _quotes(income, sector, on)
    for q in quotes:
        c = q.monthly
        parts = [
            _("JKK {amount}").format(amount=tr.money(c.jkk)),
            _("JKM {amount}").format(amount=tr.money(c.jkm)),
        ]
        if c.with_jht:
            parts.append(_("JHT {amount}").format(amount=tr.money(c.jht)))
        detail = " + ".join(parts)
        if q.discount:
            detail += " − " + _("diskon {amount}").format(amount=tr.money(q.discount))
        programs = "JKK + JKM + JHT" if c.with_jht else "JKK + JKM"
        lines += ["", f"{programs}: {detail}"]
        periods = [
            _("{months} bulan {amount}").format(
                months=months, amount=tr.money(q.period_total(months))
            )
            for months in table.periods
            if months > 1
        ]
        lines.append(_("Bayar sekaligus: {periods}").format(periods=" · ".join(periods)))
    lines.append("")
    if quotes[0].discount_until is not None:
        lines.append(
            _("Bulan sesudah {end} dihitung tanpa diskon.").format(
                end=tr.date(quotes[0].discount_until)
            )
        )
    weakest = max((q.mark for q in quotes), key=lambda m: list(Mark).index(m))
    if weakest is Mark.LIKELY:
        lines.append(_("Pastikan angkanya ke BPJS 175."))
    elif not weakest.plain:
        lines.append(_("Angka ini belum pasti; tanyakan ke BPJS 175."))
    lines.append(_("Sumber: PP 44/2015 dan PP 50/2025."))
    return "\n".join(lines).strip()


def _discount_running(on: dt.date) -> bool:
    """Whether the discount is on for some sector that day (then the sector matters)."""
    discount = load_table().discount
    return any(discount.window(transport=t).contains(on) for t in (True, False))


async def show_contribution(
    context: JagaContext, turn: Turn, income: int, sector: str | None
) -> None:
    """The contribution for an income; when the sector is unknown and a discount is on, asks it."""
    _ = turn.gettext
    on = membership.today()
    text = contribution_text(turn.tr, income, sector, on)
    rows: list[list[Button]] = []
    if sector is None and _discount_running(on):
        rows.append([(_("Ojek, sopir, kurir"), f"IUR C {income} T")])
        rows.append([(_("Nelayan, petani, pedagang, lainnya"), f"IUR C {income} N")])
    rows.append([(_("Rincian"), f"IUR D {income} {SECTOR_CODES[sector]}")])
    rows.append([(_("Hitung lagi"), "IUR START")])
    await send(context, turn.chat_id, text, rows)
