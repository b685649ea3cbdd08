"""Source positions (streams/positions.py): a gap in a partition's offsets is read, never skipped."""

from __future__ import annotations

from streams.positions import Positions, Progress

TP = ("events", 1)


def test_consecutive_offsets_and_redeliveries_have_no_gap():
    positions = Positions()
    positions.start(TP, stored=None, earliest=0)
    assert [positions.check(TP, o) for o in (0, 1, 2, 1, 2, 3)] == [range(0)] * 6
    assert positions.expected[TP] == 4


def test_a_gap_is_the_range_not_delivered_and_is_reported_once():
    positions = Positions()
    positions.start(TP, stored=241, earliest=0)  # a survivor restored position 241
    assert positions.check(TP, 252) == range(242, 252)  # 242..251 dropped by the consumer
    assert positions.check(TP, 253) == range(0)
    assert positions.check(TP, 243) == range(0)  # a redelivery is not a gap
    assert positions.expected[TP] == 254


def test_start_respects_the_log_start_and_the_stored_position():
    positions = Positions()
    positions.start(TP, stored=None, earliest=40)  # retention removed 0..39
    assert positions.check(TP, 40) == range(0)
    positions.start(TP, stored=10, earliest=40)
    assert positions.expected[TP] == 40
    positions.start(TP, stored=99, earliest=40)
    assert positions.check(TP, 120) == range(100, 120)


def test_stored_position_is_a_lower_bound_saved_every_n():
    positions = Positions(save_every=3)
    positions.start(TP, stored=None, earliest=0)
    saved = []
    for offset in range(8):
        positions.check(TP, offset)
        saved.append(positions.due(TP))
    assert saved == [None, None, 2, None, None, 5, None, None]
    positions.forget()
    assert not positions.knows(TP)


def test_a_partition_behind_without_progress_is_stalled_and_an_idle_one_is_not():
    progress = Progress(patience=30.0)
    progress.restart_clock(now=100.0)
    progress.advanced(TP, now=110.0)
    other = ("statuses", 0)
    assert progress.stalled({TP: True, other: True}, now=129.0) == []
    assert progress.stalled({TP: True, other: True}, now=131.0) == [other]  # never advanced
    assert progress.stalled({TP: True, other: False}, now=141.0) == [TP]  # idle is not stalled
    progress.restart_clock(now=150.0)
    assert progress.stalled({TP: True}, now=170.0) == []
