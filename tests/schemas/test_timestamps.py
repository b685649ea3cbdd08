"""`recorded` and `--as-of` are RFC 3339 §5.6 date-times with an offset, nothing looser (docs/rfc3339.md)."""

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.cpr import redact_cpr
from schemas.events import Rejection, decode, from_bytes, json_schema, to_bytes
from schemas.timestamps import parse_timestamp


def line(recorded: str) -> bytes:
    fields = {"id": "x1", "type": "died", "citizen": "c1", "recorded": recorded, "at": "2021-01-01"}
    return json.dumps(fields, separators=(",", ":")).encode()  # compact, as producers send: the fast path


@pytest.mark.parametrize(
    "text",
    [
        "2021-01-01T10:00:00+0100",  # msgspec takes it
        "2021-01-01 10:00:00+01:00",  # msgspec takes it
        "2021-01-01T10:00:00.123-0530",
        "2021-01-01T10:00+01:00",  # no seconds
        "2021-01-01T10:00:00,5+01:00",  # decimal comma
        "2021-01-01T10:00:00",  # no offset
        "2021-01-01T10:00:00+01",
        "2021-01-01T24:00:00+01:00",
        "2021-001T10:00:00Z",  # ordinal date
        "2021-W01-1T10:00:00Z",  # week date
        "20210101T100000Z",  # basic format
        "2021-01-01T10:00:00.1234567891Z",  # more than 9 fraction digits
        "2021-01-01T10:00:00+01:00:00",
        "02021-01-01T10:00:00Z",  # extra digits
        "2021-01-01T10:00:000Z",
        "2021-01-01T10:00:00Z ",
        "2021-01-01T10:00:00+24:00",
        "2021-02-30T10:00:00Z",
        "2021-12-31T23:59:60Z",  # leap second: our choice
    ],
)  # fmt: skip
def test_what_rfc3339_does_not_allow_is_rejected_naming_the_field_and_the_form(text):
    with pytest.raises(Rejection) as error:
        decode(line(text))
    assert f"`recorded` {redact_cpr(repr(text))}" in str(error.value) and str(error.value).endswith("- at `$.recorded`")
    with pytest.raises(ValueError, match="as-of"):
        parse_timestamp(text, "as-of")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2021-01-01T10:00:00+01:00", "2021-01-01T10:00:00+01:00"),
        ("2021-01-01T09:00:00Z", "2021-01-01T09:00:00+00:00"),
        ("2021-01-01t09:00:00z", "2021-01-01T09:00:00+00:00"),  # lower case: RFC 3339 §5.6 allows
        ("2021-01-01T09:00:00-00:00", "2021-01-01T09:00:00+00:00"),  # unknown local offset: UTC
        ("2021-01-01T09:00:00.5+01:00", "2021-01-01T09:00:00.500000+01:00"),
        ("2021-01-01T09:00:00.123456789Z", "2021-01-01T09:00:00.123457+00:00"),  # rounded to µs
    ],
)
def test_what_rfc3339_allows_is_accepted_as_the_same_instant_on_both_paths(text, expected):
    assert decode(line(text)).recorded.isoformat() == expected
    assert parse_timestamp(text, "as-of").isoformat() == expected
    spaced = line(text).replace(b'"recorded":', b'"recorded" :')  # takes the exact path
    assert decode(spaced).recorded.isoformat() == expected


def test_recorded_is_an_aware_datetime_that_round_trips_through_msgpack():
    event = decode(line("2021-01-01T10:00:00.25+01:00"))
    assert event.recorded.tzinfo is not None and from_bytes(to_bytes(event)) == event
    assert event.recorded == dt.datetime(2021, 1, 1, 9, 0, 0, 250000, tzinfo=dt.timezone.utc)


def test_an_escaped_spelling_is_judged_on_its_decoded_value():
    assert decode(line("2021-01-01T10:00:00Z").replace(b'"2021', b'"\\u0032021')).recorded.year == 2021
    with pytest.raises(Rejection, match="not an RFC 3339"):
        decode(line("2021-01-01 10:00:00Z").replace(b'"2021', b'"\\u0032021'))


def test_the_schema_states_the_pattern():
    recorded = json_schema()["$defs"]["Died"]["properties"]["recorded"]
    assert recorded["format"] == "date-time" and "[Tt]" in recorded["pattern"]


@st.composite
def spellings(draw) -> str:
    """Timestamps right and wrong in the ways msgspec is lenient about, some characters escaped."""
    date = draw(st.sampled_from(["2021-01-01", "2021-06-30", "2020-02-29"]))
    sep = draw(st.sampled_from("Tt "))
    fraction = draw(st.sampled_from(["", "."]))
    if fraction:
        fraction += "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=1, max_size=11)))
    offset = draw(st.sampled_from(["Z", "z", "+01:00", "-05:30", "-00:00", "+0100", "-0530", "+23:59"]))
    return f"{date}{sep}10:20:30{fraction}{offset}"


@settings(max_examples=300, deadline=None)
@given(text=spellings(), escaped=st.sets(st.integers(0, 40)), spaced=st.booleans())
def test_the_fast_path_agrees_with_the_exact_rule(text, escaped, spaced):
    body = "".join(f"\\u{ord(c):04x}" if i in escaped else c for i, c in enumerate(text))
    raw = line(text).replace(json.dumps(text).encode(), f'"{body}"'.encode())
    if spaced:
        raw = raw.replace(b'"recorded":', b'"recorded" :')
    try:
        expected = parse_timestamp(text, "recorded")
    except ValueError:
        with pytest.raises(Rejection, match="recorded"):
            decode(raw)
    else:
        assert decode(raw).recorded == expected
