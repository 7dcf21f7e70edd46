"""The first questions: consent to the use of the data, for whom, and the other person's
agreement."""

from __future__ import annotations

from bot import clock
from bot.context import JagaContext
from bot.registration import CHAT_FILLER, CONSENT_VERSION, NEGATIONS, Step, normalise
from handlers.common import Turn, say
from handlers.registration.common import StepDef, log, scratch_with
from handlers.registration.flow import advance, again
from storage import registrations, users
from storage.registrations import Registration


async def _consent(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    _ = turn.gettext
    if value == "why":
        text = _(
            "Kenapa data ini diminta?\n\n"
            "• NIK, nama, tanggal lahir, dan nama ibu kandung: BPJS memakainya untuk "
            "memastikan identitas.\n"
            "• Nomor HP: untuk memberi kabar.\n"
            "• Alamat: menentukan kabupaten yang memeriksa pendaftaran.\n"
            "• Pekerjaan dan penghasilan: menentukan besar iuran.\n"
            "• Ahli waris: orang yang menerima santunan bila terjadi sesuatu (boleh dilewati)."
        )
        await again(context, turn, text, r)
        return
    if value == "no":
        await registrations.delete_draft(context.db, turn.id, flow=None)
        await say(
            context,
            turn.chat_id,
            _(
                "Baik, tidak apa-apa. Tidak ada data yang disimpan. Ketik /daftar jika Anda "
                "berubah pikiran."
            ),
        )
        return
    await advance(
        context,
        turn,
        r,
        Step.CONSENT,
        consent_version=CONSENT_VERSION,
        consent_at=clock.utc_iso(clock.now()),
        scratch=scratch_with(r, region=context.settings.region),
    )


async def _consent_other(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    if value == "yes":
        log.info("event=registration_person_agreed registration=%s", r.id)
        await advance(context, turn, r, Step.CONSENT_OTHER)
        return
    # Not yet: the answers so far stay; /daftar continues here once the person has agreed.
    await users.set_active_flow(context.db, turn.id, None)
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Baik. Silakan minta izin orang yang didaftarkan dulu. Jawaban tadi tetap tersimpan; "
            "ketik /daftar untuk melanjutkan."
        ),
    )


async def _for_whom(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    me = value == "self"
    await advance(
        context,
        turn,
        r,
        Step.FOR_WHOM,
        for_self=int(me),
        worker_telegram_id=turn.id if me else None,
    )


# Words naming someone else at "Siapa yang didaftarkan?" ("untuk tetangga saya", "istri sy").
_OTHER_PERSON = frozenset(
    {"tetangga", "bapak", "ibu", "ayah", "mamak", "emak", "istri", "isteri", "bini", "suami",
     "anak", "adik", "adek", "kakak", "abang", "orang", "lain", "orangtua", "ortu", "mertua",
     "saudara", "keluarga", "warga", "dia", "beliau", "nenek", "kakek", "paman", "bibi", "tante",
     "keponakan", "ponakan", "cucu", "menantu", "teman", "kawan", "kenalan", "ipar", "other",
     "someone", "wife", "husband", "son", "daughter", "mother", "father", "neighbour",
     "neighbor"}
)  # fmt: skip
# Words naming oneself ("sy sendiri", "untuk saya", "diri sendiri").
_ONESELF = frozenset({"saya", "sendiri", "diri", "me", "myself", "self"})
# What else an answer naming only oneself may say ("untuk saya sendiri saja", "saya yang daftar").
_ONESELF_TOO = frozenset(
    {"untuk", "buat", "bagi", "yang", "ini", "daftar", "mendaftar", "daftarkan", "for", "just",
     "only", "it", "is"}
)  # fmt: skip
# Honorifics said to the bot at the end of an answer ("sy sendiri abang"): not a person meant.
_ADDRESS = frozenset({"abang", "kakak", "bapak", "ibu", "adik", "adek"})


def whom_of(text: str) -> str | None:
    """ "other" when a typed answer names another person (a neighbour, a relative, "untuk
    dia", "istrinya"), "self" when it names only oneself, else None (the buttons decide).

    Who is registered decides whose agreement is asked and whose account the worker's is, so
    a doubtful answer is never read as "self": a negation ("bukan untuk saya") or anything
    besides oneself ("pak budi sendiri", "orangnya sendiri") gives None or "other".
    """
    words = normalise(text).split()
    if len(words) > 8 or "?" in text or not NEGATIONS.isdisjoint(words):
        return None
    if len(words) > 1 and words[-1] in _ADDRESS and not _ONESELF.isdisjoint(words):
        words = words[:-1]
    # "istrinya", "bapaknya": someone's relative, whoever that someone is.
    if not _OTHER_PERSON.isdisjoint(words) or any(
        w.endswith("nya") and w[:-3] in _OTHER_PERSON | {"orang", "dia"} for w in words
    ):
        return "other"
    rest = [w for w in words if w not in _ONESELF and w not in _ONESELF_TOO]
    if not _ONESELF.isdisjoint(words) and all(w in CHAT_FILLER for w in rest):
        return "self"
    return None


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
STEPS: dict[Step, StepDef] = {
    Step.CONSENT: StepDef(pressed=_consent),
    Step.FOR_WHOM: StepDef(pressed=_for_whom),
    Step.CONSENT_OTHER: StepDef(pressed=_consent_other),
}
