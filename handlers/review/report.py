"""/laporan: the district report (counts, quotas, coverage) and its bar chart."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot import clock, review
from bot import report as reporter
from bot.context import JagaContext
from handlers.common import Turn, say
from handlers.review.common import reviewer_access


async def report_command(update: Update, context: JagaContext) -> None:
    """Sends the district report (counts, quotas, coverage) and its bar chart."""
    turn = await Turn.load(update, context)
    access = await reviewer_access(context, turn)
    if access is None:
        return
    _ = turn.gettext
    regions = access.review_regions()
    region = regions[0]
    note = ""
    if context.args:
        wanted = " ".join(context.args)[:60]
        found = review.typed_regions(regions, wanted)
        if found:
            region = found[0]  # the exact name, else the closest spelling
        else:
            note = _(
                "Wilayah «{place}» tidak ditemukan atau di luar wilayah tugas Anda. "
                "Laporan untuk {area}:"
            ).format(place=wanted, area=review.region_name(region))
    report = await reporter.build(context.db, context.settings, region)
    texts = reporter.render(turn.tr, report, turn.tr.date(clock.today()))
    if note and len(texts[0]) + len(note) + 2 <= reporter.READABLE:
        texts[0] = f"{note}\n\n{texts[0]}"
    elif note:
        texts.insert(0, note)
    for text in texts:
        await say(context, turn.chat_id, text)
    png = await asyncio.to_thread(reporter.chart_png, turn.tr, report)
    await context.bot.send_photo(
        turn.chat_id,
        png,
        caption=_("Pengajuan per kecamatan, {area}").format(area=report.name),
    )
