"""A citizen's status in a calendar month (spec §3), from their timeline.

Priority: ``out`` → ``exempt`` → the first positive category of the hierarchy →
``not_positive``. A fact *touches* a month when it holds on at least one of its days;
exemption and self-support look at the month's last day only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from puljemonitor.config import Rules
from schemas.calendar import Day, Month, bounds
from schemas.statuses import CATEGORIES, EXEMPT, NOT_POSITIVE, OUT
from streams.citizen import Spell, Timeline

# Self-support: counted hours above half a full-time month, 37 h × 52 / 12 / 2 = 80.17 h,
# compared without division as 6 × hours > 481.
SELF_SUPPORT_NUMERATOR = 6
SELF_SUPPORT_LIMIT = 481


def _touches(spells: list[Spell], first: Day, last: Day) -> bool:
    return any(start <= last and end > first for start, end in spells)


def _holds_on(spells: list[Spell], day: Day) -> bool:
    return any(start <= day < end for start, end in spells)


def benefit_on(timeline: Timeline, day: Day) -> str | None:
    """The benefit on a day, or None while unknown."""
    for start, end, benefit in timeline.benefits:
        if start <= day < end:
            return benefit
    return None


def _benefit_touches(timeline: Timeline, benefit: str, first: Day, last: Day) -> bool:
    return any(b == benefit and start <= last and end > first for start, end, b in timeline.benefits)


class _Month:
    """The facts of one citizen-month that the category tests read."""

    __slots__ = ("timeline", "first", "last", "hours")

    def __init__(self, timeline: Timeline, month: Month, rules: Rules) -> None:
        self.timeline = timeline
        self.first, self.last = bounds(month)
        self.hours = timeline.counted_hours.get(month, 0.0)
        if rules.count_social_frikort:
            self.hours += timeline.frikort_hours.get(month, 0.0)

    def benefit_touches(self, benefit: str) -> bool:
        return _benefit_touches(self.timeline, benefit, self.first, self.last)

    def offer_touches(self, offer: str) -> bool:
        return _touches(self.timeline.offers.get(offer, ()), self.first, self.last)


# One test per category of schemas.statuses.CATEGORIES; that table fixes the order.
_TESTS: dict[str, Callable[[_Month], bool]] = {
    "self_supporting": lambda m: benefit_on(m.timeline, m.last) == "none"
    and SELF_SUPPORT_NUMERATOR * m.hours > SELF_SUPPORT_LIMIT,
    "education": lambda m: _touches(m.timeline.education, m.first, m.last),
    "flexjob": lambda m: m.benefit_touches("fleksjob"),
    "paid_hours": lambda m: m.hours > 0,
    "foertidspension": lambda m: m.benefit_touches("foertidspension"),
    "ressourceforloeb": lambda m: m.benefit_touches("ressourceforloeb"),
    "ledighedsydelse": lambda m: m.benefit_touches("ledighedsydelse"),
    "revalidering": lambda m: m.benefit_touches("revalidering"),
    "loentilskud": lambda m: m.offer_touches("loentilskud"),
    "virksomhedspraktik": lambda m: m.offer_touches("virksomhedspraktik"),
}
_HIERARCHY = tuple((c.name, _TESTS[c.name]) for c in CATEGORIES)
assert len(_TESTS) == len(CATEGORIES), "every category needs exactly one test"


def status(timeline: Timeline, month: Month, rules: Rules = Rules()) -> str:
    """The citizen's status in ``month``: ``out``, ``exempt``, a category or ``not_positive``."""
    first, last = bounds(month)
    if timeline.enrolled_on is None or timeline.enrolled_on > last or timeline.exit_on <= last:
        return OUT
    if _holds_on(timeline.exemption, last):
        return EXEMPT
    facts = _Month(timeline, month, rules)
    for name, test in _HIERARCHY:
        if test(facts):
            return name
    return NOT_POSITIVE


def statuses(timeline: Timeline, months: Iterable[Month], rules: Rules = Rules()) -> dict[Month, str]:
    """Statuses for several months; the live path diffs two of these to see what changed."""
    return {month: status(timeline, month, rules) for month in months}
