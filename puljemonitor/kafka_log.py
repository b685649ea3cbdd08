"""Kafka at the edges of the live system: read a topic as a log, produce a log, compare outputs.

* :func:`read_messages` — ``kafka://HOST:PORT/TOPIC`` → (key, value) of messages from the beginning to
  the end offsets taken at start, all partitions (what ``Replay.ingest`` feeds the offline replay).
* :func:`produce` — a JSON Lines log → the events topic, keyed by citizen; with a key file,
  CPR-like citizens are replaced by HMAC-SHA256 pseudonyms before anything is sent.
* :func:`expected_outputs` / :func:`read_latest` / :func:`differences` — the offline replay's
  records vs the latest values of the compacted aggregates topic.

Kafka client imports are local to the functions, so the pure parts need no broker library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from projections.aggregates import aggregate
from projections.reports import build_report
from schemas.calendar import format_month
from schemas.cpr import contains_cpr, looks_like_cpr, redact_cpr
from schemas.pools import Pool, Rules
from streams.admin import ensure_topic  # noqa: F401  (the CLI and tests create topics through here)
from streams.feed import comparable, feed_key, participant_code
from streams.live import months_of


def parse_url(url: str) -> tuple[str, str]:
    """``kafka://HOST:PORT/TOPIC`` → (bootstrap, topic)."""
    if not url.startswith("kafka://"):
        raise ValueError(f"{url!r} is not kafka://HOST:PORT/TOPIC")
    rest = url[len("kafka://") :]
    broker, _, topic = rest.partition("/")
    if not broker or not topic:
        raise ValueError(f"{url!r} is not kafka://HOST:PORT/TOPIC")
    return broker, topic


# ---------------------------------------------------------------- reading


def _consumer(broker: str):
    from kafka import KafkaConsumer

    return KafkaConsumer(
        bootstrap_servers=broker,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        max_poll_records=10_000,
        isolation_level="read_committed",  # the worker writes in transactions; aborted records are not figures
        consumer_timeout_ms=60_000,
    )


def read_records(broker: str, topic: str, missing_ok: bool = False) -> Iterator:
    """Every record of ``topic`` from the beginning to the end offsets taken now, all partitions.

    A topic that does not exist is an error, or no records with ``missing_ok``.
    """
    from kafka import TopicPartition

    consumer = _consumer(broker)
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + (1 if missing_ok else 10)
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            if missing_ok:
                return
            raise ValueError(f"topic {topic!r} does not exist on {broker}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > consumer.position(tp)}
        while remaining:
            batches = consumer.poll(timeout_ms=1000)
            for tp, records in batches.items():
                end = ends[tp]
                for record in records:
                    if record.offset < end:
                        yield record
                if consumer.position(tp) >= end:
                    remaining.discard(tp)
                    consumer.pause(tp)
            for tp in list(remaining):  # transaction markers / compaction can leave gaps
                if consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        consumer.close()


def read_messages(url: str) -> Iterator[tuple[bytes | None, bytes]]:
    """``kafka://HOST:PORT/TOPIC`` → (key, value) of every message, from the beginning to the
    end offsets taken at start; a message with no value has value ``b""``."""
    broker, topic = parse_url(url)
    for record in read_records(broker, topic):
        yield record.key, record.value if record.value is not None else b""


def read_latest(broker: str, topic: str) -> dict[str, object]:
    """The latest value (parsed JSON) per key of a compacted topic; a null value deletes."""
    latest: dict[str, object] = {}
    for record in read_records(broker, topic, missing_ok=True):
        key = record.key.decode() if record.key is not None else None
        if key is None:
            continue
        if record.value is None:
            latest.pop(key, None)
        else:
            latest[key] = json.loads(record.value)
    return latest


# ---------------------------------------------------------------- producing


def load_key(path: str | os.PathLike) -> bytes:
    """The pseudonymization key: the file's bytes (whitespace at the ends stripped), ≥ 16 bytes."""
    key = Path(path).read_bytes().strip()
    if len(key) < 16:
        raise ValueError(f"{path}: a pseudonymization key needs at least 16 bytes")
    return key


def pseudonym(key: bytes, cpr: str) -> str:
    """HMAC-SHA256 of the CPR number (hyphen removed, so both spellings agree), base64url:
    43 characters of ``[A-Za-z0-9_-]``, a valid citizen id that cannot be reversed without the key."""
    digest = hmac.new(key, cpr.replace("-", "").encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Prepared:
    key: bytes | None
    value: bytes
    pseudonymized: bool = False


class Refused(ValueError):
    """A line that is not sent (it would carry a CPR number into Kafka)."""


def prepare(line: bytes, hmac_key: bytes | None) -> Prepared:
    """One log line → (message key, value).

    The key is the ``citizen`` field when the line is a JSON object with a string citizen,
    else none (the worker dead-letters such lines). A CPR-like citizen is pseudonymized with
    the key file, and refused without one. Lines that are not JSON objects are sent with any
    CPR-like digits redacted: they can only be dead-lettered, and must not carry CPR numbers;
    so are lines whose citizen is not a string. A line holding a CPR number anywhere else
    (another field, an escaped spelling) is refused: it cannot be pseudonymized.
    """
    raw = line.rstrip(b"\r\n")
    try:
        obj = json.loads(raw)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        return Prepared(None, redact_cpr(raw.decode("utf-8", errors="replace")).encode())
    citizen = obj.get("citizen")
    if not isinstance(citizen, str):
        # No key: the worker dead-letters it; a citizen given as a number may be a CPR number.
        return Prepared(None, redact_cpr(raw.decode("utf-8", errors="replace")).encode())
    pseudonymized = looks_like_cpr(citizen)
    if pseudonymized:
        if hmac_key is None:
            raise Refused(
                "citizen looks like a CPR number; pass --key-file to pseudonymize, CPR numbers are never sent"
            )
        obj["citizen"] = citizen = pseudonym(hmac_key, citizen)
        raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    if contains_cpr(raw.decode("utf-8", errors="replace")):
        raise Refused("the line holds a CPR number outside `citizen` (only a citizen can be pseudonymized); not sent")
    return Prepared(citizen.encode(), raw, pseudonymized)


@dataclass
class ProduceSummary:
    lines: int = 0
    sent: int = 0
    pseudonymized: int = 0
    refused: int = 0
    blank: int = 0


def produce(
    lines: Iterable[bytes],
    broker: str,
    topic: str,
    *,
    hmac_key: bytes | None = None,
    on_refused=None,
    producer=None,
) -> ProduceSummary:
    """Send every non-blank line (keyed by citizen) and wait until the broker has them all."""
    from kafka import KafkaProducer

    own = producer is None
    if own:
        producer = KafkaProducer(
            bootstrap_servers=broker, acks="all", linger_ms=20, batch_size=256 * 1024,
            compression_type=None, max_in_flight_requests_per_connection=5, retries=10,
        )  # fmt: skip
    summary = ProduceSummary()
    try:
        for number, line in enumerate(lines, 1):
            summary.lines += 1
            if not line.strip():
                summary.blank += 1
                continue
            try:
                prepared = prepare(line, hmac_key)
            except Refused as error:
                summary.refused += 1
                if on_refused:
                    on_refused(number, redact_cpr(str(error)))
                continue
            producer.send(topic, value=prepared.value, key=prepared.key)
            summary.sent += 1
            summary.pseudonymized += prepared.pseudonymized
        producer.flush()
    finally:
        if own:
            producer.close()
    return summary


# ---------------------------------------------------------------- comparing


def expected_outputs(replay, pool: Pool, rules: Rules, months: Iterable[int] | None = None) -> dict[str, object]:
    """The records the aggregates topic must hold, from the offline replay (key → JSON value)."""
    months = list(months) if months is not None else list(months_of(pool))
    tallies = replay.tallies(pool, list(months_of(pool)), rules, None)
    expected: dict[str, object] = {}
    participants = {p.name: p for p in pool.participants}
    for month in months:
        report = build_report(tallies, pool=pool, month=month, rules=rules, as_of=None, counts=replay.counts)
        for code, agg in report.municipalities.items():
            expected[feed_key(pool.name, "municipality", month, code)] = msgspec.to_builtins(agg)
        expected[feed_key(pool.name, "nation", month)] = msgspec.to_builtins(report.national)
        expected[feed_key(pool.name, "project", month)] = msgspec.to_builtins(report.project)
        for name, result in report.participants.items():
            code = participant_code(participants[name])
            expected[feed_key(pool.name, "participant", month, code)] = {
                **msgspec.to_builtins(result),
                "codes": sorted(result.codes),
            }
    return expected


def differences(
    expected: dict[str, object], actual: dict[str, object], pool: Pool, months: Iterable[int] | None = None
) -> list[str]:
    """Every key whose live figures (``actual``: feed records) differ from the replay's, restricted to ``months``.

    A municipality the replay does not list (none of its citizens enrolled under the cut-off,
    e.g. all moved their enrollment away) must be absent live or all zeros.
    """
    wanted = {format_month(m) for m in (months if months is not None else months_of(pool))}
    zero = msgspec.to_builtins(aggregate(Counter(), pool))
    diffs = []
    for key in sorted(set(expected) | set(actual)):
        if not key.startswith(pool.name + "/") or key.rsplit("/", 1)[-1] not in wanted:
            continue
        want, got = expected.get(key), actual.get(key)
        got = comparable(got) if got is not None else None
        if want is None and key.split("/")[1] == "municipality" and got == zero:
            continue
        if want != got:
            diffs.append(
                f"{key}: live {json.dumps(got, ensure_ascii=False)} != replay {json.dumps(want, ensure_ascii=False)}"
            )
    return diffs
