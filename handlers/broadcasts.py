"""/siaran: reviewers and admins write a broadcast, choose its audience, preview, send or schedule.

The draft is a `broadcasts` row, each answer committed before the next question. Confirmed, it
becomes one outbox row per recipient, sent by the paced sender (bot/outbox.py), which edits the
author's progress line and sends a final report. /berhenti and /mulai stop and resume
broadcasts for anyone. Callback data: `SIA NEW`, `SIA W <id> <audience>`, `SIA S <id> <state>`,
`SIA R <id> <code|-> [page]` (browse), `SIA RA <id> <code>` (choose), `SIA T <id>` (pick a
day), `SIA D <id> <yyyymmdd>` (pick an hour), `SIA H <id> <yyyymmdd> <hh>`, `SIA GO <id>`,
`SIA E <id>` (edit the text), `SIA DEL <id>`, `SIA C <id>` (cancel a scheduled one).
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, MessageLimit

from bot import clock
from bot.access import Access, access_of
from bot.context import JagaContext
from bot.i18n import N_
from bot.registration import CHAT_FILLER, normalise, region_name
from bot.review import typed_regions
from handlers.cadres import in_scope, is_desa, region_rows
from handlers.common import Button, Turn, answer_button, columns, layout, say
from storage import outbox, users
from storage.outbox import Broadcast

log = logging.getLogger(__name__)

FLOW = "siaran"
# What /batal says while a broadcast is being written: its unsent draft is thrown away.
CANCEL_TEXT = N_(
    "Dibatalkan. Draf siaran yang belum dikirim sudah dibuang. Ketik /start untuk ke menu."
)
_AUDIENCE_LABELS = {
    "cadres": N_("Kader desa"),
    "workers": N_("Pekerja terdaftar"),
    "all": N_("Kader dan pekerja"),
}
_STATE_LABELS = {
    "any": N_("Semua pekerja"),
    "perlu_perbaikan": N_("Yang perlu memperbaiki data"),
    "diajukan": N_("Yang menunggu ditinjau"),
    "disetujui": N_("Yang sudah disetujui"),
    "terdaftar": N_("Yang sudah terdaftar di BPJS"),
    "ditolak": N_("Yang ditolak"),
}
_HOURS = range(7, 21)  # hours offered for a scheduled broadcast (WIB)
_DAYS_AHEAD = 7


def _now() -> str:
    return outbox.stamp(clock.now())


# --- /siaran ----------------------------------------------------------------------------------


async def siaran(update: Update, context: JagaContext) -> None:
    """Lists the author's recent broadcasts with their counts and offers to write a new one."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_reviewer:
        await say(
            context,
            turn.chat_id,
            _("Siaran hanya bisa dikirim oleh petugas dinas. Ketik /start untuk ke menu."),
        )
        return
    items = await outbox.recent(context.db, turn.id)
    lines = (
        [_("Siaran Anda yang terakhir:")] if items else [_("Anda belum pernah mengirim siaran.")]
    )
    rows: list[list[Button]] = [[(_("Tulis siaran baru"), "SIA NEW")]]
    for item in items:
        lines.append(_status_line(turn, item))
        if item.status == "scheduled":
            rows.append([(_("Batalkan siaran #{id}").format(id=item.id), f"SIA C {item.id}")])
    await say(context, turn.chat_id, "\n".join(lines), layout(rows))


def _status_line(turn: Turn, item: Broadcast) -> str:
    _ = turn.gettext
    c = item.counts
    status = {
        "scheduled": _("dijadwalkan {when}").format(when=_when(turn, item.send_at)),
        "sending": _("sedang dikirim"),
        "done": _("selesai"),
        "cancelled": _("dibatalkan"),
    }.get(item.status, item.status)
    return _(
        "• #{id} ({status}): {recipients} penerima – terkirim {sent}, gagal {failed}, "
        "memblokir {blocked}"
    ).format(
        id=item.id,
        status=status,
        recipients=turn.tr.number(item.recipients),
        sent=turn.tr.number(c["sent"]),
        failed=turn.tr.number(c["failed"]),
        blocked=turn.tr.number(c["blocked"]),
    )


def _when(turn: Turn, stamp: str | None) -> str:
    if not stamp:
        return ""
    local = outbox.parse_stamp(stamp).astimezone(clock.WIB)
    return f"{turn.tr.date(local.date())} {local:%H:%M} WIB"


async def button(update: Update, context: JagaContext) -> None:
    """Handles every SIA button: role, scope and the draft's state are checked on each press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_reviewer:
        await answer_button(query, _("Siaran hanya bisa dikirim oleh petugas dinas."))
        return
    parts = query.data.split()[1:]
    if parts == ["NEW"]:
        await answer_button(query)
        await _new(context, turn)
        return
    if len(parts) < 2 or not parts[1].isdigit():
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    action, broadcast_id, args = parts[0], int(parts[1]), parts[2:]
    if action == "C":
        await answer_button(query)
        await _cancel_scheduled(context, turn, broadcast_id)
        return
    draft = await outbox.draft_of(context.db, turn.id)
    if draft is None or draft.id != broadcast_id:
        await answer_button(query, _("Draf siaran ini sudah dikirim atau dibuang."))
        return
    await answer_button(query)
    handlers = {
        "W": _audience,
        "S": _state,
        "R": _browse,
        "RA": _region,
        "T": _pick_day,
        "D": _pick_hour,
        "H": _schedule,
        "GO": _go,
        "E": _edit_text,
        "DEL": _discard,
    }
    handler = handlers.get(action)
    if handler is None:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    await handler(context, turn, access, draft, args)


async def _new(context: JagaContext, turn: Turn) -> None:
    """Starts a draft and asks for the message."""
    await outbox.new_draft(context.db, turn.id, "text", flow=FLOW)
    await _ask_text(context, turn)


async def _ask_text(context: JagaContext, turn: Turn) -> None:
    _ = turn.gettext
    await say(
        context,
        turn.chat_id,
        _(
            "Tulis pesan siaran Anda dalam satu pesan (teks saja). Penerima akan membacanya "
            "persis seperti yang Anda tulis. Ketik /batal untuk membatalkan."
        ),
    )


async def on_message(update: Update, context: JagaContext) -> None:
    """The broadcast's text: stored, then the audience is asked."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    draft = await outbox.draft_of(context.db, turn.id)
    if draft is None:
        await users.set_active_flow(context.db, turn.id, None)
        await say(context, turn.chat_id, _("Tidak ada draf siaran. Ketik /siaran untuk mulai."))
        return
    message = update.effective_message
    if draft.step != "text":  # a choice typed instead of pressed
        access = await access_of(context.db, context.settings, turn.id)
        typed = (message.text or "") if message is not None else ""
        await _typed_choice(context, turn, access, draft, typed)
        return
    text = (message.text or "").strip() if message is not None else ""
    if not text:
        await say(
            context,
            turn.chat_id,
            _("Siaran hanya bisa berupa teks. Tulis pesan Anda, atau ketik /batal."),
        )
        return
    if len(text) > MessageLimit.MAX_TEXT_LENGTH:
        await say(
            context,
            turn.chat_id,
            _(
                "Pesan terlalu panjang ({n} huruf, paling banyak {max}). Tulis yang lebih pendek."
            ).format(
                n=turn.tr.number(len(text)), max=turn.tr.number(MessageLimit.MAX_TEXT_LENGTH)
            ),
        )
        return
    await outbox.update_draft(context.db, draft.id, text=text, step="audience")
    # The flow stays: the audience, the workers, the region may be typed instead of pressed.
    await _ask_audience(context, turn, draft.id)


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow, discarding the author's unsent draft."""
    await outbox.delete_draft(context.db, telegram_id, flow=None)


async def _ask_audience(context: JagaContext, turn: Turn, broadcast_id: int) -> None:
    _ = turn.gettext
    rows = [[(_(label), f"SIA W {broadcast_id} {key}")] for key, label in _AUDIENCE_LABELS.items()]
    rows.append([(_("Batal"), f"SIA DEL {broadcast_id}")])
    await say(context, turn.chat_id, _("Siaran ini untuk siapa?"), layout(rows))


async def _audience(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Stores the audience; asks which workers, or where."""
    if len(args) != 1 or args[0] not in outbox.AUDIENCES:
        await _ask_audience(context, turn, draft.id)
        return
    audience = args[0]
    if audience == "cadres":
        await outbox.update_draft(
            context.db, draft.id, audience=audience, worker_state=None, step="region"
        )
        await _ask_region(context, turn, access, draft.id, None, 0)
        return
    await outbox.update_draft(context.db, draft.id, audience=audience, step="state")
    _ = turn.gettext
    rows = [[(_(label), f"SIA S {draft.id} {key}")] for key, label in _STATE_LABELS.items()]
    await say(context, turn.chat_id, _("Pekerja yang mana?"), layout(rows))


async def _state(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Stores which workers; asks where."""
    if len(args) != 1 or args[0] not in outbox.WORKER_STATES or not draft.audience:
        await _ask_audience(context, turn, draft.id)
        return
    await outbox.update_draft(context.db, draft.id, worker_state=args[0], step="region")
    await _ask_region(context, turn, access, draft.id, None, 0)


async def _ask_region(
    context: JagaContext,
    turn: Turn,
    access: Access,
    broadcast_id: int,
    code: str | None,
    page: int,
) -> None:
    """Offers the whole of a region (within the author's scope) or one of its parts."""
    _ = turn.gettext
    roots = access.review_regions()
    if code is None and len(roots) == 1:
        code = roots[0]
    rows: list[list[Button]] = []
    if code is not None:
        rows.append(
            [
                (
                    _("Seluruh {region}").format(region=region_name(code)),
                    f"SIA RA {broadcast_id} {code}",
                )
            ]
        )
    rows += region_rows(
        code,
        roots,
        page,
        lambda c: f"SIA RA {broadcast_id} {c}" if is_desa(c) else f"SIA R {broadcast_id} {c}",
        lambda p: f"SIA R {broadcast_id} {code or '-'} {p}",
    )
    await say(context, turn.chat_id, _("Kirim ke wilayah mana?"), layout(rows))


async def _browse(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Shows the parts of a region to choose from."""
    if not args or not draft.audience:
        await _ask_audience(context, turn, draft.id)
        return
    code = None if args[0] == "-" else args[0]
    if code is not None and not in_scope(access, code):
        await say(context, turn.chat_id, turn.gettext("Wilayah itu di luar wilayah tugas Anda."))
        return
    page = int(args[1]) if len(args) > 1 and args[1].isdigit() else 0
    await _ask_region(context, turn, access, draft.id, code, page)


async def _region(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Stores the region (re-checked against the author's scope) and shows the preview."""
    if len(args) != 1 or not draft.audience:
        await _ask_audience(context, turn, draft.id)
        return
    if not in_scope(access, args[0]):
        await say(context, turn.chat_id, turn.gettext("Wilayah itu di luar wilayah tugas Anda."))
        return
    await outbox.update_draft(context.db, draft.id, region_code=args[0], step="preview")
    await _preview(context, turn, draft.model_copy(update={"region_code": args[0]}))


async def _preview(context: JagaContext, turn: Turn, draft: Broadcast) -> None:
    """Shows the message as recipients will see it, how many will get it, and the choices."""
    _ = turn.gettext
    if not draft.text or not draft.audience or not draft.region_code:
        await _ask_audience(context, turn, draft.id)
        return
    counts = await outbox.count_recipients(
        context.db, draft.audience, draft.worker_state, draft.region_code
    )
    bid = draft.id
    # The message exactly as recipients will read it, then what it is, in one more message.
    await say(context, turn.chat_id, draft.text)
    audience_label = _AUDIENCE_LABELS[draft.audience]
    audience = _(audience_label)
    if draft.audience != "cadres":
        state_label = _STATE_LABELS[draft.worker_state or "any"]
        audience += " – " + _(state_label).lower()
    lines = [
        _("Pratinjau siaran di atas, persis seperti yang akan dibaca penerima."),
        _("Untuk: {audience}").format(audience=audience),
        _("Wilayah: {region}").format(region=region_name(draft.region_code)),
        _("Penerima: {n} orang ({cadres} kader, {workers} pekerja).").format(
            n=turn.tr.number(counts["all"]),
            cadres=turn.tr.number(counts["cadres"]),
            workers=turn.tr.number(counts["workers"]),
        ),
    ]
    rows: list[list[Button]] = []
    if counts["all"] == 0:
        lines.append(_("Tidak ada penerima untuk pilihan ini. Pilih penerima atau wilayah lain."))
        rows.append([(_("Ganti penerima"), f"SIA W {bid} -")])
    elif draft.send_at:
        lines.append(_("Dijadwalkan: {when}").format(when=_when(turn, draft.send_at)))
        rows.append([(_("Jadwalkan siaran"), f"SIA GO {bid}")])
        rows.append([(_("Ganti waktu"), f"SIA T {bid}")])
    else:
        rows.append([(_("Kirim sekarang"), f"SIA GO {bid}")])
        rows.append([(_("Jadwalkan"), f"SIA T {bid}")])
    rows.append([(_("Ubah pesan"), f"SIA E {bid}"), (_("Batal"), f"SIA DEL {bid}")])
    await say(context, turn.chat_id, "\n".join(lines), layout(rows))


async def _pick_day(
    context: JagaContext,
    turn: Turn,
    access: Access,
    draft: Broadcast,
    args: list[str],
    lead: str = "",
) -> None:
    """Asks for the day to send (WIB); `lead`: why it is asked again, in the same message."""
    _ = turn.gettext
    today = clock.today()
    buttons: list[Button] = []
    for offset in range(_DAYS_AHEAD):
        day = today + dt.timedelta(days=offset)
        if offset == 0 and clock.now().hour >= _HOURS[-1]:
            continue  # too late today for any offered hour
        label = {0: _("Hari ini"), 1: _("Besok")}.get(offset, turn.tr.date(day))
        buttons.append((label, f"SIA D {draft.id} {day:%Y%m%d}"))
    question = _("Kirim pada hari apa?")
    text = f"{lead} {question}" if lead else question
    await say(context, turn.chat_id, text, layout(columns(buttons, 2)))


def _day_of(value: str) -> dt.date | None:
    try:
        day = dt.datetime.strptime(value, "%Y%m%d").replace(tzinfo=clock.WIB).date()
    except ValueError:
        return None
    today = clock.today()
    return day if today <= day < today + dt.timedelta(days=_DAYS_AHEAD) else None


async def _pick_hour(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Asks for the hour to send (WIB) on the chosen day."""
    _ = turn.gettext
    day = _day_of(args[0]) if args else None
    if day is None:
        await _pick_day(context, turn, access, draft, [])
        return
    now = clock.now()
    buttons = [
        (f"{hour:02d}:00", f"SIA H {draft.id} {day:%Y%m%d} {hour}")
        for hour in _HOURS
        if dt.datetime.combine(day, dt.time(hour), clock.WIB) > now
    ]
    await say(
        context,
        turn.chat_id,
        _("Jam berapa (WIB) pada {date}?").format(date=turn.tr.date(day)),
        layout(columns(buttons, 4)),
    )


async def _schedule(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Stores the chosen time and shows the preview again to confirm."""
    day = _day_of(args[0]) if args else None
    hour = int(args[1]) if len(args) == 2 and args[1].isdigit() else -1
    if day is None or hour not in _HOURS:
        await _pick_day(context, turn, access, draft, [])
        return
    moment = dt.datetime.combine(day, dt.time(hour), clock.WIB)
    if moment <= clock.now():
        await _pick_day(context, turn, access, draft, [], turn.gettext("Waktu itu sudah lewat."))
        return
    send_at = outbox.stamp(moment)
    await outbox.update_draft(context.db, draft.id, send_at=send_at)
    await _preview(context, turn, draft.model_copy(update={"send_at": send_at}))


async def _go(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Queues the broadcast: one outbox row per recipient, then the progress line."""
    _ = turn.gettext
    if not draft.text or not draft.audience or not draft.region_code:
        await _ask_audience(context, turn, draft.id)
        return
    if not in_scope(access, draft.region_code):
        await say(context, turn.chat_id, _("Wilayah itu di luar wilayah tugas Anda."))
        return
    now = _now()
    send_at = draft.send_at if draft.send_at and draft.send_at > now else now
    # Once queued there is nothing more to type for it: the author leaves the flow with it.
    recipients = await outbox.queue(context.db, draft.id, send_at, now, flow=None)
    if recipients is None:
        await say(context, turn.chat_id, _("Draf siaran ini sudah dikirim atau dibuang."))
        return
    if send_at > now:
        text = _(
            "Siaran #{id} dijadwalkan {when} untuk {n} penerima. Ketik /siaran untuk melihat "
            "atau membatalkannya."
        ).format(id=draft.id, when=_when(turn, send_at), n=turn.tr.number(recipients))
    else:
        text = _(
            "Siaran #{id} masuk antrean untuk {n} penerima. Pesan ini akan diperbarui selama "
            "pengiriman."
        ).format(id=draft.id, n=turn.tr.number(recipients))
    message = await say(context, turn.chat_id, text)
    await outbox.set_progress_message(context.db, draft.id, turn.chat_id, message.message_id)
    log.info(
        "event=broadcast_queued id=%s recipients=%s scheduled=%s",
        draft.id,
        recipients,
        send_at > now,
    )
    if context.services.outbox is not None:
        context.services.outbox.wake()


async def _edit_text(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Asks for the message again (the audience and region chosen so far are kept)."""
    await outbox.update_draft(context.db, draft.id, author_id=turn.id, flow=FLOW, step="text")
    await _ask_text(context, turn)


async def _discard(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, args: list[str]
) -> None:
    """Throws the draft away."""
    await outbox.delete_draft(context.db, turn.id, flow=None)
    await say(context, turn.chat_id, turn.gettext("Draf siaran dibuang."))


async def _cancel_scheduled(context: JagaContext, turn: Turn, broadcast_id: int) -> None:
    """Cancels the author's scheduled broadcast before it starts."""
    _ = turn.gettext
    item = await outbox.get(context.db, broadcast_id)
    if item is None or item.author_id != turn.id:
        await say(context, turn.chat_id, _("Siaran itu tidak ditemukan."))
        return
    if await outbox.cancel(context.db, broadcast_id) is None:
        await say(
            context,
            turn.chat_id,
            _("Siaran #{id} sudah mulai dikirim atau sudah dibatalkan.").format(id=broadcast_id),
        )
        return
    await say(context, turn.chat_id, _("Siaran #{id} dibatalkan.").format(id=broadcast_id))


# --- choices typed instead of pressed -------------------------------------------------------

# Words for each audience and worker group (normalised; "kader" alone is the cadres).
_AUDIENCE_WORDS = {
    "cadres": {"kader", "kader desa", "para kader", "cadres"},
    "workers": {"pekerja", "pekerja terdaftar", "peserta", "workers"},
    "all": {"semua", "kader dan pekerja", "semuanya", "dua duanya", "keduanya", "all"},
}
_STATE_WORDS = {
    "any": {"semua", "semua pekerja", "semuanya"},
    "perlu_perbaikan": {"perbaikan", "perlu perbaikan", "perbaiki", "yang perlu memperbaiki data"},
    "diajukan": {"menunggu", "diajukan", "menunggu ditinjau", "yang menunggu ditinjau"},
    "disetujui": {"disetujui", "setuju", "yang sudah disetujui"},
    "terdaftar": {"terdaftar", "sudah terdaftar", "terdaftar di bpjs"},
    "ditolak": {"ditolak", "tolak", "yang ditolak"},
}
_PREVIEW_WORDS = {
    "GO": {"kirim", "kirim sekarang", "kirimkan", "ya kirim", "jadwalkan siaran", "ya"},
    "T": {"jadwalkan", "jadwal", "ganti waktu", "nanti"},
    "E": {"ubah", "ubah pesan", "edit", "ganti pesan"},
    "DEL": {"batal", "buang", "hapus"},
}
_WHOLE = {"seluruh", "semua", "semua wilayah", "seluruh wilayah", "seluruhnya", "semuanya"}


def _said(text: str) -> str:
    """A typed answer without punctuation, case and chat filler ("kader aja bang": "kader")."""
    words = [w for w in normalise(text).split() if w not in CHAT_FILLER and w != "aja"]
    return " ".join(words)


def _word_for(said: str, words: dict[str, set[str]]) -> str | None:
    return next((key for key, forms in words.items() if said in forms), None)


async def _typed_choice(
    context: JagaContext, turn: Turn, access: Access, draft: Broadcast, text: str
) -> None:
    """Takes a typed audience, group of workers, place or preview choice as its press; when
    nothing matches, says in one line which words work."""
    _ = turn.gettext
    if not access.is_reviewer:
        await users.set_active_flow(context.db, turn.id, None)
        await say(context, turn.chat_id, _("Siaran hanya bisa dikirim oleh petugas dinas."))
        return
    said = _said(text)
    step = draft.step
    if step == "audience":
        audience = _word_for(said, _AUDIENCE_WORDS)
        if audience is not None:
            await _audience(context, turn, access, draft, [audience])
            return
        hint = _("Ketik kader, pekerja, atau semua. Atau tekan tombol di atas.")
    elif step == "state":
        state = _word_for(said, _STATE_WORDS)
        if state is not None:
            await _state(context, turn, access, draft, [state])
            return
        hint = _(
            "Ketik semua, perbaikan, menunggu, disetujui, terdaftar, atau ditolak. "
            "Atau tekan tombol di atas."
        )
    elif step == "region":
        roots = access.review_regions()
        if _said(text) in _WHOLE and len(roots) == 1:
            codes = [roots[0]]
        else:
            codes = [c for c in typed_regions(roots, text) if in_scope(access, c)]
        if len(codes) == 1:
            await _region(context, turn, access, draft, codes)
            return
        if codes:
            rows = [[(region_name(c), f"SIA RA {draft.id} {c}")] for c in codes[:6]]
            await say(context, turn.chat_id, _("Maksud Anda yang mana?"), layout(rows))
            return
        hint = _("Wilayah itu tidak ditemukan. Ketik nama desa atau kecamatan, atau pilih tombol.")
    else:
        action = _word_for(said, _PREVIEW_WORDS)
        handlers = {"GO": _go, "T": _pick_day, "E": _edit_text, "DEL": _discard}
        if action is not None and action in handlers:
            await handlers[action](context, turn, access, draft, [])
            return
        hint = _("Ketik kirim, jadwalkan, ubah, atau batal. Atau tekan tombol di atas.")
    await say(context, turn.chat_id, hint)


# --- /berhenti, /mulai and the return of people who blocked the bot -----------------------------


async def stop(update: Update, context: JagaContext) -> None:
    """Stops broadcasts for this person; says how to resume."""
    turn = await Turn.load(update, context)
    await outbox.set_broadcasts_off(context.db, turn.id, True, _now())
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Anda tidak akan menerima siaran lagi. Pengingat tentang pendaftaran dan "
            "perlindungan Anda sendiri tetap dikirim. Ketik /mulai untuk menerima siaran lagi."
        ),
    )


async def resume(update: Update, context: JagaContext) -> None:
    """Resumes broadcasts for this person."""
    turn = await Turn.load(update, context)
    await outbox.set_broadcasts_off(context.db, turn.id, False, _now())
    await say(
        context,
        turn.chat_id,
        turn.gettext("Anda akan menerima siaran lagi. Ketik /berhenti untuk berhenti."),
    )


async def seen(update: Update, context: JagaContext) -> None:
    """Someone marked as having blocked the bot wrote to it: they can be messaged again. The
    notice Telegram sends when a person blocks the bot marks them blocked instead."""
    user = update.effective_user
    if user is None or not context.services.db_open:
        return
    member = update.my_chat_member
    if (
        member is not None
        and member.chat.type == ChatType.PRIVATE
        and member.new_chat_member.status == ChatMemberStatus.BANNED  # "kicked": blocked
    ):
        await outbox.block_person(context.db, user.id, outbox.stamp(clock.now()))
        return
    await outbox.unblock_if_blocked(context.db, user.id)
