"""Small-number suppression (spec §9): which cells of an aggregate the public may not see.

A rule, not a rendering: every output for people asks :func:`disclose` which cells to hide
and draws them as hidden. The exact figures stay in the report JSON (the agency's record).

* A count of citizens from 1 to ``min_cell - 1`` is hidden; 0 is shown.
* A share is hidden when its numerator or its denominator is.
* Where parts add up to a shown total (enrolled = exempt + measured; the three groups of
  the positive citizens; the categories of a group) and exactly one part is hidden, the
  smallest other non-zero part is hidden too, so the hidden cell cannot be computed by
  subtraction. Likewise a total hidden by that rule whose parts are all shown (a group
  whose categories would add up to it) gets its smallest non-zero part hidden. Repeated
  until nothing changes, since one step can leave exactly one hidden part in another sum.
* ``requirement_met`` and ``achieved`` are verdicts, never hidden.

Cells are named by their path in the aggregate: ``enrolled``, ``groups.employment``,
``categories.foertidspension``.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from schemas.reports import Aggregate
from schemas.statuses import CATEGORIES, GROUPS


class Disclosed(msgspec.Struct, frozen=True):
    """An aggregate and the names of its cells the reader may not see."""

    aggregate: Aggregate
    hidden: frozenset[str]

    def count(self, cell: str) -> int | None:
        """The cell's count, or None when it is hidden."""
        return None if cell in self.hidden else cell_value(self.aggregate, cell)

    def share(self, numerator: str, denominator: str) -> float | None:
        """numerator / denominator, or None when either is hidden or the denominator is 0."""
        num, den = self.count(numerator), self.count(denominator)
        if num is None or den is None or den == 0:
            return None
        return num / den

    def share_hidden(self, numerator: str, denominator: str) -> bool:
        return numerator in self.hidden or denominator in self.hidden


def cell_value(agg: Aggregate, cell: str) -> int:
    """The count at a cell path of an aggregate."""
    head, _, tail = cell.partition(".")
    value = getattr(agg, head)
    return getattr(value, tail) if tail else value


def is_small(count: int, min_cell: int) -> bool:
    """A count the public may not see on its own: 1 .. min_cell - 1 (0 is shown)."""
    return 0 < count < min_cell


def sums(agg: Aggregate) -> list[tuple[str, list[str]]]:
    """Every (total, parts) that the published aggregate adds up."""
    out = [("enrolled", ["exempt", "measured"]), ("positive", [f"groups.{g}" for g in GROUPS])]
    for group in GROUPS:
        out.append((f"groups.{group}", [f"categories.{c.name}" for c in CATEGORIES if c.group == group]))
    return out


def complementary(values: dict[str, int], total: str, parts: Iterable[str], hidden: set[str]) -> str | None:
    """The part to hide so a hidden cell of a sum cannot be recovered, if any: with a shown
    total, one hidden part would follow by subtraction; with a hidden total (itself hidden
    by this rule one level up) and every part shown, the total would follow by addition."""
    parts = list(parts)
    n_hidden = sum(p in hidden for p in parts)
    if not (n_hidden == 1 and total not in hidden) and not (n_hidden == 0 and total in hidden):
        return None
    candidates = [p for p in parts if p not in hidden and values[p] > 0]
    return min(candidates, key=lambda p: (values[p], parts.index(p))) if candidates else None


def disclose(agg: Aggregate, min_cell: int) -> Disclosed:
    """Which cells of ``agg`` are hidden under small-number suppression with ``min_cell``."""
    cells = {"enrolled", "exempt", "measured", "positive"}
    cells |= {f"groups.{g}" for g in GROUPS} | {f"categories.{c.name}" for c in CATEGORIES}
    values = {cell: cell_value(agg, cell) for cell in cells}
    return Disclosed(agg, hidden_cells(values, sums(agg), min_cell))


def hidden_cells(values: dict[str, int], relations: list[tuple[str, list[str]]], min_cell: int) -> frozenset[str]:
    """The rule itself, for any named counts and the sums they make up (the first pool's
    aggregate above, BIR's period aggregate in :mod:`projections.period_disclosure`)."""
    hidden = {cell for cell, n in values.items() if is_small(n, min_cell)}
    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            extra = complementary(values, total, parts, hidden)
            if extra is not None:
                hidden.add(extra)
                changed = True
    return frozenset(hidden)


def undisclosed(agg: Aggregate) -> Disclosed:
    """The aggregate with nothing hidden: a job centre's own figures, the agency's view."""
    return Disclosed(agg, frozenset())
