"""Properties over mixed two-pool logs: order, duplicates and retractions change no number of
either pool's report, and BIR's counts add up."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from puljemonitor.replay import Replay
from schemas import pools
from schemas.calendar import parse_month
from schemas.pools import Rules

CITIZENS = ["a", "b", "c", "d", "e"]
MUNICIPALITIES = ["101", "185", "155", "253"]
DAYS = st.dates(min_value=dt.date(2019, 6, 1), max_value=dt.date(2022, 6, 30))
RECORDED = st.sampled_from(
    ["2020-08-01T09:00:00+02:00", "2021-05-01T09:00:00+02:00", "2021-06-30T23:59:59+02:00",
     "2021-07-01T00:00:00+02:00", "2022-09-01T09:00:00+02:00"]
)  # fmt: skip
BIR_MONTHS = ("2021-02", "2021-04", "2022-03")


@st.composite
def event_fields(draw) -> dict:
    kind = draw(st.sampled_from([
        "enrolled", "benefit_changed", "benefit_changed", "income_reported", "education_started", "education_ended",
        "offer_started", "offer_ended", "exemption_started", "exemption_ended", "moved", "died",
    ]))  # fmt: skip
    at = draw(DAYS).isoformat()
    fields: dict = {"type": kind}
    if kind == "income_reported":
        fields |= {"month": at[:7], "hours": draw(st.sampled_from([0, 5, 80.16, 80.17, 120])),
                   "kind": draw(st.sampled_from(["ordinary", "apprentice", "social_frikort"]))}  # fmt: skip
        return fields
    fields["at"] = at
    if kind == "enrolled":  # a second enrollment, in either pool
        pool = draw(st.sampled_from(["afklaringspuljen", "bir"]))
        fields |= {"pool": pool, "municipality": draw(st.sampled_from(MUNICIPALITIES))}
        if pool == "afklaringspuljen":
            fields["at"] = "2020-07-28"
    elif kind == "benefit_changed":
        fields["benefit"] = draw(
            st.sampled_from(
                ["kontanthjaelp", "none", "fleksjob", "ressourceforloeb", "ressourceforloeb", "folkepension"]
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
    """Citizens enrolled in BIR, in the first pool, or both; ids unique per citizen."""
    events = []
    for citizen in draw(st.lists(st.sampled_from(CITIZENS), min_size=1, max_size=5, unique=True)):
        mine = []
        which = draw(st.sampled_from(["bir", "afklaringspuljen", "both"]))
        if which != "bir":
            mine.append({"type": "enrolled", "at": "2020-07-30", "pool": "afklaringspuljen",
                         "municipality": draw(st.sampled_from(MUNICIPALITIES))})  # fmt: skip
        if which != "afklaringspuljen":
            mine.append({"type": "enrolled", "at": draw(DAYS).isoformat(), "pool": "bir",
                         "municipality": draw(st.sampled_from(MUNICIPALITIES))})  # fmt: skip
        mine.append({"type": "benefit_changed", "at": draw(DAYS).isoformat(), "benefit": "ressourceforloeb"})
        mine += draw(st.lists(event_fields(), max_size=10))
        for n, fields in enumerate(mine):
            events.append({"id": f"{citizen}{n}", "citizen": citizen, "recorded": draw(RECORDED), **fields})
    return events


def encode(events: list[dict]) -> list[bytes]:
    return [json.dumps(e).encode() for e in events]


def figures(lines: list[bytes], rules: Rules = Rules(), as_of=None) -> dict:
    """Both pools' reports (BIR for several months), without the input counts."""
    replay = Replay()
    replay.ingest_lines(lines)
    out = {}
    for name, months in (("bir", BIR_MONTHS), ("afklaringspuljen", ("2021-04",))):
        for month in months:
            r = msgspec.to_builtins(replay.report(pools.pool(name), parse_month(month), rules, as_of))
            r.pop("input")
            out[name, month] = r
    return out


@settings(max_examples=50, deadline=None)
@given(logs(), st.randoms(use_true_random=False), st.booleans())
def test_both_reports_are_identical_under_any_permutation(events, rnd, frikort):
    lines = encode(events)
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    assert figures(shuffled, Rules(frikort)) == figures(lines, Rules(frikort))


@settings(max_examples=50, deadline=None)
@given(logs(), st.data())
def test_both_reports_are_identical_under_duplication_of_any_lines(events, data):
    lines = encode(events)
    extra = data.draw(st.lists(st.sampled_from(lines), max_size=len(lines)))
    positions = data.draw(st.permutations(range(len(lines) + len(extra))))
    assert figures([(lines + extra)[i] for i in positions]) == figures(lines)


@settings(max_examples=50, deadline=None)
@given(logs(), st.data())
def test_retracting_an_event_equals_never_having_sent_it_in_both_pools(events, data):
    target = data.draw(st.sampled_from(events))
    retraction = {"type": "retracted", "id": "r-" + target["id"], "citizen": target["citizen"],
                  "recorded": "2022-01-01T00:00:00Z", "event": target["id"]}  # fmt: skip
    where = data.draw(st.integers(0, len(events)))
    with_retraction = events[:where] + [retraction] + events[where:]
    assert figures(encode(with_retraction)) == figures(encode([e for e in events if e is not target]))


@settings(max_examples=60, deadline=None)
@given(logs(), st.booleans(), st.booleans())
def test_bir_counts_add_up(events, frikort, published):
    as_of = dt.datetime.fromisoformat("2021-07-01T00:00:00+02:00") if published else None
    for (pool, _), r in figures(encode(events), Rules(frikort), as_of).items():
        if pool != "bir":
            continue
        project, municipalities = r["project"], r["municipalities"]
        assert project["target"] == sum(m["target"] for m in municipalities.values())
        for agg in (project, *municipalities.values()):
            c = agg["categories"]
            assert agg["requirement_1"]["count"] == sum(c.values()) <= agg["target"]
            assert agg["requirement_2"]["count"] == sum(c.values()) - c["company"]
        assert set(r["indicators"]["municipalities"]) == set(municipalities)
        for code, ind in [("project", r["indicators"]["project"]), *r["indicators"]["municipalities"].items()]:
            target = project["target"] if code == "project" else municipalities[code]["target"]
            long = ind["long_without_company"]
            assert sum(ind["durations"].values()) <= target
            assert long["without"] <= long["long"] == sum(n for band, n in ind["durations"].items() if band != "0-1")
