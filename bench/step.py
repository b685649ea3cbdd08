"""Benchmark of the live path's per-event core step, in process, no Kafka.

    python bench/step.py                  # the 1 M demo log (generated once into bench-data/)
    python bench/step.py --millions 0.2   # a smaller log

Side by side in one run, over the same messages (key = citizen, as the worker sees them):

* ``fold_step`` — the incremental step (``projections/fold.py``): each citizen's fold is kept,
  an event costs what it can change;
* ``citizen_step`` — the full derivation per event (state decoded, every month derived again,
  state encoded), as the Faust worker does it (``--full N``: only the first N messages);
* the floor under both: decoding, validating and admitting each event into its citizen's
  set (``streams.intake.accept`` + ``streams.admission.admit``), no status work at all.

Prints events/s, per-event latency percentiles (over batches of 1,000), how many events took
the fast path, and peak RSS, as one JSON object per step and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from replay import log_for  # noqa: E402

BATCH = 1000


def messages(path: Path) -> list[tuple[bytes | None, bytes]]:
    from tests.builders import citizen_key

    return [(citizen_key(line), line) for line in path.read_bytes().splitlines() if line.strip()]


def measure(name: str, step, msgs) -> dict:
    per_event_us = []
    start = time.perf_counter()
    for i in range(0, len(msgs), BATCH):
        t = time.perf_counter()
        for key, raw in msgs[i : i + BATCH]:
            step(key, raw)
        per_event_us.append((time.perf_counter() - t) / len(msgs[i : i + BATCH]) * 1e6)
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(per_event_us, n=100)
    return {
        "step": name,
        "events": len(msgs),
        "events_per_s": round(len(msgs) / elapsed),
        "us_per_event_p50": round(q[49], 2),
        "us_per_event_p99": round(q[98], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--millions", type=float, default=1.0, help="size of the demo log (default 1)")
    parser.add_argument("--full", type=int, default=0, help="messages for the full-derivation step (0: all)")
    args = parser.parse_args()

    from projections import fold as fold_module
    from puljemonitor.replay import gc_paused
    from schemas import pools
    from streams.admission import admit
    from streams.intake import accept
    from streams.live import citizen_step, fold_step, months_of

    pool = pools.pool("afklaringspuljen")
    rules = pools.Rules()
    months = months_of(pool)
    msgs = messages(log_for(args.millions))

    fast = {"n": 0}
    add_last, add_income = fold_module.CitizenFold._add_last, fold_module.CitizenFold._add_income

    def counting(method):
        def wrapper(self, event):
            fast["n"] += 1
            return method(self, event)

        return wrapper

    folds: dict = {}

    def incremental(key, raw):
        fold_step(folds, key, raw, pool=pool, months=months, rules=rules)

    table: dict = {}

    def full(key, raw):
        result = citizen_step(None, key, raw, pool=pool, months=months, rules=rules, lookup=table.get)
        if result.state is not None:
            table[result.citizen] = result.state

    citizens: dict = {}

    def admit_into_set(event):
        events = citizens.get(event.citizen)
        if events is None:
            events = citizens[event.citizen] = {}
        return admit(events, event)

    def floor(key, raw):
        accept(raw, key, admit_into_set)

    results = []
    with gc_paused():
        results.append(measure("fold_step (incremental)", incremental, msgs))
        fold_module.CitizenFold._add_last, fold_module.CitizenFold._add_income = (
            counting(add_last),
            counting(add_income),
        )
        folds.clear()
        for key, raw in msgs:
            incremental(key, raw)
        results[0]["fast_path_share"] = round(fast["n"] / len(msgs), 3)
        results.append(measure("citizen_step (full derivation)", full, msgs[: args.full or None]))
        results.append(measure("floor: decode + admission, no statuses", floor, msgs))
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for r in results:
        r["peak_rss_mb_whole_run"] = peak
        print(json.dumps(r), flush=True)
    print("\n| step | events | events/s | µs/event p50 / p99 |")
    print("|---|---|---|---|")
    for r in results:
        print(
            f"| {r['step']} | {r['events']:,} | {r['events_per_s']:,} | {r['us_per_event_p50']} / {r['us_per_event_p99']} |"
        )
    print(f"\nfast path: {results[0]['fast_path_share']:.1%} of messages; peak RSS {peak:,} MB")


if __name__ == "__main__":
    main()
