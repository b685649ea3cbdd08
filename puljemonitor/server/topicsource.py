"""The events topic as a :class:`~.source.FiguresSource`: ``serve --broker``.

The server follows the topic the worker reads (:class:`streams.topic_follower.TopicFollower`,
committed records, every partition, no consumer group) into the same replay and incremental
counts as ``serve --log --follow`` (:class:`~.logsource.ReplaySource`); each message goes
through the same intake as the worker's and the replay's (its key must be its citizen).

Why the events and not only the feed topic: the feed carries the figures as known now under
the deployment's rule variant, while the dashboard and the API also answer as published,
under either variant, and show a municipality its citizens with the events that decided
their status; all of those are functions of the events. The figures equal the feed's, as
the worker's equal the replay of the same topic (``tests/kafka``). Any number of servers
follow side by side, each ready once it has read to the end of every partition.
"""

from __future__ import annotations

from puljemonitor.server.logsource import ReplaySource
from streams.topic_follower import TopicFollower

WAIT_SECONDS = 0.2  # a poll returns at once when records arrive; this bounds an idle one


class TopicSource(ReplaySource):
    def __init__(self, broker: str, topic: str) -> None:
        super().__init__(follow=True, poll_seconds=0.0)
        self.name = f"kafka://{broker}/{topic}"
        self.follower = TopicFollower(broker, topic)  # TopicMissing, BrokerUnreachable: before serving

    def _ingest(self) -> None:
        self.replay.ingest_messages(self._until_caught_up(), self._reject)

    def _until_caught_up(self):
        while not self.follower.caught_up():
            yield from self.follower.poll(WAIT_SECONDS)

    def _appended(self) -> list[tuple[int, bytes, object]]:
        counted = self.replay.intake.counts.lines  # every message is an input line: numbered on from there
        return [(counted + i, value, key) for i, (key, value) in enumerate(self.follower.poll(WAIT_SECONDS), 1)]

    def ready(self) -> bool:
        """Ready once the start has read every partition to its end (:meth:`_ingest`); records
        that arrive afterwards are followed, and do not make the server unready meanwhile."""
        return self._loaded

    def close(self) -> None:
        super().close()
        self.follower.close()
