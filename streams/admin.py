"""How our tools reach a broker: a quiet client configuration, the one reachability check, topic admin.

Every Kafka client in the project is confluent-kafka (librdkafka), configured by
:func:`client_config`. librdkafka writes each failed connection attempt to stderr by itself,
forever; here its log lines go to the ``puljemonitor.kafka`` logger (silent unless the program
configures logging) and its error events to an :class:`Errors` that keeps the latest one, so a
command prints one line of its own instead of a stream. :func:`reach` is the only place that
decides a broker cannot be reached (:class:`BrokerUnreachable`, within :data:`REACH_SECONDS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata, ConfigResource, NewTopic, ResourceType

REACH_SECONDS = 5.0
"""How long a tool waits for a broker's first answer before giving up (operators are promised 10 s)."""
HOPELESS_SECONDS = 1.0
"""How long a tool keeps trying an address that refuses connections or does not resolve."""

LOG = logging.getLogger("puljemonitor.kafka")
LOG.addHandler(logging.NullHandler())  # no handler anywhere: silence, not logging's last-resort stderr


class BrokerUnreachable(ConnectionError):
    """No broker answered at the address given (wrong host or port, broker down)."""


class TopicMissing(LookupError):
    """The topic asked for does not exist on the broker."""


class Errors:
    """librdkafka's error events for one client, kept instead of printed (its ``error_cb``)."""

    def __init__(self) -> None:
        self.last: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        # _ALL_BROKERS_DOWN says less than the transport or resolve error before it.
        if self.last is None or error.code() != KafkaError._ALL_BROKERS_DOWN:
            self.last = error

    @property
    def reason(self) -> str | None:
        return _strip_prefix(self.last.str()) if self.last is not None else None

    @property
    def hopeless(self) -> bool:
        """The address does not resolve, or every broker refused the connection: waiting longer
        only helps a broker that is starting; an address that stays silent waits the timeout."""
        return self.last is not None and self.last.code() in (KafkaError._RESOLVE, KafkaError._TRANSPORT)


def _strip_prefix(text: str) -> str:
    """librdkafka prefixes a broker's errors with ``HOST:PORT/bootstrap: ``; the caller names the broker."""
    head, sep, rest = text.partition(": ")
    return rest if sep and "/" in head else text


def client_config(broker: str, errors: Errors | None = None, **settings) -> dict:
    """The configuration every client starts from: bootstrap address, quiet logging, kept errors."""
    return {
        "bootstrap.servers": broker,
        "logger": LOG,
        "error_cb": errors if errors is not None else Errors(),
        "log.connection.close": False,  # an idle connection closed by the broker is not news
        **settings,
    }


def reach(broker: str, timeout: float = REACH_SECONDS) -> tuple[AdminClient, ClusterMetadata]:
    """An admin client of ``broker`` and the cluster's metadata, or :class:`BrokerUnreachable`:
    after :data:`HOPELESS_SECONDS` when connections are refused or the name does not resolve,
    after ``timeout`` seconds when the address stays silent."""
    errors = Errors()
    try:
        admin = AdminClient(client_config(broker, errors))
    except KafkaException as exc:  # e.g. an empty address
        raise BrokerUnreachable(f"cannot use Kafka broker address {broker!r}: {exc.args[0].str()}") from None
    began = time.monotonic()
    deadline = began + timeout
    while True:
        try:
            return admin, admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as exc:
            failure = exc.args[0].str()
        admin.poll(0)  # serve error_cb
        if (errors.hopeless and time.monotonic() >= began + HOPELESS_SECONDS) or time.monotonic() >= deadline:
            waited = f" within {time.monotonic() - began:.0f} s"
            raise BrokerUnreachable(f"no Kafka broker answered at {broker}{waited}: {errors.reason or failure}")


def topic_partitions(metadata: ClusterMetadata, topic: str) -> list[int]:
    """The partition numbers of ``topic`` in ``metadata``; empty when it does not exist (yet)."""
    described = metadata.topics.get(topic)
    if described is None or described.error is not None:
        return []
    return sorted(described.partitions)


def ensure_topic(
    broker: str, topic: str, partitions: int, compacted: bool = False, config: Mapping[str, str] | None = None
) -> int:
    """Create ``topic`` unless it exists (a broker's auto-creation would give it 1 partition);
    its partition count. ``config`` adds topic settings (e.g. ``max.message.bytes``)."""
    admin, metadata = reach(broker)
    existing = topic_partitions(metadata, topic)
    if existing:
        return len(existing)
    configs = {"cleanup.policy": "compact"} if compacted else {}
    configs.update(config or {})
    [future] = admin.create_topics([NewTopic(topic, partitions, 1, config=configs)]).values()
    try:
        future.result(timeout=30)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
    deadline = time.monotonic() + 10  # metadata reaches every broker a moment after creation
    while time.monotonic() < deadline:
        created = topic_partitions(admin.list_topics(timeout=5), topic)
        if created:
            return len(created)
        time.sleep(0.1)
    return partitions


def max_message_bytes(broker: str, topic: str) -> int:
    """The largest record batch ``topic`` accepts (its ``max.message.bytes``, the broker's default included)."""
    admin, _ = reach(broker)
    [future] = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)]).values()
    return int(future.result(timeout=30)["max.message.bytes"].value)
