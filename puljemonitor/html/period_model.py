"""What BIR's HTML report shows (seed 001), as plain data: the overview of the last periods,
the two requirement tables and figures 1–6, all read from the same
:class:`~schemas.periods.PeriodReport` as the JSON (the overview's earlier periods from
:func:`projections.period_report.project_overview`, as the text table reads them) and
passed through BIR's suppression (:mod:`projections.period_disclosure`, spec §9).

The rows and cells are the first pool's (:mod:`.model`), so :mod:`.figures` draws them and
the base template lists them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from projections.period_disclosure import PeriodCells, disclose_period, undisclosed_period
from puljemonitor import danish
from puljemonitor.html.model import Cell, Figure, Row, input_rows, rules_text, share_cell
from puljemonitor.render import municipality_name
from puljemonitor.render_periods import period_of, requirement_parts
from schemas.calendar import parse_month
from schemas.periods import DURATION_BANDS, PERIOD_CATEGORIES, PeriodAggregate, PeriodReport
from schemas.pools import PeriodPool

LABEL = {c.name: c.label for c in PERIOD_CATEGORIES}
FIGURE_1 = ("company", "paid_hours", "flexjob", "education", "self_supporting")  # seed 001's legend order
EMPLOYMENT = ("paid_hours", "flexjob", "education", "self_supporting")


@dataclass
class OverviewTable:
    title: str
    suppressed: bool
    headers: list[str]
    rows: list[list[str]]  # (label, count, share...) already formatted; the last row of a requirement is its total


@dataclass
class PeriodView:
    report: PeriodReport
    title: str
    subtitle: str
    month: str
    cutoff: str
    rules: str
    suppression: str
    input: list[tuple[str, str]]
    overview: list[OverviewTable]
    requirements: list[OverviewTable]
    figures: list[Figure] = field(default_factory=list)


def period_words(first: str, last: str) -> str:
    """``2021-02``, ``2021-04`` → "Februar – april 2021" (seed 001's title)."""
    a, b = danish.month(first), danish.month(last).lower()
    return f"{a.split()[0]} – {b}" if a.split()[1] == b.split()[1] else f"{a} – {b}"


def _share(cells: PeriodCells, cell: str) -> str:
    return share_cell(cells, cell, "target").text


def _threshold(pool: PeriodPool, name: str) -> float:
    r = pool.requirements[name]
    return r.numerator / r.denominator


def build_period(
    report: PeriodReport,
    pool: PeriodPool,
    overview: dict[str, PeriodAggregate],
    min_cell: int,
    *,
    focus: str | None = None,
    focus_overview: dict[str, PeriodAggregate] | None = None,
    unsuppressed: bool = False,
) -> PeriodView:
    """The view of ``report``: ``overview`` holds the project's aggregate of each period by
    its report month (``YYYY-MM``); ``focus`` is a municipality code a job centre reads the
    report as (its own rows first), ``unsuppressed`` shows its own figures exactly."""

    def public(agg, ind=None) -> PeriodCells:
        return disclose_period(pool, agg, ind, min_cell)

    def own(agg, ind=None) -> PeriodCells:
        return undisclosed_period(agg, ind) if unsuppressed else public(agg, ind)

    overview = {**overview, report.month: report.project}  # the report month is the report's own
    codes = list(report.municipalities)
    if focus is not None:
        codes.remove(focus)
        codes.insert(0, focus)
    ind = report.indicators
    cells = {c: (own if c == focus else public)(report.municipalities[c], ind.municipalities[c]) for c in codes}
    project = public(report.project, ind.project)
    names = list(pool.requirements)

    def overview_table(title: str, periods: dict[str, PeriodAggregate], disclose, suppressed: bool) -> OverviewTable:
        rows = []
        for m, agg in sorted(periods.items()):
            d = disclose(agg)
            first = period_of(pool, parse_month(m))
            rows.append([first, danish.number(d.count("target")), *(_share(d, n) for n in names)])
        headers = ["Periode", "Antal borgere i målgruppen"]
        headers += [f"Andel i {pool.requirements[n].label[0].lower()}{pool.requirements[n].label[1:]}" for n in names]
        return OverviewTable(title, suppressed, headers, rows)

    tables = []
    if focus is not None and focus_overview is not None:
        mine = {**focus_overview, report.month: report.municipalities[focus]}
        tables.append(overview_table(municipality_name(focus), mine, own, not unsuppressed))
    tables.append(overview_table("Alle projektkommuner", overview, public, True))

    requirements = []
    for i, name in enumerate(names, 1):
        rows = [
            [label, danish.number(project.count(cell)), _share(project, cell)]
            for label, cell in requirement_parts(pool, name, lambda cell: project.count(cell) or 0)
        ]
        requirements.append(
            OverviewTable(f"Resultatkrav {i}", True, [pool.requirements[name].label, "Antal", "Andel"], rows)
        )

    def label(code: str) -> str:
        return f"{municipality_name(code)} ({danish.number(cells[code].count('target'))})"

    def shares(d: PeriodCells, keys, den: str = "target", prefix: str = "categories.") -> dict[str, Cell]:
        return {k: share_cell(d, f"{prefix}{k}", den) for k in keys}

    span = period_words(report.period.first, report.period.last)
    r1, r2 = names[0], names[1]
    t1, t2 = _threshold(pool, r1), _threshold(pool, r2)
    periods = sorted(overview.items())
    period_rows = []
    for m, agg in periods:
        d = public(agg)
        period_rows.append((m, f"{period_of(pool, parse_month(m))} ({danish.number(d.count('target'))})", d))
    figures = [
        Figure(
            1, "Andel i virksomhedsrettet indsats mv. (inkl. afgang til beskæftigelse og uddannelse) (resultatkrav 1)",
            "stacked", {k: f"Andel i {LABEL[k].lower()}" for k in FIGURE_1},
            [Row(m, text, shares(d, FIGURE_1)) for m, text, d in period_rows],
            threshold=t1, threshold_label=f"Resultatkrav 1: {danish.percent(t1)}", row_header="Periode",
            note="Andel af målgruppen i projektet pr. periode. Den enkelte borger tæller kun med én gang; hierarkiet er "
            "1. selvforsørget beskæftigelse 2. uddannelse 3. fleksjob 4. ordinære løntimer 5. virksomhedspraktik/løntilskud. "
            "Tallene i parentes angiver størrelsen på målgruppen i projektet.",
        ),
        Figure(
            2, f"Andel i virksomhedsrettet indsats mv. (resultatkrav 1). Fordelt på deltagerkommuner. {span}", "stacked",
            {"employment": "Andel i beskæftigelse mv.", "company": "Andel i virksomhedspraktik/løntilskud"},
            [Row(c, label(c), {"employment": share_cell(cells[c], r2, "target"), **shares(cells[c], ("company",))},
                 focus=c == focus) for c in codes],
            threshold=t1, threshold_label=f"Resultatkrav 1: {danish.percent(t1)}", row_header="Kommune",
            note="Hierarkiet er 1. beskæftigelse mv. 2. virksomhedspraktik/løntilskud. "
            "Tallene i parentes angiver størrelsen på målgruppen i kommunen.",
        ),
        Figure(
            3, "Andel i beskæftigelse mv. (resultatkrav 2)", "stacked",
            {k: f"Andel i {LABEL[k].lower()}" for k in EMPLOYMENT},
            [Row(m, text, shares(d, EMPLOYMENT)) for m, text, d in period_rows],
            threshold=t2, threshold_label=f"Resultatkrav 2: {danish.percent(t2)}", row_header="Periode",
            note="Andel af målgruppen i projektet pr. periode. Tallene i parentes angiver størrelsen på målgruppen i projektet.",
        ),
        Figure(
            4, f"Andel i beskæftigelse mv. Fordelt på deltagerkommuner (resultatkrav 2). {span}", "stacked",
            {k: f"Andel i {LABEL[k].lower()}" for k in EMPLOYMENT},
            [Row(c, label(c), shares(cells[c], EMPLOYMENT), focus=c == focus) for c in codes],
            threshold=t2, threshold_label=f"Resultatkrav 2: {danish.percent(t2)}", row_header="Kommune",
            note="Tallene i parentes angiver størrelsen på målgruppen i kommunen.",
        ),
        Figure(
            5, f"Andel langvarige ressourceforløbsmodtagere uden virksomhedsrettet indsats det seneste år. {span}",
            "stacked", {"without": "Uden virksomhedsrettet indsats det seneste år"},
            [Row(c, f"{municipality_name(c)} ({danish.number(cells[c].count('long'))})",
                 {"without": share_cell(cells[c], "without", "long")}, focus=c == focus) for c in codes],
            reference=("Alle projektkommuner", project.share("without", "long")), row_header="Kommune",
            note=f"Andel af borgerne på ressourceforløb med mindst {pool.long_course_years} års anciennitet, som inden for "
            f"de seneste {pool.company_lookback_months} måneder ikke har været i virksomhedsrettet indsats. "
            "Tallene i parentes angiver antallet af langvarige forløb.",
        ),
        Figure(
            6, f"Ressourceforløb fordelt på varighed. Fordelt på kommuner. {danish.month(report.month)}", "stacked",
            {b: f"{b.replace('-', '–').replace('+', ' år og mere')}{'' if '+' in b else ' år'}" for b in DURATION_BANDS},
            [Row(c, f"{municipality_name(c)} ({danish.number(cells[c].count('courses'))})",
                 shares(cells[c], DURATION_BANDS, "courses", "bands."), focus=c == focus) for c in codes],
            row_header="Kommune",
            note="Andel af kommunens ressourceforløb efter varighed (hele år) ved månedens udgang. "
            "Tallene i parentes angiver antallet af forløb.",
        ),
    ]  # fmt: skip
    if focus is None:
        suppression = "Tal fra 1 til 4 vises som <5 (diskretionering); 0 vises."
    elif unsuppressed:
        suppression = (
            f"{municipality_name(focus)}s egne tal vises uden diskretionering (jobcentrets egne data); "
            "alle andre tal: 1 til 4 vises som <5."
        )
    else:
        suppression = "Alle tal, også kommunens egne: 1 til 4 vises som <5 (diskretionering); 0 vises."
    return PeriodView(
        report=report,
        title=pool.label,
        subtitle=municipality_name(focus) if focus is not None else "Alle projektkommuner",
        month=span,
        cutoff=danish.cutoff(report.as_of),
        rules=rules_text(report.rules.count_social_frikort),
        suppression=suppression,
        input=input_rows(report.input),
        overview=tables,
        requirements=requirements,
        figures=figures,
    )
