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


def _floor(phases: list[Any]) -> str:
    """The echo bot's p99 at the same offered rate, when measured."""
    if len(phases) < 4:
        return ""
    p99 = percentile(phases[3].tally.latencies, 0.99) * 1000
    return f" (the bare echo bot at the same rate: {p99:.0f} ms)"


def _client(name: str) -> str:
    return "bot/http.py's AiohttpRequest" if name == "aiohttp" else "PTB's default (httpx)"


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
        f"JAGA_MAX_MESSAGES_PER_SECOND={args['rate_limit']:g}. HTTP client: the bot "
        f"{_client(args.get('bot_client', 'aiohttp'))}, the echo bot "
        f"{_client(args.get('echo_client', 'aiohttp'))}.",
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
    lines += _channels(results, latency_ms)
    lines += _side_by_side(results.get("pairs", []), latency_ms)
    lines += _spans(results.get("spans", []))
    ratio = saturated.updates_per_second / ceiling.updates_per_second
    half_label = "half that throughput"
    if args.get("half_rate"):
        half_label = f"a fixed {args['half_rate']:g} actions/s (--half-rate)"
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
        "## Performance targets",
        "",
        "| figure | target | measured | |",
        "| --- | --- | --- | --- |",
        f"| {saturated.name} throughput, {saturated.people} people | ≥ 50% of the echo ceiling "
        f"| {ratio:.0%} ({saturated.updates_per_second:.0f} of "
        f"{ceiling.updates_per_second:.0f} updates/s) | {_ok(ratio >= 0.5)} |",
        f"| reply latency p99 at {half_label} | ≤ {latency_ms + 40:.0f} ms "
        f"| {p99_half:.0f} ms{_floor(phases)} | {_ok(p99_half <= latency_ms + 40)} |",
        *_side_by_side_targets(results.get("pairs", []), latency_ms, args.get("half_rate")),
        f"| per-user ordering | 0 lost, duplicated, out of order | {faults} "
        f"({unfinished} people unfinished) | {_ok(faults == 0 and unfinished == 0)} |",
    ]
    sends = results.get("registration_sends")
    if sends:
        over = sends["max_sends_over_answers"]
        lines.append(
            f"| messages per completed registration | ≤ answers + 2 | mean "
            f"{sends['mean_sends']:.1f}, max {sends['max_sends']:.0f} (at most {over:.0f} more "
            f"than the answers given, {sends['registrations']:.0f} registrations) "
            f"| {_ok(over <= 2)} |"
        )
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
        ]
    broadcast = results.get("broadcast")
    lines += _broadcast_target(broadcast)
    if storage:
        rows = storage["rows"]
        lines += [
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
    if broadcast:
        lines += _broadcast_section(broadcast)
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


def _cpu_ms(phase: Any) -> float:
    """CPU per answered update, ms."""
    t = phase.tally
    return phase.cpu_seconds / t.answered * 1000 if t.answered else float("nan")


def _ms(phase: Any, fraction: float) -> float:
    return percentile(phase.tally.latencies, fraction) * 1000


def _calls(phase: Any) -> str:
    """Bot API calls per update, and which."""
    made = ", ".join(
        f"{method} {n}" for method, n in sorted(phase.calls.items()) if method != "getUpdates"
    )
    return f"{phase.calls_per_update:.2f} ({made}; getUpdates {phase.calls.get('getUpdates', 0)})"


def _side_by_side(pairs: list[Any], latency_ms: float) -> list[str]:
    """The registration and the bare echo bot at the same offered load, run by run."""
    if not pairs:
        return []
    lines = [
        "",
        "## Side by side with the bare echo bot (same offered load)",
        "",
        "Each run: the registration at half its saturation throughput, then the echo bot offered "
        "the same actions per second; both processes run throughout, only one is offered load.",
        "",
        "| run | bot | p50 ms | p90 ms | p99 ms | CPU ms/update | Bot API calls per update |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for n, (bot, echo) in enumerate(pairs, 1):
        for label, phase in (("registration", bot), ("echo", echo)):
            lines.append(
                f"| {n} | {label} | {_ms(phase, 0.5):.0f} | {_ms(phase, 0.9):.0f} | "
                f"{_ms(phase, 0.99):.0f} | {_cpu_ms(phase):.2f} | {_calls(phase)} |"
            )
        lines.append(
            f"| {n} | ratio | {_ms(bot, 0.5) / _ms(echo, 0.5):.2f}× | "
            f"{_ms(bot, 0.9) / _ms(echo, 0.9):.2f}× | {_ms(bot, 0.99) / _ms(echo, 0.99):.2f}× | "
            f"{_cpu_ms(bot) / _cpu_ms(echo):.2f}× | "
            f"{bot.calls_per_update / echo.calls_per_update:.2f}× |"
        )
    return lines


def _channels(results: dict[str, Any], latency_ms: float) -> list[str]:
    """The registration on Telegram and on WhatsApp (bench/whatsapp.py), side by side."""
    wa = results.get("whatsapp")
    if not wa or not wa["phases"]:
        return []
    phases = results["phases"]
    telegram = [("Telegram", p) for p in phases[1:3]]
    lines = [
        "",
        "## Registration on Telegram and on WhatsApp",
        "",
        "The same scripted registration through each channel of `jaga run`, each bot on a "
        "fresh SQLite database with the same settings; both stand-ins hold every answer "
        f"{latency_ms:.0f} ms. Telegram: updates by long polling, latency to the first answer "
        "(a message or the answerCallbackQuery). WhatsApp (its own bot process, WhatsApp "
        "only): each act a signed webhook POST, latency from the POST to the bot's first "
        "message in answer reaching the Cloud API stand-in; no network to Meta and no delivery "
        f"reports are modelled. WhatsApp started in {wa.get('startup_seconds', 0):.2f} s; "
        f"registrations finished {wa.get('registrations_finished')}, stored by the bot "
        f"{wa.get('registrations_stored')}.",
        "",
        "| channel | run | people | updates/s | p50 ms | p90 ms | p99 ms | CPU ms/update "
        "| finished | lost / duplicated / out of order |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for channel, phase in [*telegram, *(("WhatsApp", p) for p in wa["phases"])]:
        t = phase.tally
        lines.append(
            f"| {channel} | {phase.name} ({phase.offered.split(':')[0]}) | {phase.people} | "
            f"{phase.updates_per_second:.0f} | {_ms(phase, 0.5):.0f} | {_ms(phase, 0.9):.0f} | "
            f"{_ms(phase, 0.99):.0f} | {_cpu_ms(phase):.2f} | {t.finished}/{phase.people} | "
            f"{t.lost} / {t.duplicated} / {t.out_of_order} |"
        )
    return lines


def _spans(spans: list[Any]) -> list[str]:
    """Where the registration's updates spent their time, inside the bot (bench/spans.py)."""
    if not spans:
        return []
    lines = [
        "",
        "## Inside the bot: where an update's time goes (--spans)",
        "",
        "Per update, p50 / p90 / p99 (mean) in ms: wait = admitted until its handlers start; "
        "run = its handlers; db read / db write = awaiting the database (writes include the "
        "write lock's queue and the commit); api = awaiting Bot API calls (concurrent calls "
        "overlap). Calls and writes are counts per update.",
        "",
        "| run | updates | wait | run | db read | reads | db write | writes | api | api calls |",
        "| --- | ---: | --- | --- | --- | ---: | --- | ---: | --- | ---: |",
    ]
    for name, s in spans:
        if not s.get("run"):
            continue

        def cell(key: str, s: dict[str, Any] = s) -> str:
            v = s[key]
            return f"{v['p50']:.1f} / {v['p90']:.1f} / {v['p99']:.1f} ({v['mean']:.1f})"

        lines.append(
            f"| {name} | {s['updates']['n']:.0f} | {cell('wait')} | {cell('run')} | "
            f"{cell('db_read')} | {s['db_reads']['mean']:.2f} | {cell('db_write')} | "
            f"{s['db_writes']['mean']:.2f} | "
            f"{cell('api')} | {s['api_calls']['mean']:.2f} |"
        )
    return lines


def _side_by_side_targets(
    pairs: list[Any], latency_ms: float, fixed_rate: float | None = None
) -> list[str]:
    """Target rows: latency and CPU against the echo bot; p99 at half rate in every run."""
    if not pairs:
        return []
    n = len(pairs)
    p90 = [_ms(bot, 0.9) / _ms(echo, 0.9) for bot, echo in pairs]
    p99 = [_ms(bot, 0.99) / _ms(echo, 0.99) for bot, echo in pairs]
    cpu = [_cpu_ms(bot) / _cpu_ms(echo) for bot, echo in pairs]
    absolute = [_ms(bot, 0.99) for bot, _ in pairs]
    bound = latency_ms + 40
    met = sum(v <= bound for v in absolute)
    where = "half the saturation throughput"
    if fixed_rate:
        where = f"a fixed {fixed_rate:g} actions/s (--half-rate; not half the saturation)"

    def listed(values: list[float], unit: str) -> str:
        return ", ".join(f"{v:.2f}{unit}" if unit == "×" else f"{v:.0f}{unit}" for v in values)

    return [
        f"| reply latency p90 / echo's p90, same load ({n} runs) | ≤ 1.25× | {listed(p90, '×')} "
        f"| {_ok(all(v <= 1.25 for v in p90))} |",
        f"| reply latency p99 / echo's p99, same load ({n} runs) | ≤ 1.25× | {listed(p99, '×')} "
        f"| {_ok(all(v <= 1.25 for v in p99))} |",
        f"| CPU per update / echo's ({n} runs) | ≤ 1.5× | {listed(cpu, '×')} "
        f"| {_ok(all(v <= 1.5 for v in cpu))} |",
        f"| p99 at {where}, {n} consecutive runs | ≤ {bound:.0f} ms in "
        f"{n} of {n} | {listed(absolute, ' ms')} ({met} of {n}) | {_ok(met == n)} |",
    ]


def _broadcast_target(b: dict[str, Any] | None) -> list[str]:
    """The broadcast row of the targets table."""
    if not b:
        return ["| broadcast at a configured pace, kill -9 midway | ≥ 95% of the rate | "
                "not measured (--skip broadcast) | |"]  # fmt: skip
    share = b["measured_rate"] / b["rate"]
    safe = b["missed"] == 0 and b["extra_deliveries"] <= b["in_flight_at_kill"]
    return [
        f"| broadcast to {b['recipients']:,} at {b['rate']:g} msg/s | ≥ 95% of the rate "
        f"| {b['measured_rate']:.1f} msg/s ({share:.1%}) | {_ok(share >= 0.95)} |",
        f"| kill -9 after {b['delivered_at_kill']:,} deliveries, restart | 0 missed, "
        f"duplicates ≤ in flight at the kill | {b['missed']} missed, {b['extra_deliveries']} "
        f"duplicates ≤ {b['in_flight_at_kill']} in flight | {_ok(safe)} |",
    ]


def _broadcast_section(b: dict[str, Any]) -> list[str]:
    """What the broadcast part measured."""
    before, after = b["rate_before_kill"], b["rate_after_restart"]
    final = b["final"]["by_status"]
    lines = [
        "",
        "## Broadcast",
        "",
        f"One broadcast queued to {b['recipients']:,} recipients (one outbox row each, its own "
        f"text) in {b['prepare_seconds']:.1f} s; `jaga run` with "
        f"JAGA_OUTBOX_MESSAGES_PER_SECOND={b['rate']:g} and JAGA_OUTBOX_LEASE_SECONDS="
        f"{b['lease_seconds']:g} (and JAGA_MAX_MESSAGES_PER_SECOND={b['rate_limit']:g}, the "
        "bot-wide limiter the sender also draws from), killed with SIGKILL after "
        f"{b['kill_after']:,} deliveries, then "
        "started again on the same database. Rates leave out each process's first "
        f"{b['warm_up']} deliveries; the second process's also leaves out the rows of the dead "
        "one, which wait for their lease.",
        "",
        "| figure | value |",
        "| --- | ---: |",
        f"| offered rate | {b['rate']:g} msg/s |",
        f"| measured before the kill | {_pace(before, b['rate'])} |",
        f"| measured after the restart | {_pace(after, b['rate'])} |",
        f"| delivered when killed | {b['delivered_at_kill']:,} |",
        f"| in flight at the kill (rows `sending`) | {b['in_flight_at_kill']} |",
        f"| of those, already received by the stand-in | {b['sent_but_unmarked']} |",
        f"| missed | {b['missed']} |",
        f"| duplicates (recipients / extra messages) | {b['duplicated_recipients']} / "
        f"{b['extra_deliveries']} |",
        f"| wrong text | {b['wrong_text']} |",
        f"| restart to first delivery | {b['resume_seconds']:.2f} s (start-up to getUpdates "
        f"{b['restart_startup_seconds']:.2f} s) |",
        f"| restart to the dead process's rows sent again (lease) | "
        f"{b['lapsed_resent_after_seconds']:.1f} s |",
        f"| restart to broadcast done and reported | {b['restart_to_done_seconds']:.1f} s |",
        f"| CPU per message (first process) | {b['cpu_ms_per_message']:.2f} ms |",
        f"| peak RSS (first process) | {b['peak_rss_mb']:.0f} MB |",
        f"| outbox at the end | {', '.join(f'{k} {v:,}' for k, v in sorted(final.items()))}; "
        f"broadcast {b['final']['broadcast_status']}, {b['author_messages']} report(s) to the "
        "author |",
    ]
    if b.get("error"):
        lines += ["", f"**Error**: {b['error']}"]
    return lines


def _pace(part: dict[str, Any], offered: float) -> str:
    return (
        f"{part['rate']:.1f} msg/s ({part['rate'] / offered:.1%}), {part['messages']:,} "
        f"messages in {part['seconds']:.1f} s"
    )


def _spread(phase: Any) -> str:
    values = [v * 1000 for v in phase.tally.latencies]
    if len(values) < 2:
        return "n/a"
    return f"mean {statistics.mean(values):.0f}, max {max(values):.0f}"


def _trim_profile(text: str, limit: int = 80) -> list[str]:
    """The top of pyinstrument's text output."""
    return text.splitlines()[:limit]
