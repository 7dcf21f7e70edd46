"""The address: kabupaten, kecamatan and desa, pressed from a page of buttons or typed."""

from __future__ import annotations

import functools
from typing import Any

from bot.access import access_of, within
from bot.context import JagaContext
from bot.registration import (
    Step,
    children,
    normalise,
    region_name,
    region_query,
    search_regions,
)
from handlers.common import Turn, layout, say
from handlers.registration.asking import ask_current
from handlers.registration.common import FLOW, StepDef, reg_data, scratch_with, step_of
from handlers.registration.flow import advance, again, stale
from handlers.registration.pickers import region_options
from storage import registrations
from storage.registrations import Registration


async def _region_choice(context: JagaContext, turn: Turn, r: Registration, value: str) -> None:
    step = step_of(r)
    if value.startswith("p") and value[1:].isdigit():
        await registrations.save_step(
            context.db, r.id, turn.id, FLOW, scratch=scratch_with(r, page=int(value[1:]))
        )
        await ask_current(context, turn)
        return
    if value == "up" and step != Step.KABUPATEN:
        # Out of a list that started at the person's own area, to the one above it.
        up = Step.KECAMATAN if step == Step.DESA else Step.KABUPATEN
        # The kecamatan list keeps its own way up, to another kabupaten.
        home = r.kabupaten_code if up == Step.KECAMATAN else None
        await registrations.save_step(
            context.db, r.id, turn.id, FLOW, step=up, scratch=scratch_with(r, page=None, home=home)
        )
        await ask_current(context, turn)
        return
    options = region_options(step, r)
    if value not in {w.code for w in options}:
        # A place below the question, offered when several share the name typed.
        path = next((p for p in _paths_below(step, r) if p[-1] == value), None)
        if path is None:
            await stale(context, turn)
            return
        await _fill_below(context, turn, r, step, path)
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
    context: JagaContext, turn: Turn, r: Registration, desa: str
) -> str | None:
    """A one-line warning when a cadre registers someone outside their own desa (allowed)."""
    if r.for_self:
        return None
    access = await access_of(context.db, context.settings, turn.id)
    if not access.is_cadre or any(within(desa, own) for own in access.cadre_regions):
        return None
    return turn.gettext(
        "Catatan: desa ini di luar desa tugas Anda sebagai kader. Pendaftaran tetap bisa "
        "dilanjutkan."
    )


async def _region_text(context: JagaContext, turn: Turn, r: Registration, text: str) -> None:
    _ = turn.gettext
    step = step_of(r)
    typed = region_query(text)  # "kec panai hilir" is Panai Hilir
    found = search_regions(typed, region_options(step, r))
    typed = typed.removeprefix("kota ")
    # The name typed in full ("labuhan batu" for Labuhanbatu): taken as the press.
    exact = [w for w in found if _squeezed(_bare_region(w.name)) == _squeezed(typed)]
    if len(exact) == 1:
        await _region_choice(context, turn, r, exact[0].code)
        return
    if not exact and await _below(context, turn, r, step, typed):
        return
    if not found and (several := _named_below(r, step, typed)):
        # "wonosari": a desa name several kecamatan have; each offered with where it is.
        rows = [[(_path_name(turn, path), reg_data(step, path[-1]))] for path in several]
        await say(
            context,
            turn.chat_id,
            _("Ada beberapa tempat dengan nama itu. Pilih yang benar."),
            layout(rows),
        )
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
        layout(rows),
    )


async def _below(
    context: JagaContext, turn: Turn, r: Registration, step: Step, typed: str
) -> bool:
    """A kecamatan or desa named in full where a kabupaten (or a desa where a kecamatan) was
    asked, or a desa of another kecamatan of the kabupaten where a desa was asked (a wrong
    kecamatan picked), and only one place has that name: the address is filled down to it and
    the question after it is asked. False when no single place matches."""
    wanted = _squeezed(typed)
    if len(wanted) < 4:
        return False
    matches = _places_below(_codes_above(step, r)).get(wanted, ())
    if len(matches) != 1:
        return False
    await _fill_below(context, turn, r, step, matches[0])
    return True


MAX_NAMESAKES = 10  # places sharing a typed name that are offered as choices


def _named_below(r: Registration, step: Step, typed: str) -> tuple[tuple[str, ...], ...]:
    """The places below the question named exactly `typed`, when there are 2 to MAX_NAMESAKES."""
    wanted = _squeezed(typed)
    matches = _places_below(_codes_above(step, r)).get(wanted, ()) if len(wanted) >= 4 else ()
    return matches if 2 <= len(matches) <= MAX_NAMESAKES else ()


def _paths_below(step: Step, r: Registration) -> list[tuple[str, ...]]:
    """Every path to a place below the question (what a namesake's button may carry)."""
    return [path for paths in _places_below(_codes_above(step, r)).values() for path in paths]


def _codes_above(step: Step, r: Registration) -> tuple[str, ...]:
    """Where places typed at this question are looked for below: the listed options, or for the
    desa question the whole kabupaten (the kecamatan picked may be the mistake)."""
    if step == Step.DESA:
        assert r.kabupaten_code is not None  # asked before the desa
        return (r.kabupaten_code,)
    return tuple(w.code for w in region_options(step, r))


async def _fill_below(
    context: JagaContext, turn: Turn, r: Registration, step: Step, path: tuple[str, ...]
) -> None:
    """Fills the address down to the place at the end of `path` and asks what follows."""
    fields: dict[str, Any] = {"scratch": scratch_with(r, page=None)}
    if step == Step.KABUPATEN:
        fields.update(kabupaten_code=path[0], kecamatan_code=path[1], desa_code=None)
        answered = Step.KECAMATAN
        if len(path) == 3:
            fields["desa_code"], answered = path[2], Step.DESA
    elif step == Step.DESA:  # another kecamatan's desa, or a kecamatan named
        fields.update(kecamatan_code=path[1], desa_code=None)
        answered = Step.KECAMATAN
        if len(path) == 3:
            fields["desa_code"], answered = path[2], Step.DESA
        path = path[1:]  # the kabupaten stays as it was: not named again
    else:  # a desa typed at the kecamatan question
        fields.update(kecamatan_code=path[0], desa_code=path[1])
        answered = Step.DESA
    note = turn.gettext("Alamat: {place}.").format(place=_path_name(turn, path))
    if answered == Step.DESA:
        outside = await _outside_note(context, turn, r, path[-1])
        note = f"{note}\n{outside}" if outside else note
    await advance(context, turn, r.with_answers(**fields), answered, note=note, **fields)


@functools.lru_cache(maxsize=64)
def _places_below(codes: tuple[str, ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every place one and two levels under `codes`, by squeezed bare name: the paths down to
    it (from one of `codes`). Built once per list of codes; a province's has about 6,500."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for upper in codes:
        for middle in children(upper):
            index.setdefault(_squeezed(_bare_region(middle.name)), []).append((upper, middle.code))
            for lower in children(middle.code):
                index.setdefault(_squeezed(_bare_region(lower.name)), []).append(
                    (upper, middle.code, lower.code)
                )
    return {name: tuple(paths) for name, paths in index.items()}


def _path_name(turn: Turn, path: tuple[str, ...]) -> str:
    """A place found below the question, named down from where the question stood (a desa by
    its name alone: some are kelurahan)."""
    _ = turn.gettext
    names = []
    for code in reversed(path):
        level = code.count(".")
        if level == 2:
            names.append(_("Kecamatan {name}").format(name=region_name(code)))
        else:
            names.append(region_name(code))
    return ", ".join(names)


def _squeezed(name: str) -> str:
    """A place name without spaces or hyphens: "labuhan batu" and "Labuhanbatu" are one."""
    return name.replace(" ", "").replace("-", "")


def _bare_region(name: str) -> str:
    """A region name as typed: lowercase, without "Kabupaten"/"Kota"."""
    return normalise(name).removeprefix("kabupaten ").removeprefix("kota ")


# This part's handlers by step, of a typed answer and of a button value (see messages.py).
def _reads_region(r: Registration, text: str) -> bool:
    """A place name found among the question's choices answers it."""
    options = region_options(step_of(r), r)
    return "?" not in text and bool(search_regions(region_query(text), options))


_REGION = StepDef(typed=_region_text, pressed=_region_choice, reads=_reads_region)
STEPS: dict[Step, StepDef] = {Step.KABUPATEN: _REGION, Step.KECAMATAN: _REGION, Step.DESA: _REGION}
