"""One test per rule of spec §7 (BIR), each with a hand-computed expectation.

The report of month M measures the period M−2 .. M; most tests use 2021-04, the period
2021-02-01 .. 2021-04-30 (seed 001's), and citizens enrolled in BIR on 2020-12-01.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import msgspec
import pytest

from projections.courses import whole_years, years_before
from projections.period_report import period_aggregate
from projections.periods import period_status
from projections.reports import published_cutoff
from projections.timeline import build_timeline
from puljemonitor.replay import Replay
from schemas import pools
from schemas.calendar import parse_month
from schemas.events import decode
from schemas.periods import PERIOD_CATEGORIES, PeriodAggregate
from schemas.pools import Rules
from tests.builders import History

BIR = pools.pool("bir")
FRIKORT = Rules(count_social_frikort=True)


class Bir(History):
    """A citizen enrolled in BIR (by default København, 2020-12-01), on a resource course."""

    def __init__(self, citizen: str = "b1", municipality: str = "101", enrolled: str | None = "2020-12-01",
                 course: str | None = "2019-06-01") -> None:  # fmt: skip
        super().__init__(citizen=citizen, municipality=None)
        if enrolled:
            self.add("enrolled", at=enrolled, pool="bir", municipality=municipality)
        if course:
            self.add("benefit_changed", at=course, benefit="ressourceforloeb")

    def period(self, month: str = "2021-04", rules: Rules = Rules(), as_of=None) -> str:
        timeline = build_timeline([decode(line) for line in self.lines()], "bir", as_of)
        return period_status(timeline, BIR, parse_month(month), rules)


def bir_report(lines: list[bytes], month: str = "2021-04", rules: Rules = Rules(), as_of=None) -> dict:
    replay = Replay()
    replay.ingest_lines(lines)
    return msgspec.to_builtins(replay.report(BIR, parse_month(month), rules, as_of))


def course_of(h: History, month: str = "2021-04", rules: Rules = Rules()) -> tuple[str, int, int] | None:
    """(duration band, long, without) of a lone citizen in the report's project indicators."""
    ind = bir_report(h.lines(), month, rules)["indicators"]["project"]
    bands = [band for band, n in ind["durations"].items() if n]
    if not bands:
        return None
    long = ind["long_without_company"]
    return bands[0], long["long"], long["without"]


# --- the report object ------------------------------------------------------------------


def test_the_report_has_exactly_the_keys_of_the_contract():
    r = bir_report(Bir().lines())
    assert list(r) == ["pool", "month", "period", "as_of", "rules", "input", "project", "municipalities", "indicators"]
    assert r["period"] == {"first": "2021-02", "last": "2021-04"}
    assert list(r["project"]) == ["target", "categories", "requirement_1", "requirement_2"]
    assert list(r["project"]["categories"]) == ["self_supporting", "education", "flexjob", "paid_hours", "company"]
    assert list(r["project"]["requirement_1"]) == ["count", "share", "met"]
    assert list(r["indicators"]) == ["project", "municipalities"]
    assert list(r["indicators"]["project"]) == ["long_without_company", "durations"]
    assert list(r["indicators"]["project"]["durations"]) == ["0-1", "1-2", "2-3", "3-4", "4+"]
    assert list(r["indicators"]["project"]["long_without_company"]) == ["long", "without", "share"]


def test_the_configured_requirements_are_the_reports_and_count_known_categories():
    assert list(BIR.requirements) == [f for f in PeriodAggregate.__struct_fields__ if f.startswith("requirement")]
    names = {c.name for c in PERIOD_CATEGORIES}
    assert all(set(r.categories) <= names for r in BIR.requirements.values())
    assert BIR.requirements["requirement_2"].categories == ("self_supporting", "education", "flexjob", "paid_hours")


# --- categories and their hierarchy --------------------------------------------------------


def test_nothing_positive_in_the_period_is_not_positive():
    assert Bir().period() == "not_positive"


@pytest.mark.parametrize(
    "facts, expected",
    [
        (["income_high", "none", "education", "flexjob", "income_low", "offer"], "self_supporting"),
        (["education", "flexjob", "offer", "hours"], "education"),
        (["flexjob", "hours", "offer"], "flexjob"),
        (["hours", "offer"], "paid_hours"),
        (["offer"], "company"),
        (["praktik"], "company"),
    ],
)
def test_each_category_and_the_first_match_wins(facts, expected):
    h = Bir()
    for fact in facts:
        if fact == "income_high":  # self-support in March: 6 × 90 > 481, benefit none on 31 March
            h.add("income_reported", month="2021-03", hours=90, kind="ordinary")
        elif fact == "none":
            h.add("benefit_changed", at="2021-03-01", benefit="none")
        elif fact == "education":
            h.add("education_started", at="2021-04-20")
        elif fact == "flexjob":
            h.add("benefit_changed", at="2021-04-25", benefit="fleksjob")
        elif fact == "hours":
            h.add("income_reported", month="2021-02", hours=3, kind="apprentice")
        elif fact == "offer":
            h.add("offer_started", at="2021-02-10", offer="loentilskud")
        elif fact == "praktik":
            h.add("offer_started", at="2021-02-10", offer="virksomhedspraktik")
    assert h.period() == expected


@pytest.mark.parametrize(
    "hours, benefit_on_last_day, expected",
    [
        (80.17, "none", "self_supporting"),  # 6 × 80.17 = 481.02 > 481
        (80.16, "none", "paid_hours"),  # 6 × 80.16 = 480.96
        (80.17, "ressourceforloeb", "paid_hours"),  # a benefit on the month's last day
    ],
)
def test_self_support_on_both_sides_of_the_threshold(hours, benefit_on_last_day, expected):
    h = Bir()
    h.add("benefit_changed", at="2021-02-01", benefit="none")
    h.add("income_reported", month="2021-02", hours=hours, kind="ordinary")
    if benefit_on_last_day != "none":
        h.add("benefit_changed", at="2021-02-28", benefit=benefit_on_last_day)
    assert h.period() == expected


def test_self_support_is_decided_in_one_month_not_over_the_period():
    """50 hours in each of three months is 150 in the period, but no month is over half time."""
    h = Bir()
    h.add("benefit_changed", at="2021-01-15", benefit="none")
    for month in ("2021-02", "2021-03", "2021-04"):
        h.add("income_reported", month=month, hours=50, kind="ordinary")
    assert h.period() == "paid_hours"


def test_self_support_needs_none_on_the_last_day_of_the_same_month():
    """Benefit none on 28 February, the hours in March when the benefit is back on 31 March."""
    h = Bir()
    h.add("benefit_changed", at="2021-02-01", benefit="none")
    h.add("benefit_changed", at="2021-03-15", benefit="ressourceforloeb")
    h.add("income_reported", month="2021-03", hours=120, kind="ordinary")
    assert h.period() == "paid_hours"


@pytest.mark.parametrize(
    "start, end, expected",
    [
        ("2020-11-01", "2021-02-02", "company"),  # holds on 1 February only: the period's first day
        ("2020-11-01", "2021-02-01", "not_positive"),  # ends on the first day: held until 31 January
        ("2021-04-30", None, "company"),  # starts on the period's last day
        ("2021-05-01", None, "not_positive"),  # the day after
    ],
)
def test_a_fact_touching_only_the_first_or_only_the_last_day_of_the_period(start, end, expected):
    h = Bir()
    h.add("offer_started", at=start, offer="virksomhedspraktik")
    if end:
        h.add("offer_ended", at=end, offer="virksomhedspraktik")
    assert h.period() == expected


def test_facts_before_the_enrollment_count_when_they_touch_the_period():
    h = Bir(enrolled="2021-04-15")
    h.add("education_started", at="2020-09-01")
    h.add("education_ended", at="2021-02-05")
    assert h.period() == "education"


def test_early_months_whose_period_starts_before_the_pool():
    """BIR starts in 2020-12; the report of 2020-12 measures 2020-10 .. 2020-12, unclipped."""
    h = Bir()
    h.add("offer_started", at="2020-10-01", offer="loentilskud")
    h.add("offer_ended", at="2020-10-20", offer="loentilskud")
    assert h.period("2020-12") == "company"
    assert bir_report(h.lines(), "2020-12")["period"] == {"first": "2020-10", "last": "2020-12"}
    assert h.period("2021-01") == "not_positive"


# --- target group ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, expected",
    [
        ("2021-04-30", None, "exempt"),  # holds on the period's last day
        ("2021-02-01", "2021-04-30", "not_positive"),  # ended on the last day: not held on it
        ("2021-02-01", "2021-05-01", "exempt"),
    ],
)
def test_exempt_on_the_periods_last_day_is_not_in_the_target_group(start, end, expected):
    h = Bir()
    h.add("exemption_started", at=start, reason="sygdom")
    if end:
        h.add("exemption_ended", at=end)
    assert h.period() == expected


@pytest.mark.parametrize(
    "exit_event, fields",
    [
        ("died", {"at": "2021-03-10"}),
        ("benefit_changed", {"at": "2021-04-30", "benefit": "folkepension"}),
        ("benefit_changed", {"at": "2021-02-01", "benefit": "seniorpension"}),
        ("moved", {"at": "2021-03-10", "municipality": "147"}),
    ],
)
def test_exited_inside_the_period_is_out(exit_event, fields):
    h = Bir()
    h.add("offer_started", at="2021-02-01", offer="loentilskud")
    h.add(exit_event, **fields)
    assert (h.period("2021-01"), h.period("2021-04")) == ("not_positive", "out")


def test_exited_after_the_period_is_in_it():
    h = Bir()
    h.add("died", at="2021-05-01")
    assert (h.period("2021-04"), h.period("2021-05")) == ("not_positive", "out")


@pytest.mark.parametrize(
    "enrolled, expected", [("2021-04-30", "not_positive"), ("2021-05-01", "out"), ("2021-02-01", "not_positive")]
)
def test_enrolled_on_the_periods_last_day_is_in_it_and_enrolled_after_it_is_not(enrolled, expected):
    assert Bir(enrolled=enrolled).period() == expected


def test_a_move_away_before_the_bir_enrollment_is_not_an_exit():
    h = Bir(municipality="147", enrolled="2021-01-10")
    h.add("moved", at="2020-12-20", municipality="101")
    assert h.period() == "not_positive"


def test_enrollment_is_open_at_any_date():
    assert Bir(enrolled="2022-11-30").period("2022-12") == "not_positive"


# --- requirements ---------------------------------------------------------------------------


def _counts(**by_status: int) -> Counter:
    return Counter({(status, None, None): n for status, n in by_status.items()})


def test_requirements_are_met_exactly_at_35_and_15_percent():
    agg = period_aggregate(_counts(flexjob=3, company=4, not_positive=13), BIR)
    assert agg.target == 20
    assert (agg.requirement_1.count, agg.requirement_1.share, agg.requirement_1.met) == (7, 0.35, True)
    assert (agg.requirement_2.count, agg.requirement_2.share, agg.requirement_2.met) == (3, 0.15, True)


def test_one_citizen_below_each_threshold_misses_it():
    agg = period_aggregate(_counts(flexjob=2, company=4, not_positive=14), BIR)
    assert (agg.requirement_1.count, agg.requirement_1.met) == (6, False)
    assert (agg.requirement_2.count, agg.requirement_2.met) == (2, False)


def test_out_and_exempt_are_outside_the_target_and_an_empty_target_has_no_shares():
    agg = period_aggregate(_counts(out=5, exempt=3), BIR)
    assert agg.target == 0
    assert (agg.requirement_1.share, agg.requirement_1.met, agg.requirement_2.met) == (None, None, None)
    agg = period_aggregate(_counts(out=5, exempt=3, education=1, not_positive=1), BIR)
    assert (agg.target, agg.requirement_2.share) == (2, 0.5)


def test_requirements_through_the_report_seven_of_twenty():
    lines = []
    for i in range(20):
        h = Bir(citizen=f"r{i}", municipality="147")
        if i < 3:
            h.add("benefit_changed", at="2021-03-01", benefit="fleksjob")
        elif i < 7:
            h.add("offer_started", at="2021-03-01", offer="virksomhedspraktik")
        lines += h.lines()
    r = bir_report(lines)
    assert r["project"] == r["municipalities"]["147"]
    assert r["project"]["requirement_1"] == {"count": 7, "share": 0.35, "met": True}
    assert r["project"]["requirement_2"] == {"count": 3, "share": 0.15, "met": True}


# --- indicators -----------------------------------------------------------------------------


def test_years_before_29_february_is_28_february():
    assert years_before(dt.date(2024, 2, 29), 1) == dt.date(2023, 2, 28)
    assert years_before(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)
    assert years_before(dt.date(2021, 3, 1), 1) == dt.date(2020, 3, 1)


@pytest.mark.parametrize(
    "start, day, years",
    [
        ("2020-02-29", "2021-02-28", 0),  # 2021-02-28 − 1 year = 2020-02-28 < 2020-02-29
        ("2020-02-29", "2021-03-01", 1),
        ("2020-02-28", "2021-02-28", 1),
        ("2017-04-30", "2021-04-30", 4),
        ("2017-05-01", "2021-04-30", 3),
        ("2016-02-29", "2020-02-29", 4),
        ("2016-02-29", "2020-02-28", 3),
        ("2021-04-30", "2021-04-30", 0),
    ],
)
def test_whole_years_on_a_course_at_the_boundaries(start, day, years):
    assert whole_years(dt.date.fromisoformat(start).toordinal(), dt.date.fromisoformat(day).toordinal()) == years


@pytest.mark.parametrize(
    "course, month, expected",
    [
        ("2020-02-29", "2021-02", ("0-1", 0, 0)),  # not yet a year on 28 February
        ("2020-02-29", "2021-03", ("1-2", 1, 1)),  # a year on 31 March: long, and without
        ("2020-05-01", "2021-04", ("0-1", 0, 0)),
        ("2020-04-30", "2021-04", ("1-2", 1, 1)),
        ("2017-04-30", "2021-04", ("4+", 1, 1)),
        ("2017-05-01", "2021-04", ("3-4", 1, 1)),
        ("2019-06-01", "2021-04", ("1-2", 1, 1)),
        ("2018-06-01", "2021-04", ("2-3", 1, 1)),
    ],
)
def test_duration_bands_and_long_courses(course, month, expected):
    assert course_of(Bir(course=course), month) == expected


def test_an_interrupted_course_starts_again():
    h = Bir(course="2017-01-01")
    h.add("benefit_changed", at="2020-06-01", benefit="kontanthjaelp")
    h.add("benefit_changed", at="2020-07-01", benefit="ressourceforloeb")
    assert course_of(h) == ("0-1", 0, 0)


def test_a_change_away_overridden_the_same_day_or_to_the_same_benefit_does_not_interrupt():
    h = Bir(course="2017-01-01")
    h.add("benefit_changed", at="2020-06-01", benefit="kontanthjaelp", recorded="2020-06-01T08:00:00+02:00")
    h.add("benefit_changed", at="2020-06-01", benefit="ressourceforloeb", recorded="2020-06-01T09:00:00+02:00")
    h.add("benefit_changed", at="2020-09-01", benefit="ressourceforloeb")
    assert course_of(h) == ("4+", 1, 1)


def test_not_on_a_course_on_the_months_last_day_is_not_in_the_indicators():
    h = Bir(course="2017-01-01")
    h.add("benefit_changed", at="2021-04-30", benefit="fleksjob")
    assert course_of(h) is None
    assert Bir(course=None).period() == "not_positive" and course_of(Bir(course=None)) is None


def test_an_exempt_citizen_is_not_in_the_indicators():
    h = Bir(course="2017-01-01")
    h.add("exemption_started", at="2021-04-01", reason="sygdom")
    assert course_of(h) is None


@pytest.mark.parametrize(
    "event, fields, without",
    [
        ("offer_started", {"at": "2020-04-01", "offer": "loentilskud"}, 0),  # still open: touches all twelve
        ("offer_ended_may", {}, 0),  # held on 1 May 2020, the first day of M−11
        ("offer_ended_april", {}, 1),  # ended on 1 May 2020: held until 30 April, before M−11
        ("income_reported", {"month": "2020-05", "hours": 2, "kind": "ordinary"}, 0),
        ("income_reported", {"month": "2020-04", "hours": 2, "kind": "ordinary"}, 1),
        ("income_reported", {"month": "2021-04", "hours": 2, "kind": "social_frikort"}, 1),
    ],
)
def test_long_without_company_looks_at_the_twelve_months_up_to_m(event, fields, without):
    h = Bir(course="2017-01-01")
    if event.startswith("offer_ended"):
        h.add("offer_started", at="2020-03-01", offer="virksomhedspraktik")
        h.add("offer_ended", at="2020-05-02" if event.endswith("may") else "2020-05-01", offer="virksomhedspraktik")
    else:
        h.add(event, **fields)
    assert course_of(h) == ("4+", 1, without)


def test_social_frikort_hours_are_company_effort_only_under_the_variant():
    h = Bir(course="2017-01-01")
    h.add("income_reported", month="2021-01", hours=2, kind="social_frikort")
    assert course_of(h) == ("4+", 1, 1)
    assert course_of(h, rules=FRIKORT) == ("4+", 1, 0)


def test_the_indicator_share_is_null_without_long_courses():
    r = bir_report(Bir(course="2021-01-01").lines())
    assert r["indicators"]["project"]["long_without_company"] == {"long": 0, "without": 0, "share": None}


# --- rule variant, both pools, retraction, cut-off ------------------------------------------


@pytest.mark.parametrize(
    "hours, rules, expected",
    [
        (100, Rules(), "not_positive"),
        (100, FRIKORT, "self_supporting"),  # category 1
        (10, FRIKORT, "paid_hours"),  # category 4
    ],
)
def test_social_frikort_counts_in_categories_1_and_4_only_under_the_variant(hours, rules, expected):
    h = Bir(course=None)
    h.add("benefit_changed", at="2021-01-01", benefit="none")
    h.add("income_reported", month="2021-03", hours=hours, kind="social_frikort")
    assert h.period(rules=rules) == expected


def test_a_citizen_in_both_pools_has_each_pools_own_enrollment():
    h = History(citizen="both", municipality="101", enrolled="2020-07-30")  # Afklaringspuljen in København
    h.add("benefit_changed", at="2019-01-01", benefit="kontanthjaelp")
    h.add("moved", at="2020-11-15", municipality="147")  # leaves the first pool (a move away from 101)
    h.add("enrolled", at="2021-01-10", pool="bir", municipality="147")  # BIR in Frederiksberg, after the move
    h.add("benefit_changed", at="2021-01-10", benefit="ressourceforloeb")
    h.add("offer_started", at="2021-03-01", offer="loentilskud")
    assert h.statuses("2020-10", "2020-11", "2021-04") == ["not_positive", "out", "out"]
    r = bir_report(h.lines())
    assert list(r["municipalities"]) == ["147"] and r["project"]["categories"]["company"] == 1
    # and the BIR enrollment does not make the citizen enrolled in the first pool
    only_bir = History(citizen="b", municipality=None)
    only_bir.add("enrolled", at="2020-12-01", pool="bir", municipality="101")
    assert only_bir.status("2021-04") == "out"


def test_a_first_pool_enrollment_does_not_enroll_in_bir():
    h = History(citizen="a", municipality="101")
    r = bir_report(h.lines())
    assert (r["project"]["target"], r["municipalities"]) == (0, {})


def test_retracting_the_bir_enrollment_takes_the_citizen_out():
    h = Bir()
    enrollment = h.events[0]
    h.add("offer_started", at="2021-03-01", offer="loentilskud")
    h.add("retracted", event=enrollment["id"])
    assert h.period() == "out"
    r = bir_report(h.lines())
    assert (r["project"]["target"], r["municipalities"]) == (0, {})


def test_the_as_published_cut_off_of_a_bir_month():
    """2021-04 is published at the end of June 2021: events recorded from 1 July (Copenhagen) are late."""
    cutoff = published_cutoff(BIR, parse_month("2021-04"))
    assert cutoff.isoformat() == "2021-07-01T00:00:00+02:00"
    on_time, late = Bir(citizen="t"), Bir(citizen="l", municipality="147")
    on_time.add("offer_started", at="2021-04-01", offer="loentilskud", recorded="2021-06-30T23:59:59+02:00")
    late.add("offer_started", at="2021-04-01", offer="loentilskud", recorded="2021-07-01T00:00:00+02:00")
    published = bir_report(on_time.lines() + late.lines(), as_of=cutoff)
    assert published["as_of"] == "2021-07-01T00:00:00+02:00"
    assert published["municipalities"]["101"]["categories"]["company"] == 1
    assert published["municipalities"]["147"]["categories"]["company"] == 0
    assert bir_report(on_time.lines() + late.lines())["project"]["categories"]["company"] == 2


def test_an_enrollment_recorded_after_the_cut_off_is_not_in_the_published_report():
    h = Bir(course=None)
    h.events[0]["recorded"] = "2021-07-02T10:00:00+02:00"
    r = bir_report(h.lines(), as_of=published_cutoff(BIR, parse_month("2021-04")))
    assert (r["project"]["target"], r["municipalities"], r["input"]["applied"]) == (0, {}, 1)


def test_municipalities_hold_every_enrolling_municipality_with_zeros():
    early, gone = Bir(citizen="e", municipality="101"), Bir(citizen="g", municipality="147")
    gone.add("died", at="2021-01-05")
    r = bir_report(early.lines() + gone.lines())
    assert list(r["municipalities"]) == ["101", "147"]
    assert r["municipalities"]["147"]["target"] == 0
    assert list(r["indicators"]["municipalities"]) == ["101", "147"]
    assert json.dumps(r["indicators"]["municipalities"]["147"]["durations"]) == (
        '{"0-1": 0, "1-2": 0, "2-3": 0, "3-4": 0, "4+": 0}'
    )
