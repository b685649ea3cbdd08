"""The live worker on Quix Streams: three stateful stages around the pure steps of ``streams/live.py``.

* **citizens** — events (key = citizen) → per-citizen state (the applied events, append-only)
  → :func:`streams.live.fold_step` → status updates, coalesced per commit into one
  :class:`~streams.records.StatusBatch` per municipality on the statuses topic; dead letters;
  the input accounting of each events partition (in the same state, so it is exactly as
  committed) on the compacted intake topic.
* **municipalities** — statuses (key = pool/municipality) → each citizen's last view and the
  municipality's absolute counts → municipality feed records and a
  :class:`~streams.records.CountsUpdate` on the one-partition counts topic.
* **totals** — counts → every municipality's counts → participant, project and nation records.

Every configured pool flows through the same stages: the first pool's statuses, and BIR's
period rows (``streams/period_live.py``), whose records are :class:`~streams.feed.PeriodFeedRecord`.

Exactly-once (Kafka transactions) is the default; the versioned, absolute records make the
result the same under at-least-once (``docs/live-design.md``). Everything a stage sends goes
through :class:`Outbox`, produced in the open transaction; what is coalesced per commit is
sent from :meth:`CitizenSink.flush`, which the checkpoint calls before it commits.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import signal
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import msgspec

with warnings.catch_warnings():
    # Why: Quix Streams imports confluent-kafka's schema-registry client (unused here), which
    # imports authlib's httpx integration, which warns on import; that warning would be the
    # first line an operator sees, before the worker's own. authlib installs an "always"
    # filter for its warnings when imported, so it is imported first and overruled after.
    with contextlib.suppress(ImportError):
        import authlib.deprecate  # noqa: F401
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from quixstreams import Application, message_context
    from quixstreams.models.topics import TopicConfig
    from quixstreams.sinks import BaseSink

from projections.periods import period_months
from schemas import pools
from schemas.calendar import Month, format_month, parse_month
from schemas.periods import PeriodSpan
from schemas.pools import PeriodPool
from schemas.reports import Aggregate, InputCounts
from streams.feed import (
    FeedRecord,
    IntakeStatus,
    PeriodFeedRecord,
    feed_key,
    intake_key,
    municipality_name,
    now,
    participant_code,
)  # fmt: skip
from streams.intake import Outcome, count
from streams.live import (
    CitizenStore,
    Coalesced,
    FoldResult,
    PeriodTotals,
    Totals,
    apply_batch,
    batch_key,
    fold_step,
    municipality_figures,
    totals_of,
)
from streams.logs import configure_logging
from streams.pacing import PacedProcessingContext
from streams.period_live import PeriodFigures, period_figures
from streams.records import (
    CountsUpdate,
    batch_decoder,
    counts_decoder,
    dead_letter,
    dead_letter_key,
    encode,
)  # fmt: skip
from streams.settings import Settings, variant_name

log = logging.getLogger("puljemonitor.worker")

#: The state key prefix (within the citizens stage's store) of a partition's input accounting.
_INTAKE_PREFIX = b"\x00intake"
_intake_decoder = msgspec.msgpack.Decoder(InputCounts)
_msgpack = msgspec.msgpack.Encoder()
_RECONNECT = {"reconnect.backoff.max.ms": 1_000}
_json = msgspec.json.Encoder()


class Outbox:
    """Sends records on the application's producer, so they belong to the open transaction,
    and never re-sends a feed record whose figures did not change (its version may have grown:
    the next record that is sent carries the grown version).

    Why the internal producer: Quix Streams sends through ``to_topic`` only per processed
    record; what the citizens stage coalesces per commit is sent from a sink's ``flush``,
    which the checkpoint calls before producing changelogs and committing the transaction,
    and the one producer that is part of that transaction is the application's.
    """

    def __init__(self, app: Application) -> None:
        self._app = app
        self._sent: dict[str, tuple] = {}

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        self._app._producer.produce(topic=topic, key=key, value=value)  # noqa: SLF001 (see the class docstring)

    def send_figures(self, topic: str, record: FeedRecord | PeriodFeedRecord) -> None:
        key = feed_key(record.pool, record.level, parse_month(record.month), record.code)
        content = record.content()
        if self._sent.get(key) == content:
            return
        self._sent[key] = content
        self.send(topic, key.encode(), _json.encode(record))

    def forget(self) -> None:
        """After a rebalance another worker may have sent newer values for some keys."""
        self._sent.clear()


class _Intake:
    """One events partition's accounting within one checkpoint: read from the state at the
    checkpoint's first message of the partition, counted in memory, written back at its commit."""

    __slots__ = ("checkpoint", "counts", "next_offset")

    def __init__(self, checkpoint: object, counts: InputCounts) -> None:
        self.checkpoint = checkpoint
        self.counts = counts
        self.next_offset = 0


class CitizenSink(BaseSink):
    """The citizens stage's end: status updates and each partition's accounting, per commit.

    The accounting is state (so it is exactly what was committed), but it is read and written
    once per partition and commit rather than per message: the counts in memory belong to one
    checkpoint, and a new checkpoint (after a commit, or an abort the worker outlived) reads
    them from the state again.
    """

    def __init__(self, worker: PipelineWorker) -> None:
        super().__init__()
        self.worker = worker
        self.coalesced = Coalesced()
        self.intake: dict[int, _Intake] = {}  # events partition → its accounting in this checkpoint
        self.absorbed = 0  # messages this process absorbed, for the progress line
        self._logged = 0.0

    def add(self, value: Any, key: Any, timestamp: int, headers: Any, topic: str, partition: int, offset: int) -> None:
        result: FoldResult = value
        for pool, update in result.updates:
            self.coalesced.add(pool, update)
        checkpoint = self.worker.checkpoint()
        intake = self.intake.get(partition)
        if intake is None or intake.checkpoint is not checkpoint:
            stored = self.worker.intake_state(partition).get_bytes(b"counts")
            intake = self.intake[partition] = _Intake(
                checkpoint, _intake_decoder.decode(stored) if stored else InputCounts()
            )
        count(intake.counts, result.outcome)
        intake.next_offset = offset + 1
        self.absorbed += 1

    def flush(self) -> None:
        worker, settings = self.worker, self.worker.settings
        for batch in self.coalesced.batches():
            worker.outbox.send(settings.statuses_topic, batch_key(batch.pool, batch.municipality), encode(batch))
        checkpoint = worker.checkpoint()
        for partition, intake in sorted(self.intake.items()):
            if intake.checkpoint is not checkpoint:
                continue  # counted in a checkpoint that did not commit: the state has the truth
            counts = intake.counts
            worker.intake_state(partition).set_bytes(b"counts", _msgpack.encode(counts))
            status = IntakeStatus(
                topic=settings.events_topic,
                partition=partition,
                next_offset=intake.next_offset,
                end_offset=max(worker.end_offset(settings.events_topic, partition), intake.next_offset),
                lines=counts.lines,
                applied=counts.applied,
                duplicates=counts.duplicates,
                rejected=counts.rejected,
                count_social_frikort=settings.count_social_frikort,
                computed_at=now(),
            )
            worker.outbox.send(
                settings.intake_topic, intake_key(settings.events_topic, partition).encode(), _json.encode(status)
            )
        self.intake = {}
        if time.monotonic() - self._logged >= 1.0:
            self._logged = time.monotonic()
            log.info("absorbed %d events in this process", self.absorbed)


class FlushSink(BaseSink):
    """The end of a stage that sends per commit: what its messages changed is collected by the
    stage and sent once, when the checkpoint commits (``flush``), so a figure that several
    messages of one commit changed is computed and sent once."""

    def __init__(self, flush) -> None:
        super().__init__()
        self._flush = flush

    def add(self, *args: Any, **kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        self._flush()


class PuljemonitorApplication(Application):
    """Quix's application with the worker told about rebalances (its in-memory caches of
    state must not outlive the partitions they came from), and commits paced by their cost."""

    worker: PipelineWorker

    def __init__(self, *, commit_interval_max: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Why the private attribute: Quix builds its processing context in __init__ and hands
        # it to every dataframe made afterwards; the paced one must replace it before those.
        self._processing_context = PacedProcessingContext.replacing(self._processing_context, commit_interval_max)

    def _on_assign(self, consumer, topic_partitions) -> None:
        super()._on_assign(consumer, topic_partitions)
        self.worker.on_partitions_changed()

    def _on_revoke(self, consumer, topic_partitions) -> None:
        super()._on_revoke(consumer, topic_partitions)  # commits first: the sinks flush
        self.worker.on_partitions_changed()

    def _on_lost(self, consumer, topic_partitions) -> None:
        super()._on_lost(consumer, topic_partitions)
        self.worker.on_partitions_changed()


class PipelineWorker:
    """Builds the Quix application and its three stages for one deployment (one rule variant)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        config = pools.configuration()
        (self.pool,) = config.pools.values()  # the stages fold one monthly pool (CitizenFold)
        self.pools = pools.pools()
        self.rules = pools.Rules(settings.count_social_frikort)
        self.citizens = CitizenStore(self.pool, self.rules, list(config.period_pools.values()))
        self.totals: dict[str, Totals | PeriodTotals] = {}
        self.totals_dirty: dict[str, set] = {}
        self.municipalities_dirty: dict[tuple[str, str], tuple[CountsUpdate, set[int]]] = {}
        self.app = self._application()
        self.app.worker = self
        self.outbox = Outbox(self.app)
        self._build()

    # ---------------------------------------------------------------- wiring
    def _application(self) -> PuljemonitorApplication:
        s = self.settings
        return PuljemonitorApplication(
            broker_address=s.broker,
            consumer_group=s.group,
            processing_guarantee=s.processing_guarantee,
            state_dir=str(Path(s.state_dir).absolute()),
            auto_offset_reset="earliest",
            commit_interval=s.commit_interval,
            commit_interval_max=s.commit_interval_max,
            loglevel=None,  # our logging configuration, with CPR redaction (run())
            # A killed or paused worker's partitions move on after 10 s; after an outage the
            # clients retry every second at most (librdkafka's default back-off grows to 10 s).
            consumer_extra_config={
                "group.instance.id": instance_id(s),
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 1_000,
                **_RECONNECT,
            },
            producer_extra_config={
                "linger.ms": 5,
                "message.max.bytes": 8 * 1024 * 1024,
                # A dead worker's open transaction blocks its partitions' next owner (offsets
                # are fetched "stable") until the broker aborts it: after 10 s, not librdkafka's 60.
                "transaction.timeout.ms": 10_000,
                **_transactional_id(s),
                **_RECONNECT,
            },
        )

    def _topic(self, name: str, partitions: int, compacted: bool = False):
        extra = {"cleanup.policy": "compact"} if compacted else {}
        config = TopicConfig(
            num_partitions=partitions, replication_factor=self.settings.replication, extra_config=extra
        )
        return self.app.topic(
            name, key_deserializer="bytes", value_deserializer="bytes", key_serializer="bytes",
            value_serializer="bytes", config=config,
        )  # fmt: skip

    def _build(self) -> None:
        s, n = self.settings, self.settings.partitions
        events = self._topic(s.events_topic, n)
        statuses = self._topic(s.statuses_topic, n)
        counts = self._topic(s.counts_topic, 1)
        for name, partitions, compacted in (
            (s.feed_topic, n, True),
            (s.rejected_topic, 1, False),
            (s.intake_topic, 1, True),
        ):
            self._topic(name, partitions, compacted)  # created with the others; only produced to

        citizens = self.app.dataframe(events)
        self._citizens_sdf = citizens
        citizens.apply(self.on_event, stateful=True, metadata=True).sink(CitizenSink(self))

        municipalities = self.app.dataframe(statuses)
        municipalities.apply(self.on_batch, stateful=True, metadata=True).sink(FlushSink(self.flush_municipalities))

        totals = self.app.dataframe(counts)
        self._totals_sdf = totals
        totals.apply(self.on_counts, stateful=True, metadata=True).sink(FlushSink(self.flush_totals))

    def end_offset(self, topic: str, partition: int) -> int:
        """The partition's high watermark as last seen by the consumer (no request)."""
        from confluent_kafka import TopicPartition

        try:
            _, high = self.app._consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)  # noqa: SLF001
        except Exception:  # not fetched yet
            return -1
        return high

    def on_partitions_changed(self) -> None:
        self.citizens.forget()
        self.totals = {}
        self.totals_dirty = {}
        self.municipalities_dirty = {}
        self.outbox.forget()

    # ---------------------------------------------------------------- stage 1
    def on_event(self, value: bytes | None, key: bytes | None, timestamp: int, headers: Any, state) -> FoldResult:
        result = fold_step(self.citizens, state, key, value)
        if result.outcome is Outcome.REJECTED:
            ctx = message_context()
            letter = dead_letter(result.reason, value, key, ctx.topic, ctx.partition, ctx.offset)
            self.outbox.send(
                self.settings.rejected_topic, dead_letter_key(ctx.topic, ctx.partition, ctx.offset), letter
            )
        return result

    def checkpoint(self) -> object:
        """The open checkpoint (a new one after every commit)."""
        return self._citizens_sdf.processing_context.checkpoint

    def intake_state(self, partition: int):
        """The accounting's state in the citizens stage's store partition ``partition``."""
        return self._partition_state(self._citizens_sdf, partition, _INTAKE_PREFIX)

    @staticmethod
    def _partition_state(sdf, partition: int, prefix: bytes):
        """A state under ``prefix`` in the store partition of the current message (how Quix's
        own stateful wrapper builds the key's state, ``dataframe.py:_as_stateful``)."""
        transaction = sdf.processing_context.checkpoint.get_store_transaction(
            stream_id=sdf.stream_id, partition=partition
        )
        return transaction.as_state(prefix=prefix)

    # ---------------------------------------------------------------- stage 2
    def on_batch(self, value: bytes, key: bytes, timestamp: int, headers: Any, state) -> None:
        batch = batch_decoder.decode(value)
        counts, changed = apply_batch(state, batch)
        if changed:
            key = (batch.pool, batch.municipality)
            held = self.municipalities_dirty.get(key)
            self.municipalities_dirty[key] = (counts, changed | (held[1] if held else set()))

    def flush_municipalities(self) -> None:
        """Each municipality's changed months of the commit, once, and its counts for the totals."""
        dirty, self.municipalities_dirty = self.municipalities_dirty, {}
        computed_at = now()
        for (name, code), (counts, months) in sorted(dirty.items()):
            pool = self.pools[name]
            for month in sorted(months):
                if isinstance(pool, PeriodPool):
                    figures = period_figures(counts.months.get(month, {}), pool)
                else:
                    figures = municipality_figures(counts, month, pool)
                record = self._record(
                    pool, "municipality", code, municipality_name(code), month, counts.version, figures, computed_at
                )
                self.outbox.send_figures(self.settings.feed_topic, record)
            self.outbox.send(self.settings.counts_topic, batch_key(name, code), encode(counts))

    # ---------------------------------------------------------------- stage 3
    def on_counts(self, value: bytes, key: bytes, timestamp: int, headers: Any, state) -> None:
        update = counts_decoder.decode(value)
        totals = self.totals.get(update.pool)
        if totals is None:
            totals = self.totals[update.pool] = totals_of(self.pools[update.pool])
            totals.restore(
                lambda code: self._partition_state(self._totals_sdf, 0, batch_key(update.pool, code)).get_bytes(
                    b"counts"
                )
            )
            if not totals.versions:  # the pool's first counts: every record has figures, zeros too
                self.totals_dirty.setdefault(update.pool, set()).update(totals.everything())
        stored = state.get_bytes(b"counts")
        if stored is None or counts_decoder.decode(stored).version <= update.version:
            state.set_bytes(b"counts", value)
        self.totals_dirty.setdefault(update.pool, set()).update(totals.apply(update))

    def flush_totals(self) -> None:
        """The participant, project and nation records the commit's counts changed, each once."""
        dirty, self.totals_dirty = self.totals_dirty, {}
        computed_at = now()
        for name, keys in sorted(dirty.items()):
            totals = self.totals.get(name)
            if totals is None:
                continue
            for figures in totals.figures(keys):
                participant = totals.participants.get(figures.participant) if figures.participant else None
                code = participant_code(participant) if participant else None
                record = self._record(
                    totals.pool, figures.level, code, figures.participant, figures.month, figures.version,
                    figures.figures, computed_at,
                )  # fmt: skip
                self.outbox.send_figures(self.settings.feed_topic, record)

    def _record(
        self,
        pool,
        level: str,
        code: str | None,
        name: str | None,
        month: Month,
        version: int,
        figures,
        computed_at: str,
    ) -> FeedRecord | PeriodFeedRecord:
        common = {
            "pool": pool.name, "level": level, "code": code, "name": name, "month": format_month(month),
            "count_social_frikort": self.settings.count_social_frikort, "version": version,
            "computed_at": computed_at,
        }  # fmt: skip
        if isinstance(figures, PeriodFigures):
            period = period_months(pool, month)
            span = PeriodSpan(first=format_month(period[0]), last=format_month(period[-1]))
            return PeriodFeedRecord(**common, period=span, figures=figures.aggregate, indicators=figures.indicators)
        if not isinstance(figures, Aggregate):  # a participant's result
            common |= {"achieved": figures.achieved, "best_month": figures.best_month, "best_share": figures.best_share}
            figures = figures.aggregate
        return FeedRecord(**common, figures=figures)

    # ---------------------------------------------------------------- running
    def run(self) -> None:
        Path(self.settings.state_dir).mkdir(parents=True, exist_ok=True)
        self.app.run()


def instance_id(settings: Settings) -> str:
    """The worker's static member id: the same for every run on this host and state dir, so a
    worker that restarts, or whose session expired in a broker outage, takes its own place in
    the group at once instead of waiting for the coordinator to expire its old membership.
    Two workers never share one (each needs its own state dir)."""
    place = f"{socket.gethostname()}:{Path(settings.state_dir).absolute()}"
    return f"{settings.group}-{hashlib.sha256(place.encode()).hexdigest()[:12]}"


def _transactional_id(settings: Settings) -> dict[str, str]:
    """The worker's own ``transactional.id`` (Quix picks a random one per application).

    Why: a worker killed mid-transaction leaves it open until the broker aborts it (up to
    ``transaction.timeout.ms`` plus the broker's cleanup interval), and consumers reading
    committed records (Quix's changelog recovery among them) see no further than its start.
    As a static member, the restarted worker gets its partitions back at once, commits after
    that open transaction and, killed again, came back to find its stored changelog offset
    beyond that point: Quix refused to start (``InvalidStoreChangelogOffset``; seen once in the
    SIGKILL test under CPU load). With the same id, the restarted worker's producer aborts its
    predecessor's transaction when it starts, before any partition is assigned.
    """
    if settings.processing_guarantee != "exactly-once":
        return {}
    return {"transactional.id": instance_id(settings)}


class DeploymentMismatch(ValueError):
    """This worker would join a deployment that computes another rule variant."""


def check_deployment(settings: Settings) -> None:
    """Refuse to write into topics whose intake records say another rule variant computed them:
    one deployment, one variant (the feed's records would otherwise mix two rule sets)."""
    from streams.progress import intake_records

    theirs = {record["count_social_frikort"] for record in intake_records(settings)}
    if theirs - {settings.count_social_frikort}:
        other = variant_name(not settings.count_social_frikort)
        raise DeploymentMismatch(
            f"the topic {settings.intake_topic} was written by a deployment with the {other} rule variant; "
            f"this worker computes the {variant_name(settings.count_social_frikort)} variant. Use other topic "
            "names (PULJEMONITOR_*_TOPIC) for a second variant, or the same --count-social-frikort setting"
        )


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run the worker in this process until SIGTERM/SIGINT (a clean stop commits) or a kill.

    An unreachable broker raises :class:`streams.admin.BrokerUnreachable` within seconds and a
    deployment of the other rule variant :class:`DeploymentMismatch`, before anything starts.
    """
    from streams.admin import reach

    reach(settings.broker)  # before logging is configured: the operator gets its one line, not librdkafka's
    check_deployment(settings)
    configure_logging(loglevel)
    Restarts(settings).run()


class Restarts:
    """Runs the pipeline, and builds it anew after a broker outage ended it.

    Why this exists: Quix Streams ends ``Application.run()`` with an exception when a
    transaction cannot be committed or aborted while the broker is away (an outage longer
    than ``transaction.timeout.ms``), and its producer cannot be used again. Nothing is lost
    (the transaction is aborted; state and offsets are as of the last commit), so the worker
    waits until the broker answers and starts a fresh application on the same state dir, as a
    supervisor would, without the cost of a new process. An error that is not about the
    broker, or more than :attr:`limit` restarts in :attr:`window` seconds, still ends it.
    """

    limit = 5
    window = 300.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = False
        self.worker: PipelineWorker | None = None
        self.restarted: list[float] = []

    def stop(self, *_: object) -> None:
        self.stopping = True
        if self.worker is not None:
            self.worker.app.stop()

    def run(self) -> None:
        from confluent_kafka import KafkaException
        from quixstreams.kafka.exceptions import BaseKafkaException

        signal.signal(signal.SIGTERM, self.stop)
        while True:
            self.worker = PipelineWorker(self.settings)
            try:
                self.worker.run()
                return
            # Quix wraps some of librdkafka's errors in its own classes: in an outage, records of
            # the open transaction that timed out end the run as KafkaProducerDeliveryError, and
            # "all brokers are down" as KafkaConsumerException.
            except (KafkaException, BaseKafkaException) as error:
                if self.stopping or not self._may_restart():
                    raise
                log.warning(
                    "the pipeline stopped on a Kafka error (%s); starting it again once the broker answers", error
                )
                self._wait_for_broker()

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self.restarted = [t for t in self.restarted if now - t < self.window] + [now]
        return len(self.restarted) <= self.limit

    def _wait_for_broker(self) -> None:
        from streams.admin import BrokerUnreachable, reach

        while not self.stopping:
            try:
                reach(self.settings.broker)
                return
            except BrokerUnreachable:
                time.sleep(0.5)
