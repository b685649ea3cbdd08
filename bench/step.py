"""Benchmark of the live path's per-event core step, in process, no Kafka.

    python bench/step.py                  # the 1 M demo log (generated once into bench-data/)
    python bench/step.py --millions 0.2   # a smaller log

Side by side in one run, over the same messages (key = citizen, as the worker sees them):

* ``fold_step`` — the worker's step (``streams/live.py``): the citizen's fold kept in memory
  and checked against its stored event count, the event appended to the citizen's state (a
  dict here, Quix Streams' RocksDB transaction in the worker), an update only when a status
  changed; an event costs what it can change (``projections/fold.py``);
* the same with BIR's rows (``streams/period_live.py``), as the worker runs it: a BIR
  citizen's rows re-derived when one of their events arrives;
* the floor under it: decoding, validating and admitting each event into its citizen's set
  (``streams.intake.accept`` + ``streams.admission.admit``), no status work at all.

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


class DictState(dict):
    """One key's state as the worker's stage sees it (Quix Streams' ``State``)."""

    def get_bytes(self, key: bytes, default: bytes | None = None) -> bytes | None:
        return self.get(key, default)

    def set_bytes(self, key: bytes, value: bytes) -> None:
        self[key] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--millions", type=float, default=1.0, help="size of the demo log (default 1)")
    args = parser.parse_args()

    from projections import fold as fold_module
    from puljemonitor.replay import gc_paused
    from schemas import pools
    from streams.admission import admit
    from streams.intake import accept
    from streams.live import CitizenStore, fold_step

    pool = pools.pool("afklaringspuljen")
    rules = pools.Rules()
    msgs = messages(log_for(args.millions))

    fast = {"n": 0}
    add_last, add_income = fold_module.CitizenFold._add_last, fold_module.CitizenFold._add_income

    def counting(method):
        def wrapper(self, event):
            fast["n"] += 1
            return method(self, event)

        return wrapper

    class Stage:
        """``fold_step`` over ``store`` with each citizen's state a dict, as the citizens stage runs it."""

        def __init__(self, store: CitizenStore) -> None:
            self.store = store
            self.states: dict[bytes | None, DictState] = {}

        def __call__(self, key, raw) -> None:
            state = self.states.get(key)
            if state is None:
                state = self.states[key] = DictState()
            fold_step(self.store, state, key, raw)

        def reset(self) -> None:
            self.store.forget()
            self.states.clear()

    incremental = Stage(CitizenStore(pool, rules))
    with_bir = Stage(CitizenStore(pool, rules, [pools.pool("bir")]))

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
        incremental.reset()
        for key, raw in msgs:
            incremental(key, raw)
        results[0]["fast_path_share"] = round(fast["n"] / len(msgs), 3)
        results.append(measure("fold_step with BIR's rows (the worker's step)", with_bir, msgs))
        with_bir.reset()
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
