"""The `jaga` command line: run, console, migrate (and more as the desk grows)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("jaga")


def _configure_logging(level: int) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP call would drown everything else.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from telegram import Update

    from bot.app import build_application

    app = build_application(settings)
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def _console(settings: Settings, args: argparse.Namespace) -> int:
    from bot import console

    return console.main(settings, args.phone)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import Database

    async def migrate() -> list[str]:
        db = await Database.open(settings.db)  # opening applies what is missing
        try:
            return await db.applied_migrations()
        finally:
            await db.close()

    names = asyncio.run(migrate())
    print(
        f"{settings.db}: schema at {names[-1] if names else 'nothing'} ({len(names)} migrations)"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = argparse.ArgumentParser(prog="jaga", description="Jaga Pekerja Telegram bot")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot against Telegram (needs JAGA_TELEGRAM_TOKEN)")
    console = sub.add_parser("console", help="chat with the bot in this terminal, no token")
    console.add_argument("--phone", help="the phone number a share-contact button sends")
    sub.add_parser("migrate", help="apply database migrations and report the schema version")
    return p


COMMANDS = {"run": _run, "console": _console, "migrate": _migrate}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `jaga` console script."""
    args = parser().parse_args(argv)
    _configure_logging(logging.WARNING if args.command == "console" else logging.INFO)
    try:
        settings = load_settings()
        if args.command == "run":
            settings.token()  # a missing token is a one-line error, before anything starts
        return COMMANDS[args.command](settings, args)
    except SettingsError as exc:
        print(f"jaga: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
