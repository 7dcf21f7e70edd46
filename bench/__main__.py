"""`make bench`: throughput, latency, broadcast and storage figures; see BENCHMARKS.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import broadcast, ocr, registration, report, sheet, whatsapp
from bench import spans as bench_spans
from bench.people import Measured, Pacer, Person, Tally, echo_person, offered_load, run_all
from bench.process import BotProcess, bot_env, python, remove
from bench.scripts import jaga_person, workload_name
from bench.standin import StandIn

OUT = Path("bench/out")


@dataclass
class Phase(Measured):
    """One measured run of people against one bot process."""

    extra: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # Bot API calls made during the run
    window: tuple[float, float] = (0.0, 0.0)  # wall-clock start and end (time.time())

    @property
    def calls_per_update(self) -> float:
        """Bot API calls (getUpdates left out) per answered update."""
        sent = sum(n for method, n in self.calls.items() if method != "getUpdates")
        return sent / self.tally.answered if self.tally.answered else float("nan")


Script = Callable[[Person], Awaitable[None]]


async def run_people(
    standin: StandIn,
    bot: BotProcess,
    name: str,
    count: int,
    first_id: int,
    script: Script,
    rate: float | None,
) -> Phase:
    """Run `count` people through `script` at once and measure the bot meanwhile."""
    assert bot.state is not None
    tally = Tally()
    pacer = Pacer(rate)
    people = [Person(standin, bot.state, first_id + i, tally, pacer) for i in range(count)]
    cpu = bot.cpu_seconds()
    calls = dict(bot.state.calls)
    started, wall = time.monotonic(), time.time()
    await run_all(people, script, tally)
    seconds = time.monotonic() - started
    made = {m: n - calls.get(m, 0) for m, n in bot.state.calls.items() if n > calls.get(m, 0)}
    return Phase(
        name, count, offered_load(rate), seconds, tally, bot.cpu_seconds() - cpu,
        bot.peak_rss_mb(), calls=made, window=(wall, time.time()),
    )  # fmt: skip


async def throughput(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Echo ceiling, registration at saturation, then registration and echo at half of that
    rate, side by side, `--repeat` times (both bots run throughout; only one is offered load)."""
    standin = StandIn(args.latency / 1000)
    await standin.start()
    common = bot_env(args)
    results: dict[str, Any] = {"phases": [], "pairs": []}
    echo_env = {**common, "BENCH_ECHO_CLIENT": args.echo_client}
    try:
        echo = BotProcess(standin, "echo", [sys.executable, "-m", "bench.echo"], echo_env)
        await echo.start("100001:echo", out)
        await run_people(standin, echo, "warm-up", 20, 10, lambda p: echo_person(p, 3), None)
        ceiling = await run_people(
            standin,
            echo,
            "echo ceiling",
            args.workers,
            1_000_000,
            lambda p: echo_person(p, args.echo_messages),
            None,
        )
        results["phases"].append(ceiling)

        spans = out / "spans.json"
        spans.unlink(missing_ok=True)
        wrapped = args.spans or args.bot_client != "aiohttp"
        jaga = BotProcess(
            standin,
            "jaga",
            # With --spans, `jaga run` with timing spans around each update (bench/spans.py).
            # With --bot-client httpx, on python-telegram-bot's default client (before/after).
            [sys.executable, "-m", "bench.spans" if wrapped else "jaga", "run"],
            {
                **common,
                "JAGA_DB": str(out / "throughput.sqlite3"),
                "JAGA_REGION": "12",
                "BENCH_SPANS": str(spans) if args.spans else "",
                "BENCH_BOT_CLIENT": args.bot_client,
            },
        )
        remove(out, "throughput.sqlite3*")
        await jaga.start("100002:jaga", out)
        results["startup_seconds_empty_db"] = jaga.startup_seconds
        await run_people(standin, jaga, "warm-up", 20, 10, jaga_person, None)
        saturated = await run_people(
            standin, jaga, workload_name(), args.workers, 2_000_000, jaga_person, None
        )
        results["phases"].append(saturated)
        half = args.half_rate or saturated.updates_per_second / 2
        # The same offered rate against the bare echo bot beside each registration run: the
        # latency floor of polling through this stand-in, so the registration's own waiting
        # can be told apart from the harness's.
        for run in range(args.repeat):
            suffix = f" (run {run + 1} of {args.repeat})" if args.repeat > 1 else ""
            first = 3_000_000 + run * 100_000
            halfload = await run_people(
                standin,
                jaga,
                f"{workload_name()} at half rate{suffix}",
                args.half_workers,
                first,
                jaga_person,
                half,
            )
            floor = await run_people(
                standin,
                echo,
                f"echo at the same half rate{suffix}",
                args.half_workers,
                first + 50_000,
                lambda p: echo_person(p, args.echo_messages),
                half,
            )
            results["phases"] += [halfload, floor]
            results["pairs"].append((halfload, floor))
        results["registration_sends"] = registration.sends_summary()
        await jaga.stop()
        await echo.stop()
        if spans.exists():
            recorded = json.loads(spans.read_text())
            results["spans"] = [
                (phase.name, bench_spans.summary(recorded, *phase.window))
                for phase in results["phases"][1:]
                if phase.name.startswith(workload_name())
            ]
        results["unexpected_methods"] = sorted(
            {m for s in standin.bots.values() for m in s.unexpected}
        )
    finally:
        await standin.stop()
    return results


async def profile(args: argparse.Namespace, out: Path) -> str:
    """The registration run once more, the bot under pyinstrument; returns its text report."""
    if shutil.which("pyinstrument", path=str(Path(sys.executable).parent)) is None:
        return "pyinstrument is not installed (pip install -e '.[bench]')"
    standin = StandIn(args.latency / 1000)
    await standin.start()
    session = out / "profile.pyisession"
    session.unlink(missing_ok=True)
    try:
        command = [
            sys.executable,
            "-m",
            "pyinstrument",
            "--renderer=session",
            f"--outfile={session}",
            "-m",
            "jaga",
            "run",
        ]
        remove(out, "profile.sqlite3*")
        jaga = BotProcess(
            standin,
            "profile",
            command,
            {**bot_env(args), "JAGA_DB": str(out / "profile.sqlite3")},
        )
        await jaga.start("100003:profile", out)
        await run_people(
            standin, jaga, "profile", args.profile_workers, 4_000_000, jaga_person, None
        )
        await jaga.stop()
    finally:
        await standin.stop()
    if not session.exists():
        return "no profile written"
    # Flat: each function's own time, heaviest first; the tree is in profile.html.
    flat = await python(
        "-m", "pyinstrument", f"--load={session}", "-r", "text", "-p", "flat=true",
        "-p", "processor_options.filter_threshold=0.005",
    )  # fmt: skip
    await python("-m", "pyinstrument", f"--load={session}", "-r", "html", "-o",
                  str(out / "profile.html"))  # fmt: skip
    return flat


async def storage(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Generate (or reuse) the big database, then measure lookups, exports and start-up."""
    path = out / f"storage-{args.rows}.sqlite3"
    result: dict[str, Any] = {"rows": args.rows}
    if not path.exists() or args.fresh:
        remove(out, f"storage-{args.rows}.sqlite3*")
        gen = await python("-m", "bench.storage", "generate", str(path), str(args.rows))
        result["generate_seconds"] = json.loads(gen)["seconds"]
    result.update(
        json.loads(await python("-m", "bench.storage", "measure", str(path), str(args.rows)))
    )
    # Start-up of `jaga run` on the big database, through the stand-in (latency included).
    standin = StandIn(args.latency / 1000)
    await standin.start()
    try:
        jaga = BotProcess(
            standin, "startup", [sys.executable, "-m", "jaga", "run"], {"JAGA_DB": str(path)}
        )
        await jaga.start("100004:startup", out)
        result["startup_seconds"] = jaga.startup_seconds
        result["startup_calls"] = sum(jaga.state.calls.values()) if jaga.state else 0
        result["bot_rss_mb"] = jaga.peak_rss_mb()
        await jaga.stop()
    finally:
        await standin.stop()
    return result


def parser() -> argparse.ArgumentParser:
    """Command-line options; the defaults are what `make bench` runs."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--latency", type=float, default=50, help="ms added to every Bot API call")
    p.add_argument("--workers", type=int, default=500, help="people at once at saturation")
    p.add_argument("--half-workers", type=int, default=100, help="people in the half-rate run")
    p.add_argument("--echo-messages", type=int, default=20, help="messages per echo person")
    p.add_argument("--concurrency", type=int, default=64, help="JAGA_MAX_CONCURRENT_UPDATES")
    p.add_argument(
        "--repeat", type=int, default=3, help="half-rate runs, registration and echo side by side"
    )
    p.add_argument(
        "--bot-client",
        choices=["httpx", "aiohttp"],
        default="aiohttp",
        help="the bot's HTTP client: its own (bot/http.py) or PTB's default, for a before/after",
    )
    p.add_argument(
        "--half-rate",
        type=float,
        default=None,
        help="actions/s offered in the half-load runs (default: half the measured saturation)",
    )
    p.add_argument(
        "--spans", action="store_true", help="time each update's waits in the bot (bench/spans.py)"
    )
    p.add_argument(
        "--echo-client",
        choices=["httpx", "aiohttp"],
        default="aiohttp",
        help="the echo bot's HTTP client: the bot's own (bot/http.py), so that the comparison "
        "is of the bots' own work, or PTB's default (httpx)",
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        default=100_000,
        help="JAGA_MAX_MESSAGES_PER_SECOND for both bots (default: not binding)",
    )
    p.add_argument("--rows", type=int, default=1_000_000, help="stored workers for storage")
    p.add_argument("--fresh", action="store_true", help="regenerate the storage database")
    p.add_argument("--profile-workers", type=int, default=100, help="people in the profile run")
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["storage", "profile", "broadcast", "sheet", "ocr", "whatsapp"],
    )
    p.add_argument(
        "--ocr-photos", type=int, default=200, help="KTP photos per set (clean, degraded)"
    )
    p.add_argument("--out", type=Path, default=OUT / "report.md", help="the Markdown report")
    broadcast.add_arguments(p)
    whatsapp.add_arguments(p)
    return p


async def main(args: argparse.Namespace) -> int:
    """Run every part in turn and write the report."""
    out = args.out.parent.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"bench: throughput ({args.workers} people, {args.latency:.0f} ms)", file=sys.stderr)
    results = await throughput(args, out)
    print(f"bench: messages per registration {results['registration_sends']}", file=sys.stderr)
    if "whatsapp" not in args.skip:
        # The same registration on the WhatsApp channel (bench/whatsapp.py): its rows go into
        # the same table as Telegram's, its figures also to whatsapp.json.
        print(f"bench: WhatsApp registration ({args.wa_people} people)", file=sys.stderr)
        results["whatsapp"] = await whatsapp.run(args, out)
        results["phases"] += results["whatsapp"]["phases"]
        (out / "whatsapp.json").write_text(
            json.dumps(whatsapp.as_json(results["whatsapp"]), indent=2), encoding="utf-8"
        )
    if "broadcast" not in args.skip:
        print(
            f"bench: broadcast ({args.recipients:,} recipients at {args.outbox_rate:g}/s, "
            f"kill -9 after {args.kill_after:,})",
            file=sys.stderr,
        )
        results["broadcast"] = await broadcast.run(args, out)
    if "profile" not in args.skip:
        print("bench: profile", file=sys.stderr)
        results["profile"] = await profile(args, out)
    if "storage" not in args.skip:
        print(f"bench: storage ({args.rows:,} rows)", file=sys.stderr)
        results["storage"] = await storage(args, out)
    if "sheet" not in args.skip:
        # A cadre's 500-row spreadsheet, in its own process (bench/sheet.py).
        print("bench: cadre spreadsheet (500 rows)", file=sys.stderr)
        results["sheet"] = sheet.parse_output(await python("-m", "bench.sheet", "500"))
    if "ocr" not in args.skip:
        # Generated KTP photos read by bot/ktp.py in a child process (bench/ocr.py).
        print(f"bench: KTP photos ({args.ocr_photos} clean + {args.ocr_photos} degraded)",
              file=sys.stderr)  # fmt: skip
        results["ocr"] = await ocr.run(out / "ktp", args.ocr_photos)
    results["total_seconds"] = time.monotonic() - started
    results["machine"] = report.machine()
    results["args"] = vars(args)
    text = report.render(results)
    if "sheet" in results:
        text += sheet.render(results["sheet"])
    if "ocr" in results:
        text = text.rstrip("\n") + "\n" + "\n".join(ocr.render(results["ocr"])) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(
        f"bench: report written to {args.out} ({results['total_seconds']:.0f} s)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parser().parse_args())))
