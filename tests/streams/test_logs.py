"""The worker's log filter: one line per state change during an outage, not one per poll."""

from __future__ import annotations

import logging

from streams.logs import OnePerStateChange


def _record(name: str, level: int, message: str, created: float) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, message, (), None)
    record.created = created
    return record


def test_an_outage_logs_each_distinct_error_once_and_the_recovery_says_how_many_were_dropped():
    keep = OnePerStateChange(window=60)
    lines = [
        _record("quixstreams.kafka.consumer", logging.ERROR, 'Kafka consumer error: 2/2 brokers are down code="-187"', t / 10)
        for t in range(150)
    ] + [
        _record("quixstreams.kafka.producer", logging.ERROR, "Connect to ipv4#127.0.0.1:33965 failed (after 0ms in state CONNECT)", 1.0),
        _record("quixstreams.kafka.producer", logging.ERROR, "Connect to ipv4#127.0.0.1:33965 failed (after 3ms in state CONNECT, 1 identical error(s) suppressed)", 2.0),
    ]  # fmt: skip
    passed = [r for r in lines if keep.filter(r)]
    assert len(passed) == 2
    restored = _record("quixstreams.kafka.consumer", logging.INFO, "Kafka consumer broker connectivity restored", 16.0)
    assert keep.filter(restored) and "150 repeated" in restored.getMessage()


def test_the_same_error_after_the_window_is_logged_again():
    keep = OnePerStateChange(window=60)
    assert keep.filter(_record("x", logging.WARNING, "broker down", 0.0))
    assert not keep.filter(_record("x", logging.WARNING, "broker down", 59.0))
    assert keep.filter(_record("x", logging.WARNING, "broker down", 61.0))
