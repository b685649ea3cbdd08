"""Benchmark: a BIR report against an Afklaringspuljen report on the same replayed log.

    python bench/bir.py                  # the 1 M demo log (bench-data/, generated once)
    python bench/bir.py --events 0.1     # a smaller log
    python bench/bir.py --repeat 5

The log is ingested once (in memory); then each report is computed ``--repeat`` times and
the median and best wall times are printed, with their ratio. The target (issue 8): a BIR
report within 1.5 × an Afklaringspuljen report. Both reports read every citizen of the
store; BIR's reads the period ending in its month and the two before it (the overview),
the Afklaringspuljen's its month and the requirement window's months up to it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from replay import log_for  # noqa: E402  (one generator of benchmark logs for every script)


def timed(function, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1.0, help="millions of lines in the log")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--month", default="2023-03", help="the Afklaringspuljen report month")
    parser.add_argument("--bir-month", default="2021-04", help="the BIR report month")
    args = parser.parse_args()

    from puljemonitor.replay import Replay
    from schemas import pools
    from schemas.calendar import parse_month

    log = log_for(args.events)
    replay = Replay(quiet=True)
    start = time.perf_counter()
    counts = replay.ingest(str(log))
    ingest = time.perf_counter() - start
    rules = pools.Rules()
    first, bir = pools.pool("afklaringspuljen"), pools.pool("bir")
    first_times, first_report = timed(lambda: replay.report(first, parse_month(args.month), rules, None), args.repeat)
    bir_times, bir_report = timed(lambda: replay.report(bir, parse_month(args.bir_month), rules, None), args.repeat)
    if bir_report.project.target == 0:
        print(f"{log} has no BIR citizens (generated before the demo enrolled them): delete it and run again")
        return 1
    print(f"log: {log.name}, {counts.lines:,} lines, {len(replay.store):,} citizens; ingest {ingest:.1f} s")
    print(f"{'report':<48} {'median s':>9} {'best s':>8}")
    rows = [
        (f"Afklaringspuljen {args.month} ({first_report.project.enrolled:,} enrolled)", first_times),
        (f"BIR {args.bir_month} (target group {bir_report.project.target:,})", bir_times),
    ]
    for name, times in rows:
        print(f"{name:<48} {statistics.median(times):>9.2f} {min(times):>8.2f}")
    ratio = statistics.median(bir_times) / statistics.median(first_times)
    print(f"BIR / Afklaringspuljen (median): {ratio:.2f} × (target ≤ 1.5 ×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
