"""Properties that must hold for any log: order, duplicates and retractions cannot change a number."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from puljemonitor.replay import Replay
from schemas.pools import Rules
from tests.builders import report

CITIZENS = ["a", "b", "c", "d"]
MUNICIPALITIES = ["101", "185", "155", "253"]
DAYS = st.dates(min_value=__import__("datetime").date(2020, 6, 1), max_value=__import__("datetime").date(2022, 6, 30))
RECORDED = st.sampled_from(
    [
        "2020-08-01T09:00:00+02:00",
        "2021-05-01T09:00:00+02:00",
        "2021-11-30T23:59:59+01:00",
        "2022-02-01T00:00:00Z",
        "2022-09-01T09:00:00+02:00",
    ]
)


@st.composite
def event_fields(draw) -> dict:
    kind = draw(st.sampled_from([
        "enrolled", "benefit_changed", "income_reported", "education_started", "education_ended",
        "offer_started", "offer_ended", "exemption_started", "exemption_ended", "moved", "died",
    ]))  # fmt: skip
    at = draw(DAYS).isoformat()
    fields: dict = {"type": kind}
    if kind == "income_reported":
        fields |= {"month": at[:7], "hours": draw(st.sampled_from([0, 5, 80.16, 80.17, 120])),
                   "kind": draw(st.sampled_from(["ordinary", "apprentice", "social_frikort"]))}  # fmt: skip
    else:
        fields["at"] = at if kind != "enrolled" else draw(st.sampled_from(["2020-07-27", "2020-08-02"]))
    if kind == "enrolled":
        fields |= {"pool": "afklaringspuljen", "municipality": draw(st.sampled_from(MUNICIPALITIES))}
    elif kind == "benefit_changed":
        fields["benefit"] = draw(
            st.sampled_from(
                ["kontanthjaelp", "none", "fleksjob", "foertidspension", "ressourceforloeb", "folkepension"]
            )
        )
    elif kind.startswith("offer"):
        fields["offer"] = draw(st.sampled_from(["virksomhedspraktik", "loentilskud"]))
    elif kind == "exemption_started":
        fields["reason"] = "sygdom"
    elif kind == "moved":
        fields["municipality"] = draw(st.sampled_from(MUNICIPALITIES))
    return fields


@st.composite
def logs(draw) -> list[dict]:
    """Several citizens, each enrolled, with random facts; ids unique per citizen (no conflicts)."""
    events = []
    for citizen in draw(st.lists(st.sampled_from(CITIZENS), min_size=1, max_size=4, unique=True)):
        mine = [
            {
                "type": "enrolled",
                "at": "2020-07-30",
                "pool": "afklaringspuljen",
                "municipality": draw(st.sampled_from(MUNICIPALITIES)),
            }
        ]
        mine += draw(st.lists(event_fields(), max_size=12))
        for n, fields in enumerate(mine):
            events.append({"id": f"{citizen}{n}", "citizen": citizen, "recorded": draw(RECORDED), **fields})
    return events


def encode(events: list[dict]) -> list[bytes]:
    return [json.dumps(e).encode() for e in events]


def figures(lines: list[bytes], month: str = "2022-03", rules: Rules = Rules()) -> dict:
    """The report without its input counts (which legitimately count duplicates)."""
    r = msgspec.to_builtins(report(lines, month, rules=rules))
    r.pop("input")
    return r


@settings(max_examples=60, deadline=None)
@given(logs(), st.randoms(use_true_random=False), st.booleans())
def test_report_is_identical_under_any_permutation(events, rnd, frikort):
    lines = encode(events)
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    rules = Rules(frikort)
    assert figures(shuffled, rules=rules) == figures(lines, rules=rules)


@settings(max_examples=60, deadline=None)
@given(logs(), st.data())
def test_report_is_identical_under_duplication_of_any_lines(events, data):
    lines = encode(events)
    extra = data.draw(st.lists(st.sampled_from(lines), max_size=len(lines)))
    positions = data.draw(st.permutations(range(len(lines) + len(extra))))
    combined = [(lines + extra)[i] for i in positions]
    assert figures(combined) == figures(lines)


@settings(max_examples=60, deadline=None)
@given(logs(), st.data())
def test_retracting_an_event_equals_never_having_sent_it(events, data):
    target = data.draw(st.sampled_from(events))
    retraction = {"type": "retracted", "id": "r-" + target["id"], "citizen": target["citizen"],
                  "recorded": "2022-01-01T00:00:00Z", "event": target["id"]}  # fmt: skip
    where = data.draw(st.integers(0, len(events)))  # before or after its target
    with_retraction = events[:where] + [retraction] + events[where:]
    without = [e for e in events if e is not target]
    for month in ("2021-09", "2022-03"):
        assert figures(encode(with_retraction), month) == figures(encode(without), month)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40), st.sampled_from([b"", b"  ", b"{}", b"[]"]), logs().map(lambda e: encode(e)[0])
        ),
        max_size=30,
    )
)
def test_input_counts_always_add_up(lines):
    replay = Replay()
    rejected = []
    counts = replay.ingest_lines(lines, rejected.append)
    nonblank = [line for line in lines if line and not line.isspace()]
    assert counts.lines == len(nonblank) == counts.applied + counts.duplicates + counts.rejected
    assert counts.rejected == len(rejected)
