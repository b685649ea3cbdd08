"""The BIR report (spec §7): period rows per citizen, counted per municipality and month,
then the period aggregates, the indicators, the report and the feed's figure records.

A citizen's *row* for month M is ``(period status, duration band, without company)``: the
period status of :mod:`projections.periods`, and the citizen's course in the indicators
of :mod:`projections.courses` (``None, None`` when they are not in them; ``without`` is
None for a course that is not long). Rows are counted in the first pool's
:class:`projections.aggregates.Tallies` under the citizen's BIR municipality, so the
offline replay, its shards and a live projection add counts up the same way.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

import msgspec

from projections.aggregates import Tallies
from projections.courses import course
from projections.periods import period_months, period_status
from projections.timeline import Timeline, build_timeline
from schemas.calendar import Month, format_month
from schemas.events import AnyEvent, Enrolled
from schemas.periods import (
    DURATION_BANDS,
    PERIOD_CATEGORIES,
    Indicators,
    IndicatorSets,
    LongWithoutCompany,
    PeriodAggregate,
    PeriodCategories,
    PeriodReport,
    PeriodSpan,
    RequirementResult,
    Row,
)
from schemas.pools import PeriodPool, Rules
from schemas.reports import InputCounts, RulesUsed
from schemas.statuses import EXEMPT, OUT

_OUT_ROW: Row = (OUT, None, None)


def citizen_row(
    timeline: Timeline, pool: PeriodPool, month: Month, rules: Rules, memo: tuple[dict, dict] | None = None
) -> Row:
    """One citizen's place in the report of ``month``: period status and course. ``memo``
    (month ranks, company efforts) carries what one month computed over to the next."""
    ranks, efforts = memo if memo is not None else (None, None)
    status = period_status(timeline, pool, month, rules, ranks)
    if status == OUT or status == EXEMPT:
        return (status, None, None)
    found = course(timeline, pool, month, rules, efforts)
    return (status, None, None) if found is None else (status, found.band, found.without_company)


def citizen_rows(timeline: Timeline, pool: PeriodPool, months: Iterable[Month], rules: Rules) -> tuple[Row, ...]:
    """:func:`citizen_row` for each of ``months`` (a live projection's per-citizen vector),
    each month's rank and company effort computed once for all the periods that read it."""
    if timeline.enrolled_on is None:
        return tuple(_OUT_ROW for _ in months)
    memo: tuple[dict, dict] = ({}, {})
    return tuple(citizen_row(timeline, pool, m, rules, memo) for m in months)


def _enrolled_in(events: list[AnyEvent], pool: str) -> bool:
    """A cheap first look: most citizens of a log never enroll in this pool at all."""
    return any(type(e) is Enrolled and e.pool == pool for e in events)


def count_periods(
    citizens: Iterable[Iterable[AnyEvent]],
    *,
    pool: PeriodPool,
    months: Iterable[Month],
    rules: Rules,
    as_of: dt.datetime | None = None,
) -> Tallies:
    """Every BIR citizen's row in each month, counted under their BIR municipality."""
    months = sorted(months)
    rows: Counter[tuple[str, tuple[Row, ...]]] = Counter()
    for events in citizens:
        events = events if isinstance(events, list) else list(events)
        if not _enrolled_in(events, pool.name):
            continue
        timeline = build_timeline(events, pool.name, as_of)
        home = timeline.municipality
        if home is None:
            continue  # the enrollment was retracted or is after the cut-off
        rows[home, citizen_rows(timeline, pool, months, rules)] += 1
    tallies = Tallies()
    for (home, row), n in rows.items():
        for month, cell in zip(months, row, strict=True):
            counts = tallies.get((home, month))
            if counts is None:
                counts = tallies[home, month] = Counter()
            counts[cell] += n
    return tallies


def period_aggregate(counts: Counter, pool: PeriodPool) -> PeriodAggregate:
    """Counted rows → the period aggregate ("BAGG")."""
    categories = dict.fromkeys((c.name for c in PERIOD_CATEGORIES), 0)
    target = 0
    for (status, _, _), n in counts.items():
        if status == OUT or status == EXEMPT:
            continue
        target += n
        if status in categories:
            categories[status] += n
    requirements = {}
    for name, requirement in pool.requirements.items():
        count = sum(categories[c] for c in requirement.categories)
        requirements[name] = RequirementResult(
            count=count, share=count / target if target else None, met=requirement.meets(count, target)
        )
    return PeriodAggregate(target=target, categories=PeriodCategories(**categories), **requirements)


def indicators(counts: Counter) -> Indicators:
    """Counted rows → the course indicators ("IND")."""
    bands = dict.fromkeys(DURATION_BANDS, 0)
    long = without = 0
    for (_, band, without_company), n in counts.items():
        if band is None:
            continue
        bands[band] += n
        if without_company is not None:
            long += n
            without += n if without_company else 0
    return Indicators(
        long_without_company=LongWithoutCompany(long=long, without=without, share=without / long if long else None),
        durations=bands,
    )


def build_period_report(
    tallies: Tallies,
    *,
    pool: PeriodPool,
    month: Month,
    rules: Rules,
    as_of: dt.datetime | None,
    counts: InputCounts,
) -> PeriodReport:
    """Tallies that cover ``month`` → the report object of spec §7. Every enrolling
    municipality is a participant, so the project is all of them and is also the nation."""
    codes = tallies.municipalities(month)
    project = tallies.combined(codes, month)
    by_code = {code: tallies.combined([code], month) for code in codes}
    period = period_months(pool, month)
    return PeriodReport(
        pool=pool.name,
        month=format_month(month),
        period=PeriodSpan(first=format_month(period[0]), last=format_month(period[-1])),
        as_of=as_of.isoformat() if as_of else None,
        rules=RulesUsed(count_social_frikort=rules.count_social_frikort),
        input=counts,
        project=period_aggregate(project, pool),
        municipalities={code: period_aggregate(c, pool) for code, c in by_code.items()},
        indicators=IndicatorSets(
            project=indicators(project), municipalities={code: indicators(c) for code, c in by_code.items()}
        ),
    )


def overview_months(month: Month, periods: int = 3) -> list[Month]:
    """The report months of the overview's periods: the last ``periods`` ending in ``month``."""
    return list(range(month - periods + 1, month + 1))


def project_overview(tallies: Tallies, pool: PeriodPool, months: Iterable[Month]) -> dict[Month, PeriodAggregate]:
    """The project's aggregate of each period ending in ``months`` (seed 001's overview),
    from the same tallies and the same :func:`period_aggregate` as the report."""
    return {m: period_aggregate(tallies.combined(tallies.municipalities(m), m), pool) for m in months}


class PeriodFigure(msgspec.Struct, kw_only=True):
    """One record of the BIR feed: a municipality's or the project's figures for a month."""

    pool: str
    level: str  # "municipality" or "project" (the project is also the nation in BIR)
    code: str | None  # the municipality code; None for the project
    month: str
    period: PeriodSpan
    aggregate: PeriodAggregate
    indicators: Indicators


def period_figure_records(tallies: Tallies, pool: PeriodPool, months: Iterable[Month]) -> list[PeriodFigure]:
    """Tallies → the BIR figure records per (level, code, month) that a live feed publishes:
    every enrolling municipality and the project, for each of ``months``. Each record is
    the report's own aggregate and indicators, so the feed equals the offline report."""
    records = []
    for month in sorted(months):
        period = period_months(pool, month)
        span = PeriodSpan(first=format_month(period[0]), last=format_month(period[-1]))
        codes = tallies.municipalities(month)
        sets = [("project", None, tallies.combined(codes, month))]
        sets += [("municipality", code, tallies.combined([code], month)) for code in codes]
        for level, code, counts in sets:
            records.append(
                PeriodFigure(
                    pool=pool.name,
                    level=level,
                    code=code,
                    month=format_month(month),
                    period=span,
                    aggregate=period_aggregate(counts, pool),
                    indicators=indicators(counts),
                )
            )
    return records
