"""The live system's settings: one frozen object, built once, defaults ← environment ← command line.

Every field is a setting with the environment variable ``PULJEMONITOR_<FIELD>`` (upper case);
the CLI derives its ``worker`` options from the same fields (``puljemonitor/cli_live.py``), so
``worker --help`` lists every setting with its variable and nothing is read from the
environment anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

ENV_PREFIX = "PULJEMONITOR_"


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    broker: str = "localhost:9092"
    """Kafka bootstrap HOST:PORT."""
    app_id: str = "puljemonitor"
    """Deployment name; the consumer group is ``<app_id>-<variant>``."""
    count_social_frikort: bool = False
    """Rule variant of this deployment (spec §3): every record says which it is."""
    processing_guarantee: Literal["exactly-once", "at-least-once"] = "exactly-once"
    """Kafka transactions (default) or at-least-once; the figures are equal under both."""
    partitions: int = msgspec.field(default=8)
    """Partitions of the events and internal topics when this worker creates them."""
    replication: int = 1
    """Replication factor of the topics this worker creates."""
    state_dir: str = "state"
    """Where the RocksDB state lives (rebuilt from changelog topics when empty)."""
    commit_interval: float = 0.1
    """Seconds between commits (Kafka transactions) while commits are quick; each stage's output is coalesced per commit."""
    commit_interval_max: float = 1.0
    """Longest seconds between commits: while commits are slow (under load) the interval grows to
    as long as the last commit took, up to this."""
    events_topic: str = "events"
    """Input: citizen events, key = citizen."""
    statuses_topic: str = "statuses"
    """Internal: status changes per municipality (stage 1 → 2)."""
    counts_topic: str = "municipality-counts"
    """Internal: absolute status counts per municipality (stage 2 → 3)."""
    feed_topic: str = "aggregates"
    """Output, compacted: the self-describing figure records for municipal systems."""
    rejected_topic: str = "rejected"
    """Output: dead letters with their reason and topic/partition/offset."""
    intake_topic: str = "intake"
    """Output, compacted: input accounting and offsets per events partition (caught-up signal)."""

    @property
    def group(self) -> str:
        """The consumer group (and Quix application id): the rule variant is part of it."""
        return f"{self.app_id}-{variant_name(self.count_social_frikort)}"


def variant_name(count_social_frikort: bool) -> str:
    return "social-frikort" if count_social_frikort else "standard"


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def fields() -> tuple[msgspec.structs.FieldInfo, ...]:
    return msgspec.structs.fields(Settings)


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults ← ``PULJEMONITOR_*`` variables ← ``overrides`` (None values skipped).

    Raises ``ValueError`` naming the variable or option whose value does not fit.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for info in fields():
        name = env_name(info.name)
        if name in environ:
            values[info.name] = environ[name]
    try:
        from_env = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise ValueError(f"environment: {error} (variables {ENV_PREFIX}*)") from None
    chosen = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        return msgspec.convert({**msgspec.structs.asdict(from_env), **chosen}, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise ValueError(f"option: {error}") from None
