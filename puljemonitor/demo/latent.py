"""The latent truth: each citizen's monthly status from its facts, and the calibration figures.

Why its own module: the generator is calibrated against the published figures (spec
section 8) without running the replay. The latent status is an independent model of
spec section 3, derived from the same facts the events come from; a test checks it
against the replay citizen by citizen. ``python -m puljemonitor.demo --latent`` prints
the figures.
"""

from __future__ import annotations

from collections.abc import Callable

from puljemonitor.demo.dates import MONTH_FIRST, MONTH_LAST, MONTH_TEXT, N_MONTHS, POOL
from puljemonitor.demo.life import Life, simulate_citizen
from puljemonitor.demo.world import World, build_world, load_participants
from schemas import pools
from schemas.statuses import CATEGORIES, EXEMPT, GROUP_OF, GROUPS, NOT_POSITIVE, OUT, STATUSES

# Status names, their order (the hierarchy) and groups are the spec's, from schemas.statuses;
# a latent status is an index into STATUSES.
INDEX = {name: i for i, name in enumerate(STATUSES)}
_SELF_SUPPORT = pools.configuration().self_support


def _benefits_touching(benefits: list[tuple[int, str]], first: int, last: int) -> tuple[set[str], str | None]:
    touching, at_last = set(), None
    for i, (start, benefit) in enumerate(benefits):
        end = benefits[i + 1][0] if i + 1 < len(benefits) else None
        if start <= last and (end is None or end > first) and (end is None or end > start):
            touching.add(benefit)
        if start <= last:
            at_last = benefit
    return touching, at_last


def _spell_touches(spells: list[list], first: int, last: int) -> bool:
    return any(s <= last and (e is None or e > first) and (e is None or e > s) for s, e in spells)


def _holds_on(spells: list[list], day: int) -> bool:
    return any(s <= day and (e is None or e > day) for s, e in spells)


class _Month:
    """The facts of one month of one life that the positive categories are decided on."""

    __slots__ = ("spells", "first", "last", "touching", "at_last", "hours")

    def __init__(self, life: Life, first: int, last: int, count_social_frikort: bool, k: int):
        self.spells, self.first, self.last = life.spells, first, last
        self.touching, self.at_last = _benefits_touching(life.benefits, first, last)
        income = life.income.get(k, (0.0, 0.0, 0.0))
        self.hours = income[0] + income[1] + (income[2] if count_social_frikort else 0.0)

    def spell(self, kind: str) -> bool:
        return _spell_touches(self.spells[kind], self.first, self.last)


# The latent fact behind each positive category: the demo's own model of spec section 3.
# The order they are tried in is the hierarchy's (CATEGORIES), not this table's.
_HOLDS: dict[str, Callable[[_Month], bool]] = {
    "self_supporting": lambda m: m.at_last == "none" and _SELF_SUPPORT.holds(m.hours),
    "education": lambda m: m.spell("education"),
    "flexjob": lambda m: "fleksjob" in m.touching,
    "paid_hours": lambda m: m.hours > 0,
    "foertidspension": lambda m: "foertidspension" in m.touching,
    "ressourceforloeb": lambda m: "ressourceforloeb" in m.touching,
    "ledighedsydelse": lambda m: "ledighedsydelse" in m.touching,
    "revalidering": lambda m: "revalidering" in m.touching,
    "loentilskud": lambda m: m.spell("loentilskud"),
    "virksomhedspraktik": lambda m: m.spell("virksomhedspraktik"),
}
if _HOLDS.keys() != GROUP_OF.keys():
    raise RuntimeError(f"the demo models categories {sorted(_HOLDS)}, the spec has {sorted(GROUP_OF)}")
_HIERARCHY = tuple((INDEX[c.name], _HOLDS[c.name]) for c in CATEGORIES)


def latent_status(life: Life, k: int, count_social_frikort: bool) -> int:
    """Index into STATUSES of the citizen's status in month k."""
    first, last = MONTH_FIRST[k], MONTH_LAST[k]
    if life.enrolled > last or (life.exit is not None and life.exit <= last):
        return INDEX[OUT]
    if _holds_on(life.spells["exemption"], last):
        return INDEX[EXEMPT]
    month = _Month(life, first, last, count_social_frikort, k)
    for status, holds in _HIERARCHY:
        if holds(month):
            return status
    return INDEX[NOT_POSITIVE]


def latent_counts(seed: int = 1, scale: float = 1.0) -> tuple[World, dict[str, list[list[list[int]]]]]:
    """Per municipality, per month, per variant (0 without, 1 with social frikort): status counts."""
    world = build_world(seed, scale)
    counts = {c: [[[0] * len(STATUSES) for _ in range(N_MONTHS)] for _ in range(2)] for c in world.all_codes}
    for i in range(len(world.citizen_municipality)):
        life, _ = simulate_citizen(world, i)
        table = counts[life.municipality]
        for k in range(N_MONTHS):
            for variant in (0, 1):
                table[variant][k][latent_status(life, k, bool(variant))] += 1
    return world, counts


def aggregate(rows: list[list[int]]) -> dict:
    """Spec section 4 aggregate from a list of status count vectors."""
    pool = pools.pool(POOL)
    total = [sum(col) for col in zip(*rows)] if rows else [0] * len(STATUSES)
    enrolled = sum(total) - total[INDEX[OUT]]
    exempt = total[INDEX[EXEMPT]]
    measured = enrolled - exempt
    categories = {c.name: total[INDEX[c.name]] for c in CATEGORIES}
    positive = sum(categories.values())
    groups = dict.fromkeys(GROUPS, 0)
    for name, count in categories.items():
        groups[GROUP_OF[name]] += count
    share = positive / measured if measured else None
    return {
        "enrolled": enrolled,
        "exempt": exempt,
        "measured": measured,
        "positive": positive,
        "share": share,
        "groups": groups,
        "categories": categories,
        "requirement_met": (
            positive * pool.threshold_denominator >= pool.threshold_numerator * measured if measured else None
        ),
    }


def latent_figures(
    seed: int = 1, scale: float = 1.0, months: tuple[str, ...] = ("2020-08", "2021-08", "2021-09", "2023-03", "2024-03")
) -> dict:
    """The calibration targets of spec section 8, from the latent truth.

    Keys: ``project`` and ``national`` (variant -> month -> aggregate), ``achieved``
    and ``best_share`` (variant -> count / participant -> best window share);
    variant 0 is the default rules, 1 counts social-frikort hours.
    """
    pool = pools.pool(POOL)
    world, counts = latent_counts(seed, scale)
    participants = load_participants()
    project = [c for codes in participants.values() for c in codes]
    window = range(MONTH_TEXT.index(pool.window_first), MONTH_TEXT.index(pool.window_last) + 1)
    result: dict = {
        "citizens": len(world.citizen_municipality),
        "participants": len(participants),
        "project": {},
        "national": {},
        "achieved": {},
        "best_share": {},
    }
    for variant in (0, 1):

        def agg(codes, month_index, variant=variant):
            return aggregate([counts[c][variant][month_index] for c in codes])

        result["project"][variant] = {m: agg(project, MONTH_TEXT.index(m)) for m in months}
        result["national"][variant] = {m: agg(world.all_codes, MONTH_TEXT.index(m)) for m in months}
        best = {}
        for name, codes in participants.items():
            met = [agg(codes, k) for k in window]
            share = max((a["share"] for a in met if a["share"] is not None), default=None)
            best[name] = (share, any(a["requirement_met"] for a in met))
        result["achieved"][variant] = sum(1 for _, achieved in best.values() if achieved)
        result["best_share"][variant] = {name: share for name, (share, _) in best.items()}
    return result


def print_latent(seed: int, scale: float) -> None:
    """A calibration table: project figures per month under both rule variants."""
    fig = latent_figures(seed, scale)
    print(f"citizens {fig['citizens']}")
    for variant in (0, 1):
        print(f"-- count_social_frikort={bool(variant)}: achieved {fig['achieved'][variant]} of {fig['participants']}")
        for m, a in fig["project"][variant].items():
            e, meas, g = max(a["enrolled"], 1), max(a["measured"], 1), a["groups"]
            print(
                f"{m} enrolled {a['enrolled']:6} exempt {a['exempt'] / e:5.1%} share {a['share'] or 0:5.1%}"
                f" | of measured: emp {g['employment'] / meas:5.1%} oth {g['other_benefit'] / meas:5.1%}"
                f" com {g['company'] / meas:5.1%} | of enrolled: emp {g['employment'] / e:5.1%}"
                f" oth {g['other_benefit'] / e:5.1%} com {g['company'] / e:5.1%}"
            )
        national = fig["national"][variant]["2021-09"]
        print(f"national 2021-09 share {national['share']:5.1%}")
    ranked = sorted(fig["best_share"][1].items(), key=lambda kv: kv[1] or 0)
    print("best window shares (social frikort counted):", ", ".join(f"{n} {v:.3f}" for n, v in ranked))
