"""A citizen's status in calendar months (spec §3), from their timeline.

Priority: ``out`` → ``exempt`` → the first positive category of the hierarchy →
``not_positive``. A fact *touches* a month when it holds on at least one of its days;
exemption and self-support look at the month's last day only.

Each spell is walked once to mark the months it touches, so classifying many months costs
little more than classifying one; the category tests are then set lookups.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from puljemonitor.config import Rules
from schemas.calendar import FOREVER, Day, Month, bounds, month_of_day
from schemas.statuses import CATEGORIES, EXEMPT, NOT_POSITIVE, OUT
from streams.citizen import Spell, Timeline

# Self-support: counted hours above half a full-time month, 37 h × 52 / 12 / 2 = 80.17 h,
# compared without division as 6 × hours > 481.
SELF_SUPPORT_NUMERATOR = 6
SELF_SUPPORT_LIMIT = 481

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
_HIERARCHY = tuple((c.name, TOUCHING_FACT.get(c.name)) for c in CATEGORIES)


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


def touched_months(timeline: Timeline, lo: Month, hi: Month) -> dict[str, set[Month]]:
    """Fact (a benefit, an offer, ``education``) → the months in ``[lo, hi]`` it touches."""
    touched: dict[str, set[Month]] = {}
    for start, end, benefit in timeline.benefits:
        touched.setdefault(benefit, set()).update(_touched((start, end), lo, hi))
    for spell in timeline.education:
        touched.setdefault("education", set()).update(_touched(spell, lo, hi))
    for offer, spells in timeline.offers.items():
        for spell in spells:
            touched.setdefault(offer, set()).update(_touched(spell, lo, hi))
    return touched


def benefit_on(timeline: Timeline, day: Day) -> str | None:
    """The benefit on a day, or None while unknown."""
    for start, end, benefit in timeline.benefits:
        if start <= day < end:
            return benefit
    return None


def statuses(timeline: Timeline, months: Iterable[Month], rules: Rules = Rules()) -> dict[Month, str]:
    """The citizen's status in each of ``months``: ``out``, ``exempt``, a category or ``not_positive``."""
    months = list(months)
    if timeline.enrolled_on is None or not months:
        return dict.fromkeys(months, OUT)
    lo, hi = min(months), max(months)
    first_in = _month_of(timeline.enrolled_on)
    out_from = _month_of(timeline.exit_on) if timeline.exit_on != FOREVER else hi + 1
    exempt = {m for spell in timeline.exemption for m in _held_at_month_end(spell, lo, hi)}
    touched = touched_months(timeline, lo, hi)
    nothing: set[Month] = set()
    result = {}
    for month in months:
        if month < first_in or month >= out_from:
            result[month] = OUT
        elif month in exempt:
            result[month] = EXEMPT
        else:
            hours = timeline.counted_hours.get(month, 0.0)
            if rules.count_social_frikort:
                hours += timeline.frikort_hours.get(month, 0.0)
            result[month] = _category(timeline, month, hours, touched, nothing)
    return result


def _category(timeline: Timeline, month: Month, hours: float, touched: dict[str, set[Month]], nothing: set) -> str:
    """The first category of the hierarchy that holds in an enrolled, measured month."""
    for name, fact in _HIERARCHY:
        if fact is not None:
            if month in touched.get(fact, nothing):
                return name
        elif name == "paid_hours":
            if hours > 0:
                return name
        elif SELF_SUPPORT_NUMERATOR * hours > SELF_SUPPORT_LIMIT and benefit_on(timeline, bounds(month)[1]) == "none":
            return name
    return NOT_POSITIVE


def status(timeline: Timeline, month: Month, rules: Rules = Rules()) -> str:
    """The citizen's status in one month."""
    return statuses(timeline, (month,), rules)[month]
