"""What the container image relies on from `jaga`: the health probe and the data-folder check."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jaga.cli import main

NOBODY = 65534


@pytest.fixture
def health_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No .env, no database needed: `jaga health` only asks the running bot."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAGA_DB", str(tmp_path / "never" / "jaga.sqlite3"))
    for name in ("JAGA_HEALTH_LISTEN", "JAGA_HEALTH_PORT"):
        monkeypatch.delenv(name, raising=False)


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def health_server() -> Iterator[int]:
    """A /health answering 200 on 127.0.0.1; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def free_port() -> int:
    """A port nothing listens on, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("restore_logging", "health_env")
def test_health_asks_loopback_for_a_wildcard_address_and_never_a_proxy(
    health_server: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JAGA_HEALTH_LISTEN", "0.0.0.0")
    monkeypatch.setenv("JAGA_HEALTH_PORT", str(health_server))
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")  # a dead proxy
    monkeypatch.setenv("no_proxy", "")
    assert main(["health"]) == 0
    assert capsys.readouterr().out.startswith(f"http://127.0.0.1:{health_server}/health: 200 ")


@pytest.mark.usefixtures("restore_logging", "health_env")
def test_health_port_option_and_an_unanswered_port(
    health_server: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    nothing = free_port()
    monkeypatch.setenv("JAGA_HEALTH_PORT", str(nothing))
    assert main(["health", "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"jaga: http://127.0.0.1:{nothing}/health: no answer")
    assert err.count("\n") == 1
    assert main(["health", "--port", str(health_server)]) == 0


@pytest.mark.usefixtures("restore_logging", "health_env")
def test_health_turned_off_is_unhealthy_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JAGA_HEALTH_PORT", "0")
    assert main(["health"]) == 1
    assert capsys.readouterr().err == "jaga: /health is off (JAGA_HEALTH_PORT=0)\n"


@pytest.fixture
def foreign_folder() -> Iterator[Path]:
    """A data folder that is not the bot's, like a bind mount another user owns (mode 0755)."""
    parent = Path(tempfile.mkdtemp(prefix="jaga-container-"))
    parent.chmod(0o755)
    folder = parent / "data"
    folder.mkdir(mode=0o755)
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
    else:
        folder.chmod(0o555)  # the test user's own, but not writable
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        shutil.rmtree(parent)


def run_jaga(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`jaga ARGV` with its data in `folder`, bound by file permissions even when run as root.

    As root the process loses the capabilities that bypass permission bits (as a container's
    root would without them), so another user's folder is as closed to it as to anyone.
    """
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv (util-linux) to drop root's permission override")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder.parent),
        "JAGA_DB": str(folder / "jaga.sqlite3"),
        "JAGA_SECRET_KEY": "k" * 40,
        "JAGA_TELEGRAM_TOKEN": "123456:TEST",
        # Should `run` get past the check, it must reach nothing beyond loopback.
        "JAGA_TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
        "JAGA_TELEGRAM_FILE_URL": "http://127.0.0.1:9/file/bot",
        "JAGA_HEALTH_PORT": "0",
    }
    code = "from jaga.cli import main; raise SystemExit(main())"
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder.parent,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", [["migrate"], ["run"]])
def test_an_unwritable_data_folder_is_one_line_naming_the_fix(
    foreign_folder: Path, command: list[str]
) -> None:
    done = run_jaga(foreign_folder, *command)
    uid, gid = os.getuid(), os.getgid()
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"jaga: {foreign_folder} is not writable by uid {uid}, the user running the bot; fix it "
        f"with: chown -R {uid}:{gid} {foreign_folder} (for a container's bind mount, run that "
        "on the host, on the folder mounted at /data)\n"
    )
    assert not (foreign_folder / "jaga.sqlite3").exists()


def test_an_unwritable_database_file_is_named(foreign_folder: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the folder is the bot's, the database file another user's")
    os.chown(foreign_folder, 0, 0)
    foreign_folder.chmod(0o700)
    database = foreign_folder / "jaga.sqlite3"
    database.touch(mode=0o600)
    os.chown(database, NOBODY, NOBODY)
    done = run_jaga(foreign_folder, "migrate")
    assert done.returncode == 2
    assert done.stderr.startswith(f"jaga: {database} is not writable by uid 0")
    assert done.stderr.count("\n") == 1
