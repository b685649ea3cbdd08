"""A Faust table whose changelog records are sent before the event that wrote them is acknowledged.

Why this exists: a plain ``faust.Table`` hands each changelog record to the producer's
in-process ``ProducerBuffer``, drained by a background task. Before committing source offsets
Faust flushes that buffer, but ``ProducerBuffer.flush_atmost`` gives up after 0.1 s without
progress — which is exactly what happens while an agent or timer keeps the event loop busy.
The offset is then committed while the table's write is still queued in this process; a
crash at that moment loses the write for good, because the message that made it will not be
redelivered. (Seen in CI: a survivor restored a killed worker's tables without some of its
last writes, and its numbers stayed wrong.)

Here a write only queues its record on the table, and the agent awaits :meth:`publish`
before it takes the next event. That hands the records to the Kafka client itself, whose
flush the commit path does await (``Consumer._commit_offsets``), so a committed offset
implies its table writes are on the broker. The local RocksDB write still happens at once.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import FutureMessage


class DurableTable(faust.Table):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unsent: list[FutureMessage] = []

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> FutureMessage:
        """Queue the record on the table (not in the producer's buffer) until :meth:`publish`."""
        fut = self.changelog_topic.as_future_message(
            key=key,
            value=value,
            partition=partition,
            key_serializer=key_serializer or self.key_serializer,
            value_serializer=value_serializer or self.value_serializer,
            callback=self._on_changelog_sent,  # records the offset in RocksDB, as before
            eager_partitioning=True,
        )
        self._unsent.append(fut)
        return fut

    async def publish(self) -> None:
        """Hand every queued changelog record to the Kafka client; call before the next event."""
        unsent, self._unsent = self._unsent, []
        for fut in unsent:
            await self.changelog_topic.publish_message(fut, wait=False)
