"""Admission of a valid event into a citizen's set of applied events (spec §2).

The set, keyed by event id, is the whole per-citizen truth: admitting is idempotent (the
same id with equal content is a duplicate and changes nothing) and the first arrival of an
id wins (other content under it is a conflict, since a correction must be a retraction
plus a new id). The replay's stores and the live worker admit through this one function.
"""

from __future__ import annotations

import enum
from collections.abc import MutableMapping

from schemas.events import AnyEvent


class Admission(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


def admit(events: MutableMapping[str, AnyEvent], event: AnyEvent) -> Admission:
    """Add ``event`` to a citizen's applied events unless its id is already there.

    The same id with equal content is a duplicate (ignored); with other content a conflict:
    the first arrival wins, since a correction must be a retraction plus a new id.
    """
    earlier = events.get(event.id)
    if earlier is None:
        events[event.id] = event
        return Admission.APPLIED
    return Admission.DUPLICATE if earlier == event else Admission.CONFLICT
