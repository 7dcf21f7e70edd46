"""/kader for reviewers and admins: their open invite links, a new invite (region, desa, how
many cadres; its link and QR code), revoking one, and the submissions per cadre."""

from __future__ import annotations

import datetime as dt
import io
import logging
import secrets

import segno

from bot import clock
from bot.access import Access
from bot.context import JagaContext
from bot.registration import STATUS_WORDS, region_name
from handlers.cadres.common import (
    in_scope,
    is_desa,
    nav_row,
    now_iso,
    page_words,
    paged,
    region_rows,
)
from handlers.common import Button, Turn, columns, layout, say
from handlers.telegram.render import markup_of
from storage import cadres
from storage.registrations import Status

log = logging.getLogger(__name__)

PLACES = (1, 5, 10, 20)  # how many cadres an invite may admit (a district's desa have several)
DEFAULT_PLACES = 10


def new_code() -> str:
    """A fresh, unguessable invite code that fits a /start parameter."""
    return "k" + secrets.token_urlsafe(12)


async def reviewer_menu(context: JagaContext, turn: Turn, access: Access) -> None:
    _ = turn.gettext
    invites = await cadres.open_invites(context.db, access.review_regions(), now_iso())
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
    await say(context, turn.chat_id, "\n".join(lines), layout(rows))


async def pick_desa(
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
        await ask_places(context, turn, access, code)
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
    await say(context, turn.chat_id, text, layout(rows))


async def ask_places(context: JagaContext, turn: Turn, access: Access, desa: str) -> None:
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
        layout(rows),
    )


async def create_invite(
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
        reply_markup=markup_of(layout([[(_("Cabut tautan ini"), f"KDR X {invite.id}")]])),
    )
    log.info(
        "event=cadre_invite_created invite=%s desa=%s places=%s by=%s",
        invite.id,
        desa,
        places,
        turn.id,
    )


async def revoke(context: JagaContext, turn: Turn, access: Access, invite_id: int) -> None:
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


async def per_cadre(context: JagaContext, turn: Turn, access: Access, page: int = 0) -> None:
    """Lists each cadre in the reviewer's regions with their submissions by status, paged."""
    _ = turn.gettext
    lines: list[str] = []
    for region in access.review_regions():
        for entry in await cadres.counts_per_cadre(context.db, region):
            counts = entry.counts
            parts = [
                f"{_(words)} {turn.tr.number(counts[Status(status)])}"
                for status, words in STATUS_WORDS.items()
                if counts.get(Status(status))
            ]
            name = entry.name or _("tanpa nama (ID {id})").format(id=entry.telegram_id)
            lines.append(
                "• {name} ({desa}): {total}{detail}".format(
                    name=name[:40],
                    desa=region_name(entry.desa_code),
                    total=turn.tr.number(sum(counts.values())),
                    detail=" – " + ", ".join(parts) if parts else "",
                )
            )
    if not lines:
        lines.append(_("Belum ada kader di wilayah Anda."))
    shown = paged(_("Pendaftaran oleh kader:"), lines, "", page, page_words(turn))
    nav = nav_row("KDR REP", shown.page, shown.pages)
    await say(context, turn.chat_id, shown.text, layout([nav]) if nav else None)
