"""Aggregates, the requirement, participants and cut-offs (spec §4–§6)."""

import datetime as dt
import json
from collections import Counter
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.aggregates import Tallies, aggregate
from projections.reports import participant_results, published_cutoff, window_months
from schemas import pools
from schemas.calendar import format_month, parse_month
from schemas.pools import Rules
from tests.builders import History, report

POOL = pools.pool("afklaringspuljen")


def citizens(
    municipality: str, positive: int, negative: int, *, at: str = "2022-01-10", prefix: str = ""
) -> list[bytes]:
    """``positive`` citizens on foertidspension from ``at`` and ``negative`` on kontanthjaelp."""
    lines = []
    for i in range(positive + negative):
        h = History(citizen=f"{prefix}{municipality}x{i}", municipality=municipality)
        h.add("benefit_changed", at="2019-01-01", benefit="kontanthjaelp")
        if i < positive:
            h.add("benefit_changed", at=at, benefit="foertidspension")
        lines += h.lines()
    return lines


def test_report_has_exactly_the_keys_of_the_contract():
    r = json.loads(msgspec.json.encode(report(citizens("101", 1, 1), "2022-03")))
    assert list(r) == ["pool", "month", "as_of", "rules", "input", "project", "national", "municipalities",
                       "participants", "achieved_count", "participant_count"]  # fmt: skip
    assert list(r["project"]) == [
        "enrolled",
        "exempt",
        "measured",
        "positive",
        "share",
        "groups",
        "categories",
        "requirement_met",
    ]
    assert list(r["project"]["groups"]) == ["employment", "other_benefit", "company"]
    assert len(r["project"]["categories"]) == 10
    assert list(r["participants"]["København"]) == ["codes", "aggregate", "achieved", "best_month", "best_share"]


@pytest.mark.parametrize(
    "positive, negative, met", [(4, 1, True), (3, 1, False), (8, 2, True), (79, 21, False), (0, 0, None)]
)
def test_requirement_is_compared_exactly(positive, negative, met):
    r = report(citizens("101", positive, negative), "2022-03")
    assert r.municipalities.get("101", r.project).requirement_met is met
    assert r.participants["København"].aggregate.requirement_met is met


def test_exempt_citizens_are_enrolled_but_not_measured():
    h = History(citizen="ex", municipality="101")
    h.add("exemption_started", at="2022-01-01", reason="sygdom")
    r = report(citizens("101", 4, 0) + h.lines(), "2022-03")
    agg = r.municipalities["101"]
    assert (agg.enrolled, agg.exempt, agg.measured, agg.positive, agg.share) == (5, 1, 4, 4, 1.0)


def test_participants_project_and_nation():
    lines = citizens("185", 2, 0) + citizens("155", 0, 2) + citizens("253", 1, 0)  # 253 Greve is no participant
    r = report(lines, "2022-03")
    taarnby = r.participants["Tårnby/Dragør"]
    assert taarnby.codes == ["185", "155"]
    assert (taarnby.aggregate.enrolled, taarnby.aggregate.positive) == (4, 2)
    assert (r.project.enrolled, r.national.enrolled) == (4, 5)
    assert r.participant_count == len(r.participants) == 57
    assert sorted(r.municipalities) == ["155", "185", "253"]


def test_a_municipality_whose_citizens_all_left_is_reported_with_zeros():
    h = History(citizen="gone", municipality="147")
    h.add("died", at="2021-01-01")
    r = report(citizens("101", 1, 0) + h.lines(), "2022-03")
    assert r.municipalities["147"].enrolled == 0 and r.municipalities["147"].share is None
    assert r.participants["Frederiksberg"].best_month is None and r.participants["Frederiksberg"].best_share is None


def test_achieved_needs_a_window_month_not_after_the_report_month():
    # 101 meets 4/5 only from 2023-03; 147 only from 2023-04, after the window closed.
    lines = citizens("101", 4, 1, at="2023-03-20") + citizens("147", 4, 1, at="2023-04-02")
    before, last, after = (report(lines, m) for m in ("2023-02", "2023-03", "2023-04"))
    assert before.participants["København"].achieved is False
    assert last.participants["København"].achieved is True and last.participants["København"].best_month == "2023-03"
    assert after.participants["København"].achieved is True
    assert after.participants["Frederiksberg"].achieved is False
    assert after.participants["Frederiksberg"].aggregate.requirement_met is True  # met, but outside the window
    assert (last.achieved_count, after.achieved_count) == (1, 1)


def test_best_month_is_the_earliest_month_with_the_highest_share():
    lines = citizens("101", 2, 2, at="2022-03-05")  # 0 % in Jan–Feb, 50 % from March on
    r = report(lines, "2022-08")
    p = r.participants["København"]
    assert (p.best_month, p.best_share, p.achieved) == ("2022-03", 0.5, False)


def test_as_published_cutoff_is_the_first_instant_of_month_plus_three_in_copenhagen():
    cutoff = published_cutoff(POOL, parse_month("2021-09"))
    assert cutoff.isoformat() == "2021-12-01T00:00:00+01:00"
    assert published_cutoff(POOL, parse_month("2022-03")).isoformat() == "2022-06-01T00:00:00+02:00"


@pytest.mark.parametrize(
    "recorded, counted",
    [
        ("2021-11-30T23:59:59+01:00", True),
        ("2021-12-01T00:00:00+01:00", False),
        ("2021-11-30T22:59:59Z", True),
        ("2021-11-30T23:00:00Z", False),
    ],
)
def test_as_published_boundary(recorded, counted):
    h = History(citizen="late", municipality="101")
    h.add("benefit_changed", at="2021-09-10", benefit="foertidspension", recorded=recorded)
    cutoff = published_cutoff(POOL, parse_month("2021-09"))
    published, now = report(h.lines(), "2021-09", as_of=cutoff), report(h.lines(), "2021-09")
    assert published.as_of == "2021-12-01T00:00:00+01:00" and now.as_of is None
    assert published.project.positive == (1 if counted else 0)
    assert now.project.positive == 1


def test_cutoff_selects_among_events_applied_on_the_whole_log():
    h = History(citizen="c", municipality="101")
    h.add("benefit_changed", at="2021-09-10", benefit="foertidspension", id="b", recorded="2022-01-05T00:00:00+01:00")
    h.add("benefit_changed", at="2021-09-10", benefit="revalidering", id="b", recorded="2021-10-05T00:00:00+02:00")
    cutoff = dt.datetime.fromisoformat("2021-12-01T00:00:00+01:00")
    r = report(h.lines(), "2021-09", as_of=cutoff)
    assert (r.input.applied, r.input.rejected) == (2, 1)  # input describes the whole log
    assert r.project.positive == 0  # the conflicting revalidering was rejected; the applied one is too late


def test_enrollment_after_the_cutoff_drops_the_municipality():
    h = History(citizen="c", municipality=None)
    h.add(
        "enrolled", at="2020-07-30", pool="afklaringspuljen", municipality="147", recorded="2022-01-05T00:00:00+01:00"
    )
    r = report(citizens("101", 1, 0) + h.lines(), "2021-09", as_of=published_cutoff(POOL, parse_month("2021-09")))
    assert "147" not in r.municipalities


def test_social_frikort_variant_is_stated_and_applied():
    h = History(citizen="f", municipality="101")
    h.add("income_reported", month="2022-03", hours=12, kind="social_frikort")
    plain, variant = report(h.lines(), "2022-03"), report(h.lines(), "2022-03", rules=Rules(True))
    assert (plain.rules.count_social_frikort, plain.project.positive) == (False, 0)
    assert (variant.rules.count_social_frikort, variant.project.categories.paid_hours) == (True, 1)


def test_tallies_of_disjoint_citizens_add_up_key_by_key():
    sep, okt = parse_month("2021-09"), parse_month("2021-10")
    mine = Tallies({("101", sep): Counter(exempt=2, out=1)})
    theirs = Tallies({("101", sep): Counter(exempt=1, not_positive=4), ("147", okt): Counter(education=3)})
    assert mine.add(theirs) is mine
    assert mine == {
        ("101", sep): Counter(exempt=3, out=1, not_positive=4),
        ("147", okt): Counter(education=3),
    }
    assert theirs[("101", sep)] == Counter(exempt=1, not_positive=4)  # the added tallies are left as they were


@settings(max_examples=60, deadline=None)
@given(
    shares=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40),
    asked=st.lists(st.integers(0, 60), min_size=1, max_size=12, unique=True),
)
def test_a_participants_months_read_together_equal_the_definition_month_by_month(shares, asked):
    """``participant_results`` walks the window once for every month asked; each month must still
    be what spec §5 says: achieved if any window month so far met the requirement, and the best
    share of those months, the earliest on a tie."""
    (participant, *_) = POOL.participants
    first = parse_month(POOL.window_first) - 3
    counts = {first + i: Counter(foertidspension=p, not_positive=n) for i, (p, n) in enumerate(shares)}
    months = [first + a for a in asked]
    results = participant_results(lambda m: counts.get(m, Counter()), participant, POOL, months)
    for month in months:
        window = [m for m in window_months(POOL, month) if aggregate(counts.get(m, Counter()), POOL).measured]
        aggregates = {m: aggregate(counts[m], POOL) for m in window}
        best = max(window, key=lambda m: (Fraction(aggregates[m].positive, aggregates[m].measured), -m), default=None)
        result = results[month]
        assert result.achieved == any(aggregates[m].requirement_met for m in window)
        assert result.best_month == (format_month(best) if best is not None else None)
        assert result.aggregate == aggregate(counts.get(month, Counter()), POOL)
