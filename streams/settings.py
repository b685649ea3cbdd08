"""The live worker's settings: ``PULJEMONITOR_<NAME>`` environment variables over defaults.

Lives with the worker (``streams/app.py``) because the worker is what reads it; the CLI
and the Kafka tools above it import it from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULTS = {
    "broker": "localhost:9092",
    "app_id": "puljemonitor",
    "events_topic": "events",
    "statuses_topic": "statuses",
    "counts_topic": "municipality-counts",
    "aggregates_topic": "aggregates",
    "rejected_topic": "rejected",
    "stats_topic": "worker-stats",
    "partitions": "8",
    "state_dir": "state",
    "pool": "afklaringspuljen",
}


def setting(name: str) -> str:
    """``PULJEMONITOR_<NAME>`` from the environment, else the default."""
    return os.environ.get(f"PULJEMONITOR_{name.upper()}", DEFAULTS[name])


@dataclass(frozen=True)
class Topics:
    events: str
    statuses: str
    counts: str
    aggregates: str
    rejected: str
    stats: str

    @classmethod
    def from_env(cls, **overrides: str | None) -> Topics:
        names = {f: overrides.get(f) or setting(f"{f}_topic") for f in cls.__dataclass_fields__}
        return cls(**names)
