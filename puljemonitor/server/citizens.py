"""A municipality's citizens as the API lists them, for either kind of pool: the ones enrolled
there now, and the ones the audit finds there as published, each with the audit's record when
their status (BIR: period category) of the month differs from the published one.

What a citizen is shown as (statuses per month, or BIR's rows) is the pool's own; which
citizens are listed, the audit and the event history of a detail answer are this module's,
once for both pools.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from projections.audit import StatusChange, audit
from projections.reports import history_months, published_cutoff
from projections.timeline import Timeline, build_timeline, order_key
from puljemonitor.server import shapes
from schemas.calendar import Month

#: (timeline, audit change or None, the months up to the asked one, enrolled here now) → the pool's own fields
Describe = Callable[[Timeline, StatusChange | None, list[Month], bool], dict[str, Any]]


def listed(
    pool, code: str, month: Month, rules, candidates, detail: bool, describe: Describe, kinds: tuple[type, type]
):
    """(the published cut-off, the citizens sorted by pseudonym); ``kinds`` is (plain, detail)."""
    cutoff = published_cutoff(pool, month)
    months = history_months(pool, month)
    changes = audit(candidates, pool=pool, month=month, cutoff=cutoff, rules=rules, municipalities={code})
    audited = {c.citizen: c for m in changes.municipalities.values() for c in m.changes}
    plain, detailed = kinds
    found = []
    for events in candidates:
        timeline = build_timeline(events, pool.name)
        change = audited.get(events[0].citizen)
        here = timeline.municipality == code
        if not here and change is None:
            continue  # another municipality's citizen, now and as published
        fields = dict(
            pseudonym=events[0].citizen,
            audit=shapes.AuditChange(published=change.published, now=change.now, events=change.events,
                                     warnings=change.warnings) if change else None,
            **describe(timeline, change, months, here),
        )  # fmt: skip
        if detail:
            history = [msgspec.to_builtins(e) for e in sorted(events, key=order_key)]
            found.append(detailed(**fields, events=history, warnings=timeline.warnings))
        else:
            found.append(plain(**fields))
    return cutoff, sorted(found, key=lambda c: c.pseudonym)
