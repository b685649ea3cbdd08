"""The live path as pure functions: what each Faust agent does with one message, without Kafka.

Three stages (see ``docs/live-design.md`` for why this is crash- and duplicate-safe):

1. :func:`citizen_step` (events topic, keyed by citizen): decode and admit one raw message
   into the citizen's set of applied events (the same :func:`streams.admission.admit` the
   offline replay uses), then derive the citizen's absolute status vector over the pool's
   months and address it to the enrolling municipality, with ``version`` = number of
   applied events (monotone, because the set only grows). State and vector are written
   and sent for duplicates too: a redelivery after a crash between the state write and the
   sends re-sends what was lost. :func:`fold_step` is its incremental counterpart for the
   engine that replaces Faust: each citizen's :class:`projections.fold.CitizenFold` is kept,
   an event costs only what it can change, and an update is sent only when a vector changed.
2. :class:`Projection` (statuses topic, keyed by municipality): keeps the last vector per
   (municipality, citizen) with its version, ignores stale versions, and moves each changed
   month's status in a :class:`projections.aggregates.Tallies`. The tallies are derived
   state, rebuilt from the stored views after recovery (:meth:`Projection.rebuild`).
3. :class:`Totals` (one partition): the latest counts of every municipality → participant,
   project and national aggregates, with the core's ``aggregate``/``participant_result``.

Nothing here knows about Faust; ``streams/app.py`` only moves bytes between these functions
and topics/tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, MutableMapping
from typing import NamedTuple

import msgspec

from projections.aggregates import Tallies, aggregate
from projections.fold import CitizenFold
from projections.reports import participant_results
from schemas.calendar import Month, format_month, month_range, parse_month
from schemas.cpr import redact_cpr
from schemas.events import AnyEvent
from schemas.pools import Pool, Rules
from schemas.statuses import STATUSES
from streams.admission import Admission, admit
from streams.intake import Outcome, accept

# --------------------------------------------------------------------------- records


class CitizenState(msgspec.Struct, array_like=True, gc=False):
    """What the ``citizens`` table holds per citizen: the applied events and every
    municipality the citizen's vector was ever addressed to (so a changed enrollment can
    withdraw the citizen from the old one, again on every redelivery)."""

    events: list[AnyEvent]
    homes: list[str] = []


class StatusUpdate(msgspec.Struct, array_like=True, gc=False):
    """Citizen stage → municipality stage: the citizen's absolute statuses in one municipality.

    ``vector`` holds one byte per month from ``first_month`` (an index into
    :data:`schemas.statuses.STATUSES`); ``None`` withdraws the citizen from ``municipality``.
    """

    citizen: str
    municipality: str
    version: int
    first_month: int
    vector: bytes | None


class CountsUpdate(msgspec.Struct, array_like=True, gc=False):
    """Municipality stage → totals stage: absolute status counts of one municipality, every
    month (one message per municipality and flush, not per month: the totals stage pays
    Faust's per-message cost 44 times less).

    ``version`` is the sum of the municipality's citizen versions, which never decreases.
    """

    municipality: str
    version: int
    months: dict[int, dict[str, int]]


_state_decoder = msgspec.msgpack.Decoder(CitizenState)
_update_decoder = msgspec.msgpack.Decoder(StatusUpdate)
_counts_decoder = msgspec.msgpack.Decoder(CountsUpdate)
_msgpack = msgspec.msgpack.Encoder()
_json = msgspec.json.Encoder()


def encode(record: msgspec.Struct) -> bytes:
    return _msgpack.encode(record)


def decode_state(data: bytes) -> CitizenState:
    return _state_decoder.decode(data)


def decode_update(data: bytes) -> StatusUpdate:
    return _update_decoder.decode(data)


def decode_counts(data: bytes) -> CountsUpdate:
    return _counts_decoder.decode(data)


# --------------------------------------------------------------------------- stage 1


class DeadLetter(msgspec.Struct, kw_only=True):
    """The value on the dead-letter topic: where the message was, what it was, and why."""

    reason: str
    raw: str
    topic: str
    partition: int
    offset: int
    key: str | None = None


class CitizenResult(msgspec.Struct, kw_only=True, gc=False):
    outcome: Outcome
    citizen: str | None = None
    state: bytes | None = None  # the table value to write (none for a rejected message)
    updates: list[StatusUpdate] = []
    reason: str | None = None


def _text(raw: bytes | None) -> str:
    """A message value or key as kept on the dead-letter topic: text, CPR numbers redacted."""
    return redact_cpr((raw or b"").decode("utf-8", errors="replace").rstrip("\r\n"))


def dead_letter(
    result: CitizenResult, raw: bytes | None, key: bytes | None, topic: str, partition: int, offset: int
) -> bytes:
    """The dead-letter record of a rejected message (CPR-like numbers redacted everywhere)."""
    return _json.encode(
        DeadLetter(
            reason=redact_cpr(result.reason or "rejected"),
            raw=_text(raw),
            topic=topic,
            partition=partition,
            offset=offset,
            key=_text(key) if key is not None else None,
        )
    )


def months_of(pool: Pool) -> range:
    """The months the live system keeps: the pool's whole monitoring period."""
    return month_range(parse_month(pool.first_month), parse_month(pool.last_month))


def status_vector(events: Iterable[AnyEvent], pool: Pool, months: range, rules: Rules) -> tuple[str | None, bytes]:
    """(enrolling municipality or None, one status byte per month) — the core's rules, unchanged."""
    fold = CitizenFold(pool.name, months, rules, events)
    return fold.home, bytes(fold.vector) if fold.home is not None else b""


class FoldResult(NamedTuple):
    outcome: Outcome
    updates: list[StatusUpdate]  # empty when the citizen's statuses did not change
    reason: str | None


def fold_step(
    folds: MutableMapping[str, CitizenFold],
    key: bytes | None,
    raw: bytes | None,
    *,
    pool: Pool,
    months: range,
    rules: Rules,
) -> FoldResult:
    """One message → outcome and the status updates to send, only when something changed.

    The incremental counterpart of :func:`citizen_step`: ``folds`` keeps each citizen's
    :class:`projections.fold.CitizenFold` (applied events, timeline, vector), so an event
    costs what it can change, not a full derivation. A citizen whose enrolling
    municipality changed (a retracted or corrected enrollment) is withdrawn from the old one.
    """
    found: list[CitizenFold] = []

    def admit_into_fold(event: AnyEvent) -> Admission:
        fold = folds.get(event.citizen)
        if fold is None:
            fold = folds[event.citizen] = CitizenFold(pool.name, months, rules)
        found.append(fold)
        return admit(fold.events, event)

    outcome, event, reason = accept(raw, key, admit_into_fold)
    if outcome is not Outcome.APPLIED:
        return FoldResult(outcome, [], reason)
    fold = found[0]
    home_before, before = fold.home, bytes(fold.vector)
    fold.add(event)
    home, version = fold.home, len(fold.events)
    updates = []
    if home_before is not None and home_before != home:
        updates.append(StatusUpdate(event.citizen, home_before, version, months.start, None))
    if home is not None and (home != home_before or fold.vector != before):
        updates.append(StatusUpdate(event.citizen, home, version, months.start, bytes(fold.vector)))
    return FoldResult(outcome, updates, None)


def citizen_step(
    stored: bytes | None,
    key: bytes | None,
    raw: bytes | None,
    *,
    pool: Pool,
    months: range,
    rules: Rules,
    lookup=None,
) -> CitizenResult:
    """One message of the events topic → outcome, new citizen state, status updates to send.

    ``stored`` is the table value of the citizen named by ``key`` (``lookup(citizen)`` is
    used instead when given, since the key is only trusted after it matches the event).
    """
    loaded: list[tuple[CitizenState, dict[str, AnyEvent]]] = []

    def admit_into_state(event: AnyEvent) -> Admission:
        # The key is trusted only now that it matched the event's citizen.
        value = lookup(event.citizen) if lookup is not None else stored
        state = decode_state(value) if value else CitizenState(events=[])
        events = {e.id: e for e in state.events}
        loaded.append((state, events))
        return admit(events, event)

    outcome, event, reason = accept(raw, key, admit_into_state)
    if outcome is Outcome.REJECTED:
        return CitizenResult(outcome=outcome, reason=reason)
    citizen = event.citizen
    state, events = loaded[0]
    home, vector = status_vector(events.values(), pool, months, rules)
    homes = state.homes
    if home is not None and home not in homes:
        homes = [*homes, home]
    # Written for a duplicate too: the redelivery of a message whose first write reached the
    # worker's local store but not the table's changelog (a crash in between) heals the
    # changelog, so a worker that later restores from it still has the event.
    new_state = encode(CitizenState(events=list(events.values()), homes=homes))
    version = len(events)
    first = months.start
    updates = [StatusUpdate(citizen, code, version, first, vector if code == home else None) for code in homes]
    return CitizenResult(outcome=outcome, citizen=citizen, state=new_state, updates=updates)


# --------------------------------------------------------------------------- stage 2


def view_key(municipality: str, citizen: str) -> str:
    """The ``views`` table key: a citizen can have a view in two municipalities at once
    (a withdrawal in one, the vector in the other), on different partitions."""
    return f"{municipality}/{citizen}"


Key = tuple[str, Month]


class Projection:
    """The municipality stage's derived state: tallies and version sums for assigned partitions."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.tallies = Tallies()
        self.versions: Counter[str] = Counter()

    def rebuild(self, views: Iterable[bytes]) -> set[Key]:
        """Derived counts from the persisted views alone (after recovery); every key, to re-emit."""
        self.tallies = Tallies()
        self.versions = Counter()
        changed: set[Key] = set()
        for data in views:
            changed |= self._move(None, decode_update(data))
        return changed

    def apply(self, stored: bytes | None, update: StatusUpdate) -> tuple[bool, set[Key]]:
        """(store the update as the new view?, changed (municipality, month) keys).

        An update with a lower version than the stored view is stale (reordered or from a
        replaced worker) and changes nothing; an equal version is the same event set, stored
        again (which heals a changelog that missed the first write) but counted once.
        """
        old = decode_update(stored) if stored else None
        if old is not None and update.version < old.version:
            return False, set()
        if old is not None and update.version == old.version and update.vector == old.vector:
            return True, set()
        return True, self._move(old, update)

    def _move(self, old: StatusUpdate | None, new: StatusUpdate) -> set[Key]:
        code = new.municipality
        before = old.vector if old is not None else None
        after = new.vector
        changed: set[Key] = set()
        span = max(len(before or b""), len(after or b""))
        first = new.first_month
        for i in range(span):
            was = STATUSES[before[i]] if before else None
            now = STATUSES[after[i]] if after else None
            if was != now:
                key = (code, first + i)
                self.tallies.move(key, was, now)
                changed.add(key)
        self.versions[code] += new.version - (old.version if old is not None else 0)
        return changed

    def counts(self, code: str, months: range) -> CountsUpdate:
        """The municipality's counts in every month, for the totals stage."""
        by_month = {}
        for month in months:
            counts = self.tallies.get((code, month))
            if counts:
                by_month[month] = {s: n for s, n in counts.items() if n}
        return CountsUpdate(code, self.versions[code], by_month)

    def records(self, keys: Iterable[Key]) -> Iterator[tuple[Key, bytes]]:
        """For each key: (key, aggregate record value (spec AGG JSON))."""
        for key in sorted(keys):
            counts = self.tallies.get(key) or Counter()
            yield key, _json.encode(aggregate(counts, self.pool))


def output_key(pool: Pool, kind: str, month: Month, name: str | None = None) -> str:
    """``afklaringspuljen/municipality/101/2021-09``, ``…/participant/<name>/<month>``,
    ``…/project/<month>``, ``…/nation/<month>``."""
    middle = f"{kind}/{name}" if name is not None else kind
    return f"{pool.name}/{middle}/{format_month(month)}"


def parse_output_key(key: str) -> tuple[str, str, str | None, str]:
    """(pool, kind, name or None, month text); names may contain ``/`` (Tårnby/Dragør)."""
    parts = key.split("/")
    name = "/".join(parts[2:-1]) or None
    return parts[0], parts[1], name, parts[-1]


# --------------------------------------------------------------------------- stage 3


class Totals:
    """Latest counts of every municipality → participant, project and national aggregates."""

    def __init__(self, pool: Pool, months: range) -> None:
        self.pool = pool
        self.months = months
        self.tallies = Tallies()
        self.versions: dict[str, int] = {}
        self.project_codes = [code for p in pool.participants for code in p.codes]
        self._participant_of = {code: p for p in pool.participants for code in p.codes}
        self._window = (parse_month(pool.window_first), parse_month(pool.window_last))

    def apply(self, update: CountsUpdate) -> set[tuple[str, str | None, Month]]:
        """Take a municipality's absolute counts; the (kind, name, month) records to re-emit."""
        code = update.municipality
        if update.version < self.versions.get(code, -1):
            return set()
        self.versions[code] = update.version
        dirty: set[tuple[str, str | None, Month]] = set()
        for month in self.months:
            counts = Counter(update.months.get(month, {}))
            if counts != self.tallies.get((code, month), Counter()):
                self.tallies[code, month] = counts
                dirty |= self._dirty(code, month)
        return dirty

    def _dirty(self, code: str, month: Month) -> set[tuple[str, str | None, Month]]:
        dirty: set[tuple[str, str | None, Month]] = {("nation", None, month)}
        if code in self._participant_of:
            dirty.add(("project", None, month))
            name = self._participant_of[code].name
            dirty.add(("participant", name, month))
            if self._window[0] <= month <= self._window[1]:
                # achieved/best_* of every later report month read this window month
                dirty.update(("participant", name, m) for m in self.months if m > month)
        return dirty

    def rebuild(self, stored: Iterable[bytes]) -> set[tuple[str, str | None, Month]]:
        """Derived tallies from the persisted counts; every record, to re-emit (participants
        without any enrolled citizen included: the report lists all of them)."""
        self.tallies = Tallies()
        self.versions = {}
        for data in stored:
            self.apply(decode_counts(data))
        return self.everything()

    def everything(self) -> set[tuple[str, str | None, Month]]:
        dirty: set[tuple[str, str | None, Month]] = set()
        for month in self.months:
            dirty.add(("nation", None, month))
            dirty.add(("project", None, month))
            dirty.update(("participant", p.name, month) for p in self.pool.participants)
        return dirty

    def records(self, dirty: Iterable[tuple[str, str | None, Month]]) -> Iterator[tuple[str, bytes]]:
        pool = self.pool
        participants = {p.name: p for p in pool.participants}
        months_of_participant: dict[str, list[Month]] = {}
        for kind, name, month in sorted(dirty, key=lambda d: (d[0], d[1] or "", d[2])):
            if kind == "nation":
                value = aggregate(self.tallies.combined(self.tallies.municipalities(month), month), pool)
            elif kind == "project":
                value = aggregate(self.tallies.combined(self.project_codes, month), pool)
            else:
                months_of_participant.setdefault(name, []).append(month)
                continue
            yield output_key(pool, kind, month, name), _json.encode(value)
        for name, months in months_of_participant.items():
            for month, result in participant_results(self.tallies, participants[name], pool, months).items():
                yield output_key(pool, "participant", month, name), _json.encode(result)
