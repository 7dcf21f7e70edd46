"""Free-text questions: curated answers with sources, honest 'I don't know', passing them on."""

from __future__ import annotations

import pytest

from bot import membership
from bot.contributions import SELF_PAID, quote
from bot.i18n import translator
from storage import roles
from storage.users import language_of, set_language
from tests.conftest import ADMIN_ID, Harness
from tests.factories import submitted_registration

WORKER = 501
REVIEWER = 601
OTHER_REVIEWER = 602
CADRE = 603
STRANGER = 604


async def test_question_gets_a_curated_answer_with_source_and_related_buttons(
    harness: Harness,
) -> None:
    await harness.send(WORKER, "apa manfaat ikut bpjs ketenagakerjaan")
    call = harness.last(WORKER)
    assert call.text.startswith("Manfaat ikut BPJS TK\n\n")
    assert call.text.endswith("\n\nSumber: PP 82/2019; BPJS Ketenagakerjaan")
    assert "domain.md" not in call.text
    assert call.params["link_preview_options"]["is_disabled"] is True
    assert 1 <= len(call.buttons) <= 3
    assert all(data.startswith("ASK ") for _, data in call.buttons)
    label = call.buttons[0][0]
    await harness.tap(WORKER, label)
    assert harness.text(WORKER).startswith(label + "\n\n")


async def test_stale_topic_button(harness: Harness) -> None:
    calls = await harness.press(WORKER, "ASK topik_lama")
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers[0].params["text"].startswith("Topik ini sudah tidak ada.")


async def test_unknown_question_is_answered_honestly_and_passed_to_the_district(
    harness: Harness,
) -> None:
    await roles.grant(harness.db, REVIEWER, "reviewer", "12.10", "cli")
    await roles.grant(harness.db, OTHER_REVIEWER, "reviewer", "12.12", "cli")
    await roles.grant(harness.db, CADRE, "cadre", "12.10.19.1001", "cli")
    await submitted_registration(harness.db, harness.app.bot_data.cipher, operator_id=WORKER)

    await harness.send(WORKER, "kapan jadwal kapal feri ke pulau samosir")
    text = harness.text(WORKER)
    assert text.startswith("Maaf, saya belum bisa menjawab pertanyaan itu dengan pasti")
    assert "Rp" not in text
    labels = harness.labels(WORKER)
    assert labels[-1] == "Teruskan ke petugas"
    assert len(labels) == 4
    row = await harness.db.fetchone("SELECT id, status FROM questions")
    assert row["status"] == "draft"

    calls = await harness.tap(WORKER, "Teruskan ke petugas")
    assert "sudah diteruskan ke petugas" in harness.text(WORKER)
    told = {c.chat_id for c in calls if c.method == "sendMessage"} - {WORKER}
    assert told == {REVIEWER, CADRE}
    assert "/pertanyaan" in harness.text(REVIEWER)
    stored = await harness.db.fetchone("SELECT status, region_code FROM questions")
    assert (stored["status"], stored["region_code"]) == ("open", "12.10.19.1001")
    # Pressing again changes nothing.
    await harness.press(WORKER, f"ASK FWD {row['id']}")
    assert harness.text(WORKER) == "Pertanyaan ini sudah diteruskan ke petugas."

    # Another district does not see it, and cannot answer it with an old button.
    await harness.send(OTHER_REVIEWER, "/pertanyaan")
    assert harness.text(OTHER_REVIEWER) == "Tidak ada pertanyaan yang menunggu jawaban."
    calls = await harness.press(OTHER_REVIEWER, f"QNA {row['id']}")
    assert calls[-1].params["text"] == "Tombol ini sudah tidak berlaku."

    await harness.send(REVIEWER, "/pertanyaan")
    assert "kapal feri" in harness.text(REVIEWER)
    await harness.tap(REVIEWER, f"Jawab #{row['id']}")
    assert "Tulis jawaban untuk pertanyaan" in harness.text(REVIEWER)
    await harness.send(REVIEWER, "Itu bukan urusan BPJS; tanyakan ke Dinas Perhubungan.")
    assert harness.text(REVIEWER) == "Jawaban terkirim. Terima kasih."
    answer = harness.text(WORKER)
    assert answer.startswith("Jawaban petugas untuk pertanyaan Anda:")
    assert "Dinas Perhubungan" in answer
    done = await harness.db.fetchone("SELECT status, answered_by FROM questions")
    assert (done["status"], done["answered_by"]) == ("answered", REVIEWER)

    # The cadre's old button is now answered idempotently.
    calls = await harness.press(CADRE, f"QNA {row['id']}")
    assert calls[-1].params["text"] == "Pertanyaan ini sudah dijawab."


async def test_question_without_a_region_goes_to_the_admin(harness: Harness) -> None:
    await harness.send(WORKER, "berapa saldo jht saya")
    assert harness.labels(WORKER)[-1] == "Teruskan ke petugas"
    await harness.tap(WORKER, "Teruskan ke petugas")
    await harness.send(ADMIN_ID, "/pertanyaan")
    assert "saldo jht" in harness.text(ADMIN_ID)
    await harness.tap(ADMIN_ID, "Jawab #1")
    await harness.send(ADMIN_ID, "/batal")
    assert await harness.db.fetchval("SELECT status FROM questions") == "open"


async def test_only_officials_can_list_questions(harness: Harness) -> None:
    await harness.send(STRANGER, "/pertanyaan")
    assert harness.text(STRANGER) == "Perintah ini untuk kader dan petugas kabupaten."


async def test_someone_elses_forward_button_does_nothing(harness: Harness) -> None:
    await harness.send(WORKER, "kapan jadwal kapal feri ke pulau samosir")
    await harness.press(STRANGER, "ASK FWD 1")
    assert harness.text(STRANGER) == "Tombol ini sudah tidak berlaku."
    assert await harness.db.fetchval("SELECT status FROM questions") == "draft"


async def test_answer_to_a_worker_who_blocked_the_bot_is_kept(harness: Harness) -> None:
    await harness.send(WORKER, "kapan jadwal kapal feri ke pulau samosir")
    await harness.tap(WORKER, "Teruskan ke petugas")
    await harness.send(ADMIN_ID, "/pertanyaan")
    await harness.tap(ADMIN_ID, "Jawab #1")
    harness.api.fail_next("sendMessage", status=403, chat_id=WORKER)
    await harness.send(ADMIN_ID, "Tanyakan ke Dinas Perhubungan.")
    assert "Jawaban tersimpan, tetapi tidak bisa dikirim" in harness.text(ADMIN_ID)
    assert await harness.db.fetchval("SELECT answer FROM questions") == (
        "Tanyakan ke Dinas Perhubungan."
    )


async def test_a_question_where_a_nik_is_awaited_is_answered_and_the_nik_asked_again(
    harness: Harness,
) -> None:
    await harness.press(WORKER, "STS OTHER")
    await harness.send(WORKER, "kalau meninggal dapat apa")
    text = harness.text(WORKER)
    assert "JKM" in text and "NIK harus" not in text
    assert text.endswith("Untuk cek status, ketik NIK (16 angka), atau /batal.")
    await harness.send(WORKER, "12345")  # not a question: what a NIK must look like
    assert "NIK harus 16 angka" in harness.text(WORKER)


async def test_greetings_and_thanks_get_a_short_reply_with_the_menu(harness: Harness) -> None:
    for text in ("halo", "Assalamualaikum bang", "horas lae", "makasih ya", "ok"):
        await harness.send(WORKER, text)
        call = harness.last(WORKER)
        assert "tidak mau menebak" not in call.text
        assert len(call.text) <= 600
        assert call.buttons and all(data.startswith("MENU ") for _, data in call.buttons)
    assert await harness.db.fetchval("SELECT COUNT(*) FROM questions") == 0


async def test_daftar_typed_as_a_message_starts_the_registration(harness: Harness) -> None:
    await harness.send(WORKER, "mau daftar")
    assert "tidak mau menebak" not in harness.text(WORKER)
    assert await harness.db.fetchval("SELECT COUNT(*) FROM registrations") == 1


async def test_english_small_talk_to_an_indonesian_reader(harness: Harness) -> None:
    await harness.send(WORKER, "yes")
    assert "tidak mau menebak" not in harness.text(WORKER)
    await harness.send(WORKER, "I want to register")
    assert await harness.db.fetchval("SELECT COUNT(*) FROM registrations") == 1


async def test_registration_answers_carry_a_register_button(harness: Harness) -> None:
    await harness.send(WORKER, "cemana cara daftar bpjs tk")
    assert harness.text(WORKER).startswith("Cara mendaftar\n\n")
    assert harness.labels(WORKER)[0] == "Daftar sekarang"
    await harness.tap(WORKER, "Daftar sekarang")
    assert await harness.db.fetchval("SELECT COUNT(*) FROM registrations") == 1


async def test_status_answers_carry_a_status_button(harness: Harness) -> None:
    await harness.send(WORKER, "udh kirim pendaftaran trs gmn")
    call = harness.last(WORKER)
    assert call.text.startswith("Setelah mendaftar\n\n")
    assert ("Cek status", "MENU status") in call.buttons


async def test_death_at_sea_is_answered_as_a_work_accident(harness: Harness) -> None:
    await harness.send(WORKER, "kalo sy meninggal di laut keluarga dpt apa")
    text = harness.text(WORKER)
    assert text.startswith("Meninggal akibat kerja\n\n")
    assert "48 kali" in text and "Rp42 juta" in text


async def test_english_question_of_a_reader_who_chose_indonesian_gets_indonesian(
    harness: Harness,
) -> None:
    await set_language(harness.db, WORKER, "id")
    await harness.send(WORKER, "how do I claim the death benefit")
    assert harness.text(WORKER).startswith("Cara klaim santunan kematian\n\n")
    assert await language_of(harness.db, WORKER) == "id"


async def test_english_first_question_is_answered_in_english_with_a_language_hint(
    harness: Harness,
) -> None:
    await harness.send(WORKER, "What do I get after an accident at work?")
    text = harness.text(WORKER)
    assert text.startswith("Work accident cover (JKK)\n\n")
    assert len(text) <= 600
    # The way to switch language: a button when the answer is long, else a short line.
    [switch] = [label for label, data in harness.last(WORKER).buttons if data == "MENU bahasa"]
    await harness.send(WORKER, "Is my data safe?")
    text = harness.text(WORKER)
    assert text.startswith("Personal data safety\n\n")
    assert text.endswith(": /bahasa") and len(text) <= 600
    await harness.press(WORKER, "MENU bahasa")
    assert harness.text(WORKER).startswith("Pilih bahasa / Choose a language:")
    assert switch
    # The stored language is not changed: the person has not chosen one.
    assert await language_of(harness.db, WORKER) is None
    # Indonesian with loanwords stays Indonesian.
    await harness.send(WORKER, "ok status pendaftaran sy gmn")
    assert "/bahasa" not in harness.text(WORKER)


async def test_claim_duration_is_answered_with_how_to_follow_it(harness: Harness) -> None:
    await harness.send(WORKER, "biasanya klaim jkk selesai nya brp lama ya")
    text = harness.text(WORKER)
    assert text.startswith("Berapa lama klaim diproses\n\n")
    assert "30 hari" in text and "BPJS 175" in text and "JMO" in text


async def test_registering_someone_else_says_how_and_carries_the_register_button(
    harness: Harness,
) -> None:
    await harness.send(WORKER, "bisa sy daftarin ayah sy yg udh tua")
    text = harness.text(WORKER)
    assert text.startswith("Mendaftarkan orang lain\n\n")
    assert "«Orang lain»" in text and "izin" in text and "KTP" in text
    assert harness.labels(WORKER)[0] == "Daftar sekarang"


async def test_a_total_for_several_months_is_computed(harness: Harness) -> None:
    await harness.send(WORKER, "kalo bayar iuran 6 bln sekaligus jadi brp")
    text = harness.text(WORKER)
    on = membership.today()
    two = quote(1_000_000, "JKK_JKM", None, SELF_PAID, on).period_total(6)
    three = quote(1_000_000, "JKK_JKM_JHT", None, SELF_PAID, on).period_total(6)
    tr = translator("id")
    assert f"Bayar 6 bulan sekaligus (penghasilan di bawah Rp1.100.000): {tr.money(two)}" in text
    assert f"atau {tr.money(three)} dengan JHT." in text
    assert len(text) <= 600


@pytest.mark.parametrize(
    ("typed", "start"),
    [
        ("ga jadi lah bang", "Baik, tidak apa-apa."),
        ("ini robot kah", "Ya, saya bot Jaga Pekerja."),
    ],
)
async def test_never_mind_and_are_you_a_bot_get_a_short_reply_with_the_menu(
    harness: Harness, typed: str, start: str
) -> None:
    await harness.send(WORKER, typed)
    call = harness.last(WORKER)
    assert call.text.startswith(start)
    assert call.buttons and all(data.startswith("MENU ") for _, data in call.buttons)


# Held-out phrasings of the asker's own state (none is training material).
@pytest.mark.parametrize(
    "typed",
    [
        "pendaftaran sy kok blm ada kabar ya, udh disetujui kah",
        "aku udh jadi peserta blm ya, status nya gmn",
        "nomor daftar sy brp ya bang",
    ],
)
async def test_own_status_in_free_text_gets_the_own_state_and_the_status_button(
    harness: Harness, typed: str
) -> None:
    registration = await submitted_registration(
        harness.db, harness.app.bot_data.cipher, operator_id=WORKER
    )
    await harness.send(WORKER, typed)
    call = harness.last(WORKER)
    assert f"Nomor pendaftaran: {registration.ref}" in call.text
    assert "Sudah dikirim, menunggu diperiksa petugas kabupaten." in call.text
    assert "Budi" not in call.text and len(call.text) <= 600
    assert call.buttons == [("Cek status", "MENU status")]


async def test_own_status_of_someone_registered_by_another_shows_only_the_senders_view(
    harness: Harness,
) -> None:
    # A cadre who registered someone sees that registration's state as /status lists it; the
    # worker's own account, never linked, sees nothing of it.
    registration = await submitted_registration(
        harness.db, harness.app.bot_data.cipher, operator_id=CADRE, for_self=False
    )
    await harness.send(CADRE, "pendaftaran yg sy kirim udh diterima blm")
    text = harness.text(CADRE)
    assert registration.ref and registration.ref in text and "sedang diperiksa petugas" in text
    await harness.send(STRANGER, "sy udh terdaftar blm ya")
    text = harness.text(STRANGER)
    assert registration.ref not in text and text.startswith("Setelah mendaftar\n\n")
    assert harness.last(STRANGER).buttons[0] == ("Daftar sekarang", "MENU daftar")


@pytest.mark.parametrize(
    "typed", ["oh iya maaf, lupa", "maaf bang salah ketik", "oh gitu ya", "mohon maaf bang"]
)
async def test_an_apology_or_acknowledgement_is_small_talk(harness: Harness, typed: str) -> None:
    await harness.send(WORKER, typed)
    call = harness.last(WORKER)
    assert not call.text.startswith("Telat bayar")
    assert call.buttons and all(data.startswith("MENU ") for _, data in call.buttons)


async def test_an_apology_gets_a_friendly_reply(harness: Harness) -> None:
    await harness.send(WORKER, "sori bang, lupa sy")
    assert harness.text(WORKER).startswith("Tidak apa-apa.")
    await harness.send(WORKER, "sy lupa bayar iuran bulan lalu")
    assert harness.text(WORKER).startswith("Telat bayar / menunggak\n\n")


async def test_ordinary_sickness_is_told_what_jkk_covers_first(harness: Harness) -> None:
    await harness.send(WORKER, "kalo demam biasa di rumah, bukan krn kerja, ditanggung?")
    text = harness.text(WORKER)
    first = text.split("\n\n")[1].splitlines()[0]
    assert "penyakit akibat kerja" in first and "sakit biasa tidak ditanggung JKK" in first
