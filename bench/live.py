"""Benchmark of the live path: catch-up throughput of one and of two workers, and end-to-end latency.

    python bench/live.py                       # 1 M events, a local broker from tests/kafka/broker.py
    python bench/live.py --events 0.2          # 200 k events (faster to try)
    python bench/live.py --workers 1,2         # catch-up with one worker, then (fresh) with two
    python bench/live.py --broker HOST:PORT    # an existing broker

1. Catch-up: the demo log (about N events, less those held back for the mixed latency phase:
   27,000 at the defaults) is produced into a fresh events topic first; then
   the workers start (a fresh deployment per worker count, same events topic). Throughput =
   events / (first status batch written → last feed record written), from the records' broker
   timestamps (CreateTime, set by the worker's producer), so start-up and group join are not
   counted.
2. Latency, with the worker idle and caught up, two phases at a steady rate (default 1,000
   events/s for 30 s each):
   * **mixed**: the log's own last events (held back from the catch-up, so they are new to the
     worker: what a caught-up deployment receives next), with every tenth message a *probe*,
     the enrollment of a new citizen;
   * **enrollments**: every message a probe (the worst case: each changes 44 months of its
     municipality's figures).
   Probes go round-robin over municipalities. The latency of probe k of municipality X is the
   time the watcher reads the first committed feed record of X (month 2021-09) that counts its
   enrollment, minus the time the probe was handed to the producer.

Prints one JSON object with the figures (and writes it to bench-data/live-result.json).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
sys.path.insert(0, str(ROOT / "tests" / "kafka"))
sys.path.insert(0, str(ROOT / "bench"))

from replay import log_for  # noqa: E402  (one generator of benchmark logs for every script)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=float, default=1.0, help="millions of events in the catch-up log")
    parser.add_argument("--broker", help="existing broker HOST:PORT (default: start a local one)")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--rate", type=int, default=1000, help="events/s in the latency phases")
    parser.add_argument("--seconds", type=int, default=30, help="length of each latency phase")
    parser.add_argument("--workers", default="1", help="worker counts to measure catch-up with, e.g. 1,2")
    parser.add_argument("--profile", action="store_true", help="record the worker with py-spy (if installed)")
    args = parser.parse_args()

    from broker import broker_at

    with broker_at(args.broker) as broker:
        run(args, broker)


def run(args: argparse.Namespace, broker: str) -> None:
    from puljemonitor.producing import produce
    from streams.admin import ensure_topic

    tag = uuid.uuid4().hex[:6]
    events = f"events-{tag}"
    result: dict = {"events_millions": args.events, "partitions": args.partitions, "cpus": os.cpu_count()}
    with open(log_for(args.events), "rb") as log:
        lines = [line for line in log if line.strip()]
    held = args.rate * args.seconds * (PROBE_EVERY - 1) // PROBE_EVERY  # the mixed phase's events
    lines, tail = lines[:-held], lines[-held:]
    ensure_topic(broker, events, args.partitions)
    began = time.perf_counter()
    summary = produce(lines, broker, events)
    result["produce_events_per_s"] = round(summary.sent / (time.perf_counter() - began))
    n = summary.sent
    print(f"produced {n} events ({result['produce_events_per_s']}/s)", file=sys.stderr)
    last: Deployment | None = None
    for count in (int(w) for w in args.workers.split(",")):
        if last is not None:
            last.stop()
        last = Deployment(broker, events, args.partitions, f"{tag}-{count}")
        last.start(count, profile=args.profile)
        seconds = last.catch_up(n)
        result[f"catch_up_{count}_workers_seconds"] = round(seconds, 1)
        result[f"catch_up_{count}_workers_events_per_s"] = round(n / seconds)
        print(f"catch-up, {count} worker(s): {n} events in {seconds:.1f}s = {n / seconds:.0f}/s", file=sys.stderr)
    try:
        for phase, background in (("mixed", tail), ("enrollments", [])):
            figures = _latency(broker, events, last.topics["feed"], args.rate, args.seconds, background)
            result |= {f"{phase}_{name}": value for name, value in figures.items()}
            print(f"latency, {phase}: {figures}", file=sys.stderr)
        print(json.dumps(result, indent=2))
        DATA.mkdir(exist_ok=True)
        (DATA / "live-result.json").write_text(json.dumps(result, indent=2))
    finally:
        last.stop()


class Deployment:
    """One app id and its own internal and output topics, reading the shared events topic."""

    def __init__(self, broker: str, events: str, partitions: int, tag: str) -> None:
        self.broker = broker
        self.topics = {t: f"{t}-{tag}" for t in ("statuses", "counts", "feed", "rejected", "intake")}
        self.env = {
            **os.environ,
            "PULJEMONITOR_BROKER": broker,
            "PULJEMONITOR_APP_ID": f"bench-{tag}",
            "PULJEMONITOR_PARTITIONS": str(partitions),
            "PULJEMONITOR_EVENTS_TOPIC": events,
            **{f"PULJEMONITOR_{t.upper()}_TOPIC": name for t, name in self.topics.items()},
        }
        self.workers: list[subprocess.Popen] = []
        self.state = tempfile.mkdtemp(prefix="bench-live-")

    def start(self, count: int, profile: bool = False) -> None:
        for i in range(count):
            out = open(Path(self.state) / f"worker{i}.log", "wb")  # noqa: SIM115
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "puljemonitor", "worker", "--state-dir", f"{self.state}/w{i}", "--loglevel", "info"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT))  # fmt: skip
        if profile:
            subprocess.Popen(["py-spy", "record", "--pid", str(self.workers[0].pid), "--duration", "60", "-r", "50",
                              "-f", "raw", "-o", str(DATA / "live-profile.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def catch_up(self, n: int) -> float:
        """Wait until every event is accounted for and the feed is quiet; seconds from the first
        status batch to the last feed record."""
        from streams.topic_reader import read_latest

        last_change, last_seen = time.monotonic(), None
        while True:
            time.sleep(2.0)
            intake = read_latest(self.broker, self.topics["intake"])
            done = sum(r["lines"] for r in intake.values())
            ends = _end_offsets(self.broker, self.topics["feed"])
            if ends != last_seen:
                last_seen, last_change = ends, time.monotonic()
            print(f"  absorbed {done}/{n}, feed records {sum((ends or {}).values())}", file=sys.stderr)
            if done >= n and time.monotonic() - last_change > 5:
                break
            for worker in self.workers:
                if worker.poll() is not None:
                    raise SystemExit(f"worker exited {worker.returncode}, see {self.state}")
        first = min(_timestamps(self.broker, self.topics["statuses"], first=True))
        last = max(_timestamps(self.broker, self.topics["feed"], first=False))
        return (last - first) / 1000

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    worker.kill()
        self.workers = []


def _end_offsets(broker: str, topic: str) -> dict | None:
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker, "group.id": "bench", "isolation.level": "read_committed"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or not metadata.partitions:
            return None
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in metadata.partitions}
    except KafkaException:  # a topic the workers are still creating
        return None
    finally:
        consumer.close()


def _timestamps(broker: str, topic: str, first: bool) -> list[int]:
    """CreateTime of the first (or every) record per partition."""
    from streams.topic_reader import read_records

    if first:
        seen: dict[int, int] = {}
        for r in read_records(broker, topic):
            seen.setdefault(r.partition, r.timestamp)
        return list(seen.values())
    return [r.timestamp for r in read_records(broker, topic)]


#: In the mixed latency phase, one message in this many is a probe enrollment.
PROBE_EVERY = 10


def _latency(broker: str, events: str, feed: str, rate: int, seconds: int, background: list[bytes]) -> dict:
    """Send ``rate`` messages a second for ``seconds``: the ``background`` lines with a probe
    (a new citizen's enrollment) every :data:`PROBE_EVERY` messages, or only probes when there
    are none. A probe's latency is from handing it to the producer to the committed feed record
    that first counts it (read_committed)."""
    from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

    from puljemonitor.producing import Refused, prepare
    from schemas import reference
    from streams.topic_reader import read_latest

    month = "2021-09"
    codes = sorted(reference.municipalities())
    key_of = {code: f"afklaringspuljen/municipality/{code}/{month}" for code in codes}
    latest = read_latest(broker, feed)
    base = {code: (latest.get(key_of[code]) or {"figures": {"enrolled": 0}})["figures"]["enrolled"] for code in codes}
    sent: dict[str, list[float]] = {code: [] for code in codes}
    latencies: list[float] = []
    done = threading.Event()
    watched = {key.encode(): code for code, key in key_of.items()}

    def watch() -> None:
        consumer = Consumer({"bootstrap.servers": broker, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                             "isolation.level": "read_committed", "enable.auto.commit": False})  # fmt: skip
        parts = consumer.list_topics(feed, timeout=10).topics[feed].partitions
        consumer.assign([TopicPartition(feed, p, OFFSET_END) for p in parts])
        counted = dict.fromkeys(codes, 0)
        while not done.is_set():
            for r in consumer.consume(1000, timeout=0.2):
                code = watched.get(r.key()) if r.error() is None else None
                if code is None:
                    continue
                now = json.loads(r.value())["figures"]["enrolled"] - base[code]
                seen = time.time()
                while counted[code] < now and counted[code] < len(sent[code]):
                    latencies.append(seen - sent[code][counted[code]])
                    counted[code] += 1
        consumer.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(3.0)
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 0})
    messages = rate * seconds
    others = iter(background)
    probes = 0
    start = time.time()
    for k in range(messages):
        delay = start + k / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        line = next(others, None) if k % PROBE_EVERY else None
        if line is not None:
            try:
                message = prepare(line, None)  # keyed and CPR-checked as `produce` would send it
            except Refused:
                continue
            producer.produce(events, key=message.key, value=message.value)
        else:
            code = codes[probes % len(codes)]
            probes += 1
            citizen = f"bench{uuid.uuid4().hex[:12]}"
            event = {"id": "enr", "type": "enrolled", "citizen": citizen, "recorded": "2020-08-03T10:00:00+02:00",
                     "at": "2020-07-30", "pool": "afklaringspuljen", "municipality": code}  # fmt: skip
            sent[code].append(time.time())
            producer.produce(events, key=citizen.encode(), value=json.dumps(event).encode())
        producer.poll(0)
    producer.flush()
    achieved = messages / (time.time() - start)
    deadline = time.time() + 30
    while len(latencies) < probes and time.time() < deadline:
        time.sleep(0.5)
    done.set()
    watcher.join(5)
    return {
        "latency_rate_per_s": round(achieved),
        "latency_probes": probes,
        "latency_observed": len(latencies),
        "latency_p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
    }


if __name__ == "__main__":
    main()
