"""/daftar: a worker registers (or a cadre registers a neighbour), one question at a time.

Every answer is committed to the registration row before the next question is sent, so a
restart continues at the same question. Buttons carry `REG <step> <value>`; a press whose step
is not the one the registration waits for is a stale button and is answered as such.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from bot import clock
from bot.context import JagaContext
from bot.contributions import is_transport, load_table
from bot.crypto import mask_nik
from bot.i18n import N_
from bot.registration import (
    CONSENT_VERSION,
    EXAMPLE_NIK,
    FIELDS,
    HEIR_LABELS,
    HEIR_RELATIONS,
    OCCUPATION_CODES,
    OCCUPATION_LABELS,
    ORDER,
    PERIODS,
    PROGRAM_LABELS,
    STATUS_WORDS,
    Step,
    age_on,
    check_free_text,
    check_income,
    check_name,
    check_nik,
    check_phone,
    children,
    flags_for,
    format_nik,
    kabupaten_choices,
    next_step,
    reference,
    region_name,
    search_regions,
)
from handlers.common import Button, Turn, answer_button, columns, inline, say
from storage import registrations, review, users

log = logging.getLogger(__name__)

FLOW = "daftar"
# A step's handler of a typed answer or a button value: (context, turn, registration, input).
TextAnswer = Callable[[JagaContext, Turn, dict[str, Any], str], Coroutine[Any, Any, None]]
PAGE_SIZE = 10

FIELD_LABELS = {
    "nik": N_("Ubah NIK"),
    "name": N_("Ubah nama"),
    "birth_date": N_("Ubah tgl lahir"),
    "mother_name": N_("Ubah nama ibu"),
    "phone": N_("Ubah no. HP"),
    "address": N_("Ubah alamat"),
    "occupation": N_("Ubah pekerjaan"),
    "income": N_("Ubah penghasilan"),
    "programs": N_("Ubah program"),
    "pay_period": N_("Ubah masa bayar"),
    "payer": N_("Ubah pembayar"),
    "heir": N_("Ubah ahli waris"),
}
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


# --- entry points -------------------------------------------------------------------------------


async def daftar(update: Update, context: JagaContext) -> None:
    """Starts a registration with the consent question, or offers to continue an unsent one."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    current = await registrations.active_of(context.db, turn.id)
    if current is not None and current["status"] == "draft" and current["step"] != Step.CONSENT:
        await users.set_active_flow(context.db, turn.id, FLOW)
        keyboard = inline([[(_("Lanjutkan"), "REGX go"), (_("Mulai ulang"), "REGX new")]])
        await say(
            context,
            turn.chat_id,
            _("Ada pendaftaran yang belum selesai. Lanjutkan dari pertanyaan terakhir?"),
            keyboard,
        )
        return
    await _start_new(context, turn)


async def _start_new(context: JagaContext, turn: Turn) -> None:
    await registrations.create_draft(context.db, turn.id, Step.CONSENT)
    await users.set_active_flow(context.db, turn.id, FLOW)
    await _ask_current(context, turn)


async def resume_choice(update: Update, context: JagaContext) -> None:
    """Continues the unsent registration at its question, or starts over."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_button(query)
    turn = await Turn.load(update, context)
    if query.data == "REGX new":
        await _start_new(context, turn)
        return
    if await registrations.active_of(context.db, turn.id) is None:
        await say(context, turn.chat_id, turn.gettext("Tidak ada pendaftaran yang belum selesai."))
        await _start_new(context, turn)
        return
    await users.set_active_flow(context.db, turn.id, FLOW)
    await _ask_current(context, turn)


async def fix(update: Update, context: JagaContext) -> None:
    """Opens exactly the questions a reviewer asked to fix (`FIX <id>`), the first one first."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    value = query.data.removeprefix("FIX ")
    r = await registrations.get(context.db, int(value)) if value.isdigit() else None
    request = None
    allowed = r is not None and turn.id in (r["operator_id"], r["worker_telegram_id"])
    if r is not None and allowed and r["status"] == "perlu_perbaikan":
        request = await review.open_fix_request(context.db, r["id"])
    if r is None or request is None:
        await answer_button(query, _("Tombol ini sudah tidak berlaku."))
        return
    await answer_button(query)
    requested, note = request
    fields = sorted((f for f in requested if f in FIELDS), key=lambda f: ORDER.index(FIELDS[f][0]))
    if not fields:
        fields = ["name"]  # a request with no known field: let them check everything from the name
    await registrations.update(
        context.db,
        r["id"],
        step=FIELDS[fields[0]][0],
        editing=1,
        scratch=_scratch(r, fixing=fields, page=None, decade=None, correcting_birth=None),
    )
    await users.set_active_flow(context.db, turn.id, FLOW)
    lines = [_("Perbaikan untuk pendaftaran {ref}.").format(ref=r["ref"])]
    if note:
        lines.append(_("Catatan petugas: {note}").format(note=note))
    await say(context, turn.chat_id, "\n".join(lines))
    await _ask_current(context, turn)


async def on_cancel(context: JagaContext, telegram_id: int) -> None:
    """Discards the unsent draft; a fix in progress is left as it was before the fix began."""
    await registrations.delete_draft(context.db, telegram_id)
    current = await registrations.active_of(context.db, telegram_id)
    if current is not None:
        await registrations.update(context.db, current["id"], step=None, editing=0, scratch="{}")


async def on_message(update: Update, context: JagaContext) -> None:
    """Takes a typed answer (or a shared contact) for the current question, then asks the next."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    message = update.message
    registration = await registrations.active_of(context.db, turn.id)
    if message is None:
        return
    if registration is None or registration["step"] is None:
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            _("Tidak ada pendaftaran yang sedang berjalan. Ketik /daftar untuk mulai."),
        )
        return
    step = Step(registration["step"])
    if message.contact is not None and step == Step.PHONE:
        await _answer_contact(
            context, turn, registration, message.contact.phone_number, message.contact.user_id
        )
        return
    if not message.text:
        await say(
            context,
            turn.chat_id,
            _(
                "Maaf, saya hanya bisa membaca tulisan. Silakan jawab dengan mengetik atau "
                "menekan tombol."
            ),
        )
        await _ask_current(context, turn)
        return
    handler = _TEXT_ANSWERS.get(step)
    if handler is None:
        await say(context, turn.chat_id, _("Silakan pilih salah satu tombol di bawah."))
        await _ask_current(context, turn)
        return
    await handler(context, turn, registration, message.text[:500])


async def button(update: Update, context: JagaContext) -> None:
    """Takes a button answer `REG <step> <value>` if the registration waits for that step."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    parts = query.data.split(" ", 2)
    registration = await registrations.active_of(context.db, turn.id)
    if len(parts) != 3 or registration is None or registration["step"] != parts[1]:
        await answer_button(query, turn.gettext("Tombol ini sudah tidak berlaku."))
        if registration is not None and registration["step"] is not None:
            await users.set_active_flow(context.db, turn.id, FLOW)
            await _ask_current(context, turn)
        return
    # The press is acknowledged while the answer is stored and the next question sent, so
    # neither waits for the other's Bot API round trip.
    acknowledged = asyncio.create_task(answer_button(query))
    try:
        if turn.user.active_flow != FLOW:
            await users.set_active_flow(context.db, turn.id, FLOW)
        await _CHOICES[Step(parts[1])](context, turn, registration, parts[2])
    finally:
        await acknowledged


# --- asking -------------------------------------------------------------------------------------


async def _ask_current(
    context: JagaContext, turn: Turn, registration: dict[str, Any] | None = None
) -> None:
    """Ask the question the registration waits for (read from the database unless given)."""
    if registration is None:
        registration = await registrations.active_of(context.db, turn.id)
    if registration is None or registration["step"] is None:
        return
    if registration["step"] == Step.SUMMARY:
        # The person who typed them sees NIK and phone in full, to catch typing mistakes.
        cipher = context.cipher
        nik = cipher.decrypt(registration["nik_enc"]) if registration["nik_enc"] else None
        phone = cipher.decrypt(registration["phone_enc"]) if registration["phone_enc"] else None
        text, keyboard = _summary(turn, registration, nik=nik, phone=phone)
    else:
        text, keyboard = _question(turn, registration)
    await say(context, turn.chat_id, text, keyboard)


def _b(step: Step, value: str) -> str:
    return f"REG {step} {value}"


def _question(turn: Turn, r: dict[str, Any]) -> tuple[str, Any]:
    """The text and buttons of the question a registration waits for."""
    _ = turn.gettext
    step = Step(r["step"])
    me = bool(r["for_self"])
    scratch = json.loads(r["scratch"] or "{}")
    if step == Step.CONSENT:
        text = _(
            "Sebelum mulai, mohon baca ini.\n\n"
            "Kami akan menanyakan NIK, nama, tanggal lahir, nama ibu kandung, nomor HP, alamat, "
            "pekerjaan, penghasilan, dan ahli waris.\n\n"
            "Data ini hanya dipakai untuk pendaftaran BPJS Ketenagakerjaan. Yang bisa melihatnya: "
            "petugas dinas tenaga kerja kabupaten dan BPJS Ketenagakerjaan. NIK dan nomor HP "
            "disimpan dalam bentuk tersandi.\n\n"
            "Anda bisa melihat atau menghapus data Anda dengan /data_saya.\n\n"
            "Apakah Anda setuju?"
        )
        rows = [
            [(_("Setuju"), _b(step, "yes"))],
            [(_("Kenapa data saya diminta?"), _b(step, "why"))],
            [(_("Tidak"), _b(step, "no"))],
        ]
        return text, inline(rows)
    if step == Step.FOR_WHOM:
        rows = [
            [(_("Diri saya sendiri"), _b(step, "self"))],
            [(_("Orang lain"), _b(step, "other"))],
        ]
        return _("Siapa yang didaftarkan?"), inline(rows)
    if step == Step.NIK:
        example = format_nik(EXAMPLE_NIK)
        if me:
            return _("Ketik NIK Anda (16 angka, ada di KTP).\nContoh penulisan: {example}").format(
                example=example
            ), None
        return _(
            "Ketik NIK orang yang didaftarkan (16 angka, ada di KTP).\nContoh penulisan: {example}"
        ).format(example=example), None
    if step == Step.NAME:
        return (
            _("Ketik nama lengkap Anda sesuai KTP.")
            if me
            else _("Ketik nama lengkapnya sesuai KTP.")
        ), None
    if step == Step.BIRTH_CONFIRM:
        sex = _("Laki-laki") if r["sex"] == "L" else _("Perempuan")
        text = _(
            "Nama: {name}\n\nDari NIK, kami membaca:\nTanggal lahir: {date}\nJenis kelamin: "
            "{sex}\n\nApakah ini benar?"
        ).format(
            name=r["name"] or "-",
            date=turn.tr.date(dt.date.fromisoformat(r["birth_date"])),
            sex=sex,
        )
        return text, inline([[(_("Benar"), _b(step, "yes")), (_("Salah"), _b(step, "no"))]])
    if step == Step.BIRTH_YEAR:
        return _("Pilih tahun lahir."), inline(_year_rows(turn, scratch.get("decade")))
    if step == Step.BIRTH_MONTH:
        buttons = [(_(m), _b(step, str(i))) for i, m in enumerate(MONTHS, start=1)]
        return _("Pilih bulan lahir."), inline(columns(buttons, 3))
    if step == Step.BIRTH_DAY:
        year, month = scratch["birth_year"], scratch["birth_month"]
        days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
        buttons = [(str(d), _b(step, str(d))) for d in range(1, days + 1)]
        return _("Pilih tanggal lahir."), inline(columns(buttons, 7))
    if step == Step.SEX:
        rows = [[(_("Laki-laki"), _b(step, "L")), (_("Perempuan"), _b(step, "P"))]]
        return _("Pilih jenis kelamin."), inline(rows)
    if step == Step.MOTHER:
        text = _("Ketik nama ibu kandung Anda.") if me else _("Ketik nama ibu kandungnya.")
        return text + "\n" + _("BPJS memakainya untuk memastikan identitas."), None
    if step == Step.PHONE:
        if me:
            keyboard = ReplyKeyboardMarkup(
                [[KeyboardButton(_("Kirim nomor HP saya"), request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
            return _(
                "Tekan tombol di bawah untuk mengirim nomor HP Anda, atau ketik nomornya "
                "(misalnya 0812 3456 7890)."
            ), keyboard
        rows = [[(_("Tidak punya HP"), _b(step, "none"))]]
        return _("Ketik nomor HP orang yang didaftarkan (misalnya 0812 3456 7890)."), inline(rows)
    if step == Step.KABUPATEN:
        options = kabupaten_choices(turn_region(r, scratch))
        text = _("Di kabupaten/kota mana tempat tinggalnya sekarang? Pilih, atau ketik namanya.")
        return text, inline(_region_rows(turn, step, options, scratch.get("page", 0)))
    if step == Step.KECAMATAN:
        options = children(r["kabupaten_code"])
        text = _("Pilih kecamatan di {place}, atau ketik namanya.").format(
            place=region_name(r["kabupaten_code"])
        )
        return text, inline(_region_rows(turn, step, options, scratch.get("page", 0)))
    if step == Step.DESA:
        options = children(r["kecamatan_code"])
        text = _("Pilih desa/kelurahan di Kecamatan {place}, atau ketik sebagian namanya.").format(
            place=region_name(r["kecamatan_code"])
        )
        return text, inline(_region_rows(turn, step, options, scratch.get("page", 0)))
    if step == Step.OCCUPATION:
        buttons = [(_(OCCUPATION_LABELS[c]), _b(step, c)) for c in OCCUPATION_CODES]
        text = _("Apa pekerjaan Anda?") if me else _("Apa pekerjaannya?")
        return text, inline(columns(buttons, 2))
    if step == Step.OCCUPATION_OTHER:
        return _("Ketik pekerjaannya (misalnya: tukang kayu)."), None
    if step == Step.INCOME:
        table = load_table()
        buttons = []
        for bracket in table.brackets[:6]:
            if bracket.income_from == 0:
                label = _("Sampai {amount}").format(amount=turn.tr.money(bracket.income_to))
            else:
                label = (
                    f"{turn.tr.money(bracket.income_from)} – {turn.tr.money(bracket.income_to)}"
                )
            buttons.append((label, _b(step, f"b{bracket.number}")))
        text = _(
            "Berapa kira-kira penghasilan per bulan?\nPilih tombol, atau ketik jumlahnya "
            "(misalnya 1,5 juta)."
        )
        return text, inline([[b] for b in buttons])
    if step == Step.PROGRAMS:
        table = load_table()
        bracket = table.bracket_for(r["income"])
        rows = []
        for code, with_jht in (("JKK_JKM", False), ("JKK_JKM_JHT", True)):
            amount = _normal_total(r, with_jht)
            label = _("{programs}: {amount}/bulan").format(
                programs=PROGRAM_LABELS[code], amount=turn.tr.money(amount)
            )
            rows.append([(label, _b(step, code))])
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
        return text, inline(rows)
    if step == Step.PERIOD:
        monthly = r["monthly_contribution"] or 0
        buttons = [
            (
                _("{months} bulan ({amount})").format(months=m, amount=turn.tr.money(monthly * m)),
                _b(step, str(m)),
            )
            for m in PERIODS
        ]
        return _("Iuran dibayar untuk berapa bulan sekaligus?"), inline(columns(buttons, 2))
    if step == Step.PAYER:
        rows = [
            [(_("Saya sendiri") if me else _("Dia sendiri"), _b(step, "sendiri"))],
            [(_("Program desa / kabupaten"), _b(step, "program"))],
        ]
        text = _(
            "Siapa yang membayar iuran?\n"
            "Jika ikut program bantuan iuran dari desa atau kabupaten, pilih Program. "
            "Petugas kabupaten akan menentukan sumber dananya."
        )
        return text, inline(rows)
    if step == Step.HEIR_NAME:
        text = _(
            "Siapa ahli warisnya? Ahli waris adalah orang yang menerima santunan bila "
            "terjadi sesuatu.\n"
            "Ketik namanya, atau tekan Lewati."
        )
        return text, inline([[(_("Lewati"), _b(step, "skip"))]])
    if step == Step.HEIR_RELATION:
        buttons = [(_(HEIR_LABELS[c]), _b(step, c)) for c in HEIR_RELATIONS]
        return _("Apa hubungan ahli waris dengan peserta?"), inline(columns(buttons, 2))
    raise AssertionError(f"no question for step {step}")  # the summary is built by _ask_current


def turn_region(r: dict[str, Any], scratch: dict[str, Any]) -> str:
    """The deployment region stored for this draft when it started."""
    return str(scratch.get("region", "12"))


def _year_rows(turn: Turn, decade: int | None) -> list[list[Button]]:
    this_year = clock.today().year
    if decade is None:
        decades = range((this_year - 80) // 10 * 10, this_year - 10, 10)
        buttons = [(f"{d}–{d + 9}", _b(Step.BIRTH_YEAR, f"d{d}")) for d in decades]
        return columns(buttons, 3)
    years = [
        (str(y), _b(Step.BIRTH_YEAR, str(y)))
        for y in range(decade, min(decade + 10, this_year + 1))
    ]
    return [*columns(years, 5), [(turn.gettext("‹ Kembali"), _b(Step.BIRTH_YEAR, "back"))]]


def _region_rows(
    turn: Turn, step: Step, options: tuple[Any, ...], page: int
) -> list[list[Button]]:
    _ = turn.gettext
    start = page * PAGE_SIZE
    shown = options[start : start + PAGE_SIZE]
    rows = columns([(w.name, _b(step, w.code)) for w in shown], 2)
    nav: list[Button] = []
    if page > 0:
        nav.append((_("‹ Sebelumnya"), _b(step, f"p{page - 1}")))
    if start + PAGE_SIZE < len(options):
        nav.append((_("Berikutnya ›"), _b(step, f"p{page + 1}")))
    return [*rows, nav] if nav else rows


def _normal_total(r: dict[str, Any], with_jht: bool) -> int:
    table = load_table()
    contribution = table.monthly(
        table.bracket_for(r["income"]),
        with_jht=with_jht,
        on=clock.today(),
        transport=False,
        government_paid=True,
    )
    return contribution.normal_total


def _summary(
    turn: Turn, r: dict[str, Any], *, nik: str | None, phone: str | None
) -> tuple[str, Any]:
    _ = turn.gettext
    tr = turn.tr
    address = ", ".join(
        region_name(code) for code in (r["desa_code"], r["kecamatan_code"], r["kabupaten_code"])
    )
    occupation = (
        r["occupation_other"]
        if r["occupation"] == "lainnya"
        else _(OCCUPATION_LABELS.get(r["occupation"], "-"))
    )
    heir = "-"
    if r["heir_name"]:
        heir = f"{r['heir_name']} ({_(HEIR_LABELS.get(r['heir_relation'] or '', '-'))})"
    lines = [
        _("Periksa data berikut:"),
        "",
        _("NIK: {value}").format(value=format_nik(nik) if nik else "-"),
        _("Nama: {value}").format(value=r["name"]),
        _("Tanggal lahir: {value}").format(value=tr.date(dt.date.fromisoformat(r["birth_date"]))),
        _("Jenis kelamin: {value}").format(
            value=_("Laki-laki") if r["sex"] == "L" else _("Perempuan")
        ),
        _("Nama ibu kandung: {value}").format(value=r["mother_name"]),
        _("No. HP: {value}").format(value=phone or "-"),
        _("Alamat: {value}").format(value=address),
        _("Pekerjaan: {value}").format(value=occupation),
        _("Penghasilan per bulan: {value}").format(value=tr.money(r["income"])),
        _("Program: {value}").format(value=PROGRAM_LABELS.get(r["programs"], "-")),
        _("Iuran per bulan: {value}").format(value=tr.money(r["monthly_contribution"] or 0)),
        _("Dibayar sekaligus untuk: {months} bulan").format(months=r["pay_period_months"]),
        _("Pembayar: {value}").format(
            value=_("Sendiri") if r["payer"] == "sendiri" else _("Program desa / kabupaten")
        ),
        _("Ahli waris: {value}").format(value=heir),
    ]
    discount = _discount_note(turn, r)
    if discount:
        lines += ["", discount]
    fixing = r["status"] == "perlu_perbaikan"
    lines += [
        "",
        _("Jika sudah benar, tekan Kirim perbaikan.")
        if fixing
        else _("Jika sudah benar, tekan Kirim."),
    ]
    edit = [(_(label), _b(Step.SUMMARY, f"e:{field}")) for field, label in FIELD_LABELS.items()]
    send = _("Kirim perbaikan") if fixing else _("Kirim")
    return "\n".join(lines), inline([*columns(edit, 2), [(send, _b(Step.SUMMARY, "send"))]])


def _discount_note(turn: Turn, r: dict[str, Any]) -> str | None:
    """The PP 50/2025 discount line when it applies today to a self-paying worker."""
    if r["payer"] != "sendiri" or not r["income"]:
        return None
    table = load_table()
    transport = is_transport(r["occupation"]) if r["occupation"] else False
    contribution = table.monthly(
        table.bracket_for(r["income"]),
        with_jht=r["programs"] == "JKK_JKM_JHT",
        on=clock.today(),
        transport=transport,
        government_paid=False,
    )
    if not contribution.discount_applies:
        return None
    end = table.discount.window(transport=transport).end
    return turn.gettext(
        "Menurut PP 50/2025, iuran JKK dan JKM dipotong 50 persen sampai {end}. "
        "Selama itu iuran per bulan menjadi {amount}."
    ).format(end=turn.tr.date(end), amount=turn.tr.money(contribution.total))


# --- answers ---------------------------------------------------------------------------------


async def _advance(
    context: JagaContext, turn: Turn, r: dict[str, Any], step: Step, **fields: Any
) -> None:
    """Store the answer and the next step in one commit, then ask the next question."""
    merged = {**r, **fields}
    scratch = json.loads(merged.get("scratch") or "{}")
    following = next_step(step, merged, scratch.get("fixing"))
    if following == Step.SUMMARY and merged["status"] == "draft":
        fields.setdefault("editing", 1)  # from the summary on, a change returns to it
    await registrations.update(context.db, r["id"], step=following, **fields)
    # What was just committed, so the next question needs no read-back.
    await _ask_current(context, turn, {**merged, **fields, "step": following})


async def _again(context: JagaContext, turn: Turn, problem: str) -> None:
    """Say what was wrong, then ask the same question again."""
    await say(context, turn.chat_id, problem)
    await _ask_current(context, turn)


async def _stale(context: JagaContext, turn: Turn) -> None:
    """A button value this question does not offer (an old or forged button): ask again."""
    await _again(context, turn, turn.gettext("Tombol ini sudah tidak berlaku."))


def _scratch(r: dict[str, Any], **changes: Any) -> str:
    scratch = json.loads(r["scratch"] or "{}")
    scratch.update(changes)
    return json.dumps({k: v for k, v in scratch.items() if v is not None})


async def _consent(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
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
        await say(context, turn.chat_id, text)
        await _ask_current(context, turn)
        return
    if value == "no":
        await registrations.delete_draft(context.db, turn.id)
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            _(
                "Baik, tidak apa-apa. Tidak ada data yang disimpan. Ketik /daftar jika Anda "
                "berubah pikiran."
            ),
        )
        return
    await _advance(
        context,
        turn,
        r,
        Step.CONSENT,
        consent_version=CONSENT_VERSION,
        consent_at=clock.utc_iso(clock.now()),
        scratch=_scratch(r, region=context.settings.region),
    )


async def _for_whom(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    me = value == "self"
    await _advance(
        context,
        turn,
        r,
        Step.FOR_WHOM,
        for_self=int(me),
        worker_telegram_id=turn.id if me else None,
    )


async def _nik(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    _ = turn.gettext
    settings = context.settings
    today = clock.today()
    check = check_nik(text, today)
    problems = {
        "digits": _("NIK hanya berisi angka. Silakan ketik lagi 16 angka NIK."),
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
        await _again(
            context,
            turn,
            _(
                "NIK harus 16 angka. Yang Anda ketik {count} angka. Silakan periksa KTP dan "
                "ketik lagi."
            ).format(count=check.length),
        )
        return
    if check.error is not None:
        await _again(context, turn, problems[check.error])
        return
    assert check.nik is not None and check.birth_date is not None
    age = age_on(check.birth_date, today)
    if not settings.min_age <= age <= settings.max_age:
        await _again(
            context,
            turn,
            _(
                "Menurut NIK, umurnya {age} tahun. Pendaftaran ini untuk umur {low} sampai "
                "{high} tahun, "
                "jadi belum bisa diterima. Jika NIK salah ketik, silakan ketik lagi. Jika "
                "tidak, ketik /batal."
            ).format(age=age, low=settings.min_age, high=settings.max_age),
        )
        return
    nik_hash = context.cipher.lookup_hash("nik", check.nik)
    existing = await registrations.live_by_nik_hash(context.db, nik_hash)
    if existing is not None and existing["id"] != r["id"]:
        mine = turn.id in (existing["operator_id"], existing["worker_telegram_id"])
        status = _(STATUS_WORDS.get(existing["status"], existing["status"]))
        if mine:
            text = _(
                "NIK ini sudah terdaftar dengan nomor {ref}, status: {status}. Tidak perlu "
                "mendaftar lagi."
            ).format(ref=existing["ref"], status=status)
        else:
            text = _(
                "NIK ini sudah terdaftar, status: {status}. Tidak perlu mendaftar lagi."
            ).format(status=status)
        await registrations.delete_draft(context.db, turn.id)
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            text + "\n" + _("Ketik /status untuk melihat status, atau /daftar untuk NIK lain."),
        )
        return
    log.info("event=registration_nik registration=%s nik=%s", r["id"], mask_nik(check.nik))
    district_unknown = True if not check.district_known else None
    await _advance(
        context,
        turn,
        r,
        Step.NIK,
        nik_enc=context.cipher.encrypt(check.nik),
        nik_hash=nik_hash,
        nik_masked=mask_nik(check.nik),
        birth_date=check.birth_date.isoformat(),
        sex=check.sex,
        scratch=_scratch(r, nik_district_unknown=district_unknown, correcting_birth=None),
        flags=json.dumps(sorted(set(json.loads(r["flags"])) - {"birth_corrected"})),
    )


NAME_RULE = N_(
    "Nama hanya boleh berisi huruf, spasi, titik (.), tanda petik (') dan tanda hubung (-), "
    "2 sampai 100 huruf. Silakan ketik lagi."
)


def _name_answer(step: Step, column: str) -> TextAnswer:
    """A typed answer that must be a person's name, stored (tidied) in `column`."""

    async def answer(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
        name = check_name(text)
        if name is None:
            await _again(context, turn, turn.gettext(NAME_RULE))
            return
        await _advance(context, turn, r, step, **{column: name})

    return answer


async def _birth_confirm(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value == "yes":
        await _advance(
            context, turn, r, Step.BIRTH_CONFIRM, scratch=_scratch(r, correcting_birth=None)
        )
        return
    await _advance(
        context,
        turn,
        r,
        Step.BIRTH_CONFIRM,
        scratch=_scratch(r, correcting_birth=True, decade=None),
    )


async def _birth_year(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value == "back" or value.startswith("d"):
        decade = None if value == "back" else int(value[1:])
        await registrations.update(context.db, r["id"], scratch=_scratch(r, decade=decade))
        await _ask_current(context, turn)
        return
    await _advance(context, turn, r, Step.BIRTH_YEAR, scratch=_scratch(r, birth_year=int(value)))


async def _birth_month(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    await _advance(context, turn, r, Step.BIRTH_MONTH, scratch=_scratch(r, birth_month=int(value)))


async def _birth_day(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    scratch = json.loads(r["scratch"])
    try:
        birth = dt.date(scratch["birth_year"], scratch["birth_month"], int(value))
    except (KeyError, ValueError):
        await _again(context, turn, turn.gettext("Tanggal itu tidak ada. Silakan pilih lagi."))
        return
    age = age_on(birth, clock.today())
    settings = context.settings
    if not settings.min_age <= age <= settings.max_age:
        await registrations.update(
            context.db, r["id"], step=Step.BIRTH_YEAR, scratch=_scratch(r, decade=None)
        )
        await _again(
            context,
            turn,
            turn.gettext(
                "Dengan tanggal lahir itu umurnya {age} tahun. Pendaftaran ini untuk umur "
                "{low} sampai {high} tahun. "
                "Silakan pilih lagi, atau ketik /batal."
            ).format(age=age, low=settings.min_age, high=settings.max_age),
        )
        return
    await _advance(context, turn, r, Step.BIRTH_DAY, birth_date=birth.isoformat())


async def _sex(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    flags = sorted({*json.loads(r["flags"]), "birth_corrected"})
    await _advance(
        context,
        turn,
        r,
        Step.SEX,
        sex=value,
        flags=json.dumps(flags),
        scratch=_scratch(r, correcting_birth=None, decade=None, birth_year=None, birth_month=None),
    )


async def _phone_text(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    phone = check_phone(text)
    if phone is None:
        await _again(
            context,
            turn,
            turn.gettext("Nomor HP itu tidak bisa saya baca. Tulis misalnya 0812 3456 7890."),
        )
        return
    await _store_phone(context, turn, r, phone)


async def _answer_contact(
    context: JagaContext, turn: Turn, r: dict[str, Any], number: str, owner: int | None
) -> None:
    if owner != turn.id:
        await _again(
            context,
            turn,
            turn.gettext(
                "Itu nomor orang lain. Tekan tombol untuk mengirim nomor Anda sendiri, atau "
                "ketik nomornya."
            ),
        )
        return
    await _phone_text(context, turn, r, number)  # the shared number, checked as if typed


async def _store_phone(context: JagaContext, turn: Turn, r: dict[str, Any], phone: str) -> None:
    await registrations.update(
        context.db,
        r["id"],
        phone_enc=context.cipher.encrypt(phone),
        phone_hash=context.cipher.lookup_hash("phone", phone),
    )
    # The share-phone keyboard must go before the next (inline) question.
    await say(
        context,
        turn.chat_id,
        turn.gettext("Nomor HP: {phone}").format(phone=phone),
        ReplyKeyboardRemove(),
    )
    fresh = await registrations.get(context.db, r["id"])
    assert fresh is not None
    await _advance(context, turn, fresh, Step.PHONE)


async def _no_phone(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if r["for_self"]:  # the self-registration keyboard has no such button
        await _stale(context, turn)
        return
    await _advance(context, turn, r, Step.PHONE, phone_enc=None, phone_hash=None)


async def _region_choice(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    step = Step(r["step"])
    if value.startswith("p") and value[1:].isdigit():
        await registrations.update(context.db, r["id"], scratch=_scratch(r, page=int(value[1:])))
        await _ask_current(context, turn)
        return
    options = _region_options(step, r)
    if value not in {w.code for w in options}:
        await _stale(context, turn)
        return
    fields: dict[str, Any] = {"scratch": _scratch(r, page=None)}
    if step == Step.KABUPATEN:
        fields.update(kabupaten_code=value, kecamatan_code=None, desa_code=None)
    elif step == Step.KECAMATAN:
        fields.update(kecamatan_code=value, desa_code=None)
    else:
        fields.update(desa_code=value)
    await _advance(context, turn, r, step, **fields)


def _region_options(step: Step, r: dict[str, Any]) -> tuple[Any, ...]:
    if step == Step.KABUPATEN:
        return kabupaten_choices(turn_region(r, json.loads(r["scratch"] or "{}")))
    if step == Step.KECAMATAN:
        return children(r["kabupaten_code"])
    return children(r["kecamatan_code"])


async def _region_text(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    _ = turn.gettext
    step = Step(r["step"])
    found = search_regions(text, _region_options(step, r))
    if not found:
        await _again(
            context,
            turn,
            _("Nama itu tidak saya temukan. Coba ketik sebagian namanya, atau pilih tombol."),
        )
        return
    rows = [[(w.name, _b(step, w.code))] for w in found]
    await say(
        context,
        turn.chat_id,
        _("Mungkin yang Anda maksud salah satu ini? Silakan pilih."),
        inline(rows),
    )


async def _occupation(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in OCCUPATION_CODES:
        await _stale(context, turn)
        return
    other = r["occupation_other"] if value == "lainnya" else None
    await _advance(context, turn, r, Step.OCCUPATION, occupation=value, occupation_other=other)


async def _occupation_other(
    context: JagaContext, turn: Turn, r: dict[str, Any], text: str
) -> None:
    value = check_free_text(text)
    if value is None:
        await _again(
            context, turn, turn.gettext("Silakan ketik nama pekerjaannya, 2 sampai 60 huruf.")
        )
        return
    await _advance(context, turn, r, Step.OCCUPATION_OTHER, occupation_other=value)


async def _income_fields(r: dict[str, Any], income: int) -> dict[str, Any]:
    table = load_table()
    fields: dict[str, Any] = {
        "income": income,
        "income_base": table.bracket_for(income).base,
        "table_version": table.version,
    }
    if r["programs"]:
        fields["monthly_contribution"] = _normal_total(
            {**r, **fields}, r["programs"] == "JKK_JKM_JHT"
        )
    return fields


async def _income_choice(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    table = load_table()
    numbers = {f"b{b.number}": b for b in table.brackets}
    bracket = numbers.get(value)
    if bracket is None:
        await _stale(context, turn)
        return
    # A button gives a range; its dasar penghasilan stands for the reported income.
    await _advance(context, turn, r, Step.INCOME, **await _income_fields(r, bracket.base))


async def _income_text(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    income = check_income(text)
    if income is None:
        await _again(
            context,
            turn,
            turn.gettext("Jumlah itu tidak bisa saya baca. Tulis misalnya 1,5 juta atau 1500000."),
        )
        return
    await say(
        context,
        turn.chat_id,
        turn.gettext("Penghasilan per bulan: {amount}").format(amount=turn.tr.money(income)),
    )
    await _advance(context, turn, r, Step.INCOME, **await _income_fields(r, income))


async def _programs(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in PROGRAM_LABELS:
        await _stale(context, turn)
        return
    amount = _normal_total(r, value == "JKK_JKM_JHT")
    await _advance(context, turn, r, Step.PROGRAMS, programs=value, monthly_contribution=amount)


async def _period(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if not value.isdigit() or int(value) not in PERIODS:
        await _stale(context, turn)
        return
    await _advance(context, turn, r, Step.PERIOD, pay_period_months=int(value))


async def _payer(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in ("sendiri", "program"):
        await _stale(context, turn)
        return
    await _advance(
        context,
        turn,
        r,
        Step.PAYER,
        payer=value,
        sumber_iuran="mandiri" if value == "sendiri" else None,
    )


async def _heir_skip(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    await _advance(context, turn, r, Step.HEIR_NAME, heir_name=None, heir_relation=None)


async def _heir_relation(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value not in HEIR_RELATIONS:
        await _stale(context, turn)
        return
    await _advance(context, turn, r, Step.HEIR_RELATION, heir_relation=value)


async def _summary_choice(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    if value.startswith("e:") and value[2:] in FIELDS:
        first = FIELDS[value[2:]][0]
        await registrations.update(
            context.db, r["id"], step=first, editing=1, scratch=_scratch(r, page=None, decade=None)
        )
        await _ask_current(context, turn)
        return
    if value == "send":
        if r["status"] == "perlu_perbaikan":
            await _resubmit(context, turn, r)
        else:
            await _submit(context, turn, r)
        return
    await _stale(context, turn)


async def _summary_text(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    await _again(
        context,
        turn,
        turn.gettext("Silakan periksa data, lalu tekan Kirim atau salah satu tombol Ubah."),
    )


async def _flags(context: JagaContext, r: dict[str, Any]) -> str:
    """The reviewer's flags for a registration as it is about to be (re)submitted, as JSON."""
    settings = context.settings
    duplicate_phone = bool(r["phone_hash"]) and await registrations.phone_in_use(
        context.db, r["phone_hash"], other_than=r["id"]
    )
    flags = flags_for(
        r,
        duplicate_phone=duplicate_phone,
        today=clock.today(),
        min_age=settings.min_age,
        max_age=settings.max_age,
    )
    return json.dumps(flags)


async def _submit(context: JagaContext, turn: Turn, r: dict[str, Any]) -> None:
    """Turns the draft into a submission with a reference number and says what happens next."""
    _ = turn.gettext
    flags = await _flags(context, r)
    ref = reference(r["id"], r["kabupaten_code"])
    try:
        await registrations.submit(context.db, r["id"], ref, flags, actor=str(turn.id))
    except registrations.DuplicateNik:
        await registrations.delete_draft(context.db, turn.id)
        await users.set_active_flow(context.db, turn.id, None)
        await say(
            context,
            turn.chat_id,
            _("NIK ini baru saja didaftarkan orang lain. Ketik /status untuk melihat statusnya."),
        )
        return
    await users.set_active_flow(context.db, turn.id, None)
    log.info(
        "event=registration_submitted registration=%s ref=%s flags=%s",
        r["id"],
        ref,
        ",".join(flags),
    )
    lines = [
        _("Terima kasih. Pendaftaran sudah kami terima."),
        "",
        _("Nomor pendaftaran: {ref}").format(ref=ref),
        _("Mohon simpan nomor ini."),
        "",
        _(
            "Langkah berikutnya: petugas dinas tenaga kerja kabupaten akan memeriksa data ini. "
            "Kabar akan dikirim lewat chat ini. Jika disetujui, petugas mendaftarkannya ke BPJS "
            "Ketenagakerjaan; data peserta biasanya baru muncul beberapa hari kemudian."
        ),
        "",
        _("Untuk melihat status, ketik /status."),
    ]
    if not r["for_self"]:
        lines.append(_("Untuk mendaftarkan orang lain lagi, ketik /daftar."))
    await say(context, turn.chat_id, "\n".join(lines))


async def _resubmit(context: JagaContext, turn: Turn, r: dict[str, Any]) -> None:
    """Sends the corrected registration back to the reviewer's queue."""
    _ = turn.gettext
    flags = await _flags(context, r)
    done = await registrations.resubmit(context.db, r["id"], flags, actor=str(turn.id))
    await users.set_active_flow(context.db, turn.id, None)
    if not done:
        await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))
        return
    log.info("event=registration_resubmitted registration=%s ref=%s", r["id"], r["ref"])
    text = _(
        "Terima kasih. Perbaikan untuk {ref} sudah dikirim dan akan diperiksa lagi oleh petugas. "
        "Kabar akan dikirim lewat chat ini."
    ).format(ref=r["ref"])
    await say(context, turn.chat_id, text)


_TEXT_ANSWERS = {
    Step.NIK: _nik,
    Step.NAME: _name_answer(Step.NAME, "name"),
    Step.MOTHER: _name_answer(Step.MOTHER, "mother_name"),
    Step.PHONE: _phone_text,
    Step.KABUPATEN: _region_text,
    Step.KECAMATAN: _region_text,
    Step.DESA: _region_text,
    Step.OCCUPATION_OTHER: _occupation_other,
    Step.INCOME: _income_text,
    Step.HEIR_NAME: _name_answer(Step.HEIR_NAME, "heir_name"),
    Step.SUMMARY: _summary_text,
}
_CHOICES = {
    Step.CONSENT: _consent,
    Step.FOR_WHOM: _for_whom,
    Step.BIRTH_CONFIRM: _birth_confirm,
    Step.BIRTH_YEAR: _birth_year,
    Step.BIRTH_MONTH: _birth_month,
    Step.BIRTH_DAY: _birth_day,
    Step.SEX: _sex,
    Step.PHONE: _no_phone,
    Step.KABUPATEN: _region_choice,
    Step.KECAMATAN: _region_choice,
    Step.DESA: _region_choice,
    Step.OCCUPATION: _occupation,
    Step.INCOME: _income_choice,
    Step.PROGRAMS: _programs,
    Step.PERIOD: _period,
    Step.PAYER: _payer,
    Step.HEIR_NAME: _heir_skip,
    Step.HEIR_RELATION: _heir_relation,
    Step.SUMMARY: _summary_choice,
}
