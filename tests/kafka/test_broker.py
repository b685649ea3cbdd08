"""The test broker behaves like Kafka: partitions, keys, order, durability.

Produce with aiokafka (what faust uses), read back with kafka-python, so a
broker that only half speaks the protocol fails here and not in app tests.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from broker import LocalKafka
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord

PARTITIONS = 4


def _new_topic(bootstrap: str, partitions: int = PARTITIONS) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
        admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)],
            wait_for_metadata=True,
        )
        [described] = admin.describe_topics([name])
    assert len(described["partitions"]) == partitions
    return name


def _messages(prefix: str, keys: int, per_key: int) -> list[tuple[str, str]]:
    """``per_key`` values for each key, interleaved so ordering is observable."""
    return [(f"{prefix}-k{k}", f"{prefix}-k{k}-v{i}") for i in range(per_key) for k in range(keys)]


async def _produce(producer: AIOKafkaProducer, topic: str, msgs: Iterable[tuple[str, str]]) -> None:
    futures = [await producer.send(topic, value.encode(), key=key.encode()) for key, value in msgs]
    await asyncio.gather(*futures)


def _producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)


async def _produce_once(bootstrap: str, topic: str, msgs: Iterable[tuple[str, str]]) -> None:
    producer = _producer(bootstrap)
    await producer.start()
    try:
        await _produce(producer, topic, msgs)
    finally:
        await producer.stop()


def _consume(
    bootstrap: str, topic: str, expected: int, group: str | None = None, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Read ``expected`` records, then linger briefly so extra ones are caught too.

    Without a group the partitions are assigned and read from the beginning;
    with one, the group's committed offsets decide and are committed after.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
            consumer.seek_to_beginning()
        else:
            consumer.subscribe([topic])
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
        if group is not None:
            consumer.commit()
        return records
    finally:
        consumer.close()


def _pairs(records: Iterable[ConsumerRecord]) -> list[tuple[str, str]]:
    return [(r.key.decode(), r.value.decode()) for r in records]


def _assert_keyed(records: list[ConsumerRecord], sent: list[tuple[str, str]]) -> None:
    """Same multiset of (key, value); each key on one partition, in send order."""
    assert sorted(_pairs(records)) == sorted(sent)
    partitions: dict[str, set[int]] = defaultdict(set)
    for r in records:
        partitions[r.key.decode()].add(r.partition)
    assert all(len(p) == 1 for p in partitions.values()), partitions
    by_offset = _pairs(sorted(records, key=lambda r: r.offset))  # offsets order within a key
    for key in partitions:
        assert [v for k, v in by_offset if k == key] == [v for k, v in sent if k == key]


def test_roundtrip_keyed_messages_over_partitions(kafka_bootstrap: str) -> None:
    topic = _new_topic(kafka_bootstrap)
    sent = _messages("a", keys=40, per_key=5)
    asyncio.run(_produce_once(kafka_bootstrap, topic, sent))

    records = _consume(kafka_bootstrap, topic, expected=len(sent))

    assert len(records) == len(sent) == 200
    _assert_keyed(records, sent)
    assert {r.partition for r in records} == set(range(PARTITIONS))


def test_restart_keeps_data_and_offsets(local_kafka: LocalKafka) -> None:
    """A producer that lives across a restart; the group resumes where it was."""
    bootstrap = local_kafka.bootstrap
    topic, group = _new_topic(bootstrap), f"group-{uuid.uuid4().hex[:8]}"
    before, after = _messages("before", 20, 3), _messages("after", 20, 3)

    async def scenario() -> None:
        producer = _producer(bootstrap)
        await producer.start()
        try:
            await _produce(producer, topic, before)
            seen = await asyncio.to_thread(_consume, bootstrap, topic, len(before), group)
            assert len(seen) == len(before)
            await asyncio.to_thread(local_kafka.restart)
            assert local_kafka.bootstrap == bootstrap
            await _produce(producer, topic, after)
        finally:
            await producer.stop()

    asyncio.run(scenario())

    _assert_keyed(_consume(bootstrap, topic, len(before) + len(after)), before + after)
    resumed = _consume(bootstrap, topic, len(after), group=group)
    assert sorted(_pairs(resumed)) == sorted(after)
