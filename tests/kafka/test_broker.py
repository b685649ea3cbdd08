"""The test broker behaves like Kafka: partitions, keys, order, durability.

Produce and read back with confluent-kafka (librdkafka, the project's one client), so a
broker that only half speaks the protocol fails here and not in app tests.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable

from broker import LocalKafka
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.admin import client_config, ensure_topic

PARTITIONS = 4


def _new_topic(bootstrap: str, partitions: int = PARTITIONS) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    assert ensure_topic(bootstrap, name, partitions) == partitions
    described = AdminClient(client_config(bootstrap)).list_topics(timeout=10).topics[name]
    assert len(described.partitions) == partitions
    return name


def _messages(prefix: str, keys: int, per_key: int) -> list[tuple[str, str]]:
    """``per_key`` values for each key, interleaved so ordering is observable."""
    return [(f"{prefix}-k{k}", f"{prefix}-k{k}-v{i}") for i in range(per_key) for k in range(keys)]


def _producer(bootstrap: str) -> Producer:
    return Producer(client_config(bootstrap, **{"acks": "all", "linger.ms": 5, "enable.idempotence": True}))


def _produce(producer: Producer, topic: str, msgs: Iterable[tuple[str, str]]) -> None:
    failures = []

    def delivered(error, _message) -> None:
        if error is not None:
            failures.append(error)

    for key, value in msgs:
        producer.produce(topic, value.encode(), key.encode(), on_delivery=delivered)
    assert producer.flush(30) == 0
    assert failures == []


def _consume(
    bootstrap: str, topic: str, expected: int, group: str | None = None, timeout: float = 30.0
) -> list[Message]:
    """Read ``expected`` records, then linger briefly so extra ones are caught too.

    Without a group the partitions are assigned and read from the beginning;
    with one, the group's committed offsets decide and are committed after.
    """
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": group or f"unused-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        else:
            consumer.subscribe([topic])
        records: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            records.extend(m for m in consumer.consume(1000, timeout=0.5) if m.error() is None)
        records.extend(m for m in consumer.consume(1000, timeout=0.5) if m.error() is None)
        if group is not None and records:
            consumer.commit(asynchronous=False)
        return records
    finally:
        consumer.close()


def _pairs(records: Iterable[Message]) -> list[tuple[str, str]]:
    return [(r.key().decode(), r.value().decode()) for r in records]


def _assert_keyed(records: list[Message], sent: list[tuple[str, str]]) -> None:
    """Same multiset of (key, value); each key on one partition, in send order."""
    assert sorted(_pairs(records)) == sorted(sent)
    partitions: dict[str, set[int]] = defaultdict(set)
    for r in records:
        partitions[r.key().decode()].add(r.partition())
    assert all(len(p) == 1 for p in partitions.values()), partitions
    by_offset = _pairs(sorted(records, key=lambda r: r.offset()))  # offsets order within a key
    for key in partitions:
        assert [v for k, v in by_offset if k == key] == [v for k, v in sent if k == key]


def test_roundtrip_keyed_messages_over_partitions(kafka_bootstrap: str) -> None:
    topic = _new_topic(kafka_bootstrap)
    sent = _messages("a", keys=40, per_key=5)
    _produce(_producer(kafka_bootstrap), topic, sent)

    records = _consume(kafka_bootstrap, topic, expected=len(sent))

    assert len(records) == len(sent) == 200
    _assert_keyed(records, sent)
    assert {r.partition() for r in records} == set(range(PARTITIONS))


def test_restart_keeps_data_and_offsets(local_kafka: LocalKafka) -> None:
    """A producer that lives across a restart; the group resumes where it was."""
    bootstrap = local_kafka.bootstrap
    topic, group = _new_topic(bootstrap), f"group-{uuid.uuid4().hex[:8]}"
    before, after = _messages("before", 20, 3), _messages("after", 20, 3)

    producer = _producer(bootstrap)
    _produce(producer, topic, before)
    seen = _consume(bootstrap, topic, len(before), group)
    assert len(seen) == len(before)
    local_kafka.restart()
    assert local_kafka.bootstrap == bootstrap
    _produce(producer, topic, after)

    _assert_keyed(_consume(bootstrap, topic, len(before) + len(after)), before + after)
    resumed = _consume(bootstrap, topic, len(after), group=group)
    assert sorted(_pairs(resumed)) == sorted(after)
