"""Benchmark of the live path: catch-up throughput of one worker, and end-to-end latency.

    python bench/live.py                       # 1 M events, a local broker from tests/kafka/broker.py
    python bench/live.py --events 0.2          # 200 k events (faster to try)
    python bench/live.py --broker HOST:PORT    # an existing broker

1. Catch-up: the demo log (about N events) is produced into a fresh events topic first; then
   one worker starts. Throughput = events / (first status record written → last aggregate
   record written), from the records' broker timestamps (CreateTime, set by the worker's
   producer), so worker start-up and group join are not counted.
2. Latency: with the worker idle and caught up, new citizens are enrolled at a steady rate
   (default 1,000 events/s for 30 s), round-robin over municipalities. The latency of event k
   of municipality X is the CreateTime of the first aggregate record of X (month 2021-09) that
   counts its enrollment, minus the time the event was handed to the producer.

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
    parser.add_argument("--rate", type=int, default=1000, help="events/s in the latency phase")
    parser.add_argument("--seconds", type=int, default=30, help="length of the latency phase")
    parser.add_argument("--profile", action="store_true", help="record the worker with py-spy (if installed)")
    args = parser.parse_args()

    from broker import broker_at

    with broker_at(args.broker) as broker:
        run(args, broker)


def run(args: argparse.Namespace, broker: str) -> None:
    from puljemonitor.kafka_log import produce, read_records

    tag = uuid.uuid4().hex[:6]
    env = {
        **os.environ,
        "PULJEMONITOR_BROKER": broker,
        "PULJEMONITOR_APP_ID": f"bench-{tag}",
        "PULJEMONITOR_PARTITIONS": str(args.partitions),
        **{
            f"PULJEMONITOR_{t.upper()}_TOPIC": f"{t}-{tag}"
            for t in ("events", "statuses", "counts", "aggregates", "rejected", "stats")
        },
    }
    topics = {t: env[f"PULJEMONITOR_{t.upper()}_TOPIC"] for t in ("events", "statuses", "aggregates", "stats")}
    result: dict = {"events_millions": args.events, "partitions": args.partitions, "cpus": os.cpu_count()}
    worker = None
    state = tempfile.mkdtemp(prefix="bench-live-")
    try:
        log = log_for(args.events)
        from puljemonitor.kafka_log import ensure_topic

        ensure_topic(broker, topics["events"], args.partitions)
        began = time.perf_counter()
        with open(log, "rb") as lines:
            summary = produce(lines, broker, topics["events"])
        result["produce_events_per_s"] = round(summary.sent / (time.perf_counter() - began))
        n = summary.sent
        print(f"produced {n} events ({result['produce_events_per_s']}/s)", file=sys.stderr)

        out = open(Path(state) / "worker.log", "wb")  # noqa: SIM115
        worker = subprocess.Popen([sys.executable, "-m", "puljemonitor", "worker", "--state-dir", state, "--loglevel", "info"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        spy = None
        if args.profile:
            spy = subprocess.Popen(["py-spy", "record", "--pid", str(worker.pid), "--duration", "60", "-r", "50",
                                    "-f", "raw", "-o", str(DATA / "live-profile.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        # Catch-up: wait until the worker has consumed everything and the output is quiet.
        last_change, last_seen, lines_done = time.monotonic(), None, 0
        while True:
            time.sleep(2.0)
            stats = [json.loads(r.value) for r in read_records(broker, topics["stats"], missing_ok=True)]
            lines_done = stats[-1]["lines"] if stats else 0
            ends = _end_offsets(broker, topics["aggregates"])
            if ends != last_seen:
                last_seen, last_change = ends, time.monotonic()
            print(f"  consumed {lines_done}/{n}, aggregate records {sum((ends or {}).values())}", file=sys.stderr)
            if lines_done >= n and time.monotonic() - last_change > 5:
                break
            if worker.poll() is not None:
                raise SystemExit(f"worker exited {worker.returncode}, see {state}/worker.log")
        first = min(_timestamps(broker, topics["statuses"], first=True))
        last = max(_timestamps(broker, topics["aggregates"], first=False))
        seconds = (last - first) / 1000
        result["catch_up_seconds"] = round(seconds, 1)
        result["catch_up_events_per_s"] = round(n / seconds)
        result["aggregate_records"] = sum(last_seen.values())
        print(f"catch-up: {n} events in {seconds:.1f}s = {n / seconds:.0f}/s", file=sys.stderr)
        if spy is not None:
            spy.wait()

        # Latency at a steady rate.
        result.update(_latency(broker, topics, args.rate, args.seconds))
        print(json.dumps(result, indent=2))
        (DATA / "live-result.json").write_text(json.dumps(result, indent=2))
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()


def _end_offsets(broker: str, topic: str) -> dict | None:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=broker)
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return None
        return {
            p: o
            for p, o in (
                (tp.partition, o) for tp, o in consumer.end_offsets([TopicPartition(topic, p) for p in parts]).items()
            )
        }
    finally:
        consumer.close()


def _timestamps(broker: str, topic: str, first: bool) -> list[int]:
    """CreateTime of the first (or every) record per partition."""
    from puljemonitor.kafka_log import read_records

    if first:
        seen: dict[int, int] = {}
        for r in read_records(broker, topic):
            seen.setdefault(r.partition, r.timestamp)
        return list(seen.values())
    return [r.timestamp for r in read_records(broker, topic)]


def _latency(broker: str, topics: dict, rate: int, seconds: int) -> dict:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from puljemonitor.kafka_log import read_latest
    from schemas import reference

    month = "2021-09"
    codes = sorted(reference.municipalities())
    latest = read_latest(broker, topics["aggregates"])
    base = {
        code: (latest.get(f"afklaringspuljen/municipality/{code}/{month}") or {}).get("enrolled", 0) for code in codes
    }
    sent: dict[str, list[float]] = {code: [] for code in codes}
    latencies: list[float] = []
    done = threading.Event()
    watched = {f"afklaringspuljen/municipality/{code}/{month}".encode(): code for code in codes}

    def watch() -> None:
        consumer = KafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False, group_id=None)
        parts = consumer.partitions_for_topic(topics["aggregates"])
        tps = [TopicPartition(topics["aggregates"], p) for p in parts]
        consumer.assign(tps)
        consumer.seek_to_end(*tps)
        counted = {code: 0 for code in codes}
        while not done.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    code = watched.get(r.key)
                    if code is None:
                        continue
                    now = json.loads(r.value)["enrolled"] - base[code]
                    while counted[code] < now and counted[code] < len(sent[code]):
                        latencies.append(r.timestamp / 1000 - sent[code][counted[code]])
                        counted[code] += 1
        consumer.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(2.0)
    producer = KafkaProducer(bootstrap_servers=broker, acks=1, linger_ms=0)
    total = rate * seconds
    start = time.time()
    for k in range(total):
        target = start + k / rate
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        code = codes[k % len(codes)]
        citizen = f"bench{uuid.uuid4().hex[:12]}"
        event = {"id": "enr", "type": "enrolled", "citizen": citizen, "recorded": "2020-08-03T10:00:00+02:00",
                 "at": "2020-07-30", "pool": "afklaringspuljen", "municipality": code}  # fmt: skip
        sent[code].append(time.time())
        producer.send(topics["events"], key=citizen.encode(), value=json.dumps(event).encode())
    producer.flush()
    achieved = total / (time.time() - start)
    deadline = time.time() + 30
    while len(latencies) < total and time.time() < deadline:
        time.sleep(0.5)
    done.set()
    watcher.join(5)
    return {
        "latency_rate_per_s": round(achieved),
        "latency_events": total,
        "latency_observed": len(latencies),
        "latency_p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
    }


if __name__ == "__main__":
    main()
