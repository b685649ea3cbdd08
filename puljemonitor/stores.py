"""Where the replay keeps each citizen's applied events: in memory, or in RocksDB on disk.

Both give the same answers; RocksDB trades speed for memory that does not grow with the log.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from rbloom import Bloom
from rocksdict import BlockBasedOptions, Options, Rdict, WriteBatch

from schemas.events import AnyEvent, from_bytes, to_bytes
from streams.admission import Admission, admit


class MemoryStore:
    """citizen → {event id → event}."""

    def __init__(self) -> None:
        self._citizens: dict[str, dict[str, AnyEvent]] = {}

    def admit(self, event: AnyEvent) -> Admission:
        events = self._citizens.get(event.citizen)
        if events is None:
            events = self._citizens[event.citizen] = {}
        return admit(events, event)

    def citizens(self, part: int = 0, parts: int = 1) -> Iterator[list[AnyEvent]]:
        """Every citizen's events; with ``parts``, only every ``parts``-th citizen from
        ``part`` (a forked worker's share: the others' events are not even touched)."""
        for events in itertools.islice(self._citizens.values(), part, None, parts):
            yield list(events.values())

    def events(self, citizen: str) -> list[AnyEvent]:
        """One citizen's applied events (none for a citizen never seen)."""
        return list(self._citizens.get(citizen, {}).values())

    def __len__(self) -> int:
        return len(self._citizens)

    def close(self) -> None:
        self._citizens.clear()


class RocksStore:
    """Events under ``citizen \\0 id`` in RocksDB, so one citizen's events are adjacent in key order.

    Writes are batched; a small dict of pending writes keeps read-your-writes for the
    duplicate check. The state is scratch space for one replay and is cleared on open.

    Why an in-memory Bloom filter in front of the duplicate check: almost every event is
    new, and asking RocksDB costs ~3 µs a call even when its own filters answer "absent";
    the Bloom filter (rbloom, ~24 MB for 20 M keys at 1 % false positives) answers in
    ~0.3 µs, and only a "maybe" (a duplicate, a conflict or a false positive) reads the
    store. More keys than planned only raise the false-positive rate, never a wrong answer.
    """

    BATCH = 20_000
    EXPECTED_KEYS = 20_000_000

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Rdict.destroy(self._path)
        self._db = Rdict(self._path, self._options())
        self._pending: dict[bytes, bytes] = {}
        self._seen = Bloom(self.EXPECTED_KEYS, 0.01)

    @staticmethod
    def _options() -> Options:
        """Bloom filters: almost every duplicate check is a miss, which the filter answers
        without reading a block; without them each miss searches every level's files."""
        table = BlockBasedOptions()
        table.set_bloom_filter(10, False)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_block_based_table_factory(table)
        options.set_write_buffer_size(64 << 20)
        return options

    def admit(self, event: AnyEvent) -> Admission:
        key = b"%s\x00%s" % (event.citizen.encode(), event.id.encode())
        if key in self._seen:
            stored = self._pending.get(key) or self._db.get(key)
            if stored is not None:
                return Admission.DUPLICATE if from_bytes(stored) == event else Admission.CONFLICT
        self._seen.add(key)
        self._pending[key] = to_bytes(event)
        if len(self._pending) >= self.BATCH:
            self._flush()
        return Admission.APPLIED

    def _flush(self) -> None:
        batch = WriteBatch(raw_mode=True)
        for key, value in self._pending.items():
            batch.put(key, value)
        self._db.write(batch)
        self._pending.clear()

    def citizens(self) -> Iterator[list[AnyEvent]]:
        self._flush()
        current: bytes | None = None
        events: list[AnyEvent] = []
        for key, value in self._db.items():
            citizen = key[: key.index(b"\x00")]
            if citizen != current:
                if events:
                    yield events
                current, events = citizen, []
            events.append(from_bytes(value))
        if events:
            yield events

    def close(self) -> None:
        self._db.close()
        Rdict.destroy(self._path)
