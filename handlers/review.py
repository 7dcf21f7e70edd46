"""/tinjau, /ekspor, /laporan: the district review desk in a private chat (reviewers only).

Every press is re-checked on the server: the presser's role now, the submission's district and
its state. Callback data: `REV <id> <action> [arg]`, `REVQ ALL|D12`, `EXP <format> [status]`;
`REVQ C [<request id> F|D|DY]`: correction requests from /data_saya (list, ask the worker to fix a
submission under review, or mark one done after the change was made outside the bot).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot import clock, notify, review
from bot import export as exporter
from bot import report as reporter
from bot.access import Access, access_of, within
from bot.context import JagaContext
from bot.i18n import N_, Translator, translator
from bot.logging_setup import IDENTIFIER_TYPES, mask_text
from bot.registration import HEIR_LABELS, OCCUPATION_LABELS, PROGRAM_LABELS, age_on
from handlers.common import Turn, answer_button, columns, inline, say
from storage import funding, privacy, registrations, users
from storage import review as store

log = logging.getLogger(__name__)

FLOW = "tinjau"
# Correction requests listed at once (the oldest first; the rest after these are done).
MAX_CORRECTIONS_SHOWN = 10
# Registrations BPJS already has: their data is changed outside the bot.
APPROVED_STATES = ("disetujui", "terdaftar")
# A sponsor's name or a note to the worker: long enough for a sentence, short enough to read.
MAX_NOTE = 300


# --- who may use the desk -------------------------------------------------------------------


async def _reviewer(context: JagaContext, turn: Turn) -> Access | None:
    """The reviewer's access, or None after telling a non-reviewer this is not for them."""
    access = await access_of(context.db, context.settings, turn.id)
    if access.is_reviewer:
        return access
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Perintah ini khusus petugas peninjau dinas tenaga kerja kabupaten. "
            "Ketik /start untuk melihat menu."
        ),
    )
    return None


def _refuse_log(turn: Turn, data: str, why: str) -> None:
    log.warning("event=review_refused user=%s data=%r reason=%s", turn.id, data[:64], why)


# --- the queue ------------------------------------------------------------------------------


async def queue(update: Update, context: JagaContext) -> None:
    """Shows the counts of the reviewer's district, then the oldest waiting card."""
    turn = await Turn.load(update, context)
    access = await _reviewer(context, turn)
    if access is None:
        return
    await _clear(context, turn)  # a note half-asked for an earlier card is dropped
    step = await store.step_of(context.db, turn.id)
    await _summary(context, turn, access, bool(step["decile_only"]))
    await _next_card(context, turn, access)


async def queue_filter(update: Update, context: JagaContext) -> None:
    """Switches the queue between all submissions and P3KE deciles 1–2 only, then shows a card."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_reviewer:
        _refuse_log(turn, query.data, "role")
        await answer_button(query, turn.gettext("Anda tidak berwenang meninjau pengajuan."))
        return
    args = query.data.removeprefix("REVQ ").split()
    if args[:1] == ["C"]:
        await _correction_button(context, turn, access, query, args[1:])
        return
    await answer_button(query)
    decile_only = args == ["D12"]
    await _clear(context, turn)
    await store.set_step(context.db, turn.id, decile_only=int(decile_only))
    await _summary(context, turn, access, decile_only)
    await _next_card(context, turn, access)


def _area_names(access: Access) -> str:
    return ", ".join(review.region_name(r) for r in access.review_regions())


async def _summary(context: JagaContext, turn: Turn, access: Access, decile_only: bool) -> None:
    _ = turn.gettext
    tr = turn.tr
    regions = access.review_regions()
    counts = await store.status_counts(context.db, regions)
    waiting = await store.queue_size(context.db, regions, decile_only)
    lines = [
        _("Antrean tinjauan: {area}").format(area=_area_names(access)),
        _("Menunggu keputusan: {n}").format(n=tr.number(counts.get("diajukan", 0))),
        _("Menunggu perbaikan dari pekerja: {n}").format(
            n=tr.number(counts.get("perlu_perbaikan", 0))
        ),
        _("Disetujui: {a} · Ditolak: {r} · Terdaftar: {t}").format(
            a=tr.number(counts.get("disetujui", 0)),
            r=tr.number(counts.get("ditolak", 0)),
            t=tr.number(counts.get("terdaftar", 0)),
        ),
    ]
    corrections = await _open_corrections(context, access)
    if corrections:
        lines.append(
            _("Permintaan perbaikan data dari pekerja: {n}").format(n=tr.number(len(corrections)))
        )
    if decile_only:
        lines.append(
            _("Filter: hanya desil 1–2 P3KE ({n} menunggu).").format(n=tr.number(waiting))
        )
        button = (_("Tampilkan semua"), "REVQ ALL")
    else:
        button = (_("Hanya desil 1–2 P3KE"), "REVQ D12")
    rows = [[button]]
    if corrections:
        rows.append([(_("Lihat permintaan perbaikan data"), "REVQ C")])
    await say(context, turn.chat_id, "\n".join(lines), inline(rows))


async def _next_card(
    context: JagaContext,
    turn: Turn,
    access: Access,
    after: tuple[str, int] | None = None,
    skipped: int | None = None,
) -> None:
    """Locks and shows the next waiting card, or says the queue is empty."""
    _ = turn.gettext
    regions = access.review_regions()
    step = await store.step_of(context.db, turn.id)
    decile_only = bool(step["decile_only"])
    # A few tries: another reviewer may take a card between our query and our lock.
    for _attempt in range(5):
        row = await store.next_in_queue(context.db, turn.id, regions, decile_only, after)
        if row is None and after is not None:
            row = await store.next_in_queue(context.db, turn.id, regions, decile_only, None)
        if row is None or row["id"] == skipped:
            break
        if await store.lock(context.db, row["id"], turn.id, review.LOCK_MINUTES):
            await _show_card(context, turn, access, row)
            return
    if skipped is not None:
        text = _("Tidak ada pengajuan lain di antrean. Ketik /tinjau untuk mulai lagi.")
    else:
        text = _("Tidak ada pengajuan yang menunggu keputusan Anda. Terima kasih!")
    await say(context, turn.chat_id, text)


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


def _card_text(tr: Translator, card: review.Card, regions_waiting: int) -> str:
    """A compact card: who submitted, the worker's data a few fields a line, the flags."""
    _ = tr.gettext
    row = card.row
    lines = [
        _("Pengajuan {ref} ({position} dari {waiting} menunggu)").format(
            ref=row["ref"], position=card.position, waiting=regions_waiting
        )
    ]
    submitted = review.wib_date(row.get("submitted_at"))
    if submitted is not None:
        lines.append(_("Diajukan: {date}").format(date=tr.date(submitted)))
    if row.get("for_self"):
        lines.append(_("Didaftarkan oleh: pekerja sendiri"))
    else:
        # The cadre's name (storage/users.py name_of); the id only when no name is known.
        if row.get("operator_name"):
            lines.append(_("Didaftarkan oleh: kader {name}").format(name=row["operator_name"]))
        else:
            lines.append(
                _("Didaftarkan oleh: kader (Telegram {id})").format(id=row.get("operator_id"))
            )
    lines.append("")
    sex = {"L": _("laki-laki"), "P": _("perempuan")}.get(row.get("sex") or "", "-")
    lines.append(_("Nama: {name} ({sex})").format(name=row.get("name") or "-", sex=sex))
    lines.append(_("NIK: {nik}").format(nik=card.nik))
    if row.get("birth_date"):
        birth = dt.date.fromisoformat(row["birth_date"])
        lines.append(
            _("Lahir: {date} ({age} tahun)").format(
                date=tr.date(birth), age=age_on(birth, clock.today())
            )
        )
    lines.append(_("Ibu kandung: {name}").format(name=row.get("mother_name") or "-"))
    lines.append(_("HP: {phone}").format(phone=card.phone or "-"))
    lines.append(
        _("Alamat: {desa}, Kec. {kecamatan}, {kabupaten}").format(
            desa=review.region_name(row.get("desa_code")),
            kecamatan=review.region_name(row.get("kecamatan_code")),
            kabupaten=review.region_name(row.get("kabupaten_code")),
        )
    )
    occupation_label = OCCUPATION_LABELS.get(row.get("occupation") or "")
    occupation = _(occupation_label) if occupation_label else "-"
    if row.get("occupation_other"):
        occupation += f" ({row['occupation_other']})"
    if row.get("income") is not None:
        occupation = _("{occupation}, {money} per bulan").format(
            occupation=occupation, money=tr.money(row["income"])
        )
    lines.append(_("Pekerjaan: {occupation}").format(occupation=occupation))
    programs = PROGRAM_LABELS.get(row.get("programs") or "", row.get("programs") or "-")
    if row.get("monthly_contribution") is not None:
        months = row.get("pay_period_months") or 1
        money = tr.money(row["monthly_contribution"])
        if months > 1:
            text = _("Program: {programs}, iuran {money} per bulan, dibayar tiap {months} bulan")
        else:
            text = _("Program: {programs}, iuran {money} per bulan")
        lines.append(text.format(programs=programs, money=money, months=months))
    else:
        lines.append(_("Program: {programs}").format(programs=programs))
    payer = {"sendiri": _("pekerja sendiri"), "program": _("program pemerintah/sponsor")}
    lines.append(
        _("Pembayar diminta: {payer}").format(payer=payer.get(row.get("payer") or "", "-"))
    )
    if row.get("heir_name"):
        relation_label = HEIR_LABELS.get(row.get("heir_relation") or "")
        lines.append(
            _("Ahli waris: {name} ({relation})").format(
                name=row["heir_name"],
                relation=_(relation_label) if relation_label else "-",
            )
        )
    if card.flags:
        lines += ["", _("Perlu diperiksa:")]
        lines += [_flag_line(tr, flag) for flag in card.flags]
    return "\n".join(lines)


def _details_text(tr: Translator, card: review.Card) -> str:
    """The card's flags in full (the references of other submissions with the same NIK or HP)."""
    _ = tr.gettext
    lines = [_("Pengajuan {ref}: yang perlu diperiksa").format(ref=card.row["ref"])]
    lines += [review.describe_flag(tr, flag) for flag in card.flags]
    return "\n".join(lines)


def _card_keyboard(
    turn: Turn, registration_id: int, *, details: bool = False
) -> InlineKeyboardMarkup:
    _ = turn.gettext
    rid = registration_id
    rows = [
        [(_("Setujui"), f"REV {rid} OK"), (_("Tolak"), f"REV {rid} NO")],
        [(_("Minta perbaikan"), f"REV {rid} FIX"), (_("Lewati"), f"REV {rid} SKIP")],
    ]
    if details:
        rows.append([(_("Rincian"), f"REV {rid} D")])
    return inline(rows)


async def _show_card(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any]
) -> None:
    regions = access.review_regions()
    if not row.get("for_self") and row.get("operator_id"):
        name = await users.name_of(context.db, row["operator_id"], row.get("desa_code"))
        row = {**row, "operator_name": name}
    card = await review.card_for(context.db, context.settings, context.cipher, row, regions)
    await say(
        context,
        turn.chat_id,
        _card_text(turn.tr, card, card.waiting),
        _card_keyboard(turn, row["id"], details=_has_details(card)),
    )


async def _details(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Shows the card's flags in full (Rincian), with the decision buttons again."""
    regions = access.review_regions()
    card = await review.card_for(context.db, context.settings, context.cipher, row, regions)
    await say(context, turn.chat_id, _details_text(turn.tr, card), _card_keyboard(turn, row["id"]))


# --- button presses -------------------------------------------------------------------------


async def button(update: Update, context: JagaContext) -> None:
    """Handles every card button after re-checking role, district, state and lock."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    if len(parts) < 3 or not parts[1].isdigit():
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    registration_id, action, arg = int(parts[1]), parts[2], (parts[3] if len(parts) > 3 else "")
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_reviewer:
        _refuse_log(turn, query.data, "role")
        await answer_button(query, _("Anda tidak berwenang meninjau pengajuan."))
        return
    row = await registrations.get(context.db, registration_id)
    if not review.may_review(access, row):
        _refuse_log(turn, query.data, "scope")
        await answer_button(query, _("Anda tidak berwenang meninjau pengajuan ini."))
        return
    assert row is not None
    if action == "SKIP":
        await answer_button(query)
        await _clear(context, turn)
        await store.unlock(context.db, row["id"], turn.id)
        await _next_card(
            context, turn, access, after=(row["submitted_at"], row["id"]), skipped=row["id"]
        )
        return
    if not await _still_open(context, turn, query, row):
        return
    if action == "F" and arg in review.FIX_FIELDS:
        await answer_button(query)
        chosen = await _toggle_field(context, turn, row, arg)
        try:
            await query.edit_message_reply_markup(_fix_keyboard(turn, row["id"], chosen))
        except BadRequest:  # "message is not modified" after a double press
            log.debug("event=fix_keyboard_unchanged registration=%s", row["id"])
        return
    handler = _ACTIONS.get(action)
    if handler is None:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    await answer_button(query)
    await handler(context, turn, access, row, arg)


async def _still_open(context: JagaContext, turn: Turn, query: Any, row: dict[str, Any]) -> bool:
    """Whether the card may still be acted on by this reviewer; refreshes its lock if so."""
    if row["status"] != "diajukan":
        await answer_button(query)
        await say(context, turn.chat_id, _decided_text(turn, row))
        return False
    if not await store.lock(context.db, row["id"], turn.id, review.LOCK_MINUTES):
        await answer_button(query)
        await say(context, turn.chat_id, _locked_text(turn, row))
        return False
    return True


def _decided_text(turn: Turn, row: dict[str, Any]) -> str:
    _ = turn.gettext
    status = _(review.STATUS_LABELS.get(row["status"], row["status"]))
    if row.get("reviewed_by"):
        return _(
            "Pengajuan {ref} sudah diputuskan: {status} (oleh petugas {who}). "
            "Keputusan Anda tidak disimpan."
        ).format(ref=row["ref"], status=status, who=row["reviewed_by"])
    return _("Pengajuan {ref} tidak menunggu keputusan lagi (status: {status}).").format(
        ref=row["ref"], status=status
    )


def _locked_text(turn: Turn, row: dict[str, Any]) -> str:
    return turn.gettext(
        "Pengajuan {ref} sedang dibuka petugas lain. Coba lagi beberapa menit lagi, "
        "atau ketik /tinjau untuk pengajuan berikutnya."
    ).format(ref=row["ref"])


async def _view(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Shows the card again (from a Kembali button)."""
    await _clear(context, turn)
    await _show_card(context, turn, access, row)


async def _choose_program(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Lists the funding programs for the worker's desa with places left; asks which pays."""
    await _clear(context, turn)
    _ = turn.gettext
    tr = turn.tr
    rid = row["id"]
    choices = await review.program_choices(context.db, row)
    lines = [
        _("Setujui {ref} ({name}). Siapa yang membayar iuran?").format(
            ref=row["ref"], name=row.get("name") or "-"
        )
    ]
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
    await say(context, turn.chat_id, "\n".join(lines), inline(columns(buttons, 1)))


async def _program_of(context: JagaContext, arg: str) -> funding.Program | None:
    return await funding.get(context.db, int(arg)) if arg.isdigit() and arg != "0" else None


async def _confirm_program(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Asks to confirm the approval with the chosen program (or to record a sponsor first)."""
    await _clear(context, turn)
    _ = turn.gettext
    rid = row["id"]
    program = await _program_of(context, arg)
    pid = program.id if program is not None else 0
    payer = program.name if program is not None else _(review.SELF_PAID)
    text = _("Setujui {ref} ({name}), iuran dibayar: {payer}?").format(
        ref=row["ref"], name=row.get("name") or "-", payer=payer
    )
    keyboard = inline(
        [
            [(_("Ya, setujui"), f"REV {rid} A {pid}")],
            [(_("Catat sponsor dulu"), f"REV {rid} S {pid}")],
            [(_("Kembali"), f"REV {rid} OK")],
        ]
    )
    await say(context, turn.chat_id, text, keyboard)


async def _approve_now(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Approves without a sponsor."""
    await _approve(context, turn, access, row, arg, None)


async def _begin_step(
    context: JagaContext,
    turn: Turn,
    row: dict[str, Any],
    action: str,
    *,
    program_id: int | None = None,
    reason_code: str | None = None,
    fields: str = "[]",
) -> None:
    """Store what the reviewer is doing on this card and what is chosen so far (all of it)."""
    await store.set_step(
        context.db,
        turn.id,
        registration_id=row["id"],
        action=action,
        program_id=program_id,
        reason_code=reason_code,
        fields=fields,
    )


async def _ask_sponsor(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Asks for the sponsor's name (SERTAKAN: an official or company paying for this worker)."""
    _ = turn.gettext
    program = await _program_of(context, arg)
    await _begin_step(
        context, turn, row, "sponsor", program_id=program.id if program is not None else 0
    )
    await users.set_active_flow(context.db, turn.id, FLOW)
    await say(
        context,
        turn.chat_id,
        _(
            "Tulis nama sponsor yang membayar iuran pekerja ini (pegawai, perusahaan, atau "
            "donatur), lalu kirim."
        ),
        inline([[(_("Setujui tanpa sponsor"), f"REV {row['id']} A {arg or 0}")]]),
    )


async def _approve(
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: dict[str, Any],
    arg: str,
    sponsor: str | None,
) -> None:
    _ = turn.gettext
    tr = turn.tr
    program = await _program_of(context, arg)
    if arg not in ("", "0") and program is None:
        await say(context, turn.chat_id, _("Program itu tidak ada. Silakan pilih lagi."))
        await _choose_program(context, turn, access, row, "")
        return
    try:
        await review.approve(
            context.services.outbox,
            context.db,
            context.settings,
            row["id"],
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
        await say(context, turn.chat_id, text)
        await _choose_program(context, turn, access, row, "")
        return
    except store.ProgramUnavailable:
        await say(
            context,
            turn.chat_id,
            _("Program itu sudah ditutup atau tidak mencakup desa ini. Pilih sumber iuran lain."),
        )
        await _choose_program(context, turn, access, row, "")
        return
    except store.DecisionRefused as refused:
        await _refused(context, turn, refused)
        return
    await _clear(context, turn)
    payer = program.name if program is not None else _(review.SELF_PAID)
    text = _("Disetujui: {ref} ({name}), iuran dibayar: {payer}.").format(
        ref=row["ref"], name=row.get("name") or "-", payer=payer
    )
    if sponsor:
        text += "\n" + _("Sponsor: {sponsor}").format(sponsor=sponsor)
    text += "\n" + _("Pekerja sudah diberi tahu.")
    await say(context, turn.chat_id, text)
    await _next_card(context, turn, access)


async def _refused(context: JagaContext, turn: Turn, refused: store.DecisionRefused) -> None:
    await _clear(context, turn)
    row = refused.row
    if refused.why == "locked" and row is not None:
        text = _locked_text(turn, row)
    elif refused.why == "decided" and row is not None:
        text = _decided_text(turn, row)
    else:
        text = turn.gettext("Pengajuan ini tidak ditemukan.")
    await say(context, turn.chat_id, text)


async def _choose_reason(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Lists the rejection reasons."""
    await _clear(context, turn)
    _ = turn.gettext
    rid = row["id"]
    buttons = [(_(label), f"REV {rid} R {code}") for code, label in review.REJECT_REASONS.items()]
    buttons.append((_("Kembali"), f"REV {rid} V"))
    await say(
        context,
        turn.chat_id,
        _("Tolak {ref} ({name}). Pilih alasannya:").format(
            ref=row["ref"], name=row.get("name") or "-"
        ),
        inline(columns(buttons, 1)),
    )


async def _ask_reject_note(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Asks for an optional note to the worker about the rejection."""
    _ = turn.gettext
    code = arg if arg in review.REJECT_REASONS else "lain"
    await _begin_step(context, turn, row, "reject", reason_code=code)
    await users.set_active_flow(context.db, turn.id, FLOW)
    await say(
        context,
        turn.chat_id,
        _(
            "Alasan: {reason}\nTulis catatan untuk pekerja jika perlu, lalu kirim. "
            "Atau tekan tombol di bawah."
        ).format(reason=_(review.REJECT_REASONS[code])),
        inline(
            [
                [(_("Tolak tanpa catatan"), f"REV {row['id']} X {code}")],
                [(_("Kembali"), f"REV {row['id']} NO")],
            ]
        ),
    )


async def _reject_now(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Rejects without a note."""
    await _reject(context, turn, access, row, arg, "")


async def _reject(
    context: JagaContext,
    turn: Turn,
    access: Access,
    row: dict[str, Any],
    code: str,
    note: str,
) -> None:
    _ = turn.gettext
    try:
        await review.reject(
            context.services.outbox, context.db, context.settings, row["id"], turn.id, code, note
        )
    except store.DecisionRefused as refused:
        await _refused(context, turn, refused)
        return
    await _clear(context, turn)
    await say(
        context,
        turn.chat_id,
        _("Ditolak: {ref} ({name}). Alasan: {reason}\nPekerja sudah diberi tahu.").format(
            ref=row["ref"],
            name=row.get("name") or "-",
            reason=review.reason_text(turn.tr, code, note),
        ),
    )
    await _next_card(context, turn, access)


def _fix_keyboard(turn: Turn, registration_id: int, chosen: list[str]) -> InlineKeyboardMarkup:
    _ = turn.gettext
    rid = registration_id
    buttons = [
        (("☑ " if name in chosen else "☐ ") + _(label), f"REV {rid} F {name}")
        for name, label in review.FIX_FIELDS.items()
    ]
    rows = columns(buttons, 2)
    rows.append([(_("Lanjut"), f"REV {rid} FN"), (_("Kembali"), f"REV {rid} V")])
    return inline(rows)


async def _fix_step(context: JagaContext, turn: Turn, row: dict[str, Any]) -> list[str]:
    """The fields chosen so far for this card (a fix step for another card starts afresh)."""
    step = await store.step_of(context.db, turn.id)
    if step["action"] == "fix" and step["registration_id"] == row["id"]:
        return [f for f in json.loads(step["fields"]) if f in review.FIX_FIELDS]
    return []


async def _choose_fields(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Asks which parts the worker must fix (several may be ticked), then Lanjut."""
    _ = turn.gettext
    await _begin_step(context, turn, row, "fix")
    await users.set_active_flow(context.db, turn.id, None)
    text = _(
        "Minta perbaikan {ref} ({name}). Pilih bagian yang perlu diperbaiki (boleh lebih "
        "dari satu), lalu tekan Lanjut."
    ).format(ref=row["ref"], name=row.get("name") or "-")
    wishes = [
        _correction_text(context, c)
        for c in await _open_corrections(context, access)
        if c["registration_id"] == row["id"]
    ]
    if wishes:
        text += "\n\n" + _("Permintaan perbaikan dari pekerja:") + "\n"
        text += "\n".join(f"«{w}»" for w in wishes)
    await say(context, turn.chat_id, text, _fix_keyboard(turn, row["id"], []))


async def _toggle_field(
    context: JagaContext, turn: Turn, row: dict[str, Any], arg: str
) -> list[str]:
    """Ticks or unticks one part; returns the parts now ticked."""
    chosen = await _fix_step(context, turn, row)
    chosen = [f for f in chosen if f != arg] if arg in chosen else [*chosen, arg]
    await _begin_step(context, turn, row, "fix", fields=json.dumps(chosen))
    return chosen


async def _ask_fix_note(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Asks for the note that tells the worker what is wrong."""
    _ = turn.gettext
    chosen = await _fix_step(context, turn, row)
    if not chosen:
        await say(
            context,
            turn.chat_id,
            _("Pilih minimal satu bagian yang perlu diperbaiki."),
            _fix_keyboard(turn, row["id"], []),
        )
        return
    await users.set_active_flow(context.db, turn.id, FLOW)
    labels = ", ".join(_(review.FIX_FIELDS[f]) for f in chosen)
    await say(
        context,
        turn.chat_id,
        _(
            "Yang perlu diperbaiki: {fields}\nTulis catatan untuk pekerja: apa yang salah dan "
            "bagaimana memperbaikinya. Lalu kirim."
        ).format(fields=labels),
        inline([[(_("Kirim tanpa catatan"), f"REV {row['id']} FS")]]),
    )


async def _send_fix_now(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], arg: str
) -> None:
    """Sends the fix request without a note."""
    await _send_fix(context, turn, access, row, "")


async def _send_fix(
    context: JagaContext, turn: Turn, access: Access, row: dict[str, Any], note: str
) -> None:
    _ = turn.gettext
    chosen = await _fix_step(context, turn, row)
    if not chosen:
        await _choose_fields(context, turn, access, row, "")
        return
    try:
        await review.request_fix(
            context.services.outbox, context.db, context.settings, row["id"], turn.id, chosen, note
        )
    except store.DecisionRefused as refused:
        await _refused(context, turn, refused)
        return
    await _clear(context, turn)
    labels = ", ".join(_(review.FIX_FIELDS[f]) for f in chosen)
    text = _(
        "Permintaan perbaikan {ref} terkirim ({fields}). Setelah diperbaiki, pengajuan "
        "kembali ke antrean."
    ).format(ref=row["ref"], fields=labels)
    # The worker now corrects the data themselves: their correction requests are answered.
    resolved = 0
    for request in await _open_corrections(context, access):
        if request["registration_id"] == row["id"]:
            resolved += await privacy.resolve_correction(context.db, request["id"], turn.id)
    if resolved:
        text += "\n" + _(
            "Permintaan perbaikan data dari pekerja untuk {ref} ditandai selesai."
        ).format(ref=row["ref"])
    await say(context, turn.chat_id, text)
    await _next_card(context, turn, access)


# --- correction requests from /data_saya ---------------------------------------------------


async def _open_corrections(context: JagaContext, access: Access) -> list[dict[str, Any]]:
    """Open correction requests of the person's review regions, oldest first."""
    found: dict[int, dict[str, Any]] = {}
    for region in access.review_regions():
        for request in await privacy.open_corrections(context.db, region):
            found[request["id"]] = request
    return [found[key] for key in sorted(found)]


def _correction_text(context: JagaContext, request: dict[str, Any]) -> str:
    """What the person asked to correct, decrypted, with NIK and phone numbers masked."""
    if not request.get("text_enc"):
        return "-"
    try:
        text = context.cipher.decrypt(request["text_enc"])
    except ValueError:
        log.warning("event=correction_undecryptable request=%s", request["id"])
        return "-"
    return mask_text(text, IDENTIFIER_TYPES)


async def _correction_button(
    context: JagaContext, turn: Turn, access: Access, query: Any, args: list[str]
) -> None:
    """Lists open correction requests, or acts on one after re-checking scope and state."""
    _ = turn.gettext
    if not args:
        await answer_button(query)
        await _list_corrections(context, turn, access)
        return
    if len(args) != 2 or not args[0].isdigit() or args[1] not in ("F", "D", "DY"):
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    request_id, action = int(args[0]), args[1]
    request = next(
        (c for c in await _open_corrections(context, access) if c["id"] == request_id), None
    )
    if request is None:  # done by another reviewer, or not this reviewer's district
        await answer_button(query, _("Permintaan perbaikan ini sudah selesai ditangani."))
        return
    row = (
        await registrations.get(context.db, request["registration_id"])
        if request["registration_id"] is not None
        else None
    )
    if row is not None and not review.may_review(access, row):
        _refuse_log(turn, query.data, "scope")
        await answer_button(query, _("Anda tidak berwenang meninjau pengajuan ini."))
        return
    await answer_button(query)
    ref = request["ref"] or "-"
    if action == "F":
        if row is None or row["status"] != "diajukan":
            await say(context, turn.chat_id, _correction_state_changed(turn, ref, row))
            await _list_corrections(context, turn, access)
            return
        if not await store.lock(context.db, row["id"], turn.id, review.LOCK_MINUTES):
            await say(context, turn.chat_id, _locked_text(turn, row))
            return
        await _choose_fields(context, turn, access, row, "")
        return
    if row is not None and row["status"] == "diajukan":
        # Under review: the worker should fix it themselves (the F button), not the reviewer.
        await say(context, turn.chat_id, _correction_state_changed(turn, ref, row))
        await _list_corrections(context, turn, access)
        return
    if action == "D":
        if row is not None and row["status"] in APPROVED_STATES:
            text = _(
                "Pengajuan {ref} sudah disetujui, jadi datanya diubah di luar bot (misalnya di "
                "kantor BPJS Ketenagakerjaan dan di catatan dinas). Apakah perubahan itu sudah "
                "dilakukan?"
            ).format(ref=ref)
        else:
            text = _(
                "Tandai permintaan perbaikan untuk {ref} selesai? Lakukan ini setelah "
                "perubahannya dibuat."
            ).format(ref=ref)
        await say(
            context,
            turn.chat_id,
            text,
            inline(
                [
                    [(_("Ya, sudah diubah"), f"REVQ C {request_id} DY")],
                    [(_("Belum, kembali"), "REVQ C")],
                ]
            ),
        )
        return
    told = notify.QueuedNotices([await _requester_notice(context, request)])
    if not await privacy.resolve_correction(context.db, request_id, turn.id, then=told.queue):
        await say(context, turn.chat_id, _("Permintaan perbaikan ini sudah selesai ditangani."))
        return
    log.info("event=correction_resolved request=%s reviewer=%s", request_id, turn.id)
    await say(
        context,
        turn.chat_id,
        _("Permintaan perbaikan untuk {ref} ditandai selesai. Peminta sudah diberi tahu.").format(
            ref=ref
        ),
    )
    await told.dispatch(context.services.outbox)


def _correction_state_changed(turn: Turn, ref: str, row: dict[str, Any] | None) -> str:
    _ = turn.gettext
    if row is None:
        return _("Data pendaftaran {ref} sudah dihapus.").format(ref=ref)
    status = _(review.STATUS_LABELS.get(row["status"], row["status"]))
    return _("Status {ref} sekarang: {status}. Pilih lagi dari daftar.").format(
        ref=ref, status=status
    )


async def _list_corrections(context: JagaContext, turn: Turn, access: Access) -> None:
    """One message per open correction request, with the action its state allows."""
    _ = turn.gettext
    requests = await _open_corrections(context, access)
    if not requests:
        await say(
            context, turn.chat_id, _("Tidak ada permintaan perbaikan data yang belum ditangani.")
        )
        return
    for request in requests[:MAX_CORRECTIONS_SHOWN]:
        row = (
            await registrations.get(context.db, request["registration_id"])
            if request["registration_id"] is not None
            else None
        )
        ref = request["ref"] or "-"
        by = _("kader, atas nama pekerja") if request["on_behalf"] else _("pekerja sendiri")
        lines = [_("Permintaan perbaikan data untuk {ref}").format(ref=ref)]
        if row is not None:
            status = _(review.STATUS_LABELS.get(row["status"], row["status"]))
            lines.append(
                _("Nama: {name} · Status: {status}").format(
                    name=row.get("name") or "-", status=status
                )
            )
        sent = review.wib_date(request["created_at"])
        if sent is not None:
            lines.append(_("Dikirim {date} oleh {by}").format(date=turn.tr.date(sent), by=by))
        lines.append(f"«{_correction_text(context, request)}»")
        rid = request["id"]
        if row is None:
            lines.append(_("Data pendaftaran ini sudah dihapus."))
            button = (_("Tandai selesai"), f"REVQ C {rid} D")
        elif row["status"] == "diajukan":
            button = (_("Minta pekerja memperbaiki"), f"REVQ C {rid} F")
        else:
            button = (_("Sudah diubah, tandai selesai"), f"REVQ C {rid} D")
        await say(context, turn.chat_id, "\n".join(lines), inline([[button]]))
    if len(requests) > MAX_CORRECTIONS_SHOWN:
        await say(
            context,
            turn.chat_id,
            _("Masih ada {n} permintaan lagi. Selesaikan yang di atas, lalu buka /tinjau.").format(
                n=turn.tr.number(len(requests) - MAX_CORRECTIONS_SHOWN)
            ),
        )


async def _requester_notice(
    context: JagaContext, request: dict[str, Any]
) -> notify.OutgoingMessage:
    """The note telling whoever asked for the correction that it was handled (UU 27/2022
    Pasal 30)."""
    language = await users.language_of(context.db, request["requested_by"])
    _ = translator(language or context.settings.language).gettext
    text = _(
        "Permintaan perbaikan data Anda untuk {ref} sudah ditangani petugas kabupaten. "
        "Lihat data Anda lewat /data_saya."
    ).format(ref=request["ref"] or "-")
    return notify.OutgoingMessage(int(request["requested_by"]), text)


async def _clear(context: JagaContext, turn: Turn) -> None:
    await store.clear_step(context.db, turn.id)
    # Only our own flow: a reviewer may also be half-way through something else.
    if (await users.get_or_create(context.db, turn.id)).active_flow == FLOW:
        await users.set_active_flow(context.db, turn.id, None)


_ACTIONS = {
    "V": _view,
    "D": _details,
    "OK": _choose_program,
    "P": _confirm_program,
    "A": _approve_now,
    "S": _ask_sponsor,
    "NO": _choose_reason,
    "R": _ask_reject_note,
    "X": _reject_now,
    "FIX": _choose_fields,
    "FN": _ask_fix_note,
    "FS": _send_fix_now,
}


# --- typed answers (sponsor name, notes) ----------------------------------------------------


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes the sponsor's name or the note the reviewer was asked for, then decides."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.effective_message
    access = await access_of(context.db, context.settings, turn.id)
    step = await store.step_of(context.db, turn.id)
    row = (
        await registrations.get(context.db, step["registration_id"])
        if step["registration_id"]
        else None
    )
    if not access.is_reviewer or step["action"] is None or not review.may_review(access, row):
        await _clear(context, turn)
        await say(
            context,
            turn.chat_id,
            _("Tidak ada langkah tinjauan yang menunggu. Ketik /tinjau untuk membuka antrean."),
        )
        return
    assert row is not None and message is not None
    text = (message.text or "").strip()
    if not text:
        await say(
            context,
            turn.chat_id,
            _("Mohon kirim teks biasa, atau tekan salah satu tombol di atas."),
        )
        return
    if len(text) > MAX_NOTE:
        await say(
            context,
            turn.chat_id,
            _(
                "Terlalu panjang: paling banyak {n} huruf. Silakan kirim yang lebih singkat."
            ).format(n=MAX_NOTE),
        )
        return
    if row["status"] != "diajukan":
        await _clear(context, turn)
        await say(context, turn.chat_id, _decided_text(turn, row))
        return
    if not await store.lock(context.db, row["id"], turn.id, review.LOCK_MINUTES):
        await _clear(context, turn)
        await say(context, turn.chat_id, _locked_text(turn, row))
        return
    if step["action"] == "sponsor":
        await _approve(context, turn, access, row, str(step["program_id"] or 0), text)
    elif step["action"] == "reject":
        await _reject(context, turn, access, row, step["reason_code"] or "lain", text)
    else:
        await _send_fix(context, turn, access, row, text)


async def on_cancel(context: JagaContext, user_id: int) -> None:
    """Forgets the unfinished review step (/batal); the card is left for later."""
    await store.clear_step(context.db, user_id)


# --- /ekspor --------------------------------------------------------------------------------


async def export_command(update: Update, context: JagaContext) -> None:
    """Asks which file format the export of the reviewer's district should have."""
    turn = await Turn.load(update, context)
    access = await _reviewer(context, turn)
    if access is None:
        return
    _ = turn.gettext
    status = _status_arg(context.args)
    suffix = f" {status}" if status else ""
    text = _("Ekspor pengajuan {area}").format(area=_area_names(access))
    if status:
        text += " " + _("(status: {status})").format(status=_(review.STATUS_LABELS[status]))
    text += "\n" + _(
        "Berkas ini berisi NIK dan nomor HP: simpan dengan aman dan jangan diteruskan."
    )
    text += "\n" + _("Pilih format:")
    await say(
        context,
        turn.chat_id,
        text,
        inline([[("CSV", f"EXP csv{suffix}"), ("Excel (XLSX)", f"EXP xlsx{suffix}")]]),
    )


def _status_arg(args: list[str] | None) -> str | None:
    if args:
        value = args[0].strip().lower()
        if value in review.STATES:
            return value
    return None


async def export_button(update: Update, context: JagaContext) -> None:
    """Writes the export of the reviewer's district and sends it as a file."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_reviewer:
        _refuse_log(turn, query.data, "role")
        await answer_button(query, _("Anda tidak berwenang mengekspor data."))
        return
    if len(parts) < 2 or parts[1] not in exporter.FORMATS:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    fmt = parts[1]
    status = _status_arg(parts[2:])
    await answer_button(query, _("Sedang menyiapkan berkas…"))
    regions = access.review_regions()
    stamp = clock.today().isoformat()
    area = "-".join(r.replace(".", "") for r in regions)
    filename = f"jaga-{area}-{status or 'semua'}-{stamp}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="jaga-export-") as folder:
        path = Path(folder) / filename
        count = await exporter.export(
            context.db, context.cipher, path, fmt, regions=regions, status=status
        )
        log.info(
            "event=export user=%s regions=%s status=%s format=%s rows=%s",
            turn.id,
            ",".join(regions),
            status,
            fmt,
            count,
        )
        with path.open("rb") as f:
            await context.bot.send_document(
                turn.chat_id,
                f,
                filename=filename,
                caption=_("{n} pengajuan. Berisi data pribadi: simpan dengan aman.").format(
                    n=turn.tr.number(count)
                ),
            )


# --- /laporan -------------------------------------------------------------------------------


async def report_command(update: Update, context: JagaContext) -> None:
    """Sends the district report (counts, quotas, coverage) and its bar chart."""
    turn = await Turn.load(update, context)
    access = await _reviewer(context, turn)
    if access is None:
        return
    _ = turn.gettext
    regions = access.review_regions()
    region = regions[0]
    if context.args:
        wanted = context.args[0].strip()
        if any(within(wanted, r) for r in regions):
            region = wanted
        else:
            await say(
                context,
                turn.chat_id,
                _("Wilayah {code} di luar wilayah tugas Anda. Laporan untuk {area}:").format(
                    code=wanted[:20], area=review.region_name(region)
                ),
            )
    report = await reporter.build(context.db, context.settings, region)
    for text in reporter.render(turn.tr, report, turn.tr.date(clock.today())):
        await say(context, turn.chat_id, text)
    png = await asyncio.to_thread(reporter.chart_png, turn.tr, report)
    await context.bot.send_photo(
        turn.chat_id,
        png,
        caption=_("Pengajuan per kecamatan, {area}").format(area=report.name),
    )
