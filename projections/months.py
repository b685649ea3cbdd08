"""A citizen's status in calendar months (spec §3), from their timeline.

Priority: ``out`` → ``exempt`` → the first positive category of the hierarchy →
``not_positive``. A fact *touches* a month when it holds on at least one of its days;
exemption and self-support look at the month's last day only.

Each spell is walked once to mark the months it touches with its category's rank (its
place in the hierarchy table), so classifying many months costs little more than one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from projections.timeline import Spell, Timeline
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


def _touched(spell: Spell, lo: Month, hi: Month) -> range:
    """Months in ``[lo, hi]`` that hold at least one day of ``[start, end)``."""
    start, end = spell
    last = hi if end == FOREVER else _month_of(end - 1)
    return range(max(lo, _month_of(start)), min(hi, last) + 1)


def _held_at_month_end(spell: Spell, lo: Month, hi: Month) -> range:
    """Months in ``[lo, hi]`` whose last day lies in ``[start, end)``."""
    start, end = spell
    last = hi if end == FOREVER else _month_of(end) - 1
    return range(max(lo, _month_of(start)), min(hi, last) + 1)


def best_touching(timeline: Timeline, lo: Month, hi: Month) -> dict[Month, int]:
    """Month in ``[lo, hi]`` → rank of the highest category whose fact touches it."""
    best: dict[Month, int] = {}
    first_day, last_day = bounds(lo)[0], bounds(hi)[1]
    spells = [(_FACT_RANK.get(benefit), start, end) for start, end, benefit in timeline.benefits]
    if timeline.education:
        spells += [(_FACT_RANK["education"], start, end) for start, end in timeline.education]
    for offer, held in timeline.offers.items():
        spells += [(_FACT_RANK[offer], start, end) for start, end in held]
    for rank, start, end in spells:
        # Spells that end before the first month or start after the last one touch none.
        if rank is None or end <= first_day or start > last_day:
            continue
        for month in _touched((start, end), lo, hi):
            if rank < best.get(month, _NONE):
                best[month] = rank
    return best


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
    lo, hi = months[0], months[-1]
    first_in = _month_of(timeline.enrolled_on)
    out_from = _month_of(timeline.exit_on) if timeline.exit_on != FOREVER else hi + 1
    exempt = {m for spell in timeline.exemption for m in _held_at_month_end(spell, lo, hi)}
    best = best_touching(timeline, lo, hi)
    result = {}
    for month in months:
        if month < first_in or month >= out_from:
            result[month] = OUT
        elif month in exempt:
            result[month] = EXEMPT
        else:
            result[month] = _category(timeline, month, best.get(month, _NONE), rules)
    return result


def _category(timeline: Timeline, month: Month, rank: int, rules: Rules) -> str:
    """The first category of the hierarchy that holds in an enrolled, measured month.

    ``rank`` is the best category a touching fact gives; income can still beat it.
    """
    hours = timeline.counted_hours.get(month, 0.0)
    if rules.count_social_frikort:
        hours += timeline.frikort_hours.get(month, 0.0)
    if hours > 0:
        if rank > _PAID_HOURS:
            rank = _PAID_HOURS
        if rank > _SELF_SUPPORTING and _SELF_SUPPORT.holds(hours) and benefit_on(timeline, bounds(month)[1]) == "none":
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
