"""Three findings of a persona walk: chat at the claim-number prompt, /batal's words, and
/data_saya's contribution and payer words."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import membership
from storage import membership as store
from storage import outbox, registrations, roles
from storage.registrations import Status
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration
from tests.test_amounts import DISCOUNT_DAY, pin_today, walk_to_programs
from tests.test_claims import import_rows

WORKER = 5301
CADRE = 5302
REVIEWER = 5303


async def replies(h: Harness, user: int, text: str) -> str:
    """What the bot answers a typed message: exactly one message."""
    calls = [c for c in await h.send(user, text) if c.method == "sendMessage"]
    assert len(calls) == 1, [c.text for c in calls]
    return calls[0].text


async def active_flow(h: Harness, user: int) -> object:
    return await h.db.fetchval("SELECT active_flow FROM users WHERE telegram_id = ?", (user,))


# --- 1. /klaim: only what can be a claim number is looked up --------------------------------


@pytest.mark.parametrize(
    "typed",
    ["klaim sy gmn bang", "gk tau nomornya bang", "ada di kartu?", "nomor klaim dimana", "bang"],
)
async def test_chat_at_the_claim_prompt_is_no_lookup(harness: Harness, typed: str) -> None:
    h = harness
    await h.send(WORKER, "/klaim")
    text = await replies(h, WORKER, typed)
    assert "tidak ditemukan" not in text and typed not in text
    # Where the number is written, how to see one's own claims, and the prompt again.
    assert "tanda terima pengajuan klaim" in text
    assert "bukan nomor KPJ di kartu" in text
    assert text.endswith("Ketik nomor klaim saja (huruf dan angka), atau /batal.")
    assert h.labels(WORKER) == ["Hubungkan data saya"]
    assert await store.lookups_in_last_hour(h.db, WORKER) == 0
    assert await active_flow(h, WORKER) == "klaim"


async def test_a_nik_at_the_claim_prompt_is_named_and_not_looked_up(harness: Harness) -> None:
    h = harness
    nik = nik_for()
    await h.send(WORKER, "/klaim")
    text = await replies(h, WORKER, nik)
    assert text.startswith("Itu NIK, bukan nomor klaim.")
    assert nik not in text and "tidak ditemukan" not in text
    assert "Hubungkan data saya" in text and h.labels(WORKER) == ["Hubungkan data saya"]
    # Spaced as on the card, and after the words people put before a number.
    assert (
        await replies(h, WORKER, " ".join(nik[i : i + 4] for i in range(0, 16, 4)))
    ).startswith("Itu NIK")
    assert (await replies(h, WORKER, f"no klaim {nik}")).startswith("Itu NIK")
    assert await store.lookups_in_last_hour(h.db, WORKER) == 0
    assert await active_flow(h, WORKER) == "klaim"


async def test_a_linked_worker_typing_a_nik_is_shown_the_way_to_his_claims(
    harness: Harness,
) -> None:
    h = harness
    nik = nik_for()
    await store.link(h.db, WORKER, h.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj")
    await h.send(WORKER, "/klaim")
    await h.tap(WORKER, "Cari dengan nomor klaim")
    text = await replies(h, WORKER, nik)
    assert text.startswith("Itu NIK, bukan nomor klaim.") and "Status klaim" in text
    await h.tap(WORKER, "Status klaim")
    assert h.text(WORKER).startswith("Belum ada data klaim untuk Anda.")
    assert await active_flow(h, WORKER) is None  # the list ends the prompt
    assert await store.lookups_in_last_hour(h.db, WORKER) == 0


async def test_a_question_at_the_claim_prompt_is_answered_and_the_prompt_stays(
    harness: Harness,
) -> None:
    h = harness
    await h.send(WORKER, "/klaim")
    text = await replies(h, WORKER, "klaim jkk brp lama cair?")
    assert text.startswith("Berapa lama klaim diproses")
    assert text.endswith("Ketik nomor klaim saja (huruf dan angka), atau /batal.")
    assert len(text) <= 600
    assert await store.lookups_in_last_hour(h.db, WORKER) == 0
    assert await active_flow(h, WORKER) == "klaim"


async def test_chat_never_uses_up_the_limit_that_registration_shares(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await import_rows(h, tmp_path, "B-7,,12345678901,JKM,diverifikasi,2026-11-02,")
    await h.send(WORKER, "/klaim")
    for typed in (
        "klaim sy gmn bang",
        nik_for(),
        "gk tau nomornya bang",
        "ada di kartu?",
        "sy lupa bang",
        "gmn ya",
    ):
        assert "kali mencari data" not in await replies(h, WORKER, typed)
    assert await membership.may_look_up(h.db, WORKER)
    # A claim number is still taken at the same prompt, and counted.
    assert "▶️ Berkas diperiksa (sekarang)" in await replies(h, WORKER, "B-7")
    assert await store.lookups_in_last_hour(h.db, WORKER) == 1
    assert await active_flow(h, WORKER) is None


async def test_words_after_the_klaim_command_are_no_lookup(harness: Harness) -> None:
    h = harness
    text = await replies(h, WORKER, "/klaim gk tau nomornya")
    assert "tidak ditemukan" not in text and "tanda terima pengajuan klaim" in text
    assert await store.lookups_in_last_hour(h.db, WORKER) == 0
    assert await active_flow(h, WORKER) == "klaim"
    assert "tidak ditemukan" in await replies(h, WORKER, "12345")  # can be a claim number
    assert await store.lookups_in_last_hour(h.db, WORKER) == 1


# --- 2. /batal says only what is true --------------------------------------------------------


async def start_draft(h: Harness) -> None:
    """A registration begun and left: its draft is kept."""
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")


@pytest.mark.parametrize(
    "opened",
    [("/status", "Cek status orang lain"), ("/klaim", None), ("/iuran", None)],
)
async def test_cancel_keeps_quiet_about_deleting(
    harness: Harness, opened: tuple[str, str | None]
) -> None:
    h = harness
    await start_draft(h)
    command, label = opened
    await h.send(WORKER, command)
    if label is not None:
        await h.tap(WORKER, label)
    assert await active_flow(h, WORKER) not in (None, "registration")
    text = await replies(h, WORKER, "/batal")
    assert text == "Dibatalkan. Ketik /start untuk ke menu."
    assert "dihapus" not in text
    drafts = await h.db.fetchval(
        "SELECT COUNT(*) FROM registrations WHERE operator_id = ? AND status = ?",
        (WORKER, Status.DRAFT),
    )
    assert drafts == 1  # the registration's draft is still there


async def test_cancel_while_writing_a_broadcast_says_the_draft_is_gone(harness: Harness) -> None:
    h = harness
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await h.send(REVIEWER, "/siaran")
    await h.tap(REVIEWER, "Tulis siaran baru")
    await h.send(REVIEWER, "Pertemuan kader hari Senin.")
    assert await outbox.draft_of(h.db, REVIEWER) is not None
    text = await replies(h, REVIEWER, "/batal")
    assert text.startswith("Dibatalkan. Draf siaran yang belum dikirim sudah dibuang.")
    assert await outbox.draft_of(h.db, REVIEWER) is None


# --- 3. /data_saya: the summary's contribution, and the viewer's words -----------------------


async def test_my_data_shows_the_contribution_the_summary_showed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    pin_today(monkeypatch, DISCOUNT_DAY)
    await walk_to_programs(h, WORKER, nik_for("12.10.19"))
    await h.press(WORKER, "REG programs JKK_JKM")
    await h.press(WORKER, "REG payer sendiri")
    await h.press(WORKER, "REG period 3")
    await h.tap(WORKER, "Lewati")
    summary = h.text(WORKER).splitlines()
    [monthly] = [line for line in summary if line.startswith("Iuran per bulan:")]
    [period] = [line for line in summary if line.startswith("Dibayar sekaligus untuk:")]
    assert monthly.startswith("Iuran per bulan: Rp8.400 (normal Rp16.800, dipotong sampai")
    await h.tap(WORKER, "Kirim")
    row = (await registrations.by_operator(h.db, WORKER))[0]
    assert row.monthly_contribution == 16_800  # stored: the normal amount
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    shown = h.text(WORKER)
    # The same figures and period words as the summary (in short: this view is long).
    assert "Iuran per bulan: Rp8.400 (normal Rp16.800)" in shown.splitlines()
    assert period in shown.splitlines()
    assert "tiap 3 bulan" not in shown and "Rp16.800 per bulan" not in shown
    assert "Pembayar iuran: Anda sendiri" in shown


async def test_a_cadre_sees_his_neighbour_as_dia_and_himself_as_anda(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    pin_today(monkeypatch, DISCOUNT_DAY)
    await roles.grant(h.db, CADRE, "cadre", "12.10.19.1001", "test")
    nik = nik_for("12.10.19")
    await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=CADRE, for_self=False, nik=nik,
        payer="sendiri", pay_period_months=3, name="Rahmat Hidayat",
    )  # fmt: skip
    await h.send(CADRE, "/data_saya")
    await h.tap(CADRE, "Data pekerja yang saya daftarkan")
    await h.send(CADRE, nik)
    shown = await replies(h, CADRE, "15-05-1980")
    assert "Rahmat Hidayat" in shown
    assert "Pembayar iuran: Dia sendiri" in shown and "Anda sendiri" not in shown
    assert "Didaftarkan oleh: Anda\n" in shown and "ID Telegram" not in shown
    assert (
        "Iuran per bulan: Rp8.400 (normal Rp16.800, dipotong sampai 31 Desember 2026)\n"
        "Dibayar sekaligus untuk: 3 bulan (Rp25.200)"
    ) in shown
    # The neighbour himself, linked, reads it from his side.
    await store.link(h.db, WORKER, h.app.bot_data.cipher.lookup_hash("nik", nik), proof="kpj")
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, "Lihat data JP-1210-000001")
    mine = h.text(WORKER)
    assert "Pembayar iuran: Anda sendiri" in mine
    assert f"Didaftarkan oleh: kader desa (ID Telegram {CADRE})" in mine
