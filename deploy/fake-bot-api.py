"""A stand-in Telegram Bot API for `make image-test`: the bot starts and polls with no network.

Standard library only, so the app image's own Python runs it (in a container that shares the
bot's network namespace; both see only loopback). Answers getMe with a bot, getUpdates with no
updates after a short wait, and every other method with `true`; prints each method it is asked.

    python fake-bot-api.py [PORT]      (default 8081; the bot's JAGA_TELEGRAM_API_URL is
                                        http://127.0.0.1:PORT/bot)
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT = {
    "id": 700000001,
    "is_bot": True,
    "first_name": "Jaga Pekerja",
    "username": "JagaPekerjaBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
RESULTS: dict[str, Any] = {
    "getMe": BOT,
    "getMyCommands": [],
    "getWebhookInfo": {"url": "", "has_custom_certificate": False, "pending_update_count": 0},
}
POLL_WAIT = 1.0  # seconds a getUpdates call waits before answering "no updates"


class Handler(BaseHTTPRequestHandler):
    """POST or GET /bot<token>/<method>: `{"ok": true, "result": …}`."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        """Answer one Bot API call."""
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        method = self.path.rstrip("/").rsplit("/", 1)[-1]
        sys.stdout.write(f"fake-bot-api: {method}\n")
        sys.stdout.flush()
        if method == "getUpdates":
            time.sleep(POLL_WAIT)
        body = json.dumps(
            {"ok": True, "result": RESULTS.get(method, [] if method == "getUpdates" else True)}
        )
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)  # a stopping bot gives up its long poll: no one reads

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: do_POST prints the method."""


def main() -> None:
    """Serve on 127.0.0.1 until SIGTERM."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8081
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    sys.stdout.write(f"fake-bot-api: listening on 127.0.0.1:{port}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
