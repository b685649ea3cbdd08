"""BIR's indicators about resource courses (spec §7): how long each course has run, and
whether a long course had any company-oriented effort in the last twelve months.

A citizen counts in the indicators of month M when they are in the target group of the
period ending in M and their benefit on M's last day is ``ressourceforloeb``. The course
started on the first day of the uninterrupted run of ``ressourceforloeb`` days that ends
on M's last day. A day's benefit is the last change of that day, which the benefit spells
of the timeline already are (``projections.timeline.benefit_spells``), so a change away
that is overridden back the same day, or a change to the same benefit, does not
interrupt the run.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from projections.months import counted_hours, touches
from projections.timeline import Timeline
from schemas.calendar import Day, Month, bounds
from schemas.periods import DURATION_BANDS
from schemas.pools import PeriodPool, Rules

COURSE_BENEFIT = "ressourceforloeb"


class Course(NamedTuple):
    """A citizen's place in month M's indicators: the duration band and, when the course
    is long, whether it had no company-oriented effort (None when it is not long)."""

    band: str
    without_company: bool | None


def course_start(timeline: Timeline, day: Day) -> Day | None:
    """The first day of the unbroken run of course days ending on ``day``, or None when
    the benefit on ``day`` is not a resource course."""
    spells = timeline.benefits
    for i in range(len(spells) - 1, -1, -1):
        start, end, benefit = spells[i]
        if start <= day < end:
            break
    else:
        return None
    if benefit != COURSE_BENEFIT:
        return None
    while i > 0 and spells[i - 1][2] == COURSE_BENEFIT and spells[i - 1][1] == spells[i][0]:
        i -= 1
    return spells[i][0]


def years_before(day: dt.date, years: int) -> dt.date:
    """The same month and day ``years`` earlier, or 28 February where that day does not exist."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def whole_years(start: Day, day: Day) -> int:
    """How many whole years a course that started on ``start`` has run on ``day``: the
    largest N with ``start ≤ day − N years``."""
    first, last = dt.date.fromordinal(start), dt.date.fromordinal(day)
    years = last.year - first.year
    while years > 0 and years_before(last, years) < first:
        years -= 1
    return max(years, 0)


def company_effort(timeline: Timeline, month: Month, rules: Rules) -> bool:
    """Some company-oriented effort in ``month``: counted hours, or an internship or wage
    subsidy touching one of its days."""
    if counted_hours(timeline, month, rules) > 0:
        return True
    first_day, last_day = bounds(month)
    return any(touches(held, first_day, last_day) for held in timeline.offers.values())


def without_company(
    timeline: Timeline, pool: PeriodPool, month: Month, rules: Rules, efforts: dict[Month, bool] | None = None
) -> bool:
    """No company-oriented effort in any of the lookback months ending in ``month``.

    ``efforts`` keeps each month's :func:`company_effort` for the caller's next months (a
    month is in twelve lookbacks)."""
    for m in range(month - pool.company_lookback_months + 1, month + 1):
        effort = efforts.get(m) if efforts is not None else None
        if effort is None:
            effort = company_effort(timeline, m, rules)
            if efforts is not None:
                efforts[m] = effort
        if effort:
            return False
    return True


def course(
    timeline: Timeline, pool: PeriodPool, month: Month, rules: Rules, efforts: dict[Month, bool] | None = None
) -> Course | None:
    """The citizen's course on ``month``'s last day, for a citizen of the period's target
    group (the caller decides membership); None when they are not on a course then."""
    day = bounds(month)[1]
    start = course_start(timeline, day)
    if start is None:
        return None
    years = whole_years(start, day)
    band = DURATION_BANDS[min(years, len(DURATION_BANDS) - 1)]
    long = years >= pool.long_course_years
    return Course(band, without_company(timeline, pool, month, rules, efforts) if long else None)
