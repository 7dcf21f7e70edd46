"""WhatsApp's tables: the webhook inbox, the 24-hour window, the messages the bot sent."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.channels import whatsapp_person
from storage import whatsapp
from storage.db import Database, handling, not_handling

ANI = whatsapp_person("6281234567890")
BUDI = whatsapp_person("6289876543210")
LONG_AGO = "2000-01-01T00:00:00.000Z"


async def test_an_event_is_stored_once_and_opens_the_window(db: Database) -> None:
    assert await whatsapp.last_inbound(db, ANI) is None
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert await whatsapp.receive(db, "wamid.A1", ANI, '{"text": "halo"}') is True
    opened = await whatsapp.last_inbound(db, ANI)
    assert opened is not None and opened.tzinfo is not None
    assert before <= opened <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    # A redelivery changes nothing: not stored again, the window not moved.
    await db.execute("UPDATE whatsapp_contacts SET last_inbound_at = ?", (LONG_AGO,))
    assert await whatsapp.receive(db, "wamid.A1", ANI, '{"text": "halo"}') is False
    assert await db.fetchval("SELECT count(*) FROM whatsapp_inbox") == 1
    assert await whatsapp.last_inbound(db, ANI) == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    # A new message moves it again.
    assert await whatsapp.receive(db, "wamid.A2", ANI, '{"text": "lagi"}') is True
    again = await whatsapp.last_inbound(db, ANI)
    assert again is not None and again >= before

    await whatsapp.forget_window(db, ANI)
    assert await whatsapp.last_inbound(db, ANI) is None


async def test_pending_events_come_back_in_arrival_order_until_done(db: Database) -> None:
    # Message ids sort differently from their arrival: the order is the arrival's.
    for message_id, person, text in (
        ("wamid.Z", ANI, "satu"),
        ("wamid.B", BUDI, "dua"),
        ("wamid.M", ANI, "tiga"),
    ):
        assert await whatsapp.receive(db, message_id, person, f'{{"text": "{text}"}}')
    assert await whatsapp.pending(db) == [
        ("wamid.Z", ANI, '{"text": "satu"}'),
        ("wamid.B", BUDI, '{"text": "dua"}'),
        ("wamid.M", ANI, '{"text": "tiga"}'),
    ]
    await whatsapp.done(db, "wamid.B")
    assert [m for m, _p, _e in await whatsapp.pending(db)] == ["wamid.Z", "wamid.M"]
    # What Budi sent is gone from the row; the row stays, so a redelivery is still refused.
    row = await db.fetchone(
        "SELECT event, done_at FROM whatsapp_inbox WHERE message_id = 'wamid.B'"
    )
    assert row is not None and row[0] is None and row[1] is not None
    assert await whatsapp.receive(db, "wamid.B", BUDI, '{"text": "dua"}') is False
    assert len(await whatsapp.pending(db)) == 2


async def test_sent_messages_are_found_only_for_their_person(db: Database) -> None:
    first = await whatsapp.record_message(db, ANI, '["ya", "tidak"]')
    second = await whatsapp.record_message(db, BUDI, '["lanjut"]')
    assert second > first
    assert await whatsapp.message_choices(db, ANI, first) == '["ya", "tidak"]'
    assert await whatsapp.message_choices(db, BUDI, first) is None  # not Budi's message
    assert await whatsapp.message_choices(db, BUDI, second) == '["lanjut"]'
    assert await whatsapp.message_choices(db, ANI, second + 100) is None

    assert await whatsapp.message_of_wamid(db, "wamid.S1") is None
    await whatsapp.set_wamid(db, first, "wamid.S1")
    await whatsapp.set_wamid(db, second, "wamid.S2")
    assert await whatsapp.message_of_wamid(db, "wamid.S1") == (ANI, first)
    assert await whatsapp.message_of_wamid(db, "wamid.S2") == (BUDI, second)


async def test_purge_deletes_old_done_events_and_old_messages_only(db: Database) -> None:
    for message_id in ("wamid.old-done", "wamid.old-open", "wamid.new-done"):
        await whatsapp.receive(db, message_id, ANI, "{}")
    await whatsapp.done(db, "wamid.old-done")
    await whatsapp.done(db, "wamid.new-done")
    await db.execute(
        "UPDATE whatsapp_inbox SET done_at = ?, received_at = ? "
        "WHERE message_id = 'wamid.old-done'",
        (LONG_AGO, LONG_AGO),
    )
    # Never handled: it stays however old, to be replayed.
    await db.execute(
        "UPDATE whatsapp_inbox SET received_at = ? WHERE message_id = 'wamid.old-open'",
        (LONG_AGO,),
    )
    old = await whatsapp.record_message(db, ANI, "[]")
    new = await whatsapp.record_message(db, ANI, "[]")
    await db.execute(
        "UPDATE whatsapp_messages SET created_at = ? WHERE message_id = ?", (LONG_AGO, old)
    )

    assert await whatsapp.purge(db, older_than_days=7) == 2
    rows = await db.fetchall("SELECT message_id FROM whatsapp_inbox ORDER BY seq")
    assert [r[0] for r in rows] == ["wamid.old-open", "wamid.new-done"]
    assert await whatsapp.message_choices(db, ANI, old) is None
    assert await whatsapp.message_choices(db, ANI, new) == "[]"
    # An id is never handed out twice, even after the newest rows were purged.
    await db.execute("DELETE FROM whatsapp_messages")
    assert await whatsapp.record_message(db, ANI, "[]") > new


async def test_an_abandoned_event_is_taken_by_one_process_once_its_lease_lapsed(
    db: Database,
) -> None:
    assert await whatsapp.receive(db, "wamid.L1", ANI, '{"kind": "text"}', lease_seconds=0.2)
    assert await whatsapp.claim_stale(db, 30) == []  # its process is still on it
    await asyncio.sleep(0.3)
    taken = await whatsapp.claim_stale(db, 30)
    assert [m for m, _p, _e in taken] == ["wamid.L1"]
    assert await whatsapp.claim_stale(db, 30) == []  # another process asking gets nothing
    await whatsapp.done(db, "wamid.L1")
    assert await whatsapp.pending(db) == []


async def test_every_write_path_marks_the_message_being_handled_applied_in_its_own_unit(
    db: Database,
) -> None:
    async def applied(message_id: str) -> bool:
        state = await whatsapp.stored(db, message_id)
        assert state is not None and not state.done
        return state.applied

    paths = ("write", "apply", "execute", "insert", "failing", "record")
    for name in paths:
        assert await whatsapp.receive(db, f"wamid.{name}", ANI, "{}")
    states = {name: await whatsapp.stored(db, f"wamid.{name}") for name in paths}
    rows = {name: state.row for name, state in states.items() if state is not None}
    assert not any([await applied(f"wamid.{name}") for name in paths])
    language = ("UPDATE users SET language = 'en' WHERE telegram_id = ?", (ANI,))
    with handling(rows["write"]):
        async with db.write(serialised=False) as conn:
            await conn.execute(*language)
    with handling(rows["apply"]):
        assert await db.apply([language, language]) == [0, 0]  # the marker's count is not told
    with handling(rows["execute"]):
        assert await db.execute(*language) == 0
    with handling(rows["insert"]):
        assert await db.insert(
            "INSERT INTO whatsapp_messages(person, choices, created_at) VALUES (?, '[]', '') "
            "RETURNING message_id",
            (ANI,),
        )
    # A unit that fails leaves the message unapplied.
    with handling(rows["failing"]), pytest.raises(Exception, match="no_such_table"):
        await db.apply([language, ("INSERT INTO no_such_table VALUES (1)", ())])
    with handling(rows["record"]), not_handling():  # the channel's own records: no marker
        await whatsapp.record_message(db, ANI, "[]")
    with handling(rows["record"]):
        await whatsapp.record_message(db, ANI, "[]")  # not_handling inside record_message
    await db.execute(*language)  # outside any handling: no marker at all
    got = {name: await applied(f"wamid.{name}") for name in paths}
    assert got == {
        "write": True,
        "apply": True,
        "execute": True,
        "insert": True,
        "failing": False,
        "record": False,
    }
