"""The proof that a NIK is the person's own: their phone contact, the KPJ or a code."""

from __future__ import annotations

import base64

from telegram import Message

from bot import membership
from bot.context import JagaContext
from bot.i18n import N_
from bot.membership import Worker
from bot.registration import check_phone
from handlers.common import Keyboard, Turn, clear_keyboard, phone_request, say
from handlers.status.common import FLOW, limit_reached, log
from handlers.status.linking import link_notices, request_code
from storage import membership as store


async def await_proof(context: JagaContext, turn: Turn, nik: str) -> None:
    """The linking flow waits for a proof of this NIK (kept encrypted meanwhile)."""
    await store.set_flow_state(
        context.db,
        turn.id,
        FLOW,
        "proof",
        purpose="self",
        nik_enc=base64.b64encode(context.cipher.encrypt(nik)).decode(),
    )


def proof_keyboard(turn: Turn) -> Keyboard:
    _ = turn.gettext
    return phone_request(_("Kirim nomor HP saya"), _(ASK_CODE))


ASK_CODE = N_("Minta kode ke kader")
KPJ_MISMATCH = N_(
    "Nomor KPJ itu tidak cocok dengan NIK ini. Periksa kartu BPJS Anda, atau tekan "
    "«Kirim nomor HP saya» atau «Minta kode ke kader»."
)


async def _proof(
    context: JagaContext, turn: Turn, state: store.FlowState, message: Message
) -> None:
    """A shared contact or a typed KPJ that must match the worker; or a request for a code."""
    _ = turn.gettext
    nik = context.cipher.decrypt(base64.b64decode(str(state.nik_enc)))
    worker = await membership.worker_by_nik(context.db, context.cipher, nik)
    if worker is None:  # deleted in the meantime
        await store.end_flow(context.db, turn.id, FLOW)
        await say(context, turn.chat_id, _("Data ini sudah tidak ada."), clear_keyboard())
        return
    text = (message.text or "").strip()
    if message.contact is not None:
        if message.contact.user_id != turn.id:
            await say(
                context,
                turn.chat_id,
                _(
                    "Itu nomor orang lain. Tekan tombol «Kirim nomor HP saya» untuk mengirim "
                    "nomor Anda sendiri."
                ),
            )
            return
        phone = check_phone(message.contact.phone_number)
        if phone is not None and membership.phone_matches(context.cipher, worker, phone):
            await linked(context, turn, worker, "phone")
            return
        await proof_failed(
            context,
            turn,
            _(
                "Nomor HP ini tidak sama dengan yang tercatat. Coba cara lain: ketik nomor KPJ, "
                "atau tekan «Minta kode ke kader»."
            ),
        )
        return
    if text in (ASK_CODE, _(ASK_CODE)):
        await request_code(context, turn, worker, nik)
        return
    digits = text.replace(" ", "").replace(".", "").replace("-", "")
    if len(digits) == 11 and digits.isascii() and digits.isdigit():
        if membership.kpj_matches(worker, digits):
            await linked(context, turn, worker, "kpj")
            return
        await proof_failed(context, turn, _(KPJ_MISMATCH))
        return
    await say(
        context,
        turn.chat_id,
        _("Tekan salah satu tombol di bawah, atau ketik nomor KPJ (11 angka), atau /batal."),
        proof_keyboard(turn),
    )


async def proof_failed(context: JagaContext, turn: Turn, text: str) -> None:
    """A wrong proof counts against the hourly lookup limit, so proofs cannot be guessed."""
    if not await membership.may_look_up(context.db, turn.id):
        await store.end_flow(context.db, turn.id, FLOW)
        await limit_reached(context, turn, clear_keyboard())
        return
    await store.record_lookup(context.db, turn.id)
    await say(context, turn.chat_id, text, proof_keyboard(turn))


async def linked(context: JagaContext, turn: Turn, worker: Worker, proof: str) -> None:
    """Links this account, tells the worker's own account and cadre, and confirms."""
    _ = turn.gettext
    notices = await link_notices(context, worker, turn.id)
    await store.link(context.db, turn.id, worker.nik_hash, proof=proof, notices=notices)
    await store.end_flow(context.db, turn.id, FLOW)
    log.info("event=account_linked user=%s proof=%s", turn.id, proof)
    await say(
        context,
        turn.chat_id,
        _(
            "Akun ini sekarang terhubung dengan data Anda. Ketik /status untuk melihat "
            "status, atau /klaim untuk klaim."
        ),
        clear_keyboard(),
    )
