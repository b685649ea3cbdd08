"""The pool configuration (``schemas/data/pools.toml``), decoded into validated structs.

Everything a policy change could touch (the contract's date bounds, the self-support
threshold, pool dates, the requirement threshold and window, the participants) lives in
that file; code reads it from here and nowhere else. Decoding *is* validation: a missing
key, a wrong type or a malformed month fails at load with msgspec's path to the field.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated

import msgspec

from schemas.reference import DATA, Participant, participants

MonthText = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Positive = Annotated[int, msgspec.Meta(gt=0)]


class ContractBounds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Valid-time dates every event must lie within (spec §2)."""

    first_date: dt.date
    last_date: dt.date


class SelfSupport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Self-support holds when ``denominator × counted hours > numerator`` (6 × h > 481)."""

    numerator: Positive
    denominator: Positive

    def holds(self, hours: float) -> bool:
        return self.denominator * hours > self.numerator


class Pool(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One pool's rules that are dates and numbers rather than logic."""

    name: str = ""
    label: str
    enrollment_closes: dt.date | None = None
    first_month: MonthText
    last_month: MonthText
    window_first: MonthText
    window_last: MonthText
    threshold_numerator: Positive
    threshold_denominator: Positive
    participants_file: str
    publication_lag_months: Annotated[int, msgspec.Meta(ge=0)]
    publication_timezone: str
    participants: tuple[Participant, ...] = ()


class Requirement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A BIR requirement (spec §7): the period categories it counts, met when
    ``denominator × count ≥ numerator × target`` (35 %: 7/20; 15 %: 3/20)."""

    label: str
    categories: tuple[str, ...]
    numerator: Positive
    denominator: Positive

    def meets(self, count: int, target: int) -> bool | None:
        """Compared exactly in integers; None when the target group is empty."""
        if target == 0:
            return None
        return count * self.denominator >= self.numerator * target


class PeriodPool(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A pool measured over rolling periods of months (BIR, spec §7): open enrollment, every
    enrolling municipality a participant, two requirements and the course indicators."""

    name: str = ""
    label: str
    enrollment_closes: dt.date | None = None
    first_month: MonthText
    last_month: MonthText
    period_months: Positive
    requirements: dict[str, Requirement]
    long_course_years: Positive
    company_lookback_months: Positive
    publication_lag_months: Annotated[int, msgspec.Meta(ge=0)]
    publication_timezone: str


class Disclosure(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Small-number suppression of published figures (spec §9): counts 1..min_cell-1 are hidden."""

    min_cell: Positive


class Configuration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    contract: ContractBounds
    self_support: SelfSupport
    disclosure: Disclosure
    pools: dict[str, Pool]
    period_pools: dict[str, PeriodPool] = {}


class Rules(msgspec.Struct, frozen=True):
    """Rule variants a report can be computed under; part of every report's identity."""

    count_social_frikort: bool = False


@functools.cache
def configuration() -> Configuration:
    """The decoded configuration, participants read from each pool's file."""
    raw = msgspec.toml.decode((DATA / "pools.toml").read_bytes(), type=Configuration)
    pools = {
        name: msgspec.structs.replace(pool, name=name, participants=participants(pool.participants_file))
        for name, pool in raw.pools.items()
    }
    period_pools = {name: msgspec.structs.replace(pool, name=name) for name, pool in raw.period_pools.items()}
    return msgspec.structs.replace(raw, pools=pools, period_pools=period_pools)


def pools() -> dict[str, Pool | PeriodPool]:
    """Every configured pool by name: the monthly pools, then those measured over periods."""
    config = configuration()
    return {**config.pools, **config.period_pools}


def pool(name: str) -> Pool | PeriodPool:
    """The named pool's configuration; a clear error for a pool that is not configured."""
    try:
        return pools()[name]
    except KeyError:
        raise ValueError(f"unknown pool {name!r}; configured: {', '.join(pools())}") from None
