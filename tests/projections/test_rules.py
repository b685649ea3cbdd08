"""One test per rule of spec §3, each with a hand-computed expectation."""

from datetime import date

import pytest

from schemas.pools import Rules
from tests.builders import History

FRIKORT = Rules(count_social_frikort=True)


def on_benefit(benefit: str, at: str = "2021-03-10", **kw) -> History:
    h = History(**kw)
    h.add("benefit_changed", at="2019-01-01", benefit="kontanthjaelp")
    h.add("benefit_changed", at=at, benefit=benefit)
    return h


# --- enrollment -------------------------------------------------------------------------


def test_out_before_enrollment_and_in_from_the_enrollment_month():
    h = History(enrolled="2020-07-30")
    assert h.statuses("2020-06", "2020-07", "2020-08") == ["out", "not_positive", "not_positive"]


def test_never_enrolled_is_out_everywhere():
    h = History(municipality=None)
    h.add("benefit_changed", at="2021-01-01", benefit="foertidspension")
    assert h.statuses("2020-08", "2022-06") == ["out", "out"]


def test_second_enrollment_earliest_in_event_order_counts_and_warns():
    h = History(citizen="c", municipality=None)
    h.add("enrolled", at="2020-07-31", pool="afklaringspuljen", municipality="147")
    h.add("enrolled", at="2020-07-28", pool="afklaringspuljen", municipality="101")
    t = h.timeline()
    assert t.municipality == "101"
    assert any("second enrollment" in w for w in t.warnings)


def test_enrollment_in_another_pool_does_not_enroll_here():
    h = History(municipality=None)
    h.add("enrolled", at="2021-01-01", pool="bir", municipality="101")
    assert h.status("2021-06") == "out"


# --- permanent exit --------------------------------------------------------------------


@pytest.mark.parametrize("route", ["died", "seniorpension", "folkepension", "moved"])
def test_each_exit_route_is_out_from_the_exit_month_on(route):
    h = History()
    if route == "died":
        h.add("died", at="2021-05-31")
    elif route == "moved":
        h.add("moved", at="2021-05-31", municipality="147")
    else:
        h.add("benefit_changed", at="2021-05-31", benefit=route)
    assert h.statuses("2021-04", "2021-05", "2021-06", "2023-01") == ["not_positive", "out", "out", "out"]


def test_moving_back_does_not_bring_a_citizen_back():
    h = History()
    h.add("moved", at="2021-02-10", municipality="147")
    h.add("moved", at="2021-04-01", municipality="101")
    assert h.statuses("2021-01", "2021-02", "2021-05") == ["not_positive", "out", "out"]


def test_no_later_event_brings_an_exited_citizen_back_and_it_is_a_warning():
    h = History()
    h.add("died", at="2021-02-10")
    h.add("benefit_changed", at="2021-06-01", benefit="foertidspension")
    assert h.status("2021-07") == "out"
    assert any("after the exit" in w for w in h.timeline().warnings)


def test_a_move_before_enrollment_is_not_an_exit():
    h = History(enrolled="2020-07-30")
    h.add("moved", at="2020-03-01", municipality="147")
    assert h.status("2021-01") == "not_positive"


def test_a_move_within_the_enrolling_municipality_is_not_an_exit():
    h = History()
    h.add("moved", at="2021-03-01", municipality="101")
    assert h.status("2021-04") == "not_positive"


def test_taarnby_to_dragoer_is_a_move_away():
    h = History(municipality="185")
    h.add("moved", at="2021-03-01", municipality="155")
    assert h.statuses("2021-02", "2021-03") == ["not_positive", "out"]


@pytest.mark.parametrize("route", ["died", "folkepension"])
def test_death_or_pension_before_enrollment_is_out_in_every_month(route):
    h = History(enrolled="2020-07-30")
    if route == "died":
        h.add("died", at="2020-07-10")
    else:
        h.add("benefit_changed", at="2020-07-10", benefit=route)
    assert h.statuses("2020-07", "2020-08", "2022-01") == ["out", "out", "out"]


def test_a_pension_overridden_the_same_day_still_exits():
    h = History()
    h.add("benefit_changed", at="2021-03-15", benefit="folkepension", recorded="2021-03-15T08:00:00+01:00")
    h.add("benefit_changed", at="2021-03-15", benefit="kontanthjaelp", recorded="2021-03-15T09:00:00+01:00")
    assert h.statuses("2021-02", "2021-03") == ["not_positive", "out"]


def test_retracting_the_exit_event_brings_the_citizen_back():
    h = History()
    died = h.add("died", at="2021-03-15")
    h.add("retracted", event=died["id"])
    assert h.status("2021-06") == "not_positive"


# --- exemption -------------------------------------------------------------------------


def test_exemption_counts_only_when_it_holds_on_the_last_day_of_the_month():
    h = History()
    h.add("exemption_started", at="2021-03-31", reason="sygdom")  # holds on Mar 31
    h.add("exemption_ended", at="2021-05-10")  # mid-May: no longer on May 31
    assert h.statuses("2021-02", "2021-03", "2021-04", "2021-05") == [
        "not_positive",
        "exempt",
        "exempt",
        "not_positive",
    ]


def test_an_exemption_ended_on_the_last_day_does_not_hold_that_day():
    h = History()
    h.add("exemption_started", at="2021-03-01", reason="barsel")
    h.add("exemption_ended", at="2021-03-31")
    assert h.status("2021-03") == "not_positive"


def test_exemption_beats_a_positive_category():
    h = on_benefit("foertidspension", at="2021-03-01")
    h.add("exemption_started", at="2021-03-05", reason="sygdom")
    assert h.status("2021-03") == "exempt"


# --- positive categories and the hierarchy ---------------------------------------------


@pytest.mark.parametrize(
    "benefit, expected",
    [("fleksjob", "flexjob"), ("foertidspension", "foertidspension"), ("ressourceforloeb", "ressourceforloeb"),
     ("ledighedsydelse", "ledighedsydelse"), ("revalidering", "revalidering")],
)  # fmt: skip
def test_each_positive_benefit(benefit, expected):
    assert on_benefit(benefit).statuses("2021-02", "2021-03") == ["not_positive", expected]


@pytest.mark.parametrize(
    "benefit", ["kontanthjaelp", "sygedagpenge", "forrevalidering", "uddannelseshjaelp", "none", "integrationsydelse"]
)
def test_cash_benefits_sickness_prerehabilitation_and_no_benefit_are_not_positive(benefit):
    assert on_benefit(benefit).status("2021-04") == "not_positive"


def test_unknown_benefit_is_not_positive():
    assert History().status("2021-04") == "not_positive"


@pytest.mark.parametrize("offer", ["virksomhedspraktik", "loentilskud"])
def test_each_company_offer(offer):
    h = History()
    h.add("offer_started", at="2021-03-20", offer=offer)
    h.add("offer_ended", at="2021-05-01", offer=offer)
    assert h.statuses("2021-02", "2021-03", "2021-04", "2021-05") == ["not_positive", offer, offer, "not_positive"]


def test_education_touching_the_month():
    h = History()
    h.add("education_started", at="2021-08-31")
    assert h.statuses("2021-07", "2021-08", "2022-01") == ["not_positive", "education", "education"]


def full_house() -> History:
    """Every positive fact at once in March 2021, so only the hierarchy decides."""
    h = History()
    h.add("benefit_changed", at="2021-03-01", benefit="revalidering")
    h.add("benefit_changed", at="2021-03-05", benefit="ledighedsydelse")
    h.add("benefit_changed", at="2021-03-09", benefit="ressourceforloeb")
    h.add("benefit_changed", at="2021-03-13", benefit="foertidspension")
    h.add("benefit_changed", at="2021-03-17", benefit="fleksjob")
    h.add("benefit_changed", at="2021-03-21", benefit="none")
    h.add("offer_started", at="2021-03-01", offer="virksomhedspraktik")
    h.add("offer_started", at="2021-03-01", offer="loentilskud")
    h.add("education_started", at="2021-03-01")
    h.add("income_reported", month="2021-03", hours=100, kind="ordinary")
    return h


def test_hierarchy_order_first_match_wins():
    """Remove the winner one by one: the next category of the table must win each time."""
    h = full_house()
    assert h.status("2021-03") == "self_supporting"
    h.events[-1]["hours"] = 10  # not self-supporting any more; paid hours still holds further down
    assert h.status("2021-03") == "education"
    h.events = [e for e in h.events if e["type"] != "education_started"]
    assert h.status("2021-03") == "flexjob"
    h.events = [e for e in h.events if e.get("benefit") != "fleksjob"]
    assert h.status("2021-03") == "paid_hours"
    h.events = [e for e in h.events if e["type"] != "income_reported"]
    expected = ["foertidspension", "ressourceforloeb", "ledighedsydelse", "revalidering"]
    for benefit in expected:
        assert h.status("2021-03") == benefit
        h.events = [e for e in h.events if e.get("benefit") != benefit]
    assert h.status("2021-03") == "loentilskud"
    h.events = [e for e in h.events if e.get("offer") != "loentilskud"]
    assert h.status("2021-03") == "virksomhedspraktik"
    h.events = [e for e in h.events if e.get("offer") != "virksomhedspraktik"]
    assert h.status("2021-03") == "not_positive"


# --- income: self-support and paid hours -------------------------------------------------


@pytest.mark.parametrize(
    "benefit, hours, expected",
    [
        ("none", 80.17, "self_supporting"),  # 6 × 80.17 = 481.02 > 481
        ("none", 80.16, "paid_hours"),  # 6 × 80.16 = 480.96
        ("none", 481 / 6, "paid_hours"),  # exactly half: not above
        ("kontanthjaelp", 160, "paid_hours"),  # on a benefit: never self-supporting
        ("none", 0, "not_positive"),  # no benefit, no income: not positive
    ],
)
def test_self_supporting_versus_paid_hours(benefit, hours, expected):
    h = on_benefit(benefit, at="2021-02-01")
    h.add("income_reported", month="2021-03", hours=hours, kind="ordinary")
    assert h.status("2021-03") == expected


def test_self_support_needs_no_benefit_on_the_last_day():
    h = on_benefit("none", at="2021-02-01")
    h.add("benefit_changed", at="2021-03-31", benefit="kontanthjaelp")
    h.add("income_reported", month="2021-03", hours=120, kind="ordinary")
    assert h.status("2021-03") == "paid_hours"


def test_several_reports_of_one_month_add_up_apprentice_included():
    h = on_benefit("none", at="2021-02-01")
    h.add("income_reported", month="2021-03", hours=50, kind="ordinary")
    h.add("income_reported", month="2021-03", hours=31, kind="apprentice")
    assert h.status("2021-03") == "self_supporting"


def test_social_frikort_counts_only_under_the_variant_for_both_categories():
    h = on_benefit("none", at="2021-02-01")
    h.add("income_reported", month="2021-03", hours=90, kind="social_frikort")
    h.add("income_reported", month="2021-04", hours=10, kind="social_frikort")
    assert h.statuses("2021-03", "2021-04") == ["not_positive", "not_positive"]
    assert h.statuses("2021-03", "2021-04", rules=FRIKORT) == ["self_supporting", "paid_hours"]


def test_income_counts_only_in_its_own_month():
    h = History()
    h.add("income_reported", month="2021-03", hours=10, kind="ordinary")
    assert h.statuses("2021-02", "2021-03", "2021-04") == ["not_positive", "paid_hours", "not_positive"]


# --- re-entry and month edges ---------------------------------------------------------


def test_re_entry_after_a_positive_spell():
    h = History()
    h.add("benefit_changed", at="2019-01-01", benefit="kontanthjaelp")
    h.add("benefit_changed", at="2021-05-10", benefit="fleksjob")
    h.add("benefit_changed", at="2022-02-01", benefit="kontanthjaelp")
    assert h.statuses("2021-04", "2021-05", "2022-01", "2022-02", "2022-03") == [
        "not_positive", "flexjob", "flexjob", "not_positive", "not_positive",
    ]  # fmt: skip


def test_a_job_in_2021_counts_in_2022_only_if_it_still_holds():
    h = History()
    h.add("education_started", at="2021-09-01")
    h.add("education_ended", at="2021-12-20")
    assert h.statuses("2021-12", "2022-01") == ["education", "not_positive"]


def test_half_open_intervals_at_month_edges():
    h = History()
    h.add("offer_started", at="2021-03-31", offer="loentilskud")  # holds on its first day
    h.add("offer_ended", at="2021-05-01", offer="loentilskud")  # no longer holds on May 1
    assert h.statuses("2021-02", "2021-03", "2021-04", "2021-05") == [
        "not_positive",
        "loentilskud",
        "loentilskud",
        "not_positive",
    ]


def test_a_benefit_ending_on_the_first_of_the_month_does_not_touch_it():
    h = on_benefit("foertidspension", at="2021-01-15")
    h.add("benefit_changed", at="2021-03-01", benefit="kontanthjaelp")
    assert h.statuses("2021-02", "2021-03") == ["foertidspension", "not_positive"]


def test_same_day_start_then_end_leaves_an_empty_interval():
    h = History()
    h.add("education_started", at="2021-03-10", recorded="2021-03-10T08:00:00+01:00")
    h.add("education_ended", at="2021-03-10", recorded="2021-03-10T09:00:00+01:00")
    assert h.status("2021-03") == "not_positive"


def test_same_day_end_then_start_keeps_the_fact_holding():
    h = History()
    h.add("exemption_started", at="2021-02-01", reason="sygdom")
    h.add("exemption_ended", at="2021-03-31", recorded="2021-03-31T08:00:00+02:00")
    h.add("exemption_started", at="2021-03-31", reason="barsel", recorded="2021-03-31T09:00:00+02:00")
    assert h.statuses("2021-03", "2021-04") == ["exempt", "exempt"]


def test_same_day_order_falls_back_to_id_when_recorded_is_equal():
    h = History()
    h.add("benefit_changed", at="2021-03-10", benefit="fleksjob", id="b")
    h.add("benefit_changed", at="2021-03-10", benefit="kontanthjaelp", id="a")
    assert h.status("2021-03") == "flexjob"  # "b" sorts after "a", so it is the day's last change


def test_same_day_overridden_benefit_does_not_touch_the_month():
    h = History()
    h.add("benefit_changed", at="2021-03-10", benefit="foertidspension", recorded="2021-03-10T08:00:00+01:00")
    h.add("benefit_changed", at="2021-03-10", benefit="kontanthjaelp", recorded="2021-03-10T09:00:00+01:00")
    assert h.status("2021-03") == "not_positive"


def test_sequence_anomalies_are_applied_with_warnings_not_rejections():
    h = History()
    h.add("education_ended", at="2021-01-05")
    h.add("education_started", at="2021-02-01")
    h.add("education_started", at="2021-03-01")
    h.add("education_ended", at="2021-04-01")
    t = h.timeline()
    assert t.education == [(date(2021, 2, 1).toordinal(), date(2021, 4, 1).toordinal())]
    assert h.statuses("2021-01", "2021-02", "2021-03", "2021-04") == [
        "not_positive",
        "education",
        "education",
        "not_positive",
    ]
    assert sum("nothing open" in w for w in t.warnings) == 1
    assert sum("already open" in w for w in t.warnings) == 1


# --- retraction ------------------------------------------------------------------------


def test_retraction_is_as_if_the_event_never_happened():
    h = on_benefit("foertidspension", at="2021-03-10")
    wrong = h.events[-1]
    h.add("retracted", event=wrong["id"])
    assert h.status("2021-04") == "not_positive"


def test_retraction_arriving_before_its_target_takes_effect_when_it_arrives():
    h = History()
    h.add("retracted", event="late")
    assert any("has not arrived" in w for w in h.timeline().warnings)
    h.add("benefit_changed", at="2021-03-10", benefit="foertidspension", id="late")
    assert h.status("2021-04") == "not_positive"
    assert not h.timeline().warnings


def test_a_retraction_of_a_retraction_has_no_effect():
    h = on_benefit("foertidspension", at="2021-03-10")
    first = h.add("retracted", event=h.events[-1]["id"])
    h.add("retracted", event=first["id"])
    assert h.status("2021-04") == "not_positive"
    assert any("a retraction" in w for w in h.timeline().warnings)
