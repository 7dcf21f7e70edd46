"""/ekspor: the submissions of the reviewer's district as a CSV or XLSX file (`EXP <format>
[status]`)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from telegram import Update

from bot import clock, review
from bot import export as exporter
from bot.access import access_of
from bot.context import JagaContext
from handlers.common import Turn, answer_button, layout, say
from handlers.review.common import area_names, log_refusal, reviewer_access

log = logging.getLogger(__name__)


async def export_command(update: Update, context: JagaContext) -> None:
    """Asks which file format the export of the reviewer's district should have."""
    turn = await Turn.load(update, context)
    access = await reviewer_access(context, turn)
    if access is None:
        return
    _ = turn.gettext
    status = _status_arg(context.args)
    suffix = f" {status}" if status else ""
    text = _("Ekspor pengajuan {area}").format(area=area_names(access))
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
        layout([[("CSV", f"EXP csv{suffix}"), ("Excel (XLSX)", f"EXP xlsx{suffix}")]]),
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
        log_refusal(turn, query.data, "role")
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
