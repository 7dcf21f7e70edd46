"""Asking: the text and buttons of the question a registration waits for, in full or in one
line (asked again after a problem or an answered question)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from bot import clock
from bot.access import access_of
from bot.context import JagaContext
from bot.contributions import load_table
from bot.i18n import N_
from bot.registration import (
    CONSENT_VERSION,
    EXAMPLE_NIK,
    HEIR_LABELS,
    HEIR_RELATIONS,
    OCCUPATION_CODES,
    OCCUPATION_LABELS,
    PERIODS,
    PROGRAM_LABELS,
    SYNONYMS,
    Choice,
    Step,
    check_nik,
    format_nik,
    kabupaten_choices,
    region_name,
)
from handlers.common import Keyboard, Turn, columns, layout, phone_request, say
from handlers.registration.common import (
    normal_total,
    quote_of,
    reg_data,
    step_of,
    turn_region,
)
from handlers.registration.pickers import region_options, region_rows, year_rows
from handlers.registration.summary import discount_note, summary_screen
from storage import registrations
from storage.registrations import Registration

# A question's text and its choices.
Question = tuple[str, Keyboard | None]

MONTHS = (
    N_("Januari"),
    N_("Februari"),
    N_("Maret"),
    N_("April"),
    N_("Mei"),
    N_("Juni"),
    N_("Juli"),
    N_("Agustus"),
    N_("September"),
    N_("Oktober"),
    N_("November"),
    N_("Desember"),
)


async def ask_current(
    context: JagaContext,
    turn: Turn,
    registration: Registration | None = None,
    note: str | None = None,
) -> None:
    """Ask the question the registration waits for (read from the database unless given),
    after `note` (what the last answer was read as) in the same message."""
    if registration is None:
        registration = await registrations.active_of(context.db, turn.id)
    if registration is None or registration.step is None:
        return
    if registration.step == Step.BIRTH_CONFIRM:
        registration = await _with_nik_birth(context, registration)
    if registration.step == Step.CONSENT:
        consent = await _consent_view(context, turn, registration)
        text, keyboard = question_of(turn, registration, consent=consent)
        if note:
            text = f"{note}\n\n{text}"
        await say(context, turn.chat_id, text, keyboard)
        return
    if registration.step == Step.SUMMARY:
        # The person who typed them sees NIK and phone in full, to catch typing mistakes.
        cipher = context.cipher
        nik = cipher.decrypt(registration.nik_enc) if registration.nik_enc else None
        phone = cipher.decrypt(registration.phone_enc) if registration.phone_enc else None
        text, keyboard = summary_screen(turn, registration, nik=nik, phone=phone)
    else:
        text, keyboard = question_of(turn, registration)
    if note:
        text = f"{note}\n\n{text}"
    await say(context, turn.chat_id, text, keyboard)


async def _with_nik_birth(context: JagaContext, r: Registration) -> Registration:
    """The registration with the NIK's birth date and sex in its scratch, read once from the
    stored NIK when missing (a fix request opens the birth-date check on a cleared scratch)."""
    scratch = json.loads(r.scratch or "{}")
    if scratch.get("nik_birth") or not r.nik_enc:
        return r
    check = check_nik(context.cipher.decrypt(r.nik_enc), clock.today())
    if check.birth_date is None:
        return r
    scratch.update(nik_birth=check.birth_date.isoformat(), nik_sex=check.sex)
    await registrations.update(context.db, r.id, scratch=json.dumps(scratch))  # a cache
    return r.with_answers(scratch=json.dumps(scratch))


async def _consent_view(context: JagaContext, turn: Turn, r: Registration) -> str:
    """Which consent text to show: "others" when someone else's data will be given (a cadre
    registers others), "short" (or "short_others") for a person who already agreed to this
    version of the text for an earlier registration, else "full"."""
    access = await access_of(context.db, context.settings, turn.id)
    others = r.for_self is False or (r.for_self is None and access.is_cadre)
    earlier = await registrations.by_operator(context.db, turn.id)
    agreed = any(e.consent_version == CONSENT_VERSION for e in earlier if e.id != r.id)
    if agreed:
        return "short_others" if others else "short"
    return "others" if others else "full"


def short_question(turn: Turn, r: Registration) -> tuple[str, Keyboard | None]:
    """The current question in one line, with its buttons: asked again after an answer to a
    question or a problem."""
    _ = turn.gettext
    step = step_of(r)
    me = bool(r.for_self)
    if step == Step.SUMMARY:
        _text, keyboard = summary_screen(turn, r, nik=None, phone=None)
        return _(
            "Jika data sudah benar, tekan Kirim. Untuk mengubah, tekan tombol Ubah."
        ), keyboard
    text, keyboard = question_of(turn, r)
    short = {
        Step.CONSENT: _("Apakah Anda setuju data tadi dipakai untuk pendaftaran ini?"),
        Step.NIK: _("Ketik NIK Anda (16 angka, ada di KTP).")
        if me
        else _("Ketik NIK orang yang didaftarkan (16 angka, ada di KTP)."),
        Step.BIRTH_CONFIRM: _("Apakah tanggal lahir dan jenis kelamin dari NIK tadi benar?"),
        Step.PHONE: _("Tekan tombol di bawah untuk mengirim nomor HP Anda, atau ketik nomornya.")
        if me
        else None,
        Step.INCOME: _(
            "Berapa kira-kira penghasilan per bulan? Ketik jumlahnya atau pilih tombol."
        ),
        Step.PROGRAMS: _("Pilih program: JKK + JKM, atau JKK + JKM + JHT."),
        Step.HEIR_NAME: _("Ketik nama ahli waris, atau tekan Lewati."),
    }.get(step)
    return short or text.split("\n\n")[0], keyboard


def question_of(turn: Turn, r: Registration, *, consent: str = "full") -> Question:
    """The text and buttons of the question a registration waits for (`consent`: which consent
    text, see ask_current)."""
    return QUESTIONS[step_of(r)](turn, r, consent)


def _ask_consent(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.CONSENT
    rows = [
        [(_("Setuju"), reg_data(step, "yes"))],
        [(_("Kenapa data diminta?"), reg_data(step, "why"))],
        [(_("Tidak"), reg_data(step, "no"))],
    ]
    if consent == "short":
        text = _(
            "Sama seperti pendaftaran sebelumnya: data hanya dipakai untuk pendaftaran BPJS "
            "Ketenagakerjaan dan dilihat petugas kabupaten dan BPJS. Apakah Anda setuju?"
        )
        return text, layout(rows)
    if consent == "short_others":
        text = _(
            "Sama seperti pendaftaran sebelumnya: data orang yang didaftarkan hanya dipakai "
            "untuk pendaftaran BPJS Ketenagakerjaan dan dilihat petugas kabupaten dan BPJS. "
            "Apakah Anda setuju?"
        )
        return text, layout(rows)
    if consent == "others":
        text = _(
            "Sebelum mulai, mohon baca ini.\n\n"
            "Kami akan menanyakan data orang yang didaftarkan: NIK, nama, tanggal lahir, nama "
            "ibu kandung, nomor HP, alamat, pekerjaan, penghasilan, dan ahli waris.\n\n"
            "Data ini hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan. Yang bisa "
            "melihatnya: petugas dinas tenaga kerja kabupaten dan BPJS Ketenagakerjaan. NIK "
            "dan nomor HP disimpan dalam bentuk tersandi. Foto KTP, bila dikirim, dihapus "
            "setelah dibaca.\n\n"
            "Orang yang didaftarkan boleh meminta datanya dihapus lewat Anda atau petugas "
            "kabupaten.\n\n"
            "Apakah Anda setuju?"
        )
        return text, layout(rows)
    text = _(
        "Sebelum mulai, mohon baca ini.\n\n"
        "Kami akan menanyakan NIK, nama, tanggal lahir, nama ibu kandung, nomor HP, alamat, "
        "pekerjaan, penghasilan, dan ahli waris.\n\n"
        "Data ini hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan. Yang bisa melihatnya: "
        "petugas dinas tenaga kerja kabupaten dan BPJS Ketenagakerjaan. NIK dan nomor HP "
        "disimpan dalam bentuk tersandi. Foto KTP, bila dikirim, dihapus setelah dibaca.\n\n"
        "Anda bisa melihat atau menghapus data Anda dengan /data_saya.\n\n"
        "Apakah Anda setuju?"
    )
    return text, layout(rows)


def _ask_for_whom(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.FOR_WHOM
    rows = [
        [(_("Diri saya sendiri"), reg_data(step, "self"))],
        [(_("Orang lain"), reg_data(step, "other"))],
    ]
    return _("Siapa yang didaftarkan?"), layout(rows)


def _ask_consent_other(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.CONSENT_OTHER
    text = _(
        "Sudah minta izin Ibu/Bapak yang didaftarkan?\n\n"
        "Datanya hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan. Dia boleh meminta "
        "datanya dihapus lewat Anda atau petugas kabupaten."
    )
    rows = [
        [(_("Sudah, dia setuju"), reg_data(step, "yes"))],
        [(_("Belum"), reg_data(step, "no"))],
    ]
    return text, layout(rows)


def _ask_nik(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    me = bool(r.for_self)
    scratch = json.loads(r.scratch or "{}")
    if scratch.get("by_photo"):
        return ktp_prompt(turn, me), layout([[(_("Ketik saja"), "KTP type")]])
    example = format_nik(EXAMPLE_NIK)
    by_photo = layout([[(_("Pakai foto KTP"), "KTP how")]])
    if me:
        return _("Ketik NIK Anda (16 angka, ada di KTP).\nContoh penulisan: {example}").format(
            example=example
        ), by_photo
    return _(
        "Ketik NIK orang yang didaftarkan (16 angka, ada di KTP).\nContoh penulisan: {example}"
    ).format(example=example), by_photo


def _ask_name(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    me = bool(r.for_self)
    return (
        _("Ketik nama lengkap Anda sesuai KTP.")
        if me
        else _("Ketik nama lengkap orang yang didaftarkan, sesuai KTP.")
    ), None


def _ask_birth_confirm(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.BIRTH_CONFIRM
    scratch = json.loads(r.scratch or "{}")
    if _differs_from_nik(r, scratch):
        return _birth_choice(turn, r, scratch)
    assert r.birth_date is not None  # read from the NIK
    sex = _("Laki-laki") if r.sex == "L" else _("Perempuan")
    text = _(
        "Nama: {name}\n\nDari NIK, kami membaca:\nTanggal lahir: {date}\nJenis kelamin: "
        "{sex}\n\nApakah ini benar?"
    ).format(
        name=r.name or "-",
        date=turn.tr.date(dt.date.fromisoformat(r.birth_date)),
        sex=sex,
    )
    return text, layout(
        [[(_("Benar"), reg_data(step, "yes")), (_("Salah"), reg_data(step, "no"))]]
    )


def _ask_birth_year(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    scratch = json.loads(r.scratch or "{}")
    return _("Pilih tahun lahir, atau ketik angkanya."), layout(
        year_rows(turn, scratch.get("decade"))
    )


def _ask_birth_month(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.BIRTH_MONTH
    buttons = [(_(m), reg_data(step, str(i))) for i, m in enumerate(MONTHS, start=1)]
    return _("Pilih bulan lahir, atau ketik angkanya."), layout(columns(buttons, 3))


def _ask_birth_day(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.BIRTH_DAY
    scratch = json.loads(r.scratch or "{}")
    year, month = scratch["birth_year"], scratch["birth_month"]
    days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    buttons = [(str(d), reg_data(step, str(d))) for d in range(1, days + 1)]
    return _("Pilih tanggal lahir, atau ketik angkanya."), layout(columns(buttons, 7))


def _ask_sex(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.SEX
    rows = [[(_("Laki-laki"), reg_data(step, "L")), (_("Perempuan"), reg_data(step, "P"))]]
    return _("Pilih jenis kelamin."), layout(rows)


def _ask_mother(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    me = bool(r.for_self)
    text = (
        _("Ketik nama ibu kandung Anda.")
        if me
        else _("Ketik nama ibu kandung orang yang didaftarkan.")
    )
    return text + "\n" + _("BPJS memakainya untuk memastikan identitas."), None


def _ask_phone(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.PHONE
    me = bool(r.for_self)
    if me:
        keyboard = phone_request(_("Kirim nomor HP saya"))
        return _(
            "Tekan tombol di bawah untuk mengirim nomor HP Anda, atau ketik nomornya "
            "(misalnya 0812 3456 7890)."
        ), keyboard
    rows = [[(_("Tidak punya HP"), reg_data(step, "none"))]]
    return _("Ketik nomor HP orang yang didaftarkan (misalnya 0812 3456 7890)."), layout(rows)


def _ask_kabupaten(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.KABUPATEN
    me = bool(r.for_self)
    scratch = json.loads(r.scratch or "{}")
    options = kabupaten_choices(turn_region(r, scratch))
    text = (
        _("Di kabupaten/kota mana Anda tinggal sekarang? Pilih, atau ketik namanya.")
        if me
        else _("Di kabupaten/kota mana tempat tinggalnya sekarang? Pilih, atau ketik namanya.")
    )
    return text, layout(region_rows(turn, step, options, scratch.get("page", 0)))


def _ask_kecamatan(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.KECAMATAN
    scratch = json.loads(r.scratch or "{}")
    options = region_options(step, r)
    text = _("Pilih kecamatan di {place}, atau ketik namanya.").format(
        place=region_name(r.kabupaten_code)
    )
    # A way back to the kabupaten list when there is more than one to choose from.
    up = "home" in scratch or len(kabupaten_choices(turn_region(r, scratch))) > 1
    rows = region_rows(turn, step, options, scratch.get("page", 0), up)
    return text, layout(rows)


def _ask_desa(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.DESA
    scratch = json.loads(r.scratch or "{}")
    options = region_options(step, r)
    text = _("Pilih desa/kelurahan di Kecamatan {place}, atau ketik sebagian namanya.").format(
        place=region_name(r.kecamatan_code)
    )
    # Always a way back to the kecamatan list: a wrong kecamatan is a common slip.
    rows = region_rows(turn, step, options, scratch.get("page", 0), True)
    return text, layout(rows)


def _ask_occupation(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.OCCUPATION
    me = bool(r.for_self)
    buttons = [(_(OCCUPATION_LABELS[c]), reg_data(step, c)) for c in OCCUPATION_CODES]
    text = _("Apa pekerjaan Anda?") if me else _("Apa pekerjaan orang yang didaftarkan?")
    return text, layout(columns(buttons, 2))


def _ask_occupation_other(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    return _("Ketik pekerjaannya (misalnya: tukang kayu)."), None


def _ask_income(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.INCOME
    me = bool(r.for_self)
    table = load_table()
    buttons = []
    for bracket in table.brackets[:6]:
        if bracket.income_from == 0:
            label = _("Sampai {amount}").format(amount=turn.tr.money(bracket.income_to))
        else:
            label = f"{turn.tr.money(bracket.income_from)} – {turn.tr.money(bracket.income_to)}"
        buttons.append((label, reg_data(step, f"b{bracket.number}")))
    text = _(
        "Berapa kira-kira penghasilan per bulan?\nPilih tombol, atau ketik jumlahnya "
        "(misalnya 1,5 juta)."
    )
    if not me:
        text = _(
            "Berapa kira-kira penghasilan orang yang didaftarkan per bulan?\nPilih tombol, "
            "atau ketik jumlahnya (misalnya 1,5 juta)."
        )
    return text, layout([[b] for b in buttons])


def _ask_programs(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.PROGRAMS
    table = load_table()
    assert r.income is not None  # asked just before
    bracket = table.bracket_for(r.income)
    rows = []
    for code, with_jht in (("JKK_JKM", False), ("JKK_JKM_JHT", True)):
        amount = normal_total(r.income, with_jht)
        label = _("{programs}: {amount}/bulan").format(
            programs=PROGRAM_LABELS[code], amount=turn.tr.money(amount)
        )
        rows.append([(label, reg_data(step, code))])
    text = _(
        "Pilih program:\n"
        "• JKK: jaminan kecelakaan kerja\n"
        "• JKM: jaminan kematian\n"
        "• JHT: tabungan hari tua (boleh tidak ikut)"
    )
    if not bracket.mark.plain:
        text += "\n\n" + _(
            "Besar iuran menurut tabel penghasilan BPJS; petugas akan memeriksanya lagi."
        )
    return text, layout(rows)


def _ask_period(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.PERIOD
    q = quote_of(r)  # the amounts of the summary: same payer, sector and day
    buttons = [
        (
            _("{months} bulan ({amount})").format(
                months=m, amount=turn.tr.money(q.period_total(m))
            ),
            reg_data(step, str(m)),
        )
        for m in PERIODS
    ]
    text = _("Iuran dibayar untuk berapa bulan sekaligus?")
    if discount_note(turn, r):
        text += "\n" + _("Iuran per bulan: {value}").format(value=turn.tr.money(q.to_pay))
        text += " " + (discount_note(turn, r) or "")
    return text, layout(columns(buttons, 2))


def _ask_payer(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.PAYER
    me = bool(r.for_self)
    rows = [
        [(_("Saya sendiri") if me else _("Dia sendiri"), reg_data(step, "sendiri"))],
        [(_("Program desa / kabupaten"), reg_data(step, "program"))],
    ]
    text = _(
        "Siapa yang membayar iuran?\n"
        "Jika ikut program bantuan iuran dari desa atau kabupaten, pilih Program. "
        "Petugas kabupaten akan menentukan sumber dananya."
    )
    return text, layout(rows)


def _ask_heir_name(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.HEIR_NAME
    me = bool(r.for_self)
    scratch = json.loads(r.scratch or "{}")
    if scratch.get("heir_said") in HEIR_LABELS:
        # The relation said alone ("ibunya"): its name is asked; the mother's is offered.
        rows = [[(_("Lewati"), reg_data(step, "skip"))]]
        if scratch.get("heir_mother") and r.mother_name:
            rows.insert(0, [(r.mother_name, reg_data(step, "mother"))])
            text = _(
                "Ahli waris: ibu kandung. Apakah namanya {mother}? Tekan namanya, atau ketik "
                "nama lain."
            ).format(mother=r.mother_name)
            return text, layout(rows)
        relation = HEIR_LABELS[scratch["heir_said"]]  # not inside _(): the key is no message
        text = _("Ahli waris: {relation}. Siapa namanya? Ketik namanya.").format(
            relation=_(relation)
        )
        return text, layout(rows)
    text = _(
        "Siapa ahli warisnya? Ahli waris adalah orang yang menerima santunan bila "
        "terjadi sesuatu.\n"
        "Ketik namanya, atau tekan Lewati."
    )
    if not me:
        text = _(
            "Siapa ahli waris orang yang didaftarkan? Ahli waris adalah orang yang menerima "
            "santunan bila terjadi sesuatu.\nKetik namanya, atau tekan Lewati."
        )
    return text, layout([[(_("Lewati"), reg_data(step, "skip"))]])


def _ask_heir_relation(turn: Turn, r: Registration, consent: str) -> Question:
    _ = turn.gettext
    step = Step.HEIR_RELATION
    scratch = json.loads(r.scratch or "{}")
    buttons = [(_(HEIR_LABELS[c]), reg_data(step, c)) for c in HEIR_RELATIONS]
    guess = scratch.get("heir_guess")
    if guess in HEIR_LABELS:
        # Read from the answer ("istri sy rina wati"): confirm with one press.
        text = _("Ahli waris: {name}, hubungan: {relation}. Benar?").format(
            name=r.heir_name, relation=_(HEIR_LABELS[guess])
        )
        others = [b for b in buttons if not b[1].endswith(" " + guess)]
        return text, layout([[(_("Benar"), reg_data(step, guess))], *columns(others, 2)])
    return _("Apa hubungan ahli waris dengan peserta?"), layout(columns(buttons, 2))


def _ask_summary(turn: Turn, r: Registration, consent: str) -> Question:
    # NIK and phone as stored (masked); ask_current shows them in full to their writer.
    return summary_screen(turn, r, nik=None, phone=None)


# Each question's text and buttons (`consent` is used by the consent question alone).
QUESTIONS: dict[Step, Callable[[Turn, Registration, str], Question]] = {
    Step.CONSENT: _ask_consent,
    Step.FOR_WHOM: _ask_for_whom,
    Step.CONSENT_OTHER: _ask_consent_other,
    Step.NIK: _ask_nik,
    Step.NAME: _ask_name,
    Step.BIRTH_CONFIRM: _ask_birth_confirm,
    Step.BIRTH_YEAR: _ask_birth_year,
    Step.BIRTH_MONTH: _ask_birth_month,
    Step.BIRTH_DAY: _ask_birth_day,
    Step.SEX: _ask_sex,
    Step.MOTHER: _ask_mother,
    Step.PHONE: _ask_phone,
    Step.KABUPATEN: _ask_kabupaten,
    Step.KECAMATAN: _ask_kecamatan,
    Step.DESA: _ask_desa,
    Step.OCCUPATION: _ask_occupation,
    Step.OCCUPATION_OTHER: _ask_occupation_other,
    Step.INCOME: _ask_income,
    Step.PROGRAMS: _ask_programs,
    Step.PERIOD: _ask_period,
    Step.PAYER: _ask_payer,
    Step.HEIR_NAME: _ask_heir_name,
    Step.HEIR_RELATION: _ask_heir_relation,
    Step.SUMMARY: _ask_summary,
}


def _differs_from_nik(r: Registration, scratch: dict[str, Any]) -> bool:
    """Whether the birth date or sex as answered is not what the NIK says."""
    nik_birth = scratch.get("nik_birth")
    if not nik_birth or r.birth_date is None:
        return False
    nik_sex = scratch.get("nik_sex")
    return r.birth_date != nik_birth or bool(nik_sex and r.sex != nik_sex)


def _birth_choice(turn: Turn, r: Registration, scratch: dict[str, Any]) -> tuple[str, Any]:
    """The birth-date check when the answer differs from the NIK: both dates shown, the one
    given kept, the NIK's taken, or another typed."""
    _ = turn.gettext
    assert r.birth_date is not None
    step = Step.BIRTH_CONFIRM
    given = turn.tr.date(dt.date.fromisoformat(r.birth_date))
    from_nik = turn.tr.date(dt.date.fromisoformat(scratch["nik_birth"]))
    sex = _("Laki-laki") if r.sex == "L" else _("Perempuan")
    lines = [_("Nama: {name}").format(name=r.name or "-"), ""]
    if r.birth_date != scratch["nik_birth"]:
        lines.append(_("Tanggal lahir berbeda dengan NIK."))
        lines.append(_("Menurut NIK: {date}.").format(date=from_nik))
        lines.append(_("Yang diisi: {date}.").format(date=given))
    else:
        lines.append(_("Tanggal lahir: {date}").format(date=given))
    lines.append(_("Jenis kelamin: {sex}").format(sex=sex))
    lines += ["", _("NIK kadang memuat tanggal yang salah. Mana yang benar?")]
    rows = [
        [(_("Yang diisi: {date}").format(date=given), reg_data(step, "yes"))],
        [(_("Menurut NIK: {date}").format(date=from_nik), reg_data(step, "nik"))],
        [(_("Ketik tanggal lain"), reg_data(step, "no"))],
    ]
    if r.birth_date == scratch["nik_birth"]:  # only the sex differs
        rows = [[(_("Benar"), reg_data(step, "yes")), (_("Salah"), reg_data(step, "no"))]]
        lines[-1] = _("Apakah ini benar?")
    return "\n".join(lines), layout(rows)


def ktp_prompt(turn: Turn, me: bool) -> str:
    _ = turn.gettext
    if me:
        return _(
            "Silakan kirim foto bagian depan KTP Anda. Foto di tempat terang, lurus, seluruh "
            "kartu terlihat. Foto dibaca lalu langsung dihapus."
        )
    return _(
        "Silakan kirim foto bagian depan KTP orang yang didaftarkan. Foto di tempat terang, "
        "lurus, seluruh kartu terlihat. Foto dibaca lalu langsung dihapus."
    )


def offered_choices(turn: Turn, r: Registration) -> list[Choice]:
    """The answers the current question offers, read from the buttons it shows, with the other
    words people type for them."""
    step = step_of(r)
    if step == Step.SUMMARY:
        _text, keyboard = summary_screen(turn, r, nik=None, phone=None)
    else:
        _text, keyboard = question_of(turn, r)
    synonyms = SYNONYMS.get(step, {})
    prefix = f"REG {step} "
    found: list[Choice] = []
    if keyboard is not None:
        for button in keyboard.choices:
            data = button.id
            if data.startswith(prefix):
                value = data.removeprefix(prefix)
                words = synonyms.get(value, ())
                if step == Step.HEIR_RELATION and button.label == turn.gettext("Benar"):
                    words = SYNONYMS[Step.BIRTH_CONFIRM]["yes"]
                found.append(Choice(button.label, value, words))
    if step == Step.BIRTH_YEAR:
        # A year can be typed while the decades are shown.
        this_year = clock.today().year
        shown = {c.value for c in found}
        found += [
            Choice(str(y), str(y), shown=False)
            for y in range(this_year - 100, this_year + 1)
            if str(y) not in shown
        ]
    return found
