"""What a CPR number looks like, and its redaction from everything kept, sent or printed.

CPR numbers (the Danish personal identity number) never enter the system: a CPR-like
citizen, id or retraction target is rejected, and :func:`redact_cpr` replaces every CPR
number by :data:`CPR_REDACTED` before a rejected input, a reason or a log message is kept,
sent or printed. It is the one redaction every output uses (spec §2, "Rejected input"):

* a text that parses as JSON is judged on its *decoded* values, never on their spelling:
  every string token (keys too) whose value is, or contains, a CPR number is replaced by
  ``"[CPR redacted]"``; a ``citizen`` (or a bare number, e.g. a Kafka key) given as a JSON
  number with a CPR's digits too;
  everything else is kept exactly as sent (so ``"hours":1000000000.0`` survives);
* any other text (an unparseable line, a reason, a log message) loses every run of 9 or
  more digits with at most one hyphen among them, counting ``\\u0030``-style escapes as
  digits and ``\\u002d`` and Unicode dashes as hyphens: when in doubt, redact.

Redaction only runs on rejected input, so it may be thorough rather than fast.
"""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal, InvalidOperation

CPR_PATTERN = r"^\d{6}-?\d{4}$"
CPR_REDACTED = "[CPR redacted]"

_HYPHENS = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# A decoded value that holds a CPR number: 6 + 4 digits, maybe a dash between, no digit around.
_CPR_IN_TEXT = re.compile(rf"(?<!\d)\d{{6}}[{_HYPHENS}]?\d{{4}}(?!\d)")

# Raw text: a digit is a digit or its JSON escape; a hyphen a dash or its escape.
_DIGIT = r"(?:\d|\\[uU]003\d)"
_HYPHEN = rf"(?:[{_HYPHENS}]|\\[uU](?:002[dD]|201[0-5]|2212|[fF][eE]58|[fF][eE]63|[fF][fF]0[dD]))"
_DIGIT_RUN = re.compile(rf"{_DIGIT}+(?:{_HYPHEN}{_DIGIT}+)?")
_ONE_DIGIT = re.compile(_DIGIT)
_MIN_RUN = 9  # a CPR number that lost its leading zero still has 9

# JSON text: string tokens (to decode and judge) and number tokens (a citizen may be one).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?', re.DOTALL)
_SPACE = " \t\r\n"
_QUOTED_REDACTED = json.dumps(CPR_REDACTED)


def looks_like_cpr(text: str) -> bool:
    """True for ``DDMMYY-SSSS`` or ``DDMMYYSSSS`` (the shape, not a checksum: err on the safe side)."""
    n = len(text)
    if n == 10:
        return text.isdigit()
    return n == 11 and text[6] == "-" and text[:6].isdigit() and text[7:].isdigit()


def holds_cpr(text: str) -> bool:
    """True when the (decoded) text is, or contains, a CPR number not adjacent to other digits."""
    return _CPR_IN_TEXT.search(text) is not None


def cpr_like_number(token: str) -> bool:
    """A JSON number whose integer value has a CPR's 10 digits (or 9: a leading zero lost)."""
    try:
        value = Decimal(token)
    except InvalidOperation:
        return False
    return value.is_finite() and 10**8 <= abs(value) < 10**10


_SUSPECT = re.compile(r"\d{6}|\\[uU]")  # every CPR spelling has 6 digits in a row or an escape


def contains_cpr(text: str) -> bool:
    """True when :func:`redact_cpr` would change ``text`` (cheap for the text without 6 digits in a row)."""
    return _SUSPECT.search(text) is not None and redact_cpr(text) != text


def redact_cpr(text: str) -> str:
    """``text`` with every CPR number replaced by :data:`CPR_REDACTED`, whatever its spelling."""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return _redact_text(text)
    return _redact_json(text)


def _redact_text(text: str) -> str:
    def replace(match: re.Match) -> str:
        run = match.group()
        return CPR_REDACTED if len(_ONE_DIGIT.findall(run)) >= _MIN_RUN else run

    return _DIGIT_RUN.sub(replace, text)


def _redact_json(text: str) -> str:
    """Valid JSON: outside strings there are no quotes, so the token scan finds exactly the
    string tokens; the key a value belongs to is the last string token followed by ``:``."""
    out: list[str] = []
    kept = 0
    key = None
    # A bare number (a Kafka key, a line that is only a number) may be a citizen too.
    bare = text.lstrip()[:1] not in ("{", "[")
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            value = json.loads(token) if "\\" in token else token[1:-1]
            after = match.end()
            while after < len(text) and text[after] in _SPACE:
                after += 1
            if after < len(text) and text[after] == ":":
                key = value
            redact = holds_cpr(value)
        else:
            redact = (bare or key == "citizen") and cpr_like_number(token)
        if redact:
            out.append(text[kept : match.start()])
            out.append(_QUOTED_REDACTED)
            kept = match.end()
    out.append(text[kept:])
    return "".join(out)


class RedactCpr(logging.Filter):
    """Redacts every record's message (with its args) and exception text, so no log line can
    carry a CPR number. Install it on the handlers: a logger's own filters miss the records
    its children propagate to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_cpr(record.getMessage())
        # An empty tuple, not None: Faust's formatter (mode's ExtensionFormatter) wraps a
        # non-tuple in a tuple and formats again, and "message" % (None,) is a logging error.
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_cpr(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_cpr(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactCpr:
    """Add one :class:`RedactCpr` to every handler of ``logger`` (default: the root logger)."""
    logger = logger or logging.getLogger()
    redaction = RedactCpr()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactCpr) for f in handler.filters):
            handler.addFilter(redaction)
    return redaction
