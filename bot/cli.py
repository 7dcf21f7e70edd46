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


def _rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    """jaga rotate-key --new-key-file PATH: all personal data under a new key (bot/keys.py)."""
    from pathlib import Path

    from bot.keys import RotationError, install_key_file, read_new_key, rotate

    from_env = settings.secret_key is not None and bool(settings.secret_key.get_secret_value())
    key_file = settings.db.parent / "secret.key"
    old_copy = key_file.with_name(key_file.name + ".old")
    try:
        if not from_env and not key_file.exists():
            raise RotationError(
                f"there is no key yet (JAGA_SECRET_KEY unset, no {key_file}): nothing to rotate"
            )
        if not from_env and old_copy.exists():
            raise RotationError(
                f"{old_copy} is still there from an earlier rotation: keep it somewhere safe "
                "if old backups need it, remove it, and run this again"
            )
        new = read_new_key(Path(args.new_key_file), settings.key)
        done = asyncio.run(rotate(settings.db, settings.key, new))
    except RotationError as exc:
        print(f"jaga: {exc}", file=sys.stderr)
        return 1
    for name, count in sorted((done.encrypted + done.hashed).items()):
        print(f"{name}: {count} values")
    if done.flow_states:
        print(f"membership_flow_state.data: {done.flow_states} unfinished steps")
    for name, count in sorted(done.dropped.items()):
        print(f"{name}: {count} rows cleared (their value is stored nowhere in clear)")
    if done.p3ke_deleted:
        print(
            f"P3KE list: {done.p3ke_deleted} NIK hashes deleted (only hashes were stored); "
            "import it again: jaga import p3ke FILE"
        )
    if from_env:
        print(
            f"Done. Now set JAGA_SECRET_KEY to the contents of {args.new_key_file} (the old "
            "value no longer decrypts anything) before starting the bot."
        )
    else:
        try:
            install_key_file(key_file, new)
        except OSError as exc:
            print(
                f"jaga: the database now uses the key in {args.new_key_file}, but writing "
                f"{key_file} failed ({exc.strerror}): copy that file to {key_file} (mode 0600) "
                "before starting the bot",
                file=sys.stderr,
            )
            return 1
        print(
            f"Done. {key_file} holds the new key; the old one is in {old_copy}: delete it once "
            "no backup made before this rotation is needed (they need the old key)."
        )
    print(
        "Backups made before now need the old key. Take a new backup (jaga backup). If "
        "JAGA_WEBHOOK_SECRET is unset the webhook secret changes too; jaga run sets it again."
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

    async def go() -> int:
        source = FileSource(Path(args.path))
        db = await Database.open(settings.db)
        try:
            cipher = FieldCipher(settings.key)
            if args.kind == "members":
                summary = await import_members(
                    db, cipher, source, default_language=settings.language
                )
            else:
                summary = await import_claims(db, cipher, source)
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
    run.add_argument("--health-port", type=int, default=8080, help="/health port; 0: off (8080)")
    console = sub.add_parser("console", help="chat with the bot in this terminal, no token")
    console.add_argument("--phone", help="the phone number a share-contact button sends")
    sub.add_parser("migrate", help="apply database migrations and report the schema version")
    imports = sub.add_parser("import", help="import a BPJS branch extract (CSV or XLSX)")
    imports.add_argument("kind", choices=["members", "claims", "p3ke"], help="what the file holds")
    imports.add_argument("path", help="the .csv or .xlsx file")
    desk_cli.add_arguments(sub)  # grant, program, export: the review desk
    backup = sub.add_parser("backup", help="copy the database while the bot runs (online)")
    backup.add_argument("path", help="the backup file to create (must not exist)")
    rotate = sub.add_parser(
        "rotate-key", help="re-encrypt all personal data under a new key (bot stopped)"
    )
    rotate.add_argument(
        "--new-key-file", required=True, metavar="PATH", help="file holding the new key"
    )
    return p


COMMANDS = {
    "run": _run,
    "console": _console,
    "migrate": _migrate,
    "import": _import,
    "backup": _backup,
    "rotate-key": _rotate_key,
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
