"""Timestamps exactly as the contract says: RFC 3339 §5.6 ``date-time``, with an offset.

msgspec's datetime decoder is lenient: it also takes a space for the ``T`` and an offset
without its colon (``+0100``). Its values are right, so decoding keeps msgspec (fast, C);
:func:`schemas.events.decode` looks at three bytes of the raw line for the usual spellings,
and everything else comes here: :func:`parse_timestamp` is the exact rule with a reason a
person can act on (also for ``--as-of`` on the command line). Choices where
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
