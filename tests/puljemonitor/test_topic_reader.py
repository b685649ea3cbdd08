"""Reading a topic another client is creating at this moment (seen in CI: the tests read the
feed topic while the starting worker created it, and the partition had no leader yet)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streams.topic_reader import _watermarks


class Creating:
    """A consumer whose partition has no leader for its first ``calls`` questions."""

    def __init__(self, calls: int, code: int = KafkaError.LEADER_NOT_AVAILABLE) -> None:
        self.calls, self.code = calls, code

    def get_watermark_offsets(self, partition, timeout):
        if self.calls:
            self.calls -= 1
            raise KafkaException(KafkaError(self.code))
        return 0, 7


def test_the_watermarks_of_a_topic_being_created_are_waited_for():
    assert _watermarks(Creating(3), TopicPartition("t", 0)) == (0, 7)


def test_another_error_or_a_leader_that_never_comes_is_raised():
    with pytest.raises(KafkaException):
        _watermarks(Creating(1, KafkaError.TOPIC_AUTHORIZATION_FAILED), TopicPartition("t", 0))
    with pytest.raises(KafkaException):
        _watermarks(Creating(1000), TopicPartition("t", 0), patience=0.3)
