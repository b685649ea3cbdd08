"""The records the worker's stages send each other on internal topics (msgpack), and dead letters.

Internal records are absolute and versioned, so a redelivered, duplicated or reordered
record can never move a number twice (``docs/live-design.md``):

* :class:`StatusBatch` (stage 1 → 2, key = municipality): the latest status vectors of the
  citizens of one municipality that changed during one commit.
* :class:`CountsUpdate` (stage 2 → 3, one partition): one municipality's absolute status
  counts in every month.
"""

from __future__ import annotations

import msgspec

from schemas.cpr import redact_cpr


class StatusUpdate(msgspec.Struct, array_like=True, gc=False):
    """A citizen's absolute statuses in one municipality.

    ``vector`` holds one byte per month from ``first_month`` (an index into
    :data:`schemas.statuses.STATUSES`); ``None`` withdraws the citizen from ``municipality``.
    ``version`` is the number of the citizen's applied events: it only grows.
    """

    citizen: str
    municipality: str
    version: int
    first_month: int
    vector: bytes | None


class StatusBatch(msgspec.Struct, array_like=True, gc=False):
    """Stage 1 → 2: one municipality's changed citizens of one commit (latest per citizen)."""

    pool: str
    municipality: str
    updates: list[StatusUpdate]


class View(msgspec.Struct, array_like=True, gc=False):
    """Stage 2's stored view of one citizen in one municipality."""

    version: int
    vector: bytes | None


class CountsUpdate(msgspec.Struct, array_like=True, gc=False):
    """Stage 2 → 3: absolute status counts of one municipality, every month.

    ``version`` is the sum of the municipality's citizen versions, which never decreases.
    """

    pool: str
    municipality: str
    version: int
    months: dict[int, dict[str, int]]


class DeadLetter(msgspec.Struct, kw_only=True):
    """The value on the dead-letter topic: where the message was, what it was, and why."""

    reason: str
    raw: str
    topic: str
    partition: int
    offset: int
    key: str | None = None


_msgpack = msgspec.msgpack.Encoder()
_json = msgspec.json.Encoder()
batch_decoder = msgspec.msgpack.Decoder(StatusBatch)
view_decoder = msgspec.msgpack.Decoder(View)
counts_decoder = msgspec.msgpack.Decoder(CountsUpdate)


def encode(record: msgspec.Struct) -> bytes:
    return _msgpack.encode(record)


def _text(raw: bytes | None) -> str:
    """A message value or key as kept on the dead-letter topic: text, CPR numbers redacted."""
    return redact_cpr((raw or b"").decode("utf-8", errors="replace").rstrip("\r\n"))


def dead_letter(
    reason: str | None, raw: bytes | None, key: bytes | None, topic: str, partition: int, offset: int
) -> bytes:
    """The dead-letter record of a rejected message (CPR-like numbers redacted everywhere)."""
    return _json.encode(
        DeadLetter(
            reason=redact_cpr(reason or "rejected"),
            raw=_text(raw),
            topic=topic,
            partition=partition,
            offset=offset,
            key=_text(key) if key is not None else None,
        )
    )


def dead_letter_key(topic: str, partition: int, offset: int) -> bytes:
    return f"{topic}/{partition}/{offset}".encode()
