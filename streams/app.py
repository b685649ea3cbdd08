"""The Faust app: topics, RocksDB tables and three thin agents around :mod:`streams.live`.

Every decision is made by the pure functions of ``streams/live.py``; this module only moves
bytes between Kafka topics, tables and those functions. Why the result survives crashes,
redelivery and reordering is argued in ``docs/live-design.md``.

* ``citizens`` agent — events topic (key = citizen) → table ``citizens`` (applied events of
  the citizen) → statuses topic (key = enrolling municipality) and dead letters.
* ``municipalities`` agent — statuses topic → table ``views`` (last vector and version per
  municipality/citizen) → in-memory tallies → aggregates topic (one record per
  pool/municipality/month) and counts topic (one partition).
* ``totals`` agent — counts topic → table ``counts`` → participant/project/nation records.

Two guards make at-least-once hold under Faust's own gaps (``docs/live-design.md`` 5–6):
tables are :class:`streams.tables.DurableTable` (changelog records reach the Kafka client
before the event is acknowledged), and every agent reads its stream through ``in_order``,
which reads any offsets the consumer did not deliver (:mod:`streams.positions`).

Tables hold bytes (``value_type=bytes``, ``raw`` serializers; msgspec encodes), because
tables ignore the app's value serializer. Writes happen inside ``async for event in
stream.events()``: writing a table inside ``stream.take()`` raises (no current event).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import faust
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas import pools
from schemas.cpr import install_log_redaction
from schemas.reports import InputCounts
from streams.intake import Outcome, count
from streams.live import (
    Projection,
    Totals,
    citizen_step,
    dead_letter,
    decode_counts,
    decode_update,
    months_of,
    output_key,
    view_key,
)  # fmt: skip
from streams.positions import POSITION_KEY, Positions, Progress
from streams.settings import Topics, setting
from streams.tables import DurableTable

log = logging.getLogger("puljemonitor.worker")

#: The worker's exit status when Faust stopped delivering a partition: restart me (EX_TEMPFAIL).
STALLED_EXIT = 75


@dataclass
class Settings:
    broker: str = field(default_factory=lambda: setting("broker"))
    app_id: str = field(default_factory=lambda: setting("app_id"))
    partitions: int = field(default_factory=lambda: int(setting("partitions")))
    state_dir: str = field(default_factory=lambda: setting("state_dir"))
    pool: str = field(default_factory=lambda: setting("pool"))
    count_social_frikort: bool = field(
        default_factory=lambda: os.environ.get("PULJEMONITOR_COUNT_SOCIAL_FRIKORT", "") in ("1", "true")
    )
    replication: int = field(default_factory=lambda: int(os.environ.get("PULJEMONITOR_REPLICATION", "1")))
    flush_interval: float = 0.5  # latency budget vs. re-sending every dirty record per flush
    stall_patience: float = field(default_factory=lambda: float(os.environ.get("PULJEMONITOR_STALL_PATIENCE", "45")))
    topics: Topics = field(default_factory=Topics.from_env)


class _Derived:
    """In-memory derived state of one stage: valid only after a rebuild from its table."""

    def __init__(self) -> None:
        self.ready = False
        self.pending_rebuild = True
        self.dirty: set = set()
        self.next_flush = 0.0

    def due(self) -> bool:
        return self.ready and bool(self.dirty) and time.monotonic() >= self.next_flush

    def flushed(self, began: float, interval: float) -> None:
        """Spend at most about a fifth of the time re-sending absolute records: while catching
        up, the dirty set then coalesces more updates per flush; when idle, flushes stay fast."""
        now = time.monotonic()
        self.next_flush = now + max(interval, 4 * (now - began))


def create_app(settings: Settings) -> faust.App:
    pool = pools.pool(settings.pool)
    rules = pools.Rules(settings.count_social_frikort)
    months = months_of(pool)
    topics = settings.topics
    n = settings.partitions
    worker_id = f"{socket.gethostname()}-{os.getpid()}"

    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.broker}",
        store="rocksdb://",
        datadir=str(Path(settings.state_dir).absolute()),
        processing_guarantee="at_least_once",
        topic_partitions=n,
        topic_replication_factor=settings.replication,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=2000,
        stream_buffer_maxsize=16384,
        producer_linger=0.05,  # fewer, larger produce requests: aiokafka encodes them in Python
        producer_max_batch_size=256 * 1024,
        broker_commit_every=5000,
        broker_commit_interval=1.0,
        # A killed worker's partitions move to the survivor after this long.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        table_standby_replicas=0,
        Table=DurableTable,  # table writes reach the broker before their offset is committed
    )

    def raw_topic(name: str, partitions: int | None = n, **kwargs) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                         partitions=partitions, **kwargs)  # fmt: skip

    events = raw_topic(topics.events)
    statuses = raw_topic(topics.statuses, internal=True)
    counts_topic = raw_topic(topics.counts, partitions=1, internal=True)
    # aggregates, rejected and worker-stats are only written, with ``send`` (made by ensure_topics)

    async def send(topic: str, key: bytes, value: bytes, headers: list | None = None) -> None:
        """Straight to the Kafka client, which the commit flushes (``Topic.send`` wraps every
        record in futures, codecs and sensors first)."""
        await app.producer.send(topic, key, value, partition=None, timestamp=None, headers=headers)

    def table(name: str, partitions: int) -> DurableTable:
        # key/value_type=bytes selects the "raw" codec (a table derives its codec from the
        # type, else json: it ignores the app's serializers).
        return app.Table(name, default=None, key_type=bytes, value_type=bytes, partitions=partitions,
                         options={"driver": "rocksdict"})  # fmt: skip

    citizens = table("citizens", n)
    views = table("views", n)
    counts_table = table("counts", 1)

    input_counts = InputCounts()
    projection_state, totals_state = _Derived(), _Derived()
    projection = Projection(pool)
    totals = Totals(pool, months)
    positions = {name: Positions() for name in ("citizens", "views", "counts")}
    progress = Progress(settings.stall_patience)
    sources = {
        topics.events: positions["citizens"],
        topics.statuses: positions["views"],
        topics.counts: positions["counts"],
    }

    async def in_order(stream, table: DurableTable):
        """The stream's events, each source partition checked for offsets that were not
        delivered against the position stored in ``table`` (see streams/positions.py): those are
        read directly and yielded first. The position is saved as we go."""
        checked = positions[table.name]
        async for event in stream.events():
            tp, offset = event.message.tp, event.message.offset
            if not checked.knows(tp):
                stored = table.get(POSITION_KEY)
                earliest = (await app.consumer.earliest_offsets(tp)).get(tp) or 0
                checked.start(tp, int(stored) if stored is not None else None, earliest)
            missing = checked.check(tp, offset)
            if missing:
                log.warning("%s/%d: offsets %d to %d were not delivered; reading them directly",
                            tp.topic, tp.partition, missing.start, missing.stop - 1)  # fmt: skip
                for record in await read_range(settings.broker, tp, missing):
                    yield Recovered(record)  # written under the current event: the same partition
            yield event
            progress.advanced(tp, time.monotonic())
            position = checked.due(tp)
            if position is not None:
                table[POSITION_KEY] = b"%d" % position
                await table.publish()

    def stored_values(table: DurableTable) -> Iterator[bytes]:
        return (value for key, value in table.items() if key != POSITION_KEY)

    # ------------------------------------------------------------------ citizen stage
    @app.agent(events, name="citizens")
    async def citizen_agent(stream):
        async for event in in_order(stream, citizens):
            message = event.message
            key = message.key
            result = citizen_step(
                None, key, message.value, pool=pool, months=months, rules=rules,
                lookup=lambda c: citizens.get(c.encode()),
            )  # fmt: skip
            count(input_counts, result.outcome)
            if result.outcome is Outcome.REJECTED:
                letter = dead_letter(result, message.value, key, message.topic, message.partition, message.offset)
                await send(topics.rejected, f"{message.topic}/{message.partition}/{message.offset}".encode(), letter)
                continue
            if result.state is not None:
                citizens[result.citizen.encode()] = result.state  # before the sends; see the design note
                await citizens.publish()
            for update in result.updates:
                await send(topics.statuses, update.municipality.encode(), _encode(update))

    # ------------------------------------------------------------------ municipality stage
    def rebuild_projection() -> None:
        nonlocal projection
        projection = Projection(pool)
        projection_state.dirty = projection.rebuild(stored_values(views))
        projection_state.ready, projection_state.pending_rebuild = True, False
        log.info(
            "rebuilt municipality tallies from the views table: re-emitting %d aggregates", len(projection_state.dirty)
        )

    async def flush_projection() -> None:
        began = time.monotonic()
        dirty, projection_state.dirty = projection_state.dirty, set()
        for (code, month), agg in projection.records(dirty):
            await send(topics.aggregates, output_key(pool, "municipality", month, code).encode(), agg,
                       headers=[("version", str(projection.versions[code]).encode())])  # fmt: skip
        for code in sorted({code for code, _ in dirty}):
            await send(topics.counts, code.encode(), _encode(projection.counts(code, months)))
        projection_state.flushed(began, settings.flush_interval)

    @app.agent(statuses, name="municipalities")
    async def municipality_agent(stream):
        async for event in in_order(stream, views):
            if projection_state.pending_rebuild or not projection_state.ready:
                rebuild_projection()
            data = event.message.value
            update = decode_update(data)
            vkey = view_key(update.municipality, update.citizen).encode()
            store, changed = projection.apply(views.get(vkey), update)
            if store:
                views[vkey] = data
                await views.publish()
            projection_state.dirty |= changed
            if len(projection_state.dirty) > 20_000:
                await flush_projection()

    # ------------------------------------------------------------------ totals stage
    def rebuild_totals() -> None:
        nonlocal totals
        totals = Totals(pool, months)
        totals_state.dirty = totals.rebuild(stored_values(counts_table))
        totals_state.ready, totals_state.pending_rebuild = True, False

    async def flush_totals() -> None:
        began = time.monotonic()
        dirty, totals_state.dirty = totals_state.dirty, set()
        for key, value in totals.records(dirty):
            await send(topics.aggregates, key.encode(), value)
        totals_state.flushed(began, settings.flush_interval)

    @app.agent(counts_topic, name="totals")
    async def totals_agent(stream):
        async for event in in_order(stream, counts_table):
            if totals_state.pending_rebuild or not totals_state.ready:
                rebuild_totals()
            data = event.message.value
            update = decode_counts(data)
            ckey = update.municipality.encode()
            stored = counts_table.get(ckey)
            if stored is None or decode_counts(stored).version <= update.version:
                counts_table[ckey] = data
                await counts_table.publish()
            totals_state.dirty |= totals.apply(update)

    # ------------------------------------------------------------------ rebalancing and timers
    def owns(table: faust.Table) -> bool:
        changelog = table.changelog_topic.get_topic_name()
        return any(tp.topic == changelog for tp in app.assignor.assigned_actives())

    @app.on_partitions_revoked.connect
    async def on_revoked(app_, revoked, **kwargs) -> None:
        # Unsent records of partitions that may now belong to another worker must not be
        # sent after its fresher ones; the rebuild after the rebalance re-emits what we keep.
        for state in (projection_state, totals_state):
            state.ready = False
            state.dirty = set()
        for checked in positions.values():
            checked.forget()

    @app.on_rebalance_complete.connect
    async def on_rebalanced(app_, **kwargs) -> None:
        projection_state.pending_rebuild = True
        totals_state.pending_rebuild = True
        progress.restart_clock(time.monotonic())

    @app.timer(interval=5.0)
    async def watchdog() -> None:
        """Exit for the supervisor when a partition stalled (streams/positions.py:Progress)."""
        if app.rebalancing or app.in_recovery:
            return
        tps = [tp for tp in app.consumer.assignment() if tp.topic in sources]
        if not tps:
            return
        ends = await app.consumer.highwaters(*tps)
        committed = app.consumer._committed_offset  # next offset to read, as of the last commit
        done = {tp: sources[tp.topic].expected.get(tp, committed.get(tp)) for tp in tps}
        never = [tp for tp, offset in done.items() if offset is None]  # nothing processed, nothing committed
        if never:
            done.update(await app.consumer.earliest_offsets(*never))
        behind = {tp: ends.get(tp, 0) > (done[tp] or 0) for tp in tps}
        stalled = progress.stalled(behind, time.monotonic())
        if stalled:
            log.error("no message delivered for %.0f s from %s although they have more; exiting with "
                      "status %d for the supervisor to restart this worker", settings.stall_patience,
                      ", ".join(f"{tp.topic}/{tp.partition}" for tp in stalled), STALLED_EXIT)  # fmt: skip
            logging.shutdown()
            os._exit(STALLED_EXIT)  # like a crash, which the guards above make safe

    @app.timer(interval=settings.flush_interval)
    async def flush() -> None:
        if app.rebalancing or app.in_recovery:
            return
        if projection_state.pending_rebuild and owns(views):
            rebuild_projection()
        if totals_state.pending_rebuild and owns(counts_table):
            rebuild_totals()
        if projection_state.due():
            await flush_projection()
        if totals_state.due():
            await flush_totals()

    last_stats: list[dict] = [{}]

    @app.timer(interval=1.0)
    async def report_stats() -> None:
        counts = _counts_dict(input_counts)
        if counts != last_stats[0]:
            last_stats[0] = counts
            value = json.dumps({"worker": worker_id, "time": time.time(), **counts}).encode()
            await send(topics.stats, worker_id.encode(), value)
            log.info("input %s", counts)

    app.puljemonitor_counts = input_counts  # for tests and logging
    return app


class Recovered(NamedTuple):
    """A message read by :func:`read_range`, shaped like a Faust event for the agents."""

    message: ConsumerRecord


async def read_range(broker: str, tp, offsets: range, timeout: float = 60.0) -> list[ConsumerRecord]:
    """The messages of ``tp`` at ``offsets``, read by a plain consumer outside Faust's group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(tp.topic, tp.partition)
        consumer.assign([partition])
        consumer.seek(partition, offsets.start)
        records: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout):  # a failure here must not pass for "nothing missing"
            while await consumer.position(partition) < offsets.stop:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                records += (r for r in batch.get(partition, ()) if r.offset < offsets.stop)
        return records
    finally:
        await consumer.stop()


def _counts_dict(counts: InputCounts) -> dict:
    return {
        "lines": counts.lines,
        "applied": counts.applied,
        "duplicates": counts.duplicates,
        "rejected": counts.rejected,
    }


def _encode(record) -> bytes:
    from streams.live import encode

    return encode(record)


def ensure_topics(settings: Settings) -> None:
    """Create the topics this worker sends to (a broker's auto-creation gives 1 partition, no compaction)."""
    from streams.admin import ensure_topic

    t, n = settings.topics, settings.partitions
    actual = ensure_topic(settings.broker, t.events, n)
    if actual != n:
        # Tables are partitioned like their source topic; Faust would crash-loop on the mismatch.
        raise SystemExit(
            f"topic {t.events} has {actual} partitions but the worker is configured for {n} "
            "(--partitions / PULJEMONITOR_PARTITIONS); they must agree"
        )
    ensure_topic(settings.broker, t.statuses, n)
    ensure_topic(settings.broker, t.counts, 1)
    ensure_topic(settings.broker, t.aggregates, n, compacted=True)
    ensure_topic(settings.broker, t.rejected, 1)
    ensure_topic(settings.broker, t.stats, 1, compacted=True)
    # Faust would create the changelogs itself, but a table's first partition check can run
    # before the new topic's metadata arrives ("changelog topic has 0 partitions") and the
    # agent then crashes in a loop. Created here, they exist before Faust starts.
    for table, partitions in (("citizens", n), ("views", n), ("counts", 1)):
        ensure_topic(settings.broker, f"{settings.app_id}-{table}-changelog", partitions, compacted=True)


def redacting(worker_class: type) -> type:
    """The Faust worker class with CPR redaction on every log handler (schemas/cpr.py:RedactCpr).

    Why a subclass: Faust sets up the root logger's handlers inside the worker's start, and
    this hook is where they exist; a filter on a handler sees every record, the libraries'
    too (a message or an exception may quote a rejected input).
    """

    class RedactingWorker(worker_class):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            install_log_redaction(logger)

    return RedactingWorker


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run the worker in this process until it is stopped (SIGTERM/SIGINT) or killed."""
    app = create_app(settings)
    from faust.worker import Worker

    Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    ensure_topics(settings)
    worker = redacting(Worker)(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
