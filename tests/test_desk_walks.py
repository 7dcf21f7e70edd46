"""The district desk walked as a busy officer uses it: thirty approvals in a row, an old card
pressed after a colleague decided, a full quota, words typed instead of buttons, a broadcast
to one desa typed by name. One message a turn; names, never Telegram numbers."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.fakeapi import ApiCall
from storage import funding, registrations, roles, users
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import submitted_registration

REVIEWER = 7301
COLLEAGUE = 7302
CADRE = 7303


def messages(calls: list[ApiCall], chat_id: int) -> list[str]:
    """The texts of the messages sent to `chat_id` among `calls`."""
    return [c.text for c in calls if c.method == "sendMessage" and c.chat_id == chat_id]


async def desk(h: Harness) -> None:
    """Two reviewers of Labuhanbatu, granted on the command line (names known from Telegram)."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "cli")
    await roles.grant(h.db, COLLEAGUE, "reviewer", "12.10", "cli")
    await users.set_display_name(h.db, COLLEAGUE, "Rina Sitorus")


async def submission(h: Harness, **fields: Any) -> Registration:
    return await submitted_registration(h.db, h.app.bot_data.cipher, **fields)


async def status_of(h: Harness, registration_id: int) -> str:
    row = await registrations.get(h.db, registration_id)
    assert row is not None
    return str(row.status)


async def test_thirty_approvals_in_a_row_one_message_each_and_one_notice_each(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    rows = [await submission(h, operator_id=800 + i, payer="sendiri") for i in range(30)]
    calls = await h.send(REVIEWER, "/tinjau")
    assert len(messages(calls, REVIEWER)) == 1  # the card; no separate counts message
    assert h.text(REVIEWER).startswith(f"Pengajuan {rows[0].ref} (1 dari 30 menunggu)")
    for i, row in enumerate(rows):
        await h.tap(REVIEWER, "Setujui")
        await h.tap(REVIEWER, "Mandiri (dibayar sendiri)")
        calls = await h.tap(REVIEWER, "Ya, setujui")
        [said] = messages(calls, REVIEWER)  # the outcome and the next card, together
        assert said.startswith(f"✅ Disetujui: {row.ref} (Budi Santoso)")
        following = rows[i + 1].ref if i + 1 < len(rows) else None
        if following:
            assert f"\n\nPengajuan {following} (1 dari {29 - i} menunggu)" in said
        else:
            assert "Tidak ada pengajuan yang menunggu keputusan Anda" in said
    assert {await status_of(h, r.id) for r in rows} == {"disetujui"}
    # Each worker told once: the notices go through the outbox, sent at once after the
    # decision or, when the sender's own loop claimed them first, a moment later.
    for _ in range(200):
        if not await h.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'"):
            break
        await asyncio.sleep(0.02)
    for row in rows:
        assert len(messages(h.api.calls, row.operator_id)) == 1


async def test_reject_with_a_typed_reason_and_a_fix_are_one_message_each(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    first = await submission(h)
    second = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Tolak")
    await h.tap(REVIEWER, "Usia di luar batas program")
    calls = await h.send(REVIEWER, "Umur 70 tahun menurut KTP")
    [said] = messages(calls, REVIEWER)
    assert said.startswith(f"❌ Ditolak: {first.ref}")
    assert f"\n\nPengajuan {second.ref}" in said
    await h.tap(REVIEWER, "Minta perbaikan")
    await h.tap(REVIEWER, "☐ Nama ibu kandung")
    await h.tap(REVIEWER, "Lanjut")
    calls = await h.tap(REVIEWER, "Kirim tanpa catatan")
    [said] = messages(calls, REVIEWER)
    assert said.startswith(f"✏️ Permintaan perbaikan {second.ref} terkirim")
    assert "Tidak ada pengajuan yang menunggu" in said
    assert await status_of(h, second.id) == "perlu_perbaikan"


async def test_a_full_quota_is_said_with_the_choices_in_one_message(harness: Harness) -> None:
    h = harness
    await desk(h)
    await funding.add(
        h.db,
        name="APBD Labuhanbatu",
        source_type="apbd_kabupaten",
        region_code="12.10",
        quota=1,
        quota_per_desa=None,
        starts_on="2020-01-01",
        ends_on="2099-12-31",
    )
    first = await submission(h)
    second = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.send(COLLEAGUE, "/tinjau")  # the colleague is given the second card
    await h.tap(REVIEWER, "Setujui")
    await h.tap(REVIEWER, "APBD Labuhanbatu (sisa 1)")
    await h.tap(COLLEAGUE, "Setujui")
    await h.tap(COLLEAGUE, "APBD Labuhanbatu (sisa 1)")  # both saw one place left
    await h.tap(REVIEWER, "Ya, setujui")
    calls = await h.tap(COLLEAGUE, "Ya, setujui")
    [said] = messages(calls, COLLEAGUE)
    assert said.startswith("Tidak bisa disetujui: kuota APBD Labuhanbatu sudah penuh (1 dari 1)")
    assert f"Setujui {second.ref} (Budi Santoso). Siapa yang membayar iuran?" in said
    assert "Mandiri (dibayar sendiri)" in h.labels(COLLEAGUE)
    assert (await status_of(h, first.id), await status_of(h, second.id)) == (
        "disetujui",
        "diajukan",
    )


async def test_an_old_card_pressed_after_a_colleague_decided_names_the_colleague(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    row = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    old_card = h.api.last(REVIEWER)
    await h.db.execute(  # the reviewer went for tea; the lock lapsed
        "UPDATE registrations SET locked_until = '2000-01-01T00:00:00Z' WHERE id = ?",
        (row.id,),
    )
    await h.send(COLLEAGUE, "/tinjau")
    await h.tap(COLLEAGUE, "Tolak")
    await h.tap(COLLEAGUE, "Alasan lain")
    await h.tap(COLLEAGUE, "Tolak tanpa catatan")
    calls = await h.press(REVIEWER, f"REV {row.id} OK", old_card)
    [said] = messages(calls, REVIEWER)
    assert said == (
        f"Pengajuan {row.ref} sudah diputuskan: ditolak (oleh petugas Rina Sitorus). "
        "Keputusan Anda tidak disimpan."
    )
    assert str(COLLEAGUE) not in said
    # Pressing one's own decision twice says so, without a number either.
    calls = await h.press(COLLEAGUE, f"REV {row.id} X lain")
    [said] = messages(calls, COLLEAGUE)
    assert said == f"Pengajuan {row.ref} sudah Anda putuskan: ditolak. Tidak ada yang diubah."
    assert await status_of(h, row.id) == "ditolak"


async def test_a_card_never_shows_a_telegram_number(harness: Harness) -> None:
    h = harness
    await desk(h)
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    await submission(h, operator_id=CADRE, for_self=False)  # a cadre the bot has no name for
    await h.send(REVIEWER, "/tinjau")
    card = h.text(REVIEWER)
    assert "Didaftarkan oleh: kader (namanya belum tercatat)" in card
    assert str(CADRE) not in card and "Telegram" not in card


async def test_words_typed_at_a_card_act_as_its_buttons(harness: Harness) -> None:
    h = harness
    await desk(h)
    first = await submission(h)
    second = await submission(h)
    third = await submission(h)
    await h.send(REVIEWER, "/tinjau")
    await h.send(REVIEWER, "lewati")
    assert h.text(REVIEWER).startswith(f"Pengajuan {second.ref}")
    await h.send(REVIEWER, "Setujui")
    assert h.text(REVIEWER).startswith(f"Setujui {second.ref} (Budi Santoso). Siapa")
    await h.send(REVIEWER, "mandiri")
    assert "iuran dibayar: Mandiri (dibayar sendiri)?" in h.text(REVIEWER)
    calls = await h.send(REVIEWER, "ya pak")
    [said] = messages(calls, REVIEWER)
    assert said.startswith(f"✅ Disetujui: {second.ref}")
    assert await status_of(h, second.id) == "disetujui"
    assert f"\n\nPengajuan {first.ref}" in said  # the skipped one comes round again
    await h.send(REVIEWER, "tolak")
    assert h.text(REVIEWER).startswith(f"Tolak {first.ref} (Budi Santoso). Pilih alasannya")
    await h.send(REVIEWER, "/tinjau")
    assert await status_of(h, third.id) == "diajukan"
    # Anything else is read as usual, not taken for a decision: a typed command works.
    calls = await h.send(REVIEWER, "cek status")
    assert await status_of(h, first.id) == "diajukan"
    assert await status_of(h, third.id) == "diajukan"
    assert len(messages(calls, REVIEWER)) == 1
    assert "Setujui" not in h.labels(REVIEWER)[:1]


async def test_a_broadcast_to_one_desa_typed_by_name_scheduled_then_cancelled(
    harness: Harness,
) -> None:
    h = harness
    await desk(h)
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "cli")  # Sei Berombang
    await roles.grant(h.db, CADRE + 1, "cadre", "12.10.19.2003", "cli")  # another desa
    await h.send(REVIEWER, "/siaran")
    await h.tap(REVIEWER, "Tulis siaran baru")
    await h.send(REVIEWER, "Besok ada pendataan BPJS di balai desa jam 9.")
    said = messages(await h.send(REVIEWER, "kepada siapa ya?"), REVIEWER)
    assert said == ["Ketik kader, pekerja, atau semua. Atau tekan tombol di atas."]
    await h.send(REVIEWER, "kader aja")
    assert h.text(REVIEWER) == "Kirim ke wilayah mana?"
    calls = await h.send(REVIEWER, "desa sei berombang")
    # The preview: the message as it will be read, then one message with what and to whom.
    preview = messages(calls, REVIEWER)
    assert preview[0] == "Besok ada pendataan BPJS di balai desa jam 9."
    assert len(preview) == 2
    assert "Wilayah: Sei Berombang" in preview[1]
    assert "Penerima: 1 orang (1 kader, 0 pekerja)." in preview[1]
    await h.send(REVIEWER, "jadwalkan")
    assert h.text(REVIEWER) == "Kirim pada hari apa?"
    await h.tap(REVIEWER, "Besok")
    await h.tap(REVIEWER, "09:00")
    await h.tap(REVIEWER, "Jadwalkan siaran")
    assert "dijadwalkan" in h.text(REVIEWER)
    # Done with the draft: what the officer types next is read as usual again.
    assert (await users.get_or_create(h.db, REVIEWER)).active_flow is None
    await h.send(REVIEWER, "/siaran")
    await h.tap(REVIEWER, "Batalkan siaran #1")
    assert h.text(REVIEWER) == "Siaran #1 dibatalkan."
    assert messages(h.api.calls, CADRE) == []


async def test_laporan_for_a_kecamatan_typed_by_name(harness: Harness) -> None:
    h = harness
    await desk(h)
    await submission(h)  # Sei Berombang, Kec. Panai Hilir
    await submission(h, desa_code="12.10.01.2001")  # Rantau Utara
    calls = await h.send(REVIEWER, "/laporan panai hilir")
    [said] = messages(calls, REVIEWER)
    assert said.startswith("Laporan Panai Hilir per ")
    assert "Semua pengajuan: 1 " in said
    calls = await h.send(REVIEWER, "/laporan Medan Baru")  # not in this district
    [said] = messages(calls, REVIEWER)
    assert said.startswith("Wilayah «Medan Baru» tidak ditemukan atau di luar wilayah tugas")
    assert "\n\nLaporan Kabupaten Labuhanbatu per " in said


async def test_laporan_of_a_district_with_many_desa_reads_in_short_messages(
    harness: Harness,
) -> None:
    from bot.registration import children

    h = harness
    await desk(h)
    desa = [d.code for kec in children("12.10") for d in children(kec.code)][:40]
    for code in desa:
        await submission(h, desa_code=code)
    calls = await h.send(REVIEWER, "/laporan")
    [said] = messages(calls, REVIEWER)  # per kecamatan; the desa behind /laporan <kecamatan>
    assert "Per kecamatan:" in said and "   – " not in said
    assert "Angka per desa: ketik /laporan dan nama kecamatan" in said
    calls = await h.send(REVIEWER, "/laporan rantau utara")
    texts = messages(calls, REVIEWER)
    assert texts[0].startswith("Laporan Rantau Utara per ")
    assert "   – " in "\n".join(texts)
    # (every message of this walk is checked to be at most 600 characters by the harness)
