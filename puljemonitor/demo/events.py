"""Events from a life: the facts as JSON lines, recorded late, twice or wrongly as real sources do.

Why its own module: the facts are in valid time; a real log is in transaction time.
This turns one citizen's facts into lines with the recording delays of each source
system, and injects the awkwardness a real stream has: registrations that arrive after
a month's publication, duplicates re-sent later, income reports split with the rest
sent months late, and erroneous events followed (or preceded) by their retraction. It
draws from the citizen's own RNG after the life is simulated, so lines stay
reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec

from puljemonitor.demo.dates import (
    CUTOFF_KEYS,
    END_ORDINAL,
    ENROLL_LAST,
    MONTH_FIRST,
    MONTH_TEXT,
    POOL,
    PUBLISHED_AFTER,
    date_text,
    local_stamp,
    month_of_ordinal,
    ordinal_of_key,
    zulu_stamp,
)
from puljemonitor.demo.life import INCOME_KINDS, OFFER_KINDS, Life
from puljemonitor.demo.world import World, pseudonym

ENROLL_RECORDED = (ENROLL_LAST + timedelta(days=1), ENROLL_LAST + timedelta(days=5))  # STAR's extraction run


@dataclass(frozen=True)
class Noise:
    """The awkward input a real stream has, deliberately injected."""

    duplicate_rate: float = 0.0013  # per event: re-sent later in the file
    retraction_every: int = 600  # one erroneous event + retraction per N citizens
    retraction_phase: int = 7
    retraction_before_target_every: int = 8  # of the retraction cases
    invalid_per_kind: float = 3.0  # at scale 1; at least one of each kind
    late_income_correction: float = 0.006  # income reports split, rest sent late
    late_delay_days: tuple[int, int] = (75, 160)
    late_offer_factor: float = 0.5  # offers are registered late half as often as benefits


NOISE = Noise()

# Recording delays in days after the fact, by source system.
DELAY_BENEFIT = (1, 8)  # payments data
DELAY_EDUCATION = (3, 20)  # SU data
DELAY_CASE = (0, 5)  # municipal case systems (offers, exemptions)
DELAY_CPR = (1, 4)  # CPR register (moves, deaths)
OFFER_PLANNED_AHEAD = 0.3  # share of offers registered a few days before they start
INCOME_RECORDED_DAY = (8, 12)  # eIndkomst: around the 10th of the following month

# Hours per month.


@dataclass
class DemoSummary:
    """Counts of what was written; `events` is what a replay should apply."""

    citizens: int = 0
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    invalid: int = 0
    retractions: int = 0
    late: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    invalid_by_kind: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


Sink = Callable[[int, bytes], None]
_encode = msgspec.json.Encoder().encode


class Emitter:
    """Turns one citizen's facts into lines, with recording delays and noise."""

    def __init__(
        self,
        world: World,
        index: int,
        life: Life,
        rng: random.Random,
        sink: Sink,
        summary: DemoSummary,
        keep: bool = False,
    ):
        self.world, self.index, self.life, self.rng = world, index, life, rng
        self.citizen = pseudonym(world.seed, index)
        self.sink, self.summary = sink, summary
        self.profile = world.profiles[life.municipality]
        self.counter = 0
        self.emitted: list[tuple[dict, int]] = []  # (event, file key) for invalid-line material
        self.keep = keep

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def emit(self, event: dict, key: int, month: int | None, file_key: int | None = None) -> None:
        line = _encode(event)
        fkey = key if file_key is None else file_key
        self.sink(fkey, line)
        s = self.summary
        s.events += 1
        s.by_type[event["type"]] = s.by_type.get(event["type"], 0) + 1
        if month is not None and month >= 0 and key >= CUTOFF_KEYS[month]:
            s.late += 1
        if self.rng.random() < NOISE.duplicate_rate:
            self.sink(fkey + self.rng.randrange(3600, 20 * 86400), line)
            s.duplicates += 1
        if self.keep:
            self.emitted.append((event, fkey))

    def base(self, prefix: str, kind: str, stamp: tuple[str, int]) -> dict:
        return {"id": self.next_id(prefix), "type": kind, "citizen": self.citizen, "recorded": stamp[0]}

    def stamp_after(self, ordinal: int, delay: tuple[int, int], late: bool = False) -> tuple[str, int]:
        days = self.rng.randint(*(NOISE.late_delay_days if late else delay))
        return local_stamp(ordinal + days, self.rng)

    def dated(self, prefix: str, kind: str, ordinal: int, delay: tuple[int, int], late: bool = False, **fields) -> None:
        stamp = self.stamp_after(ordinal, delay, late)
        event = self.base(prefix, kind, stamp)
        event["at"] = date_text(ordinal)
        event.update(fields)
        self.emit(event, stamp[1], month_of_ordinal(ordinal))

    # -- per fact kind ---------------------------------------------------------
    def run(self) -> None:
        life = self.life
        self.enrollment()
        for day, benefit in life.benefits:
            late = ("benefit", day) in life.late_facts
            self.dated("ydelse", "benefit_changed", day, DELAY_BENEFIT, late, benefit=benefit)
        self.spells()
        self.incomes()
        self.exit_and_after()

    def enrollment(self) -> None:
        """The enrollment, recorded by STAR's extraction run just after the freeze."""
        life = self.life
        stamp = local_stamp(self.rng.randint(ENROLL_RECORDED[0].toordinal(), ENROLL_RECORDED[1].toordinal()), self.rng)
        event = self.base("star", "enrolled", stamp)
        event.update(at=date_text(life.enrolled), pool=POOL, municipality=life.municipality)
        self.emit(event, stamp[1], month_of_ordinal(life.enrolled))

    def spells(self) -> None:
        life, rng = self.life, self.rng
        for kind in OFFER_KINDS:
            for start, end in life.spells[kind]:
                ahead = rng.random() < OFFER_PLANNED_AHEAD
                late = not ahead and rng.random() < self.profile.late_share * NOISE.late_offer_factor
                delay = (-7, -1) if ahead else DELAY_CASE
                self.dated("sag", "offer_started", start, delay, late, offer=kind)
                if end is not None and end <= END_ORDINAL:
                    self.dated("sag", "offer_ended", end, DELAY_CASE, offer=kind)
        for (start, end), reason in zip(life.spells["exemption"], life.reasons):
            late = ("exemption", start) in life.late_facts
            self.dated("sag", "exemption_started", start, DELAY_CASE, late, reason=reason)
            if end is not None and end <= END_ORDINAL:
                self.dated("sag", "exemption_ended", end, DELAY_CASE)
        for start, end in life.spells["education"]:
            self.dated("su", "education_started", start, DELAY_EDUCATION)
            if end is not None and end <= END_ORDINAL:
                self.dated("su", "education_ended", end, DELAY_EDUCATION)

    def incomes(self) -> None:
        for k, hours in sorted(self.life.income.items()):
            for kind, h in zip(INCOME_KINDS, hours):
                if h > 0:
                    self.income(k, kind, h)

    def income(self, k: int, kind: str, hours: float) -> None:
        """One eIndkomst report; a few are split, the rest arriving months late."""
        rng, month = self.rng, MONTH_TEXT[k]
        day = MONTH_FIRST[k + 1] + rng.randint(*INCOME_RECORDED_DAY) - 1
        parts = [(hours, day, "")]
        if rng.random() < NOISE.late_income_correction and hours >= 2:
            early = round(hours * rng.uniform(0.2, 0.7) * 2) / 2
            late = MONTH_FIRST[k + PUBLISHED_AFTER] + rng.randrange(0, 60)  # after month k was published
            parts = [(early, day, ""), (hours - early, late, "-2")]
        for h, on, suffix in parts:
            stamp = zulu_stamp(on, rng)
            event = {
                "id": f"eind-{month}-{kind}{suffix}",
                "type": "income_reported",
                "citizen": self.citizen,
                "recorded": stamp[0],
                "month": month,
                "hours": h,
                "kind": kind,
            }
            self.emit(event, stamp[1], k)

    def exit_and_after(self) -> None:
        life = self.life
        if life.exit is not None:
            what = life.exit_event
            if what[0] == "died":
                self.dated("cpr", "died", life.exit, DELAY_CPR)
            elif what[0] == "moved":
                self.dated("cpr", "moved", life.exit, DELAY_CPR, municipality=what[1])
            else:
                self.dated("ydelse", "benefit_changed", life.exit, DELAY_BENEFIT, benefit=what[1])
        for day, kind, value in life.after_exit:
            if kind == "moved":
                self.dated("cpr", "moved", day, DELAY_CPR, municipality=value)
            else:
                self.dated("ydelse", "benefit_changed", day, DELAY_BENEFIT, benefit=value)

    # -- deliberate errors -------------------------------------------------------
    def retraction(self, case: int) -> None:
        """An erroneous event and its retraction (sometimes arriving first)."""
        rng, life = self.rng, self.life
        last = min(life.exit or END_ORDINAL, END_ORDINAL) - 1
        day = rng.randint(life.enrolled + 1, max(life.enrolled + 1, last))
        stamp = self.stamp_after(day, DELAY_BENEFIT)
        target = self.base("ydelse", "benefit_changed", stamp)
        target["at"] = date_text(day)
        if case % 3 == 0:
            target["benefit"] = "foertidspension"
        elif case % 3 == 1:
            target.update(type="moved", municipality=self.other_code())
        else:
            target["benefit"] = "seniorpension"
        ret_stamp = local_stamp(ordinal_of_key(stamp[1]) + rng.randint(5, 40), rng)
        retraction = self.base("ekorr", "retracted", ret_stamp)
        retraction["event"] = target["id"]
        before = case % NOISE.retraction_before_target_every == 0
        target_file_key = ret_stamp[1] + rng.randrange(3600, 10 * 86400) if before else None
        self.emit(target, stamp[1], month_of_ordinal(day), target_file_key)
        self.emit(retraction, ret_stamp[1], None)
        self.summary.retractions += 1

    def other_code(self) -> str:
        codes = [c for c in self.world.all_codes if c != self.life.municipality]
        return codes[self.rng.randrange(len(codes))]
