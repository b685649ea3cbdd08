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


class Disclosure(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Small-number suppression of published figures (spec §9): counts 1..min_cell-1 are hidden."""

    min_cell: Positive


class Configuration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    contract: ContractBounds
    self_support: SelfSupport
    disclosure: Disclosure
    pools: dict[str, Pool]


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
    return msgspec.structs.replace(raw, pools=pools)


def pools() -> dict[str, Pool]:
    """Every configured pool by name."""
    return configuration().pools


def pool(name: str) -> Pool:
    """The named pool's configuration; a clear error for a pool that is not configured."""
    try:
        return pools()[name]
    except KeyError:
        raise ValueError(f"unknown pool {name!r}; configured: {', '.join(pools())}") from None
