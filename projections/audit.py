"""Auditing a month (spec §5): as published vs. as known now, and why each number changed.

For every citizen the month's status is computed twice, under the publication cut-off and
with every event; a citizen whose status differs is listed under their municipality with
the events recorded after the cut-off, which are exactly the events that made the difference.
For a pool measured over periods (BIR, spec §7) the status is the citizen's period category
and the aggregates are the period aggregates; everything else is the same.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

import msgspec

from projections.aggregates import Tallies, aggregate
from projections.months import status
from projections.period_report import period_aggregate
from projections.periods import period_status
from projections.timeline import build_timeline, order_key
from schemas.calendar import Month, format_month
from schemas.events import AnyEvent
from schemas.periods import PeriodAggregate
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reports import Aggregate


class StatusChange(msgspec.Struct, kw_only=True):
    citizen: str
    published: str
    now: str
    events: list[dict]  # recorded after the cut-off, in event order
    warnings: list[str]  # sequence anomalies in the citizen's events


class MunicipalityAudit(msgspec.Struct, kw_only=True):
    published: Aggregate | PeriodAggregate
    now: Aggregate | PeriodAggregate
    changes: list[StatusChange]


class Audit(msgspec.Struct, kw_only=True):
    pool: str
    month: str
    published_as_of: str
    municipalities: dict[str, MunicipalityAudit]


def audit(
    citizens: Iterable[Iterable[AnyEvent]],
    *,
    pool: Pool | PeriodPool,
    month: Month,
    cutoff: dt.datetime,
    rules: Rules,
    municipalities: set[str] | None = None,
) -> Audit:
    """Both views of ``month`` per municipality (optionally only some), with the changed citizens."""
    if isinstance(pool, PeriodPool):

        def status_in(timeline, month, rules):
            return period_status(timeline, pool, month, rules)

        def summed(counts):  # statuses only: the period aggregate does not read the courses
            return period_aggregate(Counter({(name, None, None): n for name, n in counts.items()}), pool)

    else:
        status_in = status

        def summed(counts):
            return aggregate(counts, pool)

    published, now = Tallies(), Tallies()
    changes: dict[str, list[StatusChange]] = {}

    def wanted(code: str | None) -> bool:
        return code is not None and (municipalities is None or code in municipalities)

    for events in citizens:
        events = list(events)
        before = build_timeline(events, pool.name, cutoff)
        after = build_timeline(events, pool.name)
        if not (wanted(before.municipality) or wanted(after.municipality)):
            continue
        old, new = status_in(before, month, rules), status_in(after, month, rules)
        if wanted(before.municipality):
            published.move((before.municipality, month), None, old)
        if wanted(after.municipality):
            now.move((after.municipality, month), None, new)
        if old != new:
            home = after.municipality if wanted(after.municipality) else before.municipality
            late = sorted((e for e in events if e.recorded >= cutoff), key=order_key)
            changes.setdefault(home, []).append(
                StatusChange(
                    citizen=events[0].citizen,
                    published=old,
                    now=new,
                    events=[msgspec.to_builtins(e) for e in late],
                    warnings=after.warnings,
                )
            )
    codes = sorted({code for code, _ in published} | {code for code, _ in now})
    return Audit(
        pool=pool.name,
        month=format_month(month),
        published_as_of=cutoff.isoformat(),
        municipalities={
            code: MunicipalityAudit(
                published=summed(published.combined([code], month)),
                now=summed(now.combined([code], month)),
                changes=sorted(changes.get(code, []), key=lambda c: c.citizen),
            )
            for code in codes
        },
    )
