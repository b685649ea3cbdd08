"""A wrong broker address ends ``worker``, ``produce``, ``compare``, ``status``, ``serve`` and ``report --log kafka://``
with one line and exit 3.

Nothing listens on port 1, so no broker is needed. The commands run as real processes (the
exit code and stderr an operator sees, librdkafka's own stderr included), side by side, and
each must be done within the 10 s operators are promised.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys

from puljemonitor.exit_codes import BROKER_UNREACHABLE, DIFFERENCES

BAD = "127.0.0.1:1"


def test_an_unreachable_broker_gives_one_line_and_its_own_exit_code_within_10_s(tmp_path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"id": "e1", "citizen": "c1"}\n')
    commands = {
        "produce": ["produce", str(log), "--broker", BAD],
        "compare": ["compare", "--broker", BAD],
        "report": ["report", "--log", f"kafka://{BAD}/events", "--month", "2021-09"],
        "worker": ["worker", "--broker", BAD, "--state-dir", str(tmp_path / "state")],
        "status": ["status", "--broker", BAD],
        "serve": ["serve", "--broker", BAD, "--port", "0", "--tokens", str(tmp_path / "tokens.txt")],
    }
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "puljemonitor", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, args in commands.items()
    }
    finished = {name: (process.communicate(timeout=10), process.returncode) for name, process in running.items()}

    for name, ((stdout, stderr), code) in finished.items():
        assert code == BROKER_UNREACHABLE != DIFFERENCES, (name, stderr)
        assert stdout == "", name
        [line] = stderr.splitlines()
        pattern = (
            rf"Error: no Kafka broker answered at {BAD} within \d s: Connect to ipv4#{BAD} failed: Connection refused.*"
        )
        assert re.fullmatch(pattern, line), name


def test_a_host_that_does_not_resolve_is_reported_with_the_resolver_reason() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "puljemonitor", "compare", "--broker", "no-such-host.invalid:9092"],
        capture_output=True, text=True, timeout=10,
    )  # fmt: skip

    assert result.returncode == BROKER_UNREACHABLE
    [line] = result.stderr.splitlines()
    assert re.fullmatch(
        r"Error: no Kafka broker answered at no-such-host.invalid:9092 within \d s: Failed to resolve .*", line
    )


def test_an_address_that_accepts_connections_but_never_answers_gives_up_after_5_s() -> None:
    """Not a broker (or a stuck one): the connection opens, no answer comes, the waiting ends."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        result = subprocess.run(
            [sys.executable, "-m", "puljemonitor", "compare", "--broker", address],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip

    assert result.returncode == BROKER_UNREACHABLE
    [line] = result.stderr.splitlines()
    assert re.fullmatch(rf"Error: no Kafka broker answered at {address} within 5 s: .+", line)
