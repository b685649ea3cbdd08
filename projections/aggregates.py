"""Status counts per (municipality, month) and the aggregates of spec §4.

A :class:`Tallies` is a table in the Kafka Streams sense: it changes only by
``move(key, old, new)``, which takes a citizen's old status out and puts the new one in.
The offline replay moves from ``None``; the live path moves from the previous status.
Both therefore keep the same counts for the same statuses.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from projections.months import statuses
from projections.timeline import build_timeline
from schemas.calendar import Month
from schemas.events import AnyEvent
from schemas.pools import Pool, Rules
from schemas.reports import Aggregate, Categories, Groups
from schemas.statuses import CATEGORIES, EXEMPT, GROUPS, OUT

Key = tuple[str, Month]  # (enrolling municipality, month)


class Tallies(dict[Key, Counter]):
    """(municipality, month) → how many citizens have each status."""

    def move(self, key: Key, old: str | None, new: str | None) -> None:
        counts = self.get(key)
        if counts is None:
            counts = self[key] = Counter()
        if old is not None:
            counts[old] -= 1
        if new is not None:
            counts[new] += 1

    def add(self, other: Tallies) -> Tallies:
        """Add the counts of ``other`` (other citizens) to these: tallies of disjoint sets of
        citizens add up to the tallies of their union."""
        for key, counts in other.items():
            mine = self.get(key)
            if mine is None:
                mine = self[key] = Counter()
            mine.update(counts)
        return self

    def combined(self, codes: Iterable[str], month: Month) -> Counter:
        """The counts of several municipalities in one month, added up."""
        total: Counter = Counter()
        for code in codes:
            counts = self.get((code, month))
            if counts:
                total.update(counts)
        return total

    def municipalities(self, month: Month) -> list[str]:
        """Municipalities that enrolled at least one citizen (every enrolled citizen has a status)."""
        return sorted(code for code, m in self if m == month and sum(self[code, m].values()))


def meets(positive: int, measured: int, pool: Pool) -> bool | None:
    """``positive / measured >= threshold``, in integers so the boundary is exact."""
    if measured == 0:
        return None
    return positive * pool.threshold_denominator >= pool.threshold_numerator * measured


def aggregate(counts: Counter, pool: Pool) -> Aggregate:
    """Counts of statuses → the reported aggregate."""
    enrolled = sum(n for status, n in counts.items() if status != OUT)
    exempt = counts[EXEMPT]
    measured = enrolled - exempt
    categories = {c.name: counts[c.name] for c in CATEGORIES}
    groups = dict.fromkeys(GROUPS, 0)
    for c in CATEGORIES:
        groups[c.group] += categories[c.name]
    positive = sum(categories.values())
    return Aggregate(
        enrolled=enrolled,
        exempt=exempt,
        measured=measured,
        positive=positive,
        share=positive / measured if measured else None,
        groups=Groups(**groups),
        categories=Categories(**categories),
        requirement_met=meets(positive, measured, pool),
    )


def count_statuses(
    citizens: Iterable[Iterable[AnyEvent]],
    *,
    pool: Pool,
    months: Iterable[Month],
    rules: Rules,
    as_of: dt.datetime | None = None,
) -> Tallies:
    """Every citizen's status in each month, counted under their enrolling municipality.

    Citizens are counted by their whole row of statuses first (many share one: out, or the
    same category all along), and the rows are spread over the months once at the end.
    """
    months = sorted(months)
    rows: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for events in citizens:
        timeline = build_timeline(events, pool.name, as_of)
        home = timeline.municipality
        if home is None:
            continue  # never enrolled in this pool (under the cut-off)
        rows[home, tuple(statuses(timeline, months, rules).values())] += 1
    tallies = Tallies()
    for (home, row), n in rows.items():
        for month, status in zip(months, row, strict=True):
            counts = tallies.get((home, month))
            if counts is None:
                counts = tallies[home, month] = Counter()
            counts[status] += n
    return tallies
