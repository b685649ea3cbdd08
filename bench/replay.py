"""Benchmark of the offline replay: events/s, per-event ingest latency percentiles, peak RSS.

    python bench/replay.py                 # 1 M events in memory, 10 M with --state (RocksDB)
    python bench/replay.py --sizes 1       # only the 1 M log
    python bench/replay.py --jobs 2        # only the replay split over two processes

Logs are generated once into bench-data/ (not committed) with the demo generator. Each
measurement runs in a fresh child process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
EVENTS_PER_SCALE = 293_900  # lines the demo generator writes per unit of --scale (measured, BIR included)
BATCH = 1000


def log_for(millions: float) -> Path:
    """The benchmark log of about ``millions`` M events, generated once."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"bench-{millions:g}M.jsonl"
    if not path.exists():
        scale = millions * 1e6 / EVENTS_PER_SCALE
        print(f"generating {path.name} (scale {scale:.2f}) …", file=sys.stderr)
        partial = path.with_suffix(".partial")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "puljemonitor",
                "demo-data",
                "--seed",
                "11",
                "--scale",
                f"{scale:.3f}",
                "--out",
                str(partial),
            ],
            check=True,
        )
        partial.rename(path)
    return path


def child(log: str, state: str | None, month: str, jobs: int) -> dict:
    """One replay in this process (``jobs`` 1: ingest timed in batches) or over ``jobs`` shard
    processes (as ``puljemonitor report --jobs``), then a month report."""
    from puljemonitor.replay import Replay, gc_paused
    from puljemonitor.sharding import ShardedReplay
    from schemas import pools
    from schemas.calendar import parse_month

    per_event_us: list[float] = []
    start = time.perf_counter()
    if jobs > 1:
        replay = ShardedReplay(state, jobs)
        replay.ingest(log)
    else:
        replay = Replay(state)
        replay.ingest_lines([])  # one intake for the whole log, fed batch by batch below
        feed = replay.intake.feed
        number = 0
        with open(log, "rb") as f, gc_paused():
            while lines := f.readlines(1 << 24):
                for i in range(0, len(lines), BATCH):
                    batch = lines[i : i + BATCH]
                    t = time.perf_counter()
                    for raw in batch:
                        number += 1
                        if raw and not raw.isspace():
                            feed(number, raw)
                    per_event_us.append((time.perf_counter() - t) / len(batch) * 1e6)
    ingested = time.perf_counter()
    pool = pools.pool("afklaringspuljen")
    report = replay.report(pool, parse_month(month), pools.Rules(), None)
    done = time.perf_counter()
    replay.close()
    counts = report.input
    quantiles = statistics.quantiles(per_event_us, n=100) if per_event_us else None
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shard = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "log": Path(log).name,
        "store": "rocksdb" if state else "memory",
        "jobs": jobs,
        "lines": counts.lines,
        "applied": counts.applied,
        "wall_s": round(done - start, 2),
        "ingest_s": round(ingested - start, 2),
        "report_s": round(done - ingested, 2),
        "events_per_s": round(counts.lines / (done - start)),
        "ingest_us_per_event_p50": round(quantiles[49], 2) if quantiles else None,
        "ingest_us_per_event_p99": round(quantiles[98], 2) if quantiles else None,
        # The processes run at once: their peaks add up to at most this.
        "peak_rss_mb": round(own + (jobs * shard if jobs > 1 else 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10", help="log sizes in millions of events (default 1,10)")
    parser.add_argument("--month", default="2023-03")
    parser.add_argument("--jobs", default="1,2", help="replay processes to compare (default 1,2)")
    parser.add_argument("--child", nargs=3, metavar=("LOG", "STATE", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        log, state, jobs = args.child
        print(json.dumps(child(log, None if state == "-" else state, args.month, int(jobs))))
        return
    results = []
    for size in (float(s) for s in args.sizes.split(",")):
        log = log_for(size)
        stores = ["-"] if size < 5 else ["state"]  # 10 M events do not fit the 2 GB budget in memory
        for store in stores:
            for jobs in args.jobs.split(","):
                with tempfile.TemporaryDirectory(dir=DATA) as tmp:
                    state = "-" if store == "-" else os.path.join(tmp, "state")
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", str(log), state, jobs, "--month", args.month],
                        check=True, capture_output=True, text=True, cwd=ROOT,
                    )  # fmt: skip
                result = json.loads(out.stdout)
                results.append(result)
                print(json.dumps(result), flush=True)
    print(
        "\n| log | store | processes | lines | lines/s | wall s | ingest µs/line p50 / p99 | peak RSS MB (all processes) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        latency = (
            f"{r['ingest_us_per_event_p50']} / {r['ingest_us_per_event_p99']}" if r["ingest_us_per_event_p50"] else "–"
        )
        print(f"| {r['log']} | {r['store']} | {r['jobs']} | {r['lines']:,} | {r['events_per_s']:,} | {r['wall_s']} | "
              f"{latency} | {r['peak_rss_mb']:,} |")  # fmt: skip


if __name__ == "__main__":
    main()
