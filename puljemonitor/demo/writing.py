"""Writing the log: citizens in chunks (in worker processes at large scales), merged in order.

Why its own module: 10 M lines must be sorted by recording time without holding them
in memory and without the output depending on how the work was split. Each chunk of
citizens writes its lines into per-month bucket files; the buckets are then merged and
each sorted by its whole text (sort key first), so the same seed and scale give the same
bytes with any number of worker processes.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from typing import BinaryIO, TextIO

from puljemonitor.demo.bir import BIR, BirEmitter, build_bir_world, simulate_bir_citizen
from puljemonitor.demo.dates import MONTH_FIRST, N_MONTHS, POOL, month_of_ordinal
from puljemonitor.demo.events import NOISE, DemoSummary, Emitter
from puljemonitor.demo.invalid import invalid_line, invalid_slots
from puljemonitor.demo.life import simulate_citizen
from puljemonitor.demo.world import build_world


class _Buckets:
    """Lines bucketed by month of their file key, so 10 M lines sort in little memory.

    Each chunk of citizens writes its own bucket files (so chunks can run in
    parallel processes); `drain` merges bucket by bucket. Rows sort by their
    whole text (key first), so the output does not depend on the chunking.
    """

    def __init__(self, directory: str):
        self.directory = directory
        self.files: dict[int, BinaryIO] = {}
        self.first = MONTH_FIRST[0]

    def bucket(self, key: int) -> int:
        ordinal = key // 86400
        if ordinal < self.first:
            return -1
        return min(month_of_ordinal(ordinal), N_MONTHS + 12)

    def add(self, key: int, line: bytes) -> None:
        b = self.bucket(key)
        f = self.files.get(b)
        if f is None:
            f = self.files[b] = open(os.path.join(self.directory, f"b{b + 1:04d}"), "wb", buffering=1 << 20)
        f.write(b"%012d\t%b\n" % (key, line))

    def close(self) -> list[int]:
        for f in self.files.values():
            f.close()
        return sorted(self.files)


def _drain(directories: list[str], buckets: list[int], write: Callable[[bytes], None]) -> int:
    """Merge the chunks' bucket files in key order into `write`; the number of lines."""
    count = 0
    for b in buckets:
        rows: list[bytes] = []
        for directory in directories:
            path = os.path.join(directory, f"b{b + 1:04d}")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    rows.extend(f.readlines())
                os.remove(path)
        rows.sort()
        write(b"".join([r[13:] for r in rows]))
        count += len(rows)
    return count


CHUNK_CITIZENS = 20_000  # citizens per unit of (parallel) work
PARALLEL_FROM = 60_000  # citizens; below this one process is quicker than starting workers


def _write_chunk(
    seed: int, scale: float, start: int, stop: int, directory: str, pool: str = POOL
) -> tuple[DemoSummary, list[int]]:
    """Simulate citizens [start, stop) of ``pool`` into bucket files in `directory`."""
    world = build_world(seed, scale)
    if pool == BIR:
        return _write_bir_chunk(world, scale, start, stop, directory)
    slots = invalid_slots(len(world.citizen_municipality), scale)
    summary, buckets = DemoSummary(), _Buckets(directory)
    for i in range(start, stop):
        life, rng = simulate_citizen(world, i)
        em = Emitter(world, i, life, rng, buckets.add, summary, keep=i in slots)
        em.run()
        if i % NOISE.retraction_every == NOISE.retraction_phase:
            em.retraction(i // NOISE.retraction_every)
        for kind in slots.get(i, ()):
            line, key = invalid_line(kind, em, random.Random(f"invalid:{world.seed}:{i}:{kind}"))
            buckets.add(key, line.encode())
            summary.invalid += 1
            summary.invalid_by_kind[kind] = summary.invalid_by_kind.get(kind, 0) + 1
    summary.citizens = stop - start
    return summary, buckets.close()


def _write_bir_chunk(world, scale: float, start: int, stop: int, directory: str) -> tuple[DemoSummary, list[int]]:
    """BIR citizens [start, stop) into bucket files (no invalid lines: those are the first pool's)."""
    bir = build_bir_world(world, scale)
    summary, buckets = DemoSummary(), _Buckets(directory)
    for i in range(start, stop):
        life, rng = simulate_bir_citizen(world, bir, i)
        em = BirEmitter(world, bir.first_index + i, life, rng, buckets.add, summary)
        em.run()
        if i % NOISE.retraction_every == NOISE.retraction_phase:
            em.retraction(i // NOISE.retraction_every)
    summary.citizens = stop - start
    return summary, buckets.close()


def _merge(total: DemoSummary, part: DemoSummary) -> None:
    for name in ("citizens", "events", "duplicates", "invalid", "retractions", "late"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for mine, theirs in ((total.by_type, part.by_type), (total.invalid_by_kind, part.invalid_by_kind)):
        for key, value in theirs.items():
            mine[key] = mine.get(key, 0) + value


def _run_chunks(
    seed: int, scale: float, tmp: str, workers: int | None, progress: bool
) -> tuple[DemoSummary, list[str], list[int]]:
    world = build_world(seed, scale)
    n, n_bir = len(world.citizen_municipality), build_bir_world(world, scale).size
    chunks = [
        (seed, scale, a, min(a + CHUNK_CITIZENS, n), os.path.join(tmp, f"c{j:05d}"), POOL)
        for j, a in enumerate(range(0, n, CHUNK_CITIZENS))
    ]
    chunks += [
        (seed, scale, a, min(a + CHUNK_CITIZENS, n_bir), os.path.join(tmp, f"b{j:05d}"), BIR)
        for j, a in enumerate(range(0, n_bir, CHUNK_CITIZENS))
    ]
    n += n_bir
    for chunk in chunks:
        os.mkdir(chunk[4])
    if workers is None:
        workers = min(os.cpu_count() or 1, len(chunks)) if n >= PARALLEL_FROM else 1
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="citizens", unit="cit", file=sys.stderr)
    total, buckets = DemoSummary(), set()
    if workers <= 1:
        results = (_write_chunk(*chunk) for chunk in chunks)
    else:
        import concurrent.futures
        import multiprocessing

        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        results = pool.map(_write_chunk, *zip(*chunks))
    for part, used in results:
        _merge(total, part)
        buckets.update(used)
        if bar is not None:
            bar.update(part.citizens)
    if workers > 1:
        pool.shutdown()
    if bar is not None:
        bar.close()
    return total, [c[4] for c in chunks], sorted(buckets)


def generate(
    out: TextIO | BinaryIO | str | os.PathLike,
    *,
    seed: int = 1,
    scale: float = 1.0,
    workers: int | None = None,
    progress: bool = False,
) -> DemoSummary:
    """Write the demo event log (JSON Lines) to a text stream, binary stream or path.

    A path ending in ``.gz`` is gzip-compressed (with a fixed header, so the bytes
    stay reproducible). `workers` processes simulate citizens in parallel (default:
    one per CPU for large scales); the bytes do not depend on it. Returns what was
    written.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="puljemonitor-demo-") as tmp:
        summary, directories, buckets = _run_chunks(seed, scale, tmp, workers, progress)
        with _open_out(out) as write:
            summary.lines = _drain(directories, buckets, write)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


class _open_out:
    """Context manager giving a bytes writer for any supported `out`."""

    def __init__(self, out):
        self.out, self.close = out, []

    def __enter__(self) -> Callable[[bytes], None]:
        out = self.out
        if isinstance(out, (str, os.PathLike)):
            raw = open(out, "wb")
            self.close.append(raw)
            if str(out).endswith(".gz"):
                gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
                self.close.insert(0, gz)
                return gz.write
            return raw.write
        if isinstance(out, io.TextIOBase):
            return lambda data: out.write(data.decode("utf-8"))
        return out.write

    def __exit__(self, *exc) -> None:
        for f in self.close:
            f.close()
