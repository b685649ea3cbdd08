"""The worker's logs cannot carry a CPR number, and an outage is not a flood (streams/logs.py)."""

import subprocess
import sys

PROGRAM = """
import logging
from streams.logs import configure_logging
configure_logging("info")
log = logging.getLogger("quixstreams.kafka.consumer")
log.warning("message from citizen %s rejected", "010190-1234")
for _ in range(500):
    log.error('Kafka consumer error: 1/1 brokers are down code="-187"')
log.info("Kafka consumer broker connectivity restored after 10.0s.")
"""


def test_the_worker_logging_redacts_cpr_numbers_and_logs_an_outage_once():
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True)
    lines = result.stderr.splitlines()
    assert "010190" not in result.stderr and "[CPR redacted]" in lines[0]
    assert sum("brokers are down" in line for line in lines) == 1
    assert "499 repeated warnings and errors were not logged" in lines[-1]
