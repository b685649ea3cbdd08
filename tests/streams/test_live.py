"""The live path without a broker: the three stages' pure functions equal the offline replay.

The simulation below plays what Kafka and Quix Streams do — partitioned state committed per
checkpoint, transactions aborted after a crash (with the in-memory folds outliving them),
redelivery, duplicates, reordered and stale batches from a fenced worker, and the totals
rebuilt from stored counts — and compares the outputs with :class:`Replay`.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import msgspec
import pytest

from puljemonitor.comparing import differences, expected_outputs
from puljemonitor.producing import Refused, prepare, pseudonym
from puljemonitor.replay import Replay
from schemas import pools
from schemas.calendar import parse_month
from streams.feed import FeedRecord, feed_key, participant_code
from streams.intake import Outcome
from streams.live import (
    CitizenStore,
    Coalesced,
    apply_batch,
    batch_key,
    fold_step,
    months_of,
    municipality_figures,
    totals_of,
)
from streams.period_live import period_figures
from streams.records import StatusBatch, StatusUpdate, counts_decoder, dead_letter, encode
from tests.builders import citizen_key, demo_log

POOL = pools.pool("afklaringspuljen")
BIR = pools.pool("bir")
RULES = pools.Rules()
MONTHS = months_of(POOL)
CHECK = [parse_month(m) for m in ("2020-08", "2021-09", "2022-06", "2023-03", "2024-03")]
BIR_CHECK = [parse_month(m) for m in ("2020-12", "2021-02", "2021-04", "2021-11", "2022-12")]


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory) -> list[bytes]:
    return demo_log(tmp_path_factory.mktemp("demo"))


class DictState:
    """A key's state as the stages see it (Quix's ``State``): get_bytes/set_bytes over a dict."""

    def __init__(self, data: dict, prefix: bytes) -> None:
        self.data, self.prefix = data, prefix

    def get_bytes(self, key: bytes, default: bytes | None = None) -> bytes | None:
        return self.data.get(self.prefix + b"|" + key, default)

    def set_bytes(self, key: bytes, value: bytes) -> None:
        self.data[self.prefix + b"|" + key] = value


class Pipeline:
    """Three stages with dict state committed per checkpoint, as Quix Streams runs them.

    ``crash()`` is a worker that died between checkpoints: the uncommitted state and sends
    are gone and the messages since the last commit are delivered again; the in-memory folds
    of stage 1 survive on purpose (an aborted transaction that the cache outlived).
    """

    def __init__(self) -> None:
        self.citizens = CitizenStore(POOL, RULES, [BIR])
        self.state1: dict = {}
        self.committed1: dict = {}
        self.state2: dict = {}
        self.coalesced = Coalesced()
        self.batches: list[StatusBatch] = []
        self.totals_state: dict = {}
        self.totals: dict = {}
        self.output: dict[str, dict] = {}  # feed key → the feed record's level, figures (and indicators)
        self.rejected: list[dict] = []
        self.uncommitted: list[tuple[bytes | None, bytes]] = []

    def feed(self, key: bytes | None, raw: bytes, offset: int = 0) -> Outcome:
        self.uncommitted.append((key, raw))
        result = fold_step(self.citizens, DictState(self.state1, key or b"null"), key, raw)
        if result.outcome is Outcome.REJECTED:
            self.rejected.append(json.loads(dead_letter(result.reason, raw, key, "events", 0, offset)))
        for pool, update in result.updates:
            self.coalesced.add(pool, update)
        return result.outcome

    def commit(self) -> None:
        self.batches.extend(self.coalesced.batches())
        self.committed1 = dict(self.state1)
        self.uncommitted = []

    def crash(self) -> None:
        again, self.uncommitted = self.uncommitted, []
        self.state1 = dict(self.committed1)
        self.coalesced = Coalesced()
        for key, raw in again:
            self.feed(key, raw)

    def project(self, rng: random.Random | None = None, stale: list[StatusBatch] = ()) -> None:
        pending, self.batches = [*self.batches, *stale], []
        if rng is not None:
            rng.shuffle(pending)  # reordered; stale versions must lose
        for batch in pending:
            pool = pools.pool(batch.pool)
            counts, changed = apply_batch(DictState(self.state2, batch_key(batch.pool, batch.municipality)), batch)
            for month in changed:
                key = feed_key(pool.name, "municipality", month, batch.municipality)
                if pool is BIR:
                    figures = period_figures(counts.months.get(month, {}), BIR)
                    self.output[key] = _record("municipality", figures.aggregate, indicators=figures.indicators)
                else:
                    self.output[key] = _record("municipality", municipality_figures(counts, month, pool))
            if changed:
                self.total(counts)

    def total(self, counts) -> None:
        dirty = set()
        pool = pools.pool(counts.pool)
        key = batch_key(counts.pool, counts.municipality)
        totals = self.totals.get(pool.name)
        if totals is None:
            totals = self.totals[pool.name] = totals_of(pool)
            totals.restore(lambda code: self.totals_state.get(batch_key(pool.name, code)))
            dirty = totals.everything()
        stored = self.totals_state.get(key)
        if stored is None or counts_decoder.decode(stored).version <= counts.version:
            self.totals_state[key] = encode(counts)
        dirty |= totals.apply(counts)
        for figures in totals.figures(dirty):
            value = figures.figures
            if figures.level == "participant":
                code = participant_code(totals.participants[figures.participant])
                extra = {"achieved": value.achieved, "best_month": value.best_month, "best_share": value.best_share}
                record = _record("participant", value.aggregate, code=code, **extra)
            elif pool is BIR:
                record = _record(figures.level, value.aggregate, indicators=value.indicators)
            else:
                code, record = None, _record(figures.level, value)
            self.output[feed_key(pool.name, figures.level, figures.month, record.get("code"))] = record


def _record(level: str, figures, **fields) -> dict:
    """The fields of a feed record that the comparison reads."""
    return msgspec.to_builtins({"level": level, "figures": figures, **fields})


def _differences(lines: list[bytes], pipe: Pipeline) -> list[str]:
    """Both pools' live figures against the replay's, in some months of each."""
    replay = Replay()
    replay.ingest_lines(lines)
    months = CHECK + BIR_CHECK
    return differences(expected_outputs(replay, RULES, months=months), pipe.output, months=months)


def test_live_equals_replay_in_order(demo_lines):
    pipe = Pipeline()
    for line in demo_lines:
        pipe.feed(citizen_key(line), line)
    pipe.commit()
    pipe.project()
    assert _differences(demo_lines, pipe) == []
    assert any(key.startswith("bir/municipality/") for key in pipe.output)


def test_duplicates_shuffles_crashes_and_stale_batches_change_nothing(demo_lines):
    """Every event twice, shuffled; commits at random; crashes that abort the open transaction
    while the folds in memory outlive it; batches re-sent late by a fenced worker."""
    rng = random.Random(7)
    messages = [(citizen_key(line), line) for line in demo_lines] * 2
    rng.shuffle(messages)
    pipe = Pipeline()
    stale: list[StatusBatch] = []
    crashes = 0
    for i, (key, raw) in enumerate(messages):
        pipe.feed(key, raw, i)
        if rng.random() < 0.01:
            crashes += 1
            pipe.crash()
        if rng.random() < 0.02:
            pipe.commit()
            if rng.random() < 0.3:
                stale.extend(pipe.batches)  # a zombie sends these again, later
            pipe.project(rng)
    pipe.commit()
    pipe.project(rng, stale)
    assert crashes > 5 and stale
    assert _differences([raw for _, raw in messages], pipe) == []


def test_a_pool_without_citizens_has_no_records_and_that_is_no_difference(demo_lines):
    """The first citizens of the demo log are all in the first pool: live has no BIR record,
    and the replay has none but BIR's zero project records, which are not missed."""
    in_bir = {citizen_key(line) for line in demo_lines if b'"bir"' in line}
    enrolled = sorted({citizen_key(line) for line in demo_lines if b'"enrolled"' in line} - in_bir)
    chosen = set(enrolled[:20])
    first = [line for line in demo_lines if citizen_key(line) in chosen]
    pipe = Pipeline()
    for line in first:
        pipe.feed(citizen_key(line), line)
    pipe.commit()
    pipe.project()
    assert not any(key.startswith("bir/") for key in pipe.output)
    assert _differences(first, pipe) == []
    replay = Replay()
    replay.ingest_lines(first)
    expected = expected_outputs(replay, RULES, months=CHECK)
    assert differences(expected, {}, pool=POOL, months=CHECK)  # the first pool's records are missed


def test_a_fold_that_outlived_an_aborted_transaction_is_rebuilt_from_the_state():
    enrolled = b'{"type":"enrolled","id":"e1","citizen":"c1","recorded":"2020-08-03T10:00:00+02:00","at":"2020-08-01","pool":"afklaringspuljen","municipality":"101"}'
    died = b'{"type":"died","id":"d1","citizen":"c1","recorded":"2020-09-03T10:00:00+02:00","at":"2020-09-01"}'
    pipe = Pipeline()
    pipe.feed(b"c1", enrolled)
    pipe.commit()
    pipe.feed(b"c1", died)  # applied in memory and in the open transaction …
    pipe.state1 = dict(pipe.committed1)  # … which is aborted
    assert len(pipe.citizens.folds["c1"].events) == 2
    assert pipe.feed(b"c1", died) is Outcome.APPLIED  # not a duplicate: the state does not have it
    assert len(pipe.citizens.folds["c1"].events) == 2


def test_stale_and_equal_versions_change_no_count():
    state = DictState({}, b"101")
    vector = bytes([1] * len(MONTHS))
    new = StatusUpdate("c1", "101", 3, MONTHS.start, vector)
    old = StatusUpdate("c1", "101", 2, MONTHS.start, bytes([0] * len(MONTHS)))
    counts, changed = apply_batch(state, StatusBatch(POOL.name, "101", [new]))
    assert changed and counts.version == 3
    again, unchanged = apply_batch(state, StatusBatch(POOL.name, "101", [old, new]))
    assert unchanged == set() and again == counts


def test_coalescing_keeps_the_latest_version_per_citizen_and_batches_per_municipality():
    coalesced = Coalesced()
    for pool, version, code in ((POOL.name, 1, "101"), (POOL.name, 3, "101"), (POOL.name, 2, "101"),
                                (POOL.name, 1, "147"), (BIR.name, 2, "101")):  # fmt: skip
        coalesced.add(pool, StatusUpdate("c1", code, version, 0, b"\x00"))
    batches = list(coalesced.batches())
    assert [(b.pool, b.municipality, [u.version for u in b.updates]) for b in batches] == [
        (POOL.name, "101", [3]),
        (POOL.name, "147", [1]),
        (BIR.name, "101", [2]),
    ]
    assert list(coalesced.batches()) == []


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
    pipe.feed(b"c1", json.dumps(first).encode())
    pipe.commit()
    pipe.project()
    pipe.feed(b"c1", json.dumps(late).encode())  # the earlier enrollment arrives second and wins
    pipe.commit()
    pipe.project()
    month = "2021-09"
    assert pipe.output[f"afklaringspuljen/municipality/147/{month}"]["figures"]["enrolled"] == 1
    assert pipe.output[f"afklaringspuljen/municipality/101/{month}"]["figures"]["enrolled"] == 0
    assert pipe.output[f"afklaringspuljen/nation/{month}"]["figures"]["enrolled"] == 1


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
    assert pipe.state1 == {} and pipe.coalesced.latest == {}


def test_conflict_is_rejected_and_a_duplicate_sends_nothing():
    pipe = Pipeline()
    event = {"type": "enrolled", "id": "e1", "citizen": "c1", "recorded": "2020-08-03T10:00:00+02:00",
             "at": "2020-07-30", "pool": "afklaringspuljen", "municipality": "101"}  # fmt: skip
    assert pipe.feed(b"c1", json.dumps(event).encode()) is Outcome.APPLIED
    held = dict(pipe.coalesced.latest)
    assert pipe.feed(b"c1", json.dumps(event).encode()) is Outcome.DUPLICATE
    assert pipe.coalesced.latest == held
    assert pipe.feed(b"c1", json.dumps({**event, "municipality": "147"}).encode()) is Outcome.REJECTED
    assert "retract it" in pipe.rejected[0]["reason"]


def test_feed_keys_name_participants_by_codes_never_by_name():
    [tarnby] = [p for p in POOL.participants if len(p.codes) > 1]
    assert "/" in tarnby.name
    key = feed_key(POOL.name, "participant", parse_month("2021-09"), participant_code(tarnby))
    assert key == "afklaringspuljen/participant/155+185/2021-09"


def test_feed_records_validate_against_the_published_schema():
    import jsonschema

    from projections.aggregates import aggregate
    from streams.feed import json_schema

    figures = aggregate(Counter({"self_supporting": 2, "exempt": 1}), POOL)
    record = FeedRecord(pool=POOL.name, level="municipality", code="101", name="København", month="2021-09",
                        count_social_frikort=False, figures=figures, version=3, computed_at="2026-12-02T10:00:00.000Z")  # fmt: skip
    schema = json_schema()
    jsonschema.validate(json.loads(msgspec.json.encode(record)), schema)
    for broken in ({"version": "3"}, {"level": "region"}, {"figures": {"enrolled": 1}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(msgspec.json.encode(record)) | broken, schema)


def test_bir_feed_records_validate_against_the_published_schema_and_only_as_bir_records():
    import jsonschema

    from streams.feed import PeriodFeedRecord, json_schema

    rows = Counter({"company/1-2/without": 7, "not_positive//": 13, "out//": 4})
    figures = period_figures({label: n for label, n in rows.items()}, BIR)
    assert (figures.aggregate.target, figures.aggregate.requirement_1.count) == (20, 7)
    assert figures.aggregate.requirement_1.met is True  # 7 of 20 is exactly 35 %
    record = PeriodFeedRecord(pool=BIR.name, level="municipality", code="101", name="København", month="2021-04",
                              period={"first": "2021-02", "last": "2021-04"}, count_social_frikort=False,
                              figures=figures.aggregate, indicators=figures.indicators, version=9,
                              computed_at="2026-12-02T10:00:00.000Z")  # fmt: skip
    value = json.loads(msgspec.json.encode(record))
    schema = json_schema()
    jsonschema.validate(value, schema)
    for broken in ({"level": "participant"}, {"indicators": None}, {"figures": {"target": 1}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value | broken, schema)


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
