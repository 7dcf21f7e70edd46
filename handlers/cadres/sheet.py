"""The spreadsheet: a template for the cadre's desa to fill offline; the filled file sent back
is checked beside the update and returned with a result per row and the counts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Document, Update

from bot import cadre_sheet, clock
from bot.access import Access, access_of
from bot.context import JagaContext
from bot.registration import region_name
from handlers.cadres.common import is_desa
from handlers.cadres.sheet_submit import submit_rows
from handlers.cadres.sheet_worker import in_worker, start_worker
from handlers.common import Turn, say

log = logging.getLogger(__name__)


async def send_template(context: JagaContext, turn: Turn, access: Access) -> None:
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
    results, tally = await submit_rows(context, turn, rows, today)
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
