"""Words a district reviewer types at the desk instead of pressing: at a card, at the reason
list and at the fix-field list. Read as the buttons they name, never sent to the questions;
an unknown word gets one line of what works, and the card stays open."""

from __future__ import annotations

from typing import Any

import pytest

from bot.fakeapi import ApiCall
from storage import registrations, roles
from storage import review as store
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import submitted_registration

REVIEWER = 7001
COLLEAGUE = 7002
CARD_HINT = "Ketik salah satu: «Setujui», «Tolak», «Minta perbaikan», «Lewati»"


async def desk(h: Harness) -> None:
    """The reviewer of Labuhanbatu, granted as `jaga grant reviewer 7001 --region 12.10`."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "cli")
    await roles.grant(h.db, COLLEAGUE, "reviewer", "12.10", "cli")


async def submission(h: Harness, **fields: Any) -> Registration:
    return await submitted_registration(h.db, h.app.bot_data.cipher, **fields)


async def row_of(h: Harness, registration_id: int) -> Registration:
    row = await registrations.get(h.db, registration_id)
    assert row is not None
    return row


def said(calls: list[ApiCall]) -> str:
    """The one message sent to the reviewer in a turn."""
    [text] = [c.text for c in calls if c.method == "sendMessage" and c.chat_id == REVIEWER]
    return text


def payer_question(row: Registration) -> str:
    return f"Setujui {row.ref} (Budi Santoso). Siapa yang membayar iuran?"


async def test_setuju_approves_even_after_an_unrecognised_line(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    assert said(await h.send(REVIEWER, "hmm sebentar")) == CARD_HINT
    assert said(await h.send(REVIEWER, "setuju")).startswith(payer_question(row))
    await h.send(REVIEWER, "mandiri")
    text = said(await h.send(REVIEWER, "setujui"))  # asked "Setujui ...?": the yes itself
    assert text.startswith(f"✅ Disetujui: {row.ref} (Budi Santoso)")
    assert (await row_of(h, row.id)).status == "disetujui"


async def test_setujui_saja_and_other_approve_words(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    for words in ("setujui saja", "ok setujui", "Setujui aja pak, datanya sudah cocok", "acc",
                  "terima", "approve", "setuju"):  # fmt: skip
        assert said(await h.send(REVIEWER, words)).startswith(payer_question(row)), words
        await h.tap(REVIEWER, "Kembali")  # back to the card
    assert (await row_of(h, row.id)).status == "diajukan"


async def test_tolak_with_an_unknown_reason_lists_the_reasons_and_keeps_it_as_the_note(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    text = said(await h.send(REVIEWER, "tolak, ahli warisnya gak jelas namanya"))
    assert text == (
        f"Tolak {row.ref} (Budi Santoso) dengan catatan «ahli warisnya gak jelas namanya». "
        "Pilih alasannya:"
    )
    assert "Alasan lain" in h.labels(REVIEWER)
    assert (await row_of(h, row.id)).status == "diajukan"
    text = said(await h.tap(REVIEWER, "Alasan lain"))
    assert text.startswith(f"❌ Ditolak: {row.ref} (Budi Santoso). Alasan: Alasan lain")
    decided = await row_of(h, row.id)
    assert decided.status == "ditolak"
    assert decided.reason == "Alasan lain: ahli warisnya gak jelas namanya"


async def test_tolak_with_a_known_reason_names_it_and_one_press_rejects_with_the_note(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    text = said(await h.send(REVIEWER, "Tolak: umur sudah 70 tahun menurut KTP"))
    assert text == (
        f"Tolak {row.ref} (Budi Santoso) dengan catatan «umur sudah 70 tahun menurut KTP».\n"
        "Alasan yang cocok: Usia di luar batas program. Tekan alasan itu untuk menolak, atau "
        "pilih yang lain:"
    )
    assert (await row_of(h, row.id)).status == "diajukan"
    text = said(await h.tap(REVIEWER, "Usia di luar batas program"))
    assert text.startswith(f"❌ Ditolak: {row.ref} (Budi Santoso). Alasan: Usia di luar batas")
    decided = await row_of(h, row.id)
    assert (decided.status, decided.reason_code) == ("ditolak", "usia")
    assert decided.reason == "Usia di luar batas program: umur sudah 70 tahun menurut KTP"


async def test_skip_and_nanti_dulu_move_to_the_next_card(harness: Harness) -> None:
    h = harness
    await desk(h)
    first = await submission(h)
    second = await submission(h)
    third = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    assert said(await h.send(REVIEWER, "skip")).startswith(f"Pengajuan {second.ref}")
    assert said(await h.send(REVIEWER, "nanti dulu")).startswith(f"Pengajuan {third.ref}")
    assert said(await h.send(REVIEWER, "lanjut")).startswith(f"Pengajuan {first.ref}")
    assert {(await row_of(h, r.id)).status for r in (first, second, third)} == {"diajukan"}


async def test_a_reason_typed_at_the_reason_list_picks_it(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.send(REVIEWER, "tolak")
    text = said(await h.send(REVIEWER, "data tidak lengkap"))
    assert text.startswith("Alasan: Data tidak lengkap atau tidak dapat diperiksa\n")
    text = said(await h.send(REVIEWER, "Foto KTP buram"))
    assert text.startswith(f"❌ Ditolak: {row.ref}")
    decided = await row_of(h, row.id)
    assert (decided.reason_code, decided.reason) == (
        "data",
        "Data tidak lengkap atau tidak dapat diperiksa: Foto KTP buram",
    )


async def test_an_unknown_word_at_the_reason_list_says_what_works(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.send(REVIEWER, "tolak")
    text = said(await h.send(REVIEWER, "hmm yang mana ya"))
    assert text.startswith("Ketik salah satu: «Data tidak lengkap")
    assert "Usia" in said(await h.send(REVIEWER, "usia"))  # the list is still open
    assert (await row_of(h, row.id)).status == "diajukan"


async def test_a_field_typed_at_the_fix_list_ticks_it(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.send(REVIEWER, "minta perbaikan")
    text = said(await h.send(REVIEWER, "tanggal lahir"))
    assert text == "Dipilih: Tanggal lahir. Pilih bagian lain, atau tekan Lanjut."
    assert "☑ Tanggal lahir" in h.labels(REVIEWER)
    await h.send(REVIEWER, "ibu kandung")
    assert said(await h.send(REVIEWER, "tanggal lahir")).startswith("Dipilih: Nama ibu kandung.")
    assert said(await h.send(REVIEWER, "apa ini")).startswith("Ketik salah satu: ")
    text = said(await h.send(REVIEWER, "lanjut"))
    assert text.startswith("Yang perlu diperbaiki: Nama ibu kandung\n")
    text = said(await h.send(REVIEWER, "Nama ibu beda dengan KK"))
    assert text.startswith(f"✏️ Permintaan perbaikan {row.ref} terkirim")
    assert (await row_of(h, row.id)).status == "perlu_perbaikan"


async def test_the_card_stays_open_after_an_unknown_word(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    for words in ("apa kabar", "gimana ini?", "privasi data", "terima kasih"):
        assert said(await h.send(REVIEWER, words)) == CARD_HINT
    step = await store.step_of(h.db, REVIEWER)
    assert (step.registration_id, step.action) == (row.id, None)
    text = said(await h.send(REVIEWER, "tolak"))
    assert text.startswith(f"Tolak {row.ref} (Budi Santoso). Pilih alasannya:")


async def test_a_typed_decision_keeps_the_buttons_re_checks(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    other = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.db.execute(  # the lock lapsed; a colleague has the card open now
        "UPDATE registrations SET locked_until = '2000-01-01T00:00:00Z' WHERE id = ?", (row.id,)
    )
    await h.send(COLLEAGUE, "/tinjau")
    text = said(await h.send(REVIEWER, "tolak, data tidak lengkap"))
    assert text.startswith(f"Pengajuan {row.ref} sedang dibuka petugas lain")
    assert said(await h.send(REVIEWER, "/tinjau")).startswith(f"Pengajuan {other.ref}")
    await roles.revoke(h.db, REVIEWER, "reviewer")  # the role ends with the card open
    text = said(await h.send(REVIEWER, "setuju"))
    assert text.startswith("Tidak ada langkah tinjauan yang menunggu.")
    assert [(await row_of(h, r.id)).status for r in (row, other)] == ["diajukan", "diajukan"]


CONFIRM_HINT = "Ketik salah satu: «Ya, setujui», «Catat sponsor dulu», «Kembali»"


@pytest.mark.parametrize("words", ["jgn di acc", "ok tapi tunggu", "setujui? masa sih"])
async def test_a_no_a_but_or_a_question_at_the_approval_question_does_not_approve(
    harness: Harness, words: str
) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.send(REVIEWER, "setuju")
    await h.send(REVIEWER, "mandiri")  # "Setujui ..., iuran dibayar: Mandiri?"
    assert said(await h.send(REVIEWER, words)) == CONFIRM_HINT
    assert (await row_of(h, row.id)).status == "diajukan"
    assert not [c for c in h.api.calls if c.chat_id == row.operator_id]  # nobody told
    step = await store.step_of(h.db, REVIEWER)
    assert (step.registration_id, step.action, step.program_id) == (row.id, None, 0)
    text = said(await h.send(REVIEWER, "ya pak"))  # the question is still open
    assert text.startswith(f"✅ Disetujui: {row.ref} (Budi Santoso)")


async def test_tolak_with_an_if_does_not_reject(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    assert said(await h.send(REVIEWER, "tolak jika nik salah")) == CARD_HINT
    assert (await row_of(h, row.id)).status == "diajukan"
    step = await store.step_of(h.db, REVIEWER)
    assert (step.registration_id, step.action) == (row.id, None)


async def test_setujui_with_an_if_at_the_card_does_not_open_the_approval(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    for words in ("setuju kalau nik benar", "acc tp nanti", "jangan setujui dulu", "setujui?"):
        assert said(await h.send(REVIEWER, words)) == CARD_HINT, words
    step = await store.step_of(h.db, REVIEWER)
    assert (step.registration_id, step.action, step.program_id) == (row.id, None, None)


async def test_with_a_note_kept_only_a_reason_alone_rejects_at_the_list(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.send(REVIEWER, "tolak, umurnya 70 tahun")
    for words in ("usia?", "usia kalau benar", "mungkin usia"):
        assert said(await h.send(REVIEWER, words)).startswith("Ketik salah satu: "), words
    assert (await row_of(h, row.id)).status == "diajukan"
    text = said(await h.send(REVIEWER, "usia"))
    assert text.startswith(f"❌ Ditolak: {row.ref} (Budi Santoso). Alasan: Usia di luar batas")
    decided = await row_of(h, row.id)
    assert decided.reason == "Usia di luar batas program: umurnya 70 tahun"


@pytest.mark.parametrize(
    "typed", ["klaim sy udh sampe mana", "kecelakaan di kebun kemarin, gmn klaimnya?"]
)
async def test_a_question_at_the_card_is_answered_and_decides_nothing(
    harness: Harness, typed: str
) -> None:
    # A reviewer is also a worker with questions: after /tinjau, a question is answered as
    # anywhere else, and the card waits in the queue.
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    text = said(await h.send(REVIEWER, typed))
    assert text != CARD_HINT and not text.startswith("Ketik salah satu"), text
    assert (await row_of(h, row.id)).status == "diajukan"


async def test_batal_at_the_desk_says_the_queue_is_kept(harness: Harness) -> None:
    h = harness
    await desk(h)
    await submission(h)
    await h.send(REVIEWER, "/tinjau")
    text = said(await h.send(REVIEWER, "/batal"))
    assert "dihapus" not in text and "/tinjau" in text, text


@pytest.mark.parametrize("typed", ["jangan", "ga jadi bang", "siapa ya?", "tunggu"])
async def test_a_change_of_mind_at_the_sponsor_question_approves_nothing(
    harness: Harness, typed: str
) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.press(REVIEWER, f"REV {row.id} S 0")  # "Catat sponsor dulu"
    text = said(await h.send(REVIEWER, typed))
    assert text.startswith("Itu belum saya catat."), text
    assert (await row_of(h, row.id)).status == "diajukan"
    await h.send(REVIEWER, "Koperasi Nelayan Sejahtera")
    assert (await row_of(h, row.id)).sponsor == "Koperasi Nelayan Sejahtera"


async def test_batal_typed_as_the_rejection_note_rejects_nothing(harness: Harness) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.press(REVIEWER, f"REV {row.id} R nik")  # the reason chosen, the note asked
    text = said(await h.send(REVIEWER, "batal"))
    assert text.startswith("Itu belum saya catat."), text
    assert (await row_of(h, row.id)).status == "diajukan"
    await h.send(REVIEWER, "NIK tidak valid, mohon cek KTP")
    assert (await row_of(h, row.id)).status == "ditolak"
