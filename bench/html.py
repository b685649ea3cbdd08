"""How long the HTML report takes after the replay, and how big it is (issue 9 targets:
under 2 s, under 3 MB).

    python bench/html.py                 # the make-demo log (seed 1), report 2021-09
    python bench/html.py --month 2023-03
    python bench/html.py --pool bir      # BIR's report, 2021-04 (seed 001's)
    python bench/html.py --log bench-data/bench-1M.jsonl   # any log (bench/replay.py writes this one)

The demo log is read from out/demo-seed1.jsonl.gz (written by ``make demo``) or generated
into bench-data/. Printed: the projection of the report and its earlier months (the tallies
figure 3 reads), the page itself (model, seven SVG figures, template), the CPU time they
took (the projection and the figures are shared over forked processes), and the file size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is called html.py: take its own directory off the path, or it shadows the
# standard library's html package that matplotlib's dependencies import.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from projections.reports import history_months  # noqa: E402
from puljemonitor.demo import generate  # noqa: E402
from puljemonitor.html import render_html, render_period_html  # noqa: E402
from puljemonitor.replay import Replay  # noqa: E402
from schemas import pools  # noqa: E402
from schemas.calendar import parse_month  # noqa: E402


def cpu_seconds() -> float:
    """User and system time of this process and its finished child processes: on a shared
    machine, wall time below it means the work was shared over cores; above it, waiting."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", default="afklaringspuljen", choices=["afklaringspuljen", "bir"])
    parser.add_argument("--month", help="default: 2021-09, for BIR 2021-04")
    parser.add_argument("--out", default=str(ROOT / "out" / "bench-report.html"))
    parser.add_argument("--log", type=Path, help="another log than the make-demo one")
    args = parser.parse_args()
    log = args.log.absolute() if args.log else ROOT / "out" / "demo-seed1.jsonl.gz"
    if args.log and not log.is_file():
        parser.error(f"no such file: {args.log}")
    if not log.exists():
        log = ROOT / "bench-data" / "demo-seed1.jsonl.gz"
        if not log.exists():
            log.parent.mkdir(exist_ok=True)
            generate(str(log), seed=1, scale=1.0)
    pool = pools.pool(args.pool)
    args.month = args.month or ("2021-04" if args.pool == "bir" else "2021-09")
    month = parse_month(args.month)
    replay = Replay(quiet=True)
    started = time.perf_counter()
    counts = replay.ingest(str(log))
    replayed = time.perf_counter()
    cpu_replayed = cpu_seconds()
    if args.pool == "bir":
        report, tallies = replay.period_report_and_tallies(pool, month, pools.Rules(), None)
        projected = time.perf_counter()
        page = render_period_html(report, tallies, pool)
    else:
        report, tallies = replay.report_and_tallies(pool, month, pools.Rules(), None, history_months(pool, month))
        projected = time.perf_counter()
        page = render_html(report, tallies, pool)
    rendered = time.perf_counter()
    cpu = cpu_seconds() - cpu_replayed
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(page, encoding="utf-8")
    size = Path(args.out).stat().st_size
    name = log.relative_to(ROOT) if log.is_relative_to(ROOT) else log
    print(f"log              {name}: {counts.lines:,} lines, replay {replayed - started:.1f} s")
    print(f"projection       {projected - replayed:.2f} s  (report {args.month} and the months before it)")
    print(f"HTML page        {rendered - projected:.2f} s  (model, {page.count('<figure ')} SVG figures, template)")
    print(f"after the replay {rendered - replayed:.2f} s  (target < 2 s)")
    print(f"CPU time         {cpu:.2f} s  (after the replay, this process and its workers)")
    print(f"file size        {size / 1e6:.2f} MB  (target < 3 MB): {args.out}")


if __name__ == "__main__":
    main()
