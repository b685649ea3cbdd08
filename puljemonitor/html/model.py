"""What the HTML report shows, as plain data: every figure's rows and cells, taken from the
same :class:`~schemas.reports.Report` and monthly aggregates as the JSON, and passed
through the suppression rule of :mod:`projections.disclosure` (spec §9).

Nothing here draws or formats a page: :mod:`.figures` draws these rows, :mod:`.page`
writes them into the template, and the tests read them back from the HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from projections.disclosure import Disclosed, disclose, undisclosed
from puljemonitor import danish
from schemas.reports import Aggregate, InputCounts, Report
from schemas.statuses import GROUPS

THRESHOLD = 0.8  # drawn only; the verdicts come from the report (requirement_met, achieved)

GROUP_LABELS = {
    "employment": "Afgang til beskæftigelse mv.",
    "other_benefit": "Afklaret til anden ydelse",
    "company": "Andel i virksomhedspraktik mv.",
}
EMPLOYMENT = {  # STAR's order in figure 5
    "self_supporting": "Selvforsørget beskæftigelse",
    "education": "Uddannelse",
    "paid_hours": "Lønnede timer",
    "flexjob": "Fleksjob",
}
OTHER_BENEFIT = {
    "foertidspension": "Førtidspension",
    "ressourceforloeb": "Ressourceforløb",
    "ledighedsydelse": "Ledighedsydelse",
    "revalidering": "Revalidering",
}
TREND = {
    "other_benefit": "Anden ydelse i alt",
    "company": "Andel i virksomhedspraktik eller løntilskud",
    "employment": "Afgang til beskæftigelse mv.",
}


@dataclass
class Cell:
    """One number of a figure: its value (None when suppressed) and its Danish text."""

    value: float | int | None
    text: str

    @property
    def hidden(self) -> bool:
        return self.value is None


@dataclass
class Row:
    key: str  # participant name, month, ...
    label: str
    cells: dict[str, Cell]
    note: str = ""  # e.g. achieved / best month
    focus: bool = False


@dataclass
class Figure:
    number: int
    title: str
    kind: str  # "stacked" (horizontal bars) or "lines"
    series: dict[str, str]  # key → legend label
    rows: list[Row]
    unit: str = "share"  # "share" or "count"
    reference: tuple[str, float | None] | None = None  # (label, value): dashed line
    threshold: float | None = None
    note: str = ""
    comparison: list[Row] | None = None  # figure 3 of a participant: the project's lines, dashed
    totals: bool = False  # the data table adds "I alt" and the verdict (the first pool's figure 4)
    threshold_label: str = "Resultatkrav 80 pct."
    row_header: str = ""  # the data table's first column; default "Deltager" or "Måned"


@dataclass
class OverviewColumn:
    title: str
    suppressed: bool
    rows: list[tuple[str, str, str]]  # (label, count, share)
    requirement: list[tuple[str, str, str]]
    distribution: list[tuple[str, str, str]]


@dataclass
class ReportView:
    report: Report
    title: str
    subtitle: str
    month: str
    previous_month: str
    cutoff: str
    rules: str
    suppression: str
    input: list[tuple[str, str]]
    overview: list[OverviewColumn]
    figures: list[Figure] = field(default_factory=list)
    achieved: str = ""


def share_cell(d: Disclosed, numerator: str, denominator: str) -> Cell:
    value = d.share(numerator, denominator)
    if value is None and not d.share_hidden(numerator, denominator):
        return Cell(0.0, "–")  # a zero denominator: nothing to show, nothing hidden
    return Cell(value, danish.percent(value, 1))


def count_cell(d: Disclosed, cell: str) -> Cell:
    value = d.count(cell)
    return Cell(value, danish.number(value))


def _overview(title: str, d: Disclosed, previous: Disclosed | None, month: str, previous_month: str, suppressed: bool):
    first = "Borgere i projektet i alt" if title != "Hele landet" else "Borgere i alt"

    def pct(num: str, den: str) -> str:
        return danish.percent(d.share(num, den)) if d.share(num, den) is not None or d.share_hidden(num, den) else "–"

    rows = [
        (first, danish.number(d.count("enrolled")), "100 %"),
        ("Heraf fritaget", danish.number(d.count("exempt")), pct("exempt", "enrolled")),
    ]
    requirement = []
    for label, agg in ((previous_month, previous), (month, d)):
        if agg is None:
            continue
        share = agg.share("positive", "measured")
        hidden = agg.share_hidden("positive", "measured")
        requirement.append(
            (
                danish.month(label),
                danish.number(agg.count("positive")),
                danish.percent(share) if share is not None or hidden else "–",
            )
        )
    distribution = [
        (GROUP_LABELS[g], danish.number(d.count(f"groups.{g}")), pct(f"groups.{g}", "measured")) for g in GROUPS
    ]
    distribution.append(("I alt", danish.number(d.count("positive")), pct("positive", "measured")))
    return OverviewColumn(title, suppressed, rows, requirement, distribution)


def rules_text(count_social_frikort: bool) -> str:
    """The rule variant in words."""
    return "Socialt frikort medregnet som lønnede timer" if count_social_frikort else "Socialt frikort ikke medregnet"


def input_rows(i: InputCounts) -> list[tuple[str, str]]:
    """The input accounting in words (spec §6 ``input``)."""
    return [
        ("Linjer i loggen", danish.number(i.lines)),
        ("Anvendt", danish.number(i.applied)),
        ("Dubletter", danish.number(i.duplicates)),
        ("Afvist", danish.number(i.rejected)),
    ]


def previous(month: str) -> str:
    year, m = (int(x) for x in month.split("-"))
    year, m = (year, m - 1) if m > 1 else (year - 1, 12)
    return f"{year:04d}-{m:02d}"


def build(
    report: Report,
    history: dict[str, Aggregate],
    min_cell: int,
    *,
    focus: str | None = None,
    focus_history: dict[str, Aggregate] | None = None,
    unsuppressed: bool = False,
    national_previous: Aggregate | None = None,
) -> ReportView:
    """The report's view: ``history`` holds the project's aggregate for every month up to the
    report month (figure 3), from the same tallies as ``report``; ``focus`` names the
    participant a job centre reads the report as (its own figures first), ``unsuppressed``
    shows that participant's own figures without suppression."""

    def public(agg: Aggregate) -> Disclosed:
        return disclose(agg, min_cell)

    def own(agg: Aggregate) -> Disclosed:
        return undisclosed(agg) if unsuppressed else public(agg)

    prev = previous(report.month)
    names = list(report.participants)
    if focus is not None:
        names.remove(focus)
        names.insert(0, focus)
    discl = {n: (own if n == focus else public)(report.participants[n].aggregate) for n in names}
    national = public(report.national)
    project = public(report.project)

    columns = []
    if focus is not None:
        fh = focus_history or {}
        columns.append(
            _overview(focus, discl[focus], own(fh[prev]) if prev in fh else None, report.month, prev, not unsuppressed)
        )
    columns.append(
        _overview(
            "Projektkommuner i alt",
            project,
            public(history[prev]) if prev in history else None,
            report.month,
            prev,
            True,
        )
    )
    national_prev = public(national_previous) if national_previous is not None else None
    columns.append(_overview("Hele landet", national, national_prev, report.month, prev, True))

    def label(n: str) -> str:
        return f"{n} ({danish.number(discl[n].count('measured'))})"

    figures = []
    # Figure 1: target group sizes, with and without exemption (counts)
    figures.append(Figure(
        1, "Målgruppe størrelser", "stacked",
        {"measured": "Borgere uden fritagelsesmarkering", "exempt": "Borgere med fritagelsesmarkering"},
        [Row(n, label(n), {k: count_cell(discl[n], k) for k in ("measured", "exempt")}, focus=n == focus) for n in names],
        unit="count",
        note="Tallene i parentes angiver antallet af borgere, der skal omfattes af indsatsmodellen, "
        "dvs. antallet af borgere uden en fritagelsesmarkering.",
    ))  # fmt: skip
    # Figure 2: share with exemption
    figures.append(Figure(
        2, "Andel med fritagelsesmarkering", "stacked",
        {"measured": "Borgere uden fritagelsesmarkering", "exempt": "Borgere med fritagelsesmarkering"},
        [Row(n, n, {k: share_cell(discl[n], k, "enrolled") for k in ("measured", "exempt")}, focus=n == focus) for n in names],
        reference=("Hele landet: med fritagelsesmarkering", national.share("exempt", "enrolled")),
    ))  # fmt: skip
    # Figure 3: development over time (the project; and the focus participant)
    trend_source = focus_history if focus is not None and focus_history else history
    trend_public = own if focus is not None else public
    figures.append(Figure(
        3, f"Udvikling over tid, {focus if focus is not None else 'projektkommuner'}", "lines",
        TREND,
        [Row(m, danish.short_month(m), {g: share_cell(trend_public(a), f"groups.{g}", "measured") for g in TREND})
         for m, a in trend_source.items()],
        note="Andel af borgerne uden fritagelsesmarkering, måned for måned.",
    ))  # fmt: skip
    if any(c.hidden for row in figures[-1].rows for c in row.cells.values()):
        figures[-1].note += " Måneder med et skjult tal (<5) er udeladt af linjen."
    if focus is not None:
        figures[-1].comparison = [
            Row(m, danish.short_month(m), {g: share_cell(public(a), f"groups.{g}", "measured") for g in TREND})
            for m, a in history.items()
        ]
    # Figure 4: result requirement per participant
    rows = []
    for n in names:
        p = report.participants[n]
        best = f"bedste måned {danish.month(p.best_month)}" if p.best_month else "ingen måned i vinduet endnu"
        verdict = "opnået" if p.achieved else "ikke opnået"
        cells = {g: share_cell(discl[n], f"groups.{g}", "measured") for g in GROUPS}
        cells["positive"] = share_cell(discl[n], "positive", "measured")
        rows.append(Row(n, n, cells, note=f"{verdict}; {best}", focus=n == focus))
    figures.append(Figure(
        4, "Resultatkrav", "stacked", dict(GROUP_LABELS), rows, threshold=THRESHOLD, totals=True,
        note="Resultatkrav: 80 pct. af borgerne uden fritagelsesmarkering i en måned af perioden "
        "januar 2022 – marts 2023. Opnået: kravet er nået i mindst én måned af perioden til og med rapportmåneden.",
    ))  # fmt: skip
    # Figures 5-7: per group, against the nation
    figures.append(Figure(
        5, "Afgang til beskæftigelse mv.", "stacked", EMPLOYMENT,
        [Row(n, n, {c: share_cell(discl[n], f"categories.{c}", "measured") for c in EMPLOYMENT}, focus=n == focus) for n in names],
        reference=("Hele landet: Afgang", national.share("groups.employment", "measured")),
    ))  # fmt: skip
    figures.append(Figure(
        6, "Afklaret til anden ydelse", "stacked", OTHER_BENEFIT,
        [Row(n, n, {c: share_cell(discl[n], f"categories.{c}", "measured") for c in OTHER_BENEFIT}, focus=n == focus) for n in names],
        reference=("Hele landet: Afklaret til anden ydelse", national.share("groups.other_benefit", "measured")),
    ))  # fmt: skip
    figures.append(Figure(
        7, "Andel i virksomhedspraktik mv.", "stacked", {"company": "Virksomhedspraktik mv."},
        [Row(n, n, {"company": share_cell(discl[n], "groups.company", "measured")}, focus=n == focus) for n in names],
        reference=("Hele landet: virksomhedspraktik mv.", national.share("groups.company", "measured")),
    ))  # fmt: skip

    if focus is None:
        suppression = "Tal fra 1 til 4 vises som <5 (diskretionering); 0 vises."
    elif unsuppressed:
        suppression = f"{focus}s egne tal vises uden diskretionering (jobcentrets egne data); alle andre tal: 1 til 4 vises som <5."
    else:
        suppression = "Alle tal, også deltagerens egne: 1 til 4 vises som <5 (diskretionering); 0 vises."
    return ReportView(
        report=report,
        title="Afklaringspuljen",
        subtitle=focus if focus is not None else "Alle projektkommuner",
        month=danish.month(report.month),
        previous_month=danish.month(prev),
        cutoff=danish.cutoff(report.as_of),
        rules=rules_text(report.rules.count_social_frikort),
        suppression=suppression,
        input=input_rows(report.input),
        overview=columns,
        figures=figures,
        achieved=f"{report.achieved_count} af {report.participant_count} deltagere har opnået resultatkravet",
    )
