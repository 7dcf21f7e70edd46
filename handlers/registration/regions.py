"""The address: kabupaten, kecamatan and desa, pressed from a page of buttons or typed."""

from __future__ import annotations

from typing import Any

from bot.access import access_of, within
from bot.context import JagaContext
from bot.registration import Step, normalise, region_query, search_regions
from handlers.common import Turn, inline, say
from handlers.registration.asking import ask_current
from handlers.registration.common import TextAnswer, reg_data, scratch_with
from handlers.registration.flow import advance, again, stale
from handlers.registration.pickers import region_options
from storage import registrations


async def _region_choice(context: JagaContext, turn: Turn, r: dict[str, Any], value: str) -> None:
    step = Step(r["step"])
    if value.startswith("p") and value[1:].isdigit():
        await registrations.update(
            context.db, r["id"], scratch=scratch_with(r, page=int(value[1:]))
        )
        await ask_current(context, turn)
        return
    if value == "up" and step != Step.KABUPATEN:
        # Out of a list that started at the person's own area, to the one above it.
        up = Step.KECAMATAN if step == Step.DESA else Step.KABUPATEN
        # The kecamatan list keeps its own way up, to another kabupaten.
        home = r["kabupaten_code"] if up == Step.KECAMATAN else None
        await registrations.update(
            context.db, r["id"], step=up, scratch=scratch_with(r, page=None, home=home)
        )
        await ask_current(context, turn)
        return
    options = region_options(step, r)
    if value not in {w.code for w in options}:
        await stale(context, turn)
        return
    note = await _outside_note(context, turn, r, value) if step == Step.DESA else None
    fields: dict[str, Any] = {"scratch": scratch_with(r, page=None)}
    if step == Step.KABUPATEN:
        fields.update(kabupaten_code=value, kecamatan_code=None, desa_code=None)
    elif step == Step.KECAMATAN:
        fields.update(kecamatan_code=value, desa_code=None)
    else:
        fields.update(desa_code=value)
    await advance(context, turn, r, step, note=note, **fields)


async def _outside_note(
    context: JagaContext, turn: Turn, r: dict[str, Any], desa: str
) -> str | None:
    """A one-line warning when a cadre registers someone outside their own desa (allowed)."""
    if r["for_self"]:
        return None
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_cadre or any(within(desa, own) for own in access.cadre_regions):
        return None
    return turn.gettext(
        "Catatan: desa ini di luar desa tugas Anda sebagai kader. Pendaftaran tetap bisa "
        "dilanjutkan."
    )


async def _region_text(context: JagaContext, turn: Turn, r: dict[str, Any], text: str) -> None:
    _ = turn.gettext
    step = Step(r["step"])
    typed = region_query(text)  # "kec panai hilir" is Panai Hilir
    found = search_regions(typed, region_options(step, r))
    typed = typed.removeprefix("kota ")
    exact = [w for w in found if _bare_region(w.name) == typed]
    if len(exact) == 1:  # the name typed in full: taken as the press
        await _region_choice(context, turn, r, exact[0].code)
        return
    if not found:
        await again(
            context,
            turn,
            _("Nama itu tidak saya temukan. Coba ketik sebagian namanya, atau pilih tombol."),
        )
        return
    rows = [[(w.name, reg_data(step, w.code))] for w in found]
    await say(
        context,
        turn.chat_id,
        _("Mungkin yang Anda maksud salah satu ini? Silakan pilih."),
        inline(rows),
    )


def _bare_region(name: str) -> str:
    """A region name as typed: lowercase, without "Kabupaten"/"Kota"."""
    return normalise(name).removeprefix("kabupaten ").removeprefix("kota ")


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
TEXT_ANSWERS: dict[Step, TextAnswer] = {
    Step.KABUPATEN: _region_text,
    Step.KECAMATAN: _region_text,
    Step.DESA: _region_text,
}
CHOICES: dict[Step, TextAnswer] = {
    Step.KABUPATEN: _region_choice,
    Step.KECAMATAN: _region_choice,
    Step.DESA: _region_choice,
}
