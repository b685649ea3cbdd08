"""Fixtures giving tests a real Kafka broker, and the ``kafka`` marker.

Where the broker comes from, first that works:

1. ``PULJEMONITOR_KAFKA`` (a bootstrap address of a broker someone else runs);
2. a :class:`LocalKafka` from Maven Central jars (needs java + mvn);
3. a testcontainers ``KafkaContainer`` when a Docker engine answers.

When none works the tests skip locally, but fail when ``CI=true``: in CI a
missing broker must never turn into a quietly green run.

No ``__init__.py`` here on purpose (the project's rule for test dirs): with one,
pytest would import this directory as a package named ``kafka``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

import pytest
from broker import KafkaBrokerError, LocalKafka

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kafka: needs a real Kafka broker (tests/kafka)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, so mark only those under here.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.kafka)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Kafka is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"Kafka unavailable: {reason}")


def _container(stack: ExitStack) -> str:
    """Bootstrap address of a KRaft cp-kafka container (cp 7.9 = Kafka 3.9)."""
    import docker

    docker.from_env(timeout=5).ping()
    from testcontainers.community.kafka import KafkaContainer

    container = KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft()
    stack.callback(container.stop)
    container.start(timeout=180)
    return container.get_bootstrap_server()


@pytest.fixture(scope="session")
def _kafka() -> Iterator[tuple[str, LocalKafka | None]]:
    """(bootstrap, the LocalKafka if that is what runs it), once per session.

    A skip or failure raised here is cached by pytest for the whole session,
    so an unavailable broker costs one attempt, not one per test.
    """
    if external := os.environ.get("PULJEMONITOR_KAFKA"):
        yield external, None
        return
    reasons = []
    with ExitStack() as stack:
        local = LocalKafka()
        stack.callback(local.close)  # a failed start's log tail is in the error
        try:
            local.start()
        except KafkaBrokerError as exc:
            reasons.append(f"local jar broker: {exc}")
        else:
            yield local.bootstrap, local
            return
        try:
            bootstrap = _container(stack)
        except Exception as exc:  # no docker SDK, no engine, pull or start failure
            reasons.append(f"testcontainers: {type(exc).__name__}: {exc}")
        else:
            yield bootstrap, None
            return
    _unavailable("\n".join(reasons))


@pytest.fixture(scope="session")
def kafka_bootstrap(_kafka: tuple[str, LocalKafka | None]) -> str:
    """``host:port`` of a running broker, for any client."""
    return _kafka[0]


@pytest.fixture(scope="session")
def local_kafka(_kafka: tuple[str, LocalKafka | None]) -> LocalKafka:
    """The :class:`LocalKafka` itself, for tests that stop or restart the broker."""
    local = _kafka[1]
    if local is None:
        _unavailable("no local broker to restart, only an external one is running")
    return local
