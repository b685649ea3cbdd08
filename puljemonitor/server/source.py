"""Where the server's figures come from: an interface, so the log replay feeds it today and a
consumer of the live feed topic can feed it later without the server changing.

A source answers with *facts*, never with figures: status counts per (municipality, month)
(a :class:`~projections.aggregates.Tallies`), the applied events of citizens, and the input
accounting. Every figure is then computed from those by the same projection functions the
CLI uses (:mod:`.figures`). A source also tells its listeners, after each change, which
counts and which citizens changed, so the server can push exactly those figures.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from projections.aggregates import Tallies
from projections.period_report import overview_months
from schemas.calendar import Month, month_range, parse_month
from schemas.events import AnyEvent
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reports import InputCounts


def pool_months(pool: Pool | PeriodPool) -> range:
    """The pool's monitored months: the months the API answers for."""
    return month_range(parse_month(pool.first_month), parse_month(pool.last_month))


def counted_months(pool: Pool | PeriodPool) -> range:
    """The months a source keeps counts for: the pool's months and, for a pool measured over
    periods (BIR), the earlier periods the report of its first month shows in its overview
    (:func:`~projections.period_report.overview_months`), so the page equals the CLI's."""
    months = pool_months(pool)
    if isinstance(pool, PeriodPool):
        return range(overview_months(months[0])[0], months[-1] + 1)
    return months


@dataclass(frozen=True)
class CitizenChange:
    """A citizen whose status row changed, under the municipality that may see it.

    ``statuses`` is the new row over :func:`counted_months` (None when the citizen no longer
    belongs to ``municipality``, e.g. an enrollment was retracted): a status per month, or
    for BIR a :data:`projections.period_report.Row` (period status, duration band, without
    company) per month."""

    pool: str
    municipality: str
    citizen: str
    statuses: dict[Month, str | tuple] | None


@dataclass(frozen=True)
class Change:
    """One step of a source (a batch of lines, a poll of the feed topic): the version after
    it, the (municipality, month) counts of the now view that changed, per pool, and the
    citizens whose status rows changed."""

    version: int
    counts: InputCounts
    keys: dict[str, frozenset[tuple[str, Month]]] = field(default_factory=dict)
    citizens: list[CitizenChange] = field(default_factory=list)


class FiguresSource(ABC):
    """The facts behind every figure, at a version that increases with every change.

    Implementations must be safe to call from several threads; :meth:`tallies` must return
    an object that is never mutated afterwards (readers keep it while a change arrives).
    """

    version: int = 0

    def __init__(self) -> None:
        self._listeners: list[Callable[[Change], None]] = []

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        """Call ``listener(change)`` after every change (from the source's own thread)."""
        self._listeners.append(listener)

    def _notify(self, change: Change) -> None:
        for listener in self._listeners:
            listener(change)

    @abstractmethod
    def ready(self) -> bool:
        """Caught up with the input (the log's end, the feed topic's end offsets)."""

    @abstractmethod
    def counts(self) -> InputCounts:
        """The accounting of every input line so far (spec §6 ``input``)."""

    @abstractmethod
    def tallies(self, pool: Pool | PeriodPool, rules: Rules, as_of: dt.datetime | None) -> Tallies:
        """Status counts (BIR: period rows) per (enrolling municipality, month) over
        :func:`counted_months`, from the events recorded before ``as_of`` (every event when
        None), under ``rules``."""

    @abstractmethod
    def citizens(self, pool: Pool | PeriodPool, code: str) -> list[list[AnyEvent]]:
        """The applied events of every citizen who may belong to ``code`` in ``pool`` (every
        citizen with an enrollment naming ``code``; the caller decides with the timeline)."""

    @abstractmethod
    def citizen(self, pool: Pool | PeriodPool, code: str, pseudonym: str) -> list[AnyEvent]:
        """One citizen's applied events if they may belong to ``code`` (as :meth:`citizens`),
        else an empty list — another municipality's citizen and a pseudonym never seen alike,
        and at the same cost (a set lookup), so not even the time taken tells them apart."""

    def start(self) -> None:  # noqa: B027  (optional: a source that only replays has nothing to start)
        """Begin absorbing input in the background (following a log, consuming a topic)."""

    def close(self) -> None:  # noqa: B027  (optional: nothing to release)
        """Stop and release everything."""
