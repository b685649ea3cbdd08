"""A citizen's timeline (spec §2–§3): the facts their applied events say, in valid time.

A citizen's state is the set of their applied events (``streams.admission`` keeps it);
:func:`build_timeline` derives everything from that set after sorting by (valid day,
recorded, id). Because nothing depends on arrival order, duplicates, redelivery and
reordering cannot change a result: the offline replay and a live consumer that feed the
same events reach the same state.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Iterable
from typing import NamedTuple, TypeAlias

import msgspec

from schemas.calendar import FOREVER, Day, Month, bounds, parse_month
from schemas.events import (
    AnyEvent,
    BenefitChanged,
    Died,
    EducationEnded,
    EducationStarted,
    Enrolled,
    ExemptionEnded,
    ExemptionStarted,
    IncomeReported,
    Moved,
    OfferEnded,
    OfferStarted,
    Retracted,
)  # fmt: skip

Spell: TypeAlias = tuple[Day, Day]
"""Half-open ``[start, end)`` in days; ``end`` is :data:`FOREVER` while open."""

EXIT_BENEFITS = frozenset({"seniorpension", "folkepension"})
COUNTED_INCOME = frozenset({"ordinary", "apprentice"})


class Timeline(msgspec.Struct, kw_only=True, gc=False):
    """What a citizen's events say, in valid time, for one pool."""

    enrolled_on: Day | None = None
    municipality: str | None = None
    exit_on: Day = FOREVER
    benefits: list[tuple[Day, Day, str]] = []
    education: list[Spell] = []
    exemption: list[Spell] = []
    offers: dict[str, list[Spell]] = {}
    counted_hours: dict[Month, float] = {}
    frikort_hours: dict[Month, float] = {}
    last_day: Day = 0
    """The last day any fact changes: from the month after it on, every month is alike."""
    warnings: list[str] = []


def order_key(event: AnyEvent) -> tuple[Day, dt.datetime, str]:
    """Event order within a citizen: valid day, then transaction time, then id."""
    return event.day(), event.recorded, event.id


# The same order for events that carry ``at`` (all but income and retractions), in C.
dated_order = operator.attrgetter("at", "recorded", "id")


class _Facts(NamedTuple):
    dated: list[AnyEvent]  # in event order
    income: list[IncomeReported]  # order-free: hours are summed exactly (math.fsum)


def effective_events(events: Iterable[AnyEvent], as_of: dt.datetime | None, warnings: list[str]) -> _Facts:
    """The facts that hold: recorded before ``as_of``, minus retracted ones.

    A retraction names any id of the same citizen; one that names a retraction, or an id
    that never arrived, has no effect (and is a warning, not a rejection).
    """
    if as_of is not None:
        events = [e for e in events if e.recorded < as_of]
    dated: list[AnyEvent] = []
    income: list[IncomeReported] = []
    retractions: list[Retracted] = []
    for event in events:
        kind = type(event)
        if kind is IncomeReported:
            income.append(event)
        elif kind is Retracted:
            retractions.append(event)
        else:
            dated.append(event)
    if retractions:
        known = {e.id for e in dated} | {e.id for e in income}
        retraction_ids = {r.id for r in retractions}
        retracted = {r.event for r in retractions if r.event in known}
        for r in retractions:
            if r.event not in known:
                what = "a retraction" if r.event in retraction_ids else "an event that has not arrived"
                warnings.append(f"{r.id}: retracts {r.event}, {what}: no effect")
        dated = [e for e in dated if e.id not in retracted]
        income = [e for e in income if e.id not in retracted]
    dated.sort(key=dated_order)
    return _Facts(dated, income)


def spells(changes: list[tuple[Day, bool, str]], fact: str, warnings: list[str] | None) -> list[Spell]:
    """On/off changes (day, started?, event id) in event order → the spells the fact holds.

    All changes of one day apply in order and the state after the last of them holds from
    that day, so a start and a later end on the same day leave no spell at all. Anomalies
    go to ``warnings`` unless it is None (the live fold has no audit to show them in).
    """
    result: list[Spell] = []
    is_open = False
    since: Day | None = None
    for index, (day, started, event_id) in enumerate(changes):
        if warnings is not None and started == is_open:
            what = "started while already open" if started else "ended with nothing open"
            warnings.append(f"{event_id}: {fact} {what}: no effect")
        is_open = started
        if index + 1 < len(changes) and changes[index + 1][0] == day:
            continue  # the day is not over yet
        if is_open and since is None:
            since = day
        elif not is_open and since is not None:
            result.append((since, day))
            since = None
    if since is not None:
        result.append((since, FOREVER))
    return result


def benefit_spells(changes: list[tuple[Day, str]]) -> list[tuple[Day, Day, str]]:
    """Benefit changes (day, benefit) in event order → (start, end, benefit) spells.

    The last change of a day replaces the benefit from that day; before the first change
    the benefit is unknown, which is no spell.
    """
    last_of_day = dict(changes)  # in event order, so a day keeps its last change
    days = list(last_of_day)
    ends = [*days[1:], FOREVER]
    return [(day, end, last_of_day[day]) for day, end in zip(days, ends)]  # no change: no spell


def change_benefit(spells: list[tuple[Day, Day, str]], day: Day, benefit: str) -> None:
    """:func:`benefit_spells` extended in place by one change at ``day``, the latest so far
    (the fold's step; its property test holds the two equal)."""
    if spells:
        start, _, previous = spells[-1]
        if start == day:
            spells[-1] = (day, FOREVER, benefit)
            return
        spells[-1] = (start, day, previous)
    spells.append((day, FOREVER, benefit))


class Collected(msgspec.Struct, kw_only=True, gc=False):
    """A citizen's facts for one pool, collected event by event in event order, before they
    are assembled into a :class:`Timeline`. Kept by :mod:`projections.fold` so that an event
    arriving last can be added without collecting the others again."""

    pool: str
    enrollment: Enrolled | None = None
    exits: list[Day] = []
    moves: list[tuple[Day, str]] = []
    benefits: list[tuple[Day, str]] = []
    on_off: dict[str, list[tuple[Day, bool, str]]] = {}
    hours: dict[Month, list[float]] = {}
    frikort: dict[Month, list[float]] = {}
    warnings: list[str] = []


def collect(facts: Collected, events: Iterable[AnyEvent]) -> None:
    """Add effective events; dated events must come in event order (income in any)."""
    pool = facts.pool
    for event in events:
        kind = type(event)
        if kind is IncomeReported:
            target = facts.hours if event.kind in COUNTED_INCOME else facts.frikort
            target.setdefault(parse_month(event.month), []).append(event.hours)
            continue
        day = event.at.toordinal()
        if kind is BenefitChanged:
            facts.benefits.append((day, event.benefit))
            if event.benefit in EXIT_BENEFITS:
                facts.exits.append(day)
        elif kind is ExemptionStarted or kind is ExemptionEnded:
            facts.on_off.setdefault("exemption", []).append((day, kind is ExemptionStarted, event.id))
        elif kind is OfferStarted or kind is OfferEnded:
            facts.on_off.setdefault(event.offer, []).append((day, kind is OfferStarted, event.id))
        elif kind is Enrolled:
            if event.pool != pool:
                continue
            if facts.enrollment is None:
                facts.enrollment = event
            else:
                facts.warnings.append(
                    f"{event.id}: second enrollment in {pool}: the earliest ({facts.enrollment.id}) counts"
                )
        elif kind is Moved:
            facts.moves.append((day, event.municipality))
        elif kind is Died:
            facts.exits.append(day)
        elif kind is EducationStarted or kind is EducationEnded:
            facts.on_off.setdefault("education", []).append((day, kind is EducationStarted, event.id))


def assemble(facts: Collected, late: Iterable[AnyEvent] = ()) -> Timeline:
    """Collected facts → the timeline; ``late`` are the effective events, for the warnings
    about events after the exit."""
    warnings = list(facts.warnings)
    enrollment = facts.enrollment
    if enrollment is None:
        return Timeline(warnings=warnings)
    enrolled_on = enrollment.day()
    home = enrollment.municipality
    exits = facts.exits + [day for day, where in facts.moves if where != home and day >= enrolled_on]
    exit_on = min(exits, default=FOREVER)
    if exit_on != FOREVER:
        warnings.extend(
            f"{e.id}: {type(e).__struct_config__.tag} after the exit: no effect" for e in late if e.day() > exit_on
        )
    held = {fact: spells(changes, fact, warnings) for fact, changes in facts.on_off.items()}
    return Timeline(
        last_day=last_fact_day(facts),
        enrolled_on=enrolled_on,
        municipality=home,
        exit_on=exit_on,
        benefits=benefit_spells(facts.benefits),
        education=held.pop("education", []),
        exemption=held.pop("exemption", []),
        offers=held,
        counted_hours={m: math.fsum(h) for m, h in facts.hours.items()},
        frikort_hours={m: math.fsum(h) for m, h in facts.frikort.items()},
        warnings=warnings,
    )


def last_fact_day(facts: Collected) -> Day:
    """The latest day on which a collected fact starts, ends or changes (income: its month's
    first day). Nothing changes after it, which :func:`projections.months.statuses` uses to
    compute one month for all the months after it."""
    # Dated facts are collected in event order, so each list's last entry is its latest day.
    days = [changes[-1][0] for changes in facts.on_off.values()]
    for dated in (facts.benefits, facts.moves):
        if dated:
            days.append(dated[-1][0])
    if facts.exits:
        days.append(max(facts.exits))
    if facts.hours or facts.frikort:
        days.append(bounds(max(max(facts.hours, default=0), max(facts.frikort, default=0)))[0])
    if facts.enrollment is not None:
        days.append(facts.enrollment.day())
    return max(days, default=0)


def collect_all(events: Iterable[AnyEvent], pool: str, as_of: dt.datetime | None = None) -> tuple[Collected, _Facts]:
    """A citizen's applied events → their collected facts in ``pool``, as known before ``as_of``."""
    facts = Collected(pool=pool)
    effective = effective_events(events, as_of, facts.warnings)
    collect(facts, effective.income)
    collect(facts, effective.dated)
    return facts, effective


def build_timeline(events: Iterable[AnyEvent], pool: str, as_of: dt.datetime | None = None) -> Timeline:
    """A citizen's applied events → their timeline in ``pool``, as known before ``as_of``."""
    facts, effective = collect_all(events, pool, as_of)
    return assemble(facts, (*effective.dated, *effective.income))
