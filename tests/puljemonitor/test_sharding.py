"""The replay split by citizen over processes (shards, and the forked workers of one replay's
projection) gives exactly what one process gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import puljemonitor.replay as replay_module
from projections.reports import history_months, published_cutoff
from puljemonitor.cli import main
from puljemonitor.replay import Replay
from puljemonitor.sharding import shard_of
from schemas import pools
from schemas.calendar import parse_month
from schemas.events import decode
from schemas.pools import Rules
from tests.builders import demo_log

ENROLLED = '"type":"enrolled","at":"2020-07-30","pool":"afklaringspuljen","municipality":"101"'


@pytest.mark.parametrize(
    "raw",
    [
        b'{"citizen":"abc","id":"1"}',
        b'{ "citizen" : "abc" }',
        b'{"citi\\u007aen":"abc","meta":{"citizen":"zzz"}}',
        b'{"meta":{"citizen":"zzz"},"citizen":"a\\u0062c"}',
    ],
)
def test_a_line_goes_to_the_shard_of_the_citizen_the_decoder_reads(raw):
    assert shard_of(raw, 1, 7) == shard_of(b'{"citizen":"abc"}', 2, 7)


def test_a_line_without_a_citizen_goes_by_its_number():
    assert [shard_of(b"{not json", n, 3) for n in (3, 4, 5)] == [0, 1, 2]
    assert shard_of(b'{"citizen":123}', 4, 3) == 1


def _adversarial() -> list[bytes]:
    """Lines that test the split: one citizen's events spelled three ways (duplicates and a
    conflict across spellings), lines without a citizen, a blank line."""
    lines = [
        f'{{"id":"e1","citizen":"c1","recorded":"2020-08-01T10:00:00+02:00",{ENROLLED}}}',
        f'{{"id":"e1","citi\\u007aen":"c1","recorded":"2020-08-01T10:00:00+02:00",{ENROLLED}}}',  # duplicate
        '{"id":"e2","citizen":"c\\u0031","recorded":"2021-01-01T10:00:00+01:00","type":"died","at":"2021-01-05"}',
        '{"id":"e2","citizen":"c1","recorded":"2021-01-01T10:00:00+01:00","type":"died","at":"2021-02-05"}',  # conflict
        "",
        "{not json",
        "[1, 2]",
        '{"id":"e3","citizen":12345,"recorded":"2021-01-01T10:00:00+01:00","type":"died","at":"2021-01-05"}',
    ]
    return [line.encode() for line in lines]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sharding")
    path = directory / "log.jsonl"
    path.write_bytes(b"\n".join(demo_log(directory) + _adversarial()) + b"\n")
    return path


def _cli(*args: str) -> tuple[str, str]:
    """``puljemonitor ARGS`` → (stdout, stderr). With ``--state`` in a process of its own, as an
    operator runs it. Why: shard processes forked from this test process, which other tests
    left with RocksDB handles and threads, each wait about 30 s at exit (a command started
    alone does not: ``report --jobs 3 --state`` takes about a second on the small demo log)."""
    if "--state" in args:
        done = subprocess.run([sys.executable, "-m", "puljemonitor", *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def _report(log, tmp_path, jobs: int, *extra: str) -> tuple[dict, bytes, str]:
    rejected = tmp_path / f"rejected-{jobs}.jsonl"
    args = ["report", "--log", str(log), "--month", "2021-09", "--format", "json"]
    stdout, stderr = _cli(*args, "--jobs", str(jobs), "--rejected", str(rejected), *extra)
    return json.loads(stdout), rejected.read_bytes(), stderr


@pytest.mark.parametrize("extra", [(), ("--as-published",), ("--count-social-frikort",)])
def test_two_and_three_shards_give_the_single_replays_report_rejections_and_messages(log, tmp_path, extra):
    single = _report(log, tmp_path, 1, *extra)
    assert single[0]["input"]["duplicates"] > 0 and single[0]["input"]["rejected"] > 4
    assert _report(log, tmp_path, 2, *extra) == single
    assert _report(log, tmp_path, 3, *extra) == single


def test_shards_with_rocksdb_state_give_the_same_report(log, tmp_path):
    memory = _report(log, tmp_path, 1)
    assert _report(log, tmp_path, 2, "--state", str(tmp_path / "state")) == memory


def test_the_citizen_router_and_the_decoder_agree_on_every_demo_line(log):
    for number, raw in enumerate(log.read_bytes().splitlines(), 1):
        try:
            citizen = decode(raw).citizen
        except ValueError:
            continue
        assert shard_of(raw, number, 5) == shard_of(json.dumps({"citizen": citizen}).encode(), 0, 5)


def _projection(log):
    replay = Replay(quiet=True)
    replay.ingest(str(log))
    pool = pools.pool("afklaringspuljen")
    return replay, pool, history_months(pool, parse_month("2021-09"))


@pytest.mark.parametrize("rules_and_cutoff", ["all data", "as published, social frikort counted"])
def test_a_projection_split_over_forked_workers_counts_what_one_process_counts(log, monkeypatch, rules_and_cutoff):
    replay, pool, months = _projection(log)
    rules, as_of = Rules(), None
    if rules_and_cutoff != "all data":
        rules, as_of = Rules(count_social_frikort=True), published_cutoff(pool, parse_month("2021-09"))
    replay.workers = 1
    single = replay.tallies(pool, months, rules, as_of)
    assert sum(sum(counts.values()) for counts in single.values()) > 0
    counted_here = []
    count_statuses = replay_module.count_statuses

    def counting(citizens, **kwargs):  # the workers count in their own copy of this list
        citizens = list(citizens)
        counted_here.append(len(citizens))
        return count_statuses(citizens, **kwargs)

    monkeypatch.setattr(replay_module, "SPLIT_MIN", 1)  # the demo log is below the real one
    monkeypatch.setattr(replay_module, "may_fork", lambda: True)  # pytest may run other threads
    monkeypatch.setattr(replay_module, "count_statuses", counting)
    for workers in (2, 3):
        replay.workers = workers
        assert replay.tallies(pool, months, rules, as_of) == single
    citizens = len(replay.store)
    assert counted_here == [len(range(0, citizens, 2)), len(range(0, citizens, 3))]  # a share, not all


def test_an_error_in_a_projection_worker_is_raised_in_the_replay(log, monkeypatch):
    replay, pool, months = _projection(log)
    parent = os.getpid()
    count_statuses = replay_module.count_statuses

    def failing_in_a_worker(citizens, **kwargs):
        if os.getpid() != parent:
            raise ValueError("worker failed")
        return count_statuses(citizens, **kwargs)

    monkeypatch.setattr(replay_module, "SPLIT_MIN", 1)
    monkeypatch.setattr(replay_module, "may_fork", lambda: True)
    monkeypatch.setattr(replay_module, "count_statuses", failing_in_a_worker)
    replay.workers = 2
    with pytest.raises(ValueError, match="worker failed"):
        replay.tallies(pool, months, Rules(), None)


@pytest.mark.parametrize("extra", [(), ("--as-published",), ("--state",)])
def test_shards_give_the_single_replays_bir_report(log, tmp_path, extra):
    def bir(jobs: int, *options: str) -> dict:
        args = ["report", "--log", str(log), "--pool", "bir", "--month", "2021-04", "--format", "json", *options]
        return json.loads(_cli(*args, "--jobs", str(jobs))[0])

    state = extra == ("--state",)
    single = bir(1, *(() if state else extra))  # in memory: RocksDB is opened by the shard processes only
    assert single["project"]["target"] > 0 and single["input"]["duplicates"] > 0
    for jobs in (2, 3):
        assert bir(jobs, *(("--state", str(tmp_path / f"state-{jobs}")) if state else extra)) == single


def test_a_process_with_other_threads_does_not_fork_its_projection(log, monkeypatch):
    """A server's request thread must not fork (puljemonitor/forking.py): one process counts all."""
    import threading

    replay, pool, months = _projection(log)
    monkeypatch.setattr(replay_module, "SPLIT_MIN", 1)
    replay.workers = 2
    result: list = []
    forks_before = os.getpid()
    thread = threading.Thread(
        target=lambda: result.append((replay_module.may_fork(), replay.tallies(pool, months, Rules(), None)))
    )
    thread.start()
    thread.join()
    [(allowed, tallies)] = result
    assert allowed is False and os.getpid() == forks_before
    replay.workers = 1
    assert tallies == replay.tallies(pool, months, Rules(), None)
