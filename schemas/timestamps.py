"""Timestamps exactly as the contract says: RFC 3339 §5.6 ``date-time``, with an offset.

msgspec's datetime decoder is lenient: it also takes a space for the ``T`` and an offset
without its colon (``+0100``). Its values are right, so decoding keeps msgspec (fast, C) and
this module adds what it lets through: :func:`recorded_spelled_right` is a cheap look at the
raw bytes of a line for the hot path, :func:`parse_timestamp` the exact rule with a reason a
person can act on (the slow path, and ``--as-of`` on the command line). Choices where
RFC 3339 leaves one (docs/rfc3339.md):

* ``T``/``t`` and ``Z``/``z``: both cases, as RFC 3339 §5.6 allows;
* ``-00:00`` (RFC 3339 §4.3: UTC, local offset unknown): accepted as UTC, the instant is known;
* fraction of a second: 1 to 9 digits (nanosecond clocks), kept to the microsecond (rounded);
* leap second ``:60``: rejected (a Python datetime cannot hold it), with that said.
"""

from __future__ import annotations

import datetime as dt
import re

import msgspec

EXAMPLE = "2021-01-01T10:00:00+01:00"
RFC3339_PATTERN = r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)$"
_RFC3339 = re.compile(RFC3339_PATTERN.replace("$", r"\Z"), re.ASCII)
_LONG_FRACTION = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d\.\d{10,}([Zz]|[+-]\d\d:\d\d)\Z", re.ASCII)


def parse_timestamp(text: str, field: str) -> dt.datetime:
    """An RFC 3339 timestamp with offset → aware datetime, else ValueError naming ``field``."""
    if _RFC3339.match(text):
        if text[17:19] == "60":
            raise ValueError(
                f"`{field}` {text!r} is a leap second, which is not accepted; send :59 instead - at `$.{field}`"
            )
        try:
            return _convert(text)
        except msgspec.ValidationError:
            pass  # a day, hour, minute or offset out of range
    if _LONG_FRACTION.match(text):
        raise ValueError(
            f"`{field}` {text!r} has more than 9 fraction digits (expected e.g. {EXAMPLE}) - at `$.{field}`"
        )
    raise ValueError(
        f"`{field}` {text!r} is not an RFC 3339 timestamp with offset (expected e.g. {EXAMPLE}) - at `$.{field}`"
    )


def _convert(text: str) -> dt.datetime:
    # msgspec's own parser, so the value is the one the hot path decodes (same rounding).
    value = msgspec.convert(text, dt.datetime)
    if value.tzinfo is None:
        raise msgspec.ValidationError("no offset")
    return value


def recorded_spelled_right(raw: bytes) -> bool:
    """True when ``"recorded":"…"`` in ``raw`` is spelled ``YYYY-MM-DDTHH:MM:SSZ`` or
    ``YYYY-MM-DDTHH:MM:SS+HH:MM``, given that msgspec took the value and that the key occurs
    once (:func:`schemas.events.decode` knows both). False means "look closer", not "wrong":
    fractions, a lower-case ``t``, escapes or spaces around the colon take the exact path.

    Why bytes at fixed places and not a regex: msgspec's parser already checked the digits and
    ranges; all it lets through is a space for ``T``, an offset without its colon and any
    number of fraction digits, and three byte comparisons cost far less than a regex match
    (a method call alone costs ~0.1 µs here). Escapes cannot fake them: each escape lengthens
    the raw value, and a literal ``T``, ``"`` or ``:`` at these places means the decoded value
    has the shape.
    """
    start = raw.find(b'"recorded":"')
    try:
        return (
            start >= 0
            and raw[start + 22] == 84
            and (  # T after the 10-character date
                raw[start + 32] == 34  # "…SSZ" (20 characters; msgspec took the Z)
                or (raw[start + 37] == 34 and raw[start + 34] == 58)  # "…SS±HH:MM" (25, with the colon)
            )
        )
    except IndexError:  # a short value at the end of the line
        return False
