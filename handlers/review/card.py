"""The review card: lock the next waiting submission of the reviewer's district and show it
compactly (the worker's data, the flags to check), with the decision buttons; Rincian shows the
flags in full."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot import clock, review
from bot.access import Access
from bot.context import JagaContext
from bot.i18n import N_, Translator
from bot.registration import HEIR_LABELS, OCCUPATION_LABELS, PROGRAM_LABELS, age_on
from handlers.common import Button, Keyboard, Turn, layout, say
from handlers.review.common import clear_step, open_step
from storage import review as store
from storage import roles, users
from storage.registrations import Registration

# The longest message a person reads comfortably on a phone (the desk keeps under it).
READABLE = 600

# Flags whose full line can be long (a list of references): one short line on the card, the
# full line behind the Rincian button.
SHORT_FLAGS = {
    "duplicate_nik": N_("NIK sama dengan {count} pengajuan lain"),
    "duplicate_phone": N_("Nomor HP sama dengan {count} pengajuan lain"),
}


def _flag_line(tr: Translator, flag: review.Flag) -> str:
    """A flag in one short line for the card."""
    short = SHORT_FLAGS.get(flag.code)
    if short is None:
        return review.describe_flag(tr, flag)
    count = len(str(flag.detail.get("refs", "")).split(", "))
    mark = "⚠️ " if flag.warning else "ℹ️ "
    return mark + tr.gettext(short).format(count=count)


def _has_details(card: review.Card) -> bool:
    """Whether some flag on the card is shortened (its full text is behind Rincian)."""
    return any(flag.code in SHORT_FLAGS for flag in card.flags)


def _card_text(
    tr: Translator, card: review.Card, regions_waiting: int, by_cadre: bool = True
) -> str:
    """A compact card: who submitted, the worker's data a few fields a line, the flags."""
    _ = tr.gettext
    row = card.row
    lines = [
        _("Pengajuan {ref} ({position} dari {waiting} menunggu)").format(
            ref=row.ref, position=card.position, waiting=regions_waiting
        )
    ]
    if row.for_self:
        by = _("Didaftarkan oleh: pekerja sendiri")
    elif not by_cadre:
        # A relative or neighbour, never a cadre: said so, with the name they go by if known.
        by = _("Didaftarkan oleh: keluarga atau kenalan")
        if card.operator_name:
            by += f" ({card.operator_name})"
    elif card.operator_name:
        # The cadre's name (storage/users.py name_of), never their Telegram number.
        by = _("Didaftarkan oleh: kader {name}").format(name=card.operator_name)
    else:
        by = _("Didaftarkan oleh: kader (namanya belum tercatat)")
    submitted = review.wib_date(row.submitted_at)
    if submitted is not None:
        by += ", " + tr.date(submitted)
    lines.append(by)
    sex = {"L": _("laki-laki"), "P": _("perempuan")}.get(row.sex or "", "-")
    lines.append(_("Nama: {name} ({sex})").format(name=row.name or "-", sex=sex))
    lines.append(_("NIK: {nik}").format(nik=card.nik))
    if row.birth_date:
        birth = dt.date.fromisoformat(row.birth_date)
        lines.append(
            _("Lahir: {date} ({age} tahun)").format(
                date=tr.date(birth), age=age_on(birth, clock.today())
            )
        )
    lines.append(_("Ibu kandung: {name}").format(name=row.mother_name or "-"))
    lines.append(_("HP: {phone}").format(phone=card.phone or "-"))
    lines.append(
        _("Alamat: {desa}, Kec. {kecamatan}, {kabupaten}").format(
            desa=review.region_name(row.desa_code),
            kecamatan=review.region_name(row.kecamatan_code),
            kabupaten=review.region_name(row.kabupaten_code),
        )
    )
    occupation_label = OCCUPATION_LABELS.get(row.occupation or "")
    occupation = _(occupation_label) if occupation_label else "-"
    if row.occupation_other:
        occupation += f" ({row.occupation_other})"
    if row.income is not None:
        occupation = _("{occupation}, {money} per bulan").format(
            occupation=occupation, money=tr.money(row.income)
        )
    lines.append(_("Pekerjaan: {occupation}").format(occupation=occupation))
    programs = PROGRAM_LABELS.get(row.programs or "", row.programs or "-")
    if row.monthly_contribution is not None:
        months = row.pay_period_months or 1
        money = tr.money(row.monthly_contribution)
        if months > 1:
            text = _("Program: {programs}, iuran {money} per bulan, dibayar tiap {months} bulan")
        else:
            text = _("Program: {programs}, iuran {money} per bulan")
        lines.append(text.format(programs=programs, money=money, months=months))
    else:
        lines.append(_("Program: {programs}").format(programs=programs))
    payer = {"sendiri": _("pekerja sendiri"), "program": _("program pemerintah/sponsor")}
    lines.append(_("Pembayar diminta: {payer}").format(payer=payer.get(row.payer or "", "-")))
    if row.heir_name:
        relation_label = HEIR_LABELS.get(row.heir_relation or "")
        lines.append(
            _("Ahli waris: {name} ({relation})").format(
                name=row.heir_name,
                relation=_(relation_label) if relation_label else "-",
            )
        )
    if card.flags:
        lines += [_("Perlu diperiksa:")]
        lines += [_flag_line(tr, flag) for flag in card.flags]
    return "\n".join(lines)


def _details_text(tr: Translator, card: review.Card) -> str:
    """The card's flags in full (the references of other submissions with the same NIK or HP)."""
    _ = tr.gettext
    lines = [_("Pengajuan {ref}: yang perlu diperiksa").format(ref=card.row.ref)]
    lines += [review.describe_flag(tr, flag) for flag in card.flags]
    return "\n".join(lines)


def _card_keyboard(
    turn: Turn,
    registration_id: int,
    *,
    details: bool = False,
    extra: Sequence[Sequence[Button]] = (),
) -> Keyboard:
    _ = turn.gettext
    rid = registration_id
    rows: list[Sequence[Button]] = [
        [(_("Setujui"), f"REV {rid} OK"), (_("Tolak"), f"REV {rid} NO")],
        [(_("Minta perbaikan"), f"REV {rid} FIX"), (_("Lewati"), f"REV {rid} SKIP")],
    ]
    if details:
        rows.append([(_("Rincian"), f"REV {rid} D")])
    return layout([*rows, *extra])


def with_lead(lead: str, text: str) -> str:
    """The outcome of the last step above the next message, as one message."""
    return f"{lead}\n\n{text}" if lead else text


async def take_next(
    context: JagaContext,
    turn: Turn,
    access: Access,
    after: tuple[str | None, int] | None = None,
    skipped: int | None = None,
) -> Registration | None:
    """Locks the next waiting card of the reviewer's regions and returns it (None: none left)."""
    regions = access.review_regions()
    step = await store.step_of(context.db, turn.id)
    decile_only = step.decile_only
    # A few tries: another reviewer may take a card between our query and our lock.
    for _attempt in range(5):
        row = await store.next_in_queue(context.db, turn.id, regions, decile_only, after)
        if row is None and after is not None:
            row = await store.next_in_queue(context.db, turn.id, regions, decile_only, None)
        if row is None or row.id == skipped:
            return None
        if await store.lock(context.db, row.id, turn.id, review.LOCK_MINUTES):
            return row
    return None


async def next_card(
    context: JagaContext,
    turn: Turn,
    access: Access,
    after: tuple[str | None, int] | None = None,
    skipped: int | None = None,
    lead: str = "",
) -> None:
    """Locks and shows the next waiting card, or says the queue is empty; `lead` (the outcome
    of the decision just made) goes above it in the same message."""
    _ = turn.gettext
    row = await take_next(context, turn, access, after, skipped)
    if row is not None:
        await show_card(context, turn, access, row, lead=lead)
        return
    if skipped is not None:
        text = _("Tidak ada pengajuan lain di antrean. Ketik /tinjau untuk mulai lagi.")
    else:
        text = _("Tidak ada pengajuan yang menunggu keputusan Anda. Terima kasih!")
    await say(context, turn.chat_id, with_lead(lead, text))


async def show_card(
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: Registration,
    *,
    lead: str = "",
    tail: str = "",
    extra: Sequence[Sequence[Button]] = (),
) -> None:
    """Shows a card with its buttons (and `lead` above it, in the same message if it fits;
    `tail`: the queue's own lines below it)."""
    regions = access.review_regions()
    name = None
    by_cadre = True
    if not row.for_self and row.operator_id:
        name = await users.name_of(context.db, row.operator_id, row.desa_code)
        by_cadre = await _is_or_was_cadre(context, row.operator_id)
    card = await review.card_for(
        context.db, context.settings, context.cipher, row, regions, operator_name=name
    )
    await open_step(context, turn, row)
    text = _card_text(turn.tr, card, card.waiting, by_cadre)
    if tail:
        text += "\n\n" + tail
    if lead and len(with_lead(lead, text)) > READABLE:
        await say(context, turn.chat_id, lead)  # rare: a long card; the outcome goes first
        lead = ""
    keyboard = _card_keyboard(turn, row.id, details=_has_details(card), extra=extra)
    await say(context, turn.chat_id, with_lead(lead, text), keyboard)


async def view(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Shows the card again (from a Kembali button)."""
    await clear_step(context, turn)
    await show_card(context, turn, access, row)


async def details(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Shows the card's flags in full (Rincian), with the decision buttons again."""
    await open_step(context, turn, row)
    regions = access.review_regions()
    card = await review.card_for(context.db, context.settings, context.cipher, row, regions)
    await say(context, turn.chat_id, _details_text(turn.tr, card), _card_keyboard(turn, row.id))


async def _is_or_was_cadre(context: JagaContext, telegram_id: int) -> bool:
    """Whether the person who sent a submission for someone else holds or held the cadre role."""
    held = any(role == "cadre" for role, _region in await roles.held_by(context.db, telegram_id))
    return held or await roles.lost(context.db, telegram_id, "cadre")
