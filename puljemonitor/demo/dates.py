"""The demo's calendar: month indices, day ordinals and timestamps, in one place.

Why its own module: every other part of the generator counts in the same units (a month
is an index from ``FIRST_MONTH``, a day is a proleptic ordinal, a line's sort key is
seconds on the ordinal scale, UTC), and the per-line helpers are hot enough to be
cached here once. The span is the pool's: from the enrollment month to the pool's last
monitored month.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from schemas import pools
from schemas.calendar import parse_month, start_of_month_in

POOL = "afklaringspuljen"
_POOL = pools.pool(POOL)
ENROLL_LAST = _POOL.enrollment_closes  # 2020-08-02, Sunday of ISO week 31: the freeze
ENROLL_FIRST = ENROLL_LAST - timedelta(days=6)  # Monday of ISO week 31
# The log spans the enrollment week (which straddles July/August 2020) up to the pool's
# last monitored month, one year after the pool ended (seed 002: "one year later").
FIRST_MONTH = (ENROLL_FIRST.year, ENROLL_FIRST.month)
_LAST = parse_month(_POOL.last_month)
LAST_MONTH = (_LAST // 12, _LAST % 12 + 1)
# Month k is published at the end of month k + lag: lines recorded from the start of
# month k + PUBLISHED_AFTER on missed its publication (spec section 5).
PUBLISHED_AFTER = _POOL.publication_lag_months + 1


def month_index(year: int, month: int) -> int:
    return (year - FIRST_MONTH[0]) * 12 + month - FIRST_MONTH[1]


N_MONTHS = month_index(*LAST_MONTH) + 1


def month_of_index(k: int) -> tuple[int, int]:
    total = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1 + k
    return total // 12, total % 12 + 1


def _first_ordinal(k: int) -> int:
    return date(*month_of_index(k), 1).toordinal()


MONTH_FIRST = [_first_ordinal(k) for k in range(N_MONTHS + 6)]
MONTH_LAST = [MONTH_FIRST[k + 1] - 1 for k in range(N_MONTHS + 5)]
MONTH_TEXT = ["%04d-%02d" % month_of_index(k) for k in range(N_MONTHS + 5)]
END_ORDINAL = MONTH_LAST[N_MONTHS - 1]

_DATE_TEXT: dict[int, str] = {}


def date_text(ordinal: int) -> str:
    text = _DATE_TEXT.get(ordinal)
    if text is None:
        text = _DATE_TEXT[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


_MONTH_OF: dict[int, int] = {}


def month_of_ordinal(ordinal: int) -> int:
    k = _MONTH_OF.get(ordinal)
    if k is None:
        d = date.fromordinal(ordinal)
        k = _MONTH_OF[ordinal] = month_index(d.year, d.month)
    return k


def _last_sunday(year: int, month: int) -> int:
    last = date(year, month, 31)
    return last.toordinal() - (last.weekday() + 1) % 7


_DST: dict[int, tuple[int, int]] = {}


def _copenhagen_offset_hours(ordinal: int) -> int:
    """UTC offset of Copenhagen for daytime on that day (EU summer time rule).

    Only daytime stamps are produced, so the switch at night never matters.
    """
    year = date.fromordinal(ordinal).year
    span = _DST.get(year)
    if span is None:
        span = _DST[year] = (_last_sunday(year, 3), _last_sunday(year, 10))
    return 2 if span[0] <= ordinal < span[1] else 1


def _cutoff_key(k: int) -> int:
    """Sort key (UTC seconds) of the first instant of month k + PUBLISHED_AFTER in the
    pool's publication time zone: lines recorded at or after it missed month k's publication."""
    year, month = month_of_index(k + PUBLISHED_AFTER)
    start = start_of_month_in(year * 12 + month - 1, _POOL.publication_timezone)
    return start.toordinal() * 86400 - int(start.utcoffset().total_seconds())


def local_stamp(ordinal: int, rng: random.Random) -> tuple[str, int]:
    """A working-hours timestamp with the Copenhagen offset, and its UTC sort key."""
    seconds = rng.randrange(7 * 3600, 19 * 3600)
    offset = _copenhagen_offset_hours(ordinal)
    h, rest = divmod(seconds, 3600)
    text = "%sT%02d:%02d:%02d+%02d:00" % (date_text(ordinal), h, rest // 60, rest % 60, offset)
    return text, ordinal * 86400 + seconds - offset * 3600


def zulu_stamp(ordinal: int, rng: random.Random) -> tuple[str, int]:
    """A night-batch timestamp in UTC ('Z'), as register extracts carry them."""
    seconds = rng.randrange(3600, 5 * 3600)
    h, rest = divmod(seconds, 3600)
    text = "%sT%02d:%02d:%02dZ" % (date_text(ordinal), h, rest // 60, rest % 60)
    return text, ordinal * 86400 + seconds


def intensity_table(knot_table: tuple[tuple[str, float], ...]) -> list[float]:
    """A value per month index, linear between ``("YYYY-MM", value)`` knots."""
    knots = [(month_index(int(m[:4]), int(m[5:])), v) for m, v in knot_table]
    table = []
    for k in range(N_MONTHS):
        (k0, v0), (k1, v1) = next((a, b) for a, b in zip(knots, knots[1:]) if a[0] <= k <= b[0])
        table.append(v0 + (v1 - v0) * (k - k0) / (k1 - k0))
    return table


CUTOFF_KEYS = [_cutoff_key(k) for k in range(N_MONTHS + 2)]


def add_years(ordinal: int, years: int) -> int:
    d = date.fromordinal(ordinal)
    try:
        return d.replace(year=d.year + years).toordinal()
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28).toordinal()


def ordinal_of_key(key: int) -> int:
    return key // 86400
