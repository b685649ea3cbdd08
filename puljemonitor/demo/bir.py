"""BIR citizens in the demo: people on resource courses, enrolled from December 2020 on.

Why its own module: the second pool (spec §7, seed 001) has its own target group, open
enrollment and its own outcomes (flexjob, hours, internships alongside the course), so its
citizens get their own small Markov chain, calibrated to seed 001's figures (Feb–Apr 2021).
It reuses everything else: the municipal world and its traits, the life's facts
(:class:`puljemonitor.demo.life.Life`), the monthly mechanics of the first pool's
simulation (spells, exits, moves, income) and the events with their delays and noise.

BIR citizens are separate people from the Afklaringspuljen's (pseudonyms numbered after
them, their own RNG streams), so adding them leaves every first-pool line as it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from puljemonitor.demo.dates import (
    END_ORDINAL,
    MONTH_FIRST,
    MONTH_LAST,
    date_text,
    intensity_table,
    local_stamp,
    month_index,
    month_of_ordinal,
)
from puljemonitor.demo.events import Emitter
from puljemonitor.demo.life import (
    AGE_RANGE,
    CASH,
    EDU,
    FLEX,
    FOERTID,
    HOURS_FULL_JOB,
    LEDIG,
    OFFER_KINDS,
    RESSOURCE,
    SELF,
    Life,
    _day,
    _hours,
    _Simulation,
)
from puljemonitor.demo.world import MUNICIPALITY_POPULATION, World, _allocate
from schemas import pools

BIR = "bir"
_POOL = pools.pool(BIR)
_FIRST = date.fromisoformat(_POOL.first_month + "-01")  # 2020-12-01: the pool starts
_LAST_MONTH = month_index(int(_POOL.last_month[:4]), int(_POOL.last_month[5:]))  # 2022-12
# The target group was listed in the autumn: the stock's lives run from then, so the
# first periods (from 2020-10) already hold outcomes reached before enrollment.
LIST_MONTH = month_index(2020, 9)
STOCK_CITIZENS = 5_700  # enrolled on 2020-12-01 at scale 1
INFLOW_PER_MONTH = 150  # new resource courses enrolled each month of 2021-2022
COURSE_HISTORY_YEARS = 8  # resource courses exist since 2013
COURSE_AGE_SKEW = 1.7  # recent courses are more common (0-1 years: ~30 %, 4+: ~33 %)

# The municipalities that joined BIR (a third of the country; every one that enrolls is a participant).
BIR_MUNICIPALITIES = (
    "101", "147", "151", "153", "167", "169", "173", "183", "259", "265", "316", "326", "330", "370",
    "376", "390", "410", "461", "479", "510", "561", "607", "615", "621", "630", "657", "661", "730",
    "740", "751", "791", "813", "846", "851", "860",
)  # fmt: skip


@dataclass(frozen=True)
class BirRates:
    """Monthly probabilities of a BIR citizen's life (spec §8: seed 001's figures)."""

    course_to_flexjob: float = 0.0055
    course_to_foertidspension: float = 0.0100
    course_to_self_support: float = 0.0030
    course_to_education: float = 0.0006
    course_to_cash: float = 0.0040
    flexjob_to_ledighedsydelse: float = 0.0100
    ledighedsydelse_to_flexjob: float = 0.1500
    self_support_to_course: float = 0.0300
    education_to_course: float = 0.0300
    cash_to_course: float = 0.0300
    paid_hours_start: float = 0.0050
    paid_hours_end: float = 0.2500
    exemption_start: float = 0.0090
    exemption_end: float = 0.1000
    praktik_share: float = 0.75
    initial_flexjob: float = 0.025
    initial_offer: float = 0.080
    initial_exemption: float = 0.080
    initial_paid_hours: float = 0.015


BIR_RATES = BirRates()
# Company offers per month on a course: lockdown in the first months of 2021, then more.
OFFER_KNOTS = (
    ("2020-07", 0.060),
    ("2020-12", 0.060),
    ("2021-01", 0.018),
    ("2021-03", 0.018),
    ("2021-05", 0.035),
    ("2022-12", 0.045),
    ("2024-03", 0.045),
)
OFFER_RATE = intensity_table(OFFER_KNOTS)
# The second lockdown (December 2020) ended many internships early, in the middle of the month.
LOCKDOWN_MONTH = month_index(2020, 12)
LOCKDOWN_ENDS_PRAKTIK = 0.7


@dataclass(frozen=True)
class BirWorld:
    """The BIR citizens of a run: how many, and the stock's enrolling municipalities."""

    stock: list[str]  # stock index -> municipality code
    inflow: int
    first_index: int  # pseudonym index of BIR citizen 0 (after the first pool's citizens)

    @property
    def size(self) -> int:
        return len(self.stock) + self.inflow


def _weights() -> dict[str, float]:
    return {code: MUNICIPALITY_POPULATION[code] for code in BIR_MUNICIPALITIES}


def build_bir_world(world: World, scale: float) -> BirWorld:
    stock = _allocate(_weights(), max(1, round(STOCK_CITIZENS * scale)))
    months = _LAST_MONTH - month_index(2021, 1) + 1
    return BirWorld(
        stock=[code for code in sorted(stock) for _ in range(stock[code])],
        inflow=round(INFLOW_PER_MONTH * scale * months),
        first_index=len(world.citizen_municipality),
    )


class _BirSimulation(_Simulation):
    """One BIR life: on a resource course, with flexjob, hours, offers, exemptions and exits.

    The spell, exit, move and income mechanics are the first pool's; the states open from a
    course and the overlays alongside it are BIR's.
    """

    def __init__(self, rng, world, profile, life, begins: int):
        super().__init__(rng, world, profile, life)
        self.state = RESSOURCE
        self.begins = begins  # the first day the life is simulated (the list date or the course start)

    def options(self, k: int) -> list[tuple[int, float]]:
        r = BIR_RATES
        exempt = "exemption" in self.open
        if self.state == RESSOURCE:
            if exempt:
                return [(FOERTID, r.course_to_foertidspension)]
            return [
                (FLEX, r.course_to_flexjob),
                (FOERTID, r.course_to_foertidspension),
                (SELF, r.course_to_self_support),
                (EDU, r.course_to_education),
                (CASH, r.course_to_cash),
            ]
        return {
            FLEX: [(LEDIG, r.flexjob_to_ledighedsydelse)],
            LEDIG: [(FLEX, r.ledighedsydelse_to_flexjob)],
            SELF: [(RESSOURCE, r.self_support_to_course)],
            EDU: [(RESSOURCE, r.education_to_course)],
            CASH: [(RESSOURCE, r.cash_to_course)],
        }.get(self.state, [])

    def transition(self, k: int, first: int, last: int) -> int | None:
        if first >= last:
            return None
        u, acc = self.rng.random(), 0.0
        for target, p in self.options(k):
            acc += p
            if u < acc:
                day = _day(self.rng, first + 1, last)
                self.enter(target, day)
                return day
        return None

    def enter(self, target: int, day: int) -> None:
        if self.state == RESSOURCE:
            for kind in (*OFFER_KINDS, "exemption", "paid_hours"):
                self.end(kind, day)
        if self.state == EDU:
            self.end("education", day)
        self.state = target
        self.set_benefit(day, "ressourceforloeb" if target == RESSOURCE else _BENEFIT.get(target, "kontanthjaelp"))
        if target == EDU:
            self.start("education", day)
        if target == SELF:
            self.job_hours = _hours(self.rng, HOURS_FULL_JOB)
            self.job_kind = 0
        if target == FLEX and self.rng.random() < self.profile.late_share:
            self.life.late_facts.add(("benefit", day))

    def seed_initial(self, stock: bool) -> None:
        r, rng, day = BIR_RATES, self.rng, self.begins
        course = self.life.benefits[-1][0]
        if stock and day - course > 30 and rng.random() < r.initial_flexjob:
            self.enter(FLEX, rng.randint(max(course + 1, day - 400), day - 1))
        if self.state == RESSOURCE and rng.random() < r.initial_offer:
            kind = "virksomhedspraktik" if rng.random() < r.praktik_share else "loentilskud"
            self.start(kind, day - rng.randrange(5, 60))
            self.offer_until = self.offer_end(kind, self.open[kind])
        if self.state == RESSOURCE and rng.random() < r.initial_paid_hours:
            self.start("paid_hours", day - rng.randrange(20, 200))
        if rng.random() < r.initial_exemption:
            self.start("exemption", day - rng.randrange(10, 300))

    def step(self, k: int) -> bool:
        first, last = MONTH_FIRST[k], MONTH_LAST[k]
        lo = max(first, self.begins)
        if lo > last:
            return False
        if self.try_exit(lo, last):
            return True
        before = self.state
        changed = self.transition(k, lo, last)
        if changed is None and before == RESSOURCE:
            self.course_overlays(k, lo, last)
        self.record_income(k, before, changed, first, last)
        return False

    def course_overlays(self, k: int, first: int, last: int) -> None:
        r, rng = BIR_RATES, self.rng
        if "exemption" in self.open:
            if rng.random() < r.exemption_end:
                self.end("exemption", max(_day(rng, first, last), self.open["exemption"] + 1))
        elif rng.random() < r.exemption_start * self.profile.exemption:
            self.start("exemption", _day(rng, first, last))
        exempt = "exemption" in self.open
        if k == LOCKDOWN_MONTH and "virksomhedspraktik" in self.open and rng.random() < LOCKDOWN_ENDS_PRAKTIK:
            self.offer_until = min(self.offer_until, _day(rng, first + 13, first + 22))
        for kind in OFFER_KINDS:
            if kind in self.open and (self.offer_until <= last or exempt):
                self.end(kind, max(min(self.offer_until, last), self.open[kind] + 1))
        offer_open = any(kind in self.open for kind in OFFER_KINDS)
        if not exempt and not offer_open and rng.random() < OFFER_RATE[k] * self.profile.effectiveness:
            kind = "virksomhedspraktik" if rng.random() < r.praktik_share else "loentilskud"
            start = _day(rng, first, last)
            if start > self.last_offer_end(kind):
                self.start(kind, start)
                self.offer_until = self.offer_end(kind, start)
        self.toggle("paid_hours", r.paid_hours_start, r.paid_hours_end, first, last, not exempt)


_BENEFIT = {FLEX: "fleksjob", FOERTID: "foertidspension", LEDIG: "ledighedsydelse", SELF: "none", EDU: "none"}


def simulate_bir_citizen(world: World, bir: BirWorld, i: int) -> tuple[Life, random.Random]:
    """The life of BIR citizen ``i`` (stock first, then the monthly inflow)."""
    rng = random.Random(f"bir-citizen:{world.seed}:{i}")
    if i < len(bir.stock):
        code = bir.stock[i]
        enrolled = _FIRST.toordinal()
        course = enrolled - 30 - int(COURSE_HISTORY_YEARS * 365.25 * rng.random() ** COURSE_AGE_SKEW)
        begins = max(course + 1, MONTH_FIRST[LIST_MONTH])
    else:
        codes = list(BIR_MUNICIPALITIES)
        code = rng.choices(codes, [_weights()[c] for c in codes])[0]
        enrolled = rng.randint(MONTH_FIRST[month_index(2021, 1)], MONTH_LAST[_LAST_MONTH])
        course = enrolled - rng.randint(1, 90)
        begins = enrolled
    age = AGE_RANGE[0] + int((64 - AGE_RANGE[0]) * rng.random())
    life = Life(code, enrolled, enrolled - int((age + rng.random()) * 365.25))
    life.benefits.append((course - rng.randint(200, 2000), "kontanthjaelp"))
    life.benefits.append((course, "ressourceforloeb"))
    sim = _BirSimulation(rng, world, world.profiles[code], life, begins)
    sim.seed_initial(stock=i < len(bir.stock))
    for k in range(month_of_ordinal(begins), min(_LAST_MONTH, month_of_ordinal(END_ORDINAL)) + 1):
        if sim.step(k):
            break
    return life, rng


class BirEmitter(Emitter):
    """The first pool's emitter, with a BIR enrollment registered by the municipality."""

    def enrollment(self) -> None:
        life = self.life
        stamp = local_stamp(life.enrolled + self.rng.randint(1, 10), self.rng)
        event = self.base("star", "enrolled", stamp)
        event.update(at=date_text(life.enrolled), pool=BIR, municipality=life.municipality)
        self.emit(event, stamp[1], month_of_ordinal(life.enrolled))
