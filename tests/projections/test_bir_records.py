"""The BIR feed's figure records are the offline report's figures, per (level, code, month)."""

from __future__ import annotations

import msgspec

from projections.period_report import count_periods, period_figure_records
from puljemonitor.replay import Replay
from schemas import pools
from schemas.calendar import parse_month
from schemas.pools import Rules
from tests.builders import History

BIR = pools.pool("bir")


def log() -> list[bytes]:
    lines = []
    for i, (code, fact) in enumerate([("101", "fleksjob"), ("101", None), ("147", "loentilskud"), ("147", None)]):
        h = History(citizen=f"c{i}", municipality=None)
        h.add("enrolled", at="2020-12-01", pool="bir", municipality=code)
        h.add("benefit_changed", at="2019-01-01", benefit="ressourceforloeb")
        if fact == "fleksjob":
            h.add("benefit_changed", at="2021-03-01", benefit="fleksjob")
        elif fact:
            h.add("offer_started", at="2021-02-01", offer=fact)
        lines += h.lines()
    return lines + History(citizen="a", municipality="253").lines()  # a first-pool citizen: not in BIR


def test_records_per_level_code_and_month_equal_the_report():
    replay = Replay()
    replay.ingest_lines(log())
    months = [parse_month(m) for m in ("2021-02", "2021-03", "2021-04")]
    tallies = count_periods(replay.store.citizens(), pool=BIR, months=months, rules=Rules())
    records = period_figure_records(tallies, BIR, months)
    assert [(r.level, r.code, r.month) for r in records] == [
        (level, code, month)
        for month in ("2021-02", "2021-03", "2021-04")
        for level, code in (("project", None), ("municipality", "101"), ("municipality", "147"))
    ]
    for record in records:
        report = msgspec.to_builtins(replay.report(BIR, parse_month(record.month), Rules(), None))
        assert record.period.last == record.month and record.pool == "bir"
        if record.level == "project":
            assert msgspec.to_builtins(record.aggregate) == report["project"]
            assert msgspec.to_builtins(record.indicators) == report["indicators"]["project"]
        else:
            assert msgspec.to_builtins(record.aggregate) == report["municipalities"][record.code]
            assert msgspec.to_builtins(record.indicators) == report["indicators"]["municipalities"][record.code]
    april = {(r.level, r.code): r for r in records if r.month == "2021-04"}
    assert april["municipality", "101"].aggregate.requirement_2.count == 1
    assert april["municipality", "147"].aggregate.categories.company == 1
    assert april["project", None].indicators.durations["2-3"] == 3  # the flexjob citizen left the course
