"""``serve --broker``: servers following the events topic answer as the replay of that topic does
(both pools), side by side, and push a new event to its municipality's subscribers within 2 s, never to
another municipality's."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import httpx2 as httpx
import pytest
from confluent_kafka import Producer

from puljemonitor.server.access import Role, add_token
from streams.admin import ensure_topic
from tests.builders import citizen_key
from tests.puljemonitor.serve_world import A, B, log_lines, running_server
from tests.puljemonitor.test_serve_live import Subscriber, clarified

P = "/api/v1/pools/afklaringspuljen"
BP = "/api/v1/pools/bir"


def _produce(bootstrap: str, topic: str, lines: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for line in lines:
        producer.produce(topic, key=citizen_key(line), value=line)
    assert producer.flush(30) == 0


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    name = f"events-serve-{uuid.uuid4().hex[:8]}"
    ensure_topic(kafka_bootstrap, name, 3)
    _produce(kafka_bootstrap, name, log_lines())
    return name


@pytest.fixture
def tokens(tmp_path):
    path = tmp_path / "tokens.txt"
    headers = {}
    for name, role in (("A", Role(codes=frozenset({A}))), ("B", Role(codes=frozenset({B}))), ("star", Role(star=True))):
        _, secret = add_token(path, role)
        headers[name] = {"Authorization": f"Bearer {secret}"}
    return path, headers


def _without_suppressed(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if k != "suppressed"}


def _unsuppressed(body):
    """An answer without the fields the API adds (its view, the suppressed lists)."""
    if isinstance(body, dict):
        return {k: _unsuppressed(v) for k, v in body.items() if k not in ("suppressed", "view")}
    return body


def _report(bootstrap: str, topic: str, *args: str) -> dict:
    cli = subprocess.run(
        [sys.executable, "-m", "puljemonitor", "report", "--log", f"kafka://{bootstrap}/{topic}", "--format", "json",
         *args],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(cli.stdout)


def test_two_servers_following_the_topic_answer_as_its_replay_and_push_a_new_event_to_its_municipality(
    kafka_bootstrap: str, topic: str, tokens
) -> None:
    path, headers = tokens
    follow = ("--broker", kafka_bootstrap, "--events-topic", topic)
    expected = _report(kafka_bootstrap, topic, "--month", "2021-09")
    expected_bir = _report(kafka_bootstrap, topic, "--pool", "bir", "--month", "2021-04")
    with running_server(None, *follow, tokens=path) as (one, _), running_server(None, *follow, tokens=path) as (two, _):
        for base in (one, two):
            star = httpx.get(f"{base}{P}/reports/2021-09", headers=headers["star"]).json()
            assert _without_suppressed(star["project"]) == expected["project"]
            assert {c: _without_suppressed(a) for c, a in star["municipalities"].items()} == expected["municipalities"]
            assert star["input"] == expected["input"]
            assert star["municipalities"][A]["positive"] == 4
            bir = httpx.get(f"{base}{BP}/reports/2021-04", headers=headers["star"]).json()
            assert _unsuppressed(bir) == expected_bir and bir["municipalities"][A]["target"] > 0
        sub_a = Subscriber(f"{one}/api/v1/changes", headers["A"])
        sub_b = Subscriber(f"{two}/api/v1/changes", headers["B"])
        for sub in (sub_a, sub_b):
            sub.next_of("hello")

        started = time.monotonic()
        _produce(kafka_bootstrap, topic, [clarified("cit-101-6", "late-1")])
        got_a = sub_a.next_of("figures", timeout=2.0)
        assert time.monotonic() - started < 2.0
        change = json.loads(got_a["data"])
        assert [c["pseudonym"] for c in change["citizens"]] == ["cit-101-6"]
        assert change["citizens"][0]["statuses"]["2021-09"] == "foertidspension"
        got_b = sub_b.next_of("figures", timeout=2.0)
        assert json.loads(got_b["data"])["citizens"] == [] and "cit-101" not in got_b["data"]
        for base in (one, two):
            now = httpx.get(f"{base}{P}/reports/2021-09/municipalities/{A}", headers=headers["A"]).json()
            assert now.get("aggregate", {}).get("positive") == 5, (base, now)
            assert httpx.get(f"{base}/readyz").status_code == 200
        for sub in (sub_a, sub_b):
            sub.close()


def test_a_topic_that_does_not_exist_is_one_line_and_the_usage_exit_code(kafka_bootstrap: str, tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "puljemonitor", "serve", "--broker", kafka_bootstrap, "--events-topic",
         "no-such-topic", "--port", "0", "--tokens", str(tmp_path / "tokens.txt")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line == f"Error: topic 'no-such-topic' does not exist on the Kafka broker at {kafka_bootstrap}"
