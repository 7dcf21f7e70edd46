"""/kader: invite links for reviewers and admins; for cadres, what they registered and what to fix.

An invite is a deep link t.me/<bot>?start=<code> (and its QR code). Whoever opens it confirms
their name and becomes a cadre of the link's desa; a link admits the number of cadres chosen when
it was made (1 to 20), expires and can be revoked. Cadres imported by phone number
(`jaga import cadres`) claim their role here by sharing their contact. Callback data:
`KDR R <code> [page]` browse regions, `KDR NEW <desa> [places]` ask how many cadres / create an
invite, `KDR X <invite id>` revoke, `KDR OK <code>` / `KDR NM <code>` confirm or type the name,
`KDR ME [page]` the cadre view, `KDR REP [page]` submissions per cadre, `KDR SHEET` the
spreadsheet template; a cadre sends the filled template back as a document (`document`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import io
import json
import logging
import multiprocessing
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

import segno
from telegram import Document, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from bot import cadre_sheet, clock, menus
from bot.access import Access, access_of, within
from bot.context import JagaContext
from bot.contributions import ContributionTable, load_table, quote
from bot.crypto import FieldCipher, mask_nik
from bot.i18n import N_
from bot.patterns import linear
from bot.registration import (
    CONSENT_VERSION,
    STATUS_WORDS,
    check_name,
    check_phone,
    children,
    flags_for,
    reference,
    region_name,
)
from bot.reminders import desa_quota, quota_lines
from handlers.common import Button, Turn, answer_button, columns, inline, say
from storage import cadres, registrations, users
from storage import membership as membership_store

log = logging.getLogger(__name__)
T = TypeVar("T")

FLOW = "kader"
_CODE = linear(r"k[A-Za-z0-9_-]{16}")
_PAGE = 30  # region buttons a page (a kecamatan can have 80 desa)
PLACES = (1, 5, 10, 20)  # how many cadres an invite may admit (a district's desa have several)
DEFAULT_PLACES = 10
_LIMIT = 600  # characters a message at most: short enough to read slowly
# Spreadsheet rows stored per commit: one disk sync per batch, the write lock held briefly.
BATCH = 20
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
        await _cadre_view(context, turn, access, 0)
    elif await cadres.any_pending(context.db):
        await _offer_phone_claim(context, turn)
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
            label = _("Cabut: {desa}, sisa {left} dari {places} (s.d. {date})").format(
                desa=region_name(invite.desa_code),
                left=turn.tr.number(invite.places_left),
                places=turn.tr.number(invite.max_uses),
                date=turn.tr.date(until.astimezone(clock.WIB)),
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
    page = int(parts[-1]) if len(parts) > 2 and parts[-1].isdigit() else 0
    if action in ("ME", "SHEET"):
        await answer_button(query)
        if not access.is_cadre:
            await say(context, turn.chat_id, _("Anda bukan kader desa."))
        elif action == "SHEET":
            await _send_template(context, turn, access)
        else:
            await _cadre_view(context, turn, access, page)
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
        await _ask_places(context, turn, access, parts[2])
    elif action == "NEW" and len(parts) == 4 and parts[3].isdigit() and int(parts[3]) in PLACES:
        await answer_button(query)
        await _create_invite(context, turn, access, parts[2], int(parts[3]))
    elif action == "X" and len(parts) == 3 and parts[2].isdigit():
        await _revoke(context, turn, access, int(parts[2]))
        await answer_button(query)
    elif action == "REP":
        await answer_button(query)
        await _per_cadre(context, turn, access, page)
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
        await _ask_places(context, turn, access, code)
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


async def _ask_places(context: JagaContext, turn: Turn, access: Access, desa: str) -> None:
    """Asks how many cadres the new invite for a desa may admit (1, 5, 10 or 20)."""
    _ = turn.gettext
    if not is_desa(desa) or region_name(desa) == desa or not in_scope(access, desa):
        await say(context, turn.chat_id, _("Wilayah itu di luar wilayah tugas Anda."))
        return
    labels = {n: _("{n} orang").format(n=turn.tr.number(n)) for n in PLACES}
    labels[DEFAULT_PLACES] = _("{n} orang (biasa)").format(n=turn.tr.number(DEFAULT_PLACES))
    rows = columns([(labels[n], f"KDR NEW {desa} {n}") for n in PLACES], 2)
    await say(
        context,
        turn.chat_id,
        _(
            "Berapa calon kader Desa {desa} yang boleh bergabung dengan tautan ini? "
            "Setelah itu tautan tidak bisa dipakai lagi."
        ).format(desa=region_name(desa)),
        inline(rows),
    )


async def _create_invite(
    context: JagaContext, turn: Turn, access: Access, desa: str, places: int
) -> None:
    """Makes an invite for a desa and sends its link and QR code, with a revoke button."""
    _ = turn.gettext
    if not is_desa(desa) or region_name(desa) == desa or not in_scope(access, desa):
        await say(context, turn.chat_id, _("Wilayah itu di luar wilayah tugas Anda."))
        return
    expires = clock.now() + dt.timedelta(days=context.settings.cadre_invite_days)
    invite = await cadres.create_invite(
        context.db, new_code(), desa, turn.id, clock.utc_iso(expires), places
    )
    link = f"https://t.me/{context.bot.username}?start={invite.code}"
    if places == 1:
        who = _("Tautan hanya bisa dipakai satu kali.")
    else:
        who = _("Tautan bisa dipakai oleh {n} kader, masing-masing satu kali.").format(
            n=turn.tr.number(places)
        )
    caption = _(
        "Tautan undangan kader untuk Desa {desa}, berlaku sampai {date}:\n{link}\n\n"
        "Berikan tautan ini atau kode QR-nya hanya kepada calon kader."
    ).format(desa=region_name(desa), date=turn.tr.date(expires.date()), link=link)
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=8, border=2)
    await context.bot.send_photo(
        turn.chat_id,
        png.getvalue(),
        caption=caption + " " + who,
        reply_markup=inline([[(_("Cabut tautan ini"), f"KDR X {invite.id}")]]),
    )
    log.info(
        "event=cadre_invite_created invite=%s desa=%s places=%s by=%s",
        invite.id,
        desa,
        places,
        turn.id,
    )


async def _revoke(context: JagaContext, turn: Turn, access: Access, invite_id: int) -> None:
    _ = turn.gettext
    invite = await cadres.get_invite(context.db, invite_id)
    if invite is None or not in_scope(access, invite.desa_code):
        await say(context, turn.chat_id, _("Tautan itu tidak ditemukan di wilayah Anda."))
        return
    if await cadres.revoke_invite(context.db, invite_id):
        text = _("Tautan undangan untuk Desa {desa} sudah dicabut dan tidak bisa dipakai lagi.")
    else:
        text = _("Tautan undangan untuk Desa {desa} sudah penuh atau sudah dicabut.")
    await say(context, turn.chat_id, text.format(desa=region_name(invite.desa_code)))


@dataclass(frozen=True)
class Page:
    """One page of a long list: its text, its number, how many there are, the lines it shows."""

    text: str
    page: int
    pages: int
    shown: range


def paged(
    head: str, lines: list[str], foot: str, page: int, tr_page: Callable[[int, int], str]
) -> Page:
    """One page of a long list, every message at most 600 characters.

    The first page starts with `head`; each page ends with `foot` and, when there are several,
    `tr_page(page, pages)` (e.g. "Halaman 2 dari 3").
    """
    reserve = len(tr_page(999, 999)) + 2
    budget_first = _LIMIT - len(head) - len(foot) - reserve - 2
    budget_rest = _LIMIT - len(foot) - reserve - 2
    starts = [0]
    used = 0
    for index, line in enumerate(lines):
        budget = budget_first if len(starts) == 1 else budget_rest
        if index > starts[-1] and used + len(line) + 1 > budget:
            starts.append(index)
            used = 0
        used += len(line) + 1
    page = min(max(page, 0), len(starts) - 1)
    shown = range(starts[page], starts[page + 1] if page + 1 < len(starts) else len(lines))
    parts = ([head] if page == 0 and head else []) + [lines[i] for i in shown]
    if foot:
        parts.append(foot)
    if len(starts) > 1:
        parts.append(tr_page(page + 1, len(starts)))
    return Page("\n".join(parts)[:_LIMIT], page, len(starts), shown)


def _nav(data: str, page: int, pages: int) -> list[Button]:
    nav: list[Button] = []
    if page > 0:
        nav.append(("«", f"{data} {page - 1}"))
    if page + 1 < pages:
        nav.append(("»", f"{data} {page + 1}"))
    return nav


def _page_words(turn: Turn) -> Callable[[int, int], str]:
    _ = turn.gettext
    return lambda page, pages: _("Halaman {page} dari {pages}").format(
        page=turn.tr.number(page), pages=turn.tr.number(pages)
    )


async def _per_cadre(context: JagaContext, turn: Turn, access: Access, page: int = 0) -> None:
    """Lists each cadre in the reviewer's regions with their submissions by status, paged."""
    _ = turn.gettext
    lines: list[str] = []
    for region in access.review_regions():
        for entry in await cadres.counts_per_cadre(context.db, region):
            counts = entry["counts"]
            parts = [
                f"{_(STATUS_WORDS[status])} {turn.tr.number(counts[status])}"
                for status in STATUS_WORDS
                if counts.get(status)
            ]
            name = entry["name"] or _("tanpa nama (ID {id})").format(id=entry["telegram_id"])
            lines.append(
                "• {name} ({desa}): {total}{detail}".format(
                    name=name[:40],
                    desa=region_name(entry["desa_code"]),
                    total=turn.tr.number(sum(counts.values())),
                    detail=" – " + ", ".join(parts) if parts else "",
                )
            )
    if not lines:
        lines.append(_("Belum ada kader di wilayah Anda."))
    shown = paged(_("Pendaftaran oleh kader:"), lines, "", page, _page_words(turn))
    nav = _nav("KDR REP", shown.page, shown.pages)
    await say(context, turn.chat_id, shown.text, inline([nav]) if nav else None)


# --- the cadre's own view ---------------------------------------------------------------------


async def _cadre_view(context: JagaContext, turn: Turn, access: Access, page: int) -> None:
    """Shows a cadre every worker they registered (any desa) with its state, paged; the quota
    of their desa; and a button for each submission to fix."""
    _ = turn.gettext
    workers = await cadres.registered_by(context.db, turn.id)
    counts: dict[str, int] = {}
    for worker in workers:
        counts[worker["status"]] = counts.get(worker["status"], 0) + 1
    head = [
        _("Kader Desa {desa}").format(
            desa=", ".join(region_name(d) for d in access.cadre_regions[:3])
        ),
        _("Pekerja yang Anda daftarkan: {n}").format(n=turn.tr.number(len(workers))),
    ]
    head += [
        f"• {_(label)}: {turn.tr.number(counts[status])}"
        for status, label in STATUS_WORDS.items()
        if counts.get(status)
    ]
    for desa in access.cadre_regions[:3]:
        quotas = await desa_quota(context.db, desa, clock.today())
        if len(access.cadre_regions) > 1:
            head.append(region_name(desa) + ":")
        if quotas:
            head.append(_("Kuota pembiayaan:"))
            head += ["• " + line for line in quota_lines(turn.tr, quotas)]
        else:
            head.append(_("Belum ada program pembiayaan untuk desa ini."))
    own = set(access.cadre_regions)
    lines = []
    for worker in workers:
        where = "" if worker["desa_code"] in own else f" ({region_name(worker['desa_code'])})"
        lines.append(f"• {worker['name'][:40]}{where}: {_(STATUS_WORDS[worker['status']])}")
    if counts.get("perlu_perbaikan"):
        head.append(_("Daftar pekerja (tekan tombol di bawah untuk memperbaiki):"))
    elif lines:
        head.append(_("Daftar pekerja:"))
    shown = paged(
        "\n".join(head),
        lines,
        _("Untuk mendaftarkan pekerja baru, ketik /daftar."),
        page,
        _page_words(turn),
    )
    rows: list[list[Button]] = [
        [(f"{workers[i]['name']} ({workers[i]['ref']})"[:60], f"FIX {workers[i]['id']}")]
        for i in shown.shown
        if workers[i]["status"] == "perlu_perbaikan"
    ]
    nav = _nav("KDR ME", shown.page, shown.pages)
    if nav:
        rows.append(nav)
    # Register many workers offline: a spreadsheet to fill and send back (bot/cadre_sheet.py).
    rows.append([(_("Unduh formulir"), "KDR SHEET")])
    await say(context, turn.chat_id, shown.text, inline(rows))


# --- joining with an invite link ------------------------------------------------------------


async def open_invite(update: Update, context: JagaContext, code: str) -> None:
    """/start <code>: says which desa the invite is for and asks the person to confirm a name."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    invite = await cadres.invite_by_code(context.db, code)
    if invite is not None and await _already_cadre(context, turn, invite):
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


async def _already_cadre(context: JagaContext, turn: Turn, invite: cadres.Invite) -> bool:
    """Whether this person joined with this invite, or is a cadre of its desa already."""
    if await cadres.joined_with(context.db, invite.id, turn.id):
        return True
    access = await access_of(context.db, context.settings, turn.id)
    return invite.desa_code in access.cadre_regions


async def _invite_not_valid(context: JagaContext, turn: Turn) -> None:
    _ = turn.gettext
    await say(
        context,
        turn.chat_id,
        _(
            "Tautan undangan ini sudah tidak berlaku (sudah penuh, dicabut, atau kedaluwarsa). "
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
        if invite is not None and await cadres.joined_with(context.db, invite.id, turn.id):
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
    await _set_menu(context, turn.id)
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
    """The typed name of a new cadre, or the contact of an imported one; then the role."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    pending = await cadres.pending_invite(context.db, turn.id)
    message = update.effective_message
    if pending is not None and pending[0] == _PHONE_CLAIM:
        await _claim_by_phone(update, context, turn)
        return
    if pending is None:
        await users.set_active_flow(context.db, turn.id, None)
        await _invite_not_valid(context, turn)
        return
    code = pending[0]
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


# --- cadres imported by phone number --------------------------------------------------------

_PHONE_CLAIM = "phone"  # users.pending_invite while someone is asked for their contact


async def _offer_phone_claim(context: JagaContext, turn: Turn) -> None:
    """/kader without a role while imported cadres wait: asks for the person's own contact."""
    _ = turn.gettext
    await cadres.set_pending_invite(context.db, turn.id, _PHONE_CLAIM)
    await users.set_active_flow(context.db, turn.id, FLOW)
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(_("Kirim nomor HP saya"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await say(
        context,
        turn.chat_id,
        _(
            "Menu ini untuk kader desa dan petugas dinas. Jika dinas sudah mencatat nomor HP "
            "Anda sebagai kader, tekan tombol di bawah untuk mengirim nomor HP Anda. "
            "Jika belum, mintalah tautan undangan kepada petugas dinas. Ketik /batal untuk "
            "berhenti."
        ),
        keyboard,
    )


async def _claim_by_phone(update: Update, context: JagaContext, turn: Turn) -> None:
    """The shared contact: the cadre roles imported for that number are granted."""
    _ = turn.gettext
    message = update.effective_message
    contact = message.contact if message is not None else None
    if contact is None or contact.user_id != turn.id:
        await say(
            context,
            turn.chat_id,
            _(
                'Tekan tombol "Kirim nomor HP saya" untuk mengirim nomor HP Anda sendiri. '
                "Ketik /batal untuk berhenti."
            ),
        )
        return
    await cadres.set_pending_invite(context.db, turn.id, None)
    await users.set_active_flow(context.db, turn.id, None)
    phone = check_phone(contact.phone_number)
    found = []
    if phone is not None:
        phone_hash = context.cipher.lookup_hash("phone", phone)
        found = await cadres.claim_pending(context.db, phone_hash, turn.id)
    if not found:
        await say(
            context,
            turn.chat_id,
            _(
                "Nomor HP ini tidak tercatat sebagai kader. Mintalah tautan undangan kepada "
                "petugas dinas tenaga kerja kabupaten Anda."
            ),
            ReplyKeyboardRemove(),
        )
        return
    log.info("event=cadre_claimed_by_phone user=%s desa=%s", turn.id, len(found))
    await _set_menu(context, turn.id)
    await say(
        context,
        turn.chat_id,
        _(
            "Terima kasih, {name}. Anda sekarang kader Desa {desa}.\n\n"
            "Ketik /daftar untuk mendaftarkan pekerja, dan /kader untuk melihat siapa saja "
            "yang sudah Anda daftarkan."
        ).format(name=found[0][1], desa=", ".join(region_name(d) for d, _n in found)),
        ReplyKeyboardRemove(),
    )


async def _set_menu(context: JagaContext, telegram_id: int) -> None:
    await menus.set_menu(
        context.bot, context.db, context.settings, context.services.commands.values(), telegram_id
    )


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Forgets the invite the person was typing their name for."""
    await cadres.set_pending_invite(context.db, telegram_id, None)


# --- the spreadsheet: a template to fill offline, the filled file sent back ----------------------


async def _send_template(context: JagaContext, turn: Turn, access: Access) -> None:
    """Sends the XLSX template for the cadre's desa; the cadre fills it and sends it back."""
    _ = turn.gettext
    options = cadre_sheet.desa_options(access.cadre_regions)
    desa = next((code for code in access.cadre_regions if is_desa(code)), None)
    if desa is None or not options:
        await say(context, turn.chat_id, _("Formulir hanya tersedia untuk kader sebuah desa."))
        return
    start_worker()  # warm by the time the filled file comes back
    data = await asyncio.to_thread(cadre_sheet.template_file, turn.tr.language, options, desa)
    await context.bot.send_document(
        turn.chat_id,
        data,
        filename=f"formulir-jaga-pekerja-{desa.replace('.', '')}.xlsx",
        caption=_(
            "Formulir pendaftaran untuk Desa {desa}. Isi satu baris untuk satu pekerja (lihat "
            "lembar Petunjuk), lalu kirim file ini kembali ke sini. Sinyal tidak perlu saat "
            "mengisi."
        ).format(desa=region_name(desa)),
    )
    log.info("event=cadre_sheet_template user=%s desa=%s", turn.id, desa)


async def document(update: Update, context: JagaContext) -> None:
    """Reads a cadre's filled template: submits the checked rows with consent, then returns
    the file with a result per row and the counts; anyone else is told what files are for."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.effective_message
    sent_file = message.document if message is not None else None
    access = await access_of(context.db, context.settings, turn.id)
    if sent_file is None or not access.is_cadre:
        await say(
            context,
            turn.chat_id,
            _(
                "Terima kasih. Saya hanya membaca file formulir pendaftaran dari kader desa. "
                "Jika ada pertanyaan, silakan ketik saja, atau ketik /start untuk ke menu."
            ),
        )
        return
    problem = cadre_sheet.file_problem(
        sent_file.file_name, sent_file.mime_type, sent_file.file_size
    )
    if problem is not None:
        log.info("event=cadre_sheet_refused user=%s kind=%s", turn.id, problem.kind)
        await say(context, turn.chat_id, cadre_sheet.problem_text(problem, _, turn.tr.number))
        return
    if turn.id in _checking:
        await say(
            context,
            turn.chat_id,
            _("Formulir Anda sebelumnya masih diperiksa. Tunggu hasilnya, lalu kirim lagi."),
        )
        return
    # A thousand rows take seconds: checked beside the update, not within its time bound (the
    # cadre's next message is answered meanwhile). Errors still reach the error handler.
    _checking.add(turn.id)
    task = asyncio.get_running_loop().create_task(
        _check_and_submit(update, context, turn, access, sent_file)
    )
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


# Cadres whose file is being checked, and those checks (the tests and the bench await them).
_checking: set[int] = set()
_tasks: set[asyncio.Task[Any]] = set()


async def settled() -> None:
    """Waits until every file being checked is answered."""
    while _tasks:
        await asyncio.gather(*_tasks, return_exceptions=True)


async def _check_and_submit(
    update: Update, context: JagaContext, turn: Turn, access: Access, sent_file: Document
) -> None:
    """Checks a sent template, submits its rows, and answers with the counts and the file."""
    try:
        await _check_file(context, turn, access, sent_file)
    except Exception as exc:  # as for any handler: logged, the person and the admins told
        await context.application.process_error(update, exc)
    finally:
        _checking.discard(turn.id)


async def _check_file(
    context: JagaContext, turn: Turn, access: Access, sent_file: Document
) -> None:
    _ = turn.gettext
    number = turn.tr.number
    telegram_file = await context.bot.get_file(sent_file.file_id)
    data = bytes(await telegram_file.download_as_bytearray())
    today = clock.today()
    # Reading and checking hundreds of rows is CPU work: in a worker process.
    rows = await in_worker(
        cadre_sheet.check_file,
        data,
        turn.tr.language,
        today,
        context.settings.min_age,
        context.settings.max_age,
        cadre_sheet.desa_options(access.cadre_regions),
    )
    if isinstance(rows, cadre_sheet.FileProblem):
        log.info("event=cadre_sheet_refused user=%s kind=%s", turn.id, rows.kind)
        await say(context, turn.chat_id, cadre_sheet.problem_text(rows, _, number))
        return
    results, tally = await _submit_rows(context, turn, rows, today)
    out = await in_worker(cadre_sheet.result_file, data, results)
    lines = [
        _(
            "Hasil formulir: {sent} terkirim, {fix} perlu diperbaiki, {waiting} belum setuju."
        ).format(
            sent=number(tally["sent"]), fix=number(tally["fix"]), waiting=number(tally["waiting"])
        )
    ]
    if tally["already"]:
        lines.append(_("{n} baris sudah terkirim sebelumnya.").format(n=number(tally["already"])))
    if tally["fix"] or tally["waiting"]:
        lines.append(
            _(
                "Lihat kolom Hasil di file ini. Perbaiki barisnya, lalu kirim file ini lagi: "
                "baris yang sudah terkirim tidak dikirim dua kali."
            )
        )
    if tally["sent"]:
        lines.append(
            _("Petugas kabupaten akan memeriksanya. Ketik /kader untuk melihat statusnya.")
        )
    lines.append(_("File ini berisi data pribadi: simpan dengan aman."))
    await context.bot.send_document(
        turn.chat_id,
        out,
        filename=sent_file.file_name or "formulir-jaga-pekerja.xlsx",
        caption="\n\n".join(lines),
    )
    log.info(
        "event=cadre_sheet user=%s rows=%s sent=%s already=%s fix=%s waiting=%s",
        turn.id,
        len(rows),
        tally["sent"],
        tally["already"],
        tally["fix"],
        tally["waiting"],
    )


# The spreadsheet worker process: started once, in a background thread (it takes seconds).
_pool: Future[ProcessPoolExecutor] | None = None
_pool_lock = threading.Lock()


def start_worker() -> Future[ProcessPoolExecutor]:
    """Starts the spreadsheet worker process unless it runs or is starting; its future."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Future()
            threading.Thread(
                target=_start_pool, args=(_pool,), name="cadre-sheet-worker", daemon=True
            ).start()
        return _pool


def _start_pool(future: Future[ProcessPoolExecutor]) -> None:
    try:
        # forkserver: workers start from a clean process, not a copy of this threaded one.
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
        pool.submit(int).result()  # the worker process is up
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(pool)


async def in_worker(function: Callable[..., T], *args: Any) -> T:
    """Runs spreadsheet work (parsing, checking, writing XLSX) in the worker process.

    A thread would hold the GIL for most of it, and keep everyone else's replies waiting.
    """
    global _pool
    starting = start_worker()
    # shield: a cancelled caller must not cancel the start shared with later callers.
    pool = await asyncio.shield(asyncio.wrap_future(starting))
    try:
        return await asyncio.get_running_loop().run_in_executor(
            pool, functools.partial(function, *args)
        )
    except BrokenProcessPool:
        with _pool_lock:
            if _pool is starting:
                _pool = None  # a worker died (a file too big for memory): a fresh one next time
        raise


@dataclass(frozen=True)
class _Sealed:
    """A checked worker's NIK and phone as stored: keyed hashes and encrypted values."""

    nik_hash: str
    nik_enc: bytes
    phone_hash: str | None
    phone_enc: bytes | None


def _seal(cipher: FieldCipher, workers: list[cadre_sheet.Worker]) -> list[_Sealed]:
    return [
        _Sealed(
            cipher.lookup_hash("nik", w.nik),
            cipher.encrypt(w.nik),
            cipher.lookup_hash("phone", w.phone) if w.phone else None,
            cipher.encrypt(w.phone) if w.phone else None,
        )
        for w in workers
    ]


async def _submit_rows(
    context: JagaContext, turn: Turn, rows: list[cadre_sheet.Row], today: dt.date
) -> tuple[dict[int, tuple[bool, str]], dict[str, int]]:
    """Submits every checked row with consent, one transaction each (a restart goes on where it
    stopped: a NIK already submitted by this cadre is reported, never doubled)."""
    _ = turn.gettext
    settings = context.settings
    results: dict[int, tuple[bool, str]] = {}
    tally = {"sent": 0, "already": 0, "fix": 0, "waiting": 0}
    checked = [row for row in rows if row.worker is not None]
    sealed = await asyncio.to_thread(
        _seal, context.cipher, [row.worker for row in checked if row.worker is not None]
    )
    # One query per few hundred rows, not one per row.
    live = await registrations.live_by_nik_hashes(context.db, [s.nik_hash for s in sealed])
    phones = await registrations.phones_in_use(
        context.db, [s.phone_hash for s in sealed if s.phone_hash]
    )
    # A BPJS member with no live registration here is refused as the chat refuses the NIK
    # (handlers/registration.py `_nik_taken`): as the cadre's registration, /status would show
    # the cadre the member's record. Only an account linked to that member may register it.
    members = await membership_store.members_among(
        context.db, [s.nik_hash for s in sealed if s.nik_hash not in live]
    )
    members.discard(await membership_store.linked_nik_hash(context.db, turn.id) or "")
    for row in rows:
        if row.problems:
            tally["fix"] += 1
            results[row.number] = (
                False,
                _("Perlu diperbaiki: {problems}").format(problems=" ".join(row.problems)),
            )
        elif not row.consent:
            tally["waiting"] += 1
            results[row.number] = (
                False,
                _("Belum setuju, tidak dikirim. Tulis ya jika orang itu sudah setuju."),
            )
    table = load_table()
    consent_at = clock.utc_iso(clock.now())
    batch: list[tuple[int, dict[str, Any], list[str]]] = []
    for row, seal in zip(checked, sealed, strict=True):
        worker = row.worker
        assert worker is not None
        existing = live.get(seal.nik_hash)
        if existing is not None:
            if existing["operator_id"] == turn.id:
                tally["already"] += 1
                results[row.number] = (
                    True,
                    _("Sudah terkirim sebelumnya: {ref}").format(ref=existing["ref"]),
                )
            else:
                tally["fix"] += 1
                results[row.number] = (False, _(_SUBMITTED_ELSEWHERE))
            continue
        if seal.nik_hash in members:
            # The same words as a NIK registered by someone else: nothing tells the two apart.
            tally["fix"] += 1
            results[row.number] = (False, _(_SUBMITTED_ELSEWHERE))
            continue
        fields = _fields(worker, seal, table, consent_at, today)
        flags = flags_for(
            {
                **fields,
                "flags": json.dumps(list(worker.flags)),
                "scratch": json.dumps({"nik_district_unknown": True})
                if "nik_district_unknown" in worker.flags
                else "{}",
            },
            duplicate_phone=seal.phone_hash is not None and seal.phone_hash in phones,
            today=today,
            min_age=settings.min_age,
            max_age=settings.max_age,
        )
        if seal.phone_hash:
            phones.add(seal.phone_hash)  # a second row with this phone is flagged too
        batch.append((row.number, fields, flags))
        if len(batch) >= BATCH:
            await _write_batch(context, turn, batch, results, tally)
            batch = []
    if batch:
        await _write_batch(context, turn, batch, results, tally)
    return results, tally


async def _write_batch(
    context: JagaContext,
    turn: Turn,
    batch: list[tuple[int, dict[str, Any], list[str]]],
    results: dict[int, tuple[bool, str]],
    tally: dict[str, int],
) -> None:
    """Stores a batch of checked rows in one commit (each row whole or not at all)."""
    _ = turn.gettext
    done = await registrations.insert_submitted(
        context.db,
        turn.id,
        [
            (
                fields,
                json.dumps(flags),
                functools.partial(_reference, kabupaten=fields["kabupaten_code"]),
            )
            for _number, fields, flags in batch
        ],
        actor=str(turn.id),
    )
    for (number, _fields, flags), stored in zip(batch, done, strict=True):
        if stored is None:  # submitted by someone else since the file was read
            tally["fix"] += 1
            results[number] = (False, _(_SUBMITTED_ELSEWHERE))
            continue
        registration_id, ref = stored
        tally["sent"] += 1
        results[number] = (True, _("Terkirim: {ref}").format(ref=ref))
        log.info(
            "event=registration_submitted registration=%s ref=%s flags=%s source=sheet",
            registration_id,
            ref,
            ",".join(flags),
        )


_SUBMITTED_ELSEWHERE = N_(
    "NIK ini sudah didaftarkan sebelumnya lewat orang lain. Hapus baris ini, atau tanyakan ke "
    "petugas kabupaten."
)


def _reference(registration_id: int, *, kabupaten: str) -> str:
    return reference(registration_id, kabupaten)


def _fields(
    worker: cadre_sheet.Worker,
    seal: _Sealed,
    table: ContributionTable,
    consent_at: str,
    today: dt.date,
) -> dict[str, Any]:
    """The registration columns of a checked row, as the chat stores them after its questions."""
    desa = worker.desa_code
    self_paid = worker.payer == "sendiri"
    return {
        "for_self": 0,
        "consent_version": CONSENT_VERSION,
        "consent_at": consent_at,
        "nik_enc": seal.nik_enc,
        "nik_hash": seal.nik_hash,
        "nik_masked": mask_nik(worker.nik),
        "name": worker.name,
        "birth_date": worker.birth_date.isoformat(),
        "sex": worker.sex,
        "mother_name": worker.mother_name,
        "phone_enc": seal.phone_enc,
        "phone_hash": seal.phone_hash,
        "kabupaten_code": desa[:5],
        "kecamatan_code": desa[:8],
        "desa_code": desa,
        "occupation": worker.occupation,
        "occupation_other": worker.occupation_other,
        "income": worker.income,
        "income_base": table.bracket_for(worker.income).base,
        "table_version": table.version,
        "programs": worker.programs,
        # What the chat stores: the normal monthly amount, before any discount.
        "monthly_contribution": quote(
            worker.income, worker.programs, None, "program", today
        ).normal,
        "pay_period_months": worker.period if self_paid else None,
        "payer": worker.payer,
        "sumber_iuran": "mandiri" if self_paid else None,
        "heir_name": worker.heir_name,
        "heir_relation": worker.heir_relation if worker.heir_name else None,
    }
