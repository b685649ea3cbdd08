"""Report records (spec §4 and §6): aggregates, participants, input accounting."""

from __future__ import annotations

import msgspec

from schemas.statuses import CATEGORIES, GROUPS

# Generated from the category table, so the report's keys cannot drift from the rules.
Groups = msgspec.defstruct("Groups", [(name, int) for name in GROUPS], kw_only=True)
Categories = msgspec.defstruct("Categories", [(c.name, int) for c in CATEGORIES], kw_only=True)


class Aggregate(msgspec.Struct, kw_only=True):
    """Counts of one set of municipalities in one month ("AGG" in the spec)."""

    enrolled: int
    exempt: int
    measured: int
    positive: int
    share: float | None
    groups: Groups  # type: ignore[valid-type]
    categories: Categories  # type: ignore[valid-type]
    requirement_met: bool | None


class ParticipantResult(msgspec.Struct, kw_only=True):
    codes: list[str]
    aggregate: Aggregate
    achieved: bool
    best_month: str | None
    best_share: float | None


class InputCounts(msgspec.Struct, kw_only=True):
    """Every non-blank input line is exactly one of applied, duplicate or rejected."""

    lines: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0


class RulesUsed(msgspec.Struct, kw_only=True):
    count_social_frikort: bool


class Report(msgspec.Struct, kw_only=True):
    pool: str
    month: str
    as_of: str | None
    rules: RulesUsed
    input: InputCounts
    project: Aggregate
    national: Aggregate
    municipalities: dict[str, Aggregate]
    participants: dict[str, ParticipantResult]
    achieved_count: int
    participant_count: int


class RejectedLine(msgspec.Struct, kw_only=True):
    """A dead letter: where it was, what it was (CPR redacted), and why it was refused."""

    line: int
    raw: str
    reason: str
