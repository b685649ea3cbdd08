"""Offline replay: a JSON Lines log (file, .gz or stdin) → a store of applied events → reports.

This is the reference the live system must equal. It calls the same pure functions as the
worker: :class:`streams.intake.Intake` for every line, then the projections.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import gzip
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from projections.aggregates import Tallies, count_statuses
from projections.period_report import build_period_report, count_periods, overview_months
from projections.reports import build_report, report_months
from puljemonitor.forking import may_fork
from puljemonitor.stores import MemoryStore, RocksStore
from schemas.calendar import Month
from schemas.events import AnyEvent
from schemas.periods import PeriodReport
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reports import InputCounts, RejectedLine, Report
from streams.intake import Intake

PROGRESS_EVERY = 65_536
SPLIT_MIN = 10_000  # citizens: below this a forked projection worker costs more than it saves


@contextlib.contextmanager
def open_log(source: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """The log as binary lines, with its size in bytes when known (for progress)."""
    if source == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(source)
    size = path.stat().st_size
    if path.suffix == ".gz":
        with open(path, "rb") as raw, gzip.open(raw) as lines:
            yield _Counting(lines, raw), size
    else:
        with open(path, "rb") as lines:
            yield lines, size


class _Counting:
    """Lines of a gzip stream, with progress measured on the compressed file."""

    def __init__(self, lines: BinaryIO, raw: BinaryIO) -> None:
        self._lines, self._raw = lines, raw

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._lines)

    def tell(self) -> int:
        return self._raw.tell()


def progress(total: int | None, unit: str, desc: str, quiet: bool = False) -> tqdm:
    """A progress bar on a terminal (stderr), silent otherwise."""
    return tqdm(
        total=total,
        unit=unit,
        unit_scale=True,
        desc=desc,
        disable=True if quiet else None,
        leave=False,
        file=sys.stderr,
    )


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a replay.

    A replay allocates millions of objects and creates no reference cycles (events are
    ``gc=False`` structs; the containers are acyclic), so collections find nothing and
    cost about an eighth of the run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Reports:
    """What every replay answers once its log is ingested: the report of any month and cut-off."""

    counts: InputCounts

    def tallies(self, pool: Pool | PeriodPool, months: list[Month], rules: Rules, as_of: dt.datetime | None) -> Tallies:
        """Status counts per (municipality, month) of ``pool`` (BIR: period rows)."""
        raise NotImplementedError

    def report(
        self, pool: Pool | PeriodPool, month: Month, rules: Rules, as_of: dt.datetime | None
    ) -> Report | PeriodReport:
        if isinstance(pool, PeriodPool):
            return self.period_report_and_tallies(pool, month, rules, as_of)[0]
        return self.report_and_tallies(pool, month, rules, as_of)[0]

    def period_report_and_tallies(
        self, pool: PeriodPool, month: Month, rules: Rules, as_of: dt.datetime | None
    ) -> tuple[PeriodReport, Tallies]:
        """The BIR report of ``month`` and the tallies it was built from, which also cover
        the overview's earlier periods (one projection for the report and its overview)."""
        tallies = self.tallies(pool, overview_months(month), rules, as_of)
        report = build_period_report(tallies, pool=pool, month=month, rules=rules, as_of=as_of, counts=self.counts)
        return report, tallies

    def report_and_tallies(
        self, pool: Pool, month: Month, rules: Rules, as_of: dt.datetime | None, more_months: Iterable[Month] = ()
    ) -> tuple[Report, Tallies]:
        """The report of ``month`` and the tallies it was built from, which also cover
        ``more_months`` (a figure of earlier months reads them: one projection, not two)."""
        tallies = self.tallies(pool, sorted({*report_months(pool, month), *more_months}), rules, as_of)
        report = build_report(tallies, pool=pool, month=month, rules=rules, as_of=as_of, counts=self.counts)
        return report, tallies


class Replay(Reports):
    """A log ingested into a store; reports can then be computed for any month and cut-off.

    ``workers`` processes (default: one per core, at most two) share the projection of a
    large in-memory store by citizen: see :meth:`tallies`.
    """

    def __init__(self, state: str | os.PathLike | None = None, quiet: bool = False, workers: int | None = None) -> None:
        self.store = RocksStore(state) if state else MemoryStore()
        self.intake: Intake | None = None
        self.quiet = quiet  # no progress bars (a shard worker's parent shows them)
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)

    @property
    def counts(self) -> InputCounts:
        return self.intake.counts if self.intake else InputCounts()

    def ingest(self, source: str, on_reject: Callable[[RejectedLine], None] | None = None) -> InputCounts:
        """Feed every line of ``source`` (a path, a .gz path, - for stdin) or message (kafka://HOST:PORT/TOPIC)."""
        if source.startswith("kafka://"):
            from streams.topic_reader import read_messages  # only this path needs a broker client

            return self.ingest_messages(read_messages(source), on_reject)
        with open_log(source) as (lines, size), progress(size, "B", "reading", self.quiet) as bar:
            return self.ingest_lines(lines, on_reject, lambda: bar.update(lines.tell() - bar.n) if size else None)

    def ingest_lines(
        self,
        lines: Iterable[bytes],
        on_reject: Callable[[RejectedLine], None] | None = None,
        tick: Callable[[], None] | None = None,
        mine: Callable[[bytes, int], bool] | None = None,
    ) -> InputCounts:
        """Feed lines numbered from 1; blank lines are skipped and not counted.

        ``mine(raw, number)`` selects this replay's share of the lines (a shard's citizens);
        the others are skipped but keep their numbers.
        """
        self.intake = intake = Intake(self.store, on_reject)
        feed = intake.feed
        with gc_paused():
            for number, raw in enumerate(lines, 1):
                if tick and not number % PROGRESS_EVERY:
                    tick()
                if not raw or raw.isspace() or (mine is not None and not mine(raw, number)):
                    continue
                feed(number, raw)
        return intake.counts

    def ingest_messages(
        self, messages: Iterable[tuple[bytes | None, bytes]], on_reject: Callable[[RejectedLine], None] | None = None
    ) -> InputCounts:
        """Feed Kafka messages (key, value) as the live worker sees them: every message is an
        input (an empty value is rejected, not skipped) and its key must be its citizen."""
        self.intake = intake = Intake(self.store, on_reject)
        feed = intake.feed
        with gc_paused():
            for number, (key, value) in enumerate(messages, 1):
                feed(number, value, key)
        return intake.counts

    def tallies(self, pool: Pool | PeriodPool, months: list[Month], rules: Rules, as_of: dt.datetime | None) -> Tallies:
        """Every citizen's status (or BIR period category) in ``months``, counted
        (:func:`count_statuses`, :func:`count_periods`).

        Why split: the projection is pure Python at about 40 µs a citizen, and the HTML
        report's 14 months make it most of a second for the demo log. With more than one
        worker and at least :data:`SPLIT_MIN` citizens in memory, forked processes (which
        share the store without copying or pickling it) each count every ``workers``-th
        citizen, this process one share of them, and the tallies are added up: tallies of
        disjoint citizens add up to the whole (the same sum :class:`ShardedReplay` makes).
        A RocksDB store is not split (its handle must not cross a fork).
        """
        kwargs = {"pool": pool, "months": months, "rules": rules, "as_of": as_of}
        count = count_periods if isinstance(pool, PeriodPool) else count_statuses
        total = len(self.store) if isinstance(self.store, MemoryStore) else None
        parts = self.workers if total is not None and total >= SPLIT_MIN and may_fork() else 1
        with gc_paused():  # in the forked workers too: a collection there would copy the store
            context = multiprocessing.get_context("fork")
            children = []
            for part in range(1, parts):  # forked before the progress bar starts its thread
                receive, send = context.Pipe(duplex=False)
                share = self.store.citizens(part, parts)
                child = context.Process(target=_count_share, args=(send, count, share, kwargs), daemon=True)
                child.start()
                send.close()
                children.append((receive, child))
            with progress(total, "citizens", "projecting", self.quiet) as bar:
                mine = self.store.citizens(0, parts) if children else self.store.citizens()
                tallies = count(bar_iter(mine, bar), **kwargs)
                for receive, child in children:
                    tallies.add(_received(receive, child))
                    bar.update(len(self.store) // parts)
            return tallies

    def close(self) -> None:
        self.store.close()


def _count_share(send: Connection, count, citizens: Iterable[Iterable[AnyEvent]], kwargs: dict) -> None:
    """A forked projection worker: count its share of the citizens and send the tallies back."""
    try:
        send.send(("ok", count(citizens, **kwargs)))
    except BaseException as error:  # the parent raises it; a worker never fails silently
        send.send(("error", error))


def _received(receive: Connection, child: multiprocessing.Process) -> Tallies:
    """The tallies a projection worker sends, or its error raised here."""
    try:
        kind, value = receive.recv()
    except EOFError:  # died without a word (killed, out of memory)
        kind, value = "error", None
    child.join()
    if kind == "error":
        raise value or RuntimeError(f"projection worker exited with code {child.exitcode}")
    return value


def bar_iter(items, bar: tqdm, every: int = 4096):
    """Iterate while advancing ``bar`` in steps, so the bar costs nothing per item."""
    n = 0
    for n, item in enumerate(items, 1):
        yield item
        if not n % every:
            bar.update(every)
    bar.update(n % every)
