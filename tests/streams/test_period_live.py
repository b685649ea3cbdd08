"""BIR on the live path without a broker: the citizens stage's period rows and the figures
counted from them, against the offline functions they must equal (``streams/period_live.py``)."""

from __future__ import annotations

import json
from collections import Counter

from projections.period_report import citizen_rows, count_periods, indicators, period_aggregate
from projections.timeline import build_timeline
from schemas import pools
from schemas.calendar import parse_month
from schemas.events import decode
from schemas.periods import ROW_LABELS, ROWS, row_label
from streams.live import CitizenStore, Coalesced, apply_batch, batch_key, fold_step
from streams.period_live import period_figures
from tests.builders import History

FIRST = pools.pool("afklaringspuljen")
BIR = pools.pool("bir")
RULES = pools.Rules()


class DictState:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get_bytes(self, key: bytes, default: bytes | None = None) -> bytes | None:
        return self.data.get(key, default)

    def set_bytes(self, key: bytes, value: bytes) -> None:
        self.data[key] = value


def _store() -> CitizenStore:
    return CitizenStore(FIRST, RULES, [BIR])


def _feed(store: CitizenStore, state: DictState, event: dict):
    return fold_step(store, state, event["citizen"].encode(), json.dumps(event).encode())


def _bir_citizen(municipality: str = "101", citizen: str = "c1") -> History:
    history = History(citizen, municipality=None)
    history.add("enrolled", at="2021-01-15", pool="bir", municipality=municipality)
    history.add("benefit_changed", at="2021-01-15", benefit="ressourceforloeb")
    history.add("offer_started", at="2021-03-01", offer="virksomhedspraktik")
    return history


def test_every_row_has_one_label_and_one_byte():
    assert len(ROWS) == len(set(ROW_LABELS)) < 256
    assert row_label(("company", "1-2", True)) == "company/1-2/without"
    assert row_label(("out", None, None)) == "out//"


def test_a_bir_citizens_rows_are_sent_as_the_offline_rows_of_every_month():
    store, state = _store(), DictState()
    history = _bir_citizen()
    sent = [update for event in history.events for update in _feed(store, state, event).updates]
    assert {pool for pool, _ in sent} == {"bir"}  # never enrolled in the first pool: nothing for it
    pool, last = sent[-1]
    timeline = build_timeline([decode(line) for line in history.lines()], "bir")
    months = range(parse_month(BIR.first_month), parse_month(BIR.last_month) + 1)
    expected = citizen_rows(timeline, BIR, months, RULES)
    assert [ROWS[i] for i in last.vector] == list(expected)
    assert last.municipality == "101" and last.version == 3 and last.first_month == months.start
    assert ROWS[last.vector[months.index(parse_month("2021-04"))]][0] == "company"


def test_an_event_that_changes_no_row_sends_nothing_and_a_citizen_outside_bir_costs_no_update():
    store, state = _store(), DictState()
    history = _bir_citizen()
    for event in history.events:
        _feed(store, state, event)
    same = history.add("income_reported", month="2019-01", hours=1.0, kind="ordinary")  # long before the pool
    assert _feed(store, state, same).updates == []
    other = History(citizen="c2")  # the first pool only
    [(pool, _)] = _feed(store, DictState(), other.events[0]).updates
    assert pool == "afklaringspuljen"


def test_a_retracted_bir_enrollment_withdraws_the_citizen_from_its_municipality():
    store, state = _store(), DictState()
    history = _bir_citizen("147")
    for event in history.events:
        _feed(store, state, event)
    retraction = history.add("retracted", event=history.events[0]["id"])
    [(pool, update)] = _feed(store, state, retraction).updates
    assert (pool, update.municipality, update.vector, update.version) == ("bir", "147", None, 4)


def test_a_citizen_in_both_pools_gets_one_update_per_pool_and_neither_affects_the_other():
    store, state = _store(), DictState()
    history = History()  # the first pool, København
    history.add("enrolled", at="2021-01-15", pool="bir", municipality="147")
    sent = [u for event in history.events for u in _feed(store, state, event).updates]
    assert [(pool, u.municipality) for pool, u in sent] == [("afklaringspuljen", "101"), ("bir", "147")]
    first_pool_vector = sent[0][1].vector
    again = [u for pool, u in _feed(store, state, history.add("died", at="2021-06-10")).updates if pool == FIRST.name]
    assert again and again[0].vector != first_pool_vector  # the death reaches the first pool too


def test_a_rebuilt_cache_finds_the_rows_the_state_had_before_the_event():
    """After a rebalance the in-memory rows are gone: the step derives the citizen's rows
    before the event from the stored events, so an unchanged row still sends nothing."""
    store, state = _store(), DictState()
    history = _bir_citizen()
    for event in history.events:
        _feed(store, state, event)
    store.forget()
    same = history.add("income_reported", month="2019-01", hours=1.0, kind="ordinary")
    assert _feed(store, state, same).updates == []


def test_counted_rows_give_the_reports_aggregate_and_indicators():
    histories = [_bir_citizen(code, f"c{i}") for i, code in enumerate(("101", "101", "147"))]
    store, states = _store(), {}
    coalesced = Coalesced()
    for history in histories:
        state = states.setdefault(history.citizen, DictState())
        for event in history.events:
            for pool, update in _feed(store, state, event).updates:
                coalesced.add(pool, update)
    month = parse_month("2021-04")
    stage2 = {}
    for batch in coalesced.batches():
        counts, _ = apply_batch(stage2.setdefault(batch_key(batch.pool, batch.municipality), DictState()), batch)
        stage2[batch.municipality] = counts
    events = [[decode(line) for line in h.lines()] for h in histories]
    offline = count_periods(events, pool=BIR, months=[month], rules=RULES)
    for code in ("101", "147"):
        live = period_figures(stage2[code].months[month], BIR)
        counted = offline.combined([code], month)
        assert live.aggregate == period_aggregate(counted, BIR)
        assert live.indicators == indicators(counted)
    assert period_figures(stage2["101"].months[month], BIR).aggregate.categories.company == 2
    assert sum(Counter(stage2["147"].months[month]).values()) == 1


def test_an_income_report_changes_the_rows_of_its_periods_and_its_twelve_lookbacks_and_no_others():
    """A long course without company-oriented effort; 20 hours in 2021-01 make it "with" in
    the lookbacks 2021-01 .. 2021-12 and give paid hours in the periods ending 2021-01 .. 2021-03."""
    store, state = _store(), DictState()
    history = History(municipality=None)
    history.add("enrolled", at="2020-12-01", pool="bir", municipality="101")
    history.add("benefit_changed", at="2019-03-01", benefit="ressourceforloeb")
    for event in history.events:
        _feed(store, state, event)
    income = history.add("income_reported", month="2021-01", hours=20.0, kind="ordinary")
    [(_, update)] = _feed(store, state, income).updates
    months = range(parse_month(BIR.first_month), parse_month(BIR.last_month) + 1)
    rows = {m: ROWS[i] for m, i in zip(months, update.vector, strict=True)}
    timeline = build_timeline([decode(line) for line in history.lines()], "bir")
    assert tuple(rows.values()) == citizen_rows(timeline, BIR, months, RULES)
    assert [rows[parse_month(m)][2] for m in ("2020-12", "2021-01", "2021-12", "2022-01")] == [True, False, False, True]
    assert [rows[parse_month(m)][0] for m in ("2021-03", "2021-04")] == ["paid_hours", "not_positive"]
