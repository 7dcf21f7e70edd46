"""The district report: submissions by state per kecamatan and desa, quota use, coverage, chart."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field

from bot.i18n import Translator
from bot.review import STATES, STATUS_LABELS, region_name
from bot.settings import Settings
from storage import funding
from storage import review as store
from storage.db import Database

# Approved and registered workers are the ones the district has covered.
COVERED = ("disetujui", "terdaftar")


@dataclass
class Area:
    """Counts by state for one kecamatan or desa."""

    code: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All submissions."""
        return sum(self.counts.values())

    @property
    def covered(self) -> int:
        """Approved or registered."""
        return sum(self.counts.get(s, 0) for s in COVERED)


@dataclass(frozen=True)
class ProgramUse:
    """A program's quota and the places taken."""

    program: funding.Program
    used: int


@dataclass
class Report:
    """Everything /laporan shows for one region."""

    region: str
    name: str
    totals: Area
    kecamatan: list[Area]
    desa: dict[str, list[Area]]  # by kecamatan code
    programs: list[ProgramUse]
    potential_workers: int | None

    @property
    def coverage(self) -> float | None:
        """Covered workers as a share of the potential workers, when those are configured."""
        if not self.potential_workers:
            return None
        return self.totals.covered / self.potential_workers


async def build(db: Database, settings: Settings, region: str) -> Report:
    """Count the submissions of a region by kecamatan, desa and state."""
    totals = Area(region, region_name(region))
    kecamatan: dict[str, Area] = {}
    desa: dict[str, dict[str, Area]] = defaultdict(dict)
    for kec_code, desa_code, status, count in await store.counts_by_desa(db, region):
        totals.counts[status] = totals.counts.get(status, 0) + count
        kec = kecamatan.setdefault(kec_code, Area(kec_code, region_name(kec_code)))
        kec.counts[status] = kec.counts.get(status, 0) + count
        area = desa[kec_code].setdefault(desa_code, Area(desa_code, region_name(desa_code)))
        area.counts[status] = area.counts.get(status, 0) + count
    programs = await funding.in_region(db, region)
    used = await funding.used_by_program(db, [p.id for p in programs])
    return Report(
        region=region,
        name=region_name(region),
        totals=totals,
        kecamatan=sorted(kecamatan.values(), key=lambda a: a.name),
        desa={k: sorted(v.values(), key=lambda a: a.name) for k, v in desa.items()},
        programs=[ProgramUse(p, used[p.id]) for p in programs],
        potential_workers=settings.potential_workers.get(region),
    )


def _counts_line(tr: Translator, area: Area) -> str:
    _ = tr.gettext
    parts = [
        f"{_(STATUS_LABELS[s])} {tr.number(area.counts[s])}" for s in STATES if area.counts.get(s)
    ]
    return ", ".join(parts) if parts else _("belum ada")


def percent(tr: Translator, share: float) -> str:
    """A share as a percentage with two decimals, in the reader's locale (36,63%)."""
    from babel.numbers import format_decimal

    return format_decimal(share * 100, format="#,##0.00", locale=tr.language) + "%"


def render(tr: Translator, report: Report, today_text: str) -> list[str]:
    """The report as messages of at most 600 characters each (usually one)."""
    _ = tr.gettext
    lines = [
        _("Laporan {region} per {date}").format(region=report.name, date=today_text),
        _("Semua pengajuan: {total} ({counts})").format(
            total=tr.number(report.totals.total), counts=_counts_line(tr, report.totals)
        ),
    ]
    if report.potential_workers:
        lines.append(
            _(
                "Cakupan: {covered} pekerja disetujui atau terdaftar lewat bot ini dari "
                "{potential} pekerja potensial ({rate})."
            ).format(
                covered=tr.number(report.totals.covered),
                potential=tr.number(report.potential_workers),
                rate=percent(tr, report.coverage or 0.0),
            )
        )
    if report.programs:
        lines += ["", _("Kuota program:")]
        for use in report.programs:
            program = use.program
            line = _("{name}: {used} dari {quota} terpakai").format(
                name=program.name, used=tr.number(use.used), quota=tr.number(program.quota)
            )
            if program.quota_per_desa:
                line += _(" (maks. {per_desa} per desa)").format(
                    per_desa=tr.number(program.quota_per_desa)
                )
            if program.closed_at:
                line += _(" – ditutup")
            lines.append("• " + line)
    detailed = list(lines)
    if report.kecamatan:
        detailed += ["", _("Per kecamatan dan desa:")]
        lines += ["", _("Per kecamatan:")]
    for kec in report.kecamatan:
        line = _("Kec. {name}: {counts}").format(name=kec.name, counts=_counts_line(tr, kec))
        detailed.append(line)
        lines.append(line)
        for area in report.desa.get(kec.code, []):
            detailed.append(f"   – {area.name}: {_counts_line(tr, area)}")
    # Every desa when that reads in one message, or for one kecamatan; else per kecamatan, and
    # how to see the desa of one of them.
    if len("\n".join(detailed)) <= READABLE or len(report.kecamatan) <= 1:
        return _split(detailed)
    example = report.kecamatan[0].name
    lines += [
        "",
        _("Angka per desa: ketik /laporan dan nama kecamatan, misalnya /laporan {name}.").format(
            name=example
        ),
    ]
    return _split(lines)


# The longest message a person reads comfortably on a phone: a longer report is split.
READABLE = 600


def _split(lines: list[str], limit: int = READABLE) -> list[str]:
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > limit:
            messages.append("\n".join(current))
            current, size = [], 0
        current.append(line[:limit])
        size += len(line) + 1
    if current:
        messages.append("\n".join(current))
    return messages


def chart_png(tr: Translator, report: Report) -> bytes:
    """A bar chart of submissions per kecamatan, stacked by state, as PNG bytes.

    Uses matplotlib's object API with the Agg canvas (no display, no global pyplot state), so it
    may run in a worker thread.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    _ = tr.gettext
    areas = report.kecamatan or [report.totals]
    names = [a.name for a in areas]
    height = max(3.0, 0.45 * len(areas) + 1.5)
    figure = Figure(figsize=(9, height), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colors = {
        "diajukan": "#f2b134",
        "perlu_perbaikan": "#ed6a5a",
        "disetujui": "#5ca4a9",
        "ditolak": "#9b9b9b",
        "terdaftar": "#2e6f40",
    }
    left = [0] * len(areas)
    for state in STATES:
        widths = [a.counts.get(state, 0) for a in areas]
        if not any(widths):
            continue
        axes.barh(names, widths, left=left, color=colors[state], label=_(STATUS_LABELS[state]))
        left = [x + w for x, w in zip(left, widths, strict=True)]
    axes.invert_yaxis()  # first kecamatan on top, as in the text
    axes.set_xlabel(_("jumlah pengajuan"))
    axes.set_title(_("Pengajuan per kecamatan – {region}").format(region=report.name))
    if any(left):
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
