"""The JSON the API answers with (msgspec structs: they encode the responses and generate the
OpenAPI schemas, so the document cannot drift from the answers).

A figure the caller may not see exactly is ``null``, and its cell path is listed in
``suppressed`` (spec §9: a count 1–4 and its complementary cells; a share whose numerator or
denominator is hidden). A count that is shown is the exact count.
"""

from __future__ import annotations

import msgspec

from projections.disclosure import Disclosed
from schemas.reports import InputCounts, RulesUsed
from schemas.statuses import CATEGORIES, GROUPS

ShownGroups = msgspec.defstruct("ShownGroups", [(g, int | None) for g in GROUPS], kw_only=True)
ShownCategories = msgspec.defstruct("ShownCategories", [(c.name, int | None) for c in CATEGORIES], kw_only=True)


class ShownAggregate(msgspec.Struct, kw_only=True):
    """An aggregate of spec §4 as this caller may see it: hidden counts and shares are null."""

    enrolled: int | None
    exempt: int | None
    measured: int | None
    positive: int | None
    share: float | None
    groups: ShownGroups  # type: ignore[valid-type]
    categories: ShownCategories  # type: ignore[valid-type]
    requirement_met: bool | None  # a published verdict: never suppressed
    suppressed: list[str]  # cell paths shown as null because they are hidden (e.g. "categories.education")


def shown(disclosed: Disclosed) -> ShownAggregate:
    """An aggregate with its hidden cells as null (the share is the aggregate's own when shown)."""
    agg = disclosed.aggregate
    hidden_share = disclosed.share_hidden("positive", "measured")
    return ShownAggregate(
        enrolled=disclosed.count("enrolled"),
        exempt=disclosed.count("exempt"),
        measured=disclosed.count("measured"),
        positive=disclosed.count("positive"),
        share=None if hidden_share else agg.share,
        groups=ShownGroups(**{g: disclosed.count(f"groups.{g}") for g in GROUPS}),
        categories=ShownCategories(**{c.name: disclosed.count(f"categories.{c.name}") for c in CATEGORIES}),
        requirement_met=agg.requirement_met,
        suppressed=sorted(disclosed.hidden | ({"share"} if hidden_share and agg.share is not None else set())),
    )


class ShownParticipant(msgspec.Struct, kw_only=True):
    name: str
    codes: list[str]
    aggregate: ShownAggregate
    achieved: bool  # a published verdict: never suppressed
    best_month: str | None
    best_share: float | None  # null also when that month's share is hidden


class ShownReport(msgspec.Struct, kw_only=True):
    """The report of spec §6 as this caller may see it."""

    pool: str
    month: str
    view: str  # "now" or "published"
    as_of: str | None
    rules: RulesUsed
    input: InputCounts
    project: ShownAggregate
    national: ShownAggregate
    municipalities: dict[str, ShownAggregate]
    participants: dict[str, ShownParticipant]
    achieved_count: int
    participant_count: int


class MunicipalityFigures(msgspec.Struct, kw_only=True):
    pool: str
    month: str
    view: str
    as_of: str | None
    municipality: str
    name: str
    aggregate: ShownAggregate


class Series(msgspec.Struct, kw_only=True):
    """A participant's aggregate in every month of the pool up to ``until``."""

    pool: str
    participant: str
    codes: list[str]
    view: str
    as_of: str | None
    months: dict[str, ShownAggregate]


class AuditChange(msgspec.Struct, kw_only=True):
    """How the audit shows a citizen whose status in the month differs from the published one."""

    published: str
    now: str
    events: list[dict]  # recorded after the publication cut-off, in event order
    warnings: list[str]


class Citizen(msgspec.Struct, kw_only=True):
    """A citizen in the municipality's list: the statuses, and the audit's deciding events
    when the month's status differs from the published one."""

    pseudonym: str
    status: str  # in the asked month, as known now
    statuses: dict[str, str]  # every month of the pool up to the asked month, as known now
    audit: AuditChange | None  # null when the month's status is as published


class CitizenDetail(Citizen, kw_only=True):
    """One citizen, with the whole history the statuses were decided from."""

    events: list[dict]  # every applied event of the citizen, in event order
    warnings: list[str]  # sequence anomalies (spec §2)


class Citizens(msgspec.Struct, kw_only=True):
    pool: str
    municipality: str
    month: str
    published_as_of: str
    citizens: list[Citizen]


class PoolInfo(msgspec.Struct, kw_only=True):
    name: str
    label: str
    first_month: str
    last_month: str
    participants: dict[str, list[str]]  # BIR: none (every enrolling municipality is in the project)
    period_months: int | None = None  # BIR: a month's report measures this many months ending in it


class Error(msgspec.Struct, kw_only=True):
    status: int
    error: str


class Health(msgspec.Struct, kw_only=True):
    status: str
    version: int
    subscribers: int
    input: InputCounts
