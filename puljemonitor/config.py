"""Reference data and pool configuration, loaded from the files in ``puljemonitor/data``.

Everything a policy change could touch (pool dates, the threshold, the requirement window,
the participants) lives in those files; code reads it from here and nowhere else.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import tomllib
from importlib.resources import files

import msgspec

_DATA = files("puljemonitor") / "data"


class Participant(msgspec.Struct, frozen=True):
    """A participant of a pool: usually one municipality, sometimes several (Tårnby/Dragør)."""

    name: str
    codes: tuple[str, ...]


class Pool(msgspec.Struct, frozen=True, kw_only=True):
    """One pool's rules that are dates and numbers rather than logic."""

    name: str
    label: str
    enrollment_closes: dt.date | None
    first_month: str
    last_month: str
    window_first: str
    window_last: str
    threshold_numerator: int
    threshold_denominator: int
    participants: tuple[Participant, ...]
    publication_lag_months: int
    publication_timezone: str


class Rules(msgspec.Struct, frozen=True):
    """Rule variants a report can be computed under; part of every report's identity."""

    count_social_frikort: bool = False


@functools.cache
def municipalities() -> dict[str, str]:
    """Municipality code → name, the 98 codes of Danish municipalities."""
    with (_DATA / "municipalities.csv").open(encoding="utf-8") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def _participants(filename: str) -> tuple[Participant, ...]:
    with (_DATA / filename).open(encoding="utf-8") as f:
        return tuple(Participant(row["participant"], tuple(row["codes"].split())) for row in csv.DictReader(f))


@functools.cache
def pools() -> dict[str, Pool]:
    """Every configured pool by name."""
    raw = tomllib.loads((_DATA / "pools.toml").read_text(encoding="utf-8"))
    result = {}
    for name, table in raw.items():
        table = dict(table)
        participants = _participants(table.pop("participants_file"))
        result[name] = Pool(name=name, participants=participants, **table)
    return result


def pool(name: str) -> Pool:
    """The named pool's configuration; a clear error for a pool that is not configured."""
    try:
        return pools()[name]
    except KeyError:
        raise ValueError(f"unknown pool {name!r}; configured: {', '.join(pools())}") from None
