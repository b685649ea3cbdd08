"""Months and days as integers, the units every rule is evaluated in.

A month is ``year * 12 + (month - 1)`` and a day is its proleptic ordinal
(``date.toordinal()``): comparisons and ranges become integer arithmetic, which keeps the
per-citizen rules simple and fast. Shared by the state machine and the projections.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

Month = int
Day = int

FOREVER: Day = dt.date.max.toordinal() + 1
"""End of an interval that is still open."""


def month_of(day: dt.date) -> Month:
    return day.year * 12 + day.month - 1


def month_of_day(day: Day) -> Month:
    return month_of(dt.date.fromordinal(day))


@functools.cache
def parse_month(text: str) -> Month:
    """``YYYY-MM`` → month; ValueError naming the text when it is not one."""
    if len(text) != 7 or text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit()):
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return year * 12 + month - 1


def format_month(month: Month) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def first_day(month: Month) -> dt.date:
    return dt.date(month // 12, month % 12 + 1, 1)


@functools.lru_cache(maxsize=4096)
def bounds(month: Month) -> tuple[Day, Day]:
    """First and last day of a month as ordinals."""
    start = first_day(month).toordinal()
    return start, first_day(month + 1).toordinal() - 1


def month_range(first: Month, last: Month) -> range:
    return range(first, last + 1)


def start_of_month_in(month: Month, timezone: str) -> dt.datetime:
    """The first instant of ``month`` in a named time zone, as an aware datetime."""
    return dt.datetime.combine(first_day(month), dt.time(), tzinfo=zoneinfo.ZoneInfo(timezone))
