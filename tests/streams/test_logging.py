"""The worker's logs cannot carry a CPR number: its log handlers redact every record."""

import logging

from faust.worker import Worker

from schemas.cpr import RedactCpr
from streams.app import redacting


def test_the_worker_installs_the_filter_on_every_root_handler():
    logger, handler = logging.Logger("root-like"), logging.StreamHandler()
    logger.addHandler(handler)
    worker = object.__new__(redacting(Worker))
    worker.on_setup_root_logger(logger, logging.INFO)
    worker.on_setup_root_logger(logger, logging.INFO)  # once is enough
    assert [type(f) for f in handler.filters] == [RedactCpr]
