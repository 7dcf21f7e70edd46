"""Broadcast figures: `jaga run` drains one broadcast at a configured pace, killed -9 midway.

A database is prepared with one broadcast's outbox rows (one per recipient, each text naming its
recipient) through storage/outbox.py. The real bot sends them to the stand-in, which records each
sendMessage (chat, text, arrival time). After `kill_after` deliveries the bot is killed with
SIGKILL; the rows left `sending` are read from the database before a second `jaga run` starts on
it and finishes the broadcast. Then every recipient's deliveries are counted: none may be missing,
and no more may come twice than were in flight at the kill.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.process import BotProcess, bot_env, remove
from bench.standin import BotState, Sent, StandIn
from storage import outbox
from storage.db import Database

TOKEN = "100005:broadcast"
AUTHOR = 900_000_001  # the admin who wrote the broadcast; receives the final report
FIRST_CHAT = 7_000_000_000  # recipients' chat ids: FIRST_CHAT + i
# Deliveries left out at the start of each process's run when measuring the rate (start-up,
# the first claim, HTTP connections being opened).
WARM_UP = 200


def chats(recipients: int) -> range:
    """The recipients' chat ids."""
    return range(FIRST_CHAT, FIRST_CHAT + recipients)


def text_for(broadcast_id: int, chat_id: int) -> str:
    """The unique text of one recipient's message, so the stand-in can tell them apart."""
    return (
        f"Siaran #{broadcast_id} untuk {chat_id}: pendaftaran BPJS Ketenagakerjaan "
        "dibuka di balai desa hari Sabtu."
    )


async def prepare(path: Path, recipients: int) -> dict[str, Any]:
    """A fresh database holding one broadcast queued to `recipients` people; its figures."""
    started = time.monotonic()
    db = await Database.open(path)
    try:
        broadcast_id = await outbox.new_draft(db, AUTHOR, "text")
        text = text_for(broadcast_id, 0)
        await outbox.update_draft(
            db, broadcast_id, text=text, audience="workers", region_code="12"
        )
        now = outbox.stamp(dt.datetime.now(dt.UTC))
        # One transaction, as `outbox.queue` does it: the recipients (users rows as /start makes
        # them), one outbox row each with its own text, then the broadcast marked as sending.
        async with db.write() as conn:
            await conn.executemany(
                "INSERT INTO users(telegram_id, language) VALUES (?, 'id') "
                "ON CONFLICT(telegram_id) DO NOTHING",
                [(AUTHOR,), *((c,) for c in chats(recipients))],
            )
            for chat_id in chats(recipients):
                await outbox.enqueue(conn, "broadcast", chat_id, text_for(broadcast_id, chat_id))
            await conn.execute(
                "UPDATE outbox SET broadcast_id = ? WHERE kind = 'broadcast' "
                "AND broadcast_id IS NULL",
                (broadcast_id,),
            )
            await conn.execute(
                "UPDATE broadcasts SET status = 'sending', step = NULL, send_at = ?, "
                "recipients = ?, queued_at = ? WHERE id = ?",
                (now, recipients, now, broadcast_id),
            )
        counts = await outbox.counts(db, broadcast_id)
    finally:
        await db.close()
    if counts["pending"] != recipients:
        raise RuntimeError(f"prepared {counts['pending']} rows, not {recipients}")
    return {"broadcast_id": broadcast_id, "prepare_seconds": time.monotonic() - started}


def database_state(path: Path) -> dict[str, Any]:
    """The outbox as a killed bot left it: rows by status and the chats of rows `sending`."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        by_status = dict(
            conn.execute(
                "SELECT status, COUNT(*) FROM outbox WHERE kind = 'broadcast' GROUP BY status"
            ).fetchall()
        )
        sending = [
            r[0]
            for r in conn.execute(
                "SELECT chat_id FROM outbox WHERE kind = 'broadcast' AND status = 'sending'"
            )
        ]
        lease = conn.execute(
            "SELECT MAX(lease_until) FROM outbox WHERE status = 'sending'"
        ).fetchone()[0]
        unfinished = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()[0]
        broadcast = conn.execute("SELECT status FROM broadcasts ORDER BY id LIMIT 1").fetchone()
    finally:
        conn.close()
    return {
        "by_status": by_status,
        "sending_chats": sending,
        "lease_until": lease,
        "unfinished": int(unfinished),
        "broadcast_status": broadcast[0] if broadcast else None,
    }


@dataclass
class Recorder:
    """Every sendMessage to a recipient or the author, in order of arrival at the stand-in."""

    recipients: frozenset[int]
    kill_after: int
    deliveries: list[Sent] = field(default_factory=list)
    to_author: list[Sent] = field(default_factory=list)
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def attach(self, state: BotState) -> None:
        """Listen on every recipient's chat and the author's of a fresh stand-in state."""
        for chat_id in self.recipients:
            state.listeners[chat_id] = self._delivered
        state.listeners[AUTHOR] = self.to_author.append

    def _delivered(self, sent: Sent) -> None:
        if sent.method != "sendMessage":
            return
        self.deliveries.append(sent)
        if len(self.deliveries) >= self.kill_after:
            self.reached.set()


def steady_rate(times: list[float]) -> tuple[float, int, float]:
    """Deliveries a second over `times` without the first WARM_UP: (rate, count, seconds)."""
    steady = times[WARM_UP:]
    if len(steady) < 2:
        return 0.0, len(steady), 0.0
    seconds = steady[-1] - steady[0]
    return (len(steady) - 1) / seconds if seconds > 0 else 0.0, len(steady), seconds


async def run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Prepare, send, kill -9 after `args.kill_after` deliveries, restart, finish, count."""
    path = out / "broadcast.sqlite3"
    remove(out, "broadcast.sqlite3*")
    result: dict[str, Any] = {
        "recipients": args.recipients,
        "rate": args.outbox_rate,
        "lease_seconds": args.outbox_lease,
        "kill_after": args.kill_after,
        "warm_up": WARM_UP,
        "rate_limit": args.rate_limit,
    }
    result.update(await prepare(path, args.recipients))
    broadcast_id = result["broadcast_id"]
    recorder = Recorder(frozenset(chats(args.recipients)), args.kill_after)
    env = {
        **bot_env(args),
        "JAGA_DB": str(path),
        "JAGA_OUTBOX_MESSAGES_PER_SECOND": f"{args.outbox_rate:g}",
        "JAGA_OUTBOX_LEASE_SECONDS": f"{args.outbox_lease:g}",
    }
    command = [sys.executable, "-m", "jaga", "run"]
    standin = StandIn(args.latency / 1000)
    await standin.start()
    # Long enough for the whole broadcast at half the pace, plus the lease and two start-ups.
    budget = 2 * args.recipients / args.outbox_rate + args.outbox_lease + 60
    first = BotProcess(standin, "broadcast-1", command, env)
    second = BotProcess(standin, "broadcast-2", command, env)
    try:
        spawned = time.monotonic()
        await first.start(TOKEN, out, recorder.attach)
        result["startup_seconds"] = first.startup_seconds
        try:
            await asyncio.wait_for(recorder.reached.wait(), budget)
        except TimeoutError:
            result["error"] = f"fewer than {args.kill_after} deliveries in {budget:.0f} s"
        cpu_first = first.cpu_seconds()
        rss_first = first.peak_rss_mb()
        await first.kill()
        killed = time.monotonic()
        before_kill = list(recorder.deliveries)
        at_kill = database_state(path)
        result["delivered_at_kill"] = len(before_kill)
        result["at_kill"] = {k: v for k, v in at_kill.items() if k != "sending_chats"}
        result["in_flight_at_kill"] = len(at_kill["sending_chats"])
        delivered_before = {s.chat_id for s in before_kill}
        # The sharp bound: rows the stand-in received but the dead process never marked sent.
        result["sent_but_unmarked"] = len(delivered_before & set(at_kill["sending_chats"]))
        result["cpu_ms_per_message"] = cpu_first / len(before_kill) * 1000 if before_kill else 0
        result["peak_rss_mb"] = rss_first

        restarted = time.monotonic()
        await second.start(TOKEN, out, recorder.attach)
        result["restart_startup_seconds"] = second.startup_seconds
        deadline = restarted + budget
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if len({s.chat_id for s in recorder.deliveries}) < args.recipients:
                continue
            # Done: nothing left to send, the broadcast closed and its report sent to the author.
            state = database_state(path)
            done = state["unfinished"] == 0 and state["broadcast_status"] == "done"
            if done and recorder.to_author:
                break
        else:
            result.setdefault("error", f"the restarted bot did not finish in {budget:.0f} s")
        finished = time.monotonic()
        await second.stop()
        after = recorder.deliveries[len(before_kill) :]
        result["final"] = {k: v for k, v in database_state(path).items() if k != "sending_chats"}
    finally:
        for bot in (first, second):  # left running only if something above failed
            if bot.proc is not None and bot.proc.returncode is None:
                await bot.kill()
        await standin.stop()

    counts = Counter(s.chat_id for s in recorder.deliveries)
    wrong = sum(1 for s in recorder.deliveries if s.text != text_for(broadcast_id, s.chat_id))
    result["delivered"] = len(recorder.deliveries)
    result["missed"] = sum(1 for c in chats(args.recipients) if counts[c] == 0)
    result["duplicated_recipients"] = sum(1 for n in counts.values() if n > 1)
    result["extra_deliveries"] = sum(n - 1 for n in counts.values() if n > 1)
    result["wrong_text"] = wrong
    result["author_messages"] = len(recorder.to_author)

    # Pace: each process's deliveries after its warm-up; the second run's stop before the
    # rows of the dead process come back (their lease), which is a wait, not the pace.
    sending_at_kill = set(at_kill["sending_chats"])
    rate1, n1, s1 = steady_rate([s.at for s in before_kill])
    rate2, n2, s2 = steady_rate([s.at for s in after if s.chat_id not in sending_at_kill])
    result["rate_before_kill"] = {"rate": rate1, "messages": n1, "seconds": s1}
    result["rate_after_restart"] = {"rate": rate2, "messages": n2, "seconds": s2}
    result["measured_rate"] = min(rate1, rate2) if n2 > 1 else rate1
    result["seconds_to_kill"] = killed - spawned
    result["resume_seconds"] = after[0].at - restarted if after else float("nan")
    lapsed = [s.at for s in after if s.chat_id in sending_at_kill]
    result["lapsed_resent_after_seconds"] = (min(lapsed) - restarted) if lapsed else float("nan")
    result["restart_to_done_seconds"] = finished - restarted
    result["total_seconds"] = finished - spawned
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The broadcast part's options."""
    p.add_argument("--recipients", type=int, default=10_000, help="broadcast recipients")
    p.add_argument(
        "--outbox-rate", type=float, default=200, help="JAGA_OUTBOX_MESSAGES_PER_SECOND"
    )
    p.add_argument(
        "--outbox-lease",
        type=float,
        default=60,
        help="JAGA_OUTBOX_LEASE_SECONDS (default: the production default)",
    )
    p.add_argument("--kill-after", type=int, default=4_000, help="deliveries before the kill -9")


def main() -> int:
    """`python -m bench.broadcast`: this part alone, its figures as JSON on stdout."""
    import json

    p = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    p.add_argument("--latency", type=float, default=50, help="ms added to every Bot API call")
    p.add_argument("--concurrency", type=int, default=64, help="JAGA_MAX_CONCURRENT_UPDATES")
    p.add_argument(
        "--rate-limit", type=float, default=100_000, help="JAGA_MAX_MESSAGES_PER_SECOND"
    )
    p.add_argument("--out", type=Path, default=Path("bench/out"), help="folder for DB and logs")
    add_arguments(p)
    args = p.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(asyncio.run(run(args, out)), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
