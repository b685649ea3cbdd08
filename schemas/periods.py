"""BIR's period categories in the agency's hierarchy, and its report records (spec §7).

The order of :data:`PERIOD_CATEGORIES` *is* the hierarchy (seed 001: "1. selvforsørget
beskæftigelse 2. uddannelse 3. fleksjob 4. ordinære løntimer 5.
virksomhedspraktik/løntilskud"): the first category that holds in a period is the
citizen's. The report's category keys are generated from it; which categories a
requirement counts, and its threshold, are configuration (``schemas/data/pools.toml``).
"""

from __future__ import annotations

import msgspec

from schemas.reports import InputCounts, RulesUsed
from schemas.statuses import EXEMPT, NOT_POSITIVE, OUT, Category

PERIOD_CATEGORIES: tuple[Category, ...] = (
    Category("self_supporting", "employment", "Selvforsørget beskæftigelse"),
    Category("education", "employment", "Uddannelse"),
    Category("flexjob", "employment", "Fleksjob"),
    Category("paid_hours", "employment", "Ordinære løntimer"),
    Category("company", "company", "Virksomhedspraktik/løntilskud"),
)
PERIOD_GROUPS: dict[str, str] = {"employment": "Beskæftigelse mv.", "company": "Virksomhedspraktik/løntilskud"}

DURATION_BANDS: tuple[str, ...] = ("0-1", "1-2", "2-3", "3-4", "4+")
"""Whole years on a resource course at the report month's last day: 0, 1, 2, 3, 4 or more."""

Row = tuple[str, str | None, bool | None]
"""A citizen's place in one month's BIR report: ``(period status, duration band, without
company)``; the band is None outside the indicators, ``without`` None unless the course is long."""

PERIOD_STATUSES: tuple[str, ...] = (OUT, EXEMPT, *(c.name for c in PERIOD_CATEGORIES), NOT_POSITIVE)


def _rows() -> tuple[Row, ...]:
    courses = [(None, None)] + [(band, w) for band in DURATION_BANDS for w in (None, False, True)]
    return tuple(
        (status, None, None) if status in (OUT, EXEMPT) else (status, band, w)
        for status in PERIOD_STATUSES
        for band, w in (courses if status not in (OUT, EXEMPT) else [(None, None)])
    )


ROWS: tuple[Row, ...] = _rows()
"""Every row a citizen can have, generated from the categories and bands: a live worker sends
a citizen's rows as indexes into this table (fewer than 256, one byte a month)."""
ROW_INDEX: dict[Row, int] = {row: i for i, row in enumerate(ROWS)}


def row_label(row: Row) -> str:
    """A row as a text key (internal count records): ``company/1-2/without``, ``out//``."""
    status, band, without = row
    return f"{status}/{band or ''}/{'' if without is None else 'without' if without else 'with'}"


ROW_LABELS: tuple[str, ...] = tuple(row_label(r) for r in ROWS)
ROW_OF_LABEL: dict[str, Row] = dict(zip(ROW_LABELS, ROWS, strict=True))
assert len(ROWS) < 256 and len(ROW_OF_LABEL) == len(ROWS)

PeriodCategories = msgspec.defstruct("PeriodCategories", [(c.name, int) for c in PERIOD_CATEGORIES], kw_only=True)


class RequirementResult(msgspec.Struct, kw_only=True):
    count: int
    share: float | None
    met: bool | None


class PeriodAggregate(msgspec.Struct, kw_only=True):
    """One set of municipalities over one period ("BAGG" in the spec)."""

    target: int
    categories: PeriodCategories  # type: ignore[valid-type]
    requirement_1: RequirementResult
    requirement_2: RequirementResult


class LongWithoutCompany(msgspec.Struct, kw_only=True):
    long: int
    without: int
    share: float | None


class Indicators(msgspec.Struct, kw_only=True):
    """The course indicators of one set of municipalities in one month ("IND")."""

    long_without_company: LongWithoutCompany
    durations: dict[str, int]  # every band of DURATION_BANDS, in that order (the keys are not identifiers)


class PeriodSpan(msgspec.Struct, kw_only=True):
    first: str
    last: str


class IndicatorSets(msgspec.Struct, kw_only=True):
    project: Indicators
    municipalities: dict[str, Indicators]


class PeriodReport(msgspec.Struct, kw_only=True):
    """The report of spec §7."""

    pool: str
    month: str
    period: PeriodSpan
    as_of: str | None
    rules: RulesUsed
    input: InputCounts
    project: PeriodAggregate
    municipalities: dict[str, PeriodAggregate]
    indicators: IndicatorSets
