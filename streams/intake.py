"""Accounting for every input: each line or message is applied, a duplicate, or rejected.

The offline replay and the live worker both feed raw inputs through :class:`Intake`, so
validation, deduplication and dead-lettering are one piece of code.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

from schemas.cpr import redact_cpr
from schemas.events import AnyEvent, Rejection, decode
from schemas.reports import InputCounts, RejectedLine
from streams.admission import Admission


class Store(Protocol):
    """Where applied events live, per citizen."""

    def admit(self, event: AnyEvent) -> Admission: ...


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


EMPTY_REASON = "empty message value"
CONFLICT_REASON = (
    "id {id!r} was already applied for this citizen with different content; "
    "to correct an event, retract it and send the correction under a new id"
)


NO_KEY = object()
"""``key`` of an input that has none (a line of a file), as opposed to a message with key None."""


def key_mismatch(key: bytes | None, citizen: str) -> str | None:
    """Why a message's key disqualifies it, or None: events are keyed by their citizen, so
    that all of a citizen's events meet in one partition (and one worker)."""
    if key is not None and key == citizen.encode():
        return None
    shown = "no key" if key is None else f"key {redact_cpr(key.decode('utf-8', errors='replace'))!r}"
    return f"message has {shown} but citizen {citizen!r}; events must be keyed by their citizen so all of a citizen's events meet in one partition"


def count(counts: InputCounts, outcome: Outcome) -> None:
    """Account for one input: every input is exactly one of applied, duplicate or rejected."""
    counts.lines += 1
    if outcome is Outcome.APPLIED:
        counts.applied += 1
    elif outcome is Outcome.DUPLICATE:
        counts.duplicates += 1
    else:
        counts.rejected += 1


def accept(
    raw: bytes | None, key: object, admit: Callable[[AnyEvent], Admission]
) -> tuple[Outcome, AnyEvent | None, str | None]:
    """The input rules in order: an empty message, the contract, the key, the citizen's events.

    ``admit`` adds a valid event to wherever its citizen's events live (a store, a table).
    Returns the outcome, the event unless rejected, and the reason if rejected (CPR numbers
    redacted: reasons quote values, and are kept, sent and printed).
    """
    if key is not NO_KEY and (not raw or raw.isspace()):
        return Outcome.REJECTED, None, EMPTY_REASON
    try:
        event = decode(raw)
    except Rejection as error:
        return Outcome.REJECTED, None, str(error)  # decode redacts its reasons
    if key is not NO_KEY and (mismatch := key_mismatch(key, event.citizen)):  # type: ignore[arg-type]
        return Outcome.REJECTED, None, redact_cpr(mismatch)
    admission = admit(event)
    if admission is Admission.APPLIED:
        return Outcome.APPLIED, event, None
    if admission is Admission.DUPLICATE:
        return Outcome.DUPLICATE, event, None
    return Outcome.REJECTED, None, redact_cpr(CONFLICT_REASON.format(id=event.id))


class Intake:
    """Decodes, validates and admits raw inputs into a store, counting each outcome."""

    def __init__(self, store: Store, on_reject: Callable[[RejectedLine], None] | None = None) -> None:
        self.store = store
        self.counts = InputCounts()
        self._on_reject = on_reject
        self._admit = store.admit

    def feed(self, line: int, raw: bytes, key: object = NO_KEY) -> tuple[Outcome, AnyEvent | None]:
        """Account for one non-blank input line, or one message (then ``key`` is its key).

        ``line`` numbers the input for people: a line number, or a message's ordinal.
        """
        outcome, event, reason = accept(raw, key, self._admit)
        count(self.counts, outcome)
        if reason is not None:
            self._reject(line, raw, reason)
        return outcome, event

    def _reject(self, line: int, raw: bytes, reason: str) -> None:
        if self._on_reject is not None:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self._on_reject(RejectedLine(line=line, raw=redact_cpr(text), reason=reason))
