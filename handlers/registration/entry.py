"""Entry points: /daftar (new, or continue an unsent draft), a reviewer's fix request (`FIX
<id>`), and /batal."""

from __future__ import annotations

import json

from telegram import Update

from bot.access import access_of
from bot.context import JagaContext
from bot.registration import FIELDS, ORDER, STATUS_WORDS, Step, progress
from handlers.common import Keyboard, Turn, answer_button, layout, say
from handlers.registration.asking import ask_current
from handlers.registration.common import FLOW, scratch_with
from storage import registrations, review, roles, users
from storage.registrations import Registration, Status


async def daftar(update: Update, context: JagaContext) -> None:
    """Starts a registration with the consent question, or offers to continue an unsent one."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    current = await registrations.active_of(context.db, turn.id)
    if current is not None and current.status == Status.DRAFT and current.step != Step.CONSENT:
        # While this choice is open, typed text is read only as this choice (messages.py),
        # never as the answer to the question behind it.
        await registrations.save_step(
            context.db, current.id, turn.id, FLOW, scratch=scratch_with(current, resume_open=True)
        )
        await say(
            context,
            turn.chat_id,
            _("Ada pendaftaran yang belum selesai. Lanjutkan dari pertanyaan terakhir?"),
            resume_keyboard(turn, current),
        )
        return
    waiting = (
        None if current is not None else await registrations.waiting_fix_of(context.db, turn.id)
    )
    if waiting is not None:
        # A fix stopped with /batal is resumed here, not by registering the same NIK again.
        keyboard = layout(
            [[(_("Perbaiki data"), f"FIX {waiting.id}")], [(_("Daftar baru"), "REGX new")]]
        )
        await say(
            context,
            turn.chat_id,
            _(
                "Pendaftaran {ref} menunggu perbaikan. Tekan «Perbaiki data» untuk "
                "melanjutkannya, atau «Daftar baru» untuk mendaftarkan orang lain."
            ).format(ref=waiting.ref),
            keyboard,
        )
        return
    own = None if current is not None else await _own_submission(context, turn.id)
    if own is not None:
        # Back the next day, typing "daftar": they are registered; maybe someone else is meant.
        keyboard = layout(
            [[(_("Daftarkan orang lain"), "REGX new")], [(_("Cek status"), "MENU status")]]
        )
        state = STATUS_WORDS[own.status]
        await say(
            context,
            turn.chat_id,
            _(
                "Anda sudah mendaftar dengan nomor {ref} ({status}). Tidak perlu mendaftar "
                "lagi. Mau mendaftarkan orang lain?"
            ).format(ref=own.ref, status=_(state)),
            keyboard,
        )
        return
    await start_new(context, turn)


def resume_keyboard(turn: Turn, current: Registration) -> Keyboard:
    """The two buttons of the resume choice: continue (with how much is filled), or start over."""
    _ = turn.gettext
    done, total = progress(current)
    return layout(
        [
            [(_("Lanjutkan ({done} dari {total} terisi)").format(done=done, total=total),
              "REGX go")],
            [(_("Mulai dari awal"), "REGX new")],
        ]
    )  # fmt: skip


async def continue_draft(context: JagaContext, turn: Turn, current: Registration) -> None:
    """Closes the resume choice and asks the question the draft waits for."""
    if "resume_open" in json.loads(current.scratch or "{}"):
        scratch = scratch_with(current, resume_open=None)
        await registrations.save_step(context.db, current.id, turn.id, FLOW, scratch=scratch)
        current = current.with_answers(scratch=scratch)
    else:
        await users.set_active_flow(context.db, turn.id, FLOW)
    await ask_current(context, turn, current)


async def _own_submission(context: JagaContext, telegram_id: int) -> Registration | None:
    """The person's own registration that is sent and not rejected, if any (never for an
    official: registering others is their work)."""
    access = await access_of(context.db, context.settings, telegram_id)
    if access.is_cadre or access.is_reviewer or access.is_admin:
        return None
    for row in await registrations.by_operator(context.db, telegram_id):
        if row.for_self and row.status in (Status.SUBMITTED, Status.APPROVED, Status.REGISTERED):
            return row
    return None


async def start_new(context: JagaContext, turn: Turn) -> None:
    await registrations.create_draft(context.db, turn.id, Step.CONSENT, flow=FLOW)
    await ask_current(context, turn)


async def ask_again(update: Update, context: JagaContext) -> None:
    """Asks the question the registration waits for again (its previous reply was lost)."""
    await ask_current(context, await Turn.load(update, context))


async def resume_choice(update: Update, context: JagaContext) -> None:
    """Continues the unsent registration at its question, or starts over."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    current = await registrations.active_of(context.db, turn.id)
    if query.data == "REGX new" and (current is None or not _answers_at_stake(current)):
        await answer_button(query)
        await start_new(context, turn)
        return
    if query.data == "REGX new":
        # An old "Mulai dari awal" or "Daftarkan orang lain" under an earlier message: starting
        # over would wipe the answers given since. Only the open resume choice starts over.
        await answer_button(query, turn.gettext("Tombol ini sudah tidak berlaku."))
    else:
        await answer_button(query)
    if current is None:
        await say(context, turn.chat_id, turn.gettext("Tidak ada pendaftaran yang belum selesai."))
        await start_new(context, turn)
        return
    await continue_draft(context, turn, current)


def _answers_at_stake(r: Registration) -> bool:
    """Whether starting over would lose answers the person did not choose to drop: a draft past
    its first question, without the resume choice (continue or start over) open."""
    opened = "resume_open" in json.loads(r.scratch or "{}")
    return r.status == Status.DRAFT and r.step not in (None, Step.CONSENT) and not opened


async def fix(update: Update, context: JagaContext) -> None:
    """Opens exactly the questions a reviewer asked to fix (`FIX <id>`), the first one first."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    value = query.data.removeprefix("FIX ")
    r = await registrations.get(context.db, int(value)) if value.isdigit() else None
    request = None
    allowed = r is not None and turn.id in (r.operator_id, r.worker_telegram_id)
    if r is not None and allowed and r.status == Status.NEEDS_FIX:
        request = await review.open_fix_request(context.db, r.id)
    if r is None or request is None:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    if turn.id != r.worker_telegram_id and not await _still_cadre_of(context, turn.id, r):
        # A cadre whose role was revoked no longer changes the data of the people they
        # registered; the district office sees the request on its desk.
        await answer_button(query)
        await say(
            context,
            turn.chat_id,
            _(
                "Anda tidak lagi terdaftar sebagai kader, jadi tidak bisa memperbaiki "
                "pendaftaran ini. Petugas kabupaten akan menanganinya."
            ),
        )
        return
    await answer_button(query)
    requested, note = request
    fields = sorted((f for f in requested if f in FIELDS), key=lambda f: ORDER.index(FIELDS[f][0]))
    if not fields:
        fields = ["name"]  # a request with no known field: let them check everything from the name
    await registrations.save_step(
        context.db,
        r.id,
        turn.id,
        FLOW,
        step=FIELDS[fields[0]][0],
        editing=1,
        scratch=scratch_with(r, fixing=fields, page=None, decade=None, correcting_birth=None),
    )
    lines = [_("Perbaikan untuk pendaftaran {ref}.").format(ref=r.ref)]
    if note:
        lines.append(_("Catatan petugas: {note}").format(note=note))
    await say(context, turn.chat_id, "\n".join(lines))
    await ask_current(context, turn)


async def _still_cadre_of(context: JagaContext, telegram_id: int, r: Registration) -> bool:
    """False when the person registered someone else as a cadre and that role was revoked
    since (anyone else who registered another person, such as a relative, keeps fixing it)."""
    if r.for_self:
        return True
    return not await roles.lost(context.db, telegram_id, "cadre")


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow, keeping the unsent draft for /daftar to continue; a fix in progress
    stops being asked (its step and the pointer in one commit).

    Kept drafts still go under the retention rule (storage/privacy.py purge_expired).
    """
    current = await registrations.active_of(context.db, telegram_id)
    if current is not None and current.status != Status.DRAFT:
        await registrations.save_step(
            context.db, current.id, telegram_id, None, step=None, editing=0, scratch="{}"
        )
    else:  # the draft is kept as it is: only the pointer changes
        await users.set_active_flow(context.db, telegram_id, None)
