"""Several `jaga run --webhook` processes on one PostgreSQL database: `python -m bench.scale`.

A private PostgreSQL 16 (the pgserver wheel, default durability: fsync and synchronous_commit
on) is started in a temporary folder. For each configuration a fresh database is made, the
processes are started as in production (`python -m jaga run --webhook … --listen 127.0.0.1
--port P`) against the Bot API stand-in (bench/standin.py), and the bench plays Telegram's side
of the webhook: the `Balancer` posts each update to the processes in turn (round robin), one
person's updates one after the other (as Telegram delivers a chat's updates), different people's
at once (up to 40 connections, Telegram's default). A delivery not answered 200 is retried to the
next live process, as Telegram retries. One process on SQLite takes the same webhook load
(python-telegram-bot's own webhook server) for comparison.

Parts (each can be skipped):
- load: registrations in a closed loop (throughput) then in an open loop at a fixed offered rate
  (reply latency), with 1 process on SQLite and 1, 2 and 4 on PostgreSQL; then 4 processes, one
  killed with SIGKILL midway. CPU time of the bots, of PostgreSQL (the postmaster and every
  backend) and of the bench itself is read from /proc; the database-wide write lock is sampled
  (`pg_locks`) to see how often it is held and how many wait for it.
- broadcast: one broadcast to 10,000 recipients with 4 processes running: the outbox pace is the
  bot's (one bucket in the database), checked over every 10-second window.
- storage: the 1,000,000-row figures (bench/storage.py's database) on PostgreSQL beside SQLite.

The figures go to bench/out/scale/results.json and report.md; BENCHMARKS.md quotes a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench import broadcast
from bench.http import KeepAliveClient, free_port
from bench.people import Pacer, Person, Tally
from bench.process import SECRET, BotProcess, python, remove
from bench.registration import sends_summary
from bench.scripts import jaga_person
from bench.standin import HOST, BotState, StandIn

OUT = Path("bench/out/scale")
TOKEN = "100020:scale"
HOOK_SECRET = "bench-scale-webhook-secret"
HOOK_URL = "https://example.org/hook"
CLK = os.sysconf("SC_CLK_TCK")
# The database-wide write lock of storage/postgres.py, as pg_locks shows a bigint advisory key.
WRITE_LOCK = 0x4A41_4741_0001


# --- measuring ---------------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process, of its children that ended (waited for) and of its live children."""
    fields = _stat(pid)
    total = sum(int(fields[i]) for i in (11, 12, 13, 14))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            child = _stat(int(entry.name))
            if int(child[1]) == pid:
                total += int(child[11]) + int(child[12])
    return total / CLK


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine (every core, every process) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK


def own_cpu_seconds() -> float:
    """CPU of this bench process: stand-in, balancer and simulated people."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def max_window_rate(times: list[float], window: float = 10.0) -> float:
    """The highest count of events in any `window` seconds (start at an event), per second."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best / window


def percentile(values: list[float], q: float) -> float:
    """The q-th quantile (0..1) of `values`, nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class PgServer:
    """A private PostgreSQL 16 from the pgserver wheel, with its default durability."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="jaga-scale-pg-"))
        self.server: Any = None
        self.databases = 0

    def start(self) -> dict[str, str]:
        """Start it; its settings that matter here."""
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="jaga-xdg-"))
        import pgserver

        self.server = pgserver.get_server(  # type: ignore[attr-defined]
            self.folder / "data", cleanup_mode="stop"
        )
        names = ("fsync", "synchronous_commit", "shared_buffers", "max_connections")
        return {name: self.server.psql(f"SHOW {name};").split("\n")[2].strip() for name in names}

    def url(self, name: str) -> str:
        """The URL of database `name` (a Unix socket, no password)."""
        return f"postgresql://postgres@/{name}?host={self.folder / 'data'}"

    def new_database(self) -> str:
        """A new empty database; the bot migrates it when it opens it."""
        self.databases += 1
        name = f"scale_{self.databases}"
        self.server.psql(f"CREATE DATABASE {name};")
        return self.url(name)

    @property
    def pid(self) -> int:
        """The postmaster's pid."""
        return int((self.folder / "data" / "postmaster.pid").read_text().split("\n", 1)[0])

    def cpu_seconds(self) -> float:
        """CPU of the postmaster and every backend, ended or live."""
        return tree_cpu_seconds(self.pid)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.server is not None:
            self.server.cleanup()
            self.server = None
        shutil.rmtree(self.folder, ignore_errors=True)


class LockSampler:
    """Samples the write lock every `interval` s: held or not, and how many backends wait."""

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.url = url
        self.interval = interval
        self.samples = 0
        self.held = 0
        self.waiting = 0
        self._commits = 0
        self.states: Counter[str] = Counter()
        self.queries: Counter[str] = Counter()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and sample in the background."""
        import asyncpg

        conn = await asyncpg.connect(self.url)
        self._commits = await self._committed(conn)
        self._task = asyncio.create_task(self._run(conn))

    @staticmethod
    async def _committed(conn: Any) -> int:
        return int(
            await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        )

    async def _run(self, conn: Any) -> None:
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT l.granted, a.state, left(a.query, 70) AS query "
                    "FROM pg_locks AS l LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.classid = $1::bigint::oid "
                    "AND l.objid = $2::bigint::oid AND l.objsubid = 1 AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())",
                    WRITE_LOCK >> 32,
                    WRITE_LOCK & 0xFFFF_FFFF,
                )
                if self._stopping:
                    self._commits = await self._committed(conn) - self._commits
                    return
                self.samples += 1
                self.waiting += sum(1 for r in rows if not r["granted"])
                for r in rows:
                    if r["granted"]:
                        # 'idle in transaction': the server waits for the bot's next statement.
                        self.held += 1
                        self.states[str(r["state"])] += 1
                        self.queries[str(r["query"])] += 1
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    async def stop(self) -> dict[str, Any]:
        """Stop sampling; the share of samples with the lock held and the mean waiters."""
        self._stopping = True
        if self._task is not None:
            await self._task
        n = max(self.samples, 1)
        return {
            "samples": self.samples,
            "transactions": self._commits,  # committed, reads included (and the sampler's)
            "write_lock_held": self.held / n,
            "write_lock_waiters": self.waiting / n,
            # Of the samples with the lock held: the holder's state, and its statement (the last
            # one it ran when idle in transaction).
            "holder_states": {k: v / n for k, v in self.states.most_common()},
            "holder_queries": {k: v / n for k, v in self.queries.most_common(6)},
        }


# --- the processes and the balancer ------------------------------------------------------------


class HookClient(KeepAliveClient):
    """Keep-alive POSTs of updates to one process's webhook, with Telegram's secret header."""

    async def post(self, body: bytes, wait: float = 10.0) -> int:
        """POST one update; the status code (an error raises)."""
        header = b"X-Telegram-Bot-Api-Secret-Token: " + HOOK_SECRET.encode()
        return await self.send(b"/hook", header, body, wait)


class HookProcess(BotProcess):
    """`jaga run --webhook` in a child process; its updates come from the Balancer."""

    def __init__(self, standin: StandIn, name: str, port: int, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "jaga", "run", "--webhook", HOOK_URL]
        command += ["--listen", HOST, "--port", str(port)]
        super().__init__(standin, name, command, env)
        self.port = port
        self.client = HookClient(port)
        self.alive = True
        self.delivered = 0
        self.cpu_at_kill: float | None = None

    async def spawn(self, state: BotState, workdir: Path) -> None:
        """Start the process (the caller waits for its setWebhook)."""
        self.state = state
        await self._spawn(
            self.command,
            workdir,
            workdir / f"{self.name}.log",
            {
                **self.env,
                "JAGA_TELEGRAM_TOKEN": TOKEN,
                "JAGA_TELEGRAM_API_URL": self.standin.api_url,
                "JAGA_SECRET_KEY": SECRET,
                "JAGA_WEBHOOK_SECRET": HOOK_SECRET,
                "JAGA_HEALTH_PORT": "0",
                "PYTHONPATH": str(Path.cwd()),
            },
        )

    def cpu(self) -> float:
        """CPU so far (or at the kill)."""
        if self.cpu_at_kill is not None:
            return self.cpu_at_kill
        return self.cpu_seconds()


def person_of(update: dict[str, Any]) -> int:
    """The sender of an update (whose updates Telegram delivers one after the other)."""
    for kind in ("message", "callback_query"):
        if kind in update:
            return int(update[kind]["from"]["id"])
    return 0


@dataclass
class Balancer:
    """Telegram's side of the webhook: each update to the next live process, retried if not 200."""

    state: BotState
    targets: list[HookProcess]
    connections: int = 40
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    _turn: int = 0
    _last: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Forward every update the stand-in receives from now on."""
        self._slots = asyncio.Semaphore(self.connections)
        self._loop = asyncio.create_task(self._forward())

    async def stop(self) -> None:
        """Stop forwarding (what is left undelivered stays undelivered)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for task in list(self._tasks):
            task.cancel()
        for target in self.targets:
            target.client.close()

    async def _forward(self) -> None:
        while True:
            await self.state.arrived.wait()
            self.state.arrived.clear()
            while self.state.updates:
                update = self.state.updates.popleft()
                person = person_of(update)
                task = asyncio.create_task(self._deliver(update, self._last.get(person)))
                self._last[person] = task
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: dict[str, Any], before: asyncio.Task[None] | None) -> None:
        if before is not None:
            with contextlib.suppress(BaseException):
                await before  # the person's previous update is acknowledged first
        body = json.dumps(update).encode()
        async with self._slots:
            for attempt in range(1, 100):
                alive = [t for t in self.targets if t.alive]
                target = alive[self._turn % len(alive)]
                self._turn += 1
                try:
                    status = await target.client.post(body)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                    status = 0
                    self.errors[type(exc).__name__] += 1
                if status not in (0, 200):
                    self.errors[f"HTTP {status}"] += 1
                if status == 200:
                    self.delivered += 1
                    target.delivered += 1
                    return
                self.retried += 1
                await asyncio.sleep(min(0.02 * attempt, 0.5))
            self.failed += 1


async def start_processes(
    standin: StandIn, state: BotState, count: int, env: dict[str, str], workdir: Path, tag: str
) -> list[HookProcess]:
    """Start `count` webhook processes at once and wait until each has set the webhook."""
    before = state.calls.get("setWebhook", 0)
    procs = [HookProcess(standin, f"{tag}-{i + 1}", free_port(), env) for i in range(count)]
    for proc in procs:
        await proc.spawn(state, workdir)
    started = time.monotonic()
    while state.calls.get("setWebhook", 0) < before + count:
        dead = [p.name for p in procs if p.proc is not None and p.proc.returncode is not None]
        if dead or time.monotonic() - started > 120:
            raise RuntimeError(f"{dead or tag} did not start: see {workdir}")
        await asyncio.sleep(0.02)
    for proc in procs:  # python-telegram-bot's webhook server may listen after setWebhook
        while True:
            try:
                _, writer = await asyncio.open_connection(HOST, proc.port)
            except OSError:
                if time.monotonic() - started > 120:
                    raise RuntimeError(f"{proc.name} does not listen: see {workdir}") from None
                await asyncio.sleep(0.02)
                continue
            writer.close()
            break
        proc.startup_seconds = time.monotonic() - started
    return procs


def bot_env(args: argparse.Namespace, db: str) -> dict[str, str]:
    """The settings of every bot process (the flood guard and overall send limit out of the way,
    as in the main bench: the simulated people act far faster than anyone types)."""
    return {
        "JAGA_DB": db,
        "JAGA_REGION": "12",
        "JAGA_MAX_CONCURRENT_UPDATES": str(args.concurrency),
        "JAGA_MAX_MESSAGES_PER_SECOND": "100000",
        "JAGA_FLOOD_BURST": "1000",
        "JAGA_FLOOD_RATE": "1000",
        "JAGA_INBOX_LEASE_SECONDS": f"{args.lease:g}",
        "JAGA_HEALTH_PORT": "0",  # several processes on one machine: no /health port each
    }


# --- the registration load ---------------------------------------------------------------------


async def run_people(
    standin: StandIn, state: BotState, count: int, first_id: int, rate: float | None
) -> tuple[Tally, float]:
    """`count` people register at once (paced to `rate` actions/s if given); tally, seconds."""
    tally = Tally()
    pacer = Pacer(rate)
    people = [Person(standin, state, first_id + i, tally, pacer) for i in range(count)]

    async def one(person: Person) -> None:
        try:
            await jaga_person(person)
            tally.finished += 1
        except Exception as exc:  # Lost, or a prompt the script did not expect
            if len(tally.errors) < 5:
                tally.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            person.close()

    started = time.monotonic()
    await asyncio.gather(*(one(p) for p in people))
    return tally, time.monotonic() - started


@dataclass
class Meter:
    """CPU of the bots, PostgreSQL, the bench and the whole machine over one run."""

    procs: list[HookProcess]
    pg: PgServer | None
    start: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        """The counters now."""
        return {
            "bots": sum(p.cpu() for p in self.procs),
            "postgres": self.pg.cpu_seconds() if self.pg is not None else 0.0,
            "bench": own_cpu_seconds(),
            "machine": machine_cpu_seconds(),
        }

    def begin(self) -> None:
        """Start counting."""
        self.start = self.read()

    def end(self) -> dict[str, float]:
        """CPU seconds spent since `begin`, with what other programs on the machine spent."""
        now = self.read()
        spent = {k: now[k] - self.start[k] for k in now}
        spent["others"] = max(
            0.0, spent["machine"] - spent["bots"] - spent["postgres"] - spent["bench"]
        )
        return spent


def summarize(tally: Tally, seconds: float, cpu: dict[str, float]) -> dict[str, Any]:
    """The figures of one measured run."""
    answered = max(tally.answered, 1)
    return {
        "finished": tally.finished,
        "updates": tally.answered,
        "seconds": seconds,
        "updates_per_second": tally.answered / seconds if seconds else 0.0,
        "p50_ms": percentile(tally.latencies, 0.50) * 1000,
        "p95_ms": percentile(tally.latencies, 0.95) * 1000,
        "p99_ms": percentile(tally.latencies, 0.99) * 1000,
        "max_ms": max(tally.latencies, default=0.0) * 1000,
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "out_of_order": tally.out_of_order,
        "errors": tally.errors,
        "cpu_seconds": cpu,
        "cpu_ms_per_update": {k: v / answered * 1000 for k, v in cpu.items()},
        "cores_busy": {k: v / seconds for k, v in cpu.items()} if seconds else {},
    }


async def database_check(db: str) -> dict[str, int]:
    """What the database holds after a run: submitted registrations and unfinished updates."""
    submitted = "SELECT count(*) FROM registrations WHERE status = 'diajukan'"
    if db.startswith("postgresql://"):
        import asyncpg

        conn = await asyncpg.connect(db)
        try:
            return {
                "submitted": int(await conn.fetchval(submitted)),
                "inbox_rows": int(await conn.fetchval("SELECT count(*) FROM inbox")),
                "inbox_not_done": int(
                    await conn.fetchval("SELECT count(*) FROM inbox WHERE done_at IS NULL")
                ),
            }
        finally:
            await conn.close()
    lite = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {"submitted": int(lite.execute(submitted).fetchone()[0])}
    finally:
        lite.close()


async def lost_updates(
    db: str, result: dict[str, Any], procs: list[HookProcess], out: Path
) -> list[dict[str, Any]]:
    """For each person who heard nothing: their last update in the inbox and what became of it
    (a process that took it over skips an update whose write was committed)."""
    import asyncpg

    lost = [
        int(error.split("user ", 1)[1].split(":", 1)[0])
        for phase in ("closed", "open")
        for error in result.get(phase, {}).get("errors", [])
        if error.startswith("Lost: user ")
    ]
    if not lost:
        return []
    logs = "".join((out / f"{p.name}.log").read_text(errors="replace") for p in procs)
    found = []
    conn = await asyncpg.connect(db)
    try:
        for person in lost:
            row = await conn.fetchrow(
                "SELECT update_id, claimed_by, applied_at, done_at FROM inbox WHERE person = $1 "
                "ORDER BY update_id DESC LIMIT 1",
                person,
            )
            if row is None:
                continue
            update = int(row["update_id"])
            found.append(
                {
                    "person": person,
                    "update": update,
                    "applied": row["applied_at"] is not None,
                    "skipped_as_applied": f"event=inbox_skip_applied update={update}\n" in logs,
                    "taken_over": f"event=inbox_takeover update={update} " in logs,
                }
            )
    finally:
        await conn.close()
    return found


async def load_run(
    args: argparse.Namespace,
    pg: PgServer,
    out: Path,
    engine: str,
    processes: int,
    *,
    kill: bool = False,
) -> dict[str, Any]:
    """One configuration: a closed-loop run, then an open-loop run (or the kill run alone)."""
    tag = f"{engine}-{processes}{'-kill' if kill else ''}"
    if engine == "postgresql":
        db = pg.new_database()
    else:
        remove(out, f"{tag}.sqlite3*")
        db = str(out / f"{tag}.sqlite3")
    standin = StandIn(args.latency / 1000)
    await standin.start()
    state = standin.add_bot(TOKEN)
    result: dict[str, Any] = {"engine": engine, "processes": processes, "kill": kill}
    procs: list[HookProcess] = []
    balancer: Balancer | None = None
    try:
        procs = await start_processes(standin, state, processes, bot_env(args, db), out, tag)
        result["startup_seconds"] = max(p.startup_seconds for p in procs)
        balancer = Balancer(state, procs)
        balancer.start()
        await run_people(standin, state, args.warm_up, 10, None)  # connections, caches
        meter = Meter(procs, pg if engine == "postgresql" else None)

        async def measured(name: str, people: int, first_id: int, rate: float | None) -> None:
            sampler = LockSampler(db) if engine == "postgresql" else None
            if sampler is not None:
                await sampler.start()
            meter.begin()
            tally, seconds = await run_people(standin, state, people, first_id, rate)
            figures = summarize(tally, seconds, meter.end())
            if sampler is not None:
                figures.update(await sampler.stop())
                updates = max(tally.answered, 1)
                figures["transactions_per_update"] = figures["transactions"] / updates
                # Time the database-wide write lock is held, per update (sampled share × time).
                figures["write_lock_ms_per_update"] = (
                    figures["write_lock_held"] * seconds * 1000 / updates
                )
            result[name] = figures
            print(f"scale: {tag} {name}: {_line(figures)}", file=sys.stderr)

        if kill:
            victim = procs[-1]
            killer = asyncio.create_task(kill_midway(args, state, victim, balancer, result))
            await measured("closed", args.people, 2_000_000, None)
            await killer
        else:
            await measured("closed", args.people, 2_000_000, None)
            await measured("open", args.open_people, 3_000_000, args.open_rate)
        result["balancer"] = {
            "delivered": balancer.delivered,
            "retried": balancer.retried,
            "failed": balancer.failed,
            "errors": dict(balancer.errors),
            "per_process": [p.delivered for p in procs],
        }
        await balancer.stop()
        balancer = None
        await asyncio.sleep(0.5)
        result["database"] = await database_check(db)
        if engine == "postgresql":
            result["lost_people"] = await lost_updates(db, result, procs, out)
        result["peak_rss_mb"] = max(p.peak_rss_mb() for p in procs if p.alive)
        result["exit_codes"] = [await p.stop() if p.alive else "killed" for p in procs]
        logs = "".join((out / f"{p.name}.log").read_text(errors="replace") for p in procs)
        result["log_events"] = {
            event: logs.count(f"event={event}")
            for event in ("inbox_takeover", "inbox_skip_applied", "inbox_duplicate",
                          "inbox_handle_failed", "leader_acquired")
        }  # fmt: skip
        result["unexpected_methods"] = sorted(set(state.unexpected))
    finally:
        if balancer is not None:
            await balancer.stop()
        for proc in procs:
            if proc.proc is not None and proc.proc.returncode is None:
                await proc.kill()
        await standin.stop()
    return result


async def kill_midway(
    args: argparse.Namespace,
    state: BotState,
    victim: HookProcess,
    balancer: Balancer,
    result: dict[str, Any],
) -> None:
    """SIGKILL `victim` once the balancer has delivered `args.kill_after` updates; then the
    balancer learns it is gone (a load balancer's health check) and sends to the others."""
    while balancer.delivered < args.kill_after:  # noqa: ASYNC110 (a counter, not an event)
        await asyncio.sleep(0.01)
    victim.cpu_at_kill = victim.cpu_seconds()
    assert victim.proc is not None
    victim.proc.send_signal(signal.SIGKILL)
    await victim.proc.wait()
    killed = time.monotonic()
    await asyncio.sleep(args.health_check)
    victim.alive = False
    result["killed"] = {
        "process": victim.name,
        "after_deliveries": balancer.delivered,
        "retried_until_marked_dead": balancer.retried,
        "marked_dead_after_seconds": time.monotonic() - killed,
    }


def _line(f: dict[str, Any]) -> str:
    cpu = f["cpu_ms_per_update"]
    return (
        f"{f['updates']} updates in {f['seconds']:.1f} s = {f['updates_per_second']:.1f}/s, "
        f"p50/p99 {f['p50_ms']:.0f}/{f['p99_ms']:.0f} ms, lost/dup/ooo "
        f"{f['lost']}/{f['duplicated']}/{f['out_of_order']}, CPU ms/update bots "
        f"{cpu['bots']:.1f} pg {cpu['postgres']:.1f} bench {cpu['bench']:.1f} others "
        f"{cpu['others']:.1f}, lock held {f.get('write_lock_held', 0):.0%} "
        f"{f.get('holder_states', '')}"
    )


# --- broadcast ---------------------------------------------------------------------------------


async def broadcast_run(args: argparse.Namespace, pg: PgServer, out: Path) -> dict[str, Any]:
    """One broadcast to `args.recipients` with `args.broadcast_processes` processes running."""
    import asyncpg

    db = pg.new_database()
    result: dict[str, Any] = {
        "recipients": args.recipients,
        "rate": args.outbox_rate,
        "processes": args.broadcast_processes,
    }
    # bench/broadcast.py's preparation: Database.open takes the URL as it takes a path.
    result.update(await broadcast.prepare(cast(Path, db), args.recipients))
    broadcast_id = result["broadcast_id"]
    recorder = broadcast.Recorder(frozenset(broadcast.chats(args.recipients)), args.recipients)
    env = {
        **bot_env(args, db),
        "JAGA_OUTBOX_MESSAGES_PER_SECOND": f"{args.outbox_rate:g}",
    }
    standin = StandIn(args.latency / 1000)
    await standin.start()
    state = standin.add_bot(TOKEN)
    recorder.attach(state)
    procs: list[HookProcess] = []
    meter: Meter | None = None
    budget = 2 * args.recipients / args.outbox_rate + 60
    try:
        procs = await start_processes(
            standin, state, args.broadcast_processes, env, out, "broadcast"
        )
        meter = Meter(procs, pg)
        meter.begin()
        started = time.monotonic()
        conn = await asyncpg.connect(db)
        try:
            while time.monotonic() - started < budget:
                await asyncio.sleep(0.5)
                if len(recorder.deliveries) < args.recipients:
                    continue
                status = await conn.fetchval(
                    "SELECT status FROM broadcasts WHERE id = $1", broadcast_id
                )
                if status == "done" and recorder.to_author:
                    break
            else:
                result["error"] = f"not finished in {budget:.0f} s"
            await asyncio.sleep(2)  # anything sent twice would come now
            result["final_outbox"] = dict(
                await conn.fetch(
                    "SELECT status, count(*) FROM outbox WHERE kind = 'broadcast' GROUP BY status"
                )
            )
        finally:
            await conn.close()
        result["cpu_seconds"] = meter.end()
        logs = "".join((out / f"{p.name}.log").read_text(errors="replace") for p in procs)
        result["leaders"] = logs.count("event=leader_acquired")
        result["exit_codes"] = [await p.stop() for p in procs]
    finally:
        for proc in procs:
            if proc.proc is not None and proc.proc.returncode is None:
                await proc.kill()
        await standin.stop()
    times = [s.at for s in recorder.deliveries]
    counts = Counter(s.chat_id for s in recorder.deliveries)
    result["delivered"] = len(recorder.deliveries)
    result["missed"] = sum(1 for c in broadcast.chats(args.recipients) if counts[c] == 0)
    result["duplicated"] = sum(n - 1 for n in counts.values() if n > 1)
    result["wrong_text"] = sum(
        1 for s in recorder.deliveries if s.text != broadcast.text_for(broadcast_id, s.chat_id)
    )
    result["max_10s_rate"] = max_window_rate(times, 10.0)
    result["max_1s_rate"] = max_window_rate(times, 1.0)
    rate, n, seconds = broadcast.steady_rate(times)
    result["steady_rate"] = {"rate": rate, "messages": n, "seconds": seconds}
    result["seconds"] = (times[-1] - times[0]) if times else 0.0
    print(f"scale: broadcast {json.dumps(result, default=str)}", file=sys.stderr)
    return result


# --- storage -----------------------------------------------------------------------------------


async def storage_run(args: argparse.Namespace, pg: PgServer, out: Path) -> dict[str, Any]:
    """The 1M-row figures on SQLite (bench/storage.py's file) and the same rows on PostgreSQL."""
    # bench/storage.py's database, which `make bench` generated just before (else made here).
    path = (args.storage_db or out.parent / f"storage-{args.rows}.sqlite3").resolve()
    base = path.parent
    result: dict[str, Any] = {"rows": args.rows}
    if not path.exists():
        remove(base, path.name + "*")
        print(f"scale: generating {path}", file=sys.stderr)
        gen = await python("-m", "bench.storage", "generate", str(path), str(args.rows))
        result["sqlite_generate_seconds"] = json.loads(gen)["seconds"]
    db = pg.new_database()
    print("scale: storage: COPY into PostgreSQL", file=sys.stderr)
    result["postgresql_load"] = json.loads(
        await python("-m", "bench.pgstorage", "load", str(path), db)
    )
    print("scale: storage: measure PostgreSQL", file=sys.stderr)
    result["postgresql"] = json.loads(
        await python("-m", "bench.pgstorage", "measure", db, str(args.rows), str(out))
    )
    print("scale: storage: measure SQLite", file=sys.stderr)
    result["sqlite"] = json.loads(
        await python("-m", "bench.storage", "measure", str(path), str(args.rows))
    )
    return result


# --- report ------------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    lines = ["# Several processes on PostgreSQL", ""]
    runs = results.get("load", [])
    if runs:
        lines += [
            "| run | phase | updates | updates/s | p50 / p95 / p99 ms | lost / dup / out of order"
            " | CPU ms/update: bots / PostgreSQL / bench / others | cores busy: bots / PG |"
            " write lock held / waiters / ms per update / transactions per update |",
            "| --- | --- | ---: | ---: | --- | --- | --- | --- | --- |",
        ]
        for run in runs:
            name = f"{run['processes']} × {run['engine']}" + (
                " (kill -9 one)" if run["kill"] else ""
            )
            for phase in ("closed", "open"):
                f = run.get(phase)
                if f is None:
                    continue
                cpu, busy = f["cpu_ms_per_update"], f["cores_busy"]
                lock = (
                    f"{f['write_lock_held']:.0%} / {f['write_lock_waiters']:.1f} / "
                    f"{f['write_lock_ms_per_update']:.1f} / {f['transactions_per_update']:.1f}"
                    if "write_lock_held" in f
                    else "–"
                )
                lines.append(
                    f"| {name} | {phase} | {f['updates']:,} | {f['updates_per_second']:.1f} | "
                    f"{f['p50_ms']:.0f} / {f['p95_ms']:.0f} / {f['p99_ms']:.0f} | "
                    f"{f['lost']} / {f['duplicated']} / {f['out_of_order']} | "
                    f"{cpu['bots']:.1f} / {cpu['postgres']:.1f} / {cpu['bench']:.1f} / "
                    f"{cpu['others']:.1f} | {busy['bots']:.2f} / {busy['postgres']:.2f} | {lock} |"
                )
        lines.append("")
        for run in runs:
            lines.append(
                f"- {run['processes']} × {run['engine']}{' (kill)' if run['kill'] else ''}: "
                f"balancer {run.get('balancer')}, database {run.get('database')}, "
                f"events {run.get('log_events')}, killed {run.get('killed', '-')}, "
                f"exit {run.get('exit_codes')}, lost people {run.get('lost_people', [])}"
            )
        lines.append("")
    if "broadcast" in results:
        b = results["broadcast"]
        lines += [
            f"Broadcast: {b['recipients']:,} recipients at {b['rate']:g}/s with "
            f"{b['processes']} processes: delivered {b['delivered']:,}, missed {b['missed']}, "
            f"duplicated {b['duplicated']}, wrong text {b['wrong_text']}; highest 10-s window "
            f"{b['max_10s_rate']:.1f}/s ({b['max_10s_rate'] / b['rate']:.3f} × configured), "
            f"highest 1-s window {b['max_1s_rate']:.0f}/s, steady "
            f"{b['steady_rate']['rate']:.1f}/s; leaders {b.get('leaders')}.",
            "",
        ]
    if "storage" in results:
        s = results["storage"]
        lines += [
            "| engine | rows | /status p50 / p99 ms | CSV s (rows) | XLSX s (rows) "
            "| peak RSS MB |",
            "| --- | ---: | --- | --- | --- | ---: |",
        ]
        for engine in ("sqlite", "postgresql"):
            m = s[engine]
            lines.append(
                f"| {engine} | {s['rows']:,} | "
                f"{m['lookup_p50_ms']:.2f} / {m['lookup_p99_ms']:.2f} "
                f"| {m['csv_seconds']:.1f} ({m['csv_rows']:,}) | {m['xlsx_seconds']:.1f} "
                f"({m['xlsx_rows']:,}) | {m['peak_rss_mb']:.0f} |"
            )
        lines += [
            "",
            f"PostgreSQL load: {s['postgresql_load']}; plans: {s['postgresql']['plans']}",
            "",
        ]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    """Command-line options; the defaults are what `make bench` runs."""
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    p.add_argument("--latency", type=float, default=50, help="ms added to every Bot API call")
    p.add_argument("--people", type=int, default=150, help="people at once, closed loop")
    p.add_argument("--open-people", type=int, default=60, help="people in the open-loop run")
    p.add_argument("--open-rate", type=float, default=50, help="actions/s in the open-loop run")
    p.add_argument("--warm-up", type=int, default=10, help="people before each measured run")
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4], help="PostgreSQL runs")
    p.add_argument("--concurrency", type=int, default=64, help="JAGA_MAX_CONCURRENT_UPDATES")
    p.add_argument("--lease", type=float, default=10, help="JAGA_INBOX_LEASE_SECONDS")
    p.add_argument("--kill-after", type=int, default=1500, help="deliveries before the kill -9")
    p.add_argument(
        "--health-check", type=float, default=1.0, help="s until the balancer drops a dead one"
    )
    p.add_argument("--recipients", type=int, default=10_000, help="broadcast recipients")
    p.add_argument(
        "--outbox-rate", type=float, default=200, help="JAGA_OUTBOX_MESSAGES_PER_SECOND"
    )
    p.add_argument("--broadcast-processes", type=int, default=4)
    p.add_argument("--rows", type=int, default=1_000_000, help="stored workers for storage")
    p.add_argument(
        "--storage-db", type=Path, help="the SQLite file of bench/storage.py (default: beside out)"
    )
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["sqlite", "load", "kill", "broadcast", "storage"],
    )
    p.add_argument("--out", type=Path, default=OUT, help="folder for logs, databases, results")
    return p


async def main(args: argparse.Namespace) -> int:
    """Every part in turn; results.json and report.md in the output folder."""
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    pg = PgServer()
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    try:
        results["postgres_settings"] = pg.start()
        results["load"] = []
        if "sqlite" not in args.skip:
            results["load"].append(await load_run(args, pg, out, "sqlite", 1))
        if "load" not in args.skip:
            for n in args.processes:
                results["load"].append(await load_run(args, pg, out, "postgresql", n))
        if "kill" not in args.skip:
            results["load"].append(await load_run(args, pg, out, "postgresql", 4, kill=True))
        results["registration_sends"] = sends_summary()
        if "broadcast" not in args.skip:
            results["broadcast"] = await broadcast_run(args, pg, out)
        if "storage" not in args.skip:
            results["storage"] = await storage_run(args, pg, out)
    finally:
        pg.stop()
    results["total_seconds"] = time.monotonic() - started
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    text = render(results)
    (out / "report.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"scale: {out / 'report.md'} ({results['total_seconds']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parser().parse_args())))
