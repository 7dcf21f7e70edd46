"""The long pick lists as button grids: birth years by decade, regions a page at a time."""

from __future__ import annotations

import json
from typing import Any

from bot import clock
from bot.channels import is_whatsapp
from bot.registration import Step, children, kabupaten_choices
from handlers.common import Button, Turn, columns
from handlers.registration.common import reg_data, turn_region
from storage.registrations import Registration

PAGE_SIZE = 10
# On WhatsApp a list holds 10 rows: 7 regions, "previous", "next" and the way up.
WHATSAPP_PAGE_SIZE = 7


def year_rows(turn: Turn, decade: int | None) -> list[list[Button]]:
    """Buttons of the decades, or of one decade's years with a way back to the decades."""
    this_year = clock.today().year
    if decade is None:
        decades = range((this_year - 80) // 10 * 10, this_year - 10, 10)
        buttons = [(f"{d}–{d + 9}", reg_data(Step.BIRTH_YEAR, f"d{d}")) for d in decades]
        return columns(buttons, 3)
    years = [
        (str(y), reg_data(Step.BIRTH_YEAR, str(y)))
        for y in range(decade, min(decade + 10, this_year + 1))
    ]
    return [*columns(years, 5), [(turn.gettext("‹ Kembali"), reg_data(Step.BIRTH_YEAR, "back"))]]


def region_rows(
    turn: Turn, step: Step, options: tuple[Any, ...], page: int, up: bool = False
) -> list[list[Button]]:
    """A page of regions; `up` adds a way out of a list that started at the person's own area."""
    _ = turn.gettext
    size = WHATSAPP_PAGE_SIZE if is_whatsapp(turn.chat_id) else PAGE_SIZE
    start = page * size
    shown = options[start : start + size]
    rows = columns([(w.name, reg_data(step, w.code)) for w in shown], 2)
    nav: list[Button] = []
    if page > 0:
        nav.append((_("‹ Sebelumnya"), reg_data(step, f"p{page - 1}")))
    if start + size < len(options):
        nav.append((_("Berikutnya ›"), reg_data(step, f"p{page + 1}")))
    rows = [*rows, nav] if nav else rows
    if up and step != Step.KABUPATEN:
        label = _("‹ Kecamatan lain") if step == Step.DESA else _("‹ Kabupaten lain")
        rows.append([(label, reg_data(step, "up"))])
    return rows


def region_options(step: Step, r: Registration) -> tuple[Any, ...]:
    """The regions an address question offers: the kabupaten served, or those under the last."""
    scratch = json.loads(r.scratch or "{}")
    if step == Step.KABUPATEN:
        return kabupaten_choices(turn_region(r, scratch))
    if step == Step.KECAMATAN:
        return children(r.kabupaten_code)
    options = children(r.kecamatan_code)
    home = scratch.get("home")
    # A cadre's own desa comes first.
    return tuple(sorted(options, key=lambda w: w.code != home)) if home else options
