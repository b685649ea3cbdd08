"""Parts of ``serve`` on their own: reading a growing log, and the answer cache's bounds."""

from __future__ import annotations

import gzip

from puljemonitor.server import figures as figures_module
from puljemonitor.server.figures import Figures
from puljemonitor.server.logsource import LogReader, LogSource
from tests.puljemonitor.serve_world import write_log


def test_a_line_without_its_newline_waits_for_it_when_following_and_counts_at_the_end_otherwise(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c"')
    reader = LogReader(log)
    assert list(reader.lines(final=False)) == [b'{"a": 1}\n', b'{"b": 2}\n']
    with open(log, "ab") as f:
        f.write(b': 3}\n\n{"d": 4}')
    assert list(reader.lines(final=False)) == [b'{"c": 3}\n', b"\n"]
    assert list(reader.lines(final=True)) == [b'{"d": 4}']
    assert list(reader.lines(final=True)) == []


def test_a_gzip_member_split_across_reads_is_decompressed_once_whole(tmp_path):
    log = tmp_path / "log.jsonl.gz"
    member = gzip.compress(b"one\ntwo\n")
    log.write_bytes(member[:7])
    reader = LogReader(log)
    assert list(reader.lines(final=False)) == []
    with open(log, "ab") as f:
        f.write(member[7:] + gzip.compress(b"three\n"))
    assert list(reader.lines(final=False)) == [b"one\n", b"two\n", b"three\n"]


def test_the_answer_cache_stays_within_its_count_and_byte_bounds(tmp_path, monkeypatch):
    source = LogSource(write_log(tmp_path / "log.jsonl"))
    source.load()
    monkeypatch.setattr(figures_module, "CACHED_BYTES", 10_000)
    monkeypatch.setattr(figures_module, "CACHED_ANSWERS", 5)
    f = Figures(source)
    for i in range(8):
        assert f.cached(("big", i), lambda: b"x" * 3_000) == b"x" * 3_000
    assert f._bytes == 9_000 and len(f._cache) == 3
    for i in range(8):
        f.cached(("small", i), lambda: b"y")
    assert len(f._cache) == 5 and f._bytes == 5
    assert f.peek(("small", 7)) == b"y" and f.peek(("big", 0)) is None
    source.close()


def test_the_source_gives_a_citizen_only_to_a_municipality_that_enrolled_them(tmp_path):
    from schemas import pools

    source = LogSource(write_log(tmp_path / "log.jsonl"))
    source.load()
    pool = pools.pool("afklaringspuljen")
    assert source.citizen(pool, "101", "cit-147-1") == [] == source.citizen(pool, "101", "nobody-at-all")
    assert {e.citizen for e in source.citizen(pool, "147", "cit-147-1")} == {"cit-147-1"}
    assert [events[0].citizen for events in source.citizens(pool, "155")] == ["cit-155-1", "cit-155-2"]
    source.close()


def test_callers_asking_for_an_answer_being_computed_wait_for_it_instead_of_computing_it_again(tmp_path):
    import threading
    import time

    source = LogSource(write_log(tmp_path / "log.jsonl"))
    source.load()
    f = Figures(source)
    calls = []

    def slow() -> bytes:
        calls.append(1)
        time.sleep(0.3)
        return b"page"

    answers = []
    threads = [threading.Thread(target=lambda: answers.append(f.cached(("page",), slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [b"page"] * 8 and len(calls) == 1
    source.close()
