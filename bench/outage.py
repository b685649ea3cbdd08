"""How long after a broker outage the live figures are right again (and a reproduction of how
Quix Streams behaves in one, docs/live-design.md).

    python bench/outage.py [--down 10] [--runs 3]

Starts a local broker (tests/kafka/broker.py) and one worker, produces half of the small demo
log, stops the broker for ``--down`` seconds while the worker is mid-stream, starts it again,
produces the rest, and measures the seconds from the broker's return until the feed topic
equals the offline replay. Prints one JSON object per run; the worker's log is kept in
bench-data/outage-worker-<run>.log.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--down", type=float, default=10.0, help="seconds the broker is away")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    from broker import LocalKafka

    with LocalKafka() as kafka:
        for run in range(args.runs):
            print(json.dumps(measure(kafka, args.down, run)), flush=True)


def measure(kafka, down: float, run: int) -> dict:
    from confluent_kafka import Producer

    from puljemonitor.comparing import differences, expected_outputs
    from puljemonitor.replay import Replay
    from schemas import pools
    from streams.admin import ensure_topic
    from streams.topic_reader import read_latest
    from tests import builders
    from tests.builders import citizen_key

    lines = builders.demo_log(Path(tempfile.mkdtemp()))
    first, second = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    tag = uuid.uuid4().hex[:6]
    names = {t: f"{t}-{tag}" for t in ("events", "statuses", "counts", "feed", "rejected", "intake")}
    env = {**os.environ, "PULJEMONITOR_BROKER": kafka.bootstrap, "PULJEMONITOR_APP_ID": f"outage-{tag}",
           "PULJEMONITOR_PARTITIONS": "4", **{f"PULJEMONITOR_{t.upper()}_TOPIC": n for t, n in names.items()}}  # fmt: skip
    ensure_topic(kafka.bootstrap, names["events"], 4)

    def send(batch: list[bytes]) -> None:
        producer = Producer({"bootstrap.servers": kafka.bootstrap})
        for line in batch:
            producer.produce(names["events"], key=citizen_key(line), value=line)
            producer.poll(0)
        producer.flush(60)

    send(first)
    log_path = ROOT / "bench-data" / f"outage-worker-{run}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "puljemonitor", "worker", "--state-dir", tempfile.mkdtemp(), "--loglevel", "info"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            while b" absorbed " not in log_path.read_bytes():
                time.sleep(0.1)
            kafka.stop()
            time.sleep(down)
            kafka.start()
            returned = time.monotonic()
            send(second)
            replay = Replay()
            replay.ingest(f"kafka://{kafka.bootstrap}/{names['events']}")
            expected = expected_outputs(replay, pools.Rules())
            while differences(expected, read_latest(kafka.bootstrap, names["feed"])):
                if time.monotonic() - returned > 180 or worker.poll() is not None:
                    return {"run": run, "down_s": down, "equal_after_return_s": None, "worker_exit": worker.poll()}
                time.sleep(0.5)
            restarts = log_path.read_text(errors="replace").count("starting it again once the broker answers")
            return {"run": run, "down_s": down, "equal_after_return_s": round(time.monotonic() - returned, 1),
                    "pipeline_restarts": restarts, "worker_log": str(log_path)}  # fmt: skip
        finally:
            worker.kill()
            worker.wait()


if __name__ == "__main__":
    main()
