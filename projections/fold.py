"""A citizen's status vector kept up to date event by event: the live path's per-event step.

Deriving a citizen's timeline and every month's status again for each event costs ~40 µs;
the live worker does it for every event. :class:`CitizenFold` keeps the collected facts,
the timeline and the status vector, and when a new event lands *after everything else in
event order* (the usual case: facts arrive roughly in the order they happen) it updates
only what that event can change:

* an income report changes only the month it reports on, and can only raise its category
  (:func:`projections.months.raised_by_income`);
* a dated event at day ``d`` that sorts after every other event changes no month before
  ``d``'s month, and after that month nothing changes any more, so the months from there
  on all share one status: two months are classified, the rest copied. An on/off fact or
  a benefit updates its own spells; an enrollment, move, death or exit benefit assembles
  the timeline again from the collected facts (no sorting, no retractions to apply).

Everything else (a retraction, or an event that sorts before others) falls back to the
full derivation (:func:`projections.timeline.collect_all` + :func:`assemble` + statuses). Both routes give the same vector; a hypothesis property in
``tests/projections/test_fold.py`` compares them after every event of random histories.
Warnings (for the audit) are the full derivation's business and are not kept here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from projections.months import month_status, raised_by_income, settled_month
from projections.timeline import (
    COUNTED_INCOME,
    EXIT_BENEFITS,
    Collected,
    Timeline,
    assemble,
    change_benefit,
    collect,
    collect_all,
    dated_order,
    spells,
)
from schemas.calendar import month_of_day, parse_month
from schemas.events import (
    AnyEvent,
    BenefitChanged,
    EducationEnded,
    EducationStarted,
    ExemptionEnded,
    ExemptionStarted,
    IncomeReported,
    OfferEnded,
    OfferStarted,
    Retracted,
)
from schemas.pools import Rules
from schemas.statuses import OUT, STATUSES

STATUS_INDEX = {name: i for i, name in enumerate(STATUSES)}
_OUT = STATUS_INDEX[OUT]
_ON_OFF = {
    EducationStarted: "education",
    EducationEnded: "education",
    ExemptionStarted: "exemption",
    ExemptionEnded: "exemption",
}
_OFFERS = (OfferStarted, OfferEnded)


class CitizenFold:
    """One citizen's applied events (by id), timeline and status vector in one pool.

    ``vector`` has one byte per month of ``months``: an index into
    :data:`schemas.statuses.STATUSES`. ``home`` is the enrolling municipality, or None.
    Call :meth:`add` with each newly applied event (admission, i.e. the duplicate and
    conflict check, happens before: ``streams.admission.admit(fold.events, event)``).
    """

    __slots__ = (
        "pool",
        "months",
        "rules",
        "events",
        "vector",
        "_facts",
        "_timeline",
        "_last_key",
        "_last_day",
        "_full",
    )

    def __init__(self, pool: str, months: range, rules: Rules, events: Iterable[AnyEvent] = ()) -> None:
        self.pool = pool
        self.months = months
        self.rules = rules
        self.events: dict[str, AnyEvent] = {e.id: e for e in events}
        self.vector = bytearray([_OUT]) * len(months)
        if self.events:
            self.derive()
        else:  # what derive() gives for no events, without deriving
            self._full = False
            self._facts = Collected(pool=pool)
            self._timeline = Timeline()
            self._last_key = None
            self._last_day = 0

    @property
    def home(self) -> str | None:
        return self._timeline.municipality

    def derive(self) -> None:
        """The full derivation from the set of events (the reference)."""
        events = self.events.values()
        self._full = any(type(e) is Retracted for e in events)
        facts, effective = collect_all(events, self.pool)
        self._facts = facts
        self._timeline = timeline = assemble(facts)
        last = effective.dated[-1] if effective.dated else None
        self._last_key = dated_order(last) if last is not None else None
        days = [e.day() for e in effective.income]
        if last is not None:
            days.append(last.day())
        self._last_day = max(days, default=0)
        if timeline.municipality is None:
            self.vector[:] = bytes([_OUT]) * len(self.months)
        else:
            self._recompute(self.months.start)

    def add(self, event: AnyEvent) -> None:
        """Account for one newly applied event (already in :attr:`events`)."""
        kind = type(event)
        if self._full or kind is Retracted:
            self.derive()
        elif kind is IncomeReported:
            self._add_income(event)
        elif (self._last_key is None or dated_order(event) > self._last_key) and event.day() >= self._last_day:
            self._add_last(event)
        else:
            self.derive()

    def _add_income(self, event: IncomeReported) -> None:
        facts, timeline = self._facts, self._timeline
        collect(facts, (event,))
        month = parse_month(event.month)
        counted = event.kind in COUNTED_INCOME
        source = facts.hours if counted else facts.frikort
        (timeline.counted_hours if counted else timeline.frikort_hours)[month] = math.fsum(source[month])
        self._last_day = max(self._last_day, event.day())
        timeline.last_day = max(timeline.last_day, event.day())
        if timeline.municipality is None or month not in self.months:
            return
        if counted or self.rules.count_social_frikort:
            i = month - self.months.start
            before = STATUSES[self.vector[i]]
            self.vector[i] = STATUS_INDEX[raised_by_income(timeline, month, before, self.rules)]

    def _add_last(self, event: AnyEvent) -> None:
        facts, timeline = self._facts, self._timeline
        collect(facts, (event,))
        self._last_key = dated_order(event)
        day = event.day()
        self._last_day = timeline.last_day = day
        kind = type(event)
        if kind is BenefitChanged and event.benefit not in EXIT_BENEFITS:
            change_benefit(timeline.benefits, day, event.benefit)
        elif kind not in _ON_OFF and kind not in _OFFERS:
            # An enrollment, move, death or exit benefit: the whole timeline from the facts.
            self._timeline = timeline = assemble(facts)
        else:
            fact = event.offer if kind in _OFFERS else _ON_OFF[kind]
            held = spells(facts.on_off[fact], fact, None)
            if fact == "education":
                timeline.education = held
            elif fact == "exemption":
                timeline.exemption = held
            else:
                timeline.offers[fact] = held
        if timeline.municipality is None:
            return
        self._recompute(max(month_of_day(day), self.months.start))

    def _recompute(self, first: int) -> None:
        """Statuses of month ``first`` and every later month into the vector.

        Months after the timeline's last fact all share one status: classified once, copied.
        """
        months, vector, timeline, rules = self.months, self.vector, self._timeline, self.rules
        start, stop = months.start, months.stop
        settled = max(first, settled_month(timeline))
        for month in range(first, min(stop, settled + 1)):
            vector[month - start] = STATUS_INDEX[month_status(timeline, month, rules)]
        if settled + 1 < stop:
            vector[settled + 1 - start :] = bytes([vector[settled - start]]) * (stop - settled - 1)
