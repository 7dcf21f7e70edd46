"""The NIK question: a typed (or photographed) NIK checked, and a NIK already registered
answered without telling a stranger its status."""

from __future__ import annotations

import json
from typing import Any

from bot import clock
from bot.context import JagaContext
from bot.crypto import mask_nik
from bot.registration import STATUS_WORDS, Step, age_on, check_nik, nik_in
from handlers.common import Turn, say
from handlers.registration.common import StepDef, log, scratch_with
from handlers.registration.flow import advance, again
from storage import registrations
from storage.registrations import Registration


async def _nik(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    fields = await fields_from_nik(context, turn, r, text)
    if fields is not None:
        await advance(context, turn, r, Step.NIK, **fields)


async def fields_from_nik(
    context: JagaContext, turn: Turn, r: Registration, text: str
) -> dict[str, Any] | None:
    """The columns a typed (or photographed) NIK fills, or None once the problem was said."""
    _ = turn.gettext
    settings = context.settings
    today = clock.today()
    check = check_nik(text, today)
    if check.error == "digits":  # "ini nik sy 1210 1915 0580 0001"
        check = check_nik(nik_in(text), today)
    words = [w for w in text.split() if any(ch.isalpha() for ch in w)]
    problems = {
        "digits": _("NIK hanya berisi angka. Silakan ketik lagi 16 angka NIK.")
        if len(words) < 2
        else _(
            "Saya menunggu NIK: 16 angka yang tertulis di KTP. Bila KTP belum ada di tangan, "
            "ketik nanti; jawaban Anda tetap tersimpan."
        ),
        "example": _("Itu NIK contoh. Silakan ketik NIK yang tertulis di KTP."),
        "province": _(
            "Dua angka pertama NIK bukan kode provinsi. Silakan periksa KTP dan ketik lagi."
        ),
        "regency": _(
            "Angka ke-3 dan ke-4 NIK bukan kode kabupaten/kota yang ada. Silakan periksa lagi."
        ),
        "region": _("Kode wilayah di awal NIK tidak lengkap. Silakan periksa KTP dan ketik lagi."),
        "birth": _(
            "Tanggal lahir di dalam NIK (angka ke-7 sampai ke-12) tidak mungkin. Silakan "
            "periksa lagi."
        ),
        "serial": _("Empat angka terakhir NIK tidak boleh 0000. Silakan periksa lagi."),
    }
    if check.error == "length":
        await again(
            context,
            turn,
            _(
                "NIK harus 16 angka. Yang Anda ketik {count} angka. Silakan periksa KTP dan "
                "ketik lagi."
            ).format(count=check.length),
        )
        return None
    if check.error is not None:
        await again(context, turn, problems[check.error])
        return None
    assert check.nik is not None and check.birth_date is not None
    age = age_on(check.birth_date, today)
    if not settings.min_age <= age <= settings.max_age:
        await again(
            context,
            turn,
            _(
                "Menurut NIK, umurnya {age} tahun. Pendaftaran ini untuk umur {low} sampai "
                "{high} tahun, "
                "jadi belum bisa diterima. Jika NIK salah ketik, silakan ketik lagi. Jika "
                "tidak, ketik /batal."
            ).format(age=age, low=settings.min_age, high=settings.max_age),
        )
        return None
    nik_hash = context.cipher.lookup_hash("nik", check.nik)
    existing = await registrations.live_by_nik_hash(context.db, nik_hash)
    if await _nik_taken(context, turn, r, nik_hash, existing):
        return None
    log.info("event=registration_nik registration=%s nik=%s", r.id, mask_nik(check.nik))
    district_unknown = True if not check.district_known else None
    return {
        "nik_enc": context.cipher.encrypt(check.nik),
        "nik_hash": nik_hash,
        "nik_masked": mask_nik(check.nik),
        "birth_date": check.birth_date.isoformat(),
        "sex": check.sex,
        # A typed NIK also ends a photo's reading that was never confirmed.
        "scratch": scratch_with(
            r,
            nik_district_unknown=district_unknown,
            correcting_birth=None,
            birth_typed=None,
            # What the NIK says, to tell when a date typed by hand differs from it.
            nik_birth=check.birth_date.isoformat(),
            nik_sex=check.sex,
            ktp=None,
            ktp_skip=None,
        ),
        "flags": json.dumps(sorted(set(json.loads(r.flags)) - {"birth_corrected"})),
    }


async def _nik_taken(
    context: JagaContext,
    turn: Turn,
    r: Registration,
    nik_hash: str,
    existing: Registration | None,
) -> bool:
    """Answers a NIK that is already registered; True if the NIK step must stop here.

    Only the account that registered it, the worker's own account and an account linked to the
    worker by a proof hear its status. Anyone else is told only that it cannot be registered
    again, and each such answer counts against the same hourly limit as /status lookups; at the
    limit every NIK is refused alike, so the limit itself tells nothing.
    """
    # Imported here: this helper is the only part of registration that reads links and limits.
    from bot import membership as lookup_limit
    from handlers.status import limit_reached
    from storage import membership as membership_store

    _ = turn.gettext
    taken = existing is not None and existing.id != r.id
    if taken and existing is not None:
        mine = turn.id in (existing.operator_id, existing.worker_telegram_id)
        mine = mine or await membership_store.linked_nik_hash(context.db, turn.id) == nik_hash
        if mine:
            status = _(STATUS_WORDS.get(existing.status, existing.status))
            text = _(
                "NIK ini sudah terdaftar dengan nomor {ref}, status: {status}. Tidak perlu "
                "mendaftar lagi."
            ).format(ref=existing.ref, status=status)
            text += "\n" + _("Ketik /status untuk melihat status, atau /daftar untuk NIK lain.")
            await registrations.delete_draft(context.db, turn.id, flow=None)
            await say(context, turn.chat_id, text)
            return True
    if not taken and await membership_store.member_by_nik_hash(context.db, nik_hash) is not None:
        # A BPJS member with no registration here: a registration's own account would see the
        # member record (KPJ, protection, claims), so only an account linked by a proof may.
        taken = await membership_store.linked_nik_hash(context.db, turn.id) != nik_hash
    if not await lookup_limit.may_look_up(context.db, turn.id):
        await limit_reached(context, turn)
        return True
    if not taken:
        return False
    await membership_store.record_lookup(context.db, turn.id)
    log.info("event=registration_nik_taken registration=%s", r.id)
    await registrations.delete_draft(context.db, turn.id, flow=None)
    await say(
        context,
        turn.chat_id,
        _(
            "NIK ini tidak bisa didaftarkan lagi karena sudah pernah didaftarkan. Bila ini NIK "
            "Anda dan perlu bantuan, tanyakan ke kader desa atau dinas tenaga kerja kabupaten, "
            "atau hubungkan akun Anda lewat /status."
        )
        + "\n"
        + _("Ketik /daftar untuk NIK lain."),
    )
    return True


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
def _reads_nik(r: Registration, text: str) -> bool:
    """Sixteen digits, however written, answer the NIK question."""
    return check_nik(text, clock.today()).error != "digits"


STEPS: dict[Step, StepDef] = {Step.NIK: StepDef(typed=_nik, reads=_reads_nik)}
