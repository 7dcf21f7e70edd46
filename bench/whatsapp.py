"""Registration on WhatsApp: `jaga run` with only the WhatsApp channel, driven through its webhook.

Run alone as `python -m bench.whatsapp` (prints its figures, writes bench/out/whatsapp.json), or
as one phase of `python -m bench`, where its rows sit next to the Telegram registration's.

- **Cloud API stand-in** (`CloudStandIn`): an HTTP/1.1 server on asyncio streams, 127.0.0.1 only.
  It takes `POST /{phone_number_id}/messages` with the Bearer token, records every payload with
  the instant it arrived and tells the recipient's simulated person at once, then holds its answer
  (a message id) `latency` seconds, as the Telegram stand-in (bench/standin.py) holds every Bot
  API answer. There is no network to Meta and no delivery reports (statuses) are posted back.
- **The bot**: `python -m jaga run` in a child process with JAGA_WHATSAPP_* set and no Telegram
  token (WhatsApp only), SQLite in a temporary folder, the webhook on a free local port.
- **People**: each has a distinct wa_id (62812000xxxxx). Every act is a webhook delivery as Meta
  posts it (`handlers/whatsapp/standin.delivery`), signed with the app secret
  (X-Hub-Signature-256), on a keep-alive connection. A person reads each message the bot sends
  them, presses buttons and list rows by the id read from the last interactive message (turning a
  long list's pages as a person would), types the rest, and goes from /daftar to the reference
  number; then sends /bantuan /start /bantuan /start at once: the answers must come back one
  each, in that order.
- **Latency**: from just before the signed POST of an act to the first message the bot sends the
  person in answer reaching the stand-in. Updates/s: answered acts over the run's wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.http import KeepAliveClient, free_port
from bench.people import PATIENCE, Lost, Measured, Pacer, Reader, Tally, offered_load, run_all
from bench.process import SECRET, ChildProcess
from bench.registration import KABUPATEN, MAX_TURNS, Identity
from bench.report import percentile
from bench.scripts import ordered_burst
from bench.standin import LoopbackServer
from bot.registration import children
from handlers.whatsapp import render
from handlers.whatsapp.standin import button_reply, delivery, list_reply, text_message
from handlers.whatsapp.webhook import signature

HOST = "127.0.0.1"
TOKEN = "bench-whatsapp-token"
NUMBER_ID = "100200300"
APP_SECRET = "bench-whatsapp-app-secret"
VERIFY_TOKEN = "bench-whatsapp-verify"
FIRST_WA_ID = 6_281_200_000_000  # wa_ids 62812000xxxxx, one per person
OWN_PHONE_LABEL = "Kirim nomor HP saya"  # the choice that shares the WhatsApp number itself
OUT = Path("bench/out")
ROOT = Path(__file__).resolve().parent.parent  # the repository: the bot's import path

Payload = dict[str, Any]


# --- what reached the stand-in -------------------------------------------------------------------


@dataclass
class Received:
    """One message the bot sent, as it reached the stand-in."""

    at: float  # time.monotonic() on arrival
    payload: Payload

    @property
    def text(self) -> str:
        """What the person reads."""
        kind = self.payload.get("type")
        if kind == "text":
            return str(self.payload["text"]["body"])
        if kind == "interactive":
            return str(self.payload["interactive"].get("body", {}).get("text", ""))
        if kind == "template":
            components = self.payload["template"].get("components") or []
            return " ".join(p["text"] for c in components for p in c.get("parameters", []))
        return ""

    @property
    def options(self) -> list[tuple[str, str]]:
        """(id, full label) of every button or list row, page rows included."""
        interactive = self.payload.get("interactive") or {}
        if interactive.get("type") == "button":
            buttons = interactive["action"]["buttons"]
            return [(b["reply"]["id"], b["reply"]["title"]) for b in buttons]
        out = []
        for section in interactive.get("action", {}).get("sections", []):
            for row in section["rows"]:
                title, description = row["title"], row.get("description")
                full = description if title.endswith(render.ELLIPSIS) and description else title
                out.append((row["id"], full))
        return out

    @property
    def choices(self) -> list[tuple[str, str]]:
        """The options that are answers (page rows left out)."""
        return [(i, label) for i, label in self.options if render.page_of(i) is None]

    @property
    def labels(self) -> list[str]:
        """The answers' labels."""
        return [label for _, label in self.choices]

    @property
    def is_list(self) -> bool:
        """Whether the options are list rows (else reply buttons)."""
        return bool((self.payload.get("interactive") or {}).get("type") == "list")

    def next_page(self) -> tuple[str, str] | None:
        """The row that shows the list's next page (WhatsApp's paging), else the flow's own
        "next" choice (the kecamatan and desa lists page themselves), if any."""
        ids = [i for i, _ in self.options]
        previous = render.page_of(ids[0]) if ids else None
        shown = 0 if previous is None else previous + 1
        for i, label in self.options:
            page = render.page_of(i)
            if page is not None and page > shown:
                return i, label
        for i, label in self.choices:
            if "›" in label and "‹" not in label:
                return i, label
        return None


Listener = Callable[[Received], None]


class CloudStandIn(LoopbackServer):
    """The Cloud API's messages endpoint on 127.0.0.1: records, timestamps, tells, answers."""

    def __init__(self, latency: float, token: str = TOKEN, number_id: str = NUMBER_ID) -> None:
        super().__init__()
        self.latency = latency
        self.token = token
        self.number_id = number_id
        self.listeners: dict[str, Listener] = {}
        self.received: list[tuple[str, Received]] = []  # (recipient, message), every one
        self.refused = 0
        self._ids = itertools.count(1)

    @property
    def api_url(self) -> str:
        """What JAGA_WHATSAPP_API_URL points at."""
        return f"http://{HOST}:{self.port}"

    async def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        arrived = time.monotonic()
        if headers.get("authorization") != f"Bearer {self.token}":
            self.refused += 1
            return 401, _error(190, "Error validating access token")
        if method != "POST" or path != f"/{self.number_id}/messages":
            self.refused += 1
            return 400, _error(100, "Unsupported request")
        payload = json.loads(body)
        to = str(payload.get("to", ""))
        message = Received(arrived, payload)
        self.received.append((to, message))
        listener = self.listeners.get(to)
        if listener is not None:
            listener(message)
        await asyncio.sleep(self.latency)
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": f"wamid.bench.{next(self._ids)}"}],
        }
        return 200, json.dumps(answer).encode()


def _error(code: int, message: str) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": "OAuthException", "code": code}}
    ).encode()


# --- the webhook side ----------------------------------------------------------------------------


class WebhookClient(KeepAliveClient):
    """Signed keep-alive POSTs to the bot's /whatsapp."""

    async def post(self, body: Payload) -> int:
        """Deliver one webhook body as Meta does, signed; the status code."""
        raw = json.dumps(body).encode()
        header = b"X-Hub-Signature-256: " + signature(APP_SECRET, raw).encode()
        return await self.send(b"/whatsapp", header, raw, PATIENCE)


class WhatsAppBot(ChildProcess):
    """`python -m jaga run` with only the WhatsApp channel, in a child process."""

    def __init__(
        self,
        standin: CloudStandIn,
        folder: Path,
        env: dict[str, str],
        command: tuple[str, ...] = ("-m", "jaga", "run"),  # e.g. under a profiler
    ) -> None:
        super().__init__()
        self.standin = standin
        self.command = command
        self.folder = folder
        self.env = env
        self.port = free_port()

    @property
    def database(self) -> Path:
        """The bot's SQLite file."""
        return self.folder / "whatsapp.sqlite3"

    @property
    def log(self) -> Path:
        """The bot's log file."""
        return self.folder / "whatsapp.log"

    async def start(self) -> None:
        """Start it and wait until its webhook answers Meta's verification."""
        started = time.monotonic()
        await self._spawn(
            (sys.executable, *self.command),
            self.folder,
            self.log,
            {
                **self.env,
                "JAGA_WHATSAPP_TOKEN": self.standin.token,
                "JAGA_WHATSAPP_PHONE_NUMBER_ID": self.standin.number_id,
                "JAGA_WHATSAPP_APP_SECRET": APP_SECRET,
                "JAGA_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
                "JAGA_WHATSAPP_API_URL": self.standin.api_url,
                "JAGA_WHATSAPP_LISTEN": HOST,
                "JAGA_WHATSAPP_PORT": str(self.port),
                "JAGA_HEALTH_PORT": "0",
                "JAGA_DB": str(self.database),
                "JAGA_SECRET_KEY": SECRET,
                "JAGA_REGION": "12",
                "PYTHONPATH": str(ROOT),
            },
        )
        assert self.proc is not None
        while not await self._verified():
            if self.proc.returncode is not None or time.monotonic() - started > 120:
                raise RuntimeError(f"the WhatsApp bot did not start: see {self.log}")
            await asyncio.sleep(0.01)
        self.startup_seconds = time.monotonic() - started

    async def _verified(self) -> bool:
        query = f"hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=ready"
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError:
            return False
        try:
            writer.write(f"GET /whatsapp?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            return head.startswith(b"HTTP/1.1 200")
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            return False
        finally:
            writer.close()


# --- people -------------------------------------------------------------------------------------


class WaPerson(Reader[Received]):
    """One WhatsApp user: acts through the webhook, then reads until the answer it needs."""

    def __init__(
        self, standin: CloudStandIn, client: WebhookClient, number: int, tally: Tally, pacer: Pacer
    ) -> None:
        super().__init__(tally, pacer)
        self.standin = standin
        self.client = client
        self.wa_id = str(FIRST_WA_ID + number)
        self.name = f"Pekerja {number}"
        standin.listeners[self.wa_id] = self.inbox.put_nowait

    @property
    def who(self) -> str:
        """The person, as error reports name them."""
        return self.wa_id

    def close(self) -> None:
        """Stop listening."""
        self.standin.listeners.pop(self.wa_id, None)

    def offers(self, message: Received) -> bool:
        """Whether the message has buttons or list rows."""
        return bool(message.options)

    async def _deliver(self, message: Payload) -> None:
        status = await self.client.post(delivery([message], names={self.wa_id: self.name}))
        if status != 200:
            raise Lost(f"{self.wa_id}: the webhook answered {status}")

    async def _send_text(self, text: str) -> None:
        await self._deliver(text_message(self.wa_id, text))

    async def _reply(self, prompt: Received, choice_id: str, title: str) -> None:
        make = list_reply if prompt.is_list else button_reply
        await self._act(lambda: self._deliver(make(self.wa_id, choice_id, title)))

    async def press(self, label: str) -> None:
        """Press the button or list row with this label (case aside), turning pages to it."""
        for _ in range(20):
            prompt = self.last_prompt
            if prompt is None:
                raise Lost(f"{self.wa_id}: no choices to press {label!r} on")
            for choice_id, title in prompt.choices:
                if title.casefold() == label.casefold():
                    await self._reply(prompt, choice_id, title)
                    return
            page = prompt.next_page()
            if page is None:
                raise Lost(f"{self.wa_id}: no choice {label!r} on {self.seen_texts()}")
            await self._reply(prompt, *page)
            await self.until(lambda m: bool(m.options))
        raise Lost(f"{self.wa_id}: {label!r} not found on any page")


Action = Callable[[], Awaitable[None]]
KECAMATAN_NAMES = {w.code: w.name for w in children(KABUPATEN)}


def decide(person: WaPerson, me: Identity, m: Received) -> Action | None:
    """What a person does on reading `m`, or None if it asks nothing of them (as
    bench/registration.py's `decide`, with choices pressed by id)."""
    text = m.text.lower()
    labels = m.labels

    def press(label: str) -> Action:
        return lambda: person.press(label)

    def say(answer: str) -> Action:
        return lambda: person.say(answer)

    for label in ("Setuju", "Kirim", "Diri saya sendiri", "Mulai dari awal"):
        if label in labels:
            return press(label)
    if "Benar" in labels and "Salah" in labels:
        return press("Benar")
    if OWN_PHONE_LABEL in labels:
        return press(OWN_PHONE_LABEL)
    if "ketik nik" in text:  # its one choice offers a KTP photo instead
        return say(me.nik_as_typed)
    if not labels and "nama lengkap" in text:
        return say(me.name)
    if not labels and "ibu kandung" in text:
        return say(me.mother)
    if "pilih kecamatan" in text and labels:
        return press(KECAMATAN_NAMES[me.kecamatan])
    if "pilih desa" in text and labels:
        return press(labels[0])
    if "kabupaten/kota" in text and labels:
        return say("labuhanbatu")  # typed: quicker than paging through the list
    if "Nelayan" in labels:
        return press("Nelayan")
    if "pilih program" in text and labels:
        return press(labels[0])
    if "berapa kira-kira penghasilan" in text and labels:
        return say("1,5 juta") if me.types_income else press(labels[0])
    if "berapa bulan" in text and labels:
        return press(labels[0])
    if "Saya sendiri" in labels:
        return press("Saya sendiri")
    if "Lewati" in labels and "ahli waris" in text:
        return say(me.heir)
    if "Anak" in labels:
        return press("Anak")
    return None


def _done(m: Received) -> bool:
    return "nomor pendaftaran" in m.text.lower()


async def register(person: WaPerson) -> None:
    """From /daftar to the reference number, as a worker registering themself."""
    me = Identity.new()
    await person.say("/daftar")
    for _ in range(MAX_TURNS):
        message = await person.until(lambda m: _done(m) or decide(person, me, m) is not None)
        if _done(message):
            return
        action = decide(person, me, message)
        assert action is not None
        await action()
    raise Lost(f"{person.wa_id}: no reference number after {MAX_TURNS} answers")


async def whatsapp_person(person: WaPerson) -> None:
    """A full registration, then the ordered burst."""
    await register(person)
    await ordered_burst(person)


# --- phases -------------------------------------------------------------------------------------


@dataclass
class WaPhase(Measured):
    """One measured run of WhatsApp people against the bot (its updates are the answered acts)."""

    messages: int  # Cloud API messages the bot sent during the run
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The figures, for JSON and the report."""
        t = self.tally

        def ms(values: list[float], fraction: float) -> float:
            return round(percentile(values, fraction) * 1000, 1)

        return {
            "name": self.name,
            "people": self.people,
            "offered": self.offered,
            "seconds": round(self.seconds, 2),
            "updates": t.answered,
            "updates_per_second": round(self.updates_per_second, 1),
            "p50_ms": ms(t.latencies, 0.5),
            "p90_ms": ms(t.latencies, 0.9),
            "p95_ms": ms(t.latencies, 0.95),
            "p99_ms": ms(t.latencies, 0.99),
            "cpu_ms_per_update": round(self.cpu_seconds / t.answered * 1000, 2)
            if t.answered
            else None,
            "messages_per_update": round(self.messages / t.answered, 2) if t.answered else None,
            "peak_rss_mb": round(self.peak_rss_mb),
            "finished": t.finished,
            "lost": t.lost,
            "duplicated": t.duplicated,
            "out_of_order": t.out_of_order,
            "errors": t.errors,
        }


Script = Callable[[WaPerson], Awaitable[None]]


async def run_people(
    standin: CloudStandIn,
    bot: WhatsAppBot,
    client: WebhookClient,
    name: str,
    count: int,
    first: int,
    rate: float | None,
    script: Script = whatsapp_person,
) -> WaPhase:
    """Run `count` people through `script` at once and measure the bot meanwhile."""
    tally = Tally()
    pacer = Pacer(rate)
    people = [WaPerson(standin, client, first + i, tally, pacer) for i in range(count)]
    cpu, sent = bot.cpu_seconds(), len(standin.received)
    started = time.monotonic()
    await run_all(people, script, tally)
    seconds = time.monotonic() - started
    return WaPhase(
        name, count, offered_load(rate), seconds, tally, bot.cpu_seconds() - cpu,
        bot.peak_rss_mb(), len(standin.received) - sent,
    )  # fmt: skip


def bot_env(args: argparse.Namespace) -> dict[str, str]:
    """The settings the Telegram registration runs with (bench/process.py), for WhatsApp."""
    return {
        "JAGA_MAX_CONCURRENT_UPDATES": str(args.concurrency),
        "JAGA_MAX_MESSAGES_PER_SECOND": str(args.rate_limit),
        "JAGA_FLOOD_BURST": "1000",
        "JAGA_FLOOD_RATE": "1000",
    }


async def run(args: argparse.Namespace, log_folder: Path | None = None) -> dict[str, Any]:
    """Warm-up, registration at saturation, then at half that rate; the phases and figures."""
    standin = CloudStandIn(args.latency / 1000)
    await standin.start()
    result: dict[str, Any] = {"latency_ms": args.latency, "phases": []}
    with tempfile.TemporaryDirectory(prefix="jaga-bench-whatsapp-") as folder:
        command = tuple(os.environ.get("JAGA_BENCH_BOT_COMMAND", "-m jaga run").split())
        bot = WhatsAppBot(standin, Path(folder), bot_env(args), command)
        client: WebhookClient | None = None
        try:
            await bot.start()
            result["startup_seconds"] = round(bot.startup_seconds, 2)
            client = WebhookClient(bot.port)
            warmup = await run_people(
                standin, bot, client, "WhatsApp warm-up", args.wa_warmup, 0, None
            )
            saturated = await run_people(
                standin, bot, client, "WhatsApp registration", args.wa_people, 10_000, None
            )
            half = args.wa_half_rate or saturated.updates_per_second / 2
            halfload = await run_people(
                standin,
                bot,
                client,
                "WhatsApp registration at half rate",
                args.wa_half_people,
                20_000,
                half,
            )
            result["phases"] = [saturated, halfload]
            result["refused_by_standin"] = standin.refused
            result["registrations_finished"] = sum(
                p.tally.finished for p in (warmup, saturated, halfload)
            )
        finally:
            if client is not None:
                client.close()
            if bot.proc is not None:
                result["exit_code"] = await bot.stop()
            await standin.stop()
            if bot.database.exists():
                result["registrations_stored"] = submitted(bot.database)
            if log_folder is not None:
                keep_log(bot.log, log_folder)
    return result


def keep_log(log: Path, folder: Path) -> None:
    """Copy the bot's log out of its temporary folder."""
    if log.exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "whatsapp.log").write_bytes(log.read_bytes())


def submitted(database: Path) -> int:
    """Registrations sent in for review, as the bot stored them (read after it stopped)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT count(*) FROM registrations WHERE status = 'diajukan'")
        return int(row.fetchone()[0])


def as_json(result: dict[str, Any]) -> dict[str, Any]:
    """The result with each phase as its figures."""
    return {**result, "phases": [phase.summary() for phase in result["phases"]]}


def render_table(result: dict[str, Any]) -> list[str]:
    """The phases as Markdown table rows (the columns of `python -m bench.whatsapp`)."""
    lines = [
        "| run | people | offered load | updates | updates/s | p50 ms | p90 ms | p99 ms | "
        "CPU ms/update | messages/update | finished | lost | duplicated | out of order |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    for phase in result["phases"]:
        s = phase.summary()
        lines.append(
            f"| {s['name']} | {s['people']} | {s['offered']} | {s['updates']} | "
            f"{s['updates_per_second']:.0f} | {s['p50_ms']:.0f} | {s['p90_ms']:.0f} | "
            f"{s['p99_ms']:.0f} | {s['cpu_ms_per_update']} | {s['messages_per_update']} | "
            f"{s['finished']}/{s['people']} | {s['lost']} | {s['duplicated']} | "
            f"{s['out_of_order']} |"
        )
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The WhatsApp phase's options (also offered by `python -m bench`)."""
    p.add_argument("--wa-people", type=int, default=150, help="WhatsApp people at saturation")
    p.add_argument(
        "--wa-half-people", type=int, default=60, help="WhatsApp people in the half-rate run"
    )
    p.add_argument("--wa-warmup", type=int, default=10, help="WhatsApp people warming up")
    p.add_argument(
        "--wa-half-rate",
        type=float,
        default=None,
        help="actions/s in the WhatsApp half-rate run (default: half its measured saturation)",
    )


def parser() -> argparse.ArgumentParser:
    """Command-line options of `python -m bench.whatsapp`."""
    p = argparse.ArgumentParser(prog="python -m bench.whatsapp", description=__doc__)
    p.add_argument("--latency", type=float, default=50, help="ms the stand-in holds each answer")
    p.add_argument("--concurrency", type=int, default=64, help="JAGA_MAX_CONCURRENT_UPDATES")
    p.add_argument(
        "--rate-limit", type=float, default=100_000, help="JAGA_MAX_MESSAGES_PER_SECOND"
    )
    p.add_argument("--out", type=Path, default=OUT / "whatsapp.json", help="the figures as JSON")
    add_arguments(p)
    return p


async def main(args: argparse.Namespace) -> int:
    """Run the phase, print its table, write its JSON."""
    started = time.monotonic()
    result = await run(args, args.out.parent)
    result["total_seconds"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(as_json(result), indent=2), encoding="utf-8")
    print("\n".join(render_table(result)))
    print(
        f"\nstart-up {result['startup_seconds']} s; registrations finished "
        f"{result.get('registrations_finished')}, stored {result.get('registrations_stored')}; "
        f"{result['total_seconds']} s in all; figures in {args.out}"
    )
    for phase in result["phases"]:
        for error in phase.tally.errors:
            print(f"error: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parser().parse_args())))
