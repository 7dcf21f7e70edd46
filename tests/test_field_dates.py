"""Birth dates typed as people type them, a typed date that differs from the NIK, a relation
said alone as the heir, and the consent text for someone who registers others."""

from __future__ import annotations

import json

import pytest

from bot.registration import CONSENT_VERSION, Step
from storage import registrations, review, roles
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration

# Born 10 March 1964 (a man), in Kecamatan Panai Hilir.
NIK_1964 = "1210191003640007"
WORKER = 811
CADRE = 812


async def row_of(h: Harness, uid: int) -> Registration:
    row = await registrations.active_of(h.db, uid)
    assert row is not None
    return row


async def to_birth_check(h: Harness, uid: int, nik: str) -> None:
    """/daftar up to the check of the birth date read from the NIK."""
    await h.send(uid, "/daftar")
    await h.tap(uid, "Setuju")
    await h.tap(uid, "Diri saya sendiri")
    await h.send(uid, nik)
    await h.send(uid, "Budi")


def one_message(calls: list) -> str:  # type: ignore[type-arg]
    messages = [c for c in calls if c.method == "sendMessage"]
    assert len(messages) == 1, [m.text for m in messages]
    assert len(messages[0].text) <= 600
    return str(messages[0].text)


@pytest.mark.parametrize(
    ("step_label", "typed"),
    [
        ("year", "15-5-80"),
        ("year", "15 mei 1980"),
        ("year", "15 Mei '80"),
        ("year", "1980-05-15"),
        ("year", "tgl 15 bulan 5 thn 1980"),
        ("month", "15/05/1980"),
        ("day", "lahir 15.05.1980"),
    ],
)
async def test_a_whole_date_typed_at_a_birth_question_is_taken_whole(
    harness: Harness, step_label: str, typed: str
) -> None:
    h = harness
    await to_birth_check(h, WORKER, nik_for(birth="150580"))
    await h.tap(WORKER, "Salah")
    if step_label in ("month", "day"):
        await h.tap(WORKER, "1970–1979")
        await h.tap(WORKER, "1975")
    if step_label == "day":
        await h.tap(WORKER, "Januari")
    text = one_message(await h.send(WORKER, typed))
    row = await row_of(h, WORKER)
    assert row.birth_date == "1980-05-15", text
    assert row.step == Step.SEX
    assert text.startswith("Pilih jenis kelamin.")


async def test_part_of_a_date_fills_what_it_gives_and_asks_the_rest(harness: Harness) -> None:
    h = harness
    await to_birth_check(h, WORKER, nik_for(birth="150580"))
    await h.tap(WORKER, "Salah")
    text = one_message(await h.send(WORKER, "mei 1980"))
    assert text.startswith("Pilih tanggal lahir")
    assert (await row_of(h, WORKER)).step == Step.BIRTH_DAY
    await h.send(WORKER, "15")
    assert (await row_of(h, WORKER)).birth_date == "1980-05-15"


async def test_a_date_said_with_salah_is_taken_and_its_difference_told(
    harness: Harness,
) -> None:
    h = harness
    await to_birth_check(h, WORKER, NIK_1964)
    text = one_message(await h.send(WORKER, "salah, lahirnya 12 maret 1964 kata dia"))
    assert "Menurut NIK: 10 Maret 1964." in text
    assert "Yang diisi: 12 Maret 1964." in text
    assert "Dari NIK, kami membaca" not in text
    assert (await row_of(h, WORKER)).birth_date == "1964-03-12"
    await h.tap(WORKER, "Menurut NIK: 10 Maret 1964")
    row = await row_of(h, WORKER)
    assert (row.birth_date, row.step) == ("1964-03-10", Step.MOTHER)
    assert "birth_corrected" not in json.loads(row.flags)


async def test_a_typed_date_that_differs_from_the_nik_can_be_kept(harness: Harness) -> None:
    h = harness
    await to_birth_check(h, WORKER, NIK_1964)
    await h.tap(WORKER, "Salah")
    text = one_message(await h.send(WORKER, "12-3-64"))
    assert "Menurut NIK: 10 Maret 1964." in text
    await h.tap(WORKER, "Yang diisi: 12 Maret 1964")
    assert h.text(WORKER).startswith("Pilih jenis kelamin.")
    await h.tap(WORKER, "Laki-laki")
    row = await row_of(h, WORKER)
    assert (row.birth_date, row.step) == ("1964-03-12", Step.MOTHER)


async def fix_birth_date(h: Harness) -> Registration:
    """A submission whose birth date was typed as 12 March against a NIK of 10 March, sent back
    by a reviewer to fix the birth date; the fix screen is open."""
    row = await submitted_registration(
        h.db,
        h.app.bot_data.cipher,
        operator_id=WORKER,
        nik=NIK_1964,
        birth_date="1964-03-12",
        flags=["birth_corrected"],
    )
    await review.request_fix(h.db, row.id, 9001, ["birth_date"], "Cek tanggal lahir")
    await h.press(WORKER, f"FIX {row.id}")
    return row


async def test_the_fix_screen_shows_the_nik_date_and_the_typed_one(harness: Harness) -> None:
    h = harness
    row = await fix_birth_date(h)
    text = h.text(WORKER)
    assert "Dari NIK, kami membaca" not in text
    assert "Menurut NIK: 10 Maret 1964." in text
    assert "Yang diisi: 12 Maret 1964." in text
    assert "Menurut NIK: 10 Maret 1964" in h.labels(WORKER)
    assert "Ketik tanggal lain" in h.labels(WORKER)
    await h.tap(WORKER, "Menurut NIK: 10 Maret 1964")
    await h.tap(WORKER, "Kirim perbaikan")
    fixed = await registrations.get(h.db, row.id)
    assert fixed is not None
    assert (fixed.status, fixed.birth_date) == ("diajukan", "1964-03-10")
    assert json.loads(fixed.flags) == []


async def test_a_flag_whose_cause_is_gone_is_dropped_on_resubmission(harness: Harness) -> None:
    h = harness
    row = await fix_birth_date(h)
    await h.tap(WORKER, "Ketik tanggal lain")
    await h.send(WORKER, "10 maret 1964")
    await h.tap(WORKER, "Laki-laki")  # the manual path: flagged while answering
    await h.tap(WORKER, "Kirim perbaikan")
    fixed = await registrations.get(h.db, row.id)
    assert fixed is not None
    assert fixed.birth_date == "1964-03-10"
    assert "birth_corrected" not in json.loads(fixed.flags)


async def to_heir(h: Harness, uid: int) -> None:
    """A registration up to the heir's name; the mother is Siti Aminah."""
    await to_birth_check(h, uid, nik_for())
    await h.tap(uid, "Benar")
    await h.send(uid, "siti aminah")
    await h.update(h.updates.contact(uid, "0812-3456-7890"))
    await h.tap(uid, "Kabupaten Labuhanbatu")
    await h.tap(uid, "Panai Hilir")
    await h.tap(uid, "Sei Berombang")
    await h.tap(uid, "Nelayan")
    await h.tap(uid, "Sampai Rp1.099.000")
    await h.tap(uid, "JKK + JKM: Rp16.800/bulan")
    await h.tap(uid, "Program desa / kabupaten")
    assert (await row_of(h, uid)).step == Step.HEIR_NAME


@pytest.mark.parametrize("typed", ["ibunya", "ibu saya", "mamaknya"])
async def test_the_mother_said_as_heir_offers_her_name(harness: Harness, typed: str) -> None:
    h = harness
    await to_heir(h, WORKER)
    text = one_message(await h.send(WORKER, typed))
    row = await row_of(h, WORKER)
    assert row.heir_name is None and row.step == Step.HEIR_NAME
    assert "Siti Aminah" in text
    assert "Siti Aminah" in h.labels(WORKER)
    await h.tap(WORKER, "Siti Aminah")
    row = await row_of(h, WORKER)
    assert (row.heir_name, row.heir_relation, row.step) == (
        "Siti Aminah",
        "orang_tua",
        Step.SUMMARY,
    )


@pytest.mark.parametrize(
    ("relation_word", "relation"),
    [("istrinya", "pasangan"), ("suaminya", "pasangan"), ("anaknya", "anak"),
     ("bapaknya", "orang_tua"), ("ibunya", "orang_tua")],
)  # fmt: skip
async def test_a_relation_alone_is_kept_and_the_name_asked(
    harness: Harness, relation_word: str, relation: str
) -> None:
    h = harness
    await to_heir(h, WORKER)
    text = one_message(await h.send(WORKER, relation_word))
    assert "namanya" in text
    assert (await row_of(h, WORKER)).heir_name is None
    await h.send(WORKER, "nurhayati")
    row = await row_of(h, WORKER)
    assert (row.heir_name, row.heir_relation, row.step) == ("Nurhayati", relation, Step.SUMMARY)


async def test_relation_and_name_in_one_message(harness: Harness) -> None:
    h = harness
    await to_heir(h, WORKER)
    text = one_message(await h.send(WORKER, "ibunya, Nurhayati"))
    assert text.startswith("Ahli waris: Nurhayati, hubungan: Orang tua. Benar?")
    await h.tap(WORKER, "Benar")
    row = await row_of(h, WORKER)
    assert (row.heir_name, row.heir_relation) == ("Nurhayati", "orang_tua")


async def test_a_cadre_reads_consent_for_the_registered_person_then_short(
    harness: Harness,
) -> None:
    h = harness
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    # Agreed before, but to an older text: the whole text is shown.
    await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=CADRE, for_self=False, consent_version="old"
    )
    first = one_message(await h.send(CADRE, "/daftar"))
    assert first.startswith("Sebelum mulai, mohon baca ini.")
    assert "data orang yang didaftarkan" in first
    assert "data Anda" not in first
    labels = h.labels(CADRE)
    await h.send(CADRE, "/batal")
    await registrations.delete_draft(h.db, CADRE)
    await submitted_registration(
        h.db,
        h.app.bot_data.cipher,
        operator_id=CADRE,
        for_self=False,
        consent_version=CONSENT_VERSION,
    )
    again = one_message(await h.send(CADRE, "/daftar"))
    assert "data orang yang didaftarkan" in again
    assert len(again) < 300 and len(again.split("\n")) <= 3
    assert h.labels(CADRE) == labels
    await h.tap(CADRE, "Setuju")
    await h.tap(CADRE, "Orang lain")
    assert h.text(CADRE).startswith("Sudah minta izin")


@pytest.mark.parametrize("typed", ["cek status sy", "status pendaftaran sy", "lihat status"])
async def test_a_status_question_at_the_address_is_answered_then_asked_again(
    harness: Harness, typed: str
) -> None:
    h = harness
    await to_birth_check(h, WORKER, nik_for())
    await h.tap(WORKER, "Benar")
    await h.send(WORKER, "siti aminah")
    await h.update(h.updates.contact(WORKER, "0812-3456-7890"))
    questions = ["Di kabupaten/kota mana", "Pilih kecamatan di", "Pilih desa/kelurahan di"]
    for question, press in zip(
        questions, ["Kabupaten Labuhanbatu", "Panai Hilir", None], strict=True
    ):
        text = one_message(await h.send(WORKER, typed))
        assert "tidak saya temukan" not in text, text
        assert text.split("\n\n")[-1].startswith(question), text
        assert "status" in text.lower()
        if press:
            await h.tap(WORKER, press)
