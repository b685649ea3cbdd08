"""BIR's figures under small-number suppression (spec §9): the sums they make up, and the
one rule of projections/disclosure.py applied to them."""

from __future__ import annotations

from projections.period_disclosure import disclose_period, period_sums, period_values, undisclosed_period
from schemas import pools
from schemas.periods import Indicators, LongWithoutCompany, PeriodAggregate, PeriodCategories, RequirementResult

BIR = pools.pool("bir")


def aggregate(target: int, **categories: int) -> PeriodAggregate:
    cats = {c: categories.get(c, 0) for c in ("self_supporting", "education", "flexjob", "paid_hours", "company")}
    r2 = sum(v for c, v in cats.items() if c != "company")
    r1 = r2 + cats["company"]
    return PeriodAggregate(
        target=target,
        categories=PeriodCategories(**cats),
        requirement_1=RequirementResult(count=r1, share=r1 / target, met=None),
        requirement_2=RequirementResult(count=r2, share=r2 / target, met=None),
    )


def indicators(long: int, without: int, **bands: int) -> Indicators:
    durations = {b: bands.get(f"y{b[0]}", 0) for b in ("0-1", "1-2", "2-3", "3-4", "4+")}
    return Indicators(
        long_without_company=LongWithoutCompany(long=long, without=without, share=None), durations=durations
    )


def test_the_sums_are_target_requirement_1_requirement_2_and_the_indicators():
    values = period_values(aggregate(20, flexjob=6, company=8), indicators(14, 6, y2=14))
    assert dict(period_sums(BIR, values)) == {
        "requirement_1": ["requirement_2", "categories.company"],
        "requirement_2": [
            "categories.self_supporting",
            "categories.education",
            "categories.flexjob",
            "categories.paid_hours",
        ],
        "target": ["requirement_1", "outside"],
        "long": ["without", "with_company"],
        "courses": ["bands.0-1", "bands.1-2", "bands.2-3", "bands.3-4", "bands.4+"],
    }
    assert (values["outside"], values["with_company"], values["courses"]) == (6, 8, 14)


def test_a_shown_figure_set_hides_nothing_and_zero_is_shown():
    cells = disclose_period(BIR, aggregate(20, flexjob=6, company=8), indicators(14, 6, y2=14), 5)
    assert cells.hidden == frozenset()
    assert cells.count("categories.education") == 0 and cells.share("requirement_1", "target") == 14 / 20


def test_small_counts_hide_the_cells_that_would_give_them_away():
    # flexjob 3 hides requirement 2 (3); requirement 1 (9) is shown, so company (6) goes too;
    # 3 outside both requirements would follow from target - requirement 1: requirement 1 goes
    cells = disclose_period(BIR, aggregate(12, flexjob=3, company=6), indicators(9, 3, y2=9), 5)
    assert {"categories.flexjob", "requirement_2", "categories.company", "outside", "requirement_1"} <= cells.hidden
    assert cells.count("target") == 12 and cells.share("requirement_1", "target") is None
    # 3 of 9 long courses without company-oriented effort: the 6 with it would give it away
    assert {"without", "long"} & cells.hidden == {"without"} and "with_company" in cells.hidden
    # a long course count with 2 with company effort: the 2 hides the 7 without it
    assert "without" in disclose_period(BIR, aggregate(12, company=6), indicators(9, 7, y2=9), 5).hidden


def test_a_job_centres_own_figures_hide_nothing():
    assert undisclosed_period(aggregate(12, flexjob=3, company=6), None).count("categories.flexjob") == 3
