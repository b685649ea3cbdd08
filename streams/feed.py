"""The feed topic's records: the product municipal systems consume, self-describing and versioned.

Three record kinds, all JSON, all on compacted topics (``docs/feed.md`` documents them for
consumers, ``puljemonitor schema feed`` prints their JSON Schema):

* :class:`FeedRecord` on the feed topic, key ``<pool>/<level>/<code>/<month>`` (``code`` is
  absent for ``project`` and ``nation``; a participant's code is its municipality codes
  joined by ``+``, e.g. ``155+185``, never its name).
* :class:`PeriodFeedRecord` on the same topic for a pool measured over periods (BIR, spec §7):
  ``bir/municipality/<code>/<month>`` and ``bir/project/<month>``, the period aggregate of
  the period ending in the month and the course indicators.
* :class:`IntakeStatus` on the intake topic, key ``<events topic>/<partition>``: the input
  accounting and the offsets absorbed, so a consumer can tell when the figures have caught up.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from schemas.calendar import Month, format_month
from schemas.periods import Indicators, PeriodAggregate, PeriodSpan
from schemas.reference import Participant, municipalities
from schemas.reports import Aggregate

SCHEMA_VERSION = 1

Level = Literal["municipality", "participant", "project", "nation"]


class FeedRecord(msgspec.Struct, kw_only=True):
    """The figures of one pool, level, code and month (spec §4), as known now."""

    schema_version: int = SCHEMA_VERSION
    pool: str
    level: Level
    code: str | None
    """Municipality code, or a participant's codes joined by ``+``; null for project/nation."""
    name: str | None
    """The municipality's or participant's name, for people; null for project/nation."""
    month: str
    count_social_frikort: bool
    """The rule variant this deployment computes (spec §3)."""
    figures: Aggregate
    achieved: bool | None = None
    """Participant records: the result requirement was met in a month of the window."""
    best_month: str | None = None
    best_share: float | None = None
    version: int
    """Grows with every change of the inputs behind this key; never decreases."""
    computed_at: str
    """When the worker computed this value (RFC 3339, UTC)."""

    def content(self) -> tuple:
        """What a consumer would see change (not the version nor the time)."""
        return (self.figures, self.achieved, self.best_month, self.best_share)


class PeriodFeedRecord(msgspec.Struct, kw_only=True):
    """The figures of a pool measured over periods (BIR) for one level, code and month: the
    period ending in ``month`` (spec §7), as known now. The project is also the nation."""

    schema_version: int = SCHEMA_VERSION
    pool: str
    level: Literal["municipality", "project"]
    code: str | None
    """The municipality code; null for the project."""
    name: str | None
    month: str
    period: PeriodSpan
    count_social_frikort: bool
    figures: PeriodAggregate
    indicators: Indicators
    version: int
    computed_at: str

    def content(self) -> tuple:
        return (self.figures, self.indicators)


class IntakeStatus(msgspec.Struct, kw_only=True):
    """Input accounting of one events partition, as of the offsets absorbed."""

    schema_version: int = SCHEMA_VERSION
    topic: str
    partition: int
    next_offset: int
    """Every message before this offset is absorbed (applied, duplicate or dead-lettered)."""
    end_offset: int
    """The partition's end offset the worker saw when it wrote this record."""
    lines: int
    applied: int
    duplicates: int
    rejected: int
    count_social_frikort: bool
    computed_at: str


def participant_code(participant: Participant) -> str:
    return "+".join(sorted(participant.codes))


def feed_key(pool: str, level: Level, month: Month, code: str | None = None) -> str:
    """``afklaringspuljen/municipality/101/2021-09``, ``…/participant/155+185/2021-09``,
    ``…/project/2021-09``, ``…/nation/2021-09``."""
    middle = f"{level}/{code}" if code is not None else level
    return f"{pool}/{middle}/{format_month(month)}"


def parse_feed_key(key: str) -> tuple[str, str, str | None, str]:
    """(pool, level, code or None, month text)."""
    parts = key.split("/")
    if len(parts) == 4:
        return parts[0], parts[1], parts[2], parts[3]
    return parts[0], parts[1], None, parts[2]


def intake_key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


def municipality_name(code: str) -> str | None:
    return municipalities().get(code)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_schema() -> dict:
    """The JSON Schema of the feed and intake records (one document, every kind under $defs)."""
    kinds, components = msgspec.json.schema_components([FeedRecord, PeriodFeedRecord, IntakeStatus])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "puljemonitor feed records",
        "oneOf": list(kinds),
        "$defs": components,
    }


def comparable(record: dict) -> dict:
    """A feed record's figures in the shape of the report JSON (spec §6) for its level: an
    ``Aggregate``, or for a participant a ``ParticipantResult``, so the live topic can be
    compared with the offline report field by field. A period record: its aggregate and
    indicators, as :func:`projections.period_report.period_figure_records` has them."""
    if "indicators" in record:
        return {"aggregate": record["figures"], "indicators": record["indicators"]}
    if record.get("level") != "participant":
        return record["figures"]
    return {
        "codes": sorted(record["code"].split("+")),
        "aggregate": record["figures"],
        "achieved": record["achieved"],
        "best_month": record["best_month"],
        "best_share": record["best_share"],
    }
