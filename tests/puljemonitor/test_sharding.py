"""The replay split by citizen over processes gives exactly what one process gives."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from puljemonitor.cli import main
from puljemonitor.sharding import shard_of
from schemas.events import decode
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


def _report(log, tmp_path, jobs: int, *extra: str) -> tuple[dict, bytes, str]:
    rejected = tmp_path / f"rejected-{jobs}.jsonl"
    args = ["report", "--log", str(log), "--month", "2021-09", "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--jobs", str(jobs), "--rejected", str(rejected), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), rejected.read_bytes(), result.stderr


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


@pytest.mark.parametrize("extra", [(), ("--as-published",), ("--state",)])
def test_shards_give_the_single_replays_bir_report(log, tmp_path, extra):
    def bir(jobs: int, *options: str) -> dict:
        args = ["report", "--log", str(log), "--pool", "bir", "--month", "2021-04", "--format", "json", *options]
        result = CliRunner().invoke(main, [*args, "--jobs", str(jobs)])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    state = extra == ("--state",)
    single = bir(1, *(() if state else extra))  # in memory: RocksDB is opened by the shard processes only
    assert single["project"]["target"] > 0 and single["input"]["duplicates"] > 0
    for jobs in (2, 3):
        assert bir(jobs, *(("--state", str(tmp_path / f"state-{jobs}")) if state else extra)) == single
