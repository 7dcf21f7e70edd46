"""The flow kernel in every flow: a step is not stored without its active-flow pointer."""

from __future__ import annotations

from typing import Any

import pytest

from storage import cadres, flows, outbox, privacy, roles, users
from storage import review as desk
from storage.db import Change
from tests.conftest import Harness
from tests.factories import submitted_registration
from tests.test_cadres import create_invite_link

WORKER = 621
REVIEWER = 8101  # reviews Kabupaten Labuhanbatu (12.10), as in tests/test_cadres.py
NEWCOMER = 8301  # the Telegram name "User8301" is not a name: it is asked for
BROKEN: Change = ("INSERT INTO nosuchtable(x) VALUES (?)", (1,))


def broken(monkeypatch: pytest.MonkeyPatch, kind: str = "pointer") -> list[tuple[Any, ...]]:
    """Makes every `flows.<kind>` change fail; returns the arguments it was built with."""
    built: list[tuple[Any, ...]] = []

    def fail(*args: Any) -> Change:
        built.append(args)
        return BROKEN

    monkeypatch.setattr(flows, kind, fail)
    return built


async def active_flow(h: Harness, person: int) -> str | None:
    return (await users.get_or_create(h.db, person)).active_flow


async def step_of(h: Harness, person: int) -> str | None:
    return (await privacy.session(h.db, person, attempts_window="")).step


async def test_data_saya_steps_and_their_pointer_are_one_commit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    row = await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=WORKER)
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await h.send(WORKER, "/data_saya")
    await h.tap(WORKER, f"Lihat data {row.ref}")

    # Asking for the correction: the step is not stored without the pointer to it.
    built = broken(monkeypatch)
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    assert built == [(WORKER, "data_saya")]
    assert await step_of(h, WORKER) is None
    monkeypatch.undo()
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    assert await step_of(h, WORKER) == "correction"
    assert await active_flow(h, WORKER) == "data_saya"

    # The request and leaving the flow: neither without the other.
    built = broken(monkeypatch)
    await h.send(WORKER, "Nama ibu yang benar Siti Rahma")
    assert built == [(WORKER, None)]
    assert await privacy.open_corrections(h.db, "12.10") == []
    assert await step_of(h, WORKER) == "correction"
    monkeypatch.undo()
    await h.send(WORKER, "Nama ibu yang benar Siti Rahma")
    assert "sudah diteruskan" in h.text(WORKER)
    assert len(await privacy.open_corrections(h.db, "12.10")) == 1
    assert await active_flow(h, WORKER) is None

    # A new look at one's data leaves the flow (if active) with the step it ends.
    await h.tap(WORKER, f"Minta perbaikan {row.ref}")
    left = broken(monkeypatch, "leave")
    await h.send(WORKER, "/data_saya")
    assert left == [(WORKER, "data_saya")]
    assert await step_of(h, WORKER) == "correction"
    monkeypatch.undo()
    await h.send(WORKER, "/data_saya")
    assert await step_of(h, WORKER) is None
    assert await active_flow(h, WORKER) is None


async def test_review_steps_and_their_pointer_are_one_commit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await submitted_registration(h.db, h.app.bot_data.cipher, operator_id=WORKER)
    await h.send(REVIEWER, "/tinjau")
    assert (await desk.step_of(h.db, REVIEWER)).registration_id is not None

    built = broken(monkeypatch)
    await h.tap(REVIEWER, "Tolak")
    assert built == [(REVIEWER, "tinjau")]
    assert (await desk.step_of(h.db, REVIEWER)).action is None
    monkeypatch.undo()
    await h.tap(REVIEWER, "Tolak")
    assert (await desk.step_of(h.db, REVIEWER)).action == "reject"
    assert await active_flow(h, REVIEWER) == "tinjau"

    # Forgetting the step leaves the review flow in the same commit.
    left = broken(monkeypatch, "leave")
    await h.send(REVIEWER, "/tinjau")
    assert left == [(REVIEWER, "tinjau")]
    assert (await desk.step_of(h.db, REVIEWER)).action == "reject"
    monkeypatch.undo()
    await h.send(REVIEWER, "/tinjau")
    assert (await desk.step_of(h.db, REVIEWER)).action is None


async def test_a_broadcast_draft_and_its_pointer_are_one_commit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    await roles.grant(h.db, 7001, "cadre", "12.10.19.1001", "test")
    await h.send(REVIEWER, "/siaran")

    built = broken(monkeypatch)
    await h.tap(REVIEWER, "Tulis siaran baru")
    assert built == [(REVIEWER, "siaran")]
    assert await outbox.draft_of(h.db, REVIEWER) is None
    monkeypatch.undo()
    await h.tap(REVIEWER, "Tulis siaran baru")
    assert await outbox.draft_of(h.db, REVIEWER) is not None
    assert await active_flow(h, REVIEWER) == "siaran"

    await h.send(REVIEWER, "Rapat kader hari Senin.")
    await h.tap(REVIEWER, "Kader desa")
    await h.tap(REVIEWER, "Seluruh Kabupaten Labuhanbatu")
    # Queueing it and leaving the flow: neither without the other.
    built = broken(monkeypatch)
    await h.tap(REVIEWER, "Kirim sekarang")
    assert built == [(REVIEWER, None)]
    assert await outbox.draft_of(h.db, REVIEWER) is not None
    assert await h.db.fetchval("SELECT COUNT(*) FROM outbox") == 0
    monkeypatch.undo()
    await h.tap(REVIEWER, "Kirim sekarang")
    assert "masuk antrean untuk 1 penerima" in h.text(REVIEWER)
    assert await outbox.draft_of(h.db, REVIEWER) is None
    assert await active_flow(h, REVIEWER) is None


async def test_joining_as_a_cadre_and_its_pointer_are_one_commit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await roles.grant(h.db, REVIEWER, "reviewer", "12.10", "test")
    code = await create_invite_link(h)

    built = broken(monkeypatch)
    await h.send(NEWCOMER, f"/start {code}")
    assert built == [(NEWCOMER, "kader")]
    assert await cadres.pending_invite(h.db, NEWCOMER) is None
    monkeypatch.undo()
    await h.send(NEWCOMER, f"/start {code}")
    assert "Ketik nama lengkap Anda" in h.text(NEWCOMER)
    assert await cadres.pending_invite(h.db, NEWCOMER) == (code, None)
    assert await active_flow(h, NEWCOMER) == "kader"

    # Joining and leaving the flow: neither without the other.
    built = broken(monkeypatch)
    await h.send(NEWCOMER, "Sari Lubis")
    assert built == [(NEWCOMER, None)]
    assert await cadres.name_of(h.db, NEWCOMER, "12.10.19.1001") is None
    assert await cadres.pending_invite(h.db, NEWCOMER) == (code, None)
    monkeypatch.undo()
    await h.send(NEWCOMER, "Sari Lubis")
    assert "Terima kasih, Sari Lubis" in h.text(NEWCOMER)
    assert await cadres.name_of(h.db, NEWCOMER, "12.10.19.1001") == "Sari Lubis"
    assert await active_flow(h, NEWCOMER) is None
