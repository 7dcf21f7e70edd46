"""The flow kernel: an answer, the next step and the active-flow pointer are one commit."""

from __future__ import annotations

import asyncio

import pytest

from storage import flows, registrations, users
from storage.db import Change, Database
from tests.conftest import Harness
from tests.factories import nik_for

WORKER = 611
BROKEN: Change = ("INSERT INTO nosuchtable(x) VALUES (?)", (1,))


async def test_a_unit_is_all_or_nothing(db: Database) -> None:
    with pytest.raises(Exception, match="nosuchtable"):
        await db.apply([flows.pointer(WORKER, "daftar"), BROKEN])
    assert await db.fetchval("SELECT count(*) FROM users WHERE telegram_id = ?", (WORKER,)) == 0
    assert await db.apply([flows.pointer(WORKER, "daftar")]) == [1]
    assert (await users.get_or_create(db, WORKER)).active_flow == "daftar"


async def test_units_committed_together_fail_alone(db: Database) -> None:
    # Units queued while the writer is busy share one commit (SQLite), each all or nothing.
    results = await asyncio.gather(
        *(
            db.apply([flows.pointer(person, "daftar"), *([BROKEN] if person % 2 else [])])
            for person in range(700, 720)
        ),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 10
    rows = await db.fetchall("SELECT telegram_id FROM users WHERE active_flow = 'daftar'")
    assert sorted(r[0] for r in rows) == list(range(700, 720, 2))


async def test_a_value_that_cannot_be_stored_fails_only_its_own_unit(db: Database) -> None:
    # Queued together while the writer is busy (one commit on SQLite): only the bad unit fails.
    results = await asyncio.gather(
        db.apply([flows.pointer(801, "daftar")]),
        db.apply([flows.pointer(2**64, "daftar")]),  # beyond a 64-bit integer
        db.apply([flows.pointer(802, "daftar")]),
        return_exceptions=True,
    )
    assert [isinstance(r, BaseException) for r in results] == [False, True, False]
    rows = await db.fetchall("SELECT telegram_id FROM users ORDER BY telegram_id")
    assert [r[0] for r in rows] == [801, 802]


async def test_an_answer_is_not_kept_when_its_pointer_cannot_be(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await h.send(WORKER, "/daftar")
    await h.tap(WORKER, "Setuju")
    await h.tap(WORKER, "Diri saya sendiri")
    await h.send(WORKER, nik_for())
    draft = await registrations.active_of(h.db, WORKER)
    assert draft is not None and draft.step == "name"

    # The pointer's write fails: the name and the next step must not be stored without it.
    monkeypatch.setattr(flows, "pointer", lambda person, flow: BROKEN)
    await h.send(WORKER, "Budi Santoso")
    same = await registrations.active_of(h.db, WORKER)
    assert same is not None and (same.step, same.name) == ("name", None)

    monkeypatch.undo()
    await h.send(WORKER, "Budi Santoso")
    moved = await registrations.active_of(h.db, WORKER)
    assert moved is not None and moved.step != "name" and moved.name == "Budi Santoso"
    assert (await users.get_or_create(h.db, WORKER)).active_flow == "daftar"


async def test_a_new_draft_and_its_pointer_are_one_commit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    monkeypatch.setattr(flows, "pointer", lambda person, flow: BROKEN)
    await h.send(WORKER, "/daftar")
    assert await registrations.active_of(h.db, WORKER) is None
    monkeypatch.undo()
    await h.send(WORKER, "/daftar")
    assert await registrations.active_of(h.db, WORKER) is not None
    assert (await users.get_or_create(h.db, WORKER)).active_flow == "daftar"


async def test_cancel_leaves_every_flow(harness: Harness) -> None:
    h = harness
    for name in h.app.bot_data.flows:
        await users.set_active_flow(h.db, WORKER, name)
        await h.send(WORKER, "/batal")
        assert (await users.get_or_create(h.db, WORKER)).active_flow is None, name
