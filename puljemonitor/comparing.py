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
from projections.period_report import indicators, period_aggregate, period_figure_records
from projections.reports import build_report
from schemas import pools
from schemas.calendar import format_month, parse_month
from schemas.pools import PeriodPool, Pool, Rules
from streams.feed import comparable, feed_key, participant_code
from streams.live import months_of

Months = Iterable[int] | None


def _chosen(pool: Pool | PeriodPool | None) -> list[Pool | PeriodPool]:
    return list(pools.pools().values()) if pool is None else [pool]


def _months(pool: Pool | PeriodPool, months: Months) -> list[int]:
    """``months`` that the pool has (every month of the pool when None)."""
    kept = months_of(pool)
    return list(kept) if months is None else [m for m in months if m in kept]


def expected_outputs(
    replay, rules: Rules, *, pool: Pool | PeriodPool | None = None, months: Months = None
) -> dict[str, object]:
    """The records the feed topic must hold, from the offline replay (key → JSON value):
    ``pool``'s, or every configured pool's when None; ``months`` of each, or all of them."""
    expected: dict[str, object] = {}
    for chosen in _chosen(pool):
        tallies = replay.tallies(chosen, list(months_of(chosen)), rules, None)
        expected |= _expected(replay, tallies, chosen, rules, _months(chosen, months))
    return expected


def _expected(replay, tallies, pool: Pool | PeriodPool, rules: Rules, months: list[int]) -> dict[str, object]:
    if isinstance(pool, PeriodPool):
        return {
            feed_key(pool.name, r.level, parse_month(r.month), r.code): {
                "aggregate": msgspec.to_builtins(r.aggregate),
                "indicators": msgspec.to_builtins(r.indicators),
            }
            for r in period_figure_records(tallies, pool, months)
        }
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
    expected: dict[str, object],
    actual: dict[str, object],
    *,
    pool: Pool | PeriodPool | None = None,
    months: Months = None,
) -> list[str]:
    """Every key whose live figures (``actual``: feed records) differ from the replay's, for
    ``pool`` (every pool when None), restricted to ``months``.

    A municipality the replay does not list (none of its citizens enrolled under the cut-off,
    e.g. all moved their enrollment away) must be absent live or all zeros.
    """
    return [diff for chosen in _chosen(pool) for diff in _differences(expected, actual, chosen, months)]


def _differences(expected: dict, actual: dict, pool: Pool | PeriodPool, months: Months) -> list[str]:
    prefix = pool.name + "/"
    if not any(k.startswith(prefix + "municipality/") for k in expected) and not any(
        k.startswith(prefix) for k in actual
    ):
        return []  # no citizen of this pool anywhere: a deployment publishes nothing for it (docs/feed.md)
    wanted = {format_month(m) for m in _months(pool, months)}
    zero = msgspec.to_builtins(
        {"aggregate": period_aggregate(Counter(), pool), "indicators": indicators(Counter())}
        if isinstance(pool, PeriodPool)
        else aggregate(Counter(), pool)
    )
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
