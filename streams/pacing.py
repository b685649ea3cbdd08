"""How often the worker commits: every ``commit_interval`` while commits are quick, less often
while they are slow.

Why this exists: each commit sends every figure that its messages changed, and under load (a
catch-up, a burst of enrollments) the same municipality-month changes in many consecutive
commits. Committing every 0.1 s regardless then re-sends each such figure ten times a second,
and the transactions' round trips and the feed's records grow with the load until the worker
falls behind without bound. A paced interval coalesces more per commit exactly when commits
are expensive, and returns to ``commit_interval`` when they are cheap again, so the latency at
a light load is unchanged.

The rule is pure (:func:`next_interval`); :class:`PacedProcessingContext` applies it to Quix
Streams' checkpoints, which read ``ProcessingContext.commit_interval`` each time one is opened.
"""

from __future__ import annotations

import dataclasses
import time

from quixstreams.processing import ProcessingContext

#: A commit may take at most this share of the worker's time before the interval grows.
COMMIT_SHARE = 0.5


def next_interval(took: float, base: float, ceiling: float) -> float:
    """The interval after a commit that took ``took`` seconds: as long as the commit itself
    (so committing takes at most :data:`COMMIT_SHARE` of the time), never below ``base`` and
    never above ``ceiling``."""
    wanted = took * (1 - COMMIT_SHARE) / COMMIT_SHARE
    return min(max(base, wanted), max(base, ceiling))


@dataclasses.dataclass
class PacedProcessingContext(ProcessingContext):
    """Quix's processing context whose next checkpoint's interval follows the last commit's duration."""

    base_interval: float = 0.1
    ceiling: float = 1.0
    _commit_started: float | None = dataclasses.field(init=False, repr=False, default=None)

    def commit_checkpoint(self, force: bool = False, revoking: bool = False) -> None:
        self._commit_started = time.monotonic()
        super().commit_checkpoint(force=force, revoking=revoking)
        self._commit_started = None

    def init_checkpoint(self) -> None:
        """Called once at start and after every commit (or close of an empty checkpoint)."""
        if self._commit_started is not None:
            took = time.monotonic() - self._commit_started
            self.commit_interval = next_interval(took, self.base_interval, self.ceiling)
        super().init_checkpoint()

    @classmethod
    def replacing(cls, context: ProcessingContext, ceiling: float) -> PacedProcessingContext:
        """The same context (same producer, consumer, stores and sinks), paced."""
        fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(ProcessingContext) if f.init}
        return cls(**fields, base_interval=context.commit_interval, ceiling=ceiling)
