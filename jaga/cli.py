"""The `jaga` command line: run, console, migrate (and more as the desk grows)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shlex
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import desk_cli, logging_setup
from bot.logging_setup import LogFormat
from bot.settings import Settings, SettingsError, load_settings
from storage.db import DatabaseSettingError

log = logging.getLogger("jaga")


def _configure_logging(level: int, fmt: LogFormat = "kv") -> None:
    # One line per event, NIK and phone masked, tracebacks included (bot/logging_setup.py).
    logging_setup.configure(level, fmt)


# A `.env` line that sets a secret (pydantic-settings reads `.env` in the working folder).
# A secret in .env: the key, the token, the webhook secret, or a database URL with a password.
_ENV_SECRET = re.compile(
    r"^\s*(export\s+)?JAGA_((SECRET_KEY|TELEGRAM_TOKEN|WEBHOOK_SECRET)\s*=\s*\S"
    r"|DB\s*=\s*\S*://[^@/\s]*:[^@/\s]+@)",
    re.M,
)


def _refuse_files_open_to_others(settings: Settings) -> None:
    """SettingsError naming every file with personal data or a secret that others may use.

    Refuses rather than fixing the mode itself: a file open to others may already have been
    read, which the operator must know (SECURITY.md, File permissions).
    """
    from storage.files import database_files, open_to_others

    key_file = settings.data_folder / "secret.key"
    files = database_files(settings.db_path) if settings.db_engine == "sqlite" else []
    holds = {path: "personal data" for path in files}
    holds[key_file] = "the secret key"
    holds[key_file.with_name(key_file.name + ".old")] = "the previous secret key"
    env_file = Path(".env")
    try:
        if _ENV_SECRET.search(env_file.read_text(encoding="utf-8", errors="replace")):
            holds[env_file] = "a secret (the key, the bot token, the webhook secret or a password)"
    except OSError:
        pass  # no .env (or unreadable: pydantic-settings reports that)
    shared = [(path, what, mode) for path, what in holds.items() if (mode := open_to_others(path))]
    if not shared:
        return
    fix = "chmod 600 " + " ".join(shlex.quote(str(path)) for path, _, _ in shared)
    if len(shared) == 1:
        path, what, mode = shared[0]
        raise SettingsError(
            f"{path} holds {what} but other users may read or change it (mode {mode:04o}); "
            f"refusing to start. Make it private with: {fix}"
        )
    names = ", ".join(f"{path} (mode {mode:04o})" for path, _, mode in shared)
    raise SettingsError(
        f"{names} hold personal data or secrets but other users may read or change them; "
        f"refusing to start. Make them private with: {fix}"
    )


def _refuse_unwritable_data_folder(settings: Settings) -> None:
    """SettingsError in one line if this user cannot write the database or its folder.

    The usual cause is a data folder (a container's bind mount on /data) owned by root while
    the bot runs as another user: name it and the chown that fixes it.
    """
    folder = settings.data_folder
    # os.path.exists, not Path.exists: a folder this user may not enter must not raise here.
    nearest = next((p for p in (folder, *folder.parents) if os.path.exists(p)), folder)
    checks = [(nearest, os.W_OK | os.X_OK)]
    if settings.db_engine == "sqlite" and os.path.exists(settings.db_path):
        checks.append((settings.db_path, os.W_OK))
    blocked = [path for path, mode in checks if not os.access(path, mode)]
    if blocked:
        uid, gid = os.getuid(), os.getgid()
        raise SettingsError(
            f"{blocked[0]} is not writable by uid {uid}, the user running the bot; fix it with: "
            f"chown -R {uid}:{gid} {shlex.quote(str(folder))} (for a container's bind mount, "
            "run that on the host, on the folder mounted at /data)"
        )


def _health(settings: Settings, args: argparse.Namespace) -> int:
    """jaga health: 0 if the running bot's /health answers 200 (the container HEALTHCHECK).

    Asks where `jaga run` serves it by the same settings (JAGA_HEALTH_LISTEN/JAGA_HEALTH_PORT);
    a wildcard address is asked on loopback. Never through an HTTP proxy.
    """
    import urllib.error
    import urllib.request

    port = settings.health_port if args.port is None else args.port
    if port == 0:
        print("jaga: /health is off (JAGA_HEALTH_PORT=0)", file=sys.stderr)
        return 1
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(
        settings.health_listen, settings.health_listen
    )
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=args.timeout) as response:
            print(f"{url}: {response.status} {response.read(512).decode(errors='replace')}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"jaga: {url}: {exc.code} {exc.read(512).decode(errors='replace')}", file=sys.stderr)
    except OSError as exc:  # refused, timed out, unreachable
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        print(f"jaga: {url}: no answer ({reason})", file=sys.stderr)
    return 1


def _run(settings: Settings, args: argparse.Namespace) -> int:

    from bot import knowledge, webhook
    from jaga.app import build_application

    hook = None
    if args.webhook:  # checked before anything starts: one clear line if it cannot work
        url = webhook.parse_webhook_url(args.webhook)
        webhook.secret_token(settings)
        hook = webhook.Webhook(url, args.listen, args.port)
    app = build_application(settings)
    _warm_knowledge_while_running(app, knowledge.warm)
    health_listen = settings.health_listen if args.health_listen is None else args.health_listen
    health_port = settings.health_port if args.health_port is None else args.health_port
    webhook.run(app, settings, webhook=hook, health_listen=health_listen, health_port=health_port)
    return 0


def _warm_knowledge_while_running(app: Any, warm: Callable[[], None]) -> None:
    """Train the knowledge bases in a thread once the bot has started (ports bound, database
    open), so the first question is not held up; the stop waits for it to finish."""
    post_init, post_shutdown = app.post_init, app.post_shutdown
    warming = threading.Thread(target=warm, name="knowledge", daemon=True)

    async def start(application: Any) -> None:
        if post_init is not None:
            await post_init(application)
        warming.start()

    async def stop(application: Any) -> None:
        if post_shutdown is not None:
            await post_shutdown(application)
        # Native training code still running while the interpreter tears down can abort the
        # process ("terminate called without an active exception"): let it end first.
        if warming.is_alive():
            await asyncio.to_thread(warming.join, 8)

    app.post_init = start
    app.post_shutdown = stop


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    """jaga backup PATH: an online, checked copy of the database (bot/backup.py)."""
    from pathlib import Path

    from bot.backup import BackupError, backup

    try:
        counts = backup(settings.db_path, Path(args.path))
    except BackupError as exc:
        print(f"jaga: {exc}", file=sys.stderr)
        return 1
    rows = sum(counts.values())
    print(f"{args.path}: {len(counts)} tables, {rows} rows, integrity ok")
    print(
        "The secret key is not in the backup: keep JAGA_SECRET_KEY (or the generated "
        f"{settings.data_folder / 'secret.key'}) safe separately; without it NIK and phone "
        "numbers cannot be read."
    )
    return 0


def _rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    """jaga rotate-key --new-key-file PATH: all personal data under a new key (bot/keys.py)."""
    from pathlib import Path

    from bot.keys import RotationError, install_key_file, read_new_key, rotate

    if settings.db_engine != "sqlite":
        raise SettingsError(
            "jaga rotate-key works on a SQLite file: copy the PostgreSQL database to one "
            "(jaga copy-db), rotate there, and copy it back with --replace (README)"
        )
    from_env = settings.secret_key is not None and bool(settings.secret_key.get_secret_value())
    key_file = settings.data_folder / "secret.key"
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
        done = asyncio.run(rotate(settings.db_path, settings.key, new))
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
    from jaga import console

    return console.main(settings, args.phone, user_id=args.user, name=args.name)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import Database

    async def migrate() -> list[str]:
        db = await Database.open(settings.db)  # opening applies what is missing
        try:
            return await db.applied_migrations()
        finally:
            await db.close()

    names = asyncio.run(migrate())
    last = names[-1] if names else "nothing"
    print(f"{settings.db_display}: schema at {last} ({len(names)} migrations)")
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
    if args.kind == "cadres":  # village cadres by Telegram id or phone (bot/cadre_import.py)
        from bot import desk_cli

        return desk_cli.import_cadres(settings, args.path)

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


def _copy_db(settings: Settings, args: argparse.Namespace) -> int:
    """jaga copy-db FROM TO [--replace]: every table to another database (bot/copy_db.py)."""
    from bot import copy_db

    return copy_db.main(args.source, args.target, replace=args.replace)


def parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = argparse.ArgumentParser(prog="jaga", description="Jaga Pekerja Telegram bot")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot against Telegram (needs JAGA_TELEGRAM_TOKEN)")
    run.add_argument("--webhook", metavar="URL", help="receive updates at this https URL")
    run.add_argument("--listen", default="0.0.0.0", help="webhook server address (0.0.0.0)")
    run.add_argument("--port", type=int, default=8443, help="webhook server port (8443)")
    run.add_argument(
        "--health-listen", help="/health address (JAGA_HEALTH_LISTEN, default 127.0.0.1)"
    )
    run.add_argument(
        "--health-port", type=int, help="/health port; 0: off (JAGA_HEALTH_PORT, default 8080)"
    )
    console = sub.add_parser("console", help="chat with the bot in this terminal, no token")
    console.add_argument("--phone", help="the phone number a share-contact button sends")
    console.add_argument(
        "--user",
        type=int,
        default=None,
        metavar="ID",
        help="play this Telegram id, e.g. one granted a role with jaga grant",
    )
    console.add_argument("--name", help="the Telegram first and last name of --user")
    sub.add_parser("migrate", help="apply database migrations and report the schema version")
    health = sub.add_parser("health", help="exit 0 if the running bot's /health answers 200")
    health.add_argument("--port", type=int, help="ask this port (default: JAGA_HEALTH_PORT)")
    health.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (5)")
    imports = sub.add_parser("import", help="import a BPJS branch extract (CSV or XLSX)")
    imports.add_argument(
        "kind", choices=["members", "claims", "p3ke", "cadres"], help="what the file holds"
    )
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
    copy = sub.add_parser(
        "copy-db", help="copy every table to another database, SQLite or PostgreSQL"
    )
    copy.add_argument("source", metavar="FROM", help="a SQLite file or a postgresql:// URL")
    copy.add_argument("target", metavar="TO", help="a SQLite file or a postgresql:// URL")
    copy.add_argument("--replace", action="store_true", help="overwrite the rows TO holds")
    return p


COMMANDS = {
    "run": _run,
    "console": _console,
    "migrate": _migrate,
    "health": _health,
    "import": _import,
    "backup": _backup,
    "rotate-key": _rotate_key,
    "copy-db": _copy_db,
    **desk_cli.COMMANDS,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `jaga` console script: every file it creates is owner-only."""
    # The database, its -wal/-shm, the key, backups and exports hold personal data: whatever
    # the shell's umask, nothing this process creates is readable by group or others.
    previous = os.umask(0o077)
    try:
        return _main(argv)
    finally:
        os.umask(previous)


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    level = logging.WARNING if args.command == "console" else logging.INFO
    _configure_logging(level)
    try:
        settings = load_settings()
        if settings.log_format != "kv":
            _configure_logging(level, settings.log_format)
        if args.command == "health":  # only asks the running bot: no database, no key
            return _health(settings, args)
        _refuse_unwritable_data_folder(settings)  # before anything stats or opens files there
        _refuse_files_open_to_others(settings)  # every command opens the database or the key
        if args.command == "run":  # a missing token is a one-line error, before anything starts
            if settings.whatsapp_enabled:
                settings.whatsapp_secrets()
            if settings.telegram_token is not None or not settings.whatsapp_enabled:
                settings.token()
        return COMMANDS[args.command](settings, args)
    except (SettingsError, DatabaseSettingError) as exc:
        print(f"jaga: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
