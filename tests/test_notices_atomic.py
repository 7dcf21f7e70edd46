"""Notices to other people are queued in the same transaction as the change they tell about.

A crash between two transactions (the change committed, its notice not yet queued) would lose
the notice; one transaction commits both or neither. Two checks per notice: when the outbox row
is written, the change is visible to that transaction but not yet committed (so both commit
together), and when writing the outbox row fails, the change is rolled back with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from typing import Any

import pytest

from storage import outbox as outbox_store
from storage import privacy, roles
from storage.db import Conn
from storage.registrations import Registration
from tests.conftest import ADMIN_ID, Harness
from tests.factories import submitted_registration

WORKER = 8101
REVIEWER = 8102
CADRE = 8103
NEW_REVIEWER = 8104
DESA = "12.10.19.1001"
FERRY = "kapan jadwal kapal feri ke pulau samosir"


class OutboxDown(Exception):
    """The outbox row could not be written."""


def watch_enqueue(
    monkeypatch: pytest.MonkeyPatch, h: Harness, sql: str, params: tuple[Any, ...] = ()
) -> list[tuple[Any, Any, int]]:
    """Record, at each outbox insert: `sql`'s value as committed, as seen by the queuing
    transaction, and the recipient."""
    real = outbox_store.enqueue
    seen: list[tuple[Any, Any, int]] = []

    async def enqueue(conn: Conn, kind: str, chat_id: int, *args: Any) -> int:
        found = await (await conn.execute(sql, params)).fetchone()
        inside = None if found is None else found[0]
        seen.append((await h.db.fetchval(sql, params), inside, chat_id))
        return await real(conn, kind, chat_id, *args)

    monkeypatch.setattr(outbox_store, "enqueue", enqueue)
    return seen


def break_enqueue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every outbox insert fails (inside whichever transaction makes it)."""

    async def enqueue(*args: Any, **kwargs: Any) -> int:
        raise OutboxDown

    monkeypatch.setattr(outbox_store, "enqueue", enqueue)


async def outbox_rows(h: Harness, text_part: str) -> list[int]:
    """The recipients of the outbox rows whose text contains `text_part`."""
    rows = await h.db.fetchall(
        "SELECT chat_id FROM outbox WHERE text LIKE '%' || ? || '%' ORDER BY chat_id",
        (text_part,),
    )
    return [int(r["chat_id"]) for r in rows]


async def run_failing(action: Awaitable[Any]) -> None:
    """Run an update whose outbox insert fails; the failure may surface or be handled."""
    with contextlib.suppress(OutboxDown):
        await action


# --- 1. the welcome after a role grant -------------------------------------------------------

GRANTED = "SELECT COUNT(*) FROM roles WHERE telegram_id = ? AND revoked_at IS NULL"


async def test_role_welcome_is_queued_with_the_grant(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    seen = watch_enqueue(monkeypatch, h, GRANTED, (NEW_REVIEWER,))
    await h.send(ADMIN_ID, f"/peran reviewer {NEW_REVIEWER} 12.10")
    assert seen == [(0, 1, NEW_REVIEWER)]  # queued while the grant was not yet committed
    assert await h.db.fetchval(GRANTED, (NEW_REVIEWER,)) == 1
    assert await outbox_rows(h, "petugas peninjau") == [NEW_REVIEWER]
    assert "/tinjau" in h.text(NEW_REVIEWER)
    # Granting it again queues nothing.
    await h.send(ADMIN_ID, f"/peran reviewer {NEW_REVIEWER} 12.10")
    assert len(seen) == 1
    assert await outbox_rows(h, "petugas peninjau") == [NEW_REVIEWER]


async def test_role_is_not_granted_when_its_welcome_cannot_be_queued(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    break_enqueue(monkeypatch)
    await run_failing(h.send(ADMIN_ID, f"/peran reviewer {NEW_REVIEWER} 12.10"))
    assert await h.db.fetchval(GRANTED, (NEW_REVIEWER,)) == 0
    assert await h.db.fetchval("SELECT COUNT(*) FROM outbox") == 0
    assert h.api.sent(NEW_REVIEWER) == []


# --- 2. the reviewers' notice of a correction request ----------------------------------------

CORRECTIONS = "SELECT COUNT(*) FROM privacy_requests WHERE kind = 'correction'"


async def start_correction(h: Harness) -> Registration:
    """A worker's submission, two reviewers of its kabupaten, and /data_saya at the text step."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await roles.grant(h.db, NEW_REVIEWER, "reviewer", "12.10", "test")
    row = await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=WORKER)
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    return row


async def test_correction_notices_are_queued_with_the_request(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    row = await start_correction(h)
    seen = watch_enqueue(monkeypatch, h, CORRECTIONS)
    await h.send(WORKER, "Nama ibu yang benar Siti Rahma")
    assert "sudah diteruskan ke petugas kabupaten" in h.text(WORKER)
    assert seen == [(0, 1, REVIEWER), (0, 1, NEW_REVIEWER)]
    assert await h.db.fetchval(CORRECTIONS) == 1
    assert await outbox_rows(h, f"Permintaan perbaikan data untuk {row.ref}") == [
        REVIEWER,
        NEW_REVIEWER,
    ]


async def test_correction_request_is_not_stored_when_its_notices_cannot_be_queued(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await start_correction(h)
    break_enqueue(monkeypatch)
    await run_failing(h.send(WORKER, "Nama ibu yang benar Siti Rahma"))
    assert await h.db.fetchval(CORRECTIONS) == 0
    assert await h.db.fetchval("SELECT COUNT(*) FROM outbox") == 0
    state = await privacy.session(h.db, WORKER, attempts_window="")
    assert state.step == "correction"  # still waiting for the text: the worker can send again


# --- 3. the officials' note of a forwarded question ------------------------------------------

QUESTION = "SELECT status FROM questions"


async def draft_question(h: Harness) -> None:
    """A worker of DESA with an unanswered question, its reviewer and cadre."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await roles.grant(h.db, CADRE, "cadre", DESA, "test")
    await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=WORKER)
    await h.send(WORKER, FERRY)
    assert await h.db.fetchval(QUESTION) == "draft"


async def test_officials_note_is_queued_with_the_forward(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await draft_question(h)
    seen = watch_enqueue(monkeypatch, h, QUESTION)
    await h.tap(WORKER, "Teruskan ke petugas")
    assert seen == [("draft", "open", REVIEWER), ("draft", "open", CADRE)]
    assert await h.db.fetchval(QUESTION) == "open"
    assert await outbox_rows(h, "Ada pertanyaan baru") == [REVIEWER, CADRE]
    # A second press passes nothing on and queues nothing.
    await h.press(WORKER, "ASK FWD 1")
    assert len(seen) == 2
    assert await outbox_rows(h, "Ada pertanyaan baru") == [REVIEWER, CADRE]


async def test_question_stays_a_draft_when_the_officials_note_cannot_be_queued(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await draft_question(h)
    break_enqueue(monkeypatch)
    await run_failing(h.tap(WORKER, "Teruskan ke petugas"))
    assert await h.db.fetchval(QUESTION) == "draft"
    assert await h.db.fetchval("SELECT COUNT(*) FROM outbox") == 0


# --- 4. the answer to the asker --------------------------------------------------------------

ANSWER = "Tanyakan ke Dinas Perhubungan."


async def open_question(h: Harness) -> None:
    """A forwarded question, and the reviewer about to type the answer."""
    await draft_question(h)
    await h.tap(WORKER, "Teruskan ke petugas")
    await h.send(REVIEWER, "/pertanyaan")
    await h.tap(REVIEWER, "Jawab #1")


async def test_answer_is_queued_with_the_stored_answer(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await open_question(h)
    seen = watch_enqueue(monkeypatch, h, QUESTION)
    await h.send(REVIEWER, ANSWER)
    assert h.text(REVIEWER) == "Jawaban terkirim. Terima kasih."
    assert seen == [("open", "answered", WORKER)]
    assert await h.db.fetchval(QUESTION) == "answered"
    assert await outbox_rows(h, ANSWER) == [WORKER]
    assert ANSWER in h.text(WORKER)


async def test_question_stays_open_when_the_answer_cannot_be_queued(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await open_question(h)
    break_enqueue(monkeypatch)
    await run_failing(h.send(REVIEWER, ANSWER))
    row = await h.db.fetchone("SELECT status, answer, answered_by FROM questions")
    assert tuple(row) == ("open", None, None)
    assert await outbox_rows(h, ANSWER) == []
    assert ANSWER not in h.text(WORKER)


# --- 5. the requester's notice that their correction was handled -----------------------------

RESOLVED = "SELECT outcome FROM privacy_requests WHERE kind = 'correction'"
HANDLED = "sudah ditangani petugas kabupaten"


async def approved_correction(h: Harness) -> str:
    """A correction request of an approved enrolment; the reviewer about to mark it done."""
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    row = await submitted_registration(
        h.db, h.app.bot_data.cipher, operator_id=WORKER, status="disetujui"
    )
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    await h.send(WORKER, "Nama ibu yang benar Siti Rahma")
    await h.send(REVIEWER, "/tinjau")
    await h.tap(REVIEWER, "Lihat permintaan perbaikan data")
    await h.tap(REVIEWER, "Sudah diubah, tandai selesai")
    assert h.labels(REVIEWER) == ["Ya, sudah diubah", "Belum, kembali"]
    return str(row.ref)


async def test_requester_notice_is_queued_with_the_resolution(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    ref = await approved_correction(h)
    seen = watch_enqueue(monkeypatch, h, RESOLVED)
    await h.tap(REVIEWER, "Ya, sudah diubah")
    assert f"Permintaan perbaikan untuk {ref} ditandai selesai." in h.text(REVIEWER)
    assert seen == [("open", "done", WORKER)]
    assert await h.db.fetchval(RESOLVED) == "done"
    assert await outbox_rows(h, HANDLED) == [WORKER]
    assert HANDLED in h.text(WORKER)


async def test_correction_stays_open_when_the_requester_notice_cannot_be_queued(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await approved_correction(h)
    break_enqueue(monkeypatch)
    await run_failing(h.tap(REVIEWER, "Ya, sudah diubah"))
    assert await h.db.fetchval(RESOLVED) == "open"
    assert await outbox_rows(h, HANDLED) == []
    assert HANDLED not in h.text(WORKER)
