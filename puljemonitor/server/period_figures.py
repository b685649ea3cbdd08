"""The server's answers for BIR (spec §7), the pool measured over periods, computed by the CLI's
own functions: the report by :meth:`~puljemonitor.replay.Reports.period_report_and_tallies`
(:func:`~projections.period_report.build_period_report`), a citizen's rows by
:func:`~projections.period_report.citizen_rows`, the deciding events by
:func:`~projections.audit.audit`, and the suppression by :func:`~projections.period_disclosure.disclose_period`. Nothing here
computes a figure; it chooses per caller which cells to hide, as :mod:`.figures` does for
the first pool, whose cache, lookups and access checks it shares (:class:`.figures.Figures`
calls in here for a :class:`~schemas.pools.PeriodPool`, and draws BIR's page itself with
:func:`~puljemonitor.html.render_period_html`).

BIR has no participants beyond its municipalities (every enrolling municipality is in the
project, spec §7), so the participant endpoints answer 404 for it and the dashboard's
"Deltager" choice lists the municipalities with citizens in the month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Protocol

import msgspec

from projections.aggregates import Tallies
from projections.period_disclosure import disclose_period, undisclosed_period
from projections.period_report import citizen_rows, indicators, period_aggregate
from projections.periods import period_months
from puljemonitor.replay import Reports
from puljemonitor.server import period_shapes as ps
from puljemonitor.server.access import Role
from puljemonitor.server.citizens import listed
from puljemonitor.server.source import FiguresSource
from schemas import pools
from schemas.calendar import Month, format_month
from schemas.periods import Indicators, PeriodAggregate, PeriodReport, PeriodSpan
from schemas.pools import PeriodPool, Rules
from schemas.reference import Participant


class Figures(Protocol):
    """What these answers use of :class:`.figures.Figures` (which calls in here: a protocol,
    not an import, so the two modules do not import each other)."""

    source: FiguresSource
    reports: Reports
    min_cell: int

    def cached(self, key: Hashable, compute: Callable[[], object]) -> object: ...
    def municipality(self, code: str) -> str: ...
    def as_of(self, pool: PeriodPool, month: Month, view: str) -> dt.datetime | None: ...


NO_PARTICIPANTS = (
    "BIR has no participants apart from its municipalities: every enrolling municipality is in the project "
    "(spec §7); ask for …/reports/{month}/municipalities/{code}"
)


def span(pool: PeriodPool, month: Month) -> PeriodSpan:
    months = period_months(pool, month)
    return PeriodSpan(first=format_month(months[0]), last=format_month(months[-1]))


def report_and_tallies(
    f: Figures, pool: PeriodPool, month: Month, rules: Rules, as_of: dt.datetime | None
) -> tuple[PeriodReport, Tallies]:
    return f.cached(("period_report", pool.name, month, rules, as_of),
                    lambda: f.reports.period_report_and_tallies(pool, month, rules, as_of))  # fmt: skip


def shown(f: Figures, pool: PeriodPool, agg: PeriodAggregate, ind: Indicators, exact: bool):
    """The aggregate and its indicators as a caller sees them: one suppression decision for both."""
    cells = undisclosed_period(agg, ind) if exact else disclose_period(pool, agg, ind, f.min_cell)
    return ps.shown_aggregate(agg, cells), ps.shown_indicators(ind, cells)


def report(f: Figures, pool: PeriodPool, month: Month, view: str, rules: Rules, role: Role) -> ps.ShownPeriodReport:
    """The report of spec §7: the project exact for star only, a municipality for its own token."""
    report, _ = report_and_tallies(f, pool, month, rules, f.as_of(pool, month, view))
    project, project_ind = shown(f, pool, report.project, report.indicators.project, role.star)
    municipalities, municipal_ind = {}, {}
    for code, agg in report.municipalities.items():
        municipalities[code], municipal_ind[code] = shown(
            f, pool, agg, report.indicators.municipalities[code], role.owns(code)
        )
    return ps.ShownPeriodReport(
        pool=report.pool,
        month=report.month,
        period=report.period,
        view=view,
        as_of=report.as_of,
        rules=report.rules,
        input=report.input,
        project=project,
        municipalities=municipalities,
        indicators=ps.ShownIndicatorSets(project=project_ind, municipalities=municipal_ind),
    )


def municipality_figures(
    f: Figures, pool: PeriodPool, month: Month, code: str, view: str, rules: Rules, role: Role
) -> ps.PeriodMunicipalityFigures:
    """One municipality's figures, from the report's tallies (zeros when it has no BIR citizens)."""
    name = f.municipality(code)
    as_of = f.as_of(pool, month, view)
    _, tallies = report_and_tallies(f, pool, month, rules, as_of)
    counts = tallies.combined([code], month)
    agg, ind = shown(f, pool, period_aggregate(counts, pool), indicators(counts), role.owns(code))
    return ps.PeriodMunicipalityFigures(
        pool=pool.name,
        month=format_month(month),
        period=span(pool, month),
        view=view,
        as_of=as_of.isoformat() if as_of else None,
        municipality=code,
        name=name,
        aggregate=agg,
        indicators=ind,
    )


def citizens(f: Figures, pool: PeriodPool, code: str, month: Month, rules: Rules, candidates, detail: bool = False):
    """The municipality's BIR citizens: each one's row in the pool's months up to ``month``
    and, where the month's period category differs from the published one, the audit's
    deciding events. A citizen of another municipality (now and as published) is left out."""

    def describe(timeline, change, months, here) -> dict:
        rows = citizen_rows(timeline, pool, months, rules) if here else ()
        status, band, without = rows[-1] if rows else (change.now, None, None)
        return {
            "status": change.now if change else status,
            "band": band,
            "without_company": without,
            "rows": {format_month(m): ps.PeriodRow(status=r[0], band=r[1], without_company=r[2])
                     for m, r in zip(months, rows, strict=False)},
        }  # fmt: skip

    cutoff, found = listed(pool, code, month, rules, candidates, detail, describe,
                           (ps.PeriodCitizen, ps.PeriodCitizenDetail))  # fmt: skip
    return ps.PeriodCitizens(
        pool=pool.name,
        municipality=code,
        month=format_month(month),
        period=span(pool, month),
        published_as_of=cutoff.isoformat(),
        citizens=found,
    )


def municipalities(f: Figures, pool: PeriodPool, month: Month, view: str) -> list[Participant]:
    """The dashboard's choices for BIR: each municipality with citizens in the month's report,
    as a one-code participant (so the page's access check is the first pool's)."""
    report, _ = report_and_tallies(f, pool, month, Rules(), f.as_of(pool, month, view))
    return [Participant(name=f.municipality(code), codes=(code,)) for code in report.municipalities]


def changed_figures(f: Figures, pool: PeriodPool, keys) -> list[tuple]:
    """The now view's BIR figures a change touched: each touched municipality's and the
    project's aggregate and indicators, for :meth:`.figures.Figures.change_payload`."""
    tallies = f.source.tallies(pool, Rules(), None)
    out = []
    for month in sorted({m for _, m in keys}):
        text = format_month(month)
        for code in sorted({c for c, m in keys if m == month}):
            counts = tallies.combined([code], month)
            out.append((pool.name, "municipality", code, text, (period_aggregate(counts, pool), indicators(counts)),
                        frozenset([code])))  # fmt: skip
        counts = tallies.combined(tallies.municipalities(month), month)
        out.append(
            (pool.name, "project", None, text, (period_aggregate(counts, pool), indicators(counts)), frozenset())
        )
    return out


def shown_figure(f: Figures, pool_name: str, value: tuple[PeriodAggregate, Indicators], exact: bool) -> dict:
    """One changed BIR figure as a subscriber sees it."""
    agg, ind = shown(f, pools.pool(pool_name), *value, exact)
    return {"aggregate": msgspec.to_builtins(agg), "indicators": msgspec.to_builtins(ind)}
