"""Approving a card: choose who pays the contribution (a funding program with places left, or the
worker), confirm, optionally record a sponsor; quota and program checks happen on approval."""

from __future__ import annotations

from bot import review
from bot.access import Access
from bot.context import JagaContext
from handlers.common import Turn, columns, layout, say
from handlers.review.card import next_card
from handlers.review.common import FLOW, begin_step, clear_step, open_step, tell_refused
from storage import funding
from storage import review as store
from storage.registrations import Registration


async def choose_program(
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: Registration,
    arg: str,
    lead: str = "",
) -> None:
    """Lists the funding programs for the worker's desa with places left; asks which pays
    (`lead`: why the last choice was refused, in the same message)."""
    await open_step(context, turn, row)
    _ = turn.gettext
    tr = turn.tr
    rid = row.id
    choices = await review.program_choices(context.db, row)
    lines = [lead, ""] if lead else []
    lines.append(
        _("Setujui {ref} ({name}). Siapa yang membayar iuran?").format(
            ref=row.ref, name=row.name or "-"
        )
    )
    buttons = []
    for choice in choices:
        program = choice.program
        line = _("{name} – {source}: terpakai {used} dari {quota}").format(
            name=program.name,
            source=_(review.SOURCE_LABELS[program.source_type]),
            used=tr.number(choice.used),
            quota=tr.number(program.quota),
        )
        if program.quota_per_desa is not None:
            line += _("; desa ini {used} dari {quota}").format(
                used=tr.number(choice.used_desa or 0), quota=tr.number(program.quota_per_desa)
            )
        lines.append("• " + line)
        label = _("{name} (sisa {left})").format(name=program.name, left=tr.number(choice.left))
        buttons.append((label, f"REV {rid} P {program.id}"))
    if not choices:
        lines.append(_("Belum ada program pendanaan yang terbuka untuk desa ini."))
    buttons.append((_(review.SELF_PAID), f"REV {rid} P 0"))
    buttons.append((_("Kembali"), f"REV {rid} V"))
    await say(context, turn.chat_id, "\n".join(lines), layout(columns(buttons, 1)))


async def _program_of(context: JagaContext, arg: str) -> funding.Program | None:
    return await funding.get(context.db, int(arg)) if arg.isdigit() and arg != "0" else None


async def confirm_program(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Asks to confirm the approval with the chosen program (or to record a sponsor first)."""
    _ = turn.gettext
    rid = row.id
    program = await _program_of(context, arg)
    pid = program.id if program is not None else 0
    await open_step(context, turn, row, program_id=pid)
    payer = program.name if program is not None else _(review.SELF_PAID)
    text = _("Setujui {ref} ({name}), iuran dibayar: {payer}?").format(
        ref=row.ref, name=row.name or "-", payer=payer
    )
    keyboard = layout(
        [
            [(_("Ya, setujui"), f"REV {rid} A {pid}")],
            [(_("Catat sponsor dulu"), f"REV {rid} S {pid}")],
            [(_("Kembali"), f"REV {rid} OK")],
        ]
    )
    await say(context, turn.chat_id, text, keyboard)


async def approve_now(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Approves without a sponsor."""
    await approve(context, turn, access, row, arg, None)


async def ask_sponsor(
    context: JagaContext, turn: Turn, access: Access, row: Registration, arg: str
) -> None:
    """Asks for the sponsor's name (SERTAKAN: an official or company paying for this worker)."""
    _ = turn.gettext
    program = await _program_of(context, arg)
    await begin_step(
        context,
        turn,
        row,
        "sponsor",
        program_id=program.id if program is not None else 0,
        flow=FLOW,
    )
    await say(
        context,
        turn.chat_id,
        _(
            "Tulis nama sponsor yang membayar iuran pekerja ini (pegawai, perusahaan, atau "
            "donatur), lalu kirim."
        ),
        layout([[(_("Setujui tanpa sponsor"), f"REV {row.id} A {arg or 0}")]]),
    )


async def approve(
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: Registration,
    arg: str,
    sponsor: str | None,
) -> None:
    _ = turn.gettext
    tr = turn.tr
    program = await _program_of(context, arg)
    if arg not in ("", "0") and program is None:
        lead = _("Program itu tidak ada. Silakan pilih lagi.")
        await choose_program(context, turn, access, row, "", lead)
        return
    try:
        await review.approve(
            context.services.outbox,
            context.db,
            context.settings,
            row.id,
            turn.id,
            program.id if program is not None else None,
            sponsor,
        )
    except store.QuotaFull as full:
        if full.desa is not None:
            text = _(
                "Tidak bisa disetujui: kuota {program} untuk desa {desa} sudah penuh "
                "({used} dari {quota}). Pilih sumber iuran lain."
            ).format(
                program=full.program.name,
                desa=review.region_name(full.desa),
                used=tr.number(full.used),
                quota=tr.number(full.quota),
            )
        else:
            text = _(
                "Tidak bisa disetujui: kuota {program} sudah penuh ({used} dari {quota}). "
                "Pilih sumber iuran lain."
            ).format(
                program=full.program.name, used=tr.number(full.used), quota=tr.number(full.quota)
            )
        await choose_program(context, turn, access, row, "", text)
        return
    except store.ProgramUnavailable:
        text = _(
            "Program itu sudah ditutup atau tidak mencakup desa ini. Pilih sumber iuran lain."
        )
        await choose_program(context, turn, access, row, "", text)
        return
    except store.DecisionRefused as refused:
        await tell_refused(context, turn, refused)
        return
    await clear_step(context, turn)
    payer = program.name if program is not None else _(review.SELF_PAID)
    text = "✅ " + _("Disetujui: {ref} ({name}), iuran dibayar: {payer}.").format(
        ref=row.ref, name=row.name or "-", payer=payer
    )
    if sponsor:
        text += "\n" + _("Sponsor: {sponsor}").format(sponsor=sponsor)
    text += " " + _("Pekerja sudah diberi tahu.")
    await next_card(context, turn, access, lead=text)
