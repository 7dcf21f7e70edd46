"""A cadre's 500-row spreadsheet: checked and answered, while other people are answered too.

`python -m bench.sheet [rows]` prints JSON. The real Application runs in this process on the
recording Bot API stand-in (bot/fakeapi.py) with a fresh database, as in the tests: a cadre
sends a filled template of `rows` valid workers, and meanwhile other people send /bantuan every
50 ms. Measured: the seconds from the document update to the returned file, and the other
people's reply times before (baseline) and during the upload.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lokal import parse_nik
from openpyxl import load_workbook

from bot import cadre_sheet
from bot.fakeapi import RecordingBotApi
from bot.i18n import translator
from bot.settings import Settings
from handlers import cadres
from jaga.app import build_application, running
from jaga.console import UpdateFactory
from storage import roles

CADRE = 5001
DESA = "12.10.19.1001"
OTHERS_EVERY = 0.05  # seconds between other people's messages


def filled_template(rows: int) -> bytes:
    """The template for Sei Berombang with `rows` valid, consenting workers."""
    options = cadre_sheet.desa_options([DESA])
    template = cadre_sheet.build_template(translator("id"), options, DESA)
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook.worksheets[0]
    index = cadre_sheet.INDEX
    for n in range(rows):
        day, month, year = 1 + n % 28, 1 + n % 12, 1970 + n % 30
        nik = f"121019{day:02d}{month:02d}{year % 100:02d}{n + 1:04d}"
        assert parse_nik(nik).valid, nik
        values = {
            "nik": nik,
            "name": f"Pekerja {_letters(n)}",
            "mother_name": "Siti Aminah",
            "phone": f"0812{n:08d}",
            "occupation": ("Nelayan", "Petani", "Pekebun / buruh sawit")[n % 3],
            "income": 1_500_000 + 1000 * n,
            "programs": "JKK + JKM",
            "payer": "Program desa / kabupaten" if n % 2 else "Sendiri",
            "period": 3,
            "heir_name": "Rina Wati",
            "heir_relation": "Suami / istri",
            "consent": "ya",
        }
        for key, value in values.items():
            sheet.cell(row=n + 2, column=index[key] + 1, value=value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _letters(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 26)
        out += "abcdefghijklmnopqrstuvwxyz"[r]
        if n == 0:
            return out.capitalize()


async def run(rows: int = 500, *, warm: bool = True) -> dict[str, Any]:
    """Measure one upload of `rows` rows; other people's replies before and during it.

    `warm`: the cadre downloaded the form first, so the spreadsheet worker process runs already.
    """
    content = filled_template(rows)
    with tempfile.TemporaryDirectory(prefix="jaga-bench-sheet-") as folder:
        values: dict[str, Any] = {
            "db": Path(folder) / "sheet.sqlite3",
            "secret_key": "bench-secret-key-of-enough-length-0123456789",
            "admins": "1",
            "telegram_token": None,
            "flood_burst": 100_000,
        }
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        api = RecordingBotApi()
        app = build_application(settings, request=api)
        async with running(app):
            updates = UpdateFactory(app.bot, api)
            await roles.grant(app.bot_data.db, CADRE, "cadre", DESA, "bench")
            people = iter(range(6000, 100_000))

            async def other() -> float:
                started = time.monotonic()
                await app.process_update(updates.text(next(people), "/bantuan"))
                return time.monotonic() - started

            if warm:  # the cadre downloads the form first (which starts the worker process)
                await app.process_update(updates.press(CADRE, "KDR SHEET"))
                await asyncio.wrap_future(cadres.start_worker())
            for _ in range(5):  # warm up the other people's path
                await other()
            baseline = [await other() for _ in range(40)]
            api.add_file("sheet", content)
            document = {
                "file_id": "sheet",
                "file_unique_id": "usheet",
                "file_name": "formulir.xlsx",
                "mime_type": cadre_sheet.XLSX_MIME,
                "file_size": len(content),
            }
            upload = updates._update(message=updates._message(CADRE, document=document))
            started = time.monotonic()
            await app.process_update(upload)
            task = asyncio.create_task(cadres.settled())  # the file is checked beside the update
            stalls: list[float] = []

            async def ticker() -> None:  # how long the event loop was kept from others
                while not task.done():
                    before = time.monotonic()
                    await asyncio.sleep(0.005)
                    stalls.append(time.monotonic() - before - 0.005)

            ticking = asyncio.create_task(ticker())
            during: list[float] = []
            while not task.done():
                during.append(await other())
                await asyncio.sleep(OTHERS_EVERY)
            await task
            await ticking
            answered = [c for c in api.sent(CADRE) if c.method == "sendDocument"]
            seconds = (answered[-1].at if answered else time.monotonic()) - started
            submitted = await app.bot_data.db.fetchval(
                "SELECT COUNT(*) FROM registrations WHERE status = 'diajukan'"
            )
            caption = answered[-1].text if answered else ""
    return {
        "rows": rows,
        "file_kb": round(len(content) / 1024),
        "seconds": round(seconds, 2),
        "submitted": submitted,
        "caption": caption.split("\n")[0],
        "others_during": len(during),
        "others_baseline_p50_ms": round(statistics.median(baseline) * 1000, 1),
        "others_during_p50_ms": round(statistics.median(during) * 1000, 1) if during else None,
        "others_during_max_ms": round(max(during) * 1000, 1) if during else None,
        "loop_stall_max_ms": round(max(stalls) * 1000, 1) if stalls else None,
    }


def parse_output(stdout: str) -> dict[str, Any]:
    """The result printed by `python -m bench.sheet`."""
    result: dict[str, Any] = json.loads(stdout)
    return result


def render(result: dict[str, Any]) -> str:
    """The section of the Markdown report."""
    delay = result["others_during_max_ms"] - result["others_baseline_p50_ms"]
    return "\n".join(
        [
            "",
            "## Cadre spreadsheet",
            "",
            "| Measure | Target | Result |",
            "|---|---|---|",
            f"| {result['rows']}-row file ({result['file_kb']} kB) checked and answered | "
            f"≤ 10 s | {result['seconds']:.2f} s ({result['submitted']} submitted) |",
            f"| Other people's reply during it: max − baseline p50 | ≤ 200 ms | {delay:.0f} ms "
            f"(p50 {result['others_during_p50_ms']} ms, baseline "
            f"{result['others_baseline_p50_ms']} ms, {result['others_during']} replies) |",
            f"| Longest event-loop stall during it | | {result['loop_stall_max_ms']} ms |",
            "",
        ]
    )


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    result = asyncio.run(run(count, warm="--cold" not in sys.argv))
    result["warm"] = "--cold" not in sys.argv
    print(json.dumps(result))
