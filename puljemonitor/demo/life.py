"""The latent life of one citizen: a small monthly Markov chain, kept as facts.

Why its own module: this is the model the demo is calibrated through. Every citizen of
the frozen target group gets a life history whose hazards depend on the month (the
initiative's intensity) and on the enrolling municipality's effectiveness. The history
is kept as *facts* in valid time (benefit timeline, on/off spells, income per month,
exit); the events and the latent statuses are both derived from those facts elsewhere.
Each citizen draws from its own ``random.Random`` seeded from (seed, citizen index).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from puljemonitor.demo.dates import (
    END_ORDINAL,
    ENROLL_FIRST,
    ENROLL_LAST,
    MONTH_FIRST,
    MONTH_LAST,
    N_MONTHS,
    add_years,
    intensity_table,
    month_of_index,
)
from puljemonitor.demo.world import NEIGHBOUR_MOVES, SAME_REGION_MOVE_SHARE, Profile, World

INITIAL_BENEFIT_SINCE = (date(2009, 1, 1), date(2020, 6, 30))  # 8 of the last 10 years
PENSION_AGE = 67
SENIORPENSION_AGE = 61  # seniorpension can be granted from six years before pension age
AGE_RANGE = (30, 66)  # target group: 30 years and older, below pension age

INITIAL_BENEFITS = (
    ("kontanthjaelp", 0.80),
    ("integrationsydelse", 0.12),
    ("overgangsydelse", 0.03),
    ("selvforsoergelsesydelse", 0.02),
    ("uddannelseshjaelp", 0.03),
)

# Initiative intensity (linear between knots): the effort builds up from the
# start on 2020-12-01 through 2022, and falls back when the extension ends 2023-03.
INTENSITY_KNOTS = (
    ("2020-07", 0.25),
    ("2020-12", 0.47),
    ("2021-06", 0.78),
    ("2021-12", 1.03),
    ("2022-06", 1.55),
    ("2022-12", 2.00),
    ("2023-03", 2.00),
    ("2023-04", 0.50),
    ("2024-03", 0.40),
)
# The job track (paid hours, self-support, education) follows the labour market
# as well as the effort, so it keeps rising after the pool (seed 002: 17 % at the
# end, 19 % one year later).
JOB_INTENSITY_KNOTS = (
    ("2020-07", 0.25),
    ("2020-12", 0.45),
    ("2021-06", 0.72),
    ("2021-12", 1.00),
    ("2022-06", 1.30),
    ("2022-12", 1.55),
    ("2023-03", 1.60),
    ("2024-03", 2.20),
)
# Company offers follow the seasons (summer holidays), by calendar month.
OFFER_SEASON = (1.0, 1.1, 1.1, 1.0, 1.0, 0.9, 0.4, 0.7, 1.4, 1.2, 1.1, 0.8)


# Rates are monthly probabilities at intensity 1 and municipal effectiveness 1 unless
# stated otherwise.
@dataclass(frozen=True)
class Rates:
    """Monthly transition probabilities of the latent life model.

    Clarifying transitions (``*_clarify``) are multiplied by the month's intensity
    and the municipality's effectiveness; the rest are background hazards.
    """

    # from cash benefit (kontanthjaelp and the like)
    foertidspension_clarify: float = 0.0175
    ressourceforloeb_clarify: float = 0.0110
    ledighedsydelse_clarify: float = 0.0016
    fleksjob_clarify: float = 0.0012
    revalidering_clarify: float = 0.0008
    self_support_clarify: float = 0.0040
    education_clarify: float = 0.0020
    sygedagpenge: float = 0.0040
    no_benefit: float = 0.0030
    # overlays on cash benefit
    paid_hours_clarify: float = 0.0170
    paid_hours_end: float = 0.1500
    social_frikort_start: float = 0.0060
    social_frikort_end: float = 0.0800
    offer_clarify: float = 0.0570
    praktik_share: float = 0.78
    exemption_start: float = 0.0220
    exemption_end: float = 0.1000
    exempt_clarify_factor: float = 0.4  # exempt citizens may still go to FP/RF
    # from other states
    ressourceforloeb_to_foertidspension: float = 0.0250
    ressourceforloeb_to_fleksjob: float = 0.0060
    ressourceforloeb_to_cash: float = 0.0060
    ledighedsydelse_to_fleksjob: float = 0.1500
    ledighedsydelse_to_cash: float = 0.0040
    fleksjob_to_ledighedsydelse: float = 0.0100
    fleksjob_to_cash: float = 0.0020
    revalidering_to_self_support: float = 0.0400
    revalidering_to_cash: float = 0.0300
    self_support_to_cash: float = 0.0350
    education_to_cash: float = 0.0200
    education_to_self_support: float = 0.0100
    sygedagpenge_to_cash: float = 0.2500
    no_benefit_to_cash: float = 0.0800
    # exits
    death: float = 0.0025
    move_away: float = 0.0075
    move_same_municipality: float = 0.0030  # an address change: no exit
    move_back_after_exit: float = 0.10  # share of movers who come back later
    seniorpension_from_age_61: float = 0.0120
    # initial overlays at enrollment (shares of citizens)
    initial_paid_hours: float = 0.045
    initial_social_frikort: float = 0.010
    initial_offer: float = 0.020
    initial_exemption: float = 0.090


RATES = Rates()


# Hours per month.
HOURS_SMALL_JOB = (3.0, 70.0)
HOURS_SOCIAL_FRIKORT = (2.0, 40.0)
HOURS_FULL_JOB = (95.0, 162.0)
HOURS_REDUCED_MONTH = (20.0, 80.0)
REDUCED_MONTH_SHARE = 0.08
HOURS_FLEXJOB = (30.0, 100.0)
APPRENTICE_SHARE = 0.15
PRAKTIK_WEEKS = (4, 13)
LOENTILSKUD_MONTHS = (3, 12)

EXEMPTION_REASONS = (
    ("sygdom", 0.45),
    ("saerlig_oevrige", 0.16),
    ("standby", 0.10),
    ("barsel", 0.07),
    ("kan_ikke_faa_pension", 0.05),
    ("dom_anbringelse", 0.04),
    ("paa_vej_i_job", 0.04),
    ("barsel_inden_6_uger", 0.03),
    ("paa_vej_folkepension", 0.02),
    ("arbejdsfordeling_over_6_uger", 0.015),
    ("arbejdsfordeling_under_6_uger", 0.01),
    ("paa_vej_efterloen", 0.01),
    ("vejrlig", 0.005),
)


INTENSITY = intensity_table(INTENSITY_KNOTS)
JOB_INTENSITY = intensity_table(JOB_INTENSITY_KNOTS)
SEASON = [OFFER_SEASON[month_of_index(k)[1] - 1] for k in range(N_MONTHS)]


CASH, FOERTID, RESSOURCE, LEDIG, FLEX, REVAL, SELF, EDU, SICK, NOBEN = range(10)
STATE_BENEFIT = {
    FOERTID: "foertidspension",
    RESSOURCE: "ressourceforloeb",
    LEDIG: "ledighedsydelse",
    FLEX: "fleksjob",
    REVAL: "revalidering",
    SELF: "none",
    EDU: "none",
    SICK: "sygedagpenge",
    NOBEN: "none",
}
OFFER_KINDS = ("virksomhedspraktik", "loentilskud")
# On/off spells that only run alongside cash benefit (closed when it ends), and all spells
# in the order their events are written.
CASH_OVERLAYS = (*OFFER_KINDS, "exemption", "paid_hours", "social_frikort")
SPELL_KINDS = ("education", *CASH_OVERLAYS)
INCOME_KINDS = ("ordinary", "apprentice", "social_frikort")  # the columns of Life.income


@dataclass
class Life:
    """A citizen's facts. Spells are [start, end) ordinals, end None when open."""

    municipality: str
    enrolled: int
    birth: int
    benefits: list[tuple[int, str]] = field(default_factory=list)
    spells: dict[str, list[list]] = field(default_factory=lambda: {k: [] for k in SPELL_KINDS})
    reasons: list[str] = field(default_factory=list)  # one per exemption spell
    income: dict[int, list[float]] = field(default_factory=dict)  # month -> hours by INCOME_KINDS
    exit: int | None = None
    exit_event: tuple = ()  # ("died",) / ("moved", code) / ("pension", benefit)
    after_exit: list[tuple] = field(default_factory=list)  # (ordinal, type, payload) noise
    late_facts: set = field(default_factory=set)  # (kind, ordinal) registered late


def _pick(rng: random.Random, table: tuple) -> str:
    u, acc = rng.random(), 0.0
    for value, p in table:
        acc += p
        if u < acc:
            return value
    return table[-1][0]


def _hours(rng: random.Random, span: tuple[float, float]) -> float:
    return round(rng.uniform(*span) * 2) / 2


_OPTIONS: dict[tuple, tuple[tuple[int, float], ...]] = {}


def _options(profile: Profile, k: int, s: int, exempt: bool) -> list[tuple[int, float]]:
    """The main-state transitions open in month k and their probabilities."""
    r = RATES
    push = INTENSITY[k] * profile.effectiveness
    job = JOB_INTENSITY[k] * profile.effectiveness
    if s == CASH and exempt:
        f = push * r.exempt_clarify_factor
        return [
            (FOERTID, r.foertidspension_clarify * f),
            (RESSOURCE, r.ressourceforloeb_clarify * f),
            (SICK, r.sygedagpenge),
        ]
    if s == CASH:
        return [
            (FOERTID, r.foertidspension_clarify * push),
            (RESSOURCE, r.ressourceforloeb_clarify * push),
            (LEDIG, r.ledighedsydelse_clarify * push),
            (FLEX, r.fleksjob_clarify * push),
            (REVAL, r.revalidering_clarify * push),
            (SELF, r.self_support_clarify * job),
            (EDU, r.education_clarify * job),
            (SICK, r.sygedagpenge),
            (NOBEN, r.no_benefit),
        ]
    table = {
        RESSOURCE: [
            (FOERTID, r.ressourceforloeb_to_foertidspension * push),
            (FLEX, r.ressourceforloeb_to_fleksjob * push),
            (CASH, r.ressourceforloeb_to_cash),
        ],
        LEDIG: [(FLEX, r.ledighedsydelse_to_fleksjob), (CASH, r.ledighedsydelse_to_cash)],
        FLEX: [(LEDIG, r.fleksjob_to_ledighedsydelse), (CASH, r.fleksjob_to_cash)],
        REVAL: [(SELF, r.revalidering_to_self_support), (CASH, r.revalidering_to_cash)],
        SELF: [(CASH, r.self_support_to_cash)],
        EDU: [(CASH, r.education_to_cash), (SELF, r.education_to_self_support)],
        SICK: [(CASH, r.sygedagpenge_to_cash)],
        NOBEN: [(CASH, r.no_benefit_to_cash)],
    }
    return table.get(s, [])


def _cumulative_options(profile: Profile, k: int, s: int, exempt: bool) -> tuple[tuple[int, float], ...]:
    """Cached cumulative probabilities: one uniform draw then picks the transition."""
    key = (profile.code, k, s, exempt)
    found = _OPTIONS.get(key)
    if found is None:
        acc, rows = 0.0, []
        for target, p in _options(profile, k, s, exempt):
            acc += p
            rows.append((target, acc))
        found = _OPTIONS[key] = tuple(rows)
    return found


def _day(rng: random.Random, first: int, last: int) -> int:
    """A uniformly drawn day of [first, last] (cheaper than randrange)."""
    return first + int(rng.random() * (last - first + 1))


class _Simulation:
    """Monthly steps of one citizen's life (a small Markov chain)."""

    def __init__(self, rng: random.Random, world: World, profile: Profile, life: Life):
        self.rng, self.world, self.profile, self.life = rng, world, profile, life
        self.pension = add_years(life.birth, PENSION_AGE)
        self.senior_from = add_years(life.birth, SENIORPENSION_AGE)
        self.state = CASH
        self.open: dict[str, int] = {}  # spell kind -> start ordinal
        self.offer_until = 0
        self.job_hours = 0.0
        self.job_kind = 0  # index into income: 0 ordinary, 1 apprentice

    # -- spells -----------------------------------------------------------
    def start(self, kind: str, day: int) -> None:
        if kind not in self.open:
            self.open[kind] = day
            self.life.spells[kind].append([day, None])
            if kind == "exemption":
                self.life.reasons.append(_pick(self.rng, EXEMPTION_REASONS))

    def end(self, kind: str, day: int) -> None:
        if self.open.pop(kind, None) is not None:
            self.life.spells[kind][-1][1] = day

    def close_cash_overlays(self, day: int) -> None:
        for kind in CASH_OVERLAYS:
            self.end(kind, day)

    def set_benefit(self, day: int, benefit: str) -> None:
        self.life.benefits.append((day, benefit))

    # -- initial state --------------------------------------------------------
    def seed_initial(self) -> None:
        r, rng, before = RATES, self.rng, self.life.enrolled
        if rng.random() < r.initial_paid_hours * self.profile.effectiveness:
            self.start("paid_hours", before - rng.randrange(20, 200))
        if rng.random() < r.initial_social_frikort * self.profile.social_frikort:
            self.start("social_frikort", before - rng.randrange(20, 200))
        if rng.random() < r.initial_offer * self.profile.effectiveness:
            kind = "virksomhedspraktik" if rng.random() < r.praktik_share else "loentilskud"
            self.start(kind, before - rng.randrange(5, 40))
            self.offer_until = self.offer_end(kind, before)
        if rng.random() < r.initial_exemption * self.profile.exemption:
            self.start("exemption", before - rng.randrange(10, 400))

    def last_offer_end(self, kind: str) -> int:
        spells = self.life.spells[kind]
        return spells[-1][1] if spells and spells[-1][1] is not None else 0

    def offer_end(self, kind: str, day: int) -> int:
        if kind == "virksomhedspraktik":
            return day + 7 * self.rng.randint(*PRAKTIK_WEEKS)
        return day + 30 * self.rng.randint(*LOENTILSKUD_MONTHS)

    # -- one month ------------------------------------------------------------
    def step(self, k: int) -> bool:
        """Simulate month k; True when the citizen has left the target group."""
        first, last = MONTH_FIRST[k], MONTH_LAST[k]
        lo = max(first, self.life.enrolled)  # the life is simulated from enrollment on
        if lo > last:
            return False
        if self.try_exit(lo, last):
            return True
        if self.state == FOERTID:  # absorbing: only exits and address changes (a fast path)
            self.maybe_address_change(first, last)
            return False
        before = self.state
        changed = self.transition(k, lo, last)
        if changed is None and before in (CASH, SICK):
            self.overlays(k, lo, last)
        self.record_income(k, before, changed, first, last)
        self.maybe_address_change(first, last)
        return False

    def maybe_address_change(self, first: int, last: int) -> None:
        """A move within the enrolling municipality: an event, but no exit."""
        if self.rng.random() < RATES.move_same_municipality:
            self.life.after_exit.append((_day(self.rng, first, last), "moved", self.life.municipality))

    def try_exit(self, first: int, last: int) -> bool:
        life, r, rng = self.life, RATES, self.rng
        if first <= self.pension <= last or (first == life.enrolled and self.pension < first):
            return self.exit(self.pension, ("pension", "folkepension"))
        senior = r.seniorpension_from_age_61 if first >= self.senior_from and self.state != FOERTID else 0.0
        u = rng.random()
        if u >= r.death + r.move_away + senior:
            return False
        day = _day(rng, first, last)
        if u < r.death:
            return self.exit(day, ("died",))
        if u < r.death + r.move_away:
            return self.exit(day, ("moved", self.destination()))
        return self.exit(day, ("pension", "seniorpension"))

    def exit(self, day: int, event: tuple) -> bool:
        life = self.life
        life.exit, life.exit_event = day, event
        if event[0] == "moved" and self.rng.random() < RATES.move_back_after_exit:
            back = day + self.rng.randrange(60, 240)
            if back <= END_ORDINAL:
                life.after_exit.append((back, "moved", life.municipality))
                life.after_exit.append((back, "benefit_changed", "kontanthjaelp"))
        return True

    def destination(self) -> str:
        rng, w, home = self.rng, self.world, self.life.municipality
        neighbour = NEIGHBOUR_MOVES.get(home)
        if neighbour and rng.random() < neighbour[1]:
            return neighbour[0]
        while True:
            if rng.random() < SAME_REGION_MOVE_SHARE:
                region = self.profile.region
                code = rng.choices(w.region_codes[region], w.region_weights[region])[0]
            else:
                code = rng.choices(w.all_codes, w.all_weights)[0]
            if code != home:
                return code

    def transition(self, k: int, first: int, last: int) -> int | None:
        """At most one change of main state per month, after `first`; its day."""
        if first >= last:
            return None
        options = _cumulative_options(self.profile, k, self.state, "exemption" in self.open)
        if not options:
            return None
        u = self.rng.random()
        for target, acc in options:
            if u < acc:
                day = _day(self.rng, first + 1, last)
                self.enter(target, day)
                return day
        return None

    def enter(self, target: int, day: int) -> None:
        old = self.state
        if old == CASH:
            self.close_cash_overlays(day)
        if old == EDU:
            self.end("education", day)
        self.state = target
        self.set_benefit(day, STATE_BENEFIT.get(target, "kontanthjaelp"))
        if target == EDU:
            self.start("education", day)
        if target == SELF:
            self.job_hours = _hours(self.rng, HOURS_FULL_JOB)
            self.job_kind = 1 if self.rng.random() < APPRENTICE_SHARE else 0
        if target in (FOERTID, RESSOURCE, LEDIG, FLEX, REVAL) and self.rng.random() < self.profile.late_share:
            self.life.late_facts.add(("benefit", day))

    def overlays(self, k: int, first: int, last: int) -> None:
        r, rng, s = RATES, self.rng, self.state
        push = INTENSITY[k] * self.profile.effectiveness
        job = JOB_INTENSITY[k] * self.profile.effectiveness
        self.update_exemption(first, last)
        exempt = "exemption" in self.open
        for kind in OFFER_KINDS:
            if kind in self.open and self.offer_until <= last:
                self.end(kind, max(self.offer_until, self.open[kind] + 1))
        offer_open = any(kind in self.open for kind in OFFER_KINDS)
        if s == CASH and not exempt and not offer_open and rng.random() < r.offer_clarify * push * SEASON[k]:
            kind = "virksomhedspraktik" if rng.random() < r.praktik_share else "loentilskud"
            start = _day(rng, first, last)
            if start > self.last_offer_end(kind):  # a start inside the old spell would merge with it
                self.start(kind, start)
                self.offer_until = self.offer_end(kind, start)
        self.toggle("paid_hours", r.paid_hours_clarify * job, r.paid_hours_end, first, last, s == CASH and not exempt)
        self.toggle(
            "social_frikort",
            r.social_frikort_start * self.profile.social_frikort * INTENSITY[k],
            r.social_frikort_end,
            first,
            last,
            s == CASH and not exempt,
        )

    def update_exemption(self, first: int, last: int) -> None:
        r, rng = RATES, self.rng
        if "exemption" in self.open:
            if rng.random() < r.exemption_end:
                self.end("exemption", max(_day(rng, first, last), self.open["exemption"] + 1))
        elif rng.random() < r.exemption_start * self.profile.exemption:
            day = _day(rng, first, last)
            self.start("exemption", day)
            for kind in OFFER_KINDS:
                if kind in self.open and self.open[kind] < day:
                    self.end(kind, day)
            if rng.random() < self.profile.late_share / 2:
                self.life.late_facts.add(("exemption", day))

    def toggle(self, kind: str, p_start: float, p_end: float, first: int, last: int, allowed: bool) -> None:
        rng = self.rng
        if kind in self.open:
            if rng.random() < p_end:
                self.end(kind, max(_day(rng, first, last), self.open[kind] + 1))
        elif allowed and rng.random() < p_start:
            self.start(kind, _day(rng, first, last))

    def record_income(self, k: int, before: int, changed: int | None, first: int, last: int) -> None:
        """eIndkomst hours of month k, prorated over a job that starts or ends in it."""
        paid = self.touches("paid_hours", first, last)
        frikort = self.touches("social_frikort", first, last)
        if not (paid or frikort or before in (SELF, FLEX) or self.state in (SELF, FLEX)):
            return
        rng, ndays = self.rng, last - first + 1
        hours = [0.0, 0.0, 0.0]
        segments = (
            [(before, first, changed), (self.state, changed, last + 1)] if changed else [(before, first, last + 1)]
        )
        for state, a, b in segments:
            share = (b - a) / ndays
            if state == SELF:
                full = _hours(rng, HOURS_REDUCED_MONTH) if rng.random() < REDUCED_MONTH_SHARE else self.job_hours
                hours[self.job_kind] += round(full * share * 2) / 2
            elif state == FLEX:
                hours[0] += round(_hours(rng, HOURS_FLEXJOB) * share * 2) / 2
        if paid:
            hours[0] += _hours(rng, HOURS_SMALL_JOB)
        if frikort:
            hours[2] += _hours(rng, HOURS_SOCIAL_FRIKORT)
        if any(hours):
            self.life.income[k] = hours

    def touches(self, kind: str, first: int, last: int) -> bool:
        spells = self.life.spells[kind]
        if not spells:
            return False
        start, end = spells[-1]
        return start <= last and (end is None or end > first)


def simulate_citizen(world: World, index: int) -> tuple[Life, random.Random]:
    """The latent life of citizen `index` (its RNG is returned for the events)."""
    rng = random.Random(f"citizen:{world.seed}:{index}")
    code = world.citizen_municipality[index]
    enrolled = rng.randint(ENROLL_FIRST.toordinal(), ENROLL_LAST.toordinal())
    age = AGE_RANGE[0] + int((AGE_RANGE[1] - AGE_RANGE[0] + 1) * rng.random() ** 0.75)
    birth = enrolled - int((age + rng.random()) * 365.25)
    life = Life(code, enrolled, birth)
    since = rng.randrange(INITIAL_BENEFIT_SINCE[0].toordinal(), INITIAL_BENEFIT_SINCE[1].toordinal())
    life.benefits.append((since, _pick(rng, INITIAL_BENEFITS)))
    sim = _Simulation(rng, world, world.profiles[code], life)
    sim.seed_initial()
    for k in range(N_MONTHS):
        if sim.step(k):
            break
    return life, rng
