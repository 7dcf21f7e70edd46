"""The `jaga` command line: run, console, migrate (and more as the desk grows)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot import desk_cli, logging_setup
from bot.logging_setup import LogFormat
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("jaga")


def _configure_logging(level: int, fmt: LogFormat = "kv") -> None:
    # One line per event, NIK and phone masked, tracebacks included (bot/logging_setup.py).
    logging_setup.configure(level, fmt)


def _run(settings: Settings, args: argparse.Namespace) -> int:

    from bot import webhook
    from bot.app import build_application

    hook = None
    if args.webhook:  # checked before anything starts: one clear line if it cannot work
        url = webhook.parse_webhook_url(args.webhook)
        webhook.secret_token(settings)
        hook = webhook.Webhook(url, args.listen, args.port)
    app = build_application(settings)
    webhook.run(
        app, settings, webhook=hook, health_listen=args.health_listen, health_port=args.health_port
    )
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    """jaga backup PATH: an online, checked copy of the database (bot/backup.py)."""
    from pathlib import Path

    from bot.backup import BackupError, backup

    try:
        counts = backup(settings.db, Path(args.path))
    except BackupError as exc:
        print(f"jaga: {exc}", file=sys.stderr)
        return 1
    rows = sum(counts.values())
    print(f"{args.path}: {len(counts)} tables, {rows} rows, integrity ok")
    print(
        "The secret key is not in the backup: keep JAGA_SECRET_KEY (or the generated "
        f"{settings.db.parent / 'secret.key'}) safe separately; without it NIK and phone "
        "numbers cannot be read."
    )
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


def _import(settings: Settings, args: argparse.Namespace) -> int:
    """jaga import members|claims PATH: all rows or none; bad rows reported by line number."""
    from pathlib import Path

    from bot.crypto import FieldCipher
    from bot.membership import FileSource, ImportFailed, import_claims, import_members
    from storage.db import Database

    if args.kind == "p3ke":  # the review desk's decile list (bot/desk_cli.py)
        from bot import desk_cli

        return desk_cli.import_p3ke(settings, args.path)
    run = import_members if args.kind == "members" else import_claims

    async def go() -> int:
        source = FileSource(Path(args.path))
        db = await Database.open(settings.db)
        try:
            summary = await run(db, FieldCipher(settings.key), source)
        except ImportFailed as exc:
            print(f"jaga: {args.path}: {exc}", file=sys.stderr)
            for error in exc.errors:
                print(f"jaga: {args.path}: {error}", file=sys.stderr)
            return 1
        finally:
            await db.close()
        print(
            f"{args.path}: {summary.rows} {args.kind} rows, {summary.changed} new or changed, "
            f"{summary.unchanged} unchanged"
            + (
                f", {len(summary.registered)} registrations now terdaftar"
                if args.kind == "members"
                else ""
            )
        )
        return 0

    return asyncio.run(go())


def parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = argparse.ArgumentParser(prog="jaga", description="Jaga Pekerja Telegram bot")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot against Telegram (needs JAGA_TELEGRAM_TOKEN)")
    run.add_argument("--webhook", metavar="URL", help="receive updates at this https URL")
    run.add_argument("--listen", default="0.0.0.0", help="webhook server address (0.0.0.0)")
    run.add_argument("--port", type=int, default=8443, help="webhook server port (8443)")
    run.add_argument("--health-listen", default="127.0.0.1", help="/health address (127.0.0.1)")
    run.add_argument("--health-port", type=int, default=8081, help="/health port; 0: off (8081)")
    console = sub.add_parser("console", help="chat with the bot in this terminal, no token")
    console.add_argument("--phone", help="the phone number a share-contact button sends")
    sub.add_parser("migrate", help="apply database migrations and report the schema version")
    imports = sub.add_parser("import", help="import a BPJS branch extract (CSV or XLSX)")
    imports.add_argument("kind", choices=["members", "claims", "p3ke"], help="what the file holds")
    imports.add_argument("path", help="the .csv or .xlsx file")
    desk_cli.add_arguments(sub)  # grant, program, export: the review desk
    backup = sub.add_parser("backup", help="copy the database while the bot runs (online)")
    backup.add_argument("path", help="the backup file to create (must not exist)")
    return p


COMMANDS = {
    "run": _run,
    "console": _console,
    "migrate": _migrate,
    "import": _import,
    "backup": _backup,
    **desk_cli.COMMANDS,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `jaga` console script."""
    args = parser().parse_args(argv)
    level = logging.WARNING if args.command == "console" else logging.INFO
    _configure_logging(level)
    try:
        settings = load_settings()
        if settings.log_format != "kv":
            _configure_logging(level, settings.log_format)
        if args.command == "run":
            settings.token()  # a missing token is a one-line error, before anything starts
        return COMMANDS[args.command](settings, args)
    except SettingsError as exc:
        print(f"jaga: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
