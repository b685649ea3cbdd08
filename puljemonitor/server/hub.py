"""The change stream: every change of the source, numbered, kept for a while, and handed to
each subscriber disclosed for its role (``GET /api/v1/changes``, Server-Sent Events).

Event ids are ``<epoch>-<seq>``: ``seq`` counts the changes since this server started and
``epoch`` names the start, so a ``Last-Event-ID`` from before a restart (or older than the
kept changes) is recognised and answered with a ``reset`` event: the client reloads the
figures it shows instead of missing changes silently.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import AsyncIterator

import msgspec

from puljemonitor.server.access import Role
from puljemonitor.server.figures import Figures
from puljemonitor.server.source import Change

KEPT = 1024  # changes a reconnecting subscriber can resume from


class Hub:
    """Changes in arrival order; subscribers wait on one event that each change replaces."""

    def __init__(self, figures: Figures, kept: int = KEPT) -> None:
        self.figures = figures
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self.kept: deque[tuple[int, Change, list]] = deque(maxlen=kept)
        self.subscribers = 0
        self._arrived = asyncio.Event()
        self._encoded: dict[tuple[int, Role], bytes] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take changes from the source's thread into ``loop``."""
        self._loop = loop
        self.figures.source.subscribe(lambda change: loop.call_soon_threadsafe(self.publish, change))

    def publish(self, change: Change) -> None:
        self.seq += 1
        self.kept.append((self.seq, change, self.figures.changed_figures(change)))
        oldest = self.kept[0][0]
        self._encoded = {k: v for k, v in self._encoded.items() if k[0] >= oldest}
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    def _data(self, seq: int, change: Change, figures: list, role: Role) -> str:
        key = (seq, role)
        if key not in self._encoded:  # one encoding per role and change, whatever the subscribers
            self._encoded[key] = msgspec.json.encode(self.figures.change_payload(change, figures, role))
        return self._encoded[key].decode()

    def resume_from(self, last_event_id: str | None) -> int | None:
        """The seq to continue after, or None when ``last_event_id`` cannot be resumed."""
        if last_event_id is None:
            return self.seq
        epoch, _, seq = last_event_id.partition("-")
        if epoch != self.epoch or not seq.isdigit() or int(seq) > self.seq:
            return None
        if int(seq) < self.seq and (not self.kept or int(seq) < self.kept[0][0] - 1):
            return None
        return int(seq)

    async def events(self, role: Role, last_event_id: str | None) -> AsyncIterator[dict]:
        """The stream of one subscriber: a ``hello`` (or ``reset``), then every change after it."""
        after = self.resume_from(last_event_id)
        self.subscribers += 1
        try:
            if after is None:
                after = self.seq
                yield {"event": "reset", "id": f"{self.epoch}-{after}",
                       "data": '{"reason":"cannot resume from that event id: reload the figures"}'}  # fmt: skip
            elif last_event_id is None:
                yield {
                    "event": "hello",
                    "id": f"{self.epoch}-{after}",
                    "data": f'{{"version":{self.figures.source.version}}}',
                }
            while True:
                pending = [k for k in self.kept if k[0] > after]
                if not pending:
                    await self._arrived.wait()
                    continue
                for seq, change, figures in pending:
                    yield {
                        "event": "figures",
                        "id": f"{self.epoch}-{seq}",
                        "data": self._data(seq, change, figures, role),
                    }
                    after = seq
        finally:
            self.subscribers -= 1
