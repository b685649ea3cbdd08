"""The live path as pure functions: what each stage does with one message, without Kafka.

Three stages (``docs/live-design.md`` argues why this is crash-, duplicate- and order-safe);
``streams/worker.py`` only moves bytes between Quix Streams, these functions and the topics.

1. :func:`fold_step` (events, key = citizen): decode and admit one message into the
   citizen's set of applied events (the same :func:`streams.admission.admit` the offline
   replay uses) and move the citizen's :class:`projections.fold.CitizenFold` by that one
   event; a :class:`StatusUpdate` only when the citizen's status vector changed.
   :class:`CitizenStore` keeps the events in the stage's state (append-only, O(1) per event)
   and the folds in memory, rebuilt from the state when missing or stale.
2. :func:`apply_batch` (statuses, key = pool and municipality): the citizens' latest vectors
   with their versions → the municipality's absolute counts per month (stale versions ignored).
3. :class:`Totals` (counts, one partition): every municipality's latest counts →
   participant, project and national figures, with the core's ``aggregate`` and
   ``participant_results``.

Every pool goes through the same stages: a pool measured over periods (BIR) has its own
stage-1 rows and stage-3 figures (``streams/period_live.py``, :class:`PeriodTotals`); its
records travel with the pool's name, and the internal topics are keyed by pool and municipality.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol

from projections.aggregates import Tallies, aggregate
from projections.fold import CitizenFold
from projections.reports import participant_results
from schemas.calendar import Month, month_range, parse_month
from schemas.events import AnyEvent, from_bytes, to_bytes
from schemas.periods import ROW_LABELS
from schemas.pools import PeriodPool, Pool, Rules, configuration
from schemas.reference import municipalities
from schemas.reports import Aggregate, ParticipantResult
from schemas.statuses import STATUSES
from streams.admission import Admission, admit
from streams.intake import Outcome, accept
from streams.period_live import PeriodFigures, PeriodRows, period_figures
from streams.records import CountsUpdate, StatusBatch, StatusUpdate, View, counts_decoder, encode, view_decoder


class State(Protocol):
    """What a stage needs of its key's state (Quix's ``State``, or a dict in tests)."""

    def get_bytes(self, key: bytes, default: bytes | None = None) -> bytes | None: ...

    def set_bytes(self, key: bytes, value: bytes) -> None: ...


def months_of(pool: Pool | PeriodPool) -> range:
    """The months the live system keeps: the pool's whole monitoring period."""
    return month_range(parse_month(pool.first_month), parse_month(pool.last_month))


# --------------------------------------------------------------------------- stage 1

_COUNT = b"n"


def cells(pool: str) -> tuple[str, ...]:
    """What the bytes of a pool's vectors index: monthly statuses, or BIR's rows (by label)."""
    return ROW_LABELS if pool in configuration().period_pools else STATUSES


def _event_key(index: int) -> bytes:
    return b"e%d" % index


class CitizenStore:
    """Each citizen's applied events in the stage's state, their folds (and each period pool's rows) in memory.

    The state holds the events append-only (``n`` and ``e0``…), so applying an event writes
    two small values whatever the citizen's history. A fold is a cache of the stored events:
    it is used only while its event count equals the stored count, else rebuilt from the
    state (after a restart, a rebalance, or an aborted transaction that the cache outlived).
    """

    def __init__(self, pool: Pool, rules: Rules, period_pools: Sequence[PeriodPool] = ()) -> None:
        self.pool = pool
        self.rules = rules
        self.months = months_of(pool)
        self.folds: dict[str, CitizenFold] = {}
        self.periods = [PeriodRows(p, rules) for p in period_pools]

    def fold(self, citizen: str, state: State) -> CitizenFold:
        stored = int(state.get_bytes(_COUNT) or b"0")
        fold = self.folds.get(citizen)
        if fold is None or len(fold.events) != stored:
            events = [from_bytes(state.get_bytes(_event_key(i))) for i in range(stored)]
            fold = self.folds[citizen] = CitizenFold(self.pool.name, self.months, self.rules, events)
        return fold

    @staticmethod
    def append(state: State, fold: CitizenFold, event: AnyEvent) -> None:
        """Store a newly applied event (already in ``fold.events``)."""
        index = len(fold.events) - 1
        state.set_bytes(_event_key(index), to_bytes(event))
        state.set_bytes(_COUNT, b"%d" % len(fold.events))

    def forget(self) -> None:
        """Drop every cached fold (partitions were revoked or lost)."""
        self.folds.clear()
        for rows in self.periods:
            rows.forget()


class FoldResult(NamedTuple):
    outcome: Outcome
    updates: list[tuple[str, StatusUpdate]]  # (pool, update); empty when nothing changed
    reason: str | None


def fold_step(store: CitizenStore, state: State, key: bytes | None, raw: bytes | None) -> FoldResult:
    """One message → outcome and the status updates to send, only when something changed.

    The key is trusted only once it matched the event's citizen (``accept`` checks it before
    admission), so ``state`` — the state of the message key — is the citizen's. A citizen whose
    enrolling municipality changed (a retracted or corrected enrollment) is withdrawn from
    the old one.
    """
    found: list[CitizenFold] = []

    def admit_into_fold(event: AnyEvent) -> Admission:
        fold = store.fold(event.citizen, state)
        found.append(fold)
        return admit(fold.events, event)

    outcome, event, reason = accept(raw, key, admit_into_fold)
    if outcome is not Outcome.APPLIED:
        return FoldResult(outcome, [], reason)
    fold = found[0]
    store.append(state, fold, event)
    home_before, before = fold.home, bytes(fold.vector)
    fold.add(event)
    home, version, first = fold.home, len(fold.events), store.months.start
    pool = store.pool.name
    updates = []
    if home_before is not None and home_before != home:
        updates.append((pool, StatusUpdate(event.citizen, home_before, version, first, None)))
    if home is not None and (home != home_before or fold.vector != before):
        updates.append((pool, StatusUpdate(event.citizen, home, version, first, bytes(fold.vector))))
    for rows in store.periods:
        updates.extend((rows.pool.name, u) for u in rows.step(event.citizen, fold.events.values(), event))
    return FoldResult(outcome, updates, None)


class Coalesced:
    """Stage 1's status updates of one commit, the latest per (pool, municipality, citizen), so
    stage 2 receives one batch per pool, municipality and commit instead of one message per event."""

    def __init__(self) -> None:
        self.latest: dict[tuple[str, str, str], StatusUpdate] = {}

    def add(self, pool: str, update: StatusUpdate) -> None:
        key = (pool, update.municipality, update.citizen)
        held = self.latest.get(key)
        if held is None or held.version <= update.version:
            self.latest[key] = update

    def batches(self) -> Iterator[StatusBatch]:
        """One batch per pool and municipality; empties the buffer."""
        grouped: dict[tuple[str, str], list[StatusUpdate]] = {}
        for (pool, code, _), update in self.latest.items():
            grouped.setdefault((pool, code), []).append(update)
        self.latest = {}
        for pool, code in sorted(grouped):
            yield StatusBatch(pool, code, grouped[pool, code])


def batch_key(pool: str, municipality: str) -> bytes:
    """The key of a pool's municipality on the internal topics (statuses and counts): each gets
    its own state in stages 2 and 3."""
    return f"{pool}/{municipality}".encode()


# --------------------------------------------------------------------------- stage 2

_COUNTS = b"counts"


def _view_key(citizen: str) -> bytes:
    return b"v/" + citizen.encode()


def apply_batch(state: State, batch: StatusBatch) -> tuple[CountsUpdate, set[Month]]:
    """A municipality's batch of citizen vectors → its new absolute counts and the months changed.

    ``state`` is the pool's municipality's: each citizen's last :class:`View` and the counts. An update
    with a lower version than the stored view is stale (reordered, or from a fenced worker) and
    changes nothing; an equal version is the same set of events and changes nothing either.
    """
    stored = state.get_bytes(_COUNTS)
    counts = _counts_decode(stored) if stored else CountsUpdate(batch.pool, batch.municipality, 0, {})
    months = counts.months  # a fresh decode: changed in place, only in the months an update touches
    changed: set[Month] = set()
    version = counts.version
    names = cells(batch.pool)
    for update in batch.updates:
        key = _view_key(update.citizen)
        raw = state.get_bytes(key)
        old = view_decoder.decode(raw) if raw else None
        if old is not None and update.version <= old.version:
            continue
        before = old.vector if old is not None else None
        after = update.vector
        for i in range(max(len(before or b""), len(after or b""))):
            was = names[before[i]] if before else None
            now = names[after[i]] if after else None
            if was != now:
                month = update.first_month + i
                tally = months.get(month)
                if tally is None:
                    tally = months[month] = {}
                if was is not None:
                    tally[was] = tally.get(was, 0) - 1
                if now is not None:
                    tally[now] = tally.get(now, 0) + 1
                changed.add(month)
        version += update.version - (old.version if old is not None else 0)
        state.set_bytes(key, encode(View(update.version, after)))
    for month in changed:  # no zero counts and no empty months are kept
        tally = months[month]
        for cell in [cell for cell, n in tally.items() if not n]:
            del tally[cell]
        if not tally:
            del months[month]
    new = CountsUpdate(batch.pool, batch.municipality, version, months)
    state.set_bytes(_COUNTS, encode(new))
    return new, changed


def _counts_decode(data: bytes) -> CountsUpdate:
    return counts_decoder.decode(data)


def municipality_figures(counts: CountsUpdate, month: Month, pool: Pool) -> Aggregate:
    return aggregate(Counter(counts.months.get(month, {})), pool)


# --------------------------------------------------------------------------- stage 3

Dirty = tuple[str, str | None, Month]  # (level, participant name or None, month)


class Figures(NamedTuple):
    """One record's content before it is wrapped for the feed."""

    level: str
    participant: str | None  # the participant's name, for participant records
    month: Month
    version: int
    figures: Aggregate | ParticipantResult | PeriodFigures


class _Counted:
    """Stage 3's memory of one pool: every municipality's latest counts and their versions, and
    the running sums of each scope (nation, project, a participant) a municipality belongs to;
    a subclass says which scopes a municipality is in and which records its changed month makes dirty.

    Why running sums: a record of a scope would otherwise add up all of the scope's municipalities
    for its month each time, and under load every month of every scope is re-emitted each commit.
    The sums are exact (integer counts, moved by the difference of a municipality's old and new
    counts), so they equal the offline ``Tallies.combined``.
    """

    def __init__(self, pool: Pool | PeriodPool) -> None:
        self.pool = pool
        self.months = months_of(pool)
        self.tallies = Tallies()
        self.sums: dict[tuple[str, Month], Counter] = {}
        self.versions: dict[str, int] = {}

    def restore(self, stored: Callable[[str], bytes | None]) -> None:
        """Rebuild from the stored counts of every municipality (``stored(code)``)."""
        for code in municipalities():
            data = stored(code)
            if data:
                self.apply(_counts_decode(data))

    def apply(self, update: CountsUpdate) -> set[Dirty]:
        """Take a municipality's absolute counts; the records to re-emit."""
        code = update.municipality
        if update.version < self.versions.get(code, -1):
            return set()
        self.versions[code] = update.version
        dirty: set[Dirty] = set()
        scopes = self._scopes(code)
        for month in self.months:
            counts = Counter(update.months.get(month, {}))
            old = self.tallies.get((code, month), _NONE)
            if counts != old:
                self.tallies[code, month] = counts
                for scope in scopes:
                    total = self.sums.get((scope, month))
                    if total is None:
                        total = self.sums[scope, month] = Counter()
                    total.subtract(old)
                    total.update(counts)
                    for cell in [cell for cell in old if not total[cell]]:
                        del total[cell]  # no zero counts, as in the offline tallies
                dirty |= self._dirty(code, month)
        return dirty

    def sum(self, scope: str, month: Month) -> Counter:
        """The counts of a scope's municipalities in ``month``, added up."""
        return self.sums.get((scope, month), _NONE)

    def _scopes(self, code: str) -> tuple[str, ...]:
        raise NotImplementedError

    def _dirty(self, code: str, month: Month) -> set[Dirty]:
        raise NotImplementedError

    def _version(self, codes: Iterable[str]) -> int:
        return sum(self.versions.get(code, 0) for code in codes)


_NONE: Counter = Counter()  # never changed: the counts of a municipality or scope with no citizens


class Totals(_Counted):
    """Latest counts of every municipality → participant, project and national figures."""

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.participants = {p.name: p for p in pool.participants}
        self.project_codes = [code for p in pool.participants for code in p.codes]
        self._participant_of = {code: p for p in pool.participants for code in p.codes}
        self._window = (parse_month(pool.window_first), parse_month(pool.window_last))

    def _scopes(self, code: str) -> tuple[str, ...]:
        participant = self._participant_of.get(code)
        return ("nation", "project", "participant/" + participant.name) if participant else ("nation",)

    def _dirty(self, code: str, month: Month) -> set[Dirty]:
        dirty: set[Dirty] = {("nation", None, month)}
        if code in self._participant_of:
            dirty.add(("project", None, month))
            name = self._participant_of[code].name
            dirty.add(("participant", name, month))
            if self._window[0] <= month <= self._window[1]:
                # achieved/best_* of every later report month read this window month
                dirty.update(("participant", name, m) for m in self.months if m > month)
        return dirty

    def everything(self) -> set[Dirty]:
        dirty: set[Dirty] = set()
        for month in self.months:
            dirty.add(("nation", None, month))
            dirty.add(("project", None, month))
            dirty.update(("participant", name, month) for name in self.participants)
        return dirty

    def figures(self, dirty: Iterable[Dirty]) -> Iterator[Figures]:
        pool = self.pool
        versions = {"nation": self._version(self.versions), "project": self._version(self.project_codes)}
        months_of_participant: dict[str, list[Month]] = {}
        for level, name, month in sorted(dirty, key=lambda d: (d[0], d[1] or "", d[2])):
            if level == "participant":
                months_of_participant.setdefault(name, []).append(month)
            else:
                yield Figures(level, None, month, versions[level], aggregate(self.sum(level, month), pool))
        for name, months in months_of_participant.items():
            participant = self.participants[name]
            version = self._version(participant.codes)
            scope = "participant/" + name
            results = participant_results(lambda m, scope=scope: self.sum(scope, m), participant, pool, months)
            for month, result in results.items():
                yield Figures("participant", name, month, version, result)


class PeriodTotals(_Counted):
    """A period pool's project figures (BIR: every enrolling municipality is a participant, so
    the project is also the nation, as in :func:`projections.period_report.build_period_report`)."""

    def _scopes(self, code: str) -> tuple[str, ...]:
        return ("project",)

    def _dirty(self, code: str, month: Month) -> set[Dirty]:
        return {("project", None, month)}

    def everything(self) -> set[Dirty]:
        return {("project", None, month) for month in self.months}

    def figures(self, dirty: Iterable[Dirty]) -> Iterator[Figures]:
        version = self._version(self.versions)
        for _, _, month in sorted(dirty):
            yield Figures("project", None, month, version, period_figures(self.sum("project", month), self.pool))


def totals_of(pool: Pool | PeriodPool) -> Totals | PeriodTotals:
    return PeriodTotals(pool) if isinstance(pool, PeriodPool) else Totals(pool)
