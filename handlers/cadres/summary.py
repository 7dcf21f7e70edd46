"""/kader for a cadre: the workers they registered with their state, their desa's funding
quota, a button for each submission to fix, and the spreadsheet template."""

from __future__ import annotations

from bot import clock
from bot.access import Access
from bot.context import JagaContext
from bot.registration import STATUS_WORDS, region_name
from bot.reminders import desa_quota, quota_lines
from handlers.cadres.common import nav_row, page_words, paged
from handlers.common import Button, Turn, layout, say
from storage import cadres
from storage.registrations import Status


async def cadre_view(context: JagaContext, turn: Turn, access: Access, page: int) -> None:
    """Shows a cadre every worker they registered (any desa) with its state, paged; the quota
    of their desa; and a button for each submission to fix."""
    _ = turn.gettext
    workers = await cadres.registered_by(context.db, turn.id)
    counts: dict[str, int] = {}
    for worker in workers:
        counts[worker.status] = counts.get(worker.status, 0) + 1
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
        where = "" if worker.desa_code in own else f" ({region_name(worker.desa_code)})"
        lines.append(f"• {(worker.name or '')[:40]}{where}: {_(STATUS_WORDS[worker.status])}")
    if counts.get("perlu_perbaikan"):
        head.append(_("Daftar pekerja (tekan tombol di bawah untuk memperbaiki):"))
    elif lines:
        head.append(_("Daftar pekerja:"))
    shown = paged(
        "\n".join(head),
        lines,
        _("Untuk mendaftarkan pekerja baru, ketik /daftar."),
        page,
        page_words(turn),
    )
    rows: list[list[Button]] = [
        [(f"{workers[i].name} ({workers[i].ref})"[:60], f"FIX {workers[i].id}")]
        for i in shown.shown
        if workers[i].status == Status.NEEDS_FIX
    ]
    nav = nav_row("KDR ME", shown.page, shown.pages)
    if nav:
        rows.append(nav)
    # Register many workers offline: a spreadsheet to fill and send back (bot/cadre_sheet.py).
    rows.append([(_("Unduh formulir"), "KDR SHEET")])
    await say(context, turn.chat_id, shown.text, layout(rows))
