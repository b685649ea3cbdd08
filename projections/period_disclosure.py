"""Small-number suppression (spec §9) of BIR's figures: one municipality's (or the project's)
period aggregate and course indicators as named counts, and the sums they make up, passed
through the one rule of :func:`projections.disclosure.hidden_cells`.

The cells: ``target``, ``requirement_1``, ``requirement_2``, ``categories.<name>``,
``long``, ``without`` (long courses without company-oriented effort), ``courses`` and
``bands.<band>``. Two cells are never shown but are sums' parts all the same, so that a
small one cannot be read by subtraction: ``outside`` (the target group in neither
requirement) and ``with_company`` (long courses with company-oriented effort).
"""

from __future__ import annotations

import msgspec

from projections.disclosure import hidden_cells
from schemas.periods import DURATION_BANDS, PERIOD_CATEGORIES, Indicators, PeriodAggregate
from schemas.pools import PeriodPool


class PeriodCells(msgspec.Struct, frozen=True):
    """Named counts and the names the reader may not see (the interface of
    :class:`projections.disclosure.Disclosed`, so the HTML model reads either the same way)."""

    values: dict[str, int]
    hidden: frozenset[str]

    def count(self, cell: str) -> int | None:
        return None if cell in self.hidden else self.values[cell]

    def share(self, numerator: str, denominator: str) -> float | None:
        num, den = self.count(numerator), self.count(denominator)
        if num is None or den is None or den == 0:
            return None
        return num / den

    def share_hidden(self, numerator: str, denominator: str) -> bool:
        return numerator in self.hidden or denominator in self.hidden


def period_values(agg: PeriodAggregate, ind: Indicators | None = None) -> dict[str, int]:
    """The aggregate (and the indicators, when given) as named counts."""
    values = {
        "target": agg.target,
        "requirement_1": agg.requirement_1.count,
        "requirement_2": agg.requirement_2.count,
        "outside": agg.target - agg.requirement_1.count,
    }
    values |= {f"categories.{c.name}": getattr(agg.categories, c.name) for c in PERIOD_CATEGORIES}
    if ind is not None:
        long = ind.long_without_company
        values |= {"long": long.long, "without": long.without, "with_company": long.long - long.without}
        values |= {f"bands.{b}": ind.durations[b] for b in DURATION_BANDS}
        values["courses"] = sum(ind.durations[b] for b in DURATION_BANDS)
    return values


def period_sums(pool: PeriodPool, values: dict[str, int]) -> list[tuple[str, list[str]]]:
    """Every (total, parts) the published figures add up: the target group is requirement 1
    and the rest; a requirement is its categories, or another requirement and the rest."""
    out = []
    requirements = sorted(pool.requirements.items(), key=lambda kv: -len(kv[1].categories))
    for name, requirement in requirements:
        parts = [f"categories.{c}" for c in requirement.categories]
        for other, smaller in requirements:  # requirement 1 = company + requirement 2
            if other != name and set(smaller.categories) < set(requirement.categories):
                rest = set(requirement.categories) - set(smaller.categories)
                parts = [other, *(f"categories.{c}" for c in requirement.categories if c in rest)]
                break
        out.append((name, parts))
    widest = requirements[0][0]
    out.append(("target", [widest, "outside"]))
    if "long" in values:
        out.append(("long", ["without", "with_company"]))
        out.append(("courses", [f"bands.{b}" for b in DURATION_BANDS]))
    return out


def disclose_period(pool: PeriodPool, agg: PeriodAggregate, ind: Indicators | None, min_cell: int) -> PeriodCells:
    """Which of the figures of ``agg`` and ``ind`` are hidden under suppression with ``min_cell``."""
    values = period_values(agg, ind)
    return PeriodCells(values, hidden_cells(values, period_sums(pool, values), min_cell))


def undisclosed_period(agg: PeriodAggregate, ind: Indicators | None) -> PeriodCells:
    """Nothing hidden: a job centre's own figures."""
    return PeriodCells(period_values(agg, ind), frozenset())
