"""Deliberately invalid lines: one of each kind the intake must reject, in exact numbers.

Why its own module: the log must exercise every rejection the spec names (not JSON, a
CPR number as citizen, an enrollment after the freeze, a re-used id with other
content, ...). Which citizens carry them is fixed by the scale, and each line draws
from its own RNG, so the rest of the log does not shift when a kind is added.
"""

from __future__ import annotations

import json
import random

from puljemonitor.demo.dates import POOL, date_text, local_stamp, ordinal_of_key
from puljemonitor.demo.events import NOISE, Emitter

INVALID_KINDS = (
    "not_json",
    "not_object",
    "unknown_type",
    "missing_field",
    "mistyped_field",
    "unknown_benefit",
    "unknown_municipality",
    "cpr_citizen",
    "bad_citizen",
    "hours_out_of_range",
    "date_out_of_range",
    "enrolled_after_freeze",
    "bad_timestamp",
    "unknown_reason",
    "conflict",
)


def invalid_slots(n_citizens: int, scale: float) -> dict[int, list[str]]:
    """Which citizens carry which invalid lines (an exact number per kind)."""
    per_kind = max(1, round(NOISE.invalid_per_kind * scale))
    total = per_kind * len(INVALID_KINDS)
    slots: dict[int, list[str]] = {}
    for j in range(total):
        index = (j * n_citizens) // total + (n_citizens // total) // 2
        slots.setdefault(min(index, n_citizens - 1), []).append(INVALID_KINDS[j % len(INVALID_KINDS)])
    return slots


def invalid_line(kind: str, em: Emitter, rng: random.Random) -> tuple[str, int]:
    """One deliberately invalid line of the given kind and its file key."""
    events = em.emitted
    event, key = events[rng.randrange(len(events))]
    key += rng.randrange(3600, 30 * 86400)
    stamp = local_stamp(ordinal_of_key(key), rng)
    fresh = {
        "id": f"fejl-{rng.randrange(10**6)}",
        "type": "benefit_changed",
        "citizen": em.citizen,
        "recorded": stamp[0],
        "at": date_text(ordinal_of_key(key) - 3),
        "benefit": "kontanthjaelp",
    }
    if kind == "not_json":
        return json.dumps(fresh)[: rng.randint(20, 60)], key
    if kind == "not_object":
        return json.dumps([fresh["type"], fresh["citizen"], fresh["at"]]), key
    if kind == "conflict":
        line, original_key = _conflict(events, rng)
        return line, max(key, original_key + rng.randrange(3600, 30 * 86400))
    if kind == "enrolled_after_freeze":
        fresh["citizen"] = em.citizen + "x"
    fresh.update(_invalid_fields(kind, rng))
    for name in [n for n, v in fresh.items() if v is None]:
        del fresh[name]
    return json.dumps(fresh), key


def _invalid_fields(kind: str, rng: random.Random) -> dict:
    if kind == "unknown_type":
        return {"type": rng.choice(["benefit_stopped", "Enrolled", "job_started"])}
    if kind == "missing_field":
        return {rng.choice(["at", "benefit", "id", "recorded"]): None}
    if kind == "mistyped_field":
        return rng.choice(
            [
                {
                    "type": "income_reported",
                    "at": None,
                    "benefit": None,
                    "month": "2021-09",
                    "hours": "37",
                    "kind": "ordinary",
                },
                {"at": 20210901},
            ]
        )
    if kind == "unknown_benefit":
        return {"benefit": rng.choice(["dagpenge", "Kontanthjaelp", "efterloen"])}
    if kind == "unknown_municipality":
        return {"type": "moved", "benefit": None, "municipality": "999"}
    if kind == "cpr_citizen":
        return {"citizen": rng.choice(["010190-1234", "0101901234", "311285-4321"])}
    if kind == "bad_citizen":
        return {"citizen": rng.choice(["anna.hansen@kommune.dk", "borger 17", ""])}
    if kind == "hours_out_of_range":
        return {
            "type": "income_reported",
            "at": None,
            "benefit": None,
            "month": "2021-11",
            "hours": rng.choice([900, -5, 745]),
            "kind": "ordinary",
        }
    if kind == "date_out_of_range":
        return {"at": rng.choice(["1999-12-31", "2021-02-30", "2100-01-01"])}
    if kind == "enrolled_after_freeze":
        return {"type": "enrolled", "benefit": None, "at": "2020-09-01", "pool": POOL, "municipality": "101"}
    if kind == "bad_timestamp":
        return {"recorded": rng.choice(["2021-10-12 09:30", "2021-10-12T09:30:00", "12-10-2021"])}
    if kind == "unknown_reason":
        return {"type": "exemption_started", "benefit": None, "reason": rng.choice(["ferie", "Sygdom"])}
    raise ValueError(kind)


def _conflict(events: list[tuple[dict, int]], rng: random.Random) -> tuple[str, int]:
    """A re-used id with different content (the caller places it after its original)."""
    incomes = [(e, k) for e, k in events if e["type"] == "income_reported"]
    chosen, key = rng.choice(incomes) if incomes else events[0]
    original = dict(chosen)
    if original["type"] == "income_reported":
        original["hours"] = original["hours"] + 7.5
    else:
        original["recorded"] = original["recorded"][:11] + "23:59:59" + original["recorded"][19:]
    return json.dumps(original), key
