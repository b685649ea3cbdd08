"""Source positions: the offsets of each source partition a stage has absorbed, so a gap is seen.

Why this exists: at-least-once must hold whatever the client library does, and Faust does not
always deliver every message. Seen in CI and reproduced here: a worker that took over a
killed worker's partition never processed ten consecutive messages of it (its consumer
dropped them around the rebalance and committed past them), and its numbers stayed wrong.

So each stage checks the offsets it is given. A message beyond the next expected offset means
the ones in between were not delivered: the stage reads that range itself (a plain consumer,
outside Faust) and processes it before the message. A message at or below the expected
offset is processed again (redeliveries are idempotent, and re-send what a crash may have
lost). Offsets absent from the log (compaction, transaction markers) simply read as nothing.

The expected offset survives a move to another worker because the stage writes it into its
own table under :data:`POSITION_KEY` (whose changelog partition is the source partition's),
after the message's own table writes and only every ``save_every`` messages: a stored
position is a lower bound, so the worst case is reading that many messages again.

This module is pure bookkeeping; ``streams/app.py`` reads and writes the table and the range.
"""

from __future__ import annotations

from collections.abc import Hashable

POSITION_KEY = b"\x00position"  # citizen, view and count keys never start with NUL


class Positions:
    """Expected next offset per source partition (``tp``) of one stage, in this worker."""

    def __init__(self, save_every: int = 100) -> None:
        self.save_every = save_every
        self.expected: dict[Hashable, int] = {}
        self._saved: dict[Hashable, int] = {}

    def knows(self, tp: Hashable) -> bool:
        return tp in self.expected

    def start(self, tp: Hashable, stored: int | None, earliest: int) -> None:
        """Begin a partition newly assigned: after the stored position, or at the log's start."""
        self.expected[tp] = max(stored + 1 if stored is not None else earliest, earliest)
        self._saved[tp] = self.expected[tp] - 1

    def check(self, tp: Hashable, offset: int) -> range:
        """The offsets before ``offset`` that were not delivered (empty when none), which the
        caller processes first; the message itself is then absorbed too."""
        expected = self.expected[tp]
        self.expected[tp] = max(expected, offset + 1)
        return range(expected, offset)

    def due(self, tp: Hashable) -> int | None:
        """The position to store now, if ``save_every`` messages went by since the last one."""
        position = self.expected[tp] - 1
        if position - self._saved.get(tp, -1) >= self.save_every:
            self._saved[tp] = position
            return position
        return None

    def forget(self) -> None:
        """After a rebalance: positions are read again from the (restored) tables."""
        self.expected.clear()
        self._saved.clear()


class Progress:
    """When each source partition last advanced: tells a stalled consumer from an idle one.

    Why: Faust's consumer can also stop delivering a partition altogether after a rebalance
    (upstream issues #175, #629, #640; seen in CI: a survivor never fetched again from three
    of the partitions it took back). A partition with messages beyond what the stage has
    absorbed, and no progress for ``patience`` seconds, is stalled; the worker then exits for
    its supervisor to restart it, which the guards above make as safe as any crash.
    """

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._since = 0.0
        self._last: dict[Hashable, float] = {}

    def restart_clock(self, now: float) -> None:
        """After a rebalance: every partition gets ``patience`` seconds from now."""
        self._since = now
        self._last.clear()

    def advanced(self, tp: Hashable, now: float) -> None:
        self._last[tp] = now

    def stalled(self, behind: dict[Hashable, bool], now: float) -> list[Hashable]:
        """The partitions that are behind and have not advanced for ``patience`` seconds."""
        return [
            tp for tp, lagging in behind.items() if lagging and now - self._last.get(tp, self._since) >= self.patience
        ]
