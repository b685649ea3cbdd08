"""Small-number suppression (spec §9), case by case."""

from collections import Counter

from projections.aggregates import aggregate
from projections.disclosure import disclose, is_small, undisclosed
from schemas import pools

POOL = pools.pool("afklaringspuljen")
MIN_CELL = pools.configuration().disclosure.min_cell


def agg(**statuses):
    return aggregate(Counter(statuses), POOL)


def test_the_minimum_cell_size_comes_from_the_configuration():
    assert MIN_CELL == 5


def test_counts_from_one_to_four_are_hidden_and_zero_and_five_are_shown():
    assert [is_small(n, 5) for n in range(7)] == [False, True, True, True, True, False, False]


def test_a_count_of_one_to_four_is_hidden():
    d = disclose(agg(not_positive=20, exempt=3), MIN_CELL)
    assert d.count("exempt") is None
    assert d.count("positive") == 0  # zero is shown


def test_a_zero_count_is_shown_not_hidden():
    d = disclose(agg(not_positive=20, foertidspension=10), MIN_CELL)
    assert d.count("exempt") == 0
    assert d.count("groups.employment") == 0
    assert d.count("categories.self_supporting") == 0
    assert d.hidden == frozenset()


def test_a_share_is_hidden_when_its_numerator_or_denominator_is():
    d = disclose(agg(not_positive=2, self_supporting=1, education=1), MIN_CELL)
    assert d.count("measured") is None and d.count("positive") is None
    assert d.share("positive", "measured") is None
    d = disclose(agg(not_positive=30, self_supporting=2, education=6, foertidspension=10), MIN_CELL)
    assert d.share("categories.self_supporting", "measured") is None
    assert d.share("categories.foertidspension", "measured") == 10 / 48


def test_one_hidden_part_of_a_shown_total_hides_the_smallest_other_non_zero_part():
    # enrolled 40 = exempt 3 + measured 37: measured is hidden too, or 40 - 37 gives 3
    d = disclose(agg(not_positive=37, exempt=3), MIN_CELL)
    assert {"exempt", "measured"} <= d.hidden
    assert d.count("enrolled") == 40
    # the groups of 30 positives: 2 (hidden) + 8 + 20 → the 8 is hidden too, the 20 is shown
    d = disclose(agg(not_positive=10, self_supporting=2, foertidspension=20, loentilskud=8), MIN_CELL)
    assert {"groups.employment", "groups.company"} <= d.hidden
    assert d.count("groups.other_benefit") == 20
    # the categories of a group: 3 (hidden) + 0 + 6 + 9 → the 6 is hidden, not the zero
    d = disclose(agg(not_positive=10, foertidspension=9, ressourceforloeb=6, revalidering=3), MIN_CELL)
    assert {"categories.revalidering", "categories.ressourceforloeb"} <= d.hidden
    assert d.count("categories.ledighedsydelse") == 0
    assert d.count("categories.foertidspension") == 9


def test_a_total_hidden_to_protect_a_neighbour_cannot_be_added_up_from_its_parts():
    # company 6 is hidden beside other_benefit 3; its categories 6 + 0 would give it back
    d = disclose(agg(not_positive=1, foertidspension=3, virksomhedspraktik=6), MIN_CELL)
    assert {"groups.other_benefit", "groups.company", "categories.virksomhedspraktik"} <= d.hidden
    assert d.count("categories.loentilskud") == 0
    assert d.count("positive") == 9


def test_two_hidden_parts_need_no_further_hiding():
    d = disclose(agg(not_positive=30, self_supporting=2, education=3, flexjob=7), MIN_CELL)
    assert d.count("categories.flexjob") == 7


def test_the_verdict_is_never_hidden():
    a = agg(not_positive=1, self_supporting=2, foertidspension=1)  # 3 of 4: tiny, and below 80 %
    d = disclose(a, MIN_CELL)
    assert d.count("measured") is None
    assert d.aggregate.requirement_met is False
    assert "requirement_met" not in d.hidden


def test_undisclosed_shows_every_count():
    d = undisclosed(agg(not_positive=37, exempt=3))
    assert d.count("exempt") == 3 and d.share("exempt", "enrolled") == 3 / 40
