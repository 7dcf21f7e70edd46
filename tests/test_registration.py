"""Registration by chat, through the Application: happy paths, validation, resume, edits."""

from __future__ import annotations

import json

from bot.registration import CONSENT_VERSION, StoredRegistration
from storage import audit, registrations
from storage.registrations import Registration
from tests.conftest import Harness, HarnessFactory
from tests.factories import nik_for

WORKER = 601
CADRE = 602


async def row_of(h: Harness, operator_id: int) -> Registration:
    """The operator's active registration (draft or being fixed)."""
    row = await registrations.active_of(h.db, operator_id)
    assert row is not None
    return row


async def answer_until_summary(
    h: Harness,
    uid: int,
    *,
    nik: str,
    name: str = "budi SANTOSO",
    for_self: bool = True,
    phone: str | None = "0812-3456-7890",
) -> None:
    """Walk a registration from /daftar to the summary the way a person would."""
    await h.send(uid, "/daftar")
    await h.tap(uid, "Setuju")
    await h.tap(uid, "Diri saya sendiri" if for_self else "Orang lain")
    if not for_self:
        await h.tap(uid, "Sudah, dia setuju")
    await h.send(uid, nik)
    await h.send(uid, name)
    await h.tap(uid, "Benar")
    await h.send(uid, "siti aminah")
    if phone is None:
        await h.tap(uid, "Tidak punya HP")
    elif for_self:
        await h.update(h.updates.contact(uid, phone))
    else:
        await h.send(uid, phone)
    await h.tap(uid, "Kabupaten Labuhanbatu")
    await h.tap(uid, "Panai Hilir")
    await h.tap(uid, "Sei Berombang")
    await h.tap(uid, "Nelayan")
    await h.tap(uid, "Sampai Rp1.099.000")
    await h.tap(uid, "JKK + JKM: Rp16.800/bulan")
    await h.tap(uid, "Program desa / kabupaten")  # a program pays: no period to choose
    await h.tap(uid, "Lewati")


async def test_fisherman_registers_himself(harness: Harness) -> None:
    h = harness
    nik = nik_for("12.10.19")
    await answer_until_summary(h, WORKER, nik=nik)
    summary = h.text(WORKER)
    assert summary.startswith("Periksa data berikut:")
    assert f"NIK: {nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}" in summary
    assert "Nama: Budi Santoso" in summary
    assert "Tanggal lahir: 15 Mei 1980" in summary
    assert "No. HP: +6281234567890" in summary
    assert "Alamat: Sei Berombang, Panai Hilir, Kabupaten Labuhanbatu" in summary
    assert "Iuran per bulan: Rp16.800" in summary
    await h.tap(WORKER, "Kirim")

    done = h.text(WORKER)
    assert "Nomor pendaftaran: JP-1210-" in done
    assert "/status" in done
    row = await registrations.get_by_ref(h.db, done.split("Nomor pendaftaran: ")[1].split("\n")[0])
    assert row is not None
    assert row.status == "diajukan"
    assert row.operator_id == WORKER
    assert row.worker_telegram_id == WORKER
    assert row.consent_version == CONSENT_VERSION
    assert row.consent_at
    assert row.occupation == "nelayan"
    assert row.programs == "JKK_JKM"
    assert row.monthly_contribution == 16_800
    assert row.kabupaten_code == "12.10"
    assert row.desa_code == "12.10.19.1001"
    assert json.loads(row.flags) == []
    # Encrypted at rest, readable with the key, found by keyed hash.
    assert row.nik_enc is not None and nik.encode() not in row.nik_enc
    assert h.app.bot_data.cipher.decrypt(row.nik_enc) == nik
    assert row.nik_hash == h.app.bot_data.cipher.lookup_hash("nik", nik)
    assert [e.to_status for e in await audit.history(h.db, row.id)] == ["diajukan"]
    StoredRegistration.model_validate(row)
    # The flow is over: free text is no longer an answer to it.
    flow = await h.db.fetchval("SELECT active_flow FROM users WHERE telegram_id = ?", (WORKER,))
    assert flow is None


async def test_cadre_registers_three_workers_in_a_row(harness: Harness) -> None:
    h = harness
    niks = [nik_for("12.10.19", birth="010190"), nik_for("12.10.19"), nik_for("12.10.18")]
    for nik, phone in zip(niks, ["0812 1111 2222", None, "+62 813 3333 4444"], strict=True):
        await answer_until_summary(h, CADRE, nik=nik, for_self=False, phone=phone)
        await h.tap(CADRE, "Kirim")
        assert "Untuk mendaftarkan orang lain lagi, ketik /daftar." in h.text(CADRE)
    rows = await registrations.by_operator(h.db, CADRE)
    assert len(rows) == 3
    assert {r.operator_id for r in rows} == {CADRE}
    assert {r.worker_telegram_id for r in rows} == {None}
    assert {r.for_self for r in rows} == {0}
    nik_encs = [r.nik_enc for r in rows if r.nik_enc is not None]
    assert sorted(h.app.bot_data.cipher.decrypt(n) for n in nik_encs) == sorted(niks)
    assert [r.phone_hash is None for r in rows] == [False, True, False]
    # The third NIK was issued in Panai Tengah (12.10.18) but the worker lives in Panai Hilir:
    # same kabupaten, so no region flag.
    assert all(json.loads(r.flags) == [] for r in rows)


async def test_nik_region_other_than_address_is_a_flag_not_a_refusal(harness: Harness) -> None:
    h = harness
    await answer_until_summary(h, WORKER, nik=nik_for("12.05.01"))  # NIK from Langkat
    await h.tap(WORKER, "Kirim")
    row = (await registrations.by_operator(h.db, WORKER))[0]
    assert row.status == "diajukan"
    assert json.loads(row.flags) == ["nik_region_mismatch"]


async def test_nik_validation_messages(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    cases = {
        "1210 0115 0580 003": "NIK harus 16 angka. Yang Anda ketik 15 angka.",
        "1210 0115 0580 0003": "Itu NIK contoh.",
        "abc": "NIK hanya berisi angka.",
        "9910011505800003": "Dua angka pertama NIK bukan kode provinsi.",
        "1299011505800003": "Angka ke-3 dan ke-4 NIK bukan kode kabupaten/kota",
        "1210013505800003": "Tanggal lahir di dalam NIK",
        "1210011505800000": "Empat angka terakhir NIK tidak boleh 0000.",
    }
    for typed, message in cases.items():
        calls = await h.send(WORKER, typed)
        assert calls[0].text.startswith(message), (typed, calls[0].text)
        # One message: the problem, then the same question again, short.
        assert len(calls) == 1
        assert calls[0].text.endswith("Ketik NIK Anda (16 angka, ada di KTP)."), typed
    assert (await row_of(h, WORKER)).nik_hash is None


async def test_stickers_photos_and_bad_answers_get_the_question_again(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    calls = await h.update(h.updates.sticker(WORKER))
    assert [c.text.split("\n\n") for c in calls] == [
        [
            "Maaf, saya hanya bisa membaca tulisan. Silakan ketik jawabannya atau tekan tombol.",
            "Ketik NIK Anda (16 angka, ada di KTP).",
        ]
    ]
    await h.send(WORKER, nik_for())
    # At a question without buttons, the sticker's answer does not mention any.
    calls = await h.update(h.updates.sticker(WORKER))
    assert calls[0].text.startswith(
        "Maaf, saya hanya bisa membaca tulisan. Silakan ketik jawabannya.\n\n"
    )
    for bad_name in ["  ", "B", "Budi 123", "🙂🙂🙂", "x" * 101]:
        calls = await h.send(WORKER, bad_name)
        assert calls[0].text.startswith("Nama hanya boleh berisi huruf"), bad_name
    calls = await h.update(h.updates.photo(WORKER))
    assert calls[-1].text.endswith("Ketik nama lengkap Anda sesuai KTP.")
    # Zero-width and right-to-left marks are dropped, not stored.
    await h.send(WORKER, "bu\u200bdi\u200f  o'neil-santoso")
    assert (await row_of(h, WORKER)).name == "Budi O'neil-Santoso"
    calls = await h.send(WORKER, "entahlah")  # neither button
    assert calls[0].text == "Ketik salah satu: «Benar», «Salah»"
    await h.send(WORKER, "ya benar")  # typed instead of pressed
    await h.send(WORKER, "Siti")
    calls = await h.send(WORKER, "nomor saya")
    assert calls[0].text.startswith("Nomor HP itu tidak bisa saya baca.")
    # A shared contact that is not the user's own is refused.
    calls = await h.update(h.updates.contact(WORKER, "081299998888", own=False))
    assert calls[0].text.startswith("Itu nomor orang lain.")
    await h.send(WORKER, "0812 9999 8888")
    await h.tap(WORKER, "Kabupaten Labuhanbatu")
    calls = await h.send(WORKER, "xq")
    assert calls[0].text.startswith("Nama itu tidak saya temukan.")
    calls = await h.send(WORKER, "panai hilr")  # a typo still finds it
    assert "Panai Hilir" in [label for label, _ in calls[0].buttons]


async def test_income_typed_in_words_is_mapped_to_its_bracket(harness: Harness) -> None:
    h = harness
    await answer_until_summary(h, WORKER, nik=nik_for())
    await h.tap(WORKER, "Ubah penghasilan")
    calls = await h.send(WORKER, "1,5")
    assert calls[0].text.startswith("Jumlah itu tidak bisa saya baca.")
    await h.send(WORKER, "2jt")
    row = await row_of(h, WORKER)
    assert row.income == 2_000_000
    assert row.income_base == 2_000_000
    # Editing income recomputes the contribution and returns to the summary.
    assert row.monthly_contribution == 26_800
    # What was read and the summary, in one message.
    assert h.text(WORKER).startswith("Penghasilan per bulan: Rp2.000.000\n\nPeriksa data berikut:")


async def test_edit_from_summary_returns_to_summary(harness: Harness) -> None:
    h = harness
    await answer_until_summary(h, WORKER, nik=nik_for())
    await h.tap(WORKER, "Ubah nama")
    assert h.text(WORKER) == "Ketik nama lengkap Anda sesuai KTP."
    await h.send(WORKER, "budi harahap")
    assert h.text(WORKER).startswith("Periksa data berikut:")
    assert "Nama: Budi Harahap" in h.text(WORKER)
    await h.tap(WORKER, "Ubah alamat")
    await h.tap(WORKER, "Kabupaten Labuhanbatu")
    await h.tap(WORKER, "Panai Tengah")
    await h.tap(WORKER, h.labels(WORKER)[0])
    assert h.text(WORKER).startswith("Periksa data berikut:")
    assert "Panai Tengah" in h.text(WORKER)
    await h.tap(WORKER, "Ubah ahli waris")
    await h.send(WORKER, "siti")
    await h.tap(WORKER, "Anak")
    assert "Ahli waris: Siti (Anak)" in h.text(WORKER)


async def test_wrong_birth_date_is_asked_with_buttons_and_flagged(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    await h.send(WORKER, nik_for())
    await h.send(WORKER, "Budi")
    await h.tap(WORKER, "Salah")
    await h.tap(WORKER, "1980–1989")
    await h.tap(WORKER, "1981")
    await h.tap(WORKER, "Februari")
    assert h.labels(WORKER)[-1] == "28"  # 1981 was not a leap year
    calls = await h.press(WORKER, "REG birth_d 30")
    sent = [c.text for c in calls if c.method == "sendMessage"]
    assert sent == [
        "Tanggal itu tidak ada. Silakan pilih lagi.\n\nPilih tanggal lahir, atau ketik angkanya."
    ]
    await h.tap(WORKER, "28")
    # A date that differs from the NIK's is said at once, and kept when chosen.
    assert "Menurut NIK: 15 Mei 1980." in h.text(WORKER)
    await h.tap(WORKER, "Yang diisi: 28 Februari 1981")
    await h.tap(WORKER, "Perempuan")
    row = await row_of(h, WORKER)
    assert (row.birth_date, row.sex) == ("1981-02-28", "P")
    assert json.loads(row.flags) == ["birth_corrected"]
    assert h.text(WORKER).startswith("Ketik nama ibu kandung Anda.")


async def test_age_limits(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    for birth in ("010150", "010115"):  # 76 and 11 years old in 2026
        calls = await h.send(WORKER, nik_for(birth=birth))
        assert "Pendaftaran ini untuk umur 15 sampai 65 tahun" in calls[0].text
        assert "/batal" in calls[0].text
    row = await row_of(h, WORKER)
    assert row.nik_hash is None
    assert row.status == "draft"


async def test_duplicate_nik_is_told_with_its_status(harness: Harness) -> None:
    h = harness
    nik = nik_for()
    await answer_until_summary(h, WORKER, nik=nik)
    await h.tap(WORKER, "Kirim")
    ref = (await registrations.by_operator(h.db, WORKER))[0].ref
    # The same worker is shown the reference number...
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Daftarkan orang lain")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    calls = await h.send(WORKER, nik)
    assert calls[0].text.startswith(f"NIK ini sudah terdaftar dengan nomor {ref}")
    # ...someone else only that it is registered, never twice.
    await h.send(CADRE, "/daftar")
    await h.tap(CADRE, "Setuju")
    await h.tap(CADRE, "Orang lain")
    await h.tap(CADRE, "Sudah, dia setuju")
    calls = await h.send(CADRE, nik)
    assert calls[0].text.startswith("NIK ini tidak bisa didaftarkan lagi")
    assert "status:" not in calls[0].text
    assert ref is not None and ref not in calls[0].text
    count = await h.db.fetchval("SELECT count(*) FROM registrations WHERE status != 'draft'")
    assert count == 1


async def test_batal_leaves_the_flow_and_keeps_the_answers(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    await h.send(WORKER, nik_for())
    await h.send(WORKER, "/batal")
    assert h.text(WORKER).startswith("Pendaftaran dihentikan. Jawaban Anda tetap tersimpan")
    assert "dihapus" not in h.text(WORKER)
    assert (await row_of(h, WORKER)).nik_hash is not None
    calls = await h.send(WORKER, "Budi Santoso")  # no longer an answer
    assert not any(c.text.startswith("Dari NIK") for c in calls)


async def test_other_commands_mid_flow_then_resume(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    await h.send(WORKER, "/bantuan")
    assert h.text(WORKER).startswith("Cara memakai Jaga Pekerja:")
    await h.send(WORKER, "/daftar")
    assert h.labels(WORKER) == ["Lanjutkan (2 dari 15 terisi)", "Mulai dari awal"]
    await h.tap(WORKER, "Lanjutkan (2 dari 15 terisi)")
    assert h.text(WORKER).startswith("Ketik NIK Anda")
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Mulai dari awal")
    assert h.text(WORKER).startswith("Sebelum mulai, mohon baca ini.")


async def test_resume_after_restart(harness_factory: HarnessFactory) -> None:
    nik = nik_for()
    async with harness_factory() as first:
        await first.send(WORKER, "/daftar")
        await first.tap(WORKER, "Setuju")
        await first.tap(WORKER, "Diri saya sendiri")
        await first.send(WORKER, nik)
        await first.send(WORKER, "Budi")
        await first.tap(WORKER, "Benar")
    # The process died here; a new one continues at the same question with answers intact.
    async with harness_factory() as second:
        calls = await second.send(WORKER, "siti aminah")
        assert calls[-1].text.startswith("Tekan tombol di bawah untuk mengirim nomor HP Anda")
        row = await row_of(second, WORKER)
        assert (row.name, row.mother_name) == ("Budi", "Siti Aminah")
        assert row.nik_enc is not None
        assert second.app.bot_data.cipher.decrypt(row.nik_enc) == nik


async def test_stale_buttons_are_refused_and_the_question_repeated(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    consent = h.last(WORKER)
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    # Pressing "Setuju" on the old consent message again changes nothing.
    calls = await h.press(WORKER, "REG consent yes", consent)
    assert calls[0].params["text"] == "Tombol ini sudah tidak berlaku."
    assert calls[-1].text.startswith("Ketik NIK Anda")
    # A forged value for the current step is refused too.
    await h.send(WORKER, nik_for())
    await h.send(WORKER, "Budi")
    await h.tap(WORKER, "Benar")
    await h.send(WORKER, "Siti")
    await h.send(WORKER, "081234567890")
    calls = await h.press(WORKER, "REG kab 31.71")
    sent = [c.text for c in calls if c.method == "sendMessage"]
    assert sent[0].startswith("Tombol ini sudah tidak berlaku.\n\nDi kabupaten/kota mana")
    assert (await row_of(h, WORKER)).kabupaten_code is None
    # Someone without a registration pressing a registration button.
    calls = await h.press(CADRE, "REG summary send", consent)
    assert calls[0].params["text"] == "Tombol ini sudah tidak berlaku."


async def test_consent_refusal_and_explanation(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Kenapa data diminta?")
    explanation = h.text(WORKER)  # the answer and the question again, short, in one message
    assert explanation.startswith("Kenapa data ini diminta?")
    assert explanation.endswith("Apakah Anda setuju data tadi dipakai untuk pendaftaran ini?")
    assert h.labels(WORKER) == ["Setuju", "Kenapa data diminta?", "Tidak"]
    await h.tap(WORKER, "Tidak")
    assert h.text(WORKER).startswith("Baik, tidak apa-apa. Tidak ada data yang disimpan.")
    assert await h.db.fetchval("SELECT count(*) FROM registrations") == 0


async def test_duplicate_phone_is_flagged(harness: Harness) -> None:
    h = harness
    await answer_until_summary(h, WORKER, nik=nik_for())
    await h.tap(WORKER, "Kirim")
    await answer_until_summary(h, CADRE, nik=nik_for(), for_self=False, phone="081234567890")
    await h.tap(CADRE, "Kirim")
    row = (await registrations.by_operator(h.db, CADRE))[0]
    assert json.loads(row.flags) == ["duplicate_phone"]


async def test_registration_in_english(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "/bahasa")
    await h.tap(WORKER, "English")
    await h.send(WORKER, "/daftar")
    assert h.text(WORKER).startswith("Before we start, please read this.")
    await h.tap(WORKER, "I agree")
    await h.tap(WORKER, "Myself")
    assert h.text(WORKER).startswith("Type your NIK")


async def test_fix_request_opens_exactly_those_questions_and_returns_to_queue(
    harness: Harness,
) -> None:
    from storage import review

    h = harness
    await answer_until_summary(h, WORKER, nik=nik_for())
    await h.tap(WORKER, "Kirim")
    row = (await registrations.by_operator(h.db, WORKER))[0]
    await review.request_fix(h.db, row.id, 9001, ["mother_name", "address"], "Cek lagi")
    # Someone else pressing the worker's fix button changes nothing.
    calls = await h.press(CADRE, f"FIX {row.id}")
    assert calls[0].params["text"] == "Tombol ini sudah tidak berlaku."
    calls = await h.press(WORKER, f"FIX {row.id}")
    assert calls[1].text.startswith(f"Perbaikan untuk pendaftaran {row.ref}.")
    assert "Catatan petugas: Cek lagi" in calls[1].text
    assert h.text(WORKER).startswith("Ketik nama ibu kandung Anda.")
    await h.send(WORKER, "nur aisyah")
    # The next requested field follows directly, then the summary.
    assert h.text(WORKER).startswith("Di kabupaten/kota mana")
    await h.tap(WORKER, "Kabupaten Labuhanbatu")
    await h.tap(WORKER, "Panai Hilir")
    await h.tap(WORKER, "Sei Lumut")
    assert h.text(WORKER).startswith("Periksa data berikut:")
    await h.tap(WORKER, "Kirim perbaikan")
    assert "sudah dikirim dan akan diperiksa lagi" in h.text(WORKER)
    fixed = await registrations.get(h.db, row.id)
    assert fixed is not None
    assert (fixed.status, fixed.mother_name) == ("diajukan", "Nur Aisyah")
    assert fixed.desa_code != row.desa_code
    assert await review.open_fix_request(h.db, row.id) is None
    history = [(e.from_status, e.to_status) for e in await audit.history(h.db, row.id)]
    assert history == [
        ("draft", "diajukan"),
        ("diajukan", "perlu_perbaikan"),
        ("perlu_perbaikan", "diajukan"),
    ]
    # Pressing the old fix button again is stale.
    calls = await h.press(WORKER, f"FIX {row.id}")
    assert calls[0].params["text"] == "Tombol ini sudah tidak berlaku."
