"""Accounting for every input: each line or message is applied, a duplicate, or rejected.

The offline replay and the live worker both feed raw inputs through :class:`Intake`, so
validation, deduplication and dead-lettering are one piece of code.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

from schemas.events import AnyEvent, Rejection, decode, redact_cpr
from schemas.reports import InputCounts, RejectedLine
from streams.citizen import Admission


class Store(Protocol):
    """Where applied events live, per citizen."""

    def admit(self, event: AnyEvent) -> Admission: ...


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


CONFLICT_REASON = (
    "id {id!r} was already applied for this citizen with different content; "
    "to correct an event, retract it and send the correction under a new id"
)


class Intake:
    """Decodes, validates and admits raw inputs into a store, counting each outcome."""

    def __init__(self, store: Store, on_reject: Callable[[RejectedLine], None] | None = None) -> None:
        self.store = store
        self.counts = InputCounts()
        self._on_reject = on_reject

    def feed(self, line: int, raw: bytes) -> tuple[Outcome, AnyEvent | None]:
        """Account for one non-blank input (``line`` numbers it for people: line or offset)."""
        counts = self.counts
        counts.lines += 1
        try:
            event = decode(raw)
        except Rejection as error:
            self._reject(line, raw, str(error))
            return Outcome.REJECTED, None
        admission = self.store.admit(event)
        if admission is Admission.APPLIED:
            counts.applied += 1
            return Outcome.APPLIED, event
        if admission is Admission.DUPLICATE:
            counts.duplicates += 1
            return Outcome.DUPLICATE, event
        self._reject(line, raw, CONFLICT_REASON.format(id=event.id))
        return Outcome.REJECTED, None

    def _reject(self, line: int, raw: bytes, reason: str) -> None:
        self.counts.rejected += 1
        if self._on_reject is not None:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self._on_reject(RejectedLine(line=line, raw=redact_cpr(text), reason=reason))
