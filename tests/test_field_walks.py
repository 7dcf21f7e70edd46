"""Every flow walked as people in the field use it: typed with chat words, Medan speech, names
said in a sentence, amounts said loosely, coming back the next day, stopping with a word."""

from __future__ import annotations

import pytest

from bot.fakeapi import ApiCall
from bot.registration import Step, read_income
from storage import registrations, roles, users
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

FISHER = 731
CADRE = 732
REVIEWER = 733


async def row_of(h: Harness, operator_id: int) -> Registration:
    """The operator's active registration."""
    row = await registrations.active_of(h.db, operator_id)
    assert row is not None
    return row


def sent(calls: list[ApiCall]) -> list[ApiCall]:
    """The messages among recorded calls."""
    return [c for c in calls if c.method == "sendMessage"]


async def one(h: Harness, uid: int, text: str) -> str:
    """Send `text`; exactly one message comes back, at most 600 characters; returns it."""
    messages = sent(await h.send(uid, text))
    assert len(messages) == 1, [m.text for m in messages]
    assert len(messages[0].text) <= 600, messages[0].text
    return messages[0].text


async def to_step(h: Harness, uid: int, answers: list[str]) -> None:
    """Start /daftar and type each answer in turn."""
    await h.send(uid, "/daftar")
    for answer in answers:
        await h.send(uid, answer)


SELF_UNTIL_JOB = ["setuju", "sendiri", "", "budi", "benar", "siti", "081234567890",
                  "labuhanbatu", "panai hilir", "sei berombang"]  # fmt: skip


def self_answers(until: int) -> list[str]:
    """The first `until` answers of a self-registration, with a fresh NIK."""
    answers = list(SELF_UNTIL_JOB)
    answers[2] = nik_for()
    return answers[:until]


# --- button steps: the answer among chat words ------------------------------------------------


async def test_yes_with_a_form_of_address_is_the_press(harness: Harness) -> None:
    h = harness
    await h.send(FISHER, "/daftar")
    await one(h, FISHER, "iya bang")
    assert (await row_of(h, FISHER)).step == Step.FOR_WHOM
    await one(h, FISHER, "untuk sy sendiri")
    assert (await row_of(h, FISHER)).step == Step.NIK


async def test_a_turned_round_answer_is_not_taken_for_the_word_in_it(harness: Harness) -> None:
    h = harness
    await h.send(FISHER, "/daftar")
    text = await one(h, FISHER, "belum setuju bang")
    assert text.startswith("Ketik salah satu")
    assert (await row_of(h, FISHER)).step == Step.CONSENT
    await one(h, FISHER, "\U0001f44d")  # a thumbs-up is a yes
    assert (await row_of(h, FISHER)).step == Step.FOR_WHOM


async def test_work_answers_said_in_a_sentence(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(10))
    await one(h, FISHER, "sy nelayan bang")
    await one(h, FISHER, "1,5 juta")
    text = await one(h, FISHER, "apa bedanya jkk jkm dan jht")  # asks; chooses nothing
    assert (await row_of(h, FISHER)).step == Step.PROGRAMS
    assert text.endswith("Pilih program: JKK + JKM, atau JKK + JKM + JHT.")
    await one(h, FISHER, "gk usah jht bang")  # not wanting JHT is not choosing it
    assert (await row_of(h, FISHER)).programs is None
    await one(h, FISHER, "yg murah aja")
    await one(h, FISHER, "sy sendiri yg bayar")
    await one(h, FISHER, "3 bln aja")
    row = await row_of(h, FISHER)
    assert (row.occupation, row.programs, row.payer) == ("nelayan", "JKK_JKM", "sendiri")
    assert (row.pay_period_months, row.step) == (3, Step.HEIR_NAME)


# --- the NIK question: questions in Medan speech, a NIK in a sentence, "later" ----------------


async def test_questions_at_the_nik_step_in_medan_speech_are_answered(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, ["setuju", "sendiri"])
    for question in ("kek mana bayarnya", "kalo meninggal di laut dpt apa"):
        text = await one(h, FISHER, question)
        assert "NIK hanya berisi angka" not in text
        assert text.endswith("\n\nKetik NIK Anda (16 angka, ada di KTP)."), text
    assert (await row_of(h, FISHER)).step == Step.NIK


async def test_a_nik_in_a_sentence_and_a_missing_ktp(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, ["setuju", "sendiri"])
    text = await one(h, FISHER, "ktp sy hilang bang")
    assert text.startswith("Saya menunggu NIK: 16 angka yang tertulis di KTP.")
    nik = nik_for()
    await one(h, FISHER, f"ini nik sy {nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]} bang")
    row = await row_of(h, FISHER)
    assert row.step == Step.NAME
    assert row.nik_enc is not None and h.app.bot_data.cipher.decrypt(row.nik_enc) == nik
    text = await one(h, FISHER, "ktp sy hilang bang")  # at the name question: not a name
    assert text.startswith("Itu belum terbaca sebagai nama.")
    text = await one(h, FISHER, "nanti aja bang")  # later: stopped, the answers kept
    assert text.startswith("Pendaftaran dihentikan. Jawaban Anda tetap tersimpan")
    await h.send(FISHER, "daftar")
    assert h.labels(FISHER)[0].startswith("Lanjutkan (3 dari")


# --- names, phone, places and amounts said loosely -----------------------------------------


async def test_names_said_in_a_sentence_keep_only_the_name(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, ["setuju", "sendiri", nik_for()])
    await one(h, FISHER, "nama sy budi santoso")
    assert (await row_of(h, FISHER)).name == "Budi Santoso"
    await one(h, FISHER, "iya")
    await one(h, FISHER, "mamak nya siti aminah")
    assert (await row_of(h, FISHER)).mother_name == "Siti Aminah"


async def test_a_yes_typed_at_the_name_question_is_not_a_name(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, ["setuju", "sendiri", nik_for()])
    text = await one(h, FISHER, "ya")
    assert text == "Itu belum terbaca sebagai nama.\n\nKetik nama lengkap Anda sesuai KTP."
    row = await row_of(h, FISHER)
    assert (row.step, row.name) == (Step.NAME, None)


async def test_selamat_alone_is_a_name_and_with_a_time_of_day_a_greeting(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, ["setuju", "sendiri", nik_for()])
    text = await one(h, FISHER, "selamat pagi")
    assert text.startswith("Itu belum terbaca sebagai nama.")
    await one(h, FISHER, "Selamat")
    row = await row_of(h, FISHER)
    assert row.name == "Selamat"


@pytest.mark.parametrize("typed", ["Dewi G", "Budi Kk", "Joko Hp", "Nur Gk"])
async def test_a_name_with_letters_that_read_as_a_word_is_a_name(
    harness: Harness, typed: str
) -> None:
    h = harness
    await to_step(h, FISHER, ["setuju", "sendiri", nik_for()])
    await one(h, FISHER, typed)
    row = await row_of(h, FISHER)
    assert row.name == typed


async def test_the_cadre_names_said_with_nya(harness: Harness) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await to_step(h, CADRE, ["setuju", "orang lain", "udah bang", nik_for()])
    await one(h, CADRE, "nama nya rahmat")
    assert (await row_of(h, CADRE)).name == "Rahmat"
    for answer in ("iya", "aminah", "gk punya hp", "sei berombang", "petani", "sejuta",
                   "jkk jkm", "desa"):  # fmt: skip
        await one(h, CADRE, answer)
    assert (await row_of(h, CADRE)).step == Step.HEIR_NAME
    text = await one(h, CADRE, "istri nya rina")
    assert text.startswith("Ahli waris: Rina, hubungan: Suami / istri.")


async def test_a_phone_number_inside_a_sentence(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(6))
    await h.send(FISHER, "ini nomor sy 0812-3456-7890 bang")
    row = await row_of(h, FISHER)
    assert row.step == Step.KABUPATEN
    assert row.phone_enc is not None
    assert h.app.bot_data.cipher.decrypt(row.phone_enc) == "+6281234567890"
    # The question is about the person's own home.
    assert h.text(FISHER).startswith("Di kabupaten/kota mana Anda tinggal sekarang?")


async def test_places_typed_with_their_level_word(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(7))
    await one(h, FISHER, "kab labuhanbatu")
    await one(h, FISHER, "kec panai hilir")
    assert (await row_of(h, FISHER)).kecamatan_code == "12.10.19"
    await one(h, FISHER, "desa sei berombang")
    row = await row_of(h, FISHER)
    assert (row.desa_code, row.step) == ("12.10.19.1001", Step.OCCUPATION)


async def test_a_kabupaten_typed_with_a_space_is_the_press(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(7))
    text = await one(h, FISHER, "labuhan batu")
    assert text.startswith("Pilih kecamatan di Kabupaten Labuhanbatu")
    assert (await row_of(h, FISHER)).kabupaten_code == "12.10"


async def test_a_kecamatan_or_desa_typed_where_the_kabupaten_is_asked(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(7))
    text = await one(h, FISHER, "rantau utara")
    assert text.startswith("Alamat: Kecamatan Rantau Utara, Kabupaten Labuhanbatu.")
    row = await row_of(h, FISHER)
    assert (row.kabupaten_code, row.kecamatan_code, row.step) == (
        "12.10",
        "12.10.01",
        Step.DESA,
    )
    # At the kecamatan question, a desa of another kecamatan of the kabupaten.
    await h.send(FISHER, "/batal")
    await to_step(h, CADRE, ["setuju", "sendiri", nik_for(), "budi", "benar", "siti",
                             "081234567890", "labuhanbatu"])  # fmt: skip
    text = await one(h, CADRE, "sioldengan")
    assert text.startswith("Alamat: Sioldengan, Kecamatan Rantau Selatan.")
    row = await row_of(h, CADRE)
    assert (row.desa_code, row.step) == ("12.10.02.1002", Step.OCCUPATION)


async def test_a_desa_of_another_kecamatan_mends_a_wrong_kecamatan(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(7))
    await one(h, FISHER, "labuhanbatu")
    text = await one(h, FISHER, "rantau utara")  # Sioldengan is in Rantau Selatan
    assert "‹ Kecamatan lain" in h.labels(FISHER)
    text = await one(h, FISHER, "sioldengan")
    assert text.startswith("Alamat: Sioldengan, Kecamatan Rantau Selatan.")
    row = await row_of(h, FISHER)
    assert (row.kecamatan_code, row.desa_code, row.step) == (
        "12.10.02",
        "12.10.02.1002",
        Step.OCCUPATION,
    )


async def test_the_desa_list_always_leads_back_to_the_kecamatan_list(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(7))
    await one(h, FISHER, "labuhanbatu")
    await one(h, FISHER, "rantau utara")
    await h.tap(FISHER, "‹ Kecamatan lain")
    assert h.text(FISHER).startswith("Pilih kecamatan di Kabupaten Labuhanbatu")
    row = await row_of(h, FISHER)
    assert row.step == Step.KECAMATAN


async def test_an_income_said_loosely_is_read_and_a_range_is_asked_again(
    harness: Harness,
) -> None:
    h = harness
    await to_step(h, FISHER, [*self_answers(10), "nelayan"])
    text = await one(h, FISHER, "1-2 juta")  # once read as 3 juta
    assert text.startswith("Ketik satu jumlah saja")
    text = await one(h, FISHER, "50rb sehari")
    assert text.startswith("Tolong tulis penghasilan per bulan")
    assert (await row_of(h, FISHER)).income is None
    await one(h, FISHER, "kira2 1.5 jt sebulan bang")
    row = await row_of(h, FISHER)
    assert (row.income, row.step) == (1_500_000, Step.PROGRAMS)


def test_income_readings() -> None:
    assert read_income("sekitar 2 juta per bulan").amount == 2_000_000
    assert read_income("rp 1 500 000").amount == 1_500_000
    assert read_income("1 juta 500 ribu").amount == 1_500_000
    assert read_income("Rp 1.500.000,-").amount == 1_500_000
    assert read_income("kira2 1,5 jt").amount == 1_500_000  # not 2 + 1,5 juta
    assert read_income("around 1.5 million a month").amount == 1_500_000
    assert read_income("100k a day").problem == "daily"
    assert read_income("kadang 1jt kadang 2jt").problem == "varies"
    assert read_income("2 jt - 3 jt").problem == "range"


# --- leaving and coming back ------------------------------------------------------------------


async def test_stop_typed_as_a_word_is_batal_and_keeps_the_answers(harness: Harness) -> None:
    h = harness
    await to_step(h, FISHER, self_answers(3))
    assert (await row_of(h, FISHER)).step == Step.NAME
    text = await one(h, FISHER, "daftar")  # already registering: the same question, short
    assert text == "Pendaftaran sedang berjalan.\n\nKetik nama lengkap Anda sesuai KTP."
    text = await one(h, FISHER, "batal aja bang")
    assert text.startswith("Pendaftaran dihentikan. Jawaban Anda tetap tersimpan")
    assert (await users.get_or_create(h.db, FISHER, "Budi")).active_flow is None
    await h.send(FISHER, "daftar")
    assert h.labels(FISHER)[0].startswith("Lanjutkan (3 dari")


async def test_daftar_the_next_day_after_sending_says_it_is_done(harness: Harness) -> None:
    h = harness
    cipher = h.app.bot_data.cipher
    row = await submitted_registration(h.db, cipher, operator_id=FISHER, payer="sendiri")
    text = await one(h, FISHER, "daftar")
    assert text == (
        f"Anda sudah mendaftar dengan nomor {row.ref} (sedang diperiksa petugas). Tidak "
        "perlu mendaftar lagi. Mau mendaftarkan orang lain?"
    )
    assert h.labels(FISHER) == ["Daftarkan orang lain", "Cek status"]
    assert await registrations.active_of(h.db, FISHER) is None
    await h.tap(FISHER, "Daftarkan orang lain")
    assert (await row_of(h, FISHER)).step == Step.CONSENT
    # A cadre registers others as their work: /daftar goes straight on.
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await submitted_registration(h.db, cipher, operator_id=CADRE)
    await one(h, CADRE, "daftar")
    assert (await row_of(h, CADRE)).step == Step.CONSENT


async def test_status_typed_as_words_shows_the_status(harness: Harness) -> None:
    h = harness
    cipher = h.app.bot_data.cipher
    row = await submitted_registration(h.db, cipher, operator_id=FISHER, payer="sendiri")
    for typed in ("cek status", "status sy gmn bang"):
        text = await one(h, FISHER, typed)
        assert text.startswith(f"Nomor pendaftaran: {row.ref}"), text
    text = await one(h, FISHER, "\U0001f44d")
    assert text.startswith("Baik. Ada lagi yang bisa saya bantu?")


async def test_iuran_typed_instead_of_pressed(harness: Harness) -> None:
    h = harness
    await h.send(FISHER, "/iuran")
    text = await one(h, FISHER, "nelayan")
    assert text.startswith("Berapa penghasilan Anda rata-rata per bulan?")
    text = await one(h, FISHER, "kira2 1,5 jt sebulan")
    assert text.startswith("Iuran untuk penghasilan Rp1.500.000 per bulan")


# --- every flow, typed, as one fisherman ------------------------------------------------------


async def test_every_flow_typed_by_a_fisherman_one_message_a_turn(harness: Harness) -> None:
    h = harness
    turns = [
        "halo bang", "daftar", "ini aman gak?", "iya bang", "\U0001f44d", "untuk sy sendiri",
        "brp iuran sy?", nik_for(), "nama sy budi santoso", "bener bang",
        "kenapa harus nama ibu", "mamak sy siti aminah",
    ]  # fmt: skip
    for text in turns:
        await one(h, FISHER, text)
    # A typed phone number: its confirmation also takes the share-phone keyboard away, the one
    # place two messages are sent.
    assert len(sent(await h.send(FISHER, "no hp sy 0812 3456 7890"))) == 2
    turns = [
        "kab labuhanbatu", "kec panai hilir", "desa sei berombang", "sy nelayan bang",
        "kira2 1,5 jt sebulan", "yg murah aja", "sy sendiri yg bayar", "3 bln aja",
        "istri sy rina wati", "iya bang", "ok kirim",
        "cek status", "/klaim", "/iuran", "melaut", "2 juta", "/data_saya", "hapus data sy",
        "/bantuan", "/start", "makasih bang", "daftar", "\U0001f44d",
    ]  # fmt: skip
    for text in turns:
        await one(h, FISHER, text)
    row = (await registrations.by_operator(h.db, FISHER))[0]
    assert (row.name, row.mother_name, row.income) == (
        "Budi Santoso",
        "Siti Aminah",
        1_500_000,
    )
    assert (row.heir_name, row.pay_period_months) == ("Rina Wati", 3)


async def test_an_english_reader_types_every_answer_in_english(harness: Harness) -> None:
    h = harness
    await h.send(FISHER, "/bahasa")
    await h.tap(FISHER, "English")
    await h.send(FISHER, "/daftar")
    answers = ["yes bro", "for myself", nik_for(), "my name is Budi Santoso", "yes", "Siti",
               "0812 3456 7890", "labuhanbatu", "panai hilir", "sei berombang", "fisherman",
               "around 1.5 million a month", "cheapest", "myself", "3 months", "my wife Rina",
               "yes", "send"]  # fmt: skip
    for answer in answers:
        await h.send(FISHER, answer)
    row = (await registrations.by_operator(h.db, FISHER))[0]
    assert (row.name, row.income, row.programs) == ("Budi Santoso", 1_500_000, "JKK_JKM")
    assert (row.payer, row.pay_period_months) == ("sendiri", 3)
    assert (row.heir_name, row.heir_relation) == ("Rina", "pasangan")
