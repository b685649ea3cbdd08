"""Read a topic as a finite log: every committed record from the beginning to the end offsets taken at start.

What ``report --log kafka://HOST:PORT/TOPIC`` and ``compare`` read. Transactional writers (the
live worker) leave aborted records and commit markers in a partition, so records are read with
``isolation.level=read_committed`` and a partition is finished at its end-of-partition event,
not at a count of records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from streams.admin import BrokerUnreachable, Errors, TopicMissing, client_config, reach, topic_partitions

STALL_SECONDS = 60.0
"""A read that gets no record and no end-of-partition for this long has lost its broker."""


class Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None
    timestamp: int  # milliseconds since the epoch


def parse_url(url: str) -> tuple[str, str]:
    """``kafka://HOST:PORT/TOPIC`` → (bootstrap, topic)."""
    if not url.startswith("kafka://"):
        raise ValueError(f"{url!r} is not kafka://HOST:PORT/TOPIC")
    rest = url[len("kafka://") :]
    broker, _, topic = rest.partition("/")
    if not broker or not topic:
        raise ValueError(f"{url!r} is not kafka://HOST:PORT/TOPIC")
    return broker, topic


def partitions(broker: str, topic: str, missing_ok: bool) -> list[int]:
    """The topic's partitions, waiting a moment for a topic just created to show in the metadata."""
    admin, metadata = reach(broker)
    deadline = time.monotonic() + (1 if missing_ok else 5)
    while not (found := topic_partitions(metadata, topic)) and time.monotonic() < deadline:
        time.sleep(0.2)
        metadata = admin.list_topics(timeout=5)
    if not found and not missing_ok:
        raise TopicMissing(f"topic {topic!r} does not exist on the Kafka broker at {broker}")
    return found


def _messages(broker: str, topic: str, missing_ok: bool) -> Iterator[Message]:
    found = partitions(broker, topic, missing_ok)
    if not found:
        return
    errors = Errors()
    consumer = reader(broker, errors)
    try:
        ends = {}
        for p in found:
            low, high = _watermarks(consumer, TopicPartition(topic, p))
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        last_progress = time.monotonic()
        while ends:
            batch = consumer.consume(num_messages=10_000, timeout=1.0)
            if batch:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > STALL_SECONDS:
                raise BrokerUnreachable(
                    f"the Kafka broker at {broker} stopped answering while {topic!r} was read: {errors.reason}"
                )
            for message in batch:
                partition, offset = message.partition(), message.offset()
                end = ends.get(partition)
                if end is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    if offset >= end:  # past the end: commit markers and aborted records skipped
                        del ends[partition]
                    continue
                if offset < end:
                    yield message
                if offset >= end - 1:
                    del ends[partition]
    finally:
        consumer.close()


def reader(broker: str, errors: Errors) -> Consumer:
    """A consumer that reads committed records by assignment (no group membership, no commits),
    so any number of readers run side by side without moving each other's partitions."""
    return Consumer(
        client_config(
            broker,
            errors,
            **{
                "group.id": "puljemonitor-reader",  # required by the client; assign() never joins it
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "fetch.max.bytes": 64 * 1024 * 1024,
                "max.partition.fetch.bytes": 8 * 1024 * 1024,
            },
        )
    )


#: Errors of a partition whose topic is being created (its leader not elected yet): wait.
_NOT_READY = (KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.UNKNOWN_TOPIC_OR_PART)


def _watermarks(consumer: Consumer, partition: TopicPartition, patience: float = 10.0) -> tuple[int, int]:
    """(low, high) offsets of ``partition``, waiting up to ``patience`` seconds for the leader of
    a topic that another client (a worker starting) is creating at this moment."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return consumer.get_watermark_offsets(partition, timeout=10)
        except KafkaException as error:
            if error.args[0].code() not in _NOT_READY or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def read_records(broker: str, topic: str, missing_ok: bool = False) -> Iterator[Record]:
    """Every committed record of ``topic`` from the beginning to the end offsets taken now, all
    partitions (each in offset order). A topic that does not exist is :class:`TopicMissing`, or
    no records with ``missing_ok``; no broker is :class:`BrokerUnreachable`."""
    for m in _messages(broker, topic, missing_ok):
        yield Record(m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1])


def read_messages(url: str) -> Iterator[tuple[bytes | None, bytes]]:
    """``kafka://HOST:PORT/TOPIC`` → (key, value) of every message, from the beginning to the
    end offsets taken at start; a message with no value has value ``b""``."""
    broker, topic = parse_url(url)
    for m in _messages(broker, topic, missing_ok=False):
        value = m.value()
        yield m.key(), value if value is not None else b""


def read_latest(broker: str, topic: str) -> dict[str, object]:
    """The latest value (parsed JSON) per key of a compacted topic; a null value deletes."""
    latest: dict[str, object] = {}
    for m in _messages(broker, topic, missing_ok=True):
        key, value = m.key(), m.value()
        if key is None:
            continue
        if value is None:
            latest.pop(key.decode(), None)
        else:
            latest[key.decode()] = json.loads(value)
    return latest
