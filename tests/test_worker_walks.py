"""Workers after registering, walked as they type: status by KPJ or NIK, linking, claims by
number, their data, language, broadcasts, and the notices a linked worker receives.

A: the worker (registered by cadre C, no Telegram of their own on the registration). B: someone
else who knows A's NIK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot import clock, notify
from bot.contributions import quote, sector_of
from bot.i18n import translator
from bot.membership import FileSource, import_claims
from storage import membership as store
from storage import roles
from storage.registrations import Registration
from tests.conftest import Harness
from tests.factories import nik_for, submitted_registration
from tests.test_linking import import_member

A = 501
B = 666
C = 777
PHONE = "+6281234567890"
KPJ = "12345678901"
CLAIMS_HEADER = "no_klaim,nik,kpj,jenis,status,tanggal_status,jumlah_dibayar"


async def registered_by_cadre(h: Harness, **fields: Any) -> tuple[str, Registration]:
    """A worker the cadre registered (the registration names no Telegram account of theirs)."""
    await roles.grant(h.db, C, "cadre", "12.10.19.1001", "test")
    nik = nik_for()
    values: dict[str, Any] = {"status": "terdaftar", "payer": "sendiri"}
    values.update(fields)
    row = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=C, for_self=False, nik=nik, phone=PHONE,
        **values,
    )  # fmt: skip
    return nik, row


async def link(h: Harness, user: int, nik: str, proof: str) -> None:
    await store.link(h.db, user, h.app.bot_data.cipher.lookup_hash("nik", nik), proof=proof)


async def one_reply(h: Harness, user: int, text: str) -> str:
    """What the bot answers a typed message: exactly one message."""
    calls = [c for c in await h.send(user, text) if c.method == "sendMessage"]
    assert len(calls) == 1, [c.text for c in calls]
    return calls[0].text


# --- /status and linking, typed ---------------------------------------------------------------


async def test_kpj_typed_before_the_nik_links_the_account(
    harness: Harness, tmp_path: Path
) -> None:
    nik, _row = await registered_by_cadre(harness)
    await import_member(harness, tmp_path, nik)
    assert "belum terhubung" in await one_reply(harness, A, "cek status")
    # He types the number on his card, with spaces, instead of pressing a button.
    asked = await one_reply(harness, A, "1234 5678 901")
    assert "ketik NIK Anda" in asked
    linked = await one_reply(harness, A, nik)
    assert "sekarang terhubung" in linked
    assert await store.linked_nik_hash(harness.db, A) is not None
    # Days later, the card number alone is how he asks again.
    assert f"Nomor KPJ: {KPJ}" in await one_reply(harness, A, "12345-678-901")


async def test_a_wrong_kpj_before_the_nik_does_not_link(harness: Harness, tmp_path: Path) -> None:
    nik, _row = await registered_by_cadre(harness)
    await import_member(harness, tmp_path, nik)
    await one_reply(harness, B, "99999999999")
    refused = await one_reply(harness, B, nik)
    assert "tidak cocok" in refused
    assert await store.linked_nik_hash(harness.db, B) is None


async def test_words_where_a_number_is_asked_leave_the_step(
    harness: Harness, tmp_path: Path
) -> None:
    nik, _row = await registered_by_cadre(harness)
    await import_member(harness, tmp_path, nik)
    await harness.press(A, "STS SELF")
    # He changes his mind: the words are what he wants now, not a wrong NIK.
    assert "Data Anda di Jaga Pekerja" in await one_reply(harness, A, "hapus data sy")
    await harness.press(A, "STS SELF")
    await one_reply(harness, A, nik)  # now at the proof step
    assert "belum terhubung" in await one_reply(harness, A, "cek status")
    await harness.send(A, "/klaim")
    assert "belum terhubung" in await one_reply(harness, A, "status sy gmn")
    # Leaving a step by typing words is no lookup: the hourly limit is not used up by it.
    assert await store.lookups_in_last_hour(harness.db, A) == 1  # the one NIK he typed


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ganti no hp", "Data Anda di Jaga Pekerja"),
        ("salah nama", "Data Anda di Jaga Pekerja"),
        ("english please", "OK, I will use English."),  # asked in words: done at once
        ("bahasa indonesia", "Choose a language"),
        ("jangan kirim lagi", "tidak akan menerima siaran"),
        ("stop", "tidak akan menerima siaran"),
        ("cek klaim", "nomor klaim"),
    ],
)
async def test_typed_requests_reach_their_command(
    harness: Harness, typed: str, expected: str
) -> None:
    assert expected in await one_reply(harness, A, typed)


# --- claims by number -------------------------------------------------------------------------


async def test_claim_number_typed_with_words_around_it(harness: Harness, tmp_path: Path) -> None:
    nik, _row = await registered_by_cadre(harness)
    path = tmp_path / "claims.csv"
    path.write_text(
        f"{CLAIMS_HEADER}\nJKM-2026-123,{nik},,JKM,diproses,2026-11-20,\n", encoding="utf-8"
    )
    await import_claims(harness.db, harness.app.bot_data.cipher, FileSource(path))
    # His wife, without the command, types it as written on the receipt.
    assert "nomor JKM-2026-123" in await one_reply(harness, B, "no klaim JKM-2026-123")
    await harness.send(B, "/klaim")
    assert "nomor JKM-2026-123" in await one_reply(harness, B, "Nomor klaim: JKM-2026-123")
    # A question about claims is still a question, not a claim number.
    assert "nomor" not in (await one_reply(harness, B, "klaim jkm gimana")).split("\n")[0]


# --- /data_saya for a worker the cadre registered -------------------------------------------


async def test_a_linked_worker_sees_and_corrects_the_data_the_cadre_entered(
    harness: Harness,
) -> None:
    nik, row = await registered_by_cadre(harness)
    await link(harness, A, nik, "kpj")
    overview = await one_reply(harness, A, "/data_saya")
    assert f"Pendaftaran {row.ref}" in overview
    assert "Tidak ada data pendaftaran" not in overview
    assert "nomor HP yang tercatat" in overview
    await harness.tap(A, f"Lihat data {row.ref}")
    shown = harness.text(A)
    assert "Budi Santoso" in shown
    # A KPJ card may be in the family's hands: enough to see and correct, not to delete.
    assert f"Hapus data {row.ref}" not in harness.labels(A)
    refused = await harness.press(A, f"DATA DEL {row.id}")
    assert not any("akan dihapus" in c.text for c in refused)
    await harness.tap(A, f"Minta perbaikan {row.ref}")
    done = await one_reply(harness, A, "Nama yang benar Budi Santosa")
    assert "sudah diteruskan" in done
    # Someone who is not linked sees none of it.
    other = await one_reply(harness, B, "/data_saya")
    assert row.ref is not None and row.ref not in other
    assert "Tidak ada data pendaftaran" in other


async def test_a_worker_linked_by_phone_may_withdraw_consent(harness: Harness) -> None:
    nik, row = await registered_by_cadre(harness, status="diajukan")
    await link(harness, A, nik, "phone")
    await harness.send(A, "/data_saya")
    await harness.tap(A, f"Lihat data {row.ref}")
    await harness.tap(A, f"Hapus data {row.ref}")
    await harness.tap(A, "Ya, tarik persetujuan dan hapus")
    assert "sudah dihapus" in harness.text(A)
    left = await harness.db.fetchval("SELECT COUNT(*) FROM registrations WHERE id = ?", (row.id,))
    assert left == 0


# --- notices to a linked worker ---------------------------------------------------------------


async def outbox_to(h: Harness, chat_id: int) -> list[dict[str, Any]]:
    rows = await h.db.fetchall(
        "SELECT text, buttons FROM outbox WHERE chat_id = ? ORDER BY id", (chat_id,)
    )
    return [dict(r) for r in rows]


async def test_a_linked_worker_receives_the_kpj_notice_with_the_amount(
    harness: Harness, tmp_path: Path
) -> None:
    nik, _row = await registered_by_cadre(harness, status="disetujui")
    await link(harness, A, nik, "phone")
    await import_member(harness, tmp_path, nik)
    to_worker = await outbox_to(harness, A)
    assert len(to_worker) == 1
    text = to_worker[0]["text"]
    assert f"Nomor kepesertaan (KPJ): {KPJ}" in text
    assert "Kabar untuk pekerja yang Anda daftarkan" not in text  # he is the worker
    # The same amount as /status and the reminders: the contribution table's.
    tr = translator("id")
    q = quote(1_000_000, "JKK_JKM", sector_of("nelayan"), "mandiri", clock.today())
    assert f"Iuran yang dibayar: {tr.money(q.to_pay)} per bulan" in text
    assert "IUR PAY" in json.dumps(to_worker[0]["buttons"])
    # The cadre still hears it, as the cadre.
    to_cadre = await outbox_to(harness, C)
    assert to_cadre and "Kabar untuk pekerja yang Anda daftarkan" in to_cadre[-1]["text"]


async def test_a_program_paid_approval_never_names_mandiri_as_the_payer(
    harness: Harness,
) -> None:
    _nik, row = await registered_by_cadre(harness, status="disetujui", payer="program")
    messages = await notify.status_messages(harness.db, row, "disetujui", None)
    texts = [m.text for m in messages]
    assert texts and all("program pemerintah" in t for t in texts)
    assert not any("Mandiri" in t for t in texts)


def test_the_claim_number_reader() -> None:
    from handlers.claims import typed_number

    assert typed_number("no klaim 123") == "123"
    assert typed_number("Nomor klaim: JKM-2026-123") == "JKM-2026-123"
    assert typed_number("#123") == "123"
    assert typed_number("klaim jkm gimana") is None
    assert typed_number("123", prefixed=True) is None
    assert typed_number("no 123", prefixed=True) is None
    assert typed_number("klaim 123", prefixed=True) == "123"
