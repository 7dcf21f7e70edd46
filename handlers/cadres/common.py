"""Helpers several parts of /kader share: region buttons and scope, long lists a page at a
time, the flow's name and the command menu refreshed once someone becomes a cadre."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot import clock, menus
from bot.access import Access, within
from bot.context import JagaContext
from bot.registration import children, region_name
from handlers.common import Button, Keyboard, Turn, columns, say

FLOW = "kader"
_PAGE = 30  # region buttons a page (a kecamatan can have 80 desa)
LIMIT = 600  # characters a message at most: short enough to read slowly


def now_iso() -> str:
    """The current time as stored (UTC, ISO 8601)."""
    return clock.utc_iso(clock.now())


def is_desa(code: str) -> bool:
    """Whether a region code is a desa/kelurahan (four levels: 12.10.19.1001)."""
    return code.count(".") == 3


def region_rows(
    code: str | None,
    roots: tuple[str, ...],
    page: int,
    open_data: Callable[[str], str],
    page_data: Callable[[int], str],
) -> list[list[Button]]:
    """Buttons for the regions under `code` (or the `roots` when None), a page at a time."""
    if code is None:
        options = [(region_name(r), r) for r in roots]
    else:
        options = [(w.name, w.code) for w in children(code)]
    start = page * _PAGE
    shown = options[start : start + _PAGE]
    rows = columns([(name, open_data(c)) for name, c in shown], 2)
    nav: list[Button] = []
    if page > 0:
        nav.append(("«", page_data(page - 1)))
    if start + _PAGE < len(options):
        nav.append(("»", page_data(page + 1)))
    if nav:
        rows.append(nav)
    return rows


def in_scope(access: Access, code: str) -> bool:
    """Whether a reviewer or admin may act for this region."""
    return any(within(code, r) for r in access.review_regions())


@dataclass(frozen=True)
class Page:
    """One page of a long list: its text, its number, how many there are, the lines it shows."""

    text: str
    page: int
    pages: int
    shown: range


def paged(
    head: str, lines: list[str], foot: str, page: int, tr_page: Callable[[int, int], str]
) -> Page:
    """One page of a long list, every message at most 600 characters.

    The first page starts with `head`; each page ends with `foot` and, when there are several,
    `tr_page(page, pages)` (e.g. "Halaman 2 dari 3").
    """
    reserve = len(tr_page(999, 999)) + 2
    budget_first = LIMIT - len(head) - len(foot) - reserve - 2
    budget_rest = LIMIT - len(foot) - reserve - 2
    starts = [0]
    used = 0
    for index, line in enumerate(lines):
        budget = budget_first if len(starts) == 1 else budget_rest
        if index > starts[-1] and used + len(line) + 1 > budget:
            starts.append(index)
            used = 0
        used += len(line) + 1
    page = min(max(page, 0), len(starts) - 1)
    shown = range(starts[page], starts[page + 1] if page + 1 < len(starts) else len(lines))
    parts = ([head] if page == 0 and head else []) + [lines[i] for i in shown]
    if foot:
        parts.append(foot)
    if len(starts) > 1:
        parts.append(tr_page(page + 1, len(starts)))
    return Page("\n".join(parts)[:LIMIT], page, len(starts), shown)


def nav_row(data: str, page: int, pages: int) -> list[Button]:
    """The « and » buttons of a paged list whose callback data starts with `data`."""
    nav: list[Button] = []
    if page > 0:
        nav.append(("«", f"{data} {page - 1}"))
    if page + 1 < pages:
        nav.append(("»", f"{data} {page + 1}"))
    return nav


def page_words(turn: Turn) -> Callable[[int, int], str]:
    """The words under each page of a long list, e.g. "Halaman 2 dari 3"."""
    _ = turn.gettext
    return lambda page, pages: _("Halaman {page} dari {pages}").format(
        page=turn.tr.number(page), pages=turn.tr.number(pages)
    )


async def set_menu(context: JagaContext, telegram_id: int) -> None:
    """Refreshes the command menu of someone who has just become a cadre."""
    await menus.set_menu(
        context.bot, context.db, context.settings, context.services.commands.values(), telegram_id
    )


async def welcome_cadre(
    context: JagaContext,
    turn: Turn,
    name: str,
    desa_codes: Sequence[str],
    keyboard: Keyboard | None = None,
) -> None:
    """Gives a new cadre their menu and says what they can do now."""
    await set_menu(context, turn.id)
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Terima kasih, {name}. Anda sekarang kader Desa {desa}.\n\n"
            "Ketik /daftar untuk mendaftarkan pekerja, dan /kader untuk melihat siapa saja "
            "yang sudah Anda daftarkan."
        ).format(name=name, desa=", ".join(region_name(code) for code in desa_codes)),
        keyboard,
    )
