"""Typed messages: a NIK, a reference number or a KPJ looked up, and the step reached."""

from __future__ import annotations

import base64

from telegram import Update

from bot import membership
from bot.context import JagaContext
from bot.registration import is_help, looks_like_question
from handlers import questions
from handlers.common import Turn, layout, say
from handlers.registration.common import MAX_MESSAGE, fit
from handlers.status.command import status
from handlers.status.common import FLOW, NOT_ENTITLED, limit_reached, log
from handlers.status.linking import _code
from handlers.status.proof import (
    KPJ_MISMATCH,
    _proof,
    await_proof,
    linked,
    proof_failed,
    proof_keyboard,
)
from handlers.status.showing import describe, general_state, own_buttons, show_registration
from storage import membership as store
from storage import registrations
from storage.registrations import Status


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes the NIK, then (to link) a proof: a shared contact, the KPJ or a request for a code;
    for a cadre or reviewer, the code shown by the worker."""
    turn = await Turn.load(update, context)
    state = await store.flow_state(context.db, turn.id, FLOW)
    message = update.effective_message
    if state is None or message is None:  # the state row went missing: start again cleanly
        await store.end_flow(context.db, turn.id, FLOW)
        await status(update, context)
        return
    text = (message.text or "").strip()
    if state.step in ("nik", "proof") and await leave_for_other_words(update, context, text):
        return
    if state.step == "nik":
        await _nik(context, turn, state, text)
    elif state.step == "proof":
        await _proof(context, turn, state, message)
    else:
        await _code(context, turn, state, text)


async def leave_for_other_words(update: Update, context: JagaContext, text: str) -> bool:
    """Where a number is asked, a command typed as words ("cek status", "hapus data sy")
    leaves the step and runs that command; False for anything else (an answer, a question)."""
    # Imported here: the router hands messages to this module.
    from handlers import router

    if router.typed_command(text) is None:
        return False
    turn = await Turn.load(update, context)
    await store.end_flow(context.db, turn.id, turn.user.active_flow or "")
    await router.message(update, context)
    return True


async def typed_nik(update: Update, context: JagaContext) -> bool:
    """A NIK typed alone outside any flow (after "Cek status", people type it at once): looked
    up as /status would for the person's own NIK; a reference number alone, as "Cek status
    orang lain" would. False when the message is neither (nor a KPJ)."""
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    kpj = _typed_kpj(text)
    # A reference alone, or in a short question about it ("JP-1210-000003 udh sampe mana?").
    ref = membership.ref_in(text) if len(text) <= 120 else None
    if ref is None and (len(text) > 40 or (membership.clean_nik(text)[0] is None and kpj is None)):
        return False
    turn = await Turn.load(update, context)
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return True
    if ref is not None:  # the reference number the bot gave after a registration
        await _ref(context, turn, ref, retry="OTHER")
        return True
    if kpj is not None:  # the KPJ from the card, typed before the NIK
        worker = await membership.worker_of(context.db, turn.id)
        if worker is not None and membership.kpj_matches(worker, kpj):
            await status(update, context)  # already linked: the KPJ is a way to ask
            return True
        await _ask_nik_for_kpj(context, turn, kpj)
        return True
    await store.set_flow_state(context.db, turn.id, FLOW, "nik", purpose="self")
    await _nik(context, turn, store.FlowState(step="nik", purpose="self"), text)
    return True


def _typed_kpj(text: str) -> str | None:
    """An 11-digit KPJ typed alone (spaces, dots and dashes allowed), else None."""
    digits = text.replace(" ", "").replace(".", "").replace("-", "")
    return digits if len(digits) == 11 and digits.isascii() and digits.isdigit() else None


async def _ask_nik_for_kpj(context: JagaContext, turn: Turn, kpj: str) -> None:
    """Keeps a KPJ typed where a NIK was expected and asks for the NIK: the two together link
    the account (a KPJ alone finds no one: the bot looks people up by NIK)."""
    _ = turn.gettext
    kpj_enc = base64.b64encode(context.cipher.encrypt(kpj)).decode()
    await store.set_flow_state(context.db, turn.id, FLOW, "nik", purpose="self", kpj_enc=kpj_enc)
    await say(
        context,
        turn.chat_id,
        _(
            "Itu nomor KPJ Anda. Sekarang ketik NIK Anda (16 angka di KTP). Bila NIK dan KPJ "
            "cocok, akun ini langsung terhubung dengan data Anda.\n"
            "Ketik /batal untuk berhenti."
        ),
    )


def _answer_then_ask_nik(turn: Turn, text: str) -> str:
    """A question asked where a NIK is awaited: its answer, then the NIK asked again, short."""
    _ = turn.gettext
    again = _("Untuk cek status, ketik NIK (16 angka), atau /batal.")
    match = None if is_help(text) else questions.knowledge(turn.tr.language).answer(text)
    if match is not None:
        body = f"{match.topic.title}\n\n{match.topic.answer}"
    elif is_help(text):
        body = _("Saya perlu NIK orang yang statusnya ingin Anda lihat, seperti tertulis di KTP.")
    else:
        body = _(
            "Maaf, pertanyaan itu belum bisa saya jawab di sini. Ketik /batal, lalu tulis lagi "
            "pertanyaan Anda."
        )
    return fit(body, MAX_MESSAGE - len(again) - 2) + "\n\n" + again


async def _nik(context: JagaContext, turn: Turn, state: store.FlowState, text: str) -> None:
    """A NIK: shows the details to an entitled account, the general state to anyone else; to
    link, asks for a proof."""
    _ = turn.gettext
    nik, _problem = membership.clean_nik(text)
    kpj = _typed_kpj(text) if nik is None and state.purpose == "self" else None
    if kpj is not None and not state.kpj_enc:
        await _ask_nik_for_kpj(context, turn, kpj)
        return
    ref = membership.clean_ref(text) if nik is None and len(text) <= 40 else None
    if ref is not None:
        await _ref(context, turn, ref, retry=str(state.purpose).upper())
        return
    if nik is None:
        if is_help(text) or (len(text.split()) >= 2 and looks_like_question(text)):
            await say(context, turn.chat_id, _answer_then_ask_nik(turn, text))
            return
        wrong = (
            _(
                "NIK harus 16 angka, seperti tertulis di KTP. Spasi boleh. Nomor pendaftaran "
                "juga bisa (diawali JP, misalnya JP-1210-000003). Silakan ketik lagi, atau /batal."
            )
            if state.purpose == "other"
            else _(
                "NIK harus 16 angka, seperti tertulis di KTP. Spasi boleh. "
                "Silakan ketik lagi, atau /batal."
            )
        )
        await say(context, turn.chat_id, wrong)
        return
    if not await membership.may_look_up(context.db, turn.id):
        await store.end_flow(context.db, turn.id, FLOW)
        await limit_reached(context, turn)
        return
    await store.record_lookup(context.db, turn.id)
    worker = await membership.worker_by_nik(context.db, context.cipher, nik)
    log.info("event=status_lookup user=%s found=%s", turn.id, worker is not None)
    if worker is None:
        await store.end_flow(context.db, turn.id, FLOW)
        await say(
            context,
            turn.chat_id,
            _(
                "Belum ada pendaftaran atau data kepesertaan dengan NIK itu. Periksa lagi "
                "angkanya. Bila baru mendaftar, data dari BPJS bisa perlu beberapa hari."
            ),
            layout(
                [
                    [(_("Coba lagi"), f"STS {str(state.purpose).upper()}")],
                    [(_("Daftar sekarang"), "MENU daftar")],
                ]
            ),
        )
        return
    if await membership.entitled(context.db, turn.id, worker, context.settings.admins):
        await store.end_flow(context.db, turn.id, FLOW)
        own = membership.own_account(worker.registration) == turn.id
        own = own or await store.linked_nik_hash(context.db, turn.id) == worker.nik_hash
        body = await describe(context.db, turn.tr, worker, own=own)
        await say(context, turn.chat_id, body, layout(own_buttons(turn, worker)) if own else None)
        return
    if state.kpj_enc:
        kpj = context.cipher.decrypt(base64.b64decode(str(state.kpj_enc)))
        if membership.kpj_matches(worker, kpj):
            await linked(context, turn, worker, "kpj")
            return
        await await_proof(context, turn, nik)
        await proof_failed(context, turn, _(KPJ_MISMATCH))
        return
    if state.purpose == "other":
        await store.end_flow(context.db, turn.id, FLOW)
        await say(
            context,
            turn.chat_id,
            general_state(turn.tr, worker) + "\n\n" + _(NOT_ENTITLED),
        )
        return
    await await_proof(context, turn, nik)
    await say(
        context,
        turn.chat_id,
        _(
            "NIK saja belum cukup, karena NIK bisa diketahui orang lain. Buktikan bahwa ini "
            "data Anda dengan salah satu cara:\n"
            "1. Tekan «Kirim nomor HP saya» (nomor yang dipakai saat mendaftar).\n"
            "2. Ketik nomor KPJ Anda (11 angka di kartu BPJS Ketenagakerjaan).\n"
            "3. Tekan «Minta kode ke kader», lalu tunjukkan kodenya kepada kader desa atau "
            "petugas kabupaten.\n"
            "Ketik /batal untuk berhenti."
        ),
        proof_keyboard(turn),
    )


async def _ref(context: JagaContext, turn: Turn, ref: str, *, retry: str) -> None:
    """A typed reference number: counted like a NIK lookup, then shown as `show_registration`
    does; an unknown number gets one line. `retry`: the button to try again (SELF or OTHER)."""
    _ = turn.gettext
    await store.end_flow(context.db, turn.id, FLOW)
    if not await membership.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return
    await store.record_lookup(context.db, turn.id)
    registration = await registrations.get_by_ref(context.db, ref)
    found = registration is not None and registration.status != Status.DRAFT
    log.info("event=status_ref_lookup user=%s found=%s", turn.id, found)
    if registration is None or not found or not registration.nik_hash:
        await say(
            context,
            turn.chat_id,
            _("Nomor pendaftaran {ref} tidak ditemukan. Periksa lagi angkanya.").format(ref=ref),
            layout([[(_("Coba lagi"), f"STS {retry}")]]),
        )
        return
    await show_registration(context, turn, registration)
