"""KTP photo reading: field accuracy on generated cards, seconds per photo, memory, loop lag.

`python -m bench.ocr run OUTDIR N` (what `make bench` calls through bench/__main__.py) writes N
clean and N degraded cards (tests/ktp_cards.py) plus the bad inputs to OUTDIR, then measures
them in a child process that imports the whole bot (so its RSS is the bot's main process with
the KTP reader in use) and prints JSON. The worker's memory is read from /proc while it runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

TODAY = dt.date(2026, 12, 1)
KINDS = ("clean", "degraded")


def _status_mb(pid: int | str, field: str) -> float:
    """VmRSS or VmHWM of a process in MB, 0 when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def generate(out: Path, count: int) -> None:
    """Write the cards and their truth (truth.json), and the bad inputs."""
    import random

    from tests import ktp_cards

    truth: dict[str, Any] = {}
    for kind in KINDS:
        make = ktp_cards.clean_card if kind == "clean" else ktp_cards.degraded_card
        for i in range(count):
            seed = (1 if kind == "clean" else 2) * 1_000_000 + i
            person, data = make(seed)
            name = f"{kind}-{i:04d}.jpg"
            (out / name).write_bytes(data)
            truth[name] = {
                "kind": kind,
                "nik": person.nik,
                "name": person.name,
                "birth_date": person.birth_date.isoformat(),
                "sex": person.sex,
                "desa_code": person.desa_code,
            }
    bad = {
        "noise.jpg": ktp_cards.noise_image(7),
        "kk.jpg": ktp_cards.kk_card(8),
        "sim.jpg": ktp_cards.sim_card(9),
        "not-an-image.jpg": b"%PDF-1.4\n" + bytes(range(256)) * 100,
        "blob-20mb.jpg": random.Random(10).randbytes(20 * 1024 * 1024),
    }
    for name, data in bad.items():
        (out / name).write_bytes(data)
    (out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")


async def measure(out: Path) -> dict[str, Any]:
    """Read every photo in `out` with bot.ktp, in turn, as the bot would; figures as a dict."""
    import jaga.app  # noqa: F401  (the whole bot is loaded, as in `jaga run`)
    from bot import ktp

    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    base_mb = _status_mb("self", "VmRSS")
    started = time.monotonic()
    await ktp.start()
    load_seconds = time.monotonic() - started
    pid = ktp.worker_pid()
    worker_peak = 0.0
    lag_max = 0.0
    done = False

    async def ticker() -> None:
        """How late a 10 ms timer fires while photos are read: the event loop's lag."""
        nonlocal lag_max
        while not done:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lag_max = max(lag_max, time.monotonic() - before - 0.01)

    tick = asyncio.create_task(ticker())
    seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
    cpu: list[float] = []
    hits: dict[str, dict[str, int]] = {
        kind: {f: 0 for f in ("nik", "name", "birth_date", "sex", "desa", "no_problem")}
        for kind in KINDS
    }
    misses: list[dict[str, Any]] = []
    for name, want in sorted(truth.items()):
        data = (out / name).read_bytes()
        child_cpu = _cpu_of(pid)
        before = time.monotonic()
        reading = await ktp.read_ktp(data, today=TODAY)
        seconds[want["kind"]].append(time.monotonic() - before)
        cpu.append(_cpu_of(pid) - child_cpu)
        worker_peak = max(worker_peak, _status_mb(pid, "VmHWM") if pid else 0.0)
        got = {
            "nik": reading.nik == want["nik"],
            "name": (reading.name or "").casefold() == want["name"].casefold(),
            "birth_date": reading.birth_date is not None
            and reading.birth_date.isoformat() == want["birth_date"],
            "sex": reading.sex == want["sex"],
            "desa": reading.desa_code == want["desa_code"],
            "no_problem": reading.problem is None,
        }
        for field, ok in got.items():
            hits[want["kind"]][field] += ok
        if not all(got.values()) and len(misses) < 30:
            wrong = [f for f, ok in got.items() if not ok]
            read = reading.model_dump(mode="json", exclude={"confidence"})
            misses.append({"file": name, "wrong": wrong, "read": read})
    bad: dict[str, str | None] = {}
    for name in ("noise.jpg", "kk.jpg", "sim.jpg", "not-an-image.jpg", "blob-20mb.jpg"):
        bad[name] = (await ktp.read_ktp((out / name).read_bytes(), today=TODAY)).problem
    done = True
    await tick
    worker_peak = max(worker_peak, _status_mb(pid, "VmHWM") if pid else 0.0)
    await ktp.shutdown()
    return {
        "counts": {kind: len(seconds[kind]) for kind in KINDS},
        "hits": hits,
        "seconds": seconds,
        "worker_cpu_seconds": cpu,
        "load_seconds": load_seconds,
        "main_rss_mb_before": base_mb,
        "main_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_rss_mb": worker_peak,
        "loop_lag_max_ms": lag_max * 1000,
        "bad_inputs": bad,
        "misses": misses,
    }


def _cpu_of(pid: int | None) -> float:
    """User + system CPU seconds a process used so far."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(out: Path, count: int) -> dict[str, Any]:
    """Generate the photos, then measure them in a fresh child process."""
    await asyncio.to_thread(_prepare, out, count)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.ocr", "measure", str(out),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )  # fmt: skip
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.ocr measure exited {proc.returncode}")
    result: dict[str, Any] = json.loads(stdout)
    return result


def _prepare(out: Path, count: int) -> None:
    """Generate the photos unless the folder already holds this many."""
    out.mkdir(parents=True, exist_ok=True)
    truth = out / "truth.json"
    if not truth.exists() or len(json.loads(truth.read_text())) != 2 * count:
        generate(out, count)


def render(r: dict[str, Any]) -> list[str]:
    """The report's section on reading KTP photos."""
    from bench.report import percentile

    lines = ["", "## KTP photos (OCR)", ""]
    lines.append(
        "Generated KTP-like cards (tests/ktp_cards.py): clean = straight and sharp; degraded = "
        "on a table, tilted ±10°, perspective, blur, uneven light, JPEG quality 30–60."
    )
    head = "| set | photos | NIK exact | name exact | birth date | sex | desa matched | no problem"
    lines += ["", head + " | p50 s | p95 s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for kind in KINDS:
        n = r["counts"][kind]
        h = r["hits"][kind]
        secs = r["seconds"][kind]

        def pct(field: str, h: dict[str, int] = h, n: int = n) -> str:
            return f"{100 * h[field] / n:.1f}%" if n else "-"

        lines.append(
            f"| {kind} | {n} | {pct('nik')} | {pct('name')} | {pct('birth_date')} | {pct('sex')} "
            f"| {pct('desa')} | {pct('no_problem')} | {percentile(secs, 0.5):.2f} "
            f"| {percentile(secs, 0.95):.2f} |"
        )
    every = r["seconds"]["clean"] + r["seconds"]["degraded"]
    p95 = percentile(every, 0.95)
    cpu95 = percentile(r["worker_cpu_seconds"], 0.95)
    lines += [
        "",
        f"- Seconds per photo, p95 over both sets: {p95:.2f} s (target ≤ 3 s: "
        f"{'met' if p95 <= 3 else '**missed**'}); worker CPU per photo p95 {cpu95:.2f} s; "
        f"first start of the worker and models {r['load_seconds']:.1f} s.",
        f"- Main process peak RSS {r['main_peak_rss_mb']:.0f} MB (target ≤ 200 MB: "
        f"{'met' if r['main_peak_rss_mb'] <= 200 else '**missed**'}); OCR worker peak RSS "
        f"{r['worker_peak_rss_mb']:.0f} MB (target ≤ 400 MB: "
        f"{'met' if r['worker_peak_rss_mb'] <= 400 else '**missed**'}).",
        f"- Event-loop lag while photos were read: at most {r['loop_lag_max_ms']:.0f} ms.",
        "- Bad inputs: " + ", ".join(f"{k} → {v}" for k, v in r["bad_inputs"].items()) + ".",
    ]
    return lines


def main(argv: list[str]) -> int:
    """`run OUTDIR N`: generate and measure, print the section; `measure OUTDIR`: JSON."""
    if argv[:1] == ["measure"]:
        print(json.dumps(asyncio.run(measure(Path(argv[1])))))
        return 0
    if argv[:1] == ["run"]:
        result = asyncio.run(run(Path(argv[1]), int(argv[2])))
        (Path(argv[1]) / "result.json").write_text(json.dumps(result, indent=1))
        print("\n".join(render(result)))
        return 0
    print("usage: python -m bench.ocr run OUTDIR N | measure OUTDIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
