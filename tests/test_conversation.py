"""Registration that forgives: typed labels, questions mid-way, /batal keeps the draft, cadres."""

from __future__ import annotations

import re

from bot.fakeapi import ApiCall
from bot.registration import CONSENT_VERSION, Step
from storage import privacy, registrations, roles
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import nik_for

WORKER = 611
CADRE = 612
REVIEWER = 613

# What a person must never see: field keys, bare region codes, the consent version.
INTERNAL = re.compile(
    r"mother_name|heir_name|heir_rel|birth_date|pay_period|kabupaten_code|occupation_other"
    r"|\b\d{2}\.\d{2}(\.\d{2})?(\.\d{4})?\b|REG |" + re.escape(CONSENT_VERSION)
)


async def row_of(h: Harness, operator_id: int) -> Registration:
    """The operator's active registration."""
    row = await registrations.active_of(h.db, operator_id)
    assert row is not None
    return row


def messages(calls: list[ApiCall]) -> list[ApiCall]:
    """The messages among recorded calls (not button acknowledgements)."""
    return [c for c in calls if c.method == "sendMessage"]


def assert_readable(calls: list[ApiCall]) -> None:
    """No message too long to read on a small screen, nothing internal in any."""
    for call in messages(calls):
        assert len(call.text) <= 600, call.text
        assert not INTERNAL.search(call.text), call.text
        for label, _data in call.buttons:
            assert not INTERNAL.search(label), label


async def walk_typed(h: Harness, uid: int, answers: list[str]) -> tuple[list[ApiCall], int]:
    """Type each answer in turn; returns every call made and how many questions were passed."""
    calls: list[ApiCall] = []
    steps = 0
    for answer in answers:
        active = await registrations.active_of(h.db, uid)
        before = active.step if active else None
        got = await h.send(uid, answer)
        calls += got
        after = await registrations.active_of(h.db, uid)
        moved = after is None or after.step != before
        assert moved or answer == "/daftar", (answer, before, [c.text for c in got])
        steps += 1
    return calls, steps


async def test_a_whole_registration_typed_with_short_forms_and_typos(harness: Harness) -> None:
    h = harness
    nik = nik_for("12.10.19")
    calls, steps = await walk_typed(
        h,
        WORKER,
        [
            "/daftar",
            "stuju",  # Setuju, misspelt
            "sendiri",  # Diri saya sendiri
            nik[:4] + " " + nik[4:8] + " " + nik[8:12] + " " + nik[12:],
            "budi santoso",
            "tdk",  # the birth date read from the NIK is wrong
            "1985",  # a year, typed while the decades are shown
            "agt",  # Agustus
            "17",
            "yang diisi",  # differs from the NIK: the date typed is kept
            "laki",
            "siti aminah",
            "0812 3456 7890",
            "labuhanbatu",
            "panai hilir",
            "sei berombang",
            "nelyan",  # Nelayan, misspelt
            "1,5 juta",
            "yg murah",  # JKK + JKM
            "sendiri",  # Saya sendiri pays
            "3 bln",
            "istri sy rina wati",
            "ya",  # the relation read from the answer is right
            "kirim",
        ],
    )
    done = h.text(WORKER)
    assert "Nomor pendaftaran: JP-1210-" in done
    row = (await registrations.by_operator(h.db, WORKER))[0]
    assert row.status == "diajukan"
    assert (row.name, row.mother_name) == ("Budi Santoso", "Siti Aminah")
    assert (row.birth_date, row.sex) == ("1985-08-17", "L")
    assert (row.occupation, row.programs, row.payer) == ("nelayan", "JKK_JKM", "sendiri")
    assert row.pay_period_months == 3
    assert row.desa_code == "12.10.19.1001"
    assert (row.heir_name, row.heir_relation) == ("Rina Wati", "pasangan")
    assert_readable(calls)
    # One message a turn: at most two more than the questions (a reply-keyboard removal).
    assert len(messages(calls)) <= steps + 2


async def test_a_whole_registration_pressed_sends_one_message_a_step(harness: Harness) -> None:
    h = harness
    calls = await h.send(WORKER, "/daftar")
    for label in ("Setuju", "Diri saya sendiri"):
        calls += await h.tap(WORKER, label)
    calls += await h.send(WORKER, nik_for())
    calls += await h.send(WORKER, "Budi")
    calls += await h.tap(WORKER, "Benar")
    calls += await h.send(WORKER, "Siti")
    calls += await h.update(h.updates.contact(WORKER, "081234567890"))
    for label in ("Kabupaten Labuhanbatu", "Panai Hilir", "Sei Berombang", "Nelayan"):
        calls += await h.tap(WORKER, label)
    calls += await h.send(WORKER, "2 juta")
    calls += await h.tap(WORKER, h.labels(WORKER)[0])
    calls += await h.tap(WORKER, "Saya sendiri")
    calls += await h.tap(WORKER, h.labels(WORKER)[0])
    calls += await h.tap(WORKER, "Lewati")
    calls += await h.tap(WORKER, "Kirim")
    assert "Nomor pendaftaran" in h.text(WORKER)
    row = (await registrations.by_operator(h.db, WORKER))[0]
    questions = len([s for s in Step if s not in _skipped(row)])
    assert len(messages(calls)) <= questions + 2
    assert_readable(calls)
    # The shared phone and the typed income are confirmed in the next question's message.
    assert any(c.text.startswith("Nomor HP: +6281234567890\n\nDi kabupaten/kota") for c in calls)
    assert any(
        c.text.startswith("Penghasilan per bulan: Rp2.000.000\n\nPilih program") for c in calls
    )


def _skipped(row: Registration) -> set[Step]:
    """The questions a self-registration with a right birth date and no heir never asks."""
    return {
        Step.CONSENT_OTHER, Step.BIRTH_YEAR, Step.BIRTH_MONTH, Step.BIRTH_DAY, Step.SEX,
        Step.OCCUPATION_OTHER, Step.HEIR_RELATION,
    }  # fmt: skip


async def test_no_match_gets_one_short_line_of_what_to_type(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    calls = await h.send(WORKER, "hmm entahlah")
    assert [c.text for c in calls] == [
        "Ketik salah satu: «Setuju», «Kenapa data diminta?», «Tidak»"
    ]
    assert len(calls[0].text) < 120
    assert calls[0].buttons  # the buttons come with it
    assert (await row_of(h, WORKER)).step == Step.CONSENT
    await h.send(WORKER, "setuju")
    calls = await h.send(WORKER, "zzzz")
    assert len(calls) == 1 and len(calls[0].text) < 120
    assert "Siapa yang didaftarkan" not in calls[0].text


async def test_a_question_at_the_nik_step_is_answered_then_the_nik_asked_again(
    harness: Harness,
) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    calls = await h.send(WORKER, "brp iuran sy?")
    assert len(calls) == 1
    text = calls[0].text
    assert "NIK hanya berisi angka" not in text
    assert "iuran" in text.lower()
    assert text.endswith("\n\nKetik NIK Anda (16 angka, ada di KTP).")
    assert len(text) <= 600
    assert (await row_of(h, WORKER)).step == Step.NIK
    # Help, and then the answer itself still works.
    calls = await h.send(WORKER, "bantuan")
    assert calls[0].text.startswith("Saya menanyakan data pendaftaran satu per satu.")
    await h.send(WORKER, nik_for())
    assert (await row_of(h, WORKER)).step == Step.NAME


async def test_questions_at_button_and_amount_steps_are_answered_and_the_step_kept(
    harness: Harness,
) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    calls = await h.send(WORKER, "apa itu jht?")  # at a step with buttons
    assert len(calls) == 1
    assert calls[0].text.endswith("\n\nSiapa yang didaftarkan?")
    assert [label for label, _ in calls[0].buttons] == ["Diri saya sendiri", "Orang lain"]
    assert len(calls[0].text) <= 600
    await h.send(WORKER, "saya sendiri")
    await h.send(WORKER, nik_for())
    await h.send(WORKER, "Budi")
    await h.send(WORKER, "benar")
    await h.send(WORKER, "Siti")
    await h.send(WORKER, "081234567890")
    for place in ("labuhanbatu", "panai hilir", "sei berombang", "petani"):
        await h.send(WORKER, place)
    assert (await row_of(h, WORKER)).step == Step.INCOME
    calls = await h.send(WORKER, "berapa iuran kalau 2 juta?")  # at a step that takes amounts
    assert len(calls) == 1
    assert "Rp26.800" in calls[0].text  # JKK + JKM for Rp2.000.000, from the table
    assert calls[0].text.endswith("Ketik jumlahnya atau pilih tombol.")
    assert (await row_of(h, WORKER)).step == Step.INCOME


async def test_batal_then_daftar_offers_to_continue_with_the_answers_kept(
    harness: Harness,
) -> None:
    h = harness
    nik = nik_for()
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    await h.send(WORKER, nik)
    await h.send(WORKER, "budi")
    await h.tap(WORKER, "Benar")
    await h.send(WORKER, "siti")
    await h.send(WORKER, "081234567890")
    await h.send(WORKER, "labuhanbatu")
    await h.send(WORKER, "panai hilir")
    await h.send(WORKER, "sei berombang")
    assert (await row_of(h, WORKER)).step == Step.OCCUPATION
    await h.send(WORKER, "/batal")
    assert "tersimpan" in h.text(WORKER)
    calls = await h.send(WORKER, "nelayan")  # outside the flow: not an answer
    assert (await row_of(h, WORKER)).occupation is None
    await h.send(WORKER, "/daftar")
    assert h.labels(WORKER) == ["Lanjutkan (10 dari 15 terisi)", "Mulai dari awal"]
    calls = await h.tap(WORKER, "Lanjutkan (10 dari 15 terisi)")
    assert messages(calls)[0].text.startswith("Apa pekerjaan Anda?")
    await h.send(WORKER, "nelayan")
    row = await row_of(h, WORKER)
    assert (row.name, row.mother_name, row.occupation) == ("Budi", "Siti", "nelayan")
    assert row.nik_enc is not None and h.app.bot_data.cipher.decrypt(row.nik_enc) == nik
    # A kept draft still goes under the retention rule.
    await h.send(WORKER, "/batal")
    purged = await privacy.purge_expired(
        h.db, rejected_before="2000-01-01T00:00:00Z", drafts_before="2999-01-01T00:00:00Z"
    )
    assert purged == (0, 1)
    assert await registrations.active_of(h.db, WORKER) is None


async def test_cadre_confirms_consent_and_reads_texts_about_the_person(harness: Harness) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await h.send(CADRE, "/daftar")
    await h.tap(CADRE, "Setuju")
    calls = await h.tap(CADRE, "Orang lain")
    assert messages(calls)[0].text.startswith("Sudah minta izin Ibu/Bapak yang didaftarkan?")
    asked: list[str] = []
    asked += [c.text for c in messages(await h.send(CADRE, "sudah"))]
    asked += [c.text for c in messages(await h.send(CADRE, nik_for()))]
    asked += [c.text for c in messages(await h.send(CADRE, "rahmat"))]
    asked += [c.text for c in messages(await h.send(CADRE, "benar"))]
    asked += [c.text for c in messages(await h.send(CADRE, "aminah"))]
    # The address starts at the cadre's own desa, first in their kecamatan's list.
    calls = await h.send(CADRE, "0812 1111 2222")
    asked += [c.text for c in messages(calls)]
    assert "Pilih desa/kelurahan di Kecamatan Panai Hilir" in messages(calls)[0].text
    own = [label for label, data in messages(calls)[0].buttons if data == "REG desa 12.10.19.1001"]
    assert h.labels(CADRE)[0] == own[0]
    # Someone from another desa: allowed, with a one-line note.
    other = next(
        d for label, d in messages(calls)[0].buttons if d.startswith("REG desa 12.10.19.2")
    )
    calls = await h.press(CADRE, other)
    note = messages(calls)[0].text.split("\n\n")[0]
    assert note.startswith("Catatan: desa ini di luar desa tugas Anda")
    assert "\n" not in note
    asked += [messages(calls)[0].text.split("\n\n", 1)[1]]
    asked += [c.text for c in messages(await h.send(CADRE, "pedagang"))]
    asked += [c.text for c in messages(await h.send(CADRE, "1 juta"))]
    asked += [c.text for c in messages(await h.send(CADRE, "jkk jkm"))]
    asked += [c.text for c in messages(await h.send(CADRE, "program"))]
    row = await row_of(h, CADRE)
    assert row.step == Step.HEIR_NAME
    for text in asked:
        assert " Anda" not in text and not text.startswith("Anda"), text
    person = [t for t in asked if "orang yang didaftarkan" in t]
    # NIK, name, mother, phone, job, income and heir questions speak of the person.
    assert len(person) >= 7, asked


async def test_cadre_without_consent_keeps_the_draft(harness: Harness) -> None:
    h = harness
    await h.send(CADRE, "/daftar")
    await h.tap(CADRE, "Setuju")
    await h.tap(CADRE, "Orang lain")
    await h.send(CADRE, "blm")
    assert h.text(CADRE).startswith("Baik. Silakan minta izin orang yang didaftarkan dulu.")
    assert (await row_of(h, CADRE)).step == Step.CONSENT_OTHER
    await h.send(CADRE, "/daftar")
    await h.tap(CADRE, h.labels(CADRE)[0])
    assert h.text(CADRE).startswith("Sudah minta izin")


async def test_reviewer_region_list_starts_at_their_kabupaten(harness: Harness) -> None:
    h = harness
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await h.send(REVIEWER, "/daftar")
    for answer in ("setuju", "orang lain", "sudah", nik_for(), "budi", "benar", "siti"):
        await h.send(REVIEWER, answer)
    await h.send(REVIEWER, "tidak punya hp")
    assert h.text(REVIEWER).startswith("Pilih kecamatan di Kabupaten Labuhanbatu")
    assert "‹ Kabupaten lain" in h.labels(REVIEWER)
    await h.tap(REVIEWER, "‹ Kabupaten lain")
    assert h.text(REVIEWER).startswith("Di kabupaten/kota mana")


async def test_heir_filler_words_are_dropped_and_the_relation_confirmed(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    answers = ["setuju", "sendiri", nik_for(), "budi", "benar", "siti", "081234567890",
               "labuhanbatu", "panai hilir", "sei berombang", "nelayan", "1 juta", "jkk jkm",
               "program"]  # fmt: skip
    for answer in answers:
        await h.send(WORKER, answer)
    await h.send(WORKER, "istri sy rina wati")
    assert h.text(WORKER) == "Ahli waris: Rina Wati, hubungan: Suami / istri. Benar?"
    assert h.labels(WORKER)[0] == "Benar"
    assert "Suami / istri" not in h.labels(WORKER)
    await h.tap(WORKER, "Benar")
    row = await row_of(h, WORKER)
    assert (row.heir_name, row.heir_relation) == ("Rina Wati", "pasangan")
    assert "Ahli waris: Rina Wati (Suami / istri)" in h.text(WORKER)
    # A name that merely starts like a relation is kept whole.
    await h.send(WORKER, "ubah ahli waris")
    await h.send(WORKER, "Ibu Sari")
    assert (await row_of(h, WORKER)).heir_name == "Ibu Sari"
    assert h.text(WORKER) == "Apa hubungan ahli waris dengan peserta?"


async def test_typed_labels_at_the_summary_and_year_month_steps(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    for answer in (
        "y",
        "diri sendiri",
        nik_for(),
        "budi",
        "salah",
        "1981",
        "8",
        "31",
        "yang diisi",
        "pr",
    ):
        await h.send(WORKER, answer)
    row = await row_of(h, WORKER)
    assert (row.birth_date, row.sex) == ("1981-08-31", "P")
    await h.send(WORKER, "siti")
    # Month names and short forms, once more through the summary's change button.
    for answer in ("081234567890", "labuhanbatu", "panai hilir", "sei berombang", "ojek",
                   "sampai rp1.099.000", "jkk jkm jht", "program", "lewati"):  # fmt: skip
        await h.send(WORKER, answer)
    row = await row_of(h, WORKER)
    assert (row.occupation, row.programs, row.income) == (
        "ojek_sopir",
        "JKK_JKM_JHT",
        row.income_base,
    )
    assert row.step == Step.SUMMARY
    await h.send(WORKER, "ubah tgl lahir")
    await h.send(WORKER, "salah")
    for answer in ("1979", "agustus", "17", "yang diisi", "perempuan"):
        await h.send(WORKER, answer)
    assert (await row_of(h, WORKER)).birth_date == "1979-08-17"
    await h.send(WORKER, "krim")  # Kirim, misspelt
    assert "Nomor pendaftaran" in h.text(WORKER)


async def test_continue_and_start_over_can_be_typed(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.send(WORKER, "setuju")
    await h.send(WORKER, "sendiri")
    await h.send(WORKER, "/batal")
    await h.send(WORKER, "/daftar")
    calls = await h.send(WORKER, "lanjutkan")
    assert calls[0].text.startswith("Ketik NIK Anda")
    calls = await h.send(WORKER, "mulai dari awal")
    assert calls[0].text.startswith("Sebelum mulai, mohon baca ini.")
    assert (await row_of(h, WORKER)).step == Step.CONSENT


async def test_cadre_shares_the_persons_contact_card_as_their_phone(harness: Harness) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await h.send(CADRE, "/daftar")
    for answer in ("setuju", "orang lain", "sudah", nik_for(), "rahmat", "benar", "aminah"):
        await h.send(CADRE, answer)
    # A contact from the phone book: not the cadre's own, and that is the point.
    calls = await h.update(h.updates.contact(CADRE, "0812 1111 2222", own=False))
    assert "orang lain" not in messages(calls)[0].text
    row = await row_of(h, CADRE)
    assert row.step == Step.DESA
    assert row.phone_enc is not None
    assert h.app.bot_data.cipher.decrypt(row.phone_enc) == "+6281211112222"


async def test_cadre_can_register_someone_in_another_kabupaten(harness: Harness) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await h.send(CADRE, "/daftar")
    for answer in ("setuju", "orang lain", "sudah", nik_for(), "rahmat", "benar", "aminah",
                   "0812 1111 2222"):  # fmt: skip
        await h.send(CADRE, answer)
    await h.tap(CADRE, "‹ Kecamatan lain")
    assert h.text(CADRE).startswith("Pilih kecamatan di Kabupaten Labuhanbatu")
    await h.tap(CADRE, "‹ Kabupaten lain")
    assert h.text(CADRE).startswith("Di kabupaten/kota mana")
    await h.send(CADRE, "deli serdang")
    assert (await row_of(h, CADRE)).kabupaten_code == "12.07"


async def test_a_question_at_a_name_step_is_not_taken_as_the_name(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    for answer in ("setuju", "sendiri", nik_for()):
        await h.send(WORKER, answer)
    calls = await h.send(WORKER, "apa harus sesuai ktp")
    assert messages(calls)[0].text.endswith("Ketik nama lengkap Anda sesuai KTP.")
    row = await row_of(h, WORKER)
    assert (row.step, row.name) == (Step.NAME, None)
    await h.send(WORKER, "Budi Santoso")
    assert (await row_of(h, WORKER)).name == "Budi Santoso"


async def test_a_button_word_asked_with_a_question_mark_does_not_choose_it(
    harness: Harness,
) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    answers = ["setuju", "sendiri", nik_for(), "budi", "benar", "siti", "081234567890",
               "labuhanbatu", "panai hilir", "sei berombang", "nelayan", "1 juta"]  # fmt: skip
    for answer in answers:
        await h.send(WORKER, answer)
    calls = await h.send(WORKER, "jht?")
    assert messages(calls)[0].text.endswith("Pilih program: JKK + JKM, atau JKK + JKM + JHT.")
    row = await row_of(h, WORKER)
    assert (row.step, row.programs) == (Step.PROGRAMS, None)
    await h.send(WORKER, "jkk jkm")
    assert (await row_of(h, WORKER)).programs == "JKK_JKM"


async def test_a_job_typed_in_more_words_picks_its_button(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    answers = ["setuju", "sendiri", nik_for(), "budi", "benar", "siti", "081234567890",
               "labuhanbatu", "panai hilir", "sei berombang"]  # fmt: skip
    for answer in answers:
        await h.send(WORKER, answer)
    await h.send(WORKER, "sopir angkot")  # a transport job: its own contribution rules
    row = await row_of(h, WORKER)
    assert (row.occupation, row.step) == ("ojek_sopir", Step.INCOME)
    for answer in ("1 juta", "jkk jkm", "program", "lewati", "ubah pekerjaan"):
        await h.send(WORKER, answer)
    await h.send(WORKER, "tukang kayu")  # not on the buttons: Lainnya, with its name
    row = await row_of(h, WORKER)
    assert (row.occupation, row.occupation_other) == ("lainnya", "tukang kayu")


async def test_an_answer_given_mid_registration_does_not_point_at_buttons_it_does_not_show(
    harness: Harness,
) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    for question in ("jht bisa diambil kapan?", "kalau kecelakaan kerja gmn cara klaim nya?"):
        [call] = await h.send(WORKER, question)
        assert "tombol di bawah" not in call.text, call.text
        assert call.text.endswith("\n\nKetik NIK Anda (16 angka, ada di KTP).")
    assert "2×24 jam" in call.text  # what the cut sentence said before its pointer is kept
