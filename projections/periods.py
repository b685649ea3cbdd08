"""A citizen's BIR category over a rolling period of months (spec §7).

The report of month M measures the period M−2 .. M. Its target group is the first pool's
test on M (enrolled on or before the period's last day, not exited on or before it, no
exemption holding on it: :func:`projections.months.membership`), and its category is the
first of the hierarchy (:data:`schemas.periods.PERIOD_CATEGORIES`) that holds on some day of
the period. Every category but self-support holds in the period exactly when it holds in
one of its months, and self-support is decided month by month, so a period's category is
the best of its months' (:func:`month_rank`). Facts, counted income, the social-frikort
variant and self-support are the first pool's own rules (``projections.months``).
"""

from __future__ import annotations

from projections.months import counted_hours, membership, self_supporting, touches
from projections.timeline import Timeline
from schemas.calendar import Month, bounds
from schemas.periods import PERIOD_CATEGORIES
from schemas.pools import PeriodPool, Rules
from schemas.statuses import NOT_POSITIVE, OUT

_RANK = {c.name: rank for rank, c in enumerate(PERIOD_CATEGORIES)}
_SELF_SUPPORTING = _RANK["self_supporting"]
_EDUCATION = _RANK["education"]
_FLEXJOB = _RANK["flexjob"]
_PAID_HOURS = _RANK["paid_hours"]
_COMPANY = _RANK["company"]
NO_CATEGORY = len(PERIOD_CATEGORIES)
assert sorted(_RANK.values()) == list(range(NO_CATEGORY)), "every period category needs one test below"


def period_months(pool: PeriodPool, month: Month) -> range:
    """The months of the period that ends in ``month`` (nothing clipped to the pool's start)."""
    return range(month - pool.period_months + 1, month + 1)


def month_rank(timeline: Timeline, month: Month, rules: Rules) -> int:
    """The best period category one month gives, as its rank (:data:`NO_CATEGORY`: none)."""
    first_day, last_day = bounds(month)
    hours = counted_hours(timeline, month, rules)
    if hours > 0 and self_supporting(timeline, month, hours):
        return _SELF_SUPPORTING
    if touches(timeline.education, first_day, last_day):
        return _EDUCATION
    if touches(((s, e) for s, e, benefit in timeline.benefits if benefit == "fleksjob"), first_day, last_day):
        return _FLEXJOB
    if hours > 0:
        return _PAID_HOURS
    for held in timeline.offers.values():  # virksomhedspraktik and loentilskud alike
        if touches(held, first_day, last_day):
            return _COMPANY
    return NO_CATEGORY


def period_status(
    timeline: Timeline, pool: PeriodPool, month: Month, rules: Rules, ranks: dict[Month, int] | None = None
) -> str:
    """``out``, ``exempt``, the period category or ``not_positive`` for the period ending in ``month``.

    ``ranks`` keeps each month's :func:`month_rank` for the next periods of the same citizen
    (a month is in three periods), when the caller derives several months."""
    if timeline.enrolled_on is None:
        return OUT
    kept = membership(timeline, month)
    if kept is not None:
        return kept
    rank = NO_CATEGORY
    for m in period_months(pool, month):
        found = ranks.get(m) if ranks is not None else None
        if found is None:
            found = month_rank(timeline, m, rules)
            if ranks is not None:
                ranks[m] = found
        rank = min(rank, found)
        if rank == _SELF_SUPPORTING:
            break
    return PERIOD_CATEGORIES[rank].name if rank < NO_CATEGORY else NOT_POSITIVE
