"""Accounts linked to a worker: the notices, and link codes confirmed by a cadre or reviewer."""

from __future__ import annotations

import datetime as dt
import hmac

from telegram import CallbackQuery

from bot import clock, membership
from bot.context import JagaContext
from bot.i18n import Translator, translator
from bot.membership import Worker
from handlers.common import Turn, answer_button, clear_keyboard, say
from handlers.status.common import FLOW, log
from storage import membership as store
from storage import roles, users


def _who(worker: Worker) -> str:
    """The worker as named to their cadre: name and reference, else the masked NIK."""
    registration = worker.registration
    if registration is not None and registration.name:
        return f"{registration.name} ({registration.ref})"
    if worker.member is not None:
        return worker.member.nik_masked
    return str(registration.ref) if registration is not None else ""


async def _translator_of(context: JagaContext, telegram_id: int) -> Translator:
    return translator(
        await users.language_of(context.db, telegram_id) or context.settings.language
    )


async def link_notices(
    context: JagaContext, worker: Worker, new_account: int, *, skip: int | None = None
) -> list[tuple[int, str]]:
    """Messages telling the worker's own account, accounts already linked and their cadre that
    another account was linked (each in their language; not to the new account or `skip`)."""
    own = membership.own_account(worker.registration)
    cadre = await membership.cadre_of(context.db, worker.registration, context.settings.admins)
    linked = [r.telegram_id for r in await store.links_to(context.db, worker.nik_hash)]
    notices: list[tuple[int, str]] = []
    seen = {new_account, skip}
    for person in [own, *linked]:
        if person is None or person in seen:
            continue
        seen.add(person)
        tr = await _translator_of(context, person)
        notices.append(
            (
                person,
                tr.gettext(
                    "Akun lain baru saja dihubungkan dengan data BPJS Ketenagakerjaan "
                    "Anda dan sekarang bisa melihat status dan klaim Anda. Bila itu bukan Anda "
                    "atau keluarga Anda, hapus tautannya lewat /data_saya."
                ),
            )
        )
    if cadre is not None and cadre not in seen:
        tr = await _translator_of(context, cadre)
        notices.append(
            (
                cadre,
                tr.gettext(
                    "Akun lain baru saja dihubungkan dengan data {who}, pekerja yang "
                    "Anda daftarkan. Bila ini mencurigakan, beri tahu pekerja itu."
                ).format(who=_who(worker)),
            )
        )
    return notices


async def _confirmers(context: JagaContext, worker: Worker, nik: str) -> tuple[str, list[int]]:
    """The kabupaten of the worker and who may confirm a code: their cadre, else its reviewers."""
    registration = worker.registration
    known = registration.kabupaten_code if registration is not None else None
    kabupaten = known or membership.nik_kabupaten(nik)
    cadre = await membership.cadre_of(context.db, registration, context.settings.admins)
    if cadre is not None:
        return kabupaten, [cadre]
    reviewers = await roles.holders(context.db, "reviewer", kabupaten)
    return kabupaten, sorted({telegram_id for telegram_id, _code in reviewers})


async def request_code(context: JagaContext, turn: Turn, worker: Worker, nik: str) -> None:
    """Gives the person a one-time code and asks their cadre (else the district) to check it."""
    _ = turn.gettext
    kabupaten, confirmers = await _confirmers(context, worker, nik)
    confirmers = [c for c in confirmers if c != turn.id]
    cadre = await membership.cadre_of(context.db, worker.registration, context.settings.admins)
    await store.end_flow(context.db, turn.id, FLOW)
    if not confirmers:
        await say(
            context,
            turn.chat_id,
            _(
                "Belum ada kader atau petugas kabupaten yang bisa memeriksa kode untuk data ini. "
                "Silakan hubungkan dengan nomor HP atau nomor KPJ, atau datang ke dinas tenaga "
                "kerja kabupaten."
            ),
            clear_keyboard(),
        )
        return
    now = clock.now()
    recent = await store.recent_link_requests(context.db, worker.nik_hash, clock.utc_iso(now))
    if recent >= membership.MAX_CODES_PER_WORKER:  # each code notifies the confirmers
        log.info("event=link_code_refused user=%s reason=too_many", turn.id)
        await say(
            context,
            turn.chat_id,
            _(
                "Hari ini sudah beberapa kali diminta kode untuk data ini. Silakan hubungkan "
                "dengan nomor HP atau nomor KPJ, atau datang ke kader desa atau dinas tenaga "
                "kerja kabupaten."
            ),
            clear_keyboard(),
        )
        return
    code, salt, digest = membership.new_link_code()
    expires = clock.utc_iso(now + dt.timedelta(hours=membership.CODE_HOURS))
    texts = {c: await _translator_of(context, c) for c in confirmers}
    who = _who(worker)

    def notices(request_id: int) -> list[tuple[int, str, list[list[tuple[str, str]]]]]:
        out = []
        for person, tr in texts.items():
            text = tr.gettext(
                "Seseorang meminta akunnya dihubungkan dengan data {who}. Setujui "
                "hanya bila Anda bertemu atau menelepon {who} dan ia sendiri menyebutkan kode "
                "dari HP-nya. Setelah menekan Setujui, Anda diminta mengetik kode itu."
            ).format(who=who)
            buttons = [
                [
                    (tr.gettext("Setujui"), f"STS OK {request_id}"),
                    (tr.gettext("Tolak"), f"STS NO {request_id}"),
                ]
            ]
            out.append((person, text, buttons))
        return out

    await store.open_link_request(
        context.db,
        telegram_id=turn.id,
        nik_hash=worker.nik_hash,
        code_salt=salt,
        code_digest=digest,
        kabupaten_code=kabupaten,
        cadre_id=cadre,
        expires_at=expires,
        notices=notices,
    )
    log.info("event=link_code_requested user=%s confirmers=%d", turn.id, len(confirmers))
    helper = (
        _("kader desa yang mendaftarkan Anda")
        if cadre is not None
        else _("petugas dinas tenaga kerja kabupaten")
    )
    await say(
        context,
        turn.chat_id,
        _(
            "Kode Anda: {code}\n\nTunjukkan atau sebutkan kode ini kepada {helper}; mereka "
            "sudah diberi tahu. Kode berlaku 24 jam. Jangan berikan kode ini kepada orang lain."
        ).format(code=code, helper=helper),
        clear_keyboard(),
    )


async def _may_confirm(context: JagaContext, telegram_id: int, request: store.LinkRequest) -> bool:
    """The worker's cadre named on the request, or a reviewer of its kabupaten (not the asker)."""
    if telegram_id == request.telegram_id:
        return False
    if request.cadre_id is not None and telegram_id == request.cadre_id:
        # Still a cadre: a role revoked since the request was made confirms nothing.
        return await membership.acts_as_cadre(context.db, telegram_id, context.settings.admins)
    kabupaten = request.kabupaten_code or ""
    return any(
        role == "reviewer" and (kabupaten == region or kabupaten.startswith(region + "."))
        for role, region in await roles.held_by(context.db, telegram_id)
    )


def _open(request: store.LinkRequest | None) -> bool:
    now = clock.utc_iso(clock.now())
    return (
        request is not None
        and request.status == store.LinkRequestStatus.OPEN
        and request.expires_at > now
    )


async def answer_request(
    context: JagaContext, turn: Turn, query: CallbackQuery, request_id: int, *, confirm: bool
) -> None:
    """[Setujui] asks for the code the worker shows; [Tolak] refuses and tells the asker."""
    _ = turn.gettext
    request = await store.link_request(context.db, request_id)
    if request is None or not await _may_confirm(context, turn.id, request):
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    if not _open(request):
        await answer_button(query, _("Permintaan ini sudah selesai atau kedaluwarsa."))
        return
    await answer_button(query)
    if confirm:
        await store.set_flow_state(context.db, turn.id, FLOW, "code", request=request_id)
        await say(
            context,
            turn.chat_id,
            _(
                "Ketik kode 6 angka yang ditunjukkan pekerja itu dari HP-nya.\n"
                "Ketik /batal untuk berhenti."
            ),
        )
        return
    tr = await _translator_of(context, request.telegram_id)
    refused = tr.gettext(
        "Permintaan menghubungkan akun Anda dengan data pekerja tidak disetujui. Bila ini data "
        "Anda, hubungkan dengan nomor HP atau nomor KPJ lewat /status."
    )
    done = await store.decide_link_request(
        context.db,
        request_id,
        decided_by=turn.id,
        confirm=False,
        now=clock.utc_iso(clock.now()),
        notices=[(request.telegram_id, refused)],
    )
    log.info("event=link_request_refused request=%s by=%s", request_id, turn.id)
    await say(
        context,
        turn.chat_id,
        _("Permintaan ditolak. Akun itu tidak dihubungkan.")
        if done is not None
        else _("Permintaan ini sudah selesai atau kedaluwarsa."),
    )


async def _code(context: JagaContext, turn: Turn, state: store.FlowState, text: str) -> None:
    """The code a cadre or reviewer types: right links the asker, wrong is counted."""
    _ = turn.gettext
    request = (
        None if state.request is None else await store.link_request(context.db, state.request)
    )
    if request is None or not _open(request) or not await _may_confirm(context, turn.id, request):
        await store.end_flow(context.db, turn.id, FLOW)
        await say(context, turn.chat_id, _("Permintaan ini sudah selesai atau kedaluwarsa."))
        return
    request_id = request.id
    code = text.replace(" ", "")
    digest = membership.code_digest(request.code_salt, code)
    if not hmac.compare_digest(digest, request.code_digest):
        wrong = await store.wrong_code(context.db, request_id, membership.MAX_WRONG_CODES)
        log.info("event=link_code_wrong request=%s count=%d", request_id, wrong)
        if wrong >= membership.MAX_WRONG_CODES:
            await store.end_flow(context.db, turn.id, FLOW)
            await say(
                context,
                turn.chat_id,
                _(
                    "Kode salah {count} kali, jadi permintaan ini dibatalkan. Pekerja itu bisa "
                    "meminta kode baru lewat /status."
                ).format(count=wrong),
            )
            return
        await say(context, turn.chat_id, _("Kode itu tidak cocok. Periksa lagi, atau /batal."))
        return
    worker = await membership.worker_of_nik_hash(context.db, request.nik_hash)
    asker = request.telegram_id
    tr = await _translator_of(context, asker)
    notices = [
        (
            asker,
            tr.gettext(
                "Akun ini sekarang terhubung dengan data Anda. Ketik /status untuk "
                "melihat status, atau /klaim untuk klaim."
            ),
        )
    ]
    if worker is not None:
        notices += await link_notices(context, worker, asker, skip=turn.id)
    done = await store.decide_link_request(
        context.db,
        request_id,
        decided_by=turn.id,
        confirm=True,
        now=clock.utc_iso(clock.now()),
        notices=notices,
    )
    await store.end_flow(context.db, turn.id, FLOW)
    if done is None:
        await say(context, turn.chat_id, _("Permintaan ini sudah selesai atau kedaluwarsa."))
        return
    log.info("event=account_linked user=%s proof=code by=%s", asker, turn.id)
    await say(context, turn.chat_id, _("Kode cocok. Akun pekerja itu sekarang terhubung."))
