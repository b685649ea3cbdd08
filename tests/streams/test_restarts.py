"""Which errors end the pipeline for good and which build it anew (``streams.worker.Restarts``).

The pipeline here is a stand-in that raises what Quix Streams raised in ``bench/outage.py``
runs; the outage itself, on a real broker, is ``tests/kafka/test_live_pipeline.py``.
"""

import signal

import pytest
from confluent_kafka import KafkaError, KafkaException
from quixstreams.kafka.exceptions import KafkaConsumerException, KafkaProducerDeliveryError

from streams import settings, worker
from streams.worker import Restarts


@pytest.fixture
def pipelines(monkeypatch):
    """The errors each new pipeline's run raises, in order (None: it ends cleanly)."""
    planned: list[BaseException | None] = []
    built: list[object] = []

    class Pipeline:
        def __init__(self, _settings) -> None:
            built.append(self)

        def run(self) -> None:
            error = planned[len(built) - 1]
            if error is not None:
                raise error

    monkeypatch.setattr(worker, "PipelineWorker", Pipeline)
    monkeypatch.setattr(Restarts, "_wait_for_broker", lambda self: None)
    handler = signal.getsignal(signal.SIGTERM)
    yield planned, built
    signal.signal(signal.SIGTERM, handler)


def restarts() -> Restarts:
    return Restarts(settings.load({}, environ={}))


@pytest.mark.parametrize(
    "error",
    [
        KafkaException(KafkaError(KafkaError._TIMED_OUT)),
        KafkaProducerDeliveryError(KafkaError(KafkaError._MSG_TIMED_OUT)),
        KafkaConsumerException(KafkaError(KafkaError._ALL_BROKERS_DOWN)),
    ],
    ids=["librdkafka", "quix-delivery-timeout", "quix-brokers-down"],
)
def test_a_kafka_error_in_any_wrapping_builds_the_pipeline_again(pipelines, error):
    planned, built = pipelines
    planned += [error, None]
    restarts().run()
    assert len(built) == 2


def test_an_error_that_is_not_about_kafka_ends_the_worker(pipelines):
    planned, built = pipelines
    planned += [ValueError("a bug"), None]
    with pytest.raises(ValueError):
        restarts().run()
    assert len(built) == 1


def test_more_restarts_than_the_limit_end_the_worker(pipelines):
    planned, built = pipelines
    planned += [KafkaException(KafkaError(KafkaError._TIMED_OUT))] * (Restarts.limit + 1) + [None]
    with pytest.raises(KafkaException):
        restarts().run()
    assert len(built) == Restarts.limit + 1
