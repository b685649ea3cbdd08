"""A citizen's status in calendar months (spec §3), from their timeline.

Priority: ``out`` → ``exempt`` → the first positive category of the hierarchy →
``not_positive``. A fact *touches* a month when it holds on at least one of its days;
exemption and self-support look at the month's last day only.

A month's category is the lowest rank (place in the hierarchy table) among the facts that
touch it, unless its income gives a better one. Months after a citizen's last fact are all
alike, so :func:`statuses` classifies one of them and copies it: a citizen costs the months
of their history, not the months asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from projections.timeline import Timeline
from schemas.calendar import FOREVER, Day, Month, bounds, month_of_day
from schemas.pools import Rules, configuration
from schemas.statuses import CATEGORIES, EXEMPT, NOT_POSITIVE, OUT

# The categories decided by a fact touching the month, and the fact each one reads.
# The other two, self_supporting and paid_hours, read the month's income hours.
TOUCHING_FACT: dict[str, str] = {
    "education": "education",
    "flexjob": "fleksjob",
    "foertidspension": "foertidspension",
    "ressourceforloeb": "ressourceforloeb",
    "ledighedsydelse": "ledighedsydelse",
    "revalidering": "revalidering",
    "loentilskud": "loentilskud",
    "virksomhedspraktik": "virksomhedspraktik",
}
INCOME_CATEGORIES = ("self_supporting", "paid_hours")
assert set(TOUCHING_FACT) | set(INCOME_CATEGORIES) == {c.name for c in CATEGORIES}, "every category needs one test"

# A category's rank is its place in the hierarchy table: lower wins.
_RANK = {c.name: rank for rank, c in enumerate(CATEGORIES)}
_FACT_RANK = {fact: _RANK[name] for name, fact in TOUCHING_FACT.items()}
_SELF_SUPPORTING = _RANK["self_supporting"]
_PAID_HOURS = _RANK["paid_hours"]
_NONE = len(CATEGORIES)
_SELF_SUPPORT = configuration().self_support


@functools.cache
def _month_of(day: Day) -> Month:
    return month_of_day(day)


def benefit_on(timeline: Timeline, day: Day) -> str | None:
    """The benefit on a day, or None while unknown."""
    for start, end, benefit in timeline.benefits:
        if start <= day < end:
            return benefit
    return None


def statuses(timeline: Timeline, months: Iterable[Month], rules: Rules = Rules()) -> dict[Month, str]:
    """The citizen's status in each of ``months``: ``out``, ``exempt``, a category or ``not_positive``.

    No fact changes after ``timeline.last_day``, so every month after that day's month has
    the status of the first of them (``settled``): it is classified once and copied.
    """
    months = list(months)
    if timeline.enrolled_on is None or not months:
        return dict.fromkeys(months, OUT)
    settled = settled_month(timeline)
    if max(months) <= settled:
        return classify(timeline, sorted(months), rules)
    if min(months) > settled:
        return dict.fromkeys(months, classify(timeline, [settled], rules)[settled])
    by_month = classify(timeline, sorted({min(m, settled) for m in months}), rules)
    return {m: by_month[min(m, settled)] for m in months}


def settled_month(timeline: Timeline) -> Month:
    """The first month after the last fact changed: it and every later month are alike."""
    return _month_of(timeline.last_day) + 1


def classify(timeline: Timeline, months: list[Month], rules: Rules) -> dict[Month, str]:
    """:func:`statuses` of an enrolled citizen, month by month (``months`` sorted)."""
    return {month: month_status(timeline, month, rules) for month in months}


def membership(timeline: Timeline, month: Month) -> str | None:
    """``out`` (not yet enrolled on the month's last day, or exited on or before it),
    ``exempt`` (an exemption holds on its last day), or None: an enrolled citizen is measured.

    BIR's target group of the period ending in ``month`` is the same test (spec §7).
    """
    return _membership(timeline, month, bounds(month)[1])


def _membership(timeline: Timeline, month: Month, last_day: Day) -> str | None:
    """:func:`membership`, given the month's last day (the first pool's hot path has it)."""
    if month < _month_of(timeline.enrolled_on) or (
        timeline.exit_on != FOREVER and month >= _month_of(timeline.exit_on)
    ):
        return OUT
    for start, end in timeline.exemption:
        if start <= last_day < end:  # held on the month's last day
            return EXEMPT
    return None


def counted_hours(timeline: Timeline, month: Month, rules: Rules) -> float:
    """The month's counted income hours: ordinary and apprentice, plus the social frikort
    under the rule variant (the one place that variant is decided)."""
    hours = timeline.counted_hours.get(month, 0.0)
    if rules.count_social_frikort:
        hours += timeline.frikort_hours.get(month, 0.0)
    return hours


def self_supporting(timeline: Timeline, month: Month, hours: float) -> bool:
    """Self-support in a month: ``6 × hours > 481`` and the benefit on its last day is ``none``."""
    return _SELF_SUPPORT.holds(hours) and benefit_on(timeline, bounds(month)[1]) == "none"


def touches(spells: Iterable[tuple[Day, Day]], first_day: Day, last_day: Day) -> bool:
    """Whether one of the half-open spells holds on a day of ``[first_day, last_day]``."""
    for start, end in spells:
        if start <= last_day and end > first_day:
            return True
    return False


def month_status(timeline: Timeline, month: Month, rules: Rules) -> str:
    """The status of an enrolled citizen in one month: out, exempt, a category or not positive."""
    first_day, last_day = bounds(month)
    kept = _membership(timeline, month, last_day)
    if kept is not None:
        return kept
    rank = _NONE
    # A fact touches the month when it holds on one of its days: [start, end) meets it.
    for start, end, benefit in timeline.benefits:
        fact_rank = _FACT_RANK.get(benefit)
        if fact_rank is not None and fact_rank < rank and start <= last_day and end > first_day:
            rank = fact_rank
    education = _FACT_RANK["education"]
    # The touch test of :func:`touches`, written out because this runs for every citizen and
    # month of a replay: with a call per spell list (and membership() looking the month's
    # bounds up again) month_status took ~20 % longer (a micro-benchmark over 82,000 timelines).
    if education < rank:
        for start, end in timeline.education:
            if start <= last_day and end > first_day:
                rank = education
                break
    for offer, held in timeline.offers.items():
        fact_rank = _FACT_RANK[offer]
        if fact_rank < rank:
            for start, end in held:
                if start <= last_day and end > first_day:
                    rank = fact_rank
                    break
    return _category(timeline, month, rank, rules)


def _category(timeline: Timeline, month: Month, rank: int, rules: Rules) -> str:
    """The first category of the hierarchy that holds in an enrolled, measured month.

    ``rank`` is the best category a touching fact gives; income can still beat it.
    """
    hours = counted_hours(timeline, month, rules)
    if hours > 0:
        if rank > _PAID_HOURS:
            rank = _PAID_HOURS
        if rank > _SELF_SUPPORTING and self_supporting(timeline, month, hours):
            rank = _SELF_SUPPORTING
    return CATEGORIES[rank].name if rank < _NONE else NOT_POSITIVE


def raised_by_income(timeline: Timeline, month: Month, status: str, rules: Rules) -> str:
    """The status of ``month`` after income was added to it, given its status before.

    Hours only grow (a retraction is a new derivation), so income can only raise the month's
    category: the old status stands for the best touching fact, and the hierarchy decides
    between it and what the month's hours now give. Out and exempt months stay so.
    """
    if status == OUT or status == EXEMPT:
        return status
    return _category(timeline, month, _RANK.get(status, _NONE), rules)


def status(timeline: Timeline, month: Month, rules: Rules = Rules()) -> str:
    """The citizen's status in one month."""
    return statuses(timeline, (month,), rules)[month]
