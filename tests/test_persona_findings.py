"""What persona walks found: corrections and names typed the way people type them, old buttons
that must not wipe a draft, shared village names, /status mid-registration, emoji alone."""

from __future__ import annotations

from tests.conftest import Harness
from tests.factories import nik_for
from tests.test_registration import answer_until_summary, row_of

WORKER = 631


async def start_to_name(h: Harness) -> None:
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    await h.send(WORKER, nik_for())


async def test_a_title_before_the_name_is_not_part_of_it(harness: Harness) -> None:
    h = harness
    await start_to_name(h)
    await h.send(WORKER, "pak Darwis Hasibuan")
    assert (await row_of(h, WORKER)).name == "Darwis Hasibuan"


async def test_a_correction_typed_at_the_name_question_keeps_only_the_name(
    harness: Harness,
) -> None:
    h = harness
    await start_to_name(h)
    await h.send(WORKER, "Budi Santoso")
    await h.tap(WORKER, "Benar")
    await h.send(WORKER, "nama ibu salah harusnya Siti Aminah")
    assert (await row_of(h, WORKER)).mother_name == "Siti Aminah"


async def test_a_name_said_with_its_field_at_the_summary_is_taken(harness: Harness) -> None:
    h = harness
    await answer_until_summary(h, WORKER, nik=nik_for())
    await h.send(WORKER, "salah, nama ibu sy Siti Rahmah")
    row = await row_of(h, WORKER)
    assert (row.mother_name, row.step) == ("Siti Rahmah", "summary")
    await h.send(WORKER, "nama ibu keliru")  # no name said: the question is asked, nothing kept
    row = await row_of(h, WORKER)
    assert (row.mother_name, row.step) == ("Siti Rahmah", "mother")


async def test_an_old_start_over_button_does_not_wipe_the_answers(harness: Harness) -> None:
    h = harness
    await start_to_name(h)
    await h.send(WORKER, "Budi Santoso")
    await h.send(WORKER, "/batal")
    await h.send(WORKER, "/daftar")
    offer = h.last(WORKER)
    await h.press(WORKER, "REGX go", offer)  # "Lanjutkan"
    await h.tap(WORKER, "Benar")
    asked = h.text(WORKER)
    await h.press(WORKER, "REGX new", offer)  # "Mulai dari awal", pressed later on the old offer
    row = await row_of(h, WORKER)
    assert (row.name, row.step) == ("Budi Santoso", "mother")
    assert h.text(WORKER) == asked  # the question it waits for, asked again
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Mulai dari awal")  # the open choice still starts over
    assert (await row_of(h, WORKER)).name is None


async def test_a_village_name_several_kecamatan_share_offers_each_with_its_place(
    harness: Harness,
) -> None:
    h = harness
    await start_to_name(h)
    await h.send(WORKER, "Budi Santoso")
    await h.tap(WORKER, "Benar")
    await h.send(WORKER, "Siti Aminah")
    await h.update(h.updates.contact(WORKER, "0812-3456-7890"))
    await h.send(WORKER, "wonosari")  # a desa in three kabupaten of Sumatera Utara
    offered = h.labels(WORKER)
    assert len(offered) == 3 and all(label.startswith("Wono") for label in offered)
    [here] = [label for label in offered if "Panai Hilir" in label]
    await h.tap(WORKER, here)
    row = await row_of(h, WORKER)
    assert (row.kabupaten_code, row.kecamatan_code, row.desa_code) == (
        "12.10",
        "12.10.19",
        "12.10.19.2008",
    )
    assert row.step == "job"


async def test_status_while_registering_says_it_is_not_sent_yet_and_leads_back(
    harness: Harness,
) -> None:
    h = harness
    await start_to_name(h)
    await h.send(WORKER, "Budi Santoso")
    asked = h.text(WORKER)
    await h.send(WORKER, "/status")
    assert "belum selesai" in h.text(WORKER)
    await h.tap(WORKER, "Lanjutkan pendaftaran")
    assert h.text(WORKER) == asked


async def test_emoji_alone_is_acknowledged_not_forwarded_as_a_question(harness: Harness) -> None:
    h = harness
    await h.send(WORKER, "😂😂")
    assert "Teruskan ke petugas" not in h.labels(WORKER)
    assert "belum bisa menjawab" not in h.text(WORKER)
    assert await h.db.fetchval("SELECT count(*) FROM questions") == 0
