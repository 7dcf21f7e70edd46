"""/kader: invite links for reviewers and admins; for cadres, what they registered and what to fix.

An invite is a deep link t.me/<bot>?start=<code> (and its QR code). Whoever opens it confirms
their name and becomes a cadre of the link's desa; a link is used once, expires and can be
revoked. Callback data: `KDR R <code> [page]` browse regions, `KDR NEW <desa>` create an invite,
`KDR X <invite id>` revoke, `KDR OK <code>` / `KDR NM <code>` confirm or type the name,
`KDR ME` the cadre view, `KDR REP` submissions per cadre.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import secrets
from collections.abc import Callable

import segno
from telegram import Update

from bot import clock
from bot.access import Access, access_of, within
from bot.context import JagaContext
from bot.registration import STATUS_WORDS, check_name, children, region_name
from bot.reminders import desa_quota, quota_lines
from handlers.common import Button, Turn, answer_button, columns, inline, say
from storage import cadres, users

log = logging.getLogger(__name__)

FLOW = "kader"
_CODE = re.compile(r"k[A-Za-z0-9_-]{16}")
_PAGE = 30  # region buttons a page (a kecamatan can have 80 desa)
# Registration states as a cadre reads them (translated where shown).


def is_invite_code(value: str) -> bool:
    """Whether a /start parameter is a cadre invite code."""
    return _CODE.fullmatch(value) is not None


def new_code() -> str:
    """A fresh, unguessable invite code that fits a /start parameter."""
    return "k" + secrets.token_urlsafe(12)


def _now() -> str:
    return clock.utc_iso(clock.now())


def is_desa(code: str) -> bool:
    """Whether a region code is a desa/kelurahan (four levels: 12.10.19.1001)."""
    return code.count(".") == 3


def region_rows(
    code: str | None,
    roots: tuple[str, ...],
    page: int,
    open_data: Callable[[str], str],
    page_data: Callable[[int], str],
) -> list[list[Button]]:
    """Buttons for the regions under `code` (or the `roots` when None), a page at a time."""
    if code is None:
        options = [(region_name(r), r) for r in roots]
    else:
        options = [(w.name, w.code) for w in children(code)]
    start = page * _PAGE
    shown = options[start : start + _PAGE]
    rows = columns([(name, open_data(c)) for name, c in shown], 2)
    nav: list[Button] = []
    if page > 0:
        nav.append(("«", page_data(page - 1)))
    if start + _PAGE < len(options):
        nav.append(("»", page_data(page + 1)))
    if nav:
        rows.append(nav)
    return rows


def in_scope(access: Access, code: str) -> bool:
    """Whether a reviewer or admin may act for this region."""
    return any(within(code, r) for r in access.review_regions())


# --- /kader -----------------------------------------------------------------------------------


async def kader(update: Update, context: JagaContext) -> None:
    """Shows reviewers their invite links (and a way to make one), or a cadre their summary."""
    turn = await Turn.load(update, context)
    access = await access_of(context.db, context.settings, turn.id)
    if access.is_reviewer:
        await _reviewer_menu(context, turn, access)
    elif access.is_cadre:
        await _cadre_view(context, turn, access)
    else:
        _ = turn.gettext
        await say(
            context,
            turn.chat_id,
            _(
                "Menu ini untuk kader desa dan petugas dinas. Untuk menjadi kader desa, "
                "mintalah tautan undangan kepada petugas dinas tenaga kerja kabupaten Anda."
            ),
        )


async def _reviewer_menu(context: JagaContext, turn: Turn, access: Access) -> None:
    _ = turn.gettext
    invites = await cadres.open_invites(context.db, access.review_regions(), _now())
    lines = [_("Undangan kader desa.")]
    rows: list[list[Button]] = [[(_("Buat tautan undangan"), "KDR R -")]]
    if invites:
        lines.append(_("Tautan yang masih berlaku (tekan untuk mencabut):"))
        for invite in invites:
            until = dt.datetime.fromisoformat(invite.expires_at.replace("Z", "+00:00"))
            label = _("Cabut: {desa} (s.d. {date})").format(
                desa=region_name(invite.desa_code), date=turn.tr.date(until.astimezone(clock.WIB))
            )
            rows.append([(label, f"KDR X {invite.id}")])
    else:
        lines.append(_("Belum ada tautan undangan yang berlaku."))
    rows.append([(_("Pendaftaran per kader"), "KDR REP")])
    if access.is_cadre:
        rows.append([(_("Ringkasan kader saya"), "KDR ME")])
    await say(context, turn.chat_id, "\n".join(lines), inline(rows))


async def button(update: Update, context: JagaContext) -> None:
    """Handles every KDR button; role and scope are checked again on each press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    parts = query.data.split()
    action = parts[1] if len(parts) > 1 else ""
    if action in ("OK", "NM") and len(parts) == 3:
        await answer_button(query)
        await _confirm(update, context, turn, parts[2], typed=action == "NM")
        return
    access = await access_of(context.db, context.settings, turn.id)
    if action == "ME":
        await answer_button(query)
        if access.is_cadre:
            await _cadre_view(context, turn, access)
        else:
            await say(context, turn.chat_id, _("Anda bukan kader desa."))
        return
    if not access.is_reviewer:
        await answer_button(query, _("Menu ini hanya untuk petugas dinas."))
        return
    if action == "R" and len(parts) in (3, 4):
        await answer_button(query)
        page = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else 0
        await _pick_desa(context, turn, access, None if parts[2] == "-" else parts[2], page)
    elif action == "NEW" and len(parts) == 3:
        await answer_button(query)
        await _create_invite(context, turn, access, parts[2])
    elif action == "X" and len(parts) == 3 and parts[2].isdigit():
        await _revoke(context, turn, access, int(parts[2]))
        await answer_button(query)
    elif action == "REP":
        await answer_button(query)
        await _per_cadre(context, turn, access)
    else:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))


async def _pick_desa(
    context: JagaContext, turn: Turn, access: Access, code: str | None, page: int
) -> None:
    """Asks for the kabupaten, kecamatan, then desa of the new invite."""
    _ = turn.gettext
    roots = access.review_regions()
    if code is None and len(roots) == 1:
        code = roots[0]
    if code is not None and not in_scope(access, code):
        await say(context, turn.chat_id, _("Wilayah itu di luar wilayah tugas Anda."))
        return
    if code is not None and is_desa(code):
        await _create_invite(context, turn, access, code)
        return
    rows = region_rows(
        code,
        roots,
        page,
        lambda c: f"KDR NEW {c}" if is_desa(c) else f"KDR R {c}",
        lambda p: f"KDR R {code or '-'} {p}",
    )
    if code is None:
        text = _("Pilih wilayah:")
    else:
        text = _("Pilih desa untuk tautan undangan ({region}):").format(region=region_name(code))
    await say(context, turn.chat_id, text, inline(rows))


async def _create_invite(context: JagaContext, turn: Turn, access: Access, desa: str) -> None:
    """Makes an invite for a desa and sends its link and QR code, with a revoke button."""
    _ = turn.gettext
    if not is_desa(desa) or region_name(desa) == desa or not in_scope(access, desa):
        await say(context, turn.chat_id, _("Wilayah itu di luar wilayah tugas Anda."))
        return
    expires = clock.now() + dt.timedelta(days=context.settings.cadre_invite_days)
    invite = await cadres.create_invite(
        context.db, new_code(), desa, turn.id, clock.utc_iso(expires)
    )
    link = f"https://t.me/{context.bot.username}?start={invite.code}"
    caption = _(
        "Tautan undangan kader untuk Desa {desa}, berlaku sampai {date}:\n{link}\n\n"
        "Berikan tautan ini atau kode QR-nya hanya kepada calon kader. Tautan hanya bisa "
        "dipakai satu kali."
    ).format(desa=region_name(desa), date=turn.tr.date(expires.date()), link=link)
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=8, border=2)
    await context.bot.send_photo(
        turn.chat_id,
        png.getvalue(),
        caption=caption,
        reply_markup=inline([[(_("Cabut tautan ini"), f"KDR X {invite.id}")]]),
    )
    log.info("event=cadre_invite_created invite=%s desa=%s by=%s", invite.id, desa, turn.id)


async def _revoke(context: JagaContext, turn: Turn, access: Access, invite_id: int) -> None:
    _ = turn.gettext
    invite = await cadres.get_invite(context.db, invite_id)
    if invite is None or not in_scope(access, invite.desa_code):
        await say(context, turn.chat_id, _("Tautan itu tidak ditemukan di wilayah Anda."))
        return
    if await cadres.revoke_invite(context.db, invite_id):
        text = _("Tautan undangan untuk Desa {desa} sudah dicabut dan tidak bisa dipakai lagi.")
    else:
        text = _("Tautan undangan untuk Desa {desa} sudah dipakai atau sudah dicabut.")
    await say(context, turn.chat_id, text.format(desa=region_name(invite.desa_code)))


async def _per_cadre(context: JagaContext, turn: Turn, access: Access) -> None:
    """Lists each cadre in the reviewer's regions with their submissions by status."""
    _ = turn.gettext
    lines = [_("Pendaftaran oleh kader:")]
    for region in access.review_regions():
        for entry in await cadres.counts_per_cadre(context.db, region):
            counts = entry["counts"]
            parts = [
                f"{_(STATUS_WORDS[status])} {turn.tr.number(counts[status])}"
                for status in STATUS_WORDS
                if counts.get(status)
            ]
            lines.append(
                "• {name} ({desa}): {total}{detail}".format(
                    name=entry["name"],
                    desa=region_name(entry["desa_code"]),
                    total=turn.tr.number(sum(counts.values())),
                    detail=" – " + ", ".join(parts) if parts else "",
                )
            )
    if len(lines) == 1:
        lines.append(_("Belum ada kader di wilayah Anda."))
    await say(context, turn.chat_id, "\n".join(lines))


# --- the cadre's own view ---------------------------------------------------------------------


async def _cadre_view(context: JagaContext, turn: Turn, access: Access) -> None:
    """Shows a cadre, per desa, their submissions by state, those to fix (buttons), the quota."""
    _ = turn.gettext
    for desa in access.cadre_regions:
        counts = await cadres.registered_counts(context.db, turn.id, desa)
        lines = [
            _("Kader Desa {desa}").format(desa=region_name(desa)),
            _("Pekerja yang Anda daftarkan: {n}").format(n=turn.tr.number(sum(counts.values()))),
        ]
        lines += [
            f"• {_(label)}: {turn.tr.number(counts[status])}"
            for status, label in STATUS_WORDS.items()
            if counts.get(status)
        ]
        quotas = await desa_quota(context.db, desa, clock.today())
        if quotas:
            lines.append(_("Kuota pembiayaan:"))
            lines += ["• " + line for line in quota_lines(turn.tr, quotas)]
        else:
            lines.append(_("Belum ada program pembiayaan untuk desa ini."))
        fixes = await cadres.needing_fix(context.db, turn.id, desa)
        rows: list[list[Button]] = []
        if fixes:
            lines.append(_("Perlu diperbaiki (tekan untuk memperbaiki):"))
            rows = [[(f"{r['name']} ({r['ref']})"[:60], f"FIX {r['id']}")] for r in fixes]
        lines.append(_("Untuk mendaftarkan pekerja baru, ketik /daftar."))
        await say(context, turn.chat_id, "\n".join(lines), inline(rows) if rows else None)


# --- joining with an invite link ------------------------------------------------------------


async def open_invite(update: Update, context: JagaContext, code: str) -> None:
    """/start <code>: says which desa the invite is for and asks the person to confirm a name."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    invite = await cadres.invite_by_code(context.db, code)
    if invite is not None and invite.used_by == turn.id:
        await say(
            context,
            turn.chat_id,
            _(
                "Anda sudah menjadi kader Desa {desa}. Ketik /kader untuk melihat ringkasan."
            ).format(desa=region_name(invite.desa_code)),
        )
        return
    if invite is None or invite.state(_now()) != "open":
        await _invite_not_valid(context, turn)
        return
    tg_user = update.effective_user
    name = check_name(tg_user.full_name) if tg_user is not None else None
    text = _("Anda diundang menjadi kader desa untuk Desa {desa} ({place}).").format(
        desa=region_name(invite.desa_code), place=region_name(invite.desa_code[:8])
    )
    if name is None:
        await cadres.set_pending_invite(context.db, turn.id, code)
        await users.set_active_flow(context.db, turn.id, FLOW)
        await say(context, turn.chat_id, text + "\n\n" + _("Ketik nama lengkap Anda."))
        return
    # The name shown is the name confirmed, whatever the Telegram profile says by then.
    await cadres.set_pending_invite(context.db, turn.id, code, name)
    question = _("Apakah nama Anda {name}?").format(name=name)
    rows = [
        [(_("Ya, benar"), f"KDR OK {code}")],
        [(_("Bukan, saya ketik nama"), f"KDR NM {code}")],
    ]
    await say(context, turn.chat_id, text + "\n\n" + question, inline(rows))


async def _invite_not_valid(context: JagaContext, turn: Turn) -> None:
    _ = turn.gettext
    await say(
        context,
        turn.chat_id,
        _(
            "Tautan undangan ini sudah tidak berlaku (sudah dipakai, dicabut, atau kedaluwarsa). "
            "Mintalah tautan baru kepada petugas dinas. Ketik /start untuk ke menu."
        ),
    )


async def _confirm(
    update: Update, context: JagaContext, turn: Turn, code: str, *, typed: bool
) -> None:
    """Joins with the name shown, or asks for the name to be typed."""
    _ = turn.gettext
    invite = await cadres.invite_by_code(context.db, code)
    if invite is None or invite.state(_now()) != "open":
        if invite is not None and invite.used_by == turn.id:
            return  # a second press on the same button: already done
        await _invite_not_valid(context, turn)
        return
    pending = await cadres.pending_invite(context.db, turn.id)
    name = pending[1] if pending is not None and pending[0] == code else None
    if typed or name is None:
        await cadres.set_pending_invite(context.db, turn.id, code)
        await users.set_active_flow(context.db, turn.id, FLOW)
        await say(context, turn.chat_id, _("Ketik nama lengkap Anda."))
        return
    await _join(context, turn, code, name)


async def _join(context: JagaContext, turn: Turn, code: str, name: str) -> None:
    _ = turn.gettext
    invite = await cadres.join(context.db, code, turn.id, name, _now())
    await users.set_active_flow(context.db, turn.id, None)
    if invite is None:
        await _invite_not_valid(context, turn)
        return
    log.info("event=cadre_joined invite=%s desa=%s user=%s", invite.id, invite.desa_code, turn.id)
    await say(
        context,
        turn.chat_id,
        _(
            "Terima kasih, {name}. Anda sekarang kader Desa {desa}.\n\n"
            "Ketik /daftar untuk mendaftarkan pekerja, dan /kader untuk melihat siapa saja "
            "yang sudah Anda daftarkan."
        ).format(name=name, desa=region_name(invite.desa_code)),
    )


async def on_message(update: Update, context: JagaContext) -> None:
    """The typed name of a new cadre: checked, then the invite is used."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    pending = await cadres.pending_invite(context.db, turn.id)
    if pending is None:
        await users.set_active_flow(context.db, turn.id, None)
        await _invite_not_valid(context, turn)
        return
    code = pending[0]
    message = update.effective_message
    text = message.text if message is not None else None
    name = check_name(text) if text else None
    if name is None:
        await say(
            context,
            turn.chat_id,
            _(
                "Nama itu tidak bisa saya pakai. Ketik nama lengkap Anda dengan huruf, "
                "misalnya: Sari Lubis. Ketik /batal untuk berhenti."
            ),
        )
        return
    await _join(context, turn, code, name)


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Forgets the invite the person was typing their name for."""
    await cadres.set_pending_invite(context.db, telegram_id, None)
