"""/laporan: the district report (counts, quotas, coverage) and its bar chart."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot import clock, review
from bot import report as reporter
from bot.access import within
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
