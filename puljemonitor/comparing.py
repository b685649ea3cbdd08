"""Live vs replay: the figures the feed topic must hold, and every key where it does not.

Pure functions of the offline replay and of the topic's latest values (read elsewhere,
:func:`streams.topic_reader.read_latest`), so ``compare`` and the tests share one rule.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

import msgspec

from projections.aggregates import aggregate
from projections.reports import build_report
from schemas.calendar import format_month
from schemas.pools import Pool, Rules
from streams.feed import comparable, feed_key, participant_code
from streams.live import months_of


def expected_outputs(replay, pool: Pool, rules: Rules, months: Iterable[int] | None = None) -> dict[str, object]:
    """The records the aggregates topic must hold, from the offline replay (key → JSON value)."""
    months = list(months) if months is not None else list(months_of(pool))
    tallies = replay.tallies(pool, list(months_of(pool)), rules, None)
    expected: dict[str, object] = {}
    participants = {p.name: p for p in pool.participants}
    for month in months:
        report = build_report(tallies, pool=pool, month=month, rules=rules, as_of=None, counts=replay.counts)
        for code, agg in report.municipalities.items():
            expected[feed_key(pool.name, "municipality", month, code)] = msgspec.to_builtins(agg)
        expected[feed_key(pool.name, "nation", month)] = msgspec.to_builtins(report.national)
        expected[feed_key(pool.name, "project", month)] = msgspec.to_builtins(report.project)
        for name, result in report.participants.items():
            code = participant_code(participants[name])
            expected[feed_key(pool.name, "participant", month, code)] = {
                **msgspec.to_builtins(result),
                "codes": sorted(result.codes),
            }
    return expected


def differences(
    expected: dict[str, object], actual: dict[str, object], pool: Pool, months: Iterable[int] | None = None
) -> list[str]:
    """Every key whose live figures (``actual``: feed records) differ from the replay's, restricted to ``months``.

    A municipality the replay does not list (none of its citizens enrolled under the cut-off,
    e.g. all moved their enrollment away) must be absent live or all zeros.
    """
    wanted = {format_month(m) for m in (months if months is not None else months_of(pool))}
    zero = msgspec.to_builtins(aggregate(Counter(), pool))
    diffs = []
    for key in sorted(set(expected) | set(actual)):
        if not key.startswith(pool.name + "/") or key.rsplit("/", 1)[-1] not in wanted:
            continue
        want, got = expected.get(key), actual.get(key)
        got = comparable(got) if got is not None else None
        if want is None and key.split("/")[1] == "municipality" and got == zero:
            continue
        if want != got:
            diffs.append(
                f"{key}: live {json.dumps(got, ensure_ascii=False)} != replay {json.dumps(want, ensure_ascii=False)}"
            )
    return diffs
