"""Topic administration the worker needs before it starts: topics with the right partitions."""

from __future__ import annotations


def ensure_topic(broker: str, topic: str, partitions: int, compacted: bool = False) -> int:
    """Create ``topic`` unless it exists (a broker's auto-creation would give it 1 partition);
    its partition count."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=broker, client_id="puljemonitor-admin")
    try:
        if topic not in admin.list_topics():
            configs = {"cleanup.policy": "compact"} if compacted else {}
            try:
                admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs)], validate_only=False)
            except TopicAlreadyExistsError:
                pass
        [described] = admin.describe_topics([topic])
        return len(described["partitions"]) or partitions
    finally:
        admin.close()
