"""The JSON the API answers with for BIR (spec §7), the pool measured over periods: the report
object of spec §7 with each caller's hidden cells as null (spec §9), and a municipality's
citizens with their BIR rows.

The cells are those of :mod:`projections.period_disclosure`, and one suppression decision
(:func:`~projections.period_disclosure.disclose_period`) covers an aggregate and its
indicators together, as the HTML report shows them; each half lists its own hidden cells in
``suppressed``. ``met`` is never suppressed (the agency's published verdict).
"""

from __future__ import annotations

import msgspec

from projections.period_disclosure import PeriodCells
from puljemonitor.server.shapes import AuditChange
from schemas.periods import DURATION_BANDS, PERIOD_CATEGORIES, Indicators, PeriodAggregate, PeriodSpan
from schemas.reports import InputCounts, RulesUsed

ShownPeriodCategories = msgspec.defstruct(
    "ShownPeriodCategories", [(c.name, int | None) for c in PERIOD_CATEGORIES], kw_only=True
)
AGGREGATE_CELLS = ("target", "requirement_1", "requirement_2", *(f"categories.{c.name}" for c in PERIOD_CATEGORIES))
INDICATOR_CELLS = ("long", "without", *(f"bands.{b}" for b in DURATION_BANDS))


class ShownRequirement(msgspec.Struct, kw_only=True):
    count: int | None
    share: float | None  # null also when the count or the target group is hidden
    met: bool | None  # a published verdict: never suppressed (null only for an empty target group)


class ShownPeriodAggregate(msgspec.Struct, kw_only=True):
    """A period aggregate of spec §7 ("BAGG") as this caller may see it."""

    target: int | None
    categories: ShownPeriodCategories  # type: ignore[valid-type]
    requirement_1: ShownRequirement
    requirement_2: ShownRequirement
    suppressed: list[str]  # cell paths shown as null, e.g. "categories.flexjob", "requirement_2.share"


class ShownLongWithoutCompany(msgspec.Struct, kw_only=True):
    long: int | None
    without: int | None
    share: float | None


class ShownIndicators(msgspec.Struct, kw_only=True):
    """The course indicators of spec §7 ("IND") as this caller may see it."""

    long_without_company: ShownLongWithoutCompany
    durations: dict[str, int | None]  # every band of DURATION_BANDS, in that order
    suppressed: list[str]  # e.g. "without", "long_without_company.share", "durations.2-3"


def _requirement(agg: PeriodAggregate, cells: PeriodCells, name: str) -> tuple[ShownRequirement, bool]:
    exact = getattr(agg, name)
    hidden_share = cells.share_hidden(name, "target") and exact.share is not None
    shown = ShownRequirement(count=cells.count(name), share=None if hidden_share else exact.share, met=exact.met)
    return shown, hidden_share


def shown_aggregate(agg: PeriodAggregate, cells: PeriodCells) -> ShownPeriodAggregate:
    """``agg`` with the cells hidden in ``cells`` as null (shares are the report's own when shown)."""
    r1, hidden_1 = _requirement(agg, cells, "requirement_1")
    r2, hidden_2 = _requirement(agg, cells, "requirement_2")
    hidden = sorted(c for c in AGGREGATE_CELLS if c in cells.hidden)
    hidden += [f"{n}.share" for n, h in (("requirement_1", hidden_1), ("requirement_2", hidden_2)) if h]
    return ShownPeriodAggregate(
        target=cells.count("target"),
        categories=ShownPeriodCategories(**{c.name: cells.count(f"categories.{c.name}") for c in PERIOD_CATEGORIES}),
        requirement_1=r1,
        requirement_2=r2,
        suppressed=sorted(hidden),
    )


def shown_indicators(ind: Indicators, cells: PeriodCells) -> ShownIndicators:
    """``ind`` with the cells hidden in ``cells`` as null."""
    long = ind.long_without_company
    hidden_share = cells.share_hidden("without", "long") and long.share is not None
    hidden = [c for c in INDICATOR_CELLS if c in cells.hidden]
    hidden = [f"durations.{c.removeprefix('bands.')}" if c.startswith("bands.") else c for c in hidden]
    return ShownIndicators(
        long_without_company=ShownLongWithoutCompany(
            long=cells.count("long"), without=cells.count("without"), share=None if hidden_share else long.share
        ),
        durations={b: cells.count(f"bands.{b}") for b in DURATION_BANDS},
        suppressed=sorted(hidden + (["long_without_company.share"] if hidden_share else [])),
    )


class ShownIndicatorSets(msgspec.Struct, kw_only=True):
    project: ShownIndicators
    municipalities: dict[str, ShownIndicators]


class ShownPeriodReport(msgspec.Struct, kw_only=True):
    """The BIR report of spec §7 as this caller may see it (for star: the CLI's JSON exactly,
    plus ``view`` and the empty ``suppressed`` lists)."""

    pool: str
    month: str
    period: PeriodSpan
    view: str  # "now" or "published"
    as_of: str | None
    rules: RulesUsed
    input: InputCounts
    project: ShownPeriodAggregate
    municipalities: dict[str, ShownPeriodAggregate]
    indicators: ShownIndicatorSets


class PeriodMunicipalityFigures(msgspec.Struct, kw_only=True):
    """One municipality's BIR figures in a month (zeros for a municipality without BIR citizens)."""

    pool: str
    month: str
    period: PeriodSpan
    view: str
    as_of: str | None
    municipality: str
    name: str
    aggregate: ShownPeriodAggregate
    indicators: ShownIndicators


class PeriodRow(msgspec.Struct, kw_only=True):
    """A citizen's place in the BIR report of a month (:data:`projections.period_report.Row`)."""

    status: str  # out, exempt, a period category, or not_positive
    band: str | None  # the duration band of the citizen's resource course, if in the indicators
    without_company: bool | None  # for a long course: no company-oriented effort in the last 12 months


class PeriodCitizen(msgspec.Struct, kw_only=True):
    """A citizen in the municipality's BIR list: the row of the asked month, the rows of the
    pool's months up to it, and the audit's deciding events when the month's period category
    differs from the published one."""

    pseudonym: str
    status: str  # the period category of the asked month, as known now
    band: str | None
    without_company: bool | None
    rows: dict[str, PeriodRow]  # every month of the pool up to the asked month, as known now
    audit: AuditChange | None


class PeriodCitizenDetail(PeriodCitizen, kw_only=True):
    events: list[dict]  # every applied event of the citizen, in event order
    warnings: list[str]


class PeriodCitizens(msgspec.Struct, kw_only=True):
    pool: str
    municipality: str
    month: str
    period: PeriodSpan
    published_as_of: str
    citizens: list[PeriodCitizen]
