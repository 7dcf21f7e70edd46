"""`python -m bench.cpu`: CPU per update of the registration load, beside the echo bot.

A short, repeatable measurement of CPU time (not wall time, which other programs on the same
cores disturb far more): one `jaga run` (polling, on SQLite or on a private PostgreSQL), offered
the registration script of the main bench at a fixed rate (open loop), then the echo bot on the
same HTTP client offered the same rate. CPU per update = the process's CPU time over the run
(`/proc`, all its threads) divided by the updates answered. `--profile FILE` runs the bot under
cProfile and writes its statistics there (the profiler's own cost inflates the CPU figures of
that run; compare profiled runs only with profiled runs).

    .venv/bin/python -m bench.cpu --engine sqlite --runs 3
    .venv/bin/python -m bench.cpu --engine postgresql --runs 3 --profile /tmp/pg.prof
    .venv/bin/python -m bench.cpu --baseline /tmp/before   # a copy of the tree before a change

With `--baseline`, both bots run throughout and take turns at the same load, so that a
before/after pair is measured under the same conditions (other programs on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.__main__ import run_people
from bench.people import echo_person
from bench.process import BotProcess, remove
from bench.scripts import jaga_person
from bench.standin import StandIn


def main_thread_seconds(bot: BotProcess) -> float:
    """CPU time of the bot's main thread (the event loop); the rest is its worker threads."""
    assert bot.proc is not None
    pid = bot.proc.pid
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def env(args: argparse.Namespace, db: str) -> dict[str, str]:
    """The main bench's settings (flood guard and overall send limit out of the way)."""
    return {
        "JAGA_DB": db,
        "JAGA_REGION": "12",
        "JAGA_MAX_CONCURRENT_UPDATES": str(args.concurrency),
        "JAGA_MAX_MESSAGES_PER_SECOND": "100000",
        "JAGA_FLOOD_BURST": "1000",
        "JAGA_FLOOD_RATE": "1000",
        "BENCH_ECHO_CLIENT": "aiohttp",
        "JAGA_HEALTH_PORT": "0",  # several bots at once: no /health server each
    }


async def measure(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Warm up, then `--runs` rounds: the registration on each bot (this tree, and the tree
    `--baseline` names, in turns), then the echo bot, all at `--rate` actions/s."""
    pg: Any = None
    if args.engine == "postgresql":
        from bench.scale import PgServer

        pg = PgServer()
        pg.start()
    standin = StandIn(args.latency / 1000)
    await standin.start()
    results: dict[str, Any] = {"engine": args.engine, "rate": args.rate, "runs": []}
    try:
        trees = [("jaga", "")] + ([("base", args.baseline)] if args.baseline else [])
        bots: list[tuple[str, BotProcess]] = []
        for n, (name, tree) in enumerate(trees):
            if pg is not None:
                db = pg.new_database()
            else:
                remove(out, f"cpu-{name}.sqlite3*")
                db = str(out / f"cpu-{name}.sqlite3")
            command = [sys.executable, *(args.bot.split() or ["-m", "jaga"]), "run"]
            if tree:  # the other tree's code first on the path (the child's PYTHONPATH is ours)
                boot = f"import sys, runpy; sys.path.insert(0, {tree!r}); "
                boot += "runpy.run_module('bot', run_name='__main__')"
                command = [sys.executable, "-c", boot, "run"]
            elif args.profile:
                command[1:1] = ["-m", "cProfile", "-o", args.profile]
            bot = BotProcess(standin, f"cpu-{name}", command, env(args, db))
            await bot.start(f"10001{n}:cpu{name}", out)
            await run_people(standin, bot, "warm-up", 10, 100 + 1000 * n, jaga_person, None)
            bots.append((name, bot))
        echo = None
        if not args.no_echo:
            echo = BotProcess(
                standin, "cpu-echo", [sys.executable, "-m", "bench.echo"], env(args, "")
            )
            await echo.start("100006:echo", out)
            await run_people(standin, echo, "warm-up", 10, 10, lambda p: echo_person(p, 3), None)
        for run in range(args.runs):
            row: dict[str, Any] = {"load": os.getloadavg()[0]}
            order = bots[run % len(bots) :] + bots[: run % len(bots)]
            for k, (name, bot) in enumerate(order):
                first = 1_000_000 + run * 100_000 + k * 20_000
                loop_before = main_thread_seconds(bot)
                pg_before = pg.cpu_seconds() if pg is not None else 0.0
                phase = await run_people(
                    standin, bot, "registration", args.people, first, jaga_person, args.rate
                )
                answered = max(1, phase.tally.answered)
                row[f"{name}_updates"] = phase.tally.answered
                row[f"{name}_lost"] = phase.tally.lost
                row[f"{name}_cpu_ms"] = 1000 * phase.cpu_seconds / answered
                row[f"{name}_loop_ms"] = 1000 * (main_thread_seconds(bot) - loop_before) / answered
                if pg is not None:  # the server's CPU (postmaster and backends) meanwhile
                    row[f"{name}_pg_ms"] = 1000 * (pg.cpu_seconds() - pg_before) / answered
            if echo is not None:
                floor = await run_people(
                    standin, echo, "echo", args.people, 1_000_000 + run * 100_000 + 50_000,
                    lambda p: echo_person(p, args.echo_messages), args.rate,
                )  # fmt: skip
                row["echo_cpu_ms"] = 1000 * floor.cpu_seconds / max(1, floor.tally.answered)
                row["ratio"] = row["jaga_cpu_ms"] / row["echo_cpu_ms"]
            results["runs"].append(row)
            print(json.dumps({k: round(v, 3) for k, v in row.items()}), file=sys.stderr)
        for _, bot in bots:
            await bot.stop()
        if echo is not None:
            await echo.stop()
    finally:
        await standin.stop()
        if pg is not None:
            pg.stop()
    return results


def main() -> int:
    """Parse the options, measure, print the figures as JSON."""
    p = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    p.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--people", type=int, default=60, help="people in each run")
    p.add_argument("--rate", type=float, default=80, help="actions/s offered (open loop)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--echo-messages", type=int, default=10, help="messages per echo person")
    p.add_argument("--latency", type=float, default=50, help="ms held per Bot API call")
    p.add_argument("--concurrency", type=int, default=64, help="JAGA_MAX_CONCURRENT_UPDATES")
    p.add_argument("--profile", default="", help="run the bot under cProfile, stats to this file")
    p.add_argument("--bot", default="", help="python arguments that start the bot (-m jaga)")
    p.add_argument(
        "--baseline",
        default="",
        help="a copy of the repository whose bot runs beside this one's (before/after pairs)",
    )
    p.add_argument("--no-echo", action="store_true", help="leave the echo bot out")
    args = p.parse_args()
    if args.profile:
        args.profile = os.path.abspath(args.profile)  # the bot runs in a folder of its own
    out = Path(tempfile.mkdtemp(prefix="jaga-cpu-"))
    results = asyncio.run(measure(args, out))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
