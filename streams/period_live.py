"""The live path of a pool measured over periods (BIR, spec §7), as pure functions.

The same three stages as the first pool (``streams/live.py``), with the BIR report's own
functions at each step, so the feed equals ``puljemonitor report --pool bir``:

1. :class:`PeriodRows` (citizens stage): a citizen's row in each month of the pool
   (:func:`projections.period_report.citizen_rows` over the citizen's timeline), sent as one
   byte per month, an index into :data:`schemas.periods.ROWS`, only when it changed.
2. The municipalities stage counts those bytes like status bytes (``streams.live.apply_batch``
   with :data:`schemas.periods.ROW_LABELS` as the cells).
3. :func:`period_figures`: counted rows → the period aggregate and the indicators of a
   municipality or the project (:class:`streams.live.PeriodTotals` adds up every municipality).

Why stage 1 re-derives instead of folding: a citizen's rows depend on three months of facts
and on the whole course history (the indicators), and BIR citizens are a small share of the
log. A citizen's rows are recomputed only when one of their events arrives, and only from
the event's month on (a row reads the facts of its period and of the course up to its own
month's end, never a later fact); an income report only as far as it reaches (its periods
and its company lookbacks); a citizen who never enrolled in the pool costs one type check
per event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from typing import NamedTuple

from projections.period_report import citizen_rows, indicators, period_aggregate
from projections.timeline import build_timeline
from schemas.calendar import Month, month_of_day, month_range, parse_month
from schemas.events import AnyEvent, Enrolled, IncomeReported, Retracted
from schemas.periods import ROW_INDEX, ROW_OF_LABEL, Indicators, PeriodAggregate
from schemas.pools import PeriodPool, Rules
from streams.records import StatusUpdate

_MAY_MOVE_HOME = (Enrolled, Retracted)  # the only events that change the enrolling municipality


class Known:
    """What stage 1 last derived for a citizen, as of ``version`` applied events."""

    __slots__ = ("version", "enrolled", "home", "vector")

    def __init__(self, version: int, enrolled: bool, home: str | None = None, vector: bytes | None = None) -> None:
        self.version = version
        self.enrolled = enrolled  # some event enrolls the citizen in the pool (possibly retracted since)
        self.home = home  # the enrolling municipality; None when not enrolled (or retracted)
        self.vector = vector


class PeriodRows:
    """Stage 1 for one period pool: each citizen's rows, kept in memory as a cache of the
    citizen's stored events (rebuilt from them when its version is not the one before)."""

    def __init__(self, pool: PeriodPool, rules: Rules) -> None:
        self.pool = pool
        self.rules = rules
        self.months = month_range(parse_month(pool.first_month), parse_month(pool.last_month))
        self.known: dict[str, Known] = {}
        # the rows an income report of month M can change: M's periods and lookbacks, M .. M+reach-1
        self.income_reach = max(pool.period_months, pool.company_lookback_months)

    def step(self, citizen: str, events: Collection[AnyEvent], event: AnyEvent) -> list[StatusUpdate]:
        """``event`` was just applied; ``events`` are the citizen's applied events, it included.
        The updates to send: the new rows, and a withdrawal from a municipality left behind."""
        version = len(events)
        before = self.known.get(citizen)
        if before is None or before.version != version - 1:
            before = self.known[citizen] = self._derive([e for e in events if e is not event], version - 1)
        day = event.day()  # 0: no valid time (a retraction), so every month is derived again
        since = month_of_day(day) if day else 0
        unchanged = not before.enrolled or (since >= self.months.stop and type(event) not in _MAY_MOVE_HOME)
        if unchanged and not (type(event) is Enrolled and event.pool == self.pool.name):
            before.version = version  # never enrolled, or a fact after the pool's last month
            return []
        until = since + self.income_reach if type(event) is IncomeReported else self.months.stop
        after = self.known[citizen] = self._derive(events, version, before, since, until)
        first = self.months.start
        updates = []
        if before.home is not None and before.home != after.home:
            updates.append(StatusUpdate(citizen, before.home, version, first, None))
        if after.home is not None and (after.home != before.home or after.vector != before.vector):
            updates.append(StatusUpdate(citizen, after.home, version, first, after.vector))
        return updates

    def _derive(
        self,
        events: Collection[AnyEvent],
        version: int,
        before: Known | None = None,
        since: Month = 0,
        until: Month | None = None,
    ) -> Known:
        """The citizen's rows from ``events``. With ``before`` (the rows without the one new
        event, which can change the rows of months ``since`` .. ``until`` − 1 only), the rows of
        the other months are kept."""
        name = self.pool.name
        if not any(type(e) is Enrolled and e.pool == name for e in events):
            return Known(version, False)
        timeline = build_timeline(events, name)
        home = timeline.municipality
        if home is None:  # the enrollment was retracted
            return Known(version, True)
        kept, end = 0, len(self.months)
        if before is not None and before.home == home and before.vector is not None:
            kept = min(max(since - self.months.start, 0), end)
            if until is not None:
                end = min(max(until - self.months.start, kept), end)
        rows = citizen_rows(timeline, self.pool, self.months[kept:end], self.rules)
        vector = bytes(ROW_INDEX[row] for row in rows)
        if kept or end < len(self.months):
            vector = before.vector[:kept] + vector + before.vector[end:]
        return Known(version, True, home, vector)

    def forget(self) -> None:
        self.known.clear()


class PeriodFigures(NamedTuple):
    aggregate: PeriodAggregate
    indicators: Indicators


def period_figures(counts: Mapping[str, int], pool: PeriodPool) -> PeriodFigures:
    """Counted rows (by label, as the count records carry them) → the report's figures."""
    rows = Counter({ROW_OF_LABEL[label]: n for label, n in counts.items()})
    return PeriodFigures(period_aggregate(rows, pool), indicators(rows))
