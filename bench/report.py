"""The Markdown report of a bench run."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown CPU"
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "commit": commit or "unknown",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _ok(met: bool) -> str:
    return "met" if met else "**missed**"


def render(results: dict[str, Any]) -> str:
    """The whole report."""
    args = results["args"]
    latency_ms = args["latency"]
    phases = results["phases"]
    ceiling, saturated, half = phases[0], phases[1], phases[2]
    lines = [
        "# Bench report",
        "",
        f"Measured {results['machine']['date']} on {results['machine']['cpu']}, "
        f"{results['machine']['memory']}, {results['machine']['os']}, Python "
        f"{results['machine']['python']}, commit {results['machine']['commit']}; "
        f"{results['total_seconds']:.0f} s in all.",
        "",
        f"Bot API stand-in on 127.0.0.1 holding every answer {latency_ms:.0f} ms; both bots with "
        f"JAGA_MAX_CONCURRENT_UPDATES={args['concurrency']} and "
        f"JAGA_MAX_MESSAGES_PER_SECOND={args['rate_limit']:g}.",
        "",
        "## Throughput and latency",
        "",
        "| run | people | offered load | updates | updates/s | p50 ms | p95 ms | p99 ms | "
        "next prompt p50 / p99 ms | CPU ms/update | peak RSS MB | finished | lost | duplicated "
        "| out of order |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    for phase in phases:
        t = phase.tally
        cpu_ms = phase.cpu_seconds / t.answered * 1000 if t.answered else float("nan")
        lines.append(
            f"| {phase.name} | {phase.people} | {phase.offered} | {t.answered} | "
            f"{phase.updates_per_second:.0f} | {percentile(t.latencies, 0.5) * 1000:.0f} | "
            f"{percentile(t.latencies, 0.95) * 1000:.0f} | "
            f"{percentile(t.latencies, 0.99) * 1000:.0f} | "
            f"{percentile(t.prompt_latencies, 0.5) * 1000:.0f} / "
            f"{percentile(t.prompt_latencies, 0.99) * 1000:.0f} | {cpu_ms:.2f} | "
            f"{phase.peak_rss_mb:.0f} | {t.finished}/{phase.people} | {t.lost} | "
            f"{t.duplicated} | {t.out_of_order} |"
        )
    ratio = saturated.updates_per_second / ceiling.updates_per_second
    p99_half = percentile(half.tally.latencies, 0.99) * 1000
    faults = sum(p.tally.lost + p.tally.duplicated + p.tally.out_of_order for p in phases)
    unfinished = sum(p.people - p.tally.finished for p in phases)
    lines += [
        "",
        "Latency (p50/p95/p99): from the person's update entering the stand-in's getUpdates "
        "queue to the bot's first answer to it reaching the stand-in: a message to the person "
        "or, for a button press, the answerCallbackQuery. Next prompt: to the first message. "
        "Updates/s: answered updates over the run's wall time. CPU: the bot process's user + "
        "system time over the run, divided by its updates.",
        "",
        "## Targets (design.md, Performance targets)",
        "",
        "| figure | target | measured | |",
        "| --- | --- | --- | --- |",
        f"| {saturated.name} throughput, {saturated.people} people | ≥ 50% of the echo ceiling "
        f"| {ratio:.0%} ({saturated.updates_per_second:.0f} of "
        f"{ceiling.updates_per_second:.0f} updates/s) | {_ok(ratio >= 0.5)} |",
        f"| reply latency p99 at half that throughput | ≤ {latency_ms + 40:.0f} ms "
        f"| {p99_half:.0f} ms | {_ok(p99_half <= latency_ms + 40)} |",
        f"| per-user ordering | 0 lost, duplicated, out of order | {faults} "
        f"({unfinished} people unfinished) | {_ok(faults == 0 and unfinished == 0)} |",
    ]
    storage = results.get("storage")
    if storage:
        rows = storage["rows"]
        lines += [
            f"| {rows:,} stored: status lookup p99 ({storage['lookup_path']}) | ≤ 5 ms | "
            f"{storage['lookup_p99_ms']:.2f} ms "
            f"| {_ok(storage['lookup_p99_ms'] <= 5)} |",
            f"| CSV export of {storage['csv_rows']:,} rows ({storage['export_path']}) | ≤ 5 s | "
            f"{storage['csv_seconds']:.1f} s | {_ok(storage['csv_seconds'] <= 5)} |",
            f"| XLSX export of {storage['xlsx_rows']:,} rows ({storage['export_path']}) "
            "| ≤ 30 s | "
            f"{storage['xlsx_seconds']:.1f} s | {_ok(storage['xlsx_seconds'] <= 30)} |",
            f"| start-up of `jaga run` on it (to first getUpdates) | ≤ 2 s | "
            f"{storage['startup_seconds']:.2f} s | {_ok(storage['startup_seconds'] <= 2)} |",
            f"| RSS: bot after start-up / storage work | ≤ 200 MB | {storage['bot_rss_mb']:.0f} "
            f"/ {storage['peak_rss_mb']:.0f} MB "
            f"| {_ok(max(storage['bot_rss_mb'], storage['peak_rss_mb']) <= 200)} |",
            "| broadcast to 10,000 at 200 msg/s | ≥ 95% of rate, kill -9 safe | not measured | "
            "no broadcast sender in this checkout |",
            "",
            "## Storage",
            "",
            f"Generated {rows:,} submitted registrations"
            + (
                f" in {storage['generate_seconds']:.0f} s"
                if "generate_seconds" in storage
                else " (reused from an earlier run)"
            )
            + f"; status lookup p50 {storage['lookup_p50_ms']:.2f} ms; "
            f"open + migrate {storage['open_seconds'] * 1000:.0f} ms.",
            "",
            "Query plans of the hot path:",
            "",
        ]
        lines += [f"- {name}: `{plan}`" for name, plan in storage["plans"].items()]
    lines += ["", "## Errors", ""]
    errors = [e for p in phases for e in p.tally.errors]
    lines += [f"- {e}" for e in errors] or ["none"]
    if results.get("unexpected_methods"):
        lines += ["", f"Methods the stand-in did not know: {results['unexpected_methods']}"]
    profile = results.get("profile")
    if profile:
        lines += ["", "## Profile of the registration run (pyinstrument)", "", "```"]
        lines += _trim_profile(profile)
        lines += ["```"]
    lines += ["", f"Spread of {saturated.name} latencies (ms): " + _spread(saturated), ""]
    return "\n".join(lines)


def _spread(phase: Any) -> str:
    values = [v * 1000 for v in phase.tally.latencies]
    if len(values) < 2:
        return "n/a"
    return f"mean {statistics.mean(values):.0f}, max {max(values):.0f}"


def _trim_profile(text: str, limit: int = 80) -> list[str]:
    """The top of pyinstrument's text output."""
    return text.splitlines()[:limit]
