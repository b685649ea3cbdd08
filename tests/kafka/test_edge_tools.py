"""The Kafka edge tools against a real broker: produce accounts for every line, reads see committed records.

``produce`` lists each line it does not send (a CPR number it cannot pseudonymize, a message
larger than the topic accepts) with its line number, counts it, and still sends the rest;
``read_records`` / ``read_latest`` read what a transactional writer committed and nothing else.
"""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from confluent_kafka import Producer

from puljemonitor.cli import main
from puljemonitor.producing import produce
from streams.admin import client_config, ensure_topic
from streams.topic_reader import read_latest, read_messages, read_records

LIMIT = 2048  # the topic's max.message.bytes in the oversize tests


def _topic(bootstrap: str, partitions: int = 2, **config: str) -> str:
    name = f"edge-{uuid.uuid4().hex[:12]}"
    ensure_topic(bootstrap, name, partitions, config=config)
    return name


def _event(n: int, **fields) -> bytes:
    return json.dumps({"id": f"e{n}", "citizen": f"c{n % 5}", "type": "enrolled", **fields}).encode()


def test_produce_writes_refused_lines_with_numbers_to_the_file_and_counts_them(kafka_bootstrap, tmp_path) -> None:
    topic = _topic(kafka_bootstrap)
    lines = [
        _event(1),
        json.dumps({"id": "e2", "citizen": "010203-1234", "type": "enrolled"}).encode(),  # CPR citizen, no key
        b"",
        json.dumps({"id": "e4", "citizen": "c4", "note": "born 0102031234"}).encode(),  # CPR in another field
        _event(5),
        b'{"id": "e6", "citizen": "c6", "note": "\\u0030102031234"}',  # escaped spelling
    ]
    log, refused = tmp_path / "log.jsonl", tmp_path / "refused.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")

    result = CliRunner().invoke(
        main, ["produce", str(log), "--broker", kafka_bootstrap, "--topic", topic, "--refused", str(refused)]
    )

    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in refused.read_text().splitlines()]
    assert [entry["line"] for entry in listed] == [2, 4, 6]
    assert "CPR" in listed[0]["reason"] and "--key-file" in listed[0]["reason"]
    assert all("0102031234" not in entry["reason"] and "1234" not in entry["reason"] for entry in listed)
    assert "2 of 6 lines sent (0 pseudonymized, 3 refused, 0 too large, 1 blank)" in result.stderr
    assert "line 2" not in result.stderr  # the file has them, not the screen
    assert sorted(value for _, value in read_messages(f"kafka://{kafka_bootstrap}/{topic}")) == [_event(1), _event(5)]


def test_produce_lists_refused_lines_on_stderr_without_a_file(kafka_bootstrap, tmp_path) -> None:
    topic = _topic(kafka_bootstrap)
    log = tmp_path / "log.jsonl"
    log.write_bytes(_event(1) + b"\n" + json.dumps({"citizen": "0102031234"}).encode() + b"\n")

    result = CliRunner().invoke(main, ["produce", str(log), "--broker", kafka_bootstrap, "--topic", topic])

    assert result.exit_code == 0, result.output
    assert "line 2: not sent: citizen looks like a CPR number" in result.stderr
    assert "1 of 2 lines sent (0 pseudonymized, 1 refused" in result.stderr


def test_with_a_key_file_a_cpr_citizen_is_sent_as_its_pseudonym_never_as_digits(kafka_bootstrap) -> None:
    topic = _topic(kafka_bootstrap)
    summary = produce([json.dumps({"id": "e1", "citizen": "010203-1234"}).encode()], kafka_bootstrap, topic,
                      hmac_key=b"k" * 32)  # fmt: skip

    assert (summary.sent, summary.pseudonymized, summary.refused) == (1, 1, 0)
    [record] = read_records(kafka_bootstrap, topic)
    assert b"0102031234" not in record.value and b"010203-1234" not in record.value
    assert json.loads(record.value)["citizen"] == record.key.decode() and len(record.key) == 43


def _oversize_case(kafka_bootstrap: str, big: int) -> tuple[str, list[bytes], list[tuple[int, str]], object]:
    topic = _topic(kafka_bootstrap, 1, **{"max.message.bytes": str(LIMIT)})
    lines = [_event(n) for n in range(1, 21)]
    lines[6] = _event(7, note="x" * big)  # line 7
    not_sent: list[tuple[int, str]] = []
    summary = produce(lines, kafka_bootstrap, topic, on_refused=lambda n, reason: not_sent.append((n, reason)))
    return topic, lines, not_sent, summary


def test_a_line_far_larger_than_the_topic_accepts_is_reported_by_number_and_the_rest_is_sent(kafka_bootstrap) -> None:
    topic, lines, not_sent, summary = _oversize_case(kafka_bootstrap, 5 * LIMIT)

    assert [n for n, _ in not_sent] == [7]
    assert f"larger than the topic accepts ({LIMIT} bytes)" in not_sent[0][1]
    assert (summary.lines, summary.sent, summary.too_large, summary.failed) == (20, 19, 1, 0)
    assert [r.value for r in read_records(kafka_bootstrap, topic)] == lines[:6] + lines[7:]


def test_a_line_just_under_the_limit_that_the_broker_refuses_is_reported_by_number_too(kafka_bootstrap) -> None:
    """Key and value fit the client's limit, the record batch around them does not: the
    broker's refusal comes back in the delivery report, still with the line number."""
    topic, lines, not_sent, summary = _oversize_case(kafka_bootstrap, LIMIT - 80)

    assert [n for n, _ in not_sent] == [7]
    assert (summary.sent, summary.too_large, summary.failed) == (19, 1, 0)
    assert [r.value for r in read_records(kafka_bootstrap, topic)] == lines[:6] + lines[7:]


def test_reads_see_committed_transactions_only_and_stop_at_the_end(kafka_bootstrap) -> None:
    topic = _topic(kafka_bootstrap, 2)
    producer = Producer(client_config(kafka_bootstrap, **{"transactional.id": f"t-{uuid.uuid4().hex[:8]}"}))
    producer.init_transactions(10)

    def transaction(records: list[tuple[bytes, bytes | None]], commit: bool) -> None:
        producer.begin_transaction()
        for key, value in records:
            producer.produce(topic, value, key)
        (producer.commit_transaction if commit else producer.abort_transaction)(10)

    transaction([(b"a", b'{"v": 1}'), (b"b", b'{"v": 1}'), (b"c", b'{"v": 1}')], commit=True)
    transaction([(b"a", b'{"v": 99}'), (b"d", b'{"v": 99}')], commit=False)
    transaction([(b"a", b'{"v": 2}'), (b"b", None)], commit=True)  # b deleted

    records = list(read_records(kafka_bootstrap, topic))

    by_key: dict[bytes, list[bytes | None]] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key.setdefault(r.key, []).append(r.value)
    assert by_key == {b"a": [b'{"v": 1}', b'{"v": 2}'], b"b": [b'{"v": 1}', None], b"c": [b'{"v": 1}']}
    assert all(r.topic == topic and r.partition in (0, 1) and r.headers is None for r in records)
    assert read_latest(kafka_bootstrap, topic) == {"a": {"v": 2}, "c": {"v": 1}}


def test_a_topic_that_does_not_exist_reads_as_empty_for_read_latest_and_fails_report_with_one_line(
    kafka_bootstrap,
) -> None:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    assert read_latest(kafka_bootstrap, missing) == {}

    result = CliRunner().invoke(main, ["report", "--log", f"kafka://{kafka_bootstrap}/{missing}", "--month", "2021-09"])

    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: topic {missing!r} does not exist on the Kafka broker at {kafka_bootstrap}"
