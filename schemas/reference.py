"""Reference data shipped with the package: the municipality codes and pool participants.

Files in ``schemas/data``; a code list change is a data change, never a code change.
"""

from __future__ import annotations

import csv
import functools
from importlib.resources import files

import msgspec

DATA = files("schemas") / "data"


class Participant(msgspec.Struct, frozen=True):
    """A participant of a pool: usually one municipality, sometimes several (Tårnby/Dragør)."""

    name: str
    codes: tuple[str, ...]


@functools.cache
def municipalities() -> dict[str, str]:
    """Municipality code → name, the 98 codes of Danish municipalities."""
    with (DATA / "municipalities.csv").open(encoding="utf-8") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


@functools.cache
def regions() -> dict[str, str]:
    """Municipality code → its region, in the same file order as :func:`municipalities`."""
    with (DATA / "municipalities.csv").open(encoding="utf-8") as f:
        return {row["code"]: row["region"] for row in csv.DictReader(f)}


@functools.cache
def participants(filename: str) -> tuple[Participant, ...]:
    """The participants file of a pool, in file order (the report keeps that order)."""
    known = municipalities()
    with (DATA / filename).open(encoding="utf-8") as f:
        result = tuple(Participant(row["participant"], tuple(row["codes"].split())) for row in csv.DictReader(f))
    unknown = sorted({code for p in result for code in p.codes} - known.keys())
    if unknown:
        raise ValueError(f"{filename}: unknown municipality code(s) {', '.join(unknown)}")
    return result
