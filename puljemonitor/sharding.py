"""The offline replay split by citizen over worker processes, for logs that are large.

Why this exists: one Python process replays about 200,000 lines/s; the machine has more
cores. Every rule of the replay is per citizen (duplicates, conflicts, the timeline), so
the log splits cleanly by citizen: each :class:`Shard` process reads the whole file, keeps
the lines of its own citizens (:func:`shard_of`) and ingests them into its own
:class:`Replay`, with the line numbers of the whole file. A report asks every shard for its
tallies and adds them up; the counts add up; the rejected lines are merged back into line
order. So every figure, count and the ``--rejected`` file are identical to a single
process's (``tests/puljemonitor/test_sharding.py`` holds them equal).

A line without a string ``citizen`` (not JSON, not an object, a number) has no citizen
and goes to the shard its line number names. Reading only a path: standard input and Kafka topics
are replayed in one process.
"""

from __future__ import annotations

import datetime as dt
import heapq
import multiprocessing
import os
import zlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import msgspec

from projections.aggregates import Tallies
from puljemonitor.replay import Replay, Reports, open_log, progress
from schemas.calendar import Month
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reports import InputCounts, RejectedLine


class _Citizen(msgspec.Struct):
    citizen: str


_citizen_decoder = msgspec.json.Decoder(_Citizen)


def shard_of(raw: bytes, number: int, shards: int) -> int:
    """Which of ``shards`` replays line ``number`` (``raw``) belongs to: its citizen's.

    msgspec reads the top-level ``citizen`` alone (escapes, nesting and key order as the
    event decoder sees them, other fields skipped); a line without one goes by its number.
    """
    try:
        citizen = _citizen_decoder.decode(raw).citizen
    except msgspec.DecodeError:
        return number % shards
    return zlib.crc32(citizen.encode()) % shards


def _serve(conn: Connection, source: str, state: str | None, index: int, shards: int, position) -> None:
    """A shard process: ingest its lines, then answer tally requests until told to stop."""
    try:
        replay = Replay(state, quiet=True, workers=1)  # the shards are the parallelism
        rejected: list[RejectedLine] = []
        with open_log(source) as (lines, _size):

            def tick() -> None:
                position.value = lines.tell()

            counts = replay.ingest_lines(
                lines, rejected.append, tick, mine=lambda raw, number: shard_of(raw, number, shards) == index
            )
        position.value = -1
        conn.send(("ok", (counts, rejected)))
        while (request := conn.recv()) is not None:
            conn.send(("ok", replay.tallies(*request)))
        replay.close()
    except BaseException as error:  # the parent raises it; a shard never dies silently
        conn.send(("error", error))


class ShardedReplay(Reports):
    """:class:`Replay`'s answers from ``shards`` processes, each holding some citizens."""

    def __init__(self, state: str | os.PathLike | None = None, shards: int = 2) -> None:
        self.state = state
        self.shards = shards
        self.counts = InputCounts()
        self._conns: list[Connection] = []
        self._processes: list[multiprocessing.Process] = []

    def ingest(self, source: str, on_reject: Callable[[RejectedLine], None] | None = None) -> InputCounts:
        """Feed every line of the file at ``source`` (plain or .gz) through the shards."""
        context = multiprocessing.get_context("fork")  # children share the loaded modules
        positions = [context.Value("q", 0, lock=False) for _ in range(self.shards)]
        for index in range(self.shards):
            parent, child = context.Pipe()
            state = str(Path(self.state) / f"shard-{index}") if self.state else None
            process = context.Process(
                target=_serve, args=(child, source, state, index, self.shards, positions[index]), daemon=True
            )
            process.start()
            child.close()
            self._conns.append(parent)
            self._processes.append(process)
        size = Path(source).stat().st_size
        with progress(size, "B", "reading") as bar:
            while not all(conn.poll(0.2) for conn in self._conns):
                done = [p.value if p.value >= 0 else size for p in positions]
                bar.update(min(done) - bar.n)
        results = [self._answer(conn) for conn in self._conns]
        for counts, _ in results:
            for field in counts.__struct_fields__:
                setattr(self.counts, field, getattr(self.counts, field) + getattr(counts, field))
        if on_reject is not None:
            for rejected in heapq.merge(*(r for _, r in results), key=lambda r: r.line):
                on_reject(rejected)
        return self.counts

    def tallies(self, pool: Pool | PeriodPool, months: list[Month], rules: Rules, as_of: dt.datetime | None) -> Tallies:
        for conn in self._conns:
            conn.send((pool, months, rules, as_of))
        merged = Tallies()
        for conn in self._conns:
            merged.add(self._answer(conn))
        return merged

    def _answer(self, conn: Connection):
        try:
            kind, value = conn.recv()
        except EOFError:  # the shard died without a word (killed, out of memory)
            index = self._conns.index(conn)
            self.close()
            raise RuntimeError(f"replay shard {index} exited with code {self._processes[index].exitcode}") from None
        if kind == "error":
            self.close()
            raise value
        return value

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        self._conns = []


def shards_for(source: str, jobs: int) -> int:
    """How many shards to replay ``source`` with: ``jobs`` if given, else one per core (at
    most two) for a file large enough to repay starting them, else one."""
    if jobs:
        return jobs
    if source == "-" or "://" in source or not Path(source).is_file():
        return 1
    return min(2, os.cpu_count() or 1) if Path(source).stat().st_size >= 16 << 20 else 1
