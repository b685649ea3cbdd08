"""The incremental per-event step equals the full derivation, after every event of any history."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.fold import STATUS_INDEX, CitizenFold
from projections.months import classify, statuses
from projections.timeline import build_timeline
from schemas.calendar import parse_month
from schemas.events import decode
from schemas.pools import Rules
from streams.admission import Admission, admit
from tests.builders import POOL

MONTHS = range(parse_month("2020-08"), parse_month("2022-12") + 1)
START = dt.date(2020, 6, 1)
KINDS = [
    "enrolled", "benefit_changed", "benefit_changed", "income_reported", "income_reported", "education_started",
    "education_ended", "offer_started", "offer_ended", "exemption_started", "exemption_ended", "moved", "died",
    "retracted",
]  # fmt: skip


@st.composite
def histories(draw) -> list[bytes]:
    """One citizen's events as JSON lines, arriving mostly in event order (the fold's fast
    path), sometimes late or early, with duplicates, retractions and a second pool."""
    lines = []
    day = 0
    ids = []
    for n in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(KINDS))
        day = max(0, day + draw(st.integers(-40, 60)))  # mostly forward in valid time
        at = (START + dt.timedelta(days=day)).isoformat()
        recorded = f"2021-0{draw(st.integers(1, 3))}-01T10:00:0{draw(st.integers(0, 3))}+01:00"
        event = {
            "type": kind,
            "id": draw(st.sampled_from([f"e{n}", f"e{n}", "dup"])),
            "citizen": "c1",
            "recorded": recorded,
        }
        if kind == "income_reported":
            event |= {"month": at[:7], "hours": draw(st.sampled_from([0, 3, 80.17, 81, 200])),
                      "kind": draw(st.sampled_from(["ordinary", "apprentice", "social_frikort"]))}  # fmt: skip
        elif kind == "retracted":
            event["event"] = draw(st.sampled_from(ids or ["nothing"]))
        else:
            event["at"] = at
        if kind == "enrolled":
            event |= {"at": draw(st.sampled_from(["2020-07-27", "2020-08-02", at])), "municipality": "101",
                      "pool": draw(st.sampled_from([POOL, POOL, "bir"]))}  # fmt: skip
            if event["pool"] == POOL and event["at"] > "2020-08-02":
                event["at"] = "2020-08-01"
        elif kind == "benefit_changed":
            event["benefit"] = draw(
                st.sampled_from(["kontanthjaelp", "none", "fleksjob", "ressourceforloeb", "folkepension"])
            )
        elif kind.startswith("offer"):
            event["offer"] = draw(st.sampled_from(["virksomhedspraktik", "loentilskud"]))
        elif kind == "exemption_started":
            event["reason"] = "sygdom"
        elif kind == "moved":
            event["municipality"] = draw(st.sampled_from(["101", "147"]))
        ids.append(event["id"])
        lines.append(json.dumps(event).encode())
    return lines


@settings(max_examples=300, deadline=None)
@given(histories(), st.booleans())
def test_the_fold_equals_the_full_derivation_after_every_event(lines, frikort):
    rules = Rules(frikort)
    fold = CitizenFold(POOL, MONTHS, rules)
    for raw in lines:
        event = decode(raw)
        if admit(fold.events, event) is Admission.APPLIED:
            fold.add(event)
        reference = CitizenFold(POOL, MONTHS, rules, fold.events.values())
        assert (fold.home, bytes(fold.vector)) == (reference.home, bytes(reference.vector))


def test_an_event_at_the_end_changes_its_month_and_every_later_one():
    fold = CitizenFold(POOL, MONTHS, Rules())
    for raw in [
        b'{"type":"enrolled","id":"1","citizen":"c","recorded":"2020-08-01T10:00:00+02:00","at":"2020-07-30","pool":"afklaringspuljen","municipality":"101"}',
        b'{"type":"benefit_changed","id":"2","citizen":"c","recorded":"2021-03-01T10:00:00+01:00","at":"2021-02-15","benefit":"fleksjob"}',
    ]:
        event = decode(raw)
        admit(fold.events, event)
        fold.add(event)
    vector = list(fold.vector)
    first = parse_month("2021-02") - MONTHS.start
    assert set(vector[:first]) == {STATUS_INDEX["not_positive"]}
    assert set(vector[first:]) == {STATUS_INDEX["flexjob"]}


@settings(max_examples=200, deadline=None)
@given(histories(), st.booleans())
def test_months_after_the_last_fact_copied_equal_months_classified_one_by_one(lines, frikort):
    """statuses() classifies one month for all those after the last fact; classify() over
    every month is the reference it must equal."""
    rules = Rules(frikort)
    events = {}
    for raw in lines:
        admit(events, decode(raw))
    timeline = build_timeline(events.values(), POOL)
    if timeline.municipality is None:
        return
    assert statuses(timeline, MONTHS, rules) == classify(timeline, list(MONTHS), rules)
