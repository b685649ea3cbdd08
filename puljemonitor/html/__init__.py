"""The monthly report as STAR publishes it, as one self-contained HTML file (issue 9).

:mod:`.model` turns the report and its monthly aggregates into figure rows (suppressed per
spec §9), :mod:`.figures` draws them as SVG, :mod:`.page` writes the page, :mod:`.danish`
formats numbers and dates. :func:`render_report` is the one entry point: it computes the
report with the same replay functions as the JSON, once. BIR's report (seed 001) goes the
same way through :func:`render_period_report` and :mod:`.period_model`.
"""

from __future__ import annotations

import datetime as dt

from projections import period_report
from projections.aggregates import aggregate
from projections.period_report import overview_months, project_overview
from projections.reports import history_months, monthly_aggregates
from puljemonitor.html import model, page, period_model
from puljemonitor.replay import Reports
from schemas import pools, reference
from schemas.calendar import Month, format_month, parse_month
from schemas.periods import PeriodReport
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reports import Report


def find_participant(pool: Pool, name_or_code: str) -> str:
    """A participant's name from its name or one of its municipality codes; ValueError if none."""
    for p in pool.participants:
        if name_or_code.casefold() == p.name.casefold() or name_or_code in p.codes:
            return p.name
    raise ValueError(f"{name_or_code!r} is not a participant of {pool.label} (name or municipality code)")


class NotParticipating(ValueError):
    """The municipality a BIR report is asked for has no citizens in it (an operator's mistake)."""


def find_municipality(name_or_code: str) -> str:
    """A municipality's code from its name or code (BIR: every enrolling municipality
    takes part); ValueError if none."""
    for code, name in reference.municipalities().items():
        if name_or_code == code or name_or_code.casefold() == name.casefold():
            return code
    raise ValueError(f"{name_or_code!r} is not a municipality (name or municipality code)")


def render_period_report(
    replay: Reports,
    pool: PeriodPool,
    month: Month,
    rules: Rules,
    as_of: dt.datetime | None,
    *,
    participant: str | None = None,
    unsuppressed: bool = False,
) -> tuple[PeriodReport, str]:
    """BIR's report of ``month`` and its HTML page (seed 001), from one projection: the
    report as the JSON has it and, from the same tallies, the overview's earlier periods.
    ``participant`` is a municipality code; :class:`NotParticipating` if it has no citizens in the report."""
    report, tallies = replay.period_report_and_tallies(pool, month, rules, as_of)
    if participant is not None and participant not in report.municipalities:
        raise NotParticipating(f"{participant} has no citizens in {pool.label} in {format_month(month)}")
    return report, render_period_html(report, tallies, pool, participant=participant, unsuppressed=unsuppressed)


def render_period_html(
    report: PeriodReport, tallies, pool: PeriodPool, *, participant: str | None = None, unsuppressed: bool = False
) -> str:
    """The page of BIR's ``report``, the overview's earlier periods read from the ``tallies``
    it was built from (:meth:`~puljemonitor.replay.Reports.period_report_and_tallies`)."""
    month = parse_month(report.month)
    earlier = overview_months(month)[:-1]
    overview = {format_month(m): a for m, a in project_overview(tallies, pool, earlier).items()}
    focus_overview = None
    if participant is not None:
        focus_overview = {
            format_month(m): period_report.period_aggregate(tallies.combined([participant], m), pool) for m in earlier
        }
    view = period_model.build_period(
        report,
        pool,
        overview,
        pools.configuration().disclosure.min_cell,
        focus=participant,
        focus_overview=focus_overview,
        unsuppressed=unsuppressed,
    )
    return page.render(view, "period_report.html.j2")


def render_report(
    replay: Reports,
    pool: Pool,
    month: Month,
    rules: Rules,
    as_of: dt.datetime | None,
    *,
    participant: str | None = None,
    unsuppressed: bool = False,
) -> tuple[Report, str]:
    """The report of ``month`` and its HTML page (as a job centre reads it, given ``participant``)."""
    months = history_months(pool, month)
    report, tallies = replay.report_and_tallies(pool, month, rules, as_of, months)
    return report, render_html(report, tallies, pool, participant=participant, unsuppressed=unsuppressed)


def render_html(
    report: Report, tallies, pool: Pool, *, participant: str | None = None, unsuppressed: bool = False
) -> str:
    """The page of ``report``, with figure 3 read from the ``tallies`` it was built from."""
    return page.render(build_view(report, tallies, pool, participant=participant, unsuppressed=unsuppressed))


def build_view(
    report: Report, tallies, pool: Pool, *, participant: str | None = None, unsuppressed: bool = False
) -> model.ReportView:
    """What the page of ``report`` shows (:mod:`.model`), figure 3 from its ``tallies``."""
    months = history_months(pool, parse_month(report.month))
    project_codes = [code for p in pool.participants for code in p.codes]
    history = monthly_aggregates(tallies, pool, project_codes, months)
    focus_history = None
    if participant is not None:
        codes = report.participants[participant].codes
        focus_history = monthly_aggregates(tallies, pool, codes, months)
    national_previous = None
    previous = parse_month(report.month) - 1
    if previous in months:  # "Hele landet" for the month before, from the same tallies
        national_previous = aggregate(tallies.combined(tallies.municipalities(previous), previous), pool)
    return model.build(
        report,
        history,
        pools.configuration().disclosure.min_cell,
        focus=participant,
        focus_history=focus_history,
        unsuppressed=unsuppressed,
        national_previous=national_previous,
    )
