"""The month report of spec §6, assembled from tallies."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from fractions import Fraction

from projections.aggregates import Tallies, aggregate
from schemas.calendar import Month, format_month, month_range, parse_month, start_of_month_in
from schemas.pools import Pool, Rules
from schemas.reference import Participant
from schemas.reports import Aggregate, InputCounts, ParticipantResult, Report, RulesUsed


def window_months(pool: Pool, month: Month) -> range:
    """Requirement-window months that count for a report of ``month`` (none after it)."""
    return month_range(parse_month(pool.window_first), min(parse_month(pool.window_last), month))


def report_months(pool: Pool, month: Month) -> list[Month]:
    """Every month a report of ``month`` reads: the month itself and its window months."""
    return sorted({month, *window_months(pool, month)})


def published_cutoff(pool: Pool, month: Month) -> dt.datetime:
    """Month M is published at the end of M + lag: only events recorded before that count."""
    return start_of_month_in(month + pool.publication_lag_months + 1, pool.publication_timezone)


def participant_result(tallies: Tallies, participant: Participant, pool: Pool, month: Month) -> ParticipantResult:
    """A participant's aggregate for ``month`` and its best month of the window so far."""
    return participant_results(lambda m: tallies.combined(participant.codes, m), participant, pool, [month])[month]


def participant_results(
    counts: Callable[[Month], Counter], participant: Participant, pool: Pool, months: Iterable[Month]
) -> dict[Month, ParticipantResult]:
    """:func:`participant_result` for several months, from ``counts(month)`` (the participant's
    municipalities' statuses added up), each month's aggregate computed once (the live totals
    re-emit a participant's every later month when a window month changes, and keep the sums)."""
    cache: dict[Month, Aggregate] = {}

    def monthly(m: Month) -> Aggregate:
        if m not in cache:
            cache[m] = aggregate(counts(m), pool)
        return cache[m]

    # The window so far after each of its months: the best share (the first month to reach
    # it) and whether any month met the requirement. A report month reads the entry of its last
    # window month, so the window is walked once for all the months asked for.
    months = sorted(months)
    so_far: dict[Month, tuple[tuple[Fraction, Month] | None, bool]] = {}
    best: tuple[Fraction, Month] | None = None
    achieved = False
    for m in window_months(pool, months[-1]) if months else ():
        agg = monthly(m)
        if agg.measured:
            achieved = achieved or bool(agg.requirement_met)
            share = Fraction(agg.positive, agg.measured)
            if best is None or share > best[0]:
                best = (share, m)
        so_far[m] = (best, achieved)
    results = {}
    for month in months:
        window = window_months(pool, month)
        best, achieved = so_far[window[-1]] if window else (None, False)
        results[month] = ParticipantResult(
            codes=list(participant.codes),
            aggregate=monthly(month),
            achieved=achieved,
            best_month=format_month(best[1]) if best else None,
            best_share=float(best[0]) if best else None,
        )
    return results


def build_report(
    tallies: Tallies,
    *,
    pool: Pool,
    month: Month,
    rules: Rules,
    as_of: dt.datetime | None,
    counts: InputCounts,
) -> Report:
    """Tallies that cover :func:`report_months` → the report object of spec §6."""
    present = tallies.municipalities(month)
    project_codes = [code for p in pool.participants for code in p.codes]
    participants = {p.name: participant_result(tallies, p, pool, month) for p in pool.participants}
    return Report(
        pool=pool.name,
        month=format_month(month),
        as_of=as_of.isoformat() if as_of else None,
        rules=RulesUsed(count_social_frikort=rules.count_social_frikort),
        input=counts,
        project=aggregate(tallies.combined(project_codes, month), pool),
        national=aggregate(tallies.combined(present, month), pool),
        municipalities={code: aggregate(tallies.combined([code], month), pool) for code in present},
        participants=participants,
        achieved_count=sum(r.achieved for r in participants.values()),
        participant_count=len(participants),
    )


def monthly_aggregates(
    tallies: Tallies, pool: Pool, codes: Iterable[str], months: Iterable[Month]
) -> dict[str, Aggregate]:
    """The aggregate of ``codes`` in each of ``months`` (a report's development over time),
    from the same tallies and the same :func:`aggregate` as the report itself."""
    codes = list(codes)
    return {format_month(m): aggregate(tallies.combined(codes, m), pool) for m in months}


def history_months(pool: Pool, month: Month) -> list[Month]:
    """The pool's months up to and including ``month``: the x axis of a development figure."""
    return list(month_range(parse_month(pool.first_month), month))
