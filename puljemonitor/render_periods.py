"""The BIR report and audit as tables for people, in STAR's own words (seed 001's first page).

The overview of the last three periods (target group, share in requirement 1 and 2), each
requirement broken down by category, then the municipalities with both requirements and
the course indicators. Like the first pool's table (``render.py``) this is the operator's
view of the exact report, not a public output, so nothing is suppressed here.
"""

from __future__ import annotations

from collections.abc import Callable

import tabulate as _tabulate
from tabulate import tabulate

from projections.audit import Audit
from projections.period_disclosure import period_values
from puljemonitor.danish import cutoff, number, percent
from puljemonitor.render import municipality_name
from schemas.calendar import Month, format_month, parse_month
from schemas.periods import DURATION_BANDS, PERIOD_CATEGORIES, PERIOD_GROUPS, PeriodAggregate, PeriodReport
from schemas.pools import PeriodPool, Requirement

_tabulate.PRESERVE_WHITESPACE = True
_LABEL = {c.name: c.label for c in PERIOD_CATEGORIES}
_GROUP_OF = {c.name: c.group for c in PERIOD_CATEGORIES}


def period_label(first: str, last: str) -> str:
    """``2021-02``, ``2021-04`` → ``2021M02-2021M04``."""
    return "-".join(f"{m[:4]}M{m[5:]}" for m in (first, last))


def period_of(pool: PeriodPool, month: Month) -> str:
    return period_label(format_month(month - pool.period_months + 1), format_month(month))


def _share(n: int | None, target: int) -> str:
    return "–" if not target or n is None else percent(n / target, 1)


def _threshold(requirement: Requirement) -> str:
    return f"{100 * requirement.numerator / requirement.denominator:g}%"


def _verdict(met: bool | None) -> str:
    return {True: "ja", False: "nej", None: "–"}[met]


def requirement_parts(pool: PeriodPool, name: str, size: Callable[[str], int]) -> list[tuple[str, str]]:
    """A requirement's rows as (label, cell of :mod:`projections.period_disclosure`), then its
    total: a group that is exactly another requirement is one row (requirement 1 shows
    "Beskæftigelse mv." whole, as seed 001 does), other categories one row each, largest
    first by ``size`` of a cell."""
    requirement = pool.requirements[name]
    others = {n: r for n, r in pool.requirements.items() if n != name}
    rows = []
    for group in sorted({_GROUP_OF[c] for c in requirement.categories}, key=lambda g: g != "company"):
        members = [c for c in requirement.categories if _GROUP_OF[c] == group]
        whole = next((n for n, o in others.items() if len(members) > 1 and set(members) == set(o.categories)), None)
        if whole:
            rows.append((PERIOD_GROUPS[group], whole))
        else:
            cells = sorted((f"categories.{c}" for c in members), key=lambda cell: -size(cell))
            rows.extend((_LABEL[cell.removeprefix("categories.")], cell) for cell in cells)
    rows.append(
        (f"{requirement.label} ({name.replace('requirement_', 'resultatkrav ')}: {_threshold(requirement)})", name)
    )
    return rows


def requirement_rows(pool: PeriodPool, name: str, agg: PeriodAggregate) -> list[list[str]]:
    """:func:`requirement_parts` with the exact counts and shares of ``agg``."""
    values = period_values(agg)
    return [
        [label, number(values[cell]), _share(values[cell], agg.target)]
        for label, cell in requirement_parts(pool, name, values.__getitem__)
    ]


def period_report_table(report: PeriodReport, pool: PeriodPool, overview: dict[Month, PeriodAggregate]) -> str:
    """The whole BIR report: overview of the periods, the two requirements, the municipalities."""
    flag = " (socialt frikort medregnet)" if report.rules.count_social_frikort else ""
    head = (
        f"{pool.label} — Monitoreringsrapport — {period_label(report.period.first, report.period.last)}"
        f" — {cutoff(report.as_of)}{flag}"
    )
    names = list(pool.requirements)
    overview_rows = [
        [
            period_of(pool, m),
            number(agg.target),
            *(percent(getattr(agg, n).share, 1) if agg.target else "–" for n in names),
        ]
        for m, agg in sorted(overview.items())
    ]
    parts = [
        head,
        "Overblik - alle projektkommuner\n"
        + tabulate(
            overview_rows,
            headers=[
                "Periode",
                "Antal borgere i målgruppen",
                *(f"Andel i {pool.requirements[n].label[0].lower()}{pool.requirements[n].label[1:]}" for n in names),
            ],
            colalign=("left", "right", *("right" for _ in names)),
            disable_numparse=True,
        ),
    ]
    for i, name in enumerate(names, 1):
        parts.append(
            f"Resultatkrav {i}\n"
            + tabulate(
                requirement_rows(pool, name, report.project),
                headers=[pool.requirements[name].label, "Antal", "Andel"],
                colalign=("left", "right", "right"),
                disable_numparse=True,
            )
        )
    rows = []
    for code, agg in report.municipalities.items():
        ind = report.indicators.municipalities[code]
        long = ind.long_without_company
        rows.append([
            code, municipality_name(code), number(agg.target),
            *(x for n in names for x in (number(getattr(agg, n).count), _share(getattr(agg, n).count, agg.target),
                                         _verdict(getattr(agg, n).met))),
            f"{number(long.without)} af {number(long.long)}",
            *(number(ind.durations[band]) for band in DURATION_BANDS),
        ])  # fmt: skip
    headers = ["Kode", "Kommune", "Målgruppe"]
    for i, _ in enumerate(names, 1):
        headers += [f"Krav {i}", "Andel", "Opfyldt"]
    headers += ["Langvarige uden virks.", *(f"{band} år" for band in DURATION_BANDS)]
    parts.append("Kommuner\n" + tabulate(rows, headers=headers, disable_numparse=True))
    i = report.input
    parts.append(f"Input: {i.lines} linjer — {i.applied} anvendt, {i.duplicates} dubletter, {i.rejected} afvist")
    return "\n\n".join(parts)


def period_audit_table(result: Audit, pool: PeriodPool) -> str:
    """Per municipality: target group and requirement 1 as published and now, then each
    citizen whose period category changed and the late events that changed it."""
    month = parse_month(result.month)
    parts = [f"{pool.label} — {period_of(pool, month)}: som offentliggjort (data før {result.published_as_of}) mod nu"]
    rows = []
    for code, m in result.municipalities.items():
        p, n = m.published, m.now
        rows.append([code, municipality_name(code), number(p.target), _share(p.requirement_1.count, p.target),
                     _share(p.requirement_2.count, p.target), number(n.target), _share(n.requirement_1.count, n.target),
                     _share(n.requirement_2.count, n.target), str(len(m.changes))])  # fmt: skip
    parts.append(
        tabulate(
            rows,
            headers=[
                "Kode",
                "Kommune",
                "Målgr. (off.)",
                "Krav 1 (off.)",
                "Krav 2 (off.)",
                "Målgr. (nu)",
                "Krav 1 (nu)",
                "Krav 2 (nu)",
                "Ændrede borgere",
            ],
            disable_numparse=True,
        )  # fmt: skip
    )
    lines = []
    for code, m in result.municipalities.items():
        for change in m.changes:
            why = "; ".join(
                f"{e['type']} {e.get('at') or e.get('month') or e.get('event')} (registreret {e['recorded']})"
                for e in change.events
            )
            lines.append(f"{code} {change.citizen}: {change.published} → {change.now}: {why or 'ingen sene hændelser'}")
    return "\n\n".join(parts) + ("\n\n" + "\n".join(lines) if lines else "")
