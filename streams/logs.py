"""The worker's logging: one handler, CPR redaction on it, and one line per state change.

Why the repeat filter exists: during a broker outage Quix Streams logs "Kafka consumer error:
N/N brokers are down" on every poll and librdkafka repeats each connection failure per
broker thread, about 15 lines a second per client for as long as the outage lasts. An
operator needs the change of state ("down", then "restored"), not the repetitions: a warning
or error whose text (numbers masked) was already logged in the last minute is dropped, and the
next informational line says how many were.
"""

from __future__ import annotations

import logging
import re

from schemas.cpr import install_log_redaction

_NUMBERS = re.compile(r"\d+")


class OnePerStateChange(logging.Filter):
    """Drop a warning or error whose text (numbers masked) was emitted in the last ``window``
    seconds; informational records (like "connectivity restored") always pass."""

    def __init__(self, window: float = 60.0) -> None:
        super().__init__()
        self.window = window
        self._emitted: dict[str, float] = {}
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            if self._dropped:
                record.msg = f"{record.getMessage()} ({self._dropped} repeated warnings and errors were not logged)"
                record.args = ()
                self._dropped = 0
            return True
        text = record.name + _NUMBERS.sub("#", _without_suppression_note(record.getMessage()))
        last = self._emitted.get(text)
        if last is not None and record.created - last < self.window:
            self._dropped += 1
            return False
        self._emitted[text] = record.created
        return True


def _without_suppression_note(message: str) -> str:
    """librdkafka appends ", N identical error(s) suppressed": the same state again."""
    return re.sub(r", \d+ identical error\(s\) suppressed", "", message)


def configure_logging(level: str) -> None:
    """One handler on the root logger with CPR redaction and the repeat filter on it."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
    root = logging.getLogger()
    install_log_redaction(root)
    for handler in root.handlers:
        handler.addFilter(OnePerStateChange())
