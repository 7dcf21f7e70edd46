"""CPU per Bot API call of each HTTP client behind python-telegram-bot: `python -m bench.http`.

The stand-in (bench/standin.py, holding every answer `--latency` ms) runs here; each client runs
in a child process that makes `--calls` sendMessage calls through `telegram.Bot`,
`--concurrency` at a time, and reports its own CPU time. The figure is that CPU time over the
calls: python-telegram-bot's own work (encoding, `Message.de_json`) is in it for every client
alike, so the differences are the clients'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from bench.standin import HOST, StandIn

CLIENTS = ("httpx", "aiohttp")


class KeepAliveClient:
    """Keep-alive HTTP/1.1 JSON POSTs to one local port (lighter than a general HTTP client), as
    Telegram and Meta post webhook deliveries."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def send(self, path: bytes, header: bytes, body: bytes, wait: float) -> int:
        """POST `body` to `path` with one more header line (`Name: value`); the status code (an
        error, or no answer in `wait` seconds, raises)."""
        if self._idle:
            reader, writer = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            writer.write(
                b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"%s\r\nContent-Length: %d\r\n\r\n%s" % (path, header, len(body), body)
            )
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
            }
            if length := int(headers.get("content-length", "0")):
                await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append((reader, writer))
        return status

    def close(self) -> None:
        """Close the idle connections."""
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1 (a child process binds it a moment later)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def _client(
    kind: str, url: str, calls: int, concurrency: int, buttons: int = 0
) -> dict[str, Any]:
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.request import BaseRequest, HTTPXRequest

    from bot.http import AiohttpRequest

    request: BaseRequest
    if kind == "httpx":
        request = HTTPXRequest(connection_pool_size=256)
    elif kind == "aiohttp":
        request = AiohttpRequest(connection_pool_size=256)
    else:  # an experiment: a client importable as module:Class
        module, _, name = kind.partition(":")
        request = getattr(__import__(module, fromlist=[name]), name)()
    bot = Bot("100001:http", base_url=url, request=request)
    left = calls
    # A keyboard like the registration's region lists: labels with spaces, data with dots.
    keyboard = (
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        f"Kecamatan {i} Hulu", callback_data=f"REG desa 12.10.{i:02d}"
                    )
                ]
                for i in range(buttons)
            ]
        )
        if buttons
        else None
    )

    async def worker(n: int) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await bot.send_message(1000 + n, f"pesan {left}", reply_markup=keyboard)

    async with bot:
        await asyncio.gather(*(worker(n) for n in range(concurrency)))  # warm-up: connections
        left = calls
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return {
        "client": kind,
        "calls": calls,
        "buttons": buttons,
        "cpu_ms_per_call": cpu / calls * 1000,
        "wall": wall,
    }


async def run(
    clients: list[str], calls: int, concurrency: int, latency: float, buttons: int = 0
) -> list[Any]:
    """Each client in turn against one stand-in; their figures."""
    standin = StandIn(latency / 1000)
    await standin.start()
    standin.add_bot("100001:http")
    out = []
    path = os.pathsep.join(filter(None, [".", os.environ.get("PYTHONPATH")]))
    try:
        for kind in clients:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.http", "--child", kind, "--url", standin.api_url,
                "--calls", str(calls), "--concurrency", str(concurrency),
                "--buttons", str(buttons),
                stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path},
            )  # fmt: skip
            stdout, _ = await proc.communicate()
            out.append(json.loads(stdout))
    finally:
        await standin.stop()
    return out


def main() -> None:
    """Print one JSON line per client."""
    p = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    p.add_argument("--clients", nargs="+", default=list(CLIENTS))
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency", type=float, default=50, help="ms added to every call")
    p.add_argument(
        "--buttons", type=int, default=0, help="inline buttons on each message (0: none)"
    )
    p.add_argument("--rounds", type=int, default=1, help="each client this many times")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        figures = _client(args.child, args.url, args.calls, args.concurrency, args.buttons)
        print(json.dumps(asyncio.run(figures)))
        return
    order = [kind for _ in range(args.rounds) for kind in args.clients]
    results = run(order, args.calls, args.concurrency, args.latency, args.buttons)
    for result in asyncio.run(results):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
