"""Two people from the field walk the registration: a fisherman who types in Medan-style
Indonesian, and a village cadre registering neighbours. Amounts said the spoken way, answers
corrected at a later question, going back, coming back after /batal, no phone of one's own."""

from __future__ import annotations

import pytest

from bot.registration import Step
from storage import roles
from tests.conftest import Harness
from tests.factories import nik_for
from tests.test_field_walks import one, row_of
from tests.test_field_walks import to_step as walk

FISHER = 741
CADRE = 742


def fisher_until(step: Step) -> list[str]:
    """The fisherman's own answers, typed, up to the question `step`."""
    answers = [
        ("setuju", Step.FOR_WHOM),
        ("sendiri", Step.NIK),
        (nik_for(), Step.NAME),
        ("budi", Step.BIRTH_CONFIRM),
        ("benar", Step.MOTHER),
        ("siti", Step.PHONE),
        ("081234567890", Step.KABUPATEN),
        ("labuhanbatu", Step.KECAMATAN),
        ("panai hilir", Step.DESA),
        ("sei berombang", Step.OCCUPATION),
        ("nelayan", Step.INCOME),
        ("1 juta", Step.PROGRAMS),
        ("jkk jkm", Step.PAYER),
        ("program", Step.HEIR_NAME),
        ("lewati", Step.SUMMARY),
    ]
    typed: list[str] = []
    for answer, reached in answers:
        typed.append(answer)
        if reached == step:
            return typed
    raise AssertionError(step)


async def cadre_at_phone(h: Harness) -> None:
    """A cadre registers a neighbour, up to the phone question."""
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await walk(h, CADRE, ["setuju", "orang lain", "sudah", nik_for(), "rahmat", "benar", "aminah"])
    assert (await row_of(h, CADRE)).step == Step.PHONE


# --- income: two amounts, and "juta" followed by a smaller number ------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "kadang 800rb kadang sejuta",
        "klo musim 3jt, klo gk musim 500 rb",
        "1jt atau 800 ribu",
        "musim ikan 2 juta, musim angin 700rb",
    ],
)
async def test_two_different_incomes_are_not_added_but_an_average_is_asked(
    harness: Harness, typed: str
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.INCOME))
    text = await one(h, FISHER, typed)
    assert text.startswith("Kalau berubah-ubah, ketik rata-rata sebulan, misalnya 900 ribu.")
    row = await row_of(h, FISHER)
    assert (row.income, row.step) == (None, Step.INCOME)
    await one(h, FISHER, "900 ribu")
    assert (await row_of(h, FISHER)).income == 900_000


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("sejuta lima ratus", 1_500_000),
        ("1 juta 500", 1_500_000),
        ("2 juta 300", 2_300_000),
        ("dua juta tiga ratus sebulan bang", 2_300_000),
        ("kira2 1 jt 750", 1_750_000),
    ],
)
async def test_a_number_said_after_juta_means_thousands(
    harness: Harness, typed: str, amount: int
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.INCOME))
    text = await one(h, FISHER, typed)
    row = await row_of(h, FISHER)
    assert (row.income, row.step) == (amount, Step.PROGRAMS), text


# --- corrections typed at a later question -----------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["salah, penghasilannya cuma 900 ribu sebulan", "gaji sy bukan sejuta bang, harusnya 900rb"],
)
async def test_an_income_corrected_at_the_programme_question_is_taken_and_asked_on(
    harness: Harness, typed: str
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.PROGRAMS))
    text = await one(h, FISHER, typed)
    row = await row_of(h, FISHER)
    assert (row.income, row.step, row.editing) == (900_000, Step.PROGRAMS, 0), text
    assert text.startswith("Penghasilan per bulan: Rp")
    await one(h, FISHER, "jkk jkm")
    assert (await row_of(h, FISHER)).step == Step.PAYER  # on through the questions, not back


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("penghasilannya salah, cuma 900rb", 900_000),
        ("salah bang penghasilan sy 2jt an", 2_000_000),
    ],
)
async def test_an_income_corrected_at_the_summary_goes_back_to_the_summary(
    harness: Harness, typed: str, amount: int
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.SUMMARY))
    text = await one(h, FISHER, typed)
    row = await row_of(h, FISHER)
    assert (row.income, row.step) == (amount, Step.SUMMARY), text
    assert "Periksa data berikut:" in text


async def test_a_named_field_said_wrong_opens_its_question_and_then_goes_on(
    harness: Harness,
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.OCCUPATION))
    text = await one(h, FISHER, "nama ibu sy salah bang")
    assert (await row_of(h, FISHER)).step == Step.MOTHER, text
    await one(h, FISHER, "siti aminah")
    row = await row_of(h, FISHER)
    assert (row.mother_name, row.step) == ("Siti Aminah", Step.OCCUPATION)
    # The value said with the correction is taken at once.
    await one(h, FISHER, "nelayan")
    text = await one(h, FISHER, "keliru nama sy, harusnya Budi Santoso")
    row = await row_of(h, FISHER)
    assert (row.name, row.step) == ("Budi Santoso", Step.INCOME), text


# --- going back ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["salah", "kembali", "balik bang", "ulang"])
async def test_a_back_word_alone_asks_the_previous_question(harness: Harness, typed: str) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.PHONE))
    text = await one(h, FISHER, typed)
    assert "tidak bisa saya baca" not in text
    assert (await row_of(h, FISHER)).step == Step.MOTHER
    await one(h, FISHER, "siti rahma")
    row = await row_of(h, FISHER)
    assert (row.mother_name, row.step) == ("Siti Rahma", Step.PHONE)


async def test_back_at_the_first_question_says_the_summary_changes_anything(
    harness: Harness,
) -> None:
    h = harness
    await h.send(FISHER, "/daftar")
    await one(h, FISHER, "setuju")
    await one(h, FISHER, "sendiri")
    assert (await row_of(h, FISHER)).step == Step.NIK
    await one(h, FISHER, "balik")
    assert (await row_of(h, FISHER)).step == Step.FOR_WHOM
    await one(h, FISHER, "balik")
    await one(h, FISHER, "balik")
    text = await one(h, FISHER, "kembali")  # at the consent question: nothing before it
    assert text.startswith("Semua jawaban bisa diubah di ringkasan sebelum dikirim")
    assert (await row_of(h, FISHER)).step == Step.CONSENT


# --- the resume choice after /batal ------------------------------------------------------------


async def stopped_at_mother(h: Harness) -> None:
    await walk(h, FISHER, fisher_until(Step.MOTHER))
    await h.send(FISHER, "/batal")
    await h.send(FISHER, "/daftar")
    assert h.labels(FISHER)[1] == "Mulai dari awal"


@pytest.mark.parametrize("typed", ["dari awal aj", "ulang bang", "mulai lagi", "yg baru aja"])
async def test_start_over_typed_at_the_resume_choice_is_never_an_answer(
    harness: Harness, typed: str
) -> None:
    h = harness
    await stopped_at_mother(h)
    text = await one(h, FISHER, typed)
    row = await row_of(h, FISHER)
    assert (row.step, row.mother_name, row.name) == (Step.CONSENT, None, None), text


@pytest.mark.parametrize(
    "typed", ["terus aja bang", "lanjutin bang", "terusin aja", "\U0001f44d", "ok"]
)
async def test_continue_typed_at_the_resume_choice_asks_the_question(
    harness: Harness, typed: str
) -> None:
    h = harness
    await stopped_at_mother(h)
    text = await one(h, FISHER, typed)
    row = await row_of(h, FISHER)
    assert (row.step, row.mother_name) == (Step.MOTHER, None), text
    assert "ibu kandung" in text
    await one(h, FISHER, "siti")
    assert (await row_of(h, FISHER)).mother_name == "Siti"


async def test_other_text_at_the_resume_choice_says_which_words_work(harness: Harness) -> None:
    h = harness
    await stopped_at_mother(h)
    text = await one(h, FISHER, "Rosmawati")
    assert "«lanjut»" in text and "«dari awal»" in text
    row = await row_of(h, FISHER)
    assert (row.step, row.mother_name) == (Step.MOTHER, None)
    assert h.labels(FISHER)[1] == "Mulai dari awal"


# --- after /batal, outside the flow ----------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["sy mau ulang dr awal bang", "sy mau lanjutin daftar yg kmrn", "lanjutin bang"]
)
async def test_asking_to_continue_after_batal_offers_the_resume_choice(
    harness: Harness, typed: str
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.MOTHER))
    await h.send(FISHER, "/batal")
    text = await one(h, FISHER, typed)
    assert text.startswith("Ada pendaftaran yang belum selesai.")
    assert h.labels(FISHER) == ["Lanjutkan (5 dari 15 terisi)", "Mulai dari awal"]


async def test_a_greeting_with_an_unfinished_draft_mentions_it(harness: Harness) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.MOTHER))
    await h.send(FISHER, "/batal")
    text = await one(h, FISHER, "halo bang")
    assert "belum selesai" in text
    await h.tap(FISHER, "Lanjutkan pendaftaran")
    assert (await row_of(h, FISHER)).step == Step.MOTHER
    await one(h, FISHER, "siti")
    assert (await row_of(h, FISHER)).mother_name == "Siti"


# --- the phone question ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["dia blm punya hp gmn?", "dia gak punya hp", "hp nya gak ada", "blm punya hp"]
)
async def test_no_phone_said_in_a_sentence_is_the_no_phone_choice(
    harness: Harness, typed: str
) -> None:
    h = harness
    await cadre_at_phone(h)
    text = await one(h, CADRE, typed)
    row = await row_of(h, CADRE)
    assert row.step == Step.DESA, text
    assert row.phone_hash is None


@pytest.mark.parametrize("typed", ["pake hp anak", "sy gk pny hp sendiri, pake hp anak"])
async def test_a_relatives_phone_is_fine(harness: Harness, typed: str) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.PHONE))
    text = await one(h, FISHER, typed)
    assert text.startswith("Nomor HP keluarga juga boleh.")
    assert (await row_of(h, FISHER)).step == Step.PHONE
    await cadre_at_phone(h)
    text = await one(h, CADRE, typed)
    assert text.startswith("Nomor HP keluarga juga boleh.") and "Tidak punya HP" in text


async def test_why_the_phone_is_asked_is_answered(harness: Harness) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.PHONE))
    text = await one(h, FISHER, "utk apa no hp sy bang")
    assert text.startswith("Nomor HP dipakai untuk mengirim kabar tentang pendaftaran ini.")
    assert (await row_of(h, FISHER)).step == Step.PHONE


# --- names and the person registered -----------------------------------------------------------


@pytest.mark.parametrize("typed", ["Laki-laki", "dari awal aj", "perempuan bang", "mulai lagi"])
async def test_a_label_or_a_control_word_is_not_a_mothers_name(
    harness: Harness, typed: str
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.MOTHER))
    text = await one(h, FISHER, typed)
    assert text.startswith("Itu belum terbaca sebagai nama."), text
    row = await row_of(h, FISHER)
    assert (row.step, row.mother_name) == (Step.MOTHER, None)


@pytest.mark.parametrize(
    ("typed", "me"),
    [
        ("untuk tetangga saya", False),
        ("utk anak sy", False),
        ("istri saya bang", False),
        ("untuk dia", False),
        ("mertua sy", False),
        ("istrinya sendiri", False),
        ("bapaknya sendiri", False),
        ("untuk sy sendiri", True),
        ("aku aja bang", True),
    ],
)
async def test_whom_said_in_a_phrase(harness: Harness, typed: str, me: bool) -> None:
    h = harness
    await walk(h, CADRE, ["setuju"])
    text = await one(h, CADRE, typed)
    row = await row_of(h, CADRE)
    assert row.for_self is me, text
    assert row.step == (Step.NIK if me else Step.CONSENT_OTHER)


@pytest.mark.parametrize(
    "typed",
    ["bukan untuk saya", "bukan sy, adik sy", "tidak untuk saya sendiri", "pak budi sendiri"],
)
async def test_a_doubtful_whom_is_asked_again_never_read_as_oneself(
    harness: Harness, typed: str
) -> None:
    # Read as "self", the sender would become the worker's own account and the registered
    # person's agreement would never be asked.
    h = harness
    await walk(h, CADRE, ["setuju"])
    text = await one(h, CADRE, typed)
    row = await row_of(h, CADRE)
    assert (row.step, row.for_self, row.worker_telegram_id) == (Step.FOR_WHOM, None, None), text


# --- a form of address next to an answer, and a status question in the middle -----------------


async def test_iya_bang_confirms_the_heir_although_bang_alone_means_a_brother(
    harness: Harness,
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.HEIR_NAME))
    await one(h, FISHER, "istri sy rina wati")
    assert (await row_of(h, FISHER)).step == Step.HEIR_RELATION
    text = await one(h, FISHER, "iya bang")
    row = await row_of(h, FISHER)
    assert (row.step, row.heir_name, row.heir_relation) == (
        Step.SUMMARY,
        "Rina Wati",
        "pasangan",
    ), text


async def test_a_status_question_in_the_middle_says_there_is_none_yet(harness: Harness) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.SUMMARY))
    text = await one(h, FISHER, "cek status sy")
    assert text.startswith("Pendaftaran ini belum dikirim, jadi belum ada statusnya."), text
    assert (await row_of(h, FISHER)).step == Step.SUMMARY


@pytest.mark.parametrize("typed", ["kurang setuju", "setuju tp nanti dulu", "mungkin setuju"])
async def test_a_hesitant_yes_to_the_consent_records_no_consent(
    harness: Harness, typed: str
) -> None:
    h = harness
    await h.send(FISHER, "/daftar")
    await one(h, FISHER, typed)
    row = await row_of(h, FISHER)
    assert (row.step, row.consent_version, row.consent_at) == (Step.CONSENT, None, None)


@pytest.mark.parametrize("typed", ["dia kurang setuju", "sudah tp dia ragu"])
async def test_a_hesitant_yes_for_the_registered_person_is_asked_again(
    harness: Harness, typed: str
) -> None:
    h = harness
    await walk(h, CADRE, ["setuju", "orang lain"])
    assert (await row_of(h, CADRE)).step == Step.CONSENT_OTHER
    await one(h, CADRE, typed)
    assert (await row_of(h, CADRE)).step == Step.CONSENT_OTHER


@pytest.mark.parametrize(
    "typed",
    ["harus izin dulu?", "hrs izin dulu ya? dia di laut gabisa ditelpon", "perlu izin dia?"],
)
async def test_asking_whether_the_person_must_agree_is_answered_and_nothing_recorded(
    harness: Harness, typed: str
) -> None:
    h = harness
    await walk(h, CADRE, ["setuju", "orang lain"])
    text = await one(h, CADRE, typed)
    assert text.startswith("Ya, orang yang didaftarkan harus setuju dulu."), text
    assert (await row_of(h, CADRE)).step == Step.CONSENT_OTHER


@pytest.mark.parametrize("typed", ["ga tentu bu, tergantung tangkapan", "sy ga tau pastinya"])
async def test_an_income_that_is_not_known_asks_for_an_average(
    harness: Harness, typed: str
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.INCOME))
    text = await one(h, FISHER, typed)
    assert "rata-rata sebulan" in text, text
    assert (await row_of(h, FISHER)).income is None


@pytest.mark.parametrize(
    ("typed", "name"),
    [("mertua sy namanya Siti Aminah", "Siti Aminah"), ("ibunya bernama Ramlah", "Ramlah")],
)
async def test_a_mothers_name_said_in_a_sentence_keeps_only_the_name(
    harness: Harness, typed: str, name: str
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.MOTHER))
    await one(h, FISHER, typed)
    assert (await row_of(h, FISHER)).mother_name == name


async def test_english_please_in_the_middle_asks_the_same_question_in_english(
    harness: Harness,
) -> None:
    h = harness
    await walk(h, FISHER, fisher_until(Step.NIK))
    text = await one(h, FISHER, "English please")
    assert (await row_of(h, FISHER)).step == Step.NIK
    assert "NIK" in text and "Ketik" not in text, text  # the NIK question, in English
    text = await one(h, FISHER, "bahasa indonesia")
    assert text.startswith("Ketik NIK"), text


async def test_asking_for_english_outside_a_flow_confirms_in_english(harness: Harness) -> None:
    h = harness
    text = await one(h, FISHER, "can you speak english")
    assert text == "OK, I will use English.", text
