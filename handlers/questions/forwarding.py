"""A question the bot cannot answer, passed on to the officials of the asker's region."""

from __future__ import annotations

from bot import membership, notify
from bot.context import JagaContext
from bot.i18n import translator
from handlers.common import Turn, say
from handlers.questions.common import log
from storage import questions, roles
from storage.users import language_of


async def _region_of(context: JagaContext, telegram_id: int) -> str | None:
    """The desa (or kabupaten) of the worker behind this account, when known."""
    worker = await membership.worker_of(context.db, telegram_id)
    registration = worker.registration if worker is not None else None
    if registration is None:
        return None
    return registration.desa_code or registration.kabupaten_code


async def forward(context: JagaContext, turn: Turn, question_id: int) -> None:
    """Passes the asker's question on (once) and tells the officials of their region."""
    _ = turn.gettext
    question = await questions.get(context.db, question_id)
    if question is None or question.asker_id != turn.id:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    if question.status != questions.QuestionStatus.DRAFT:
        await say(context, turn.chat_id, _("Pertanyaan ini sudah diteruskan ke petugas."))
        return
    region = await _region_of(context, turn.id)
    notices = notify.QueuedNotices(
        [] if region is None else await _official_notes(context, region)
    )
    if not await questions.forward(context.db, question_id, turn.id, region, then=notices.queue):
        await say(context, turn.chat_id, _("Pertanyaan ini sudah diteruskan ke petugas."))
        return
    log.info("event=question_forwarded id=%s region=%s", question_id, region)
    await say(
        context,
        turn.chat_id,
        _(
            "Pertanyaan Anda sudah diteruskan ke petugas. Jawabannya akan dikirim lewat chat "
            "ini. Untuk hal yang mendesak, hubungi BPJS 175."
        ),
    )
    await notices.dispatch(context.services.outbox)


async def _official_notes(context: JagaContext, region: str) -> list[notify.OutgoingMessage]:
    """A short note to the reviewers of the kabupaten and the cadres of the desa."""
    recipients = {tid for tid, _ in await roles.holders(context.db, "reviewer", region[:5])}
    if len(region) > 5:
        recipients |= {tid for tid, _ in await roles.holders(context.db, "cadre", region)}
    notices = []
    for telegram_id in sorted(recipients):
        language = await language_of(context.db, telegram_id)
        _ = translator(language or context.settings.language).gettext
        text = _("Ada pertanyaan baru dari pekerja. Ketik /pertanyaan untuk membaca dan menjawab.")
        notices.append(notify.OutgoingMessage(telegram_id, text))
    return notices
