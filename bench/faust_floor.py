"""The floor under bench/live.py: how many messages a second Faust itself moves on this machine.

    python bench/faust_floor.py                   # 100 k messages, a local broker
    python bench/faust_floor.py --messages 0.3    # 300 k

One Faust worker (same settings as ``streams/app.py``: RocksDB tables, 8 partitions) runs
one agent over messages produced beforehand, with no domain work at all, in two variants:

* ``bare``     — iterate the stream, nothing else;
* ``plumbing`` — what our citizen stage does around the core for every message: a table
  read, a table write (``DurableTable`` + ``publish``), and one send.

Throughput is counted from the first message the agent sees to the last. If ``plumbing``
alone is far below the live issue's 20,000 events/s, no work on the core reaches that
target with per-message agents.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "kafka"))


def run_variant(broker: str, topic: str, variant: str, expected: int, partitions: int) -> None:
    """In this (sub)process: a Faust worker over ``topic``; prints messages/s and exits."""
    import faust

    from streams.tables import DurableTable

    app = faust.App(
        f"floor-{uuid.uuid4().hex[:6]}", broker=f"kafka://{broker}", store="rocksdb://",
        datadir=tempfile.mkdtemp(prefix="faust-floor-"), key_serializer="raw", value_serializer="raw",
        web_enabled=False, consumer_auto_offset_reset="earliest", topic_partitions=partitions,
        broker_max_poll_records=2000, stream_buffer_maxsize=16384, producer_linger=0.05,
        producer_max_batch_size=256 * 1024, Table=DurableTable, table_standby_replicas=0,
    )  # fmt: skip
    source = app.topic(topic, key_type=bytes, value_type=bytes, partitions=partitions)
    sink = f"{topic}-out"
    table = app.Table("floor", default=None, key_type=bytes, value_type=bytes, partitions=partitions,
                      options={"driver": "rocksdict"})  # fmt: skip
    seen = {"n": 0, "first": 0.0}

    @app.agent(source)
    async def agent(stream):
        async for event in stream.events():
            if not seen["n"]:
                seen["first"] = time.perf_counter()
            if variant == "plumbing":
                key = event.message.key
                table.get(key)
                table[key] = event.message.value
                await table.publish()
                await app.producer.send(sink, key, event.message.value, partition=None, timestamp=None, headers=None)
            seen["n"] += 1
            if seen["n"] == expected:
                seconds = time.perf_counter() - seen["first"]
                print(json.dumps({"variant": variant, "messages": expected, "seconds": round(seconds, 2),
                                  "messages_per_s": round(expected / seconds)}), flush=True)  # fmt: skip
                os._exit(0)

    from faust.worker import Worker

    Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False).execute_from_commandline()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=float, default=0.1, help="millions of messages")
    parser.add_argument("--broker", help="existing broker HOST:PORT (default: start a local one)")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal: run one worker
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        run_variant(args.broker, args.topic, args.variant, int(args.messages * 1e6), args.partitions)
        return

    from broker import broker_at

    with broker_at(args.broker) as broker:
        run(args, broker)


def run(args: argparse.Namespace, broker: str) -> None:
    """Produce the messages once, then time each variant in its own worker process."""
    from kafka import KafkaProducer

    from puljemonitor.kafka_log import ensure_topic

    n = int(args.messages * 1e6)
    topic = f"floor-{uuid.uuid4().hex[:6]}"
    ensure_topic(broker, topic, args.partitions)
    ensure_topic(broker, f"{topic}-out", args.partitions)
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=20, batch_size=256 * 1024)
    value = b'{"id":"x","type":"died","citizen":"c","recorded":"2021-01-01T00:00:00+01:00","at":"2021-01-01"}'
    for i in range(n):
        producer.send(topic, key=b"c%d" % (i % 20_000), value=value)
    producer.flush()
    producer.close()
    for variant in ("bare", "plumbing"):
        out = subprocess.run([sys.executable, __file__, "--variant", variant, "--topic", topic, "--broker", broker,
                              "--messages", str(args.messages), "--partitions", str(args.partitions)],
                             capture_output=True, text=True, timeout=1800)  # fmt: skip
        # mode writes terminal control codes to stdout before the line
        lines = [line[line.index('{"variant"') :] for line in out.stdout.splitlines() if '{"variant"' in line]
        print(lines[-1] if lines else f"{variant}: no result (exit {out.returncode})\n{out.stderr[-2000:]}")


if __name__ == "__main__":
    main()
