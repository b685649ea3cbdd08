"""``serve --follow``: appended lines are absorbed, the figures they change are pushed over
Server-Sent Events to each subscriber as its role may see them, and a subscriber resumes
with Last-Event-ID. The incremental counts equal a fresh replay of the longer log.
"""

from __future__ import annotations

import gzip
import json
import queue
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.aggregates import count_statuses
from puljemonitor.replay import Replay
from puljemonitor.server.access import Role, add_token
from puljemonitor.server.logsource import LogSource
from puljemonitor.server.source import pool_months
from schemas import pools
from schemas.pools import Rules
from tests.builders import History, demo_log
from tests.puljemonitor.serve_world import (
    RECORDED,
    A,
    B,
    followed,
    nonzero,
    pseudonyms,
    running_server,
    world,
    write_log,
)

P = "/api/v1/pools/afklaringspuljen"


class Subscriber:
    """An SSE client in a thread: events land in a queue the test waits on."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue = queue.Queue()
        self.raw: list[str] = []
        self.status: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=60)) as client, client.stream("GET", url, headers=headers) as r:
            self.status = r.status_code
            event: dict[str, str] = {}
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                self.raw.append(line)
                if line == "":
                    if event:
                        self.events.put(event)
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    event[name] = value[1:] if value.startswith(" ") else value

    def next(self, timeout: float = 5.0) -> dict[str, str]:
        return self.events.get(timeout=timeout)

    def next_of(self, kind: str, timeout: float = 5.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.01, deadline - time.monotonic()))
            if event.get("event") == kind:
                return event

    def close(self) -> None:
        self._stop.set()


def append(log, *lines: bytes) -> None:
    with open(log, "ab") as f:
        f.write(b"".join(line + b"\n" for line in lines))


@pytest.fixture
def served_world(tmp_path):
    log = write_log(tmp_path / "log.jsonl")
    tokens = tmp_path / "tokens.txt"
    _, a = add_token(tokens, Role(codes=frozenset({A})))
    _, b = add_token(tokens, Role(codes=frozenset({B})))
    return log, tokens, {"A": {"Authorization": f"Bearer {a}"}, "B": {"Authorization": f"Bearer {b}"}}


def clarified(citizen: str, event_id: str) -> bytes:
    """cit-101-6 (kontanthjælp) gets førtidspension from 2021-09-01, recorded in December 2021."""
    h = History(citizen, municipality=None)
    h.add("benefit_changed", at="2021-09-01", benefit="foertidspension", id=event_id,
          recorded="2021-12-20T12:00:00+01:00")  # fmt: skip
    return h.lines()[0]


def test_an_appended_line_reaches_a_subscriber_of_its_municipality_within_two_seconds_and_b_sees_no_citizen(
    served_world,
):
    log, tokens, headers = served_world
    with running_server(log, "--follow", tokens=tokens) as (base, _proc):
        sub_a = Subscriber(f"{base}/api/v1/changes", headers["A"])
        sub_b = Subscriber(f"{base}/api/v1/changes", headers["B"])
        anon = Subscriber(f"{base}/api/v1/changes", {})
        for sub in (sub_a, sub_b, anon):
            assert sub.next_of("hello")["id"].endswith("-0")
        before = httpx.get(f"{base}{P}/reports/2021-09/municipalities/{A}", headers=headers["A"]).json()["aggregate"]
        assert before["positive"] == 4
        started = time.monotonic()
        append(log, clarified("cit-101-6", "late-1"))
        got_a = sub_a.next_of("figures", timeout=2.0)
        elapsed = time.monotonic() - started
        assert elapsed < 2.0
        change = json.loads(got_a["data"])
        figure = next(
            f for f in change["figures"] if (f["scope"], f["key"], f["month"]) == ("municipality", A, "2021-09")
        )
        assert figure["aggregate"]["positive"] == 5 and figure["aggregate"]["suppressed"] == []
        assert [c["pseudonym"] for c in change["citizens"]] == ["cit-101-6"]
        assert change["citizens"][0]["statuses"]["2021-09"] == "foertidspension"
        assert change["input"]["lines"] == len(log.read_bytes().splitlines())
        for sub in (sub_b, anon):
            other = sub.next_of("figures", timeout=2.0)
            data = json.loads(other["data"])
            assert data["citizens"] == [] and "cit-101" not in other["data"]
            public = next(
                f for f in data["figures"] if (f["scope"], f["key"], f["month"]) == ("municipality", A, "2021-09")
            )
            # now 5 positive: shown to all; exempt 2 stays hidden, and measured with it
            assert public["aggregate"]["positive"] == 5 and public["aggregate"]["exempt"] is None
        after = httpx.get(f"{base}{P}/reports/2021-09/municipalities/{A}", headers=headers["A"]).json()["aggregate"]
        assert after["positive"] == 5
        published = httpx.get(f"{base}{P}/reports/2021-09?view=published", headers=headers["A"]).json()
        assert published["municipalities"][A]["positive"] == 3  # recorded after 2021-12-01: not as published
        for sub in (sub_a, sub_b, anon):
            sub.close()


def test_a_subscriber_resumes_with_last_event_id_and_a_stale_id_gets_a_reset(served_world):
    log, tokens, headers = served_world
    with running_server(log, "--follow", tokens=tokens) as (base, _proc):
        first = Subscriber(f"{base}/api/v1/changes", headers["A"])
        first.next_of("hello")
        append(log, clarified("cit-101-6", "late-1"))
        seen = first.next_of("figures", timeout=3)
        first.close()
        append(log, clarified("cit-101-7", "late-2"))
        time.sleep(0.8)
        append(log, clarified("cit-101-8", "late-3"))
        deadline = time.monotonic() + 5
        while httpx.get(f"{base}/healthz").json()["version"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        resumed = Subscriber(f"{base}/api/v1/changes", {**headers["A"], "Last-Event-ID": seen["id"]})
        missed = [resumed.next_of("figures", timeout=3) for _ in range(2)]
        epoch, seq = seen["id"].split("-")
        assert [e["id"] for e in missed] == [f"{epoch}-{int(seq) + 1}", f"{epoch}-{int(seq) + 2}"]
        citizens = [json.loads(e["data"])["citizens"][0]["pseudonym"] for e in missed]
        assert citizens == ["cit-101-7", "cit-101-8"]
        resumed.close()
        stale = Subscriber(f"{base}/api/v1/changes", {**headers["A"], "Last-Event-ID": "0000dead-1"})
        assert stale.next()["event"] == "reset"
        stale.close()
        bad = httpx.get(f"{base}/api/v1/changes", headers={"Authorization": "Bearer pm1.000000000000.x"})
        assert bad.status_code == 401


def test_following_keeps_the_counts_equal_to_a_fresh_replay_of_the_longer_log(tmp_path):
    lines = demo_log(tmp_path)
    half = len(lines) // 2
    changes = []
    cuts = [0, *range(half, len(lines), 97), len(lines)]  # batches that split citizens' histories
    source = followed(tmp_path / "follow.jsonl", lines, cuts, changes.append)
    pool = pools.pool("afklaringspuljen")
    fresh = Replay(quiet=True)
    fresh.ingest_lines(lines)
    expected = count_statuses(fresh.store.citizens(), pool=pool, months=pool_months(pool), rules=Rules())

    assert nonzero(source.tallies(pool, Rules(), None)) == nonzero(expected)
    assert source.counts() == fresh.counts
    assert len(changes) == source.version == len(range(half, len(lines), 97))
    assert all(c.keys["afklaringspuljen"] for c in changes[:3])
    touched = Counter(c.municipality for change in changes for c in change.citizens)
    assert touched  # the demo's later lines move citizens
    source.close()


def _property_lines() -> list[bytes]:
    """The serve world, a late clarification, and a retraction of a9's late ressourceforløb."""
    histories = world()
    late = histories[A][8].events[-1]["id"]
    retraction = History("cit-101-9", municipality=None)
    retraction.add("retracted", event=late, recorded="2022-02-01T12:00:00+01:00")
    lines = [line for hs in histories.values() for h in hs for line in h.lines()]
    return lines + [clarified("cit-101-6", "late-1"), *retraction.lines()]


PROPERTY_LINES = _property_lines()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_duplicates_and_batches_of_appended_lines_give_the_counts_of_one_replay(data):
    lines = data.draw(st.permutations(PROPERTY_LINES))
    lines = lines + data.draw(st.lists(st.sampled_from(PROPERTY_LINES), max_size=6))  # duplicates
    cuts = sorted(data.draw(st.sets(st.integers(0, len(lines)), max_size=5)) | {0, len(lines)})
    pool = pools.pool("afklaringspuljen")
    with tempfile.TemporaryDirectory() as tmp:
        source = followed(Path(tmp) / "log.jsonl", lines, cuts)
        fresh = Replay(quiet=True)
        fresh.ingest_lines(lines)
        expected = count_statuses(fresh.store.citizens(), pool=pool, months=pool_months(pool), rules=Rules())
        assert nonzero(source.tallies(pool, Rules(), None)) == nonzero(expected)
        assert source.counts() == fresh.counts
        source.close()


def test_a_gzip_log_is_followed_through_appended_gzip_members(tmp_path):
    log = tmp_path / "log.jsonl.gz"
    h = History("cit-101-1", A)
    h.add("benefit_changed", at="2020-06-01", benefit="kontanthjaelp", recorded=RECORDED)
    log.write_bytes(gzip.compress(b"\n".join(h.lines()) + b"\n"))
    source = LogSource(log, follow=True)
    source.load()
    assert source.counts().applied == 2
    with open(log, "ab") as f:
        f.write(gzip.compress(clarified("cit-101-1", "late-1") + b"\n"))
    change = source.absorb()
    assert change is not None and source.counts().applied == 3
    assert [c.citizen for c in change.citizens] == ["cit-101-1"]
    assert source.absorb() is None and source.ready()
    source.close()


def test_the_pseudonyms_of_b_never_reach_a_subscriber_of_a(served_world):
    log, tokens, headers = served_world
    with running_server(log, "--follow", tokens=tokens) as (base, _proc):
        sub_a = Subscriber(f"{base}/api/v1/changes", headers["A"])
        sub_a.next_of("hello")
        append(log, clarified(pseudonyms(B)[1], "late-b"))
        data = sub_a.next_of("figures", timeout=3)["data"]
        assert json.loads(data)["citizens"] == []
        assert not any(p in data for p in pseudonyms(B))
        sub_a.close()
