"""A JSON Lines log → the events topic, keyed by citizen, never carrying a CPR number.

:func:`prepare` decides what one line becomes (pseudonymized with a key file, refused, or sent
redacted); :func:`produce` sends the prepared lines and accounts for every line: sent, blank,
refused (a CPR number that cannot be pseudonymized) or not delivered (larger than the topic
accepts, or another delivery error), the last two reported with their line numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import msgspec
from confluent_kafka import KafkaError, KafkaException, Producer

from schemas.cpr import contains_cpr, looks_like_cpr, redact_cpr
from streams.admin import Errors, client_config, max_message_bytes


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


class NotSent(msgspec.Struct):
    """A line ``produce`` did not deliver, as ``produce --refused FILE`` lists it (one JSON object a line)."""

    line: int
    reason: str


@dataclass
class ProduceSummary:
    lines: int = 0
    sent: int = 0  # delivered and acknowledged by the broker
    pseudonymized: int = 0
    refused: int = 0  # would have carried a CPR number
    too_large: int = 0  # larger than the topic accepts
    failed: int = 0  # any other delivery error
    blank: int = 0

    def __str__(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{self.sent} of {self.lines} lines sent ({self.pseudonymized} pseudonymized, {self.refused} refused, "
            f"{self.too_large} too large{failed}, {self.blank} blank)"
        )


def _too_large(size: int, limit: int) -> str:
    return f"message of {size} bytes is larger than the topic accepts ({limit} bytes); not sent"


def produce(
    lines: Iterable[bytes],
    broker: str,
    topic: str,
    *,
    hmac_key: bytes | None = None,
    on_refused: Callable[[int, str], None] | None = None,
    producer: Producer | None = None,
) -> ProduceSummary:
    """Send every non-blank line (keyed by citizen) and wait until the broker has them all.

    ``on_refused(line number, reason)`` hears of every line not sent: refused before sending,
    or not delivered. The rest of the log is sent either way.
    """
    summary = ProduceSummary()
    limit = max_message_bytes(broker, topic)
    if producer is None:
        # The topic's limit as the client's, so an oversized line fails at once (with its line
        # number) and a batch of small ones never outgrows what the broker accepts.
        producer = Producer(
            client_config(
                broker, Errors(), **{
                    "enable.idempotence": True, "linger.ms": 20, "batch.size": 1024 * 1024,
                    "message.max.bytes": limit,
                },
            )
        )  # fmt: skip

    def not_sent(number: int, reason: str) -> None:
        if on_refused:
            on_refused(number, redact_cpr(reason))

    def delivered(number: int, size: int, error: KafkaError | None, _message) -> None:
        if error is None:
            summary.sent += 1
        elif error.code() in (KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE):
            summary.too_large += 1
            not_sent(number, _too_large(size, limit))
        else:
            summary.failed += 1
            not_sent(number, f"not delivered: {error.str()}")

    for number, line in enumerate(lines, 1):
        summary.lines += 1
        if not line.strip():
            summary.blank += 1
            continue
        try:
            prepared = prepare(line, hmac_key)
        except Refused as error:
            summary.refused += 1
            not_sent(number, str(error))
            continue
        summary.pseudonymized += prepared.pseudonymized
        size = len(prepared.value) + len(prepared.key or b"")
        callback = partial(delivered, number, size)
        while True:
            try:
                producer.produce(topic, prepared.value, prepared.key, on_delivery=callback)
                break
            except BufferError:  # the client's queue is full: let deliveries drain it
                producer.poll(0.1)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                    raise
                summary.too_large += 1
                not_sent(number, _too_large(size, limit))
                break
        producer.poll(0)
    producer.flush()
    return summary
