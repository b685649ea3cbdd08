"""The log replay as a :class:`~.source.FiguresSource`: the CLI's :class:`~puljemonitor.replay.Replay`
over a JSON Lines file (or .gz), optionally following it as lines are appended
(:class:`LogSource`); :class:`ReplaySource` is the part that does not care where the input
comes from (``topicsource.py`` feeds it from the events topic).

The initial replay counts every citizen with :func:`~projections.aggregates.count_statuses`
(BIR: :func:`~projections.period_report.count_periods`), as ``puljemonitor report`` does. An
appended batch is absorbed as the live path absorbs an event: each touched citizen's
contribution to the counts is taken out as it was before the batch and put back as it is
after (both by the same count on that one citizen), so the counts stay equal to a fresh
replay of the longer log (a test checks this). Counts under a
cut-off or the rule variant are computed on demand and forgotten at every change.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import zlib
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterator
from pathlib import Path

from projections.aggregates import Tallies, count_statuses
from projections.period_report import count_periods
from puljemonitor.replay import Replay
from puljemonitor.server.source import Change, CitizenChange, FiguresSource, counted_months
from schemas import pools
from schemas.events import AnyEvent, Enrolled
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reports import InputCounts, RejectedLine
from streams.intake import NO_KEY, Outcome

log = logging.getLogger("puljemonitor.serve")

CHUNK = 1 << 20
CACHED_TALLIES = 16  # cut-offs and variants kept between changes (each a few hundred kB)


class LogReader:
    """New complete lines of a file that may grow: plain, or gzip (appended members too).

    Why not :func:`puljemonitor.replay.open_log`: it reads a file once to its end; following
    needs to resume at a byte offset, and a gzip file grows by whole members appended to it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._gzip = path.suffix == ".gz"
        self._inflate = zlib.decompressobj(wbits=31)
        self._partial = b""

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            out.append(self._inflate.decompress(data))
            if not self._inflate.eof:
                break
            data = self._inflate.unused_data
            self._inflate = zlib.decompressobj(wbits=31)
        return b"".join(out)

    def lines(self, final: bool) -> Iterator[bytes]:
        """The lines that are complete now; with ``final`` a last line without newline too."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            while chunk := f.read(CHUNK):
                self.offset += len(chunk)
                data = self._partial + (self._decompress(chunk) if self._gzip else chunk)
                end = data.rfind(b"\n") + 1
                self._partial = data[end:]
                if end:
                    yield from data[:end].splitlines(keepends=True)
        if final and self._partial:
            yield self._partial
            self._partial = b""


def count(citizens, *, pool: Pool | PeriodPool, rules: Rules, as_of: dt.datetime | None = None) -> Tallies:
    """The CLI's count of ``pool`` over :func:`counted_months`: statuses, or BIR's period rows."""
    counting = count_periods if isinstance(pool, PeriodPool) else count_statuses
    return counting(citizens, pool=pool, months=counted_months(pool), rules=rules, as_of=as_of)


def _rows(tallies: Tallies) -> dict[str, dict[int, str | tuple]]:
    """A single citizen's tallies → {home: {month: status or BIR row}} (at most one home)."""
    rows: dict[str, dict[int, str]] = defaultdict(dict)
    for (home, month), counts in tallies.items():
        for status, n in counts.items():
            if n:
                rows[home][month] = status
    return rows


class ReplaySource(FiguresSource):
    """A replay of the input kept up to date as input is appended; with ``follow``,
    :meth:`start` polls for it. A subclass says where the input comes from."""

    name: str  # for the operator's log lines

    def __init__(self, *, follow: bool, poll_seconds: float) -> None:
        super().__init__()
        self.follow = follow
        self.poll_seconds = poll_seconds
        self.replay = Replay(quiet=True)
        self.pools = list(pools.pools().values())
        self._lock = threading.RLock()
        self._now: dict[str, Tallies] = {}
        self._cache: OrderedDict[tuple, Tallies] = OrderedDict()
        self._enrolled: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._loaded = False
        self._caught_up = False
        self._counts = InputCounts()  # a copy per change: read without the lock, consistent with the version
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rejected = 0

    # -- input ---------------------------------------------------------------------------
    def _ingest(self) -> None:
        """The initial input into :attr:`replay` (counted in ``replay.counts``)."""
        raise NotImplementedError

    def _appended(self) -> list[tuple[int, bytes, object]]:
        """Input that arrived since the last call: (number for people, raw, key or ``NO_KEY``)."""
        raise NotImplementedError

    def load(self) -> None:
        """The initial replay: the input as it is now."""
        with self._lock:
            self._ingest()
            for events in self.replay.store.citizens():
                for event in events:
                    self._index(event)
            for pool in self.pools:
                self._now[pool.name] = count(self.replay.store.citizens(), pool=pool, rules=Rules())
            self._counts = _copy(self.replay.counts)
            self._loaded = True
            self._caught_up = not self.follow
        log.info("replayed %s: %s", self.name, _describe(self.counts()))

    def _reject(self, rejected: RejectedLine) -> None:
        self.rejected += 1  # the reasons quote values: `puljemonitor report --rejected` lists them

    def _index(self, event: AnyEvent) -> None:
        if isinstance(event, Enrolled):
            self._enrolled[event.pool, event.municipality].add(event.citizen)

    def absorb(self) -> Change | None:
        """Feed the input appended since the last call; the change it made, if any."""
        appended = self._appended()
        if not appended:
            self._caught_up = self._loaded
            return None
        with self._lock:
            intake = self.replay.intake
            applied: dict[str, set[str]] = defaultdict(set)
            before_rejected = self.rejected
            for number, raw, key in appended:
                outcome, event = intake.feed(number, raw, key)
                if outcome is Outcome.APPLIED:
                    applied[event.citizen].add(event.id)
                    self._index(event)
            keys: dict[str, frozenset] = {}
            citizens: list[CitizenChange] = []
            for pool in self.pools:
                changed, moved = self._recount(pool, applied)
                keys[pool.name] = changed
                citizens += moved
            self._cache.clear()
            self._counts = _copy(intake.counts)
            self.version += 1
            change = Change(self.version, self._counts, keys, citizens)
        if self.rejected > before_rejected:
            log.info("%d appended inputs rejected (numbers up to %d)", self.rejected - before_rejected, appended[-1][0])
        self._notify(change)
        return change

    def _recount(self, pool: Pool | PeriodPool, applied: dict[str, set[str]]) -> tuple[frozenset, list[CitizenChange]]:
        """Move each touched citizen's counts from before the batch to after it (copy on write)."""
        old = self._now[pool.name]
        new = Tallies(old)
        delta: dict[tuple[str, int], Counter] = defaultdict(Counter)
        moved = []
        for citizen, ids in applied.items():
            events = self.replay.store.events(citizen)
            earlier = [e for e in events if e.id not in ids]
            before = count([earlier], pool=pool, rules=Rules())
            after = count([events], pool=pool, rules=Rules())
            for key, counts in before.items():
                delta[key].subtract(counts)
            for key, counts in after.items():
                delta[key].update(counts)
            rows_before, rows_after = _rows(before), _rows(after)
            for home in sorted(rows_before.keys() | rows_after.keys()):
                if rows_before.get(home) != rows_after.get(home):
                    moved.append(CitizenChange(pool.name, home, citizen, rows_after.get(home)))
        changed = set()
        for key, diff in delta.items():
            if any(diff.values()):
                counts = Counter(old.get(key, Counter()))
                counts.update(diff)
                new[key] = +counts
                changed.add(key)
        self._now[pool.name] = new
        return frozenset(changed), moved

    def start(self) -> None:
        """Follow the log in a background thread (when following)."""
        if not self.follow or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="follow-input", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.absorb()
            except FileNotFoundError:
                log.warning("%s is gone; still serving what was read", self.name)
                self._stop.wait(5)
            except Exception:  # keep serving what was read; the reason is in the log
                log.exception("following %s failed", self.name)
                self._stop.wait(5)
            self._stop.wait(self.poll_seconds)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.replay.close()

    # -- facts ---------------------------------------------------------------------------
    def ready(self) -> bool:
        return self._loaded and self._caught_up

    def counts(self) -> InputCounts:
        return self._counts

    def tallies(self, pool: Pool | PeriodPool, rules: Rules, as_of: dt.datetime | None) -> Tallies:
        if as_of is None and rules == Rules():
            return self._now[pool.name]
        key = (pool.name, rules, as_of)
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                found = count(self.replay.store.citizens(), pool=pool, rules=rules, as_of=as_of)
                self._cache[key] = found
                while len(self._cache) > CACHED_TALLIES:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            return found

    def citizens(self, pool: Pool | PeriodPool, code: str) -> list[list[AnyEvent]]:
        with self._lock:
            return [self.replay.store.events(c) for c in sorted(self._enrolled.get((pool.name, code), ()))]

    def citizen(self, pool: Pool | PeriodPool, code: str, pseudonym: str) -> list[AnyEvent]:
        with self._lock:
            if pseudonym not in self._enrolled.get((pool.name, code), ()):
                return []
            return self.replay.store.events(pseudonym)

    def wait_ready(self, timeout: float) -> bool:
        """For tests and the benchmark: block until caught up (or the timeout)."""
        end = time.monotonic() + timeout
        while not self.ready() and time.monotonic() < end:
            time.sleep(0.02)
        return self.ready()


class LogSource(ReplaySource):
    """A replayed log file; with ``follow``, lines appended to it are absorbed."""

    def __init__(self, path: str | Path, *, follow: bool = False, poll_seconds: float = 0.2) -> None:
        super().__init__(follow=follow, poll_seconds=poll_seconds)
        self.path = Path(path)
        self.name = self.path.name
        self.reader = LogReader(self.path)
        self._lines = 0  # lines read, blank ones too: rejections name their line number

    def _ingest(self) -> None:
        # the last line too when not following (a line being written is not complete yet)
        self.replay.ingest_lines(self._numbered(self.reader.lines(final=not self.follow)), self._reject)

    def _numbered(self, lines: Iterator[bytes]) -> Iterator[bytes]:
        for line in lines:
            self._lines += 1
            yield line

    def _appended(self) -> list[tuple[int, bytes, object]]:
        appended = []
        for raw in self.reader.lines(final=False):
            self._lines += 1
            if raw and not raw.isspace():
                appended.append((self._lines, raw, NO_KEY))
        return appended


def _copy(counts: InputCounts) -> InputCounts:
    return InputCounts(
        lines=counts.lines, applied=counts.applied, duplicates=counts.duplicates, rejected=counts.rejected
    )


def _describe(counts: InputCounts) -> str:
    return f"{counts.lines} lines, {counts.applied} applied, {counts.duplicates} duplicates, {counts.rejected} rejected"
