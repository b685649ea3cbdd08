"""How far a deployment has come: its input accounting and whether its figures have caught up.

Read from the broker alone (the compacted intake topic, the events topic's end offsets and the
consumer group's committed offsets on the internal topics), so ``puljemonitor status`` works
from any machine and counts the whole deployment, not one worker process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.settings import Settings
from streams.topic_reader import read_latest

FIELDS = ("lines", "applied", "duplicates", "rejected")


@dataclass
class Progress:
    partitions: dict[int, dict] = field(default_factory=dict)  # events partition → intake record
    ends: dict[int, int] = field(default_factory=dict)  # events partition → end offset now
    internal_lag: dict[str, int] = field(default_factory=dict)  # internal topic → messages not yet committed

    @property
    def totals(self) -> dict[str, int]:
        return {f: sum(r[f] for r in self.partitions.values()) for f in FIELDS}

    def behind(self, partition: int) -> int:
        absorbed = self.partitions.get(partition, {}).get("next_offset", 0)
        return max(0, self.ends.get(partition, 0) - absorbed)

    @property
    def caught_up(self) -> bool:
        """Every event in the topic is absorbed and every internal record is processed."""
        return all(self.behind(p) == 0 for p in self.ends) and not any(self.internal_lag.values())


def _consumer(settings: Settings):
    from confluent_kafka import Consumer

    from streams.admin import client_config

    return Consumer(
        client_config(
            settings.broker,
            **{
                "group.id": settings.group,  # only to read its committed offsets; never subscribes
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            },
        )
    )


def intake_records(settings: Settings) -> list[dict]:
    """The latest intake record of every events partition (the deployment's own output)."""
    return list(read_latest(settings.broker, settings.intake_topic).values())


def read_progress(settings: Settings, timeout: float = 10.0) -> Progress:
    from confluent_kafka import TopicPartition

    consumer = _consumer(settings)
    try:
        progress = Progress()
        events = consumer.list_topics(settings.events_topic, timeout=timeout).topics.get(settings.events_topic)
        for p in sorted(events.partitions if events is not None else ()):
            progress.ends[p] = consumer.get_watermark_offsets(
                TopicPartition(settings.events_topic, p), timeout=timeout
            )[1]
        progress.partitions = {
            record["partition"]: record
            for record in intake_records(settings)
            if record.get("topic") == settings.events_topic
        }
        for topic in (settings.statuses_topic, settings.counts_topic):
            progress.internal_lag[topic] = _unprocessed(consumer, topic, timeout)
        return progress
    finally:
        consumer.close()


def _unprocessed(consumer, topic: str, timeout: float) -> int:
    """Committed records of ``topic`` after the group's committed offsets: what the group has
    yet to process. Read, not subtracted: transaction markers occupy offsets too."""
    from confluent_kafka import TopicPartition

    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    tps = [TopicPartition(topic, p) for p in (metadata.partitions if metadata is not None else ())]
    if not tps:
        return 0
    pending = []
    for tp in consumer.committed(tps, timeout=timeout):
        end = consumer.get_watermark_offsets(tp, timeout=timeout)[1]
        start = tp.offset if tp.offset >= 0 else consumer.get_watermark_offsets(tp, timeout=timeout)[0]
        if end > start:
            pending.append(TopicPartition(topic, tp.partition, start))
    if not pending:
        return 0
    consumer.assign(pending)
    unprocessed = 0
    while messages := consumer.consume(1000, timeout=1.0):
        unprocessed += sum(1 for m in messages if m.error() is None)
    return unprocessed
