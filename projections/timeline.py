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

from schemas.calendar import FOREVER, Day, Month, parse_month
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
    warnings: list[str] = []


def order_key(event: AnyEvent) -> tuple[Day, dt.datetime, str]:
    """Event order within a citizen: valid day, then transaction time, then id."""
    return event.day(), event.recorded, event.id


# The same order for events that carry ``at`` (all but income and retractions), in C.
_dated_order = operator.attrgetter("at", "recorded", "id")


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
    dated.sort(key=_dated_order)
    return _Facts(dated, income)


def spells(changes: list[tuple[Day, bool, str]], fact: str, warnings: list[str]) -> list[Spell]:
    """On/off changes (day, started?, event id) in event order → the spells the fact holds.

    All changes of one day apply in order and the state after the last of them holds from
    that day, so a start and a later end on the same day leave no spell at all.
    """
    result: list[Spell] = []
    is_open = False
    since: Day | None = None
    for index, (day, started, event_id) in enumerate(changes):
        if started and is_open:
            warnings.append(f"{event_id}: {fact} started while already open: no effect")
        elif not started and not is_open:
            warnings.append(f"{event_id}: {fact} ended with nothing open: no effect")
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
    last_of_day: dict[Day, str] = {}
    for day, benefit in changes:
        last_of_day[day] = benefit
    days = list(last_of_day)
    return [(day, days[i + 1] if i + 1 < len(days) else FOREVER, last_of_day[day]) for i, day in enumerate(days)]


def build_timeline(events: Iterable[AnyEvent], pool: str, as_of: dt.datetime | None = None) -> Timeline:
    """A citizen's applied events → their timeline in ``pool``, as known before ``as_of``."""
    warnings: list[str] = []
    facts = effective_events(events, as_of, warnings)
    hours: dict[Month, list[float]] = {}
    frikort: dict[Month, list[float]] = {}
    for event in facts.income:
        target = hours if event.kind in COUNTED_INCOME else frikort
        target.setdefault(parse_month(event.month), []).append(event.hours)
    enrollment: Enrolled | None = None
    exits: list[Day] = []
    moves: list[tuple[Day, str]] = []
    benefits: list[tuple[Day, str]] = []
    on_off: dict[str, list[tuple[Day, bool, str]]] = {}
    for event in facts.dated:
        kind = type(event)
        day = event.at.toordinal()
        if kind is BenefitChanged:
            benefits.append((day, event.benefit))
            if event.benefit in EXIT_BENEFITS:
                exits.append(day)
        elif kind is ExemptionStarted or kind is ExemptionEnded:
            on_off.setdefault("exemption", []).append((day, kind is ExemptionStarted, event.id))
        elif kind is OfferStarted or kind is OfferEnded:
            on_off.setdefault(event.offer, []).append((day, kind is OfferStarted, event.id))
        elif kind is Enrolled:
            if event.pool != pool:
                continue
            if enrollment is None:
                enrollment = event
            else:
                warnings.append(f"{event.id}: second enrollment in {pool}: the earliest ({enrollment.id}) counts")
        elif kind is Moved:
            moves.append((day, event.municipality))
        elif kind is Died:
            exits.append(day)
        elif kind is EducationStarted or kind is EducationEnded:
            on_off.setdefault("education", []).append((day, kind is EducationStarted, event.id))
    if enrollment is None:
        return Timeline(warnings=warnings)
    enrolled_on = enrollment.day()
    home = enrollment.municipality
    exits.extend(day for day, where in moves if where != home and day >= enrolled_on)
    exit_on = min(exits, default=FOREVER)
    if exit_on != FOREVER:
        late = [e for e in (*facts.dated, *facts.income) if e.day() > exit_on]
        warnings.extend(f"{e.id}: {type(e).__struct_config__.tag} after the exit: no effect" for e in late)
    held = {fact: spells(changes, fact, warnings) for fact, changes in on_off.items()}
    return Timeline(
        enrolled_on=enrolled_on,
        municipality=home,
        exit_on=exit_on,
        benefits=benefit_spells(benefits),
        education=held.pop("education", []),
        exemption=held.pop("exemption", []),
        offers=held,
        counted_hours={m: math.fsum(h) for m, h in hours.items()},
        frikort_hours={m: math.fsum(h) for m, h in frikort.items()},
        warnings=warnings,
    )
