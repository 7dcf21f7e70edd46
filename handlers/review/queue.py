"""/tinjau: the counts of the reviewer's district, the P3KE decile filter (`REVQ ALL|D12`), then
the oldest waiting card; `REVQ C ...` goes to the correction requests."""

from __future__ import annotations

from telegram import Update

from bot.access import Access, access_of
from bot.context import JagaContext
from handlers.common import Button, Turn, answer_button, layout, say
from handlers.review.card import show_card, take_next
from handlers.review.common import (
    area_names,
    clear_step,
    log_refusal,
    open_corrections,
    reviewer_access,
)
from handlers.review.corrections import correction_button
from storage import review as store


async def queue(update: Update, context: JagaContext) -> None:
    """Shows the counts of the reviewer's district, then the oldest waiting card."""
    turn = await Turn.load(update, context)
    access = await reviewer_access(context, turn)
    if access is None:
        return
    await clear_step(context, turn)  # a note half-asked for an earlier card is dropped
    step = await store.step_of(context.db, turn.id)
    await _open(context, turn, access, step.decile_only)


async def queue_filter(update: Update, context: JagaContext) -> None:
    """Switches the queue between all submissions and P3KE deciles 1–2 only, then shows a card."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_reviewer:
        log_refusal(turn, query.data, "role")
        await answer_button(query, turn.gettext("Anda tidak berwenang meninjau pengajuan."))
        return
    args = query.data.removeprefix("REVQ ").split()
    if args[:1] == ["C"]:
        await correction_button(context, turn, access, query, args[1:])
        return
    await answer_button(query)
    decile_only = args == ["D12"]
    await clear_step(context, turn)
    await store.set_step(context.db, turn.id, decile_only=int(decile_only))
    await _open(context, turn, access, decile_only)


async def _open(context: JagaContext, turn: Turn, access: Access, decile_only: bool) -> None:
    """One message: the oldest waiting card (with the filter and correction lines and buttons),
    or, when none waits, the district's counts."""
    _ = turn.gettext
    tr = turn.tr
    corrections = await open_corrections(context, access)
    filter_button, corrections_button = _buttons(turn, decile_only, bool(corrections))
    row = await take_next(context, turn, access)
    if row is None:
        lines, rows = await _summary(context, turn, access, decile_only)
        lines += ["", _("Tidak ada pengajuan yang menunggu keputusan Anda. Terima kasih!")]
        await say(context, turn.chat_id, "\n".join(lines), layout(rows))
        return
    tail = []
    if decile_only:
        waiting = await store.queue_size(context.db, access.review_regions(), decile_only)
        tail.append(_("Filter: hanya desil 1–2 P3KE ({n} menunggu).").format(n=tr.number(waiting)))
    if corrections:
        tail.append(
            _("Permintaan perbaikan data dari pekerja: {n}").format(n=tr.number(len(corrections)))
        )
    extra = [[filter_button]] + ([[corrections_button]] if corrections else [])
    await show_card(context, turn, access, row, tail="\n".join(tail), extra=extra)


def _buttons(turn: Turn, decile_only: bool, corrections: bool) -> tuple[Button, Button]:
    """The queue filter's button (the other choice) and the correction requests' button."""
    _ = turn.gettext
    if decile_only:
        filter_button = (_("Tampilkan semua"), "REVQ ALL")
    else:
        filter_button = (_("Hanya desil 1–2 P3KE"), "REVQ D12")
    return filter_button, (_("Lihat permintaan perbaikan data"), "REVQ C")


async def _summary(
    context: JagaContext, turn: Turn, access: Access, decile_only: bool
) -> tuple[list[str], list[list[Button]]]:
    """The district's counts and the queue's buttons (shown when no card waits)."""
    _ = turn.gettext
    tr = turn.tr
    regions = access.review_regions()
    counts = await store.status_counts(context.db, regions)
    waiting = await store.queue_size(context.db, regions, decile_only)
    lines = [
        _("Antrean tinjauan: {area}").format(area=area_names(access)),
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
    corrections = await open_corrections(context, access)
    if corrections:
        lines.append(
            _("Permintaan perbaikan data dari pekerja: {n}").format(n=tr.number(len(corrections)))
        )
    if decile_only:
        lines.append(
            _("Filter: hanya desil 1–2 P3KE ({n} menunggu).").format(n=tr.number(waiting))
        )
    filter_button, corrections_button = _buttons(turn, decile_only, bool(corrections))
    rows = [[filter_button]]
    if corrections:
        rows.append([corrections_button])
    return lines, rows
