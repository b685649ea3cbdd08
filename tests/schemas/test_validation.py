"""The input contract (spec §2): every line is applied, a duplicate, or rejected with a reason."""

import json

import pytest

from puljemonitor.replay import Replay
from schemas import reference
from schemas.events import Rejection, decode

BASE = {"id": "x1", "citizen": "c1", "recorded": "2021-01-01T10:00:00+01:00"}


def line(**fields) -> bytes:
    return json.dumps({**BASE, **fields}).encode()


def reason(raw: bytes) -> str:
    with pytest.raises(Rejection) as error:
        decode(raw)
    return str(error.value)


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"[1, 2]", "Expected `object`, got `array`"),
        (b'"text"', "Expected `object`"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (line(type="born", at="2021-01-01"), "Invalid value 'born' - at `$.type`"),
        (line(type="died"), "missing required field `at`"),
        (json.dumps({"type": "died", "at": "2021-01-01", "citizen": "c1", "recorded": "2021-01-01T10:00:00Z"}).encode(), "missing required field `id`"),
        (line(type="died", at=20210101), "Expected `date`, got `int` - at `$.at`"),
        (line(type="died", at="2021-02-30"), "Invalid RFC3339 encoded date - at `$.at`"),
        (line(type="died", at="1999-12-31"), "outside 2000-01-01..2099-12-31 - at `$.at`"),
        (line(type="died", at="2100-01-01"), "outside 2000-01-01..2099-12-31 - at `$.at`"),
        (line(type="benefit_changed", at="2021-01-01", benefit="dagpenge"), "Invalid enum value 'dagpenge' - at `$.benefit`"),
        (line(type="moved", at="2021-01-01", municipality="999"), "Invalid enum value '999' - at `$.municipality`"),
        (line(type="exemption_started", at="2021-01-01", reason="ferie"), "Invalid enum value 'ferie' - at `$.reason`"),
        (line(type="offer_started", at="2021-01-01", offer="job"), "Invalid enum value 'job' - at `$.offer`"),
        (line(type="income_reported", month="2021-03", hours=744.5, kind="ordinary"), "<= 744.0 - at `$.hours`"),
        (line(type="income_reported", month="2021-03", hours=-1, kind="ordinary"), ">= 0.0 - at `$.hours`"),
        (line(type="income_reported", month="2021-03", hours="7", kind="ordinary"), "Expected `float`, got `str` - at `$.hours`"),
        (line(type="income_reported", month="2021-13", hours=7, kind="ordinary"), "not a month YYYY-MM - at `$.month`"),
        (line(type="income_reported", month="1999-12", hours=7, kind="ordinary"), "outside 2000-01..2099-12 - at `$.month`"),
        (line(type="income_reported", month="2021-03", hours=7, kind="cash"), "Invalid enum value 'cash' - at `$.kind`"),
        (line(type="died", at="2021-01-01", citizen="has space"), "`citizen` must match"),
        (line(type="died", at="2021-01-01", citizen="x" * 65), "length <= 64 - at `$.citizen`"),
        (line(type="died", at="2021-01-01", citizen=""), "length >= 1 - at `$.citizen`"),
        (line(type="died", at="2021-01-01", citizen="010190-1234"), "looks like a CPR number"),
        (line(type="died", at="2021-01-01", citizen="0101901234"), "looks like a CPR number"),
        (line(type="died", at="2021-01-01", id=""), "length >= 1 - at `$.id`"),
        (line(type="died", at="2021-01-01", id="i" * 129), "length <= 128 - at `$.id`"),
        (line(type="died", at="2021-01-01", recorded="2021-01-01T10:00:00"), "not an RFC 3339 timestamp with offset (expected e.g. 2021-01-01T10:00:00+01:00) - at `$.recorded`"),
        (line(type="died", at="2021-01-01", id="0101901234"), "`id` looks like a CPR number"),
        (line(type="died", at="2021-01-01", id="010190-1234"), "`id` looks like a CPR number"),
        (line(type="retracted", event="010190-1234"), "`event` looks like a CPR number"),
        (line(type="enrolled", at="2020-08-03", pool="afklaringspuljen", municipality="101"), "frozen on 2020-08-02"),
        (line(type="enrolled", at="2020-07-01", pool="pulje", municipality="101"), "Invalid enum value 'pulje' - at `$.pool`"),
    ],
)  # fmt: skip
def test_each_rejection_names_the_field_and_what_is_wrong(raw, fragment):
    assert fragment in reason(raw)


def test_cpr_shaped_but_longer_or_shorter_citizens_are_pseudonyms():
    for citizen in ("01019012345", "010190123", "010190-12345", "c0101901234"):
        assert decode(line(type="died", at="2021-01-01", citizen=citizen)).citizen == citizen


def test_enrollment_on_the_last_day_of_the_freeze_week_is_accepted():
    assert (
        decode(line(type="enrolled", at="2020-08-02", pool="afklaringspuljen", municipality="101")).municipality
        == "101"
    )


def test_bir_enrollment_is_open_after_the_freeze():
    assert decode(line(type="enrolled", at="2021-03-01", pool="bir", municipality="101")).pool == "bir"


def test_unknown_extra_fields_are_ignored():
    assert decode(line(type="died", at="2021-01-01", source="cpr-register")).at.isoformat() == "2021-01-01"


def ingest(*lines: bytes):
    rejected = []
    replay = Replay()
    counts = replay.ingest_lines(lines, rejected.append)
    return counts, rejected


def test_duplicates_compare_parsed_values_not_text():
    a = line(type="died", at="2021-01-01")
    reordered = json.dumps({"at": "2021-01-01", "type": "died", **BASE}, indent=1).replace("\n", " ").encode()
    extra = line(type="died", at="2021-01-01", note="ignored")
    counts, rejected = ingest(a, reordered, extra)
    assert (counts.applied, counts.duplicates, counts.rejected) == (1, 2, 0)


@pytest.mark.parametrize(
    "change", [{"at": "2021-01-02"}, {"recorded": "2021-01-01T11:00:00+01:00"}, {"type": "education_started"}]
)
def test_same_id_with_different_content_is_a_conflict_and_the_first_wins(change):
    first = line(type="died", at="2021-01-01")
    counts, rejected = ingest(first, line(**{"type": "died", "at": "2021-01-01", **change}))
    assert (counts.applied, counts.duplicates, counts.rejected) == (1, 0, 1)
    assert rejected[0].line == 2 and "already applied" in rejected[0].reason


def test_the_same_id_for_another_citizen_is_another_event():
    counts, _ = ingest(line(type="died", at="2021-01-01"), line(type="died", at="2021-01-01", citizen="c2"))
    assert counts.applied == 2


def test_rejected_lines_keep_number_raw_text_with_cpr_redacted_and_reason():
    bad = line(type="died", at="2021-01-01", citizen="010190-1234")
    counts, rejected = ingest(b"", line(type="died", at="2021-01-01"), b"   \n", bad, b"nonsense 0101901234\n")
    assert counts.lines == 3  # blank lines are not counted...
    assert [r.line for r in rejected] == [4, 5]  # ...but keep their place in the numbering
    assert "010190" not in rejected[0].raw and "[CPR redacted]" in rejected[0].raw
    assert rejected[1].raw == "nonsense [CPR redacted]"
    assert "CPR" in rejected[0].reason and "not valid JSON" in rejected[1].reason


def test_every_line_is_accounted_for():
    lines = [
        line(type="died", at="2021-01-01"),
        line(type="died", at="2021-01-01"),
        b"{}",
        line(type="died", at="x"),
        line(id="x2", type="died", at="2021-01-01"),
    ]
    counts, rejected = ingest(*lines)
    assert counts.lines == 5 == counts.applied + counts.duplicates + counts.rejected
    assert (counts.applied, counts.duplicates, counts.rejected, len(rejected)) == (2, 1, 2, 2)


def test_kafka_messages_are_checked_like_the_live_worker_checks_them():
    """A topic replay counts empty values and wrongly keyed events as rejected, as the worker does."""
    good = line(type="died", at="2021-01-01")
    messages = [(b"c1", good), (b"c1", b""), (b"c2", good), (None, good), (b"c1", good)]
    rejected = []
    counts = Replay().ingest_messages(messages, rejected.append)
    assert (counts.lines, counts.applied, counts.duplicates, counts.rejected) == (5, 1, 1, 3)
    assert [r.line for r in rejected] == [2, 3, 4]
    assert rejected[0].reason == "empty message value"
    assert "key 'c2' but citizen 'c1'" in rejected[1].reason and "no key" in rejected[2].reason


def test_a_whitespace_message_is_empty_on_both_sides():
    from schemas import pools
    from streams.live import CitizenStore, fold_step

    store = CitizenStore(pools.pool("afklaringspuljen"), pools.Rules())
    rejected = []
    Replay().ingest_messages([(b"c1", b"  \n")], rejected.append)
    live = fold_step(store, {}, b"c1", b"  \n")
    assert rejected[0].reason == live.reason == "empty message value"


def test_every_municipality_has_a_region():
    regions = reference.regions()
    assert list(regions) == list(reference.municipalities())
    assert set(regions.values()) == {"Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id":"x1","type":"died","citizen":"c1","citizen":"c1","recorded":"2021-01-01T10:00:00Z","at":"2021-01-01"}',
        b'{"id":"x1","type":"died","citizen":"0101901234","citizen":"c1","recorded":"2021-01-01T10:00:00Z","at":"2021-01-01"}',
        rb'{"id":"x1","type":"died","citizen":"c1","\u0063itizen":"c2","recorded":"2021-01-01T10:00:00Z","at":"2021-01-01"}',
        b'{"id":"x1","type":"died","type":"died","citizen":"c1","recorded":"2021-01-01T10:00:00Z","at":"2021-01-01"}',
        b'{"id":"x1","type":"died","citizen":"c1","recorded":"2021-01-01T10:00:00Z","at":"2021-01-01","x":{"a":1,"a":2}}',
    ],
)  # fmt: skip
def test_a_key_given_twice_is_rejected_even_when_spelled_with_escapes(raw):
    assert "is given more than once" in reason(raw)
    assert "0101901234" not in reason(raw)


def test_escapes_and_spaces_without_repeats_are_accepted():
    raw = rb'{ "id" : "x\"1", "type":"died", "\u0063itizen" : "c1", "recorded" : "2021-01-01T10:00:00Z", "at":"2021-01-01"}'
    assert decode(raw).id == 'x"1'
