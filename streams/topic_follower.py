"""Follow a topic: every committed record from the beginning, then each new one as it arrives.

What ``puljemonitor serve --broker`` reads the events topic with. The follower assigns itself
every partition (no consumer group, no commits): any number of servers follow the same topic
side by side, each from the beginning, none moving another's partitions. It is caught up when
every partition has reported its end since its last record.
"""

from __future__ import annotations

import logging

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from streams.admin import Errors
from streams.topic_reader import partitions, reader

log = logging.getLogger("puljemonitor.follower")

BATCH = 10_000


class TopicFollower:
    """The (key, value) of each committed record of ``topic``, in offset order per partition."""

    def __init__(self, broker: str, topic: str) -> None:
        self.topic = topic
        self.errors = Errors()
        found = partitions(broker, topic, missing_ok=False)  # TopicMissing, BrokerUnreachable
        self.consumer = reader(broker, self.errors)
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in found])
        self.at_end = dict.fromkeys(found, False)

    def poll(self, timeout: float) -> list[tuple[bytes | None, bytes]]:
        """The records that arrived within ``timeout`` seconds (a value-less record as ``b""``)."""
        records = []
        for message in self.consumer.consume(num_messages=BATCH, timeout=timeout):
            error = message.error()
            if error is None:
                self.at_end[message.partition()] = False
                records.append((message.key(), message.value() or b""))
            elif error.code() == KafkaError._PARTITION_EOF:
                self.at_end[message.partition()] = True
            else:  # the client retries by itself (an outage); the reason is logged, not raised
                log.warning("reading %s: %s", self.topic, error.str())
        return records

    def caught_up(self) -> bool:
        return all(self.at_end.values())

    def close(self) -> None:
        self.consumer.close()
