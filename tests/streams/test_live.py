"""The live path without a broker: the three stages' pure functions equal the offline replay.

The simulation below plays what Kafka and Faust do — partitioned topics, tables, redelivery,
crashes between a table write and a send, stale and reordered status updates, rebuilding
derived counts from persisted views — and compares the outputs with :class:`Replay`.
"""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from puljemonitor.kafka_log import Refused, differences, expected_outputs, prepare, pseudonym
from puljemonitor.replay import Replay
from schemas import pools
from schemas.calendar import parse_month
from streams.live import (
    CitizenState,
    Outcome,
    Projection,
    Totals,
    citizen_step,
    dead_letter,
    decode_counts,
    decode_state,
    decode_update,
    encode,
    fold_step,
    months_of,
    output_key,
    parse_output_key,
    view_key,
)  # fmt: skip
from tests.builders import citizen_key, demo_log

POOL = pools.pool("afklaringspuljen")
RULES = pools.Rules()
MONTHS = months_of(POOL)
CHECK = [parse_month(m) for m in ("2020-08", "2021-09", "2022-06", "2023-03", "2024-03")]


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory) -> list[bytes]:
    return demo_log(tmp_path_factory.mktemp("demo"))


class Pipeline:
    """Three stages with dict 'tables' and list 'topics', as Kafka and Faust behave at least once.

    A table is a worker's local store plus its changelog (what another worker restores). A
    crash keeps what the local store already has but loses the changelog write and the
    sends of the message being processed, which is then redelivered to the same worker; a
    failover moves everything to a worker that has only the changelogs.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng
        self.citizens: dict[str, bytes] = {}
        self.citizens_changelog: dict[str, bytes] = {}
        self.views: dict[str, bytes] = {}
        self.views_changelog: dict[str, bytes] = {}
        self.stored_counts: dict[str, bytes] = {}
        self.projection = Projection(POOL)
        self.totals = Totals(POOL, MONTHS)
        self.statuses: list[bytes] = []
        self.counts_topic: list[bytes] = []
        self.output: dict[str, object] = {}
        self.rejected: list[dict] = []
        self.output_totals = False

    def feed(self, key: bytes | None, raw: bytes, offset: int = 0, crash: bool = False) -> Outcome:
        result = citizen_step(None, key, raw, pool=POOL, months=MONTHS, rules=RULES, lookup=self.citizens.get)
        if result.outcome is Outcome.REJECTED:
            self.rejected.append(json.loads(dead_letter(result, raw, key, "events", 0, offset)))
            return result.outcome
        if result.state is not None:
            self.citizens[result.citizen] = result.state
            if crash:  # local store written; changelog write and sends lost; redelivered
                return result.outcome
            self.citizens_changelog[result.citizen] = result.state
        self.statuses.extend(encode(u) for u in result.updates)
        return result.outcome

    def project(self, shuffle: bool = False, crash_rate: float = 0.0) -> None:
        pending, self.statuses = self.statuses, []
        if shuffle and self.rng:
            self.rng.shuffle(pending)  # reordering across producers; stale versions must lose
        for data in pending:
            if self.rng is not None and self.rng.random() < crash_rate:
                self._view(data, changelog=False)  # crashed after the local write
                self.rebuild()  # the restart: derived counts from the local views
            self._emit(self._view(data))  # (re)delivered

    def _view(self, data: bytes, changelog: bool = True) -> set:
        update = decode_update(data)
        vkey = view_key(update.municipality, update.citizen)
        store, changed = self.projection.apply(self.views.get(vkey), update)
        if store:
            self.views[vkey] = data
            if changelog:
                self.views_changelog[vkey] = data
        return changed

    def rebuild(self) -> None:
        """A restart: derived counts from the persisted views only, then re-emit everything."""
        self.projection = Projection(POOL)
        self._emit(self.projection.rebuild(self.views.values()))

    def fail_over(self) -> None:
        """Another worker takes over with nothing but the changelogs."""
        self.citizens = dict(self.citizens_changelog)
        self.views = dict(self.views_changelog)
        self.rebuild()

    def _emit(self, keys) -> None:
        keys = set(keys)
        for (code, month), agg in self.projection.records(keys):
            self.output[output_key(POOL, "municipality", month, code)] = json.loads(agg)
        for code in sorted({code for code, _ in keys}):
            self.counts_topic.append(encode(self.projection.counts(code, MONTHS)))

    def total(self) -> None:
        pending, self.counts_topic = self.counts_topic, []
        dirty = self.totals.rebuild(self.stored_counts.values()) if not self.output_totals else set()
        self.output_totals = True
        for data in pending:
            update = decode_counts(data)
            stored = self.stored_counts.get(update.municipality)
            if stored is None or decode_counts(stored).version <= update.version:
                self.stored_counts[update.municipality] = data
            dirty |= self.totals.apply(update)
        for key, value in self.totals.records(dirty):
            self.output[key] = json.loads(value)


def _expected(lines: list[bytes]) -> dict:
    replay = Replay()
    replay.ingest_lines(lines)
    return expected_outputs(replay, POOL, RULES, CHECK)


def test_live_equals_replay_in_order(demo_lines):
    pipe = Pipeline()
    for line in demo_lines:
        pipe.feed(citizen_key(line), line)
    pipe.project()
    pipe.total()
    assert differences(_expected(demo_lines), pipe.output, POOL, CHECK) == []


def test_the_incremental_step_sends_what_the_full_step_would_and_equals_the_replay(demo_lines):
    """fold_step (the fast per-event step) fed in arrival order, duplicates and shuffling
    included: its updates, projected, give the replay's figures, and it sends nothing for
    an event that changed no status."""
    rng = random.Random(11)
    messages = [(citizen_key(line), line) for line in demo_lines] * 2
    rng.shuffle(messages)
    folds: dict = {}
    pipe = Pipeline()
    silent = 0
    for key, raw in messages:
        result = fold_step(folds, key, raw, pool=POOL, months=MONTHS, rules=RULES)
        if result.outcome is Outcome.APPLIED and not result.updates:
            silent += 1
        pipe.statuses.extend(encode(u) for u in result.updates)
    pipe.project()
    pipe.total()
    assert differences(_expected([raw for _, raw in messages]), pipe.output, POOL, CHECK) == []
    assert silent > 0


def test_duplicates_shuffles_crashes_failovers_and_stale_updates_change_nothing(demo_lines):
    rng = random.Random(7)
    messages = [(citizen_key(line), line) for line in demo_lines] * 2  # every event twice
    rng.shuffle(messages)  # within and across citizens
    pipe = Pipeline(rng)
    replayed_statuses = []
    for i, (key, raw) in enumerate(messages):
        crash = rng.random() < 0.05
        pipe.feed(key, raw, i, crash=crash)
        if crash:
            pipe.feed(key, raw, i)  # redelivered after the restart
        if rng.random() < 0.01:
            replayed_statuses.extend(pipe.statuses)  # a zombie re-sends old updates later
            pipe.project(shuffle=True, crash_rate=0.05)
            pipe.total()
        if rng.random() < 0.005:
            pipe.rebuild()
        if rng.random() < 0.003:
            pipe.project(crash_rate=0.05)
            pipe.fail_over()
    pipe.statuses.extend(replayed_statuses)
    pipe.project(shuffle=True, crash_rate=0.05)
    pipe.fail_over()
    pipe.total()
    # The replay of the same messages, in the order they arrived.
    expected = _expected([raw for _, raw in messages])
    assert differences(expected, pipe.output, POOL, CHECK) == []


def test_rebuild_from_views_equals_incremental(demo_lines):
    pipe = Pipeline()
    for line in demo_lines:
        pipe.feed(citizen_key(line), line)
    pipe.project()
    incremental = dict(pipe.projection.tallies)
    fresh = Projection(POOL)
    fresh.rebuild(pipe.views.values())
    nonzero = lambda t: {k: {s: n for s, n in c.items() if n} for k, c in t.items() if any(c.values())}  # noqa: E731
    assert nonzero(fresh.tallies) == nonzero(incremental)
    assert fresh.versions == pipe.projection.versions


def test_stale_version_is_ignored_and_equal_is_idempotent():
    projection = Projection(POOL)
    from streams.live import StatusUpdate

    new = StatusUpdate("c1", "101", 3, MONTHS.start, bytes([0] * 2 + [len("x")] * 0 + [9] * (len(MONTHS) - 2)))
    old = StatusUpdate("c1", "101", 2, MONTHS.start, bytes([0] * len(MONTHS)))
    store, changed = projection.apply(None, new)
    assert store and changed
    assert projection.apply(encode(new), old) == (False, set())
    assert projection.apply(encode(new), new) == (True, set())  # stored again, counted once


def test_changed_enrollment_withdraws_citizen_from_old_municipality():
    base = {"citizen": "c1", "recorded": "2020-08-03T10:00:00+02:00"}
    late = {
        "type": "enrolled",
        "id": "e2",
        "at": "2020-07-28",
        "pool": "afklaringspuljen",
        "municipality": "147",
        **base,
    }
    first = {
        "type": "enrolled",
        "id": "e1",
        "at": "2020-07-30",
        "pool": "afklaringspuljen",
        "municipality": "101",
        **base,
    }
    pipe = Pipeline()
    for event in (first, late):  # the earlier enrollment arrives second and wins
        pipe.feed(b"c1", json.dumps(event).encode())
    pipe.project()
    pipe.total()
    month = "2021-09"
    assert pipe.output[f"afklaringspuljen/municipality/147/{month}"]["enrolled"] == 1
    assert pipe.output[f"afklaringspuljen/municipality/101/{month}"]["enrolled"] == 0
    assert pipe.output[f"afklaringspuljen/nation/{month}"]["enrolled"] == 1
    assert decode_state(pipe.citizens["c1"]).homes == ["101", "147"]


@pytest.mark.parametrize(
    ("key", "raw", "reason"),
    [
        (b"c1", b"not json", "not valid JSON"),
        (b"c1", b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"c1", b"", "empty"),
        (None, b"", "empty"),
        (b"c1", b'{"type":"nope","id":"1","citizen":"c1","recorded":"2020-01-01T00:00:00Z"}', "nope"),
        (
            b"0101901234",
            b'{"type":"died","id":"1","citizen":"0101901234","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}',
            "CPR",
        ),
        (
            b"c2",
            b'{"type":"died","id":"1","citizen":"c1","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}',
            "keyed by their citizen",
        ),
        (
            None,
            b'{"type":"died","id":"1","citizen":"c1","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}',
            "no key",
        ),
    ],
)
def test_bad_messages_are_dead_lettered_with_reason_and_no_cpr(key, raw, reason):
    pipe = Pipeline()
    assert pipe.feed(key, raw, offset=42) is Outcome.REJECTED
    [letter] = pipe.rejected
    assert reason in letter["reason"]
    assert letter["offset"] == 42 and letter["topic"] == "events" and letter["partition"] == 0
    assert "0101901234" not in json.dumps(letter)
    assert pipe.citizens == {} and pipe.statuses == []


def test_conflict_is_rejected_and_duplicate_reemits():
    pipe = Pipeline()
    event = {
        "type": "enrolled",
        "id": "e1",
        "citizen": "c1",
        "recorded": "2020-08-03T10:00:00+02:00",
        "at": "2020-07-30",
        "pool": "afklaringspuljen",
        "municipality": "101",
    }
    assert pipe.feed(b"c1", json.dumps(event).encode()) is Outcome.APPLIED
    assert pipe.feed(b"c1", json.dumps(event).encode()) is Outcome.DUPLICATE
    assert len(pipe.statuses) == 2 and pipe.statuses[0] == pipe.statuses[1]
    assert pipe.feed(b"c1", json.dumps({**event, "municipality": "147"}).encode()) is Outcome.REJECTED
    assert "retract it" in pipe.rejected[0]["reason"]


def test_pseudonymize_cpr_with_key_and_refuse_without():
    line = b'{"type":"died","id":"1","citizen":"010190-1234","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}'
    key = b"k" * 32
    prepared = prepare(line, key)
    assert b"010190" not in prepared.value and b"1234" not in prepared.key
    assert prepared.key == pseudonym(key, "0101901234").encode()
    assert json.loads(prepared.value)["citizen"] == prepared.key.decode()
    from schemas.events import decode

    assert decode(prepared.value).citizen == prepared.key.decode()  # passes the contract
    with pytest.raises(Refused):
        prepare(line, None)
    assert b"0101901234" not in prepare(b"garbage 0101901234", None).value


def test_output_keys_roundtrip_names_with_slash():
    key = output_key(POOL, "participant", parse_month("2021-09"), "Tårnby/Dragør")
    assert parse_output_key(key) == ("afklaringspuljen", "participant", "Tårnby/Dragør", "2021-09")


def test_state_roundtrip():
    state = CitizenState(events=[], homes=["101"])
    assert decode_state(encode(state)) == state
    assert isinstance(msgspec.msgpack.encode(state), bytes)


@pytest.mark.parametrize(
    "key, raw",
    [
        (rb"\u0030101901234", rb'{"type":"died","id":"1","citizen":"\u0030101901234","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}'),
        (b"101901234", b'{"type":"died","id":"1","citizen":101901234,"recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}'),
        (b"c1", b'{"type":"died","id":"010190-1234","citizen":"c1","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}'),
        (b"c1", rb'{"type":"died","id":"1","citizen":"c1","recorded":"2020-01-01T00:00:00Z","at":"0101\u003901234"'),
    ],
)  # fmt: skip
def test_dead_letters_hold_no_cpr_in_value_key_or_reason_whatever_the_spelling(key, raw):
    pipe = Pipeline()
    assert pipe.feed(key, raw) is Outcome.REJECTED
    [letter] = pipe.rejected
    text = json.dumps(letter)
    assert "[CPR redacted]" in letter["raw"] and not any(s in text for s in ("01901234", "\\u0030", "\\u0039"))


def test_produce_refuses_a_cpr_outside_citizen_and_redacts_a_numeric_citizen():
    line = b'{"type":"died","id":"1","citizen":"c1","note":"\\u0030101901234","recorded":"2020-01-01T00:00:00Z","at":"2020-01-01"}'
    with pytest.raises(Refused, match="outside `citizen`"):
        prepare(line, b"k" * 32)
    number = prepare(b'{"type":"died","citizen":101901234,"hours":1000000000}', None)
    assert number.key is None and number.value == b'{"type":"died","citizen":"[CPR redacted]","hours":1000000000}'
