"""The bot under test in a child process, pointed at the stand-in; shared by the bench parts."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.standin import BotState, StandIn

SECRET = "bench-secret-key-of-enough-length-0123456789"


class ChildProcess:
    """A bot the bench runs in a child process: started with its own settings, measured from
    /proc, stopped as an operator stops it."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.startup_seconds = 0.0

    async def _spawn(
        self, command: Sequence[str], cwd: Path, log: Path, env: dict[str, str]
    ) -> None:
        """Start `command` in `cwd`, its output to `log`, with `env` over this environment
        (whose own JAGA_* settings are left out)."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("JAGA_")}
        environment.update(env)
        out = log.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *command, env=environment, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """The process's peak resident set (VmHWM)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def stop(self) -> int:
        """SIGINT (as Ctrl-C), as run_polling expects; killed if it does not end in 30 s."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode or 0

    async def kill(self) -> None:
        """SIGKILL (kill -9): no shutdown code runs, as when the machine loses the process."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


class BotProcess(ChildProcess):
    """A bot in a child process, pointed at the stand-in by JAGA_TELEGRAM_API_URL."""

    def __init__(self, standin: StandIn, name: str, command: list[str], env: dict[str, str]):
        super().__init__()
        self.standin = standin
        self.name = name
        self.command = command
        self.env = env
        self.state: BotState | None = None

    async def start(
        self,
        token: str,
        workdir: Path,
        on_state: Callable[[BotState], None] | None = None,
    ) -> BotState:
        """Start it and wait until it polls for updates.

        `on_state` sees the token's fresh stand-in state before the process starts, so that
        nothing the bot sends early goes unobserved.
        """
        self.state = self.standin.add_bot(token)
        if on_state is not None:
            on_state(self.state)
        started = time.monotonic()
        await self._spawn(
            self.command,
            workdir,
            workdir / f"{self.name}.log",
            {
                **self.env,
                "JAGA_TELEGRAM_TOKEN": token,
                "JAGA_TELEGRAM_API_URL": self.standin.api_url,
                "JAGA_SECRET_KEY": SECRET,
                "PYTHONPATH": str(Path.cwd()),
            },
        )
        assert self.proc is not None
        while self.state.calls.get("getUpdates", 0) == 0:
            if self.proc.returncode is not None or time.monotonic() - started > 120:
                raise RuntimeError(f"{self.name} did not start: see {workdir / self.name}.log")
            await asyncio.sleep(0.005)
        self.startup_seconds = time.monotonic() - started
        return self.state


def bot_env(args: argparse.Namespace) -> dict[str, str]:
    """The settings both bots run with; the people act with no pause, far faster than anyone
    types, so the per-person flood guard is raised above what they send."""
    return {
        "JAGA_MAX_CONCURRENT_UPDATES": str(args.concurrency),
        "JAGA_MAX_MESSAGES_PER_SECOND": str(args.rate_limit),
        "JAGA_FLOOD_BURST": "1000",
        "JAGA_FLOOD_RATE": "1000",
    }


def remove(folder: Path, pattern: str) -> None:
    """Delete a database left by an earlier run (and its WAL files)."""
    for stale in folder.glob(pattern):
        stale.unlink()


async def python(*argv: str) -> str:
    """Run `python argv…` with the repository on the path; its stdout."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": "."}
    )
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode})")
    return stdout.decode()
