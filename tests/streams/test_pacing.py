"""The commit pacing: quick commits keep the configured interval, slow ones stretch it, capped."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from quixstreams.processing import ProcessingContext

from streams.pacing import PacedProcessingContext, next_interval


def test_quick_commits_keep_the_configured_interval():
    assert next_interval(0.01, base=0.1, ceiling=1.0) == 0.1


def test_a_slow_commit_stretches_the_next_interval_to_its_own_length():
    assert next_interval(0.4, base=0.1, ceiling=1.0) == pytest.approx(0.4)


def test_the_interval_never_exceeds_the_ceiling():
    assert next_interval(30.0, base=0.1, ceiling=1.0) == 1.0


@given(took=st.floats(0, 100), base=st.floats(0.01, 5), ceiling=st.floats(0, 10))
def test_the_interval_stays_between_the_base_and_the_ceiling(took, base, ceiling):
    interval = next_interval(took, base, ceiling)
    assert base <= interval <= max(base, ceiling)


def test_the_paced_context_keeps_every_part_of_the_one_it_replaces():
    parts = {name: object() for name in ("producer", "consumer", "state_manager", "sink_manager", "dataframe_registry")}
    original = ProcessingContext(commit_interval=0.25, exactly_once=True, revoke_flush_timeout=7.0, **parts)
    paced = PacedProcessingContext.replacing(original, ceiling=2.0)
    assert all(getattr(paced, name) is part for name, part in parts.items())
    assert (paced.commit_interval, paced.base_interval, paced.ceiling) == (0.25, 0.25, 2.0)
    assert paced.exactly_once is True and paced.revoke_flush_timeout == 7.0
