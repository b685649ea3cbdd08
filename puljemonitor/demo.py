"""Deterministic synthetic event log for the Afklaringspuljen (demo and benchmark data).

Why this exists: the real sources (payments data, eIndkomst, SU, municipal case
systems, CPR) never leave the agency, yet the monitor has to be developed, tested,
demonstrated and benchmarked on a log that *behaves* like the real one: the same
event contract (spec section 2), the same awkwardness (late, duplicated, retracted
and invalid input) and published-looking results (spec section 8).

How: every citizen of the frozen target group gets a latent monthly life history
(a small Markov chain whose hazards depend on the month and on the municipality's
effectiveness). The history is kept as *facts* (benefit timeline, on/off spells,
income per month, exit), the events are derived from the facts, and the latent
monthly status (spec section 3) is derived from the same facts, so the generator
can be calibrated without the replay and checked against it afterwards.

Determinism: each citizen uses its own ``random.Random`` seeded from
(seed, citizen index); the municipalities' traits come from a fixed world seed
(``WORLD_SEED``), so a seed re-rolls lives, not the municipal landscape. Lines
are ordered by a sort key (normally the ``recorded`` instant) and then by their
text, so the same seed and scale give byte-identical output, whatever the number
of worker processes. The global RNG and ``hash()`` are never used.

Usage: ``python -m puljemonitor.demo --seed 1 --scale 1 --out demo.jsonl`` (``.gz``
compresses); ``--latent`` prints the calibration figures from the latent truth.
Scale 1 gives about 24,200 citizens and 227,000 events; ~1 M events at scale 4.4,
~10 M at scale 44.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import io
import json
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path
from statistics import NormalDist
from typing import BinaryIO, TextIO

import msgspec

from schemas import pools

# --------------------------------------------------------------------------
# Configuration: the world the demo simulates. Rates are monthly probabilities
# at intensity 1 and municipal effectiveness 1 unless stated otherwise.
# --------------------------------------------------------------------------

POOL = "afklaringspuljen"
FIRST_MONTH = (2020, 7)  # enrollment (ISO week 31) straddles July/August 2020
LAST_MONTH = (2024, 3)  # one year after the pool ended (seed 002: "one year later")
ENROLL_LAST = pools.pool(POOL).enrollment_closes  # 2020-08-02, Sunday of ISO week 31: the freeze
ENROLL_FIRST = ENROLL_LAST - timedelta(days=6)  # Monday of ISO week 31
ENROLL_RECORDED = (date(2020, 8, 3), date(2020, 8, 7))  # STAR's extraction run
INITIAL_BENEFIT_SINCE = (date(2009, 1, 1), date(2020, 6, 30))  # 8 of the last 10 years
PENSION_AGE = 67
SENIORPENSION_AGE = 61  # seniorpension can be granted from six years before pension age
AGE_RANGE = (30, 66)  # target group: 30 years and older, below pension age

# Participants' target group at enrollment, at scale 1 (seed 000: 14,660 remain
# in September 2021; seeds 002/003: about 11,200 at the end).
PROJECT_CITIZENS = 18_200

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


@dataclass(frozen=True)
class Profiles:
    """How municipalities differ (log-normal spreads around a median)."""

    participant_effectiveness_sigma: float = 0.15
    non_participant_effectiveness: float = 0.55
    non_participant_effectiveness_sigma: float = 0.20
    exemption_sigma: float = 0.25
    social_frikort_sigma: float = 0.70
    slow_case_handling_share: float = 0.25  # municipalities that register late
    late_share_slow: tuple[float, float] = (0.30, 0.60)
    late_share_normal: float = 0.01


PROFILES = Profiles()
# The municipalities' traits are drawn once from this seed, not from the run's
# seed: a seed re-rolls the citizens' lives in the same municipal landscape, so
# every seed stays calibrated (None: the run's seed decides the traits too).
WORLD_SEED: int | None = 5


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

# Approximate inhabitants (thousands, 2020) and relative incidence of long-term
# cash benefit: the target group is concentrated in cities and on the islands.
MUNICIPALITY_POPULATION = {
    "101": 633,
    "147": 104,
    "151": 48,
    "153": 35,
    "155": 14,
    "157": 75,
    "159": 69,
    "161": 23,
    "163": 29,
    "165": 28,
    "167": 53,
    "169": 51,
    "173": 56,
    "175": 40,
    "183": 23,
    "185": 43,
    "187": 16,
    "190": 41,
    "201": 26,
    "210": 41,
    "217": 63,
    "219": 51,
    "223": 25,
    "230": 56,
    "240": 43,
    "250": 45,
    "253": 50,
    "259": 61,
    "260": 31,
    "265": 88,
    "269": 23,
    "270": 41,
    "306": 33,
    "316": 71,
    "320": 37,
    "326": 49,
    "329": 35,
    "330": 79,
    "336": 23,
    "340": 30,
    "350": 28,
    "360": 41,
    "370": 83,
    "376": 61,
    "390": 45,
    "400": 40,
    "410": 39,
    "420": 41,
    "430": 51,
    "440": 24,
    "450": 32,
    "461": 205,
    "479": 59,
    "480": 30,
    "482": 12,
    "492": 6,
    "510": 56,
    "530": 27,
    "540": 74,
    "550": 37,
    "561": 116,
    "563": 3.5,
    "573": 50,
    "575": 43,
    "580": 59,
    "607": 51,
    "615": 97,
    "621": 94,
    "630": 117,
    "657": 89,
    "661": 59,
    "665": 20,
    "671": 21,
    "706": 43,
    "707": 37,
    "710": 49,
    "727": 23,
    "730": 98,
    "740": 93,
    "741": 3.7,
    "746": 62,
    "751": 350,
    "756": 41,
    "760": 57,
    "766": 47,
    "773": 20,
    "779": 46,
    "787": 43,
    "791": 97,
    "810": 36,
    "813": 60,
    "820": 37,
    "825": 1.8,
    "840": 30,
    "846": 42,
    "849": 38,
    "851": 217,
    "860": 65,
}
CASH_BENEFIT_INCIDENCE = {
    "101": 1.35,
    "153": 1.6,
    "165": 1.5,
    "183": 1.6,
    "167": 1.2,
    "169": 1.3,
    "175": 1.2,
    "461": 1.5,
    "360": 1.7,
    "376": 1.4,
    "390": 1.3,
    "400": 1.3,
    "482": 1.5,
    "330": 1.4,
    "326": 1.3,
    "306": 1.3,
    "561": 1.2,
    "851": 1.2,
    "751": 1.1,
    "730": 1.3,
    "607": 1.3,
    "813": 1.3,
    "860": 1.1,
    "479": 1.2,
    "370": 1.2,
    "217": 1.1,
    "161": 1.1,
    "707": 1.3,
    "157": 0.35,
    "230": 0.3,
    "223": 0.35,
    "173": 0.5,
    "201": 0.45,
    "190": 0.55,
    "155": 0.5,
    "187": 0.7,
    "269": 0.55,
    "240": 0.5,
    "350": 0.45,
    "746": 0.45,
    "710": 0.5,
    "727": 0.6,
    "706": 0.7,
    "840": 0.6,
    "530": 0.7,
    "766": 0.6,
    "760": 0.6,
    "575": 0.7,
    "573": 0.6,
    "147": 0.9,
}
NEIGHBOUR_MOVES = {"185": ("155", 0.3), "155": ("185", 0.3)}  # Tårnby <-> Dragør
SAME_REGION_MOVE_SHARE = 0.6

# --------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Municipality:
    """A municipality; the region steers where citizens move to."""

    code: str
    name: str
    region: str


def load_municipalities() -> list[Municipality]:
    """The 98 municipality codes, from the package data (spec section 2)."""
    text = (files("schemas") / "data" / "municipalities.csv").read_text("utf-8")
    return [Municipality(r["code"], r["name"], r["region"]) for r in csv.DictReader(io.StringIO(text))]


def load_participants() -> dict[str, tuple[str, ...]]:
    """Participant name -> its municipality codes (Tårnby/Dragør has two)."""
    return {p.name: p.codes for p in pools.pool(POOL).participants}


# --------------------------------------------------------------------------
# Calendar helpers (dates are proleptic ordinals; months are indices from FIRST_MONTH)
# --------------------------------------------------------------------------


def _month_index(year: int, month: int) -> int:
    return (year - FIRST_MONTH[0]) * 12 + month - FIRST_MONTH[1]


N_MONTHS = _month_index(*LAST_MONTH) + 1


def _month_of_index(k: int) -> tuple[int, int]:
    total = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1 + k
    return total // 12, total % 12 + 1


def _first_ordinal(k: int) -> int:
    return date(*_month_of_index(k), 1).toordinal()


MONTH_FIRST = [_first_ordinal(k) for k in range(N_MONTHS + 6)]
MONTH_LAST = [MONTH_FIRST[k + 1] - 1 for k in range(N_MONTHS + 5)]
MONTH_TEXT = ["%04d-%02d" % _month_of_index(k) for k in range(N_MONTHS + 5)]
END_ORDINAL = MONTH_LAST[N_MONTHS - 1]

_DATE_TEXT: dict[int, str] = {}


def _date_text(ordinal: int) -> str:
    text = _DATE_TEXT.get(ordinal)
    if text is None:
        text = _DATE_TEXT[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


_MONTH_OF: dict[int, int] = {}


def _month_of_ordinal(ordinal: int) -> int:
    k = _MONTH_OF.get(ordinal)
    if k is None:
        d = date.fromordinal(ordinal)
        k = _MONTH_OF[ordinal] = _month_index(d.year, d.month)
    return k


def _last_sunday(year: int, month: int) -> int:
    last = date(year, month, 31)
    return last.toordinal() - (last.weekday() + 1) % 7


_DST: dict[int, tuple[int, int]] = {}


def _copenhagen_offset_hours(ordinal: int) -> int:
    """UTC offset of Copenhagen for daytime on that day (EU summer time rule).

    Only daytime stamps are produced, so the switch at night never matters.
    """
    year = date.fromordinal(ordinal).year
    span = _DST.get(year)
    if span is None:
        span = _DST[year] = (_last_sunday(year, 3), _last_sunday(year, 10))
    return 2 if span[0] <= ordinal < span[1] else 1


def _cutoff_key(k: int) -> int:
    """Sort key (UTC seconds) of the first instant of month k+3, Copenhagen time:
    events recorded at or after it missed month k's publication (spec section 5)."""
    first = MONTH_FIRST[k + 3] if k + 3 < len(MONTH_FIRST) else date(*_month_of_index(k + 3), 1).toordinal()
    # midnight local on the 1st: the offset in force is that of the previous day
    return first * 86400 - _copenhagen_offset_hours(first - 1) * 3600


def _local_stamp(ordinal: int, rng: random.Random) -> tuple[str, int]:
    """A working-hours timestamp with the Copenhagen offset, and its UTC sort key."""
    seconds = rng.randrange(7 * 3600, 19 * 3600)
    offset = _copenhagen_offset_hours(ordinal)
    h, rest = divmod(seconds, 3600)
    text = "%sT%02d:%02d:%02d+%02d:00" % (_date_text(ordinal), h, rest // 60, rest % 60, offset)
    return text, ordinal * 86400 + seconds - offset * 3600


def _zulu_stamp(ordinal: int, rng: random.Random) -> tuple[str, int]:
    """A night-batch timestamp in UTC ('Z'), as register extracts carry them."""
    seconds = rng.randrange(3600, 5 * 3600)
    h, rest = divmod(seconds, 3600)
    text = "%sT%02d:%02d:%02dZ" % (_date_text(ordinal), h, rest // 60, rest % 60)
    return text, ordinal * 86400 + seconds


def _intensity_table(knot_table: tuple[tuple[str, float], ...]) -> list[float]:
    knots = [(_month_index(int(m[:4]), int(m[5:])), v) for m, v in knot_table]
    table = []
    for k in range(N_MONTHS):
        (k0, v0), (k1, v1) = next((a, b) for a, b in zip(knots, knots[1:]) if a[0] <= k <= b[0])
        table.append(v0 + (v1 - v0) * (k - k0) / (k1 - k0))
    return table


CUTOFF_KEYS = [_cutoff_key(k) for k in range(N_MONTHS + 2)]
INTENSITY = _intensity_table(INTENSITY_KNOTS)
JOB_INTENSITY = _intensity_table(JOB_INTENSITY_KNOTS)
SEASON = [OFFER_SEASON[_month_of_index(k)[1] - 1] for k in range(N_MONTHS)]

# --------------------------------------------------------------------------
# Municipalities and citizens
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """One municipality's behaviour: why participants' results spread."""

    code: str
    region: str
    participant: bool
    effectiveness: float
    exemption: float
    social_frikort: float
    late_share: float


def _spread(codes: list[str], sigma: float, rng: random.Random) -> dict[str, float]:
    """Log-normal factors with a fixed distribution, dealt out to `codes` at random.

    Why quantiles rather than draws: the seed should change *which* municipality is
    good at what, not the overall level, so every seed stays calibrated. Factors
    have a mean of 1 over municipalities.
    """
    n = len(codes)
    values = [math.exp(sigma * NormalDist().inv_cdf((i + 0.5) / n)) for i in range(n)]
    mean = sum(values) / n
    rng.shuffle(values)
    return {c: v / mean for c, v in zip(codes, values)}


def _world_seed(seed: int) -> int:
    return WORLD_SEED if WORLD_SEED is not None else seed


def _profiles(seed: int, municipalities: list[Municipality], participating: set[str]) -> dict[str, Profile]:
    """Every municipality's behaviour, deterministic in the seed."""
    p, rng = PROFILES, random.Random(f"municipalities:{_world_seed(seed)}")
    codes = [m.code for m in municipalities]
    inside = [c for c in codes if c in participating]
    outside = [c for c in codes if c not in participating]
    effect = _spread(inside, p.participant_effectiveness_sigma, rng)
    effect.update(
        {
            c: v * p.non_participant_effectiveness
            for c, v in _spread(outside, p.non_participant_effectiveness_sigma, rng).items()
        }
    )
    exemption = _spread(codes, p.exemption_sigma, rng)
    frikort = _spread(codes, p.social_frikort_sigma, rng)
    profiles = {}
    for m in municipalities:
        slow = rng.random() < p.slow_case_handling_share
        late = rng.uniform(*p.late_share_slow) if slow else p.late_share_normal
        profiles[m.code] = Profile(
            m.code, m.region, m.code in participating, effect[m.code], exemption[m.code], frikort[m.code], late
        )
    return profiles


def _allocate(weights: dict[str, float], total: int) -> dict[str, int]:
    """Largest-remainder allocation of citizens to municipalities (exact total)."""
    norm = sum(weights.values())
    raw = {c: total * w / norm for c, w in weights.items()}
    counts = {c: int(v) for c, v in raw.items()}
    rest = total - sum(counts.values())
    for c in sorted(raw, key=lambda c: (counts[c] - raw[c], c))[:rest]:
        counts[c] += 1
    return counts


@dataclass
class World:
    """Everything shared by all citizens of one generation run."""

    seed: int
    profiles: dict[str, Profile]
    citizen_municipality: list[str]  # index -> enrolling municipality code
    region_codes: dict[str, list[str]]
    region_weights: dict[str, list[float]]
    all_codes: list[str]
    all_weights: list[float]


def build_world(seed: int, scale: float) -> World:
    """Municipal profiles and the citizens' enrolling municipalities."""
    municipalities = load_municipalities()
    participating = {c for codes in load_participants().values() for c in codes}
    weights = {
        m.code: MUNICIPALITY_POPULATION[m.code] * CASH_BENEFIT_INCIDENCE.get(m.code, 1.0) for m in municipalities
    }
    project_weight = sum(w for c, w in weights.items() if c in participating)
    total = max(1, round(PROJECT_CITIZENS * scale * sum(weights.values()) / project_weight))
    counts = _allocate(weights, total)
    owner = [code for code in sorted(counts) for _ in range(counts[code])]
    profiles = _profiles(seed, municipalities, participating)
    regions: dict[str, list[str]] = {}
    for m in municipalities:
        regions.setdefault(m.region, []).append(m.code)
    pop = MUNICIPALITY_POPULATION
    return World(
        seed,
        profiles,
        owner,
        regions,
        {r: [pop[c] for c in cs] for r, cs in regions.items()},
        [m.code for m in municipalities],
        [pop[m.code] for m in municipalities],
    )


def pseudonym(seed: int, index: int) -> str:
    """A stable pseudonym (never CPR-like: it starts with a letter)."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=9).digest()
    return "p" + base64.urlsafe_b64encode(digest).decode()


# --------------------------------------------------------------------------
# The latent life: facts in valid time
# --------------------------------------------------------------------------

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
SPELL_KINDS = ("education", "virksomhedspraktik", "loentilskud", "exemption", "paid_hours", "social_frikort")


@dataclass
class Life:
    """A citizen's facts. Spells are [start, end) ordinals, end None when open."""

    municipality: str
    enrolled: int
    birth: int
    benefits: list[tuple[int, str]] = field(default_factory=list)
    spells: dict[str, list[list]] = field(default_factory=lambda: {k: [] for k in SPELL_KINDS})
    reasons: list[str] = field(default_factory=list)  # one per exemption spell
    income: dict[int, list[float]] = field(default_factory=dict)  # month -> [ordinary, apprentice, frikort]
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
        self.pension = _add_years(life.birth, PENSION_AGE)
        self.senior_from = _add_years(life.birth, SENIORPENSION_AGE)
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
        for kind in ("virksomhedspraktik", "loentilskud", "exemption", "paid_hours", "social_frikort"):
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
        for kind in ("virksomhedspraktik", "loentilskud"):
            if kind in self.open and self.offer_until <= last:
                self.end(kind, max(self.offer_until, self.open[kind] + 1))
        offer_open = "virksomhedspraktik" in self.open or "loentilskud" in self.open
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
            for kind in ("virksomhedspraktik", "loentilskud"):
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


def _add_years(ordinal: int, years: int) -> int:
    d = date.fromordinal(ordinal)
    try:
        return d.replace(year=d.year + years).toordinal()
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28).toordinal()


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


# --------------------------------------------------------------------------
# Latent monthly status (spec section 3), used to calibrate without the replay
# --------------------------------------------------------------------------

STATUSES = (
    "out",
    "exempt",
    "not_positive",
    "self_supporting",
    "education",
    "flexjob",
    "paid_hours",
    "foertidspension",
    "ressourceforloeb",
    "ledighedsydelse",
    "revalidering",
    "loentilskud",
    "virksomhedspraktik",
)
GROUP_OF = {
    "self_supporting": "employment",
    "education": "employment",
    "flexjob": "employment",
    "paid_hours": "employment",
    "foertidspension": "other_benefit",
    "ressourceforloeb": "other_benefit",
    "ledighedsydelse": "other_benefit",
    "revalidering": "other_benefit",
    "loentilskud": "company",
    "virksomhedspraktik": "company",
}
_BENEFIT_CATEGORY = (
    ("fleksjob", 5),
    ("foertidspension", 7),
    ("ressourceforloeb", 8),
    ("ledighedsydelse", 9),
    ("revalidering", 10),
)


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


def latent_status(life: Life, k: int, count_social_frikort: bool) -> int:
    """Index into STATUSES of the citizen's status in month k."""
    first, last = MONTH_FIRST[k], MONTH_LAST[k]
    if life.enrolled > last or (life.exit is not None and life.exit <= last):
        return 0
    if _holds_on(life.spells["exemption"], last):
        return 1
    touching, at_last = _benefits_touching(life.benefits, first, last)
    income = life.income.get(k, (0.0, 0.0, 0.0))
    hours = income[0] + income[1] + (income[2] if count_social_frikort else 0.0)
    if at_last == "none" and 6 * hours > 481:
        return 3
    if _spell_touches(life.spells["education"], first, last):
        return 4
    if "fleksjob" in touching:
        return 5
    if hours > 0:
        return 6
    for benefit, status in _BENEFIT_CATEGORY[1:]:
        if benefit in touching:
            return status
    if _spell_touches(life.spells["loentilskud"], first, last):
        return 11
    if _spell_touches(life.spells["virksomhedspraktik"], first, last):
        return 12
    return 2


# --------------------------------------------------------------------------
# Events: facts -> JSON lines with recorded timestamps and file positions
# --------------------------------------------------------------------------

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


class _Emitter:
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
        return _local_stamp(ordinal + days, self.rng)

    def dated(self, prefix: str, kind: str, ordinal: int, delay: tuple[int, int], late: bool = False, **fields) -> None:
        stamp = self.stamp_after(ordinal, delay, late)
        event = self.base(prefix, kind, stamp)
        event["at"] = _date_text(ordinal)
        event.update(fields)
        self.emit(event, stamp[1], _month_of_ordinal(ordinal))

    # -- per fact kind ---------------------------------------------------------
    def run(self) -> None:
        life = self.life
        stamp = _local_stamp(self.rng.randint(ENROLL_RECORDED[0].toordinal(), ENROLL_RECORDED[1].toordinal()), self.rng)
        event = self.base("star", "enrolled", stamp)
        event.update(at=_date_text(life.enrolled), pool=POOL, municipality=life.municipality)
        self.emit(event, stamp[1], _month_of_ordinal(life.enrolled))
        for day, benefit in life.benefits:
            late = ("benefit", day) in life.late_facts
            self.dated("ydelse", "benefit_changed", day, DELAY_BENEFIT, late, benefit=benefit)
        self.spells()
        self.incomes()
        self.exit_and_after()

    def spells(self) -> None:
        life, rng = self.life, self.rng
        for kind in ("virksomhedspraktik", "loentilskud"):
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
            for kind, h in zip(("ordinary", "apprentice", "social_frikort"), hours):
                if h > 0:
                    self.income(k, kind, h)

    def income(self, k: int, kind: str, hours: float) -> None:
        """One eIndkomst report; a few are split, the rest arriving months late."""
        rng, month = self.rng, MONTH_TEXT[k]
        day = MONTH_FIRST[k + 1] + rng.randint(*INCOME_RECORDED_DAY) - 1
        parts = [(hours, day, "")]
        if rng.random() < NOISE.late_income_correction and hours >= 2:
            early = round(hours * rng.uniform(0.2, 0.7) * 2) / 2
            parts = [(early, day, ""), (hours - early, MONTH_FIRST[k + 3] + rng.randrange(0, 60), "-2")]
        for h, on, suffix in parts:
            stamp = _zulu_stamp(on, rng)
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
        target["at"] = _date_text(day)
        if case % 3 == 0:
            target["benefit"] = "foertidspension"
        elif case % 3 == 1:
            target.update(type="moved", municipality=self.other_code())
        else:
            target["benefit"] = "seniorpension"
        ret_stamp = _local_stamp(_ordinal_of_key(stamp[1]) + rng.randint(5, 40), rng)
        retraction = self.base("ekorr", "retracted", ret_stamp)
        retraction["event"] = target["id"]
        before = case % NOISE.retraction_before_target_every == 0
        target_file_key = ret_stamp[1] + rng.randrange(3600, 10 * 86400) if before else None
        self.emit(target, stamp[1], _month_of_ordinal(day), target_file_key)
        self.emit(retraction, ret_stamp[1], None)
        self.summary.retractions += 1

    def other_code(self) -> str:
        codes = [c for c in self.world.all_codes if c != self.life.municipality]
        return codes[self.rng.randrange(len(codes))]


def _ordinal_of_key(key: int) -> int:
    return key // 86400


# -- invalid lines -------------------------------------------------------------


def _invalid_line(kind: str, em: _Emitter, rng: random.Random) -> tuple[str, int]:
    """One deliberately invalid line of the given kind and its file key."""
    events = em.emitted
    event, key = events[rng.randrange(len(events))]
    key += rng.randrange(3600, 30 * 86400)
    stamp = _local_stamp(_ordinal_of_key(key), rng)
    fresh = {
        "id": f"fejl-{rng.randrange(10**6)}",
        "type": "benefit_changed",
        "citizen": em.citizen,
        "recorded": stamp[0],
        "at": _date_text(_ordinal_of_key(key) - 3),
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


# --------------------------------------------------------------------------
# Ordering: buckets of sort keys on disk, each sorted in memory
# --------------------------------------------------------------------------


class _Buckets:
    """Lines bucketed by month of their file key, so 10 M lines sort in little memory.

    Each chunk of citizens writes its own bucket files (so chunks can run in
    parallel processes); `drain` merges bucket by bucket. Rows sort by their
    whole text (key first), so the output does not depend on the chunking.
    """

    def __init__(self, directory: str):
        self.directory = directory
        self.files: dict[int, BinaryIO] = {}
        self.first = MONTH_FIRST[0]

    def bucket(self, key: int) -> int:
        ordinal = key // 86400
        if ordinal < self.first:
            return -1
        return min(_month_of_ordinal(ordinal), N_MONTHS + 12)

    def add(self, key: int, line: bytes) -> None:
        b = self.bucket(key)
        f = self.files.get(b)
        if f is None:
            f = self.files[b] = open(os.path.join(self.directory, f"b{b + 1:04d}"), "wb", buffering=1 << 20)
        f.write(b"%012d\t%b\n" % (key, line))

    def close(self) -> list[int]:
        for f in self.files.values():
            f.close()
        return sorted(self.files)


def _drain(directories: list[str], buckets: list[int], write: Callable[[bytes], None]) -> int:
    """Merge the chunks' bucket files in key order into `write`; the number of lines."""
    count = 0
    for b in buckets:
        rows: list[bytes] = []
        for directory in directories:
            path = os.path.join(directory, f"b{b + 1:04d}")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    rows.extend(f.readlines())
                os.remove(path)
        rows.sort()
        write(b"".join([r[13:] for r in rows]))
        count += len(rows)
    return count


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

CHUNK_CITIZENS = 20_000  # citizens per unit of (parallel) work
PARALLEL_FROM = 60_000  # citizens; below this one process is quicker than starting workers


def _invalid_slots(n_citizens: int, scale: float) -> dict[int, list[str]]:
    """Which citizens carry which invalid lines (an exact number per kind)."""
    per_kind = max(1, round(NOISE.invalid_per_kind * scale))
    total = per_kind * len(INVALID_KINDS)
    slots: dict[int, list[str]] = {}
    for j in range(total):
        index = (j * n_citizens) // total + (n_citizens // total) // 2
        slots.setdefault(min(index, n_citizens - 1), []).append(INVALID_KINDS[j % len(INVALID_KINDS)])
    return slots


def _write_chunk(seed: int, scale: float, start: int, stop: int, directory: str) -> tuple[DemoSummary, list[int]]:
    """Simulate citizens [start, stop) into bucket files in `directory`."""
    world = build_world(seed, scale)
    slots = _invalid_slots(len(world.citizen_municipality), scale)
    summary, buckets = DemoSummary(), _Buckets(directory)
    for i in range(start, stop):
        life, rng = simulate_citizen(world, i)
        em = _Emitter(world, i, life, rng, buckets.add, summary, keep=i in slots)
        em.run()
        if i % NOISE.retraction_every == NOISE.retraction_phase:
            em.retraction(i // NOISE.retraction_every)
        for kind in slots.get(i, ()):
            line, key = _invalid_line(kind, em, random.Random(f"invalid:{world.seed}:{i}:{kind}"))
            buckets.add(key, line.encode())
            summary.invalid += 1
            summary.invalid_by_kind[kind] = summary.invalid_by_kind.get(kind, 0) + 1
    summary.citizens = stop - start
    return summary, buckets.close()


def _merge(total: DemoSummary, part: DemoSummary) -> None:
    for name in ("citizens", "events", "duplicates", "invalid", "retractions", "late"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for mine, theirs in ((total.by_type, part.by_type), (total.invalid_by_kind, part.invalid_by_kind)):
        for key, value in theirs.items():
            mine[key] = mine.get(key, 0) + value


def _run_chunks(
    seed: int, scale: float, tmp: str, workers: int | None, progress: bool
) -> tuple[DemoSummary, list[str], list[int]]:
    n = len(build_world(seed, scale).citizen_municipality)
    chunks = [
        (seed, scale, a, min(a + CHUNK_CITIZENS, n), os.path.join(tmp, f"c{j:05d}"))
        for j, a in enumerate(range(0, n, CHUNK_CITIZENS))
    ]
    for chunk in chunks:
        os.mkdir(chunk[-1])
    if workers is None:
        workers = min(os.cpu_count() or 1, len(chunks)) if n >= PARALLEL_FROM else 1
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="citizens", unit="cit", file=sys.stderr)
    total, buckets = DemoSummary(), set()
    if workers <= 1:
        results = (_write_chunk(*chunk) for chunk in chunks)
    else:
        import concurrent.futures
        import multiprocessing

        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        results = pool.map(_write_chunk, *zip(*chunks))
    for part, used in results:
        _merge(total, part)
        buckets.update(used)
        if bar is not None:
            bar.update(part.citizens)
    if workers > 1:
        pool.shutdown()
    if bar is not None:
        bar.close()
    return total, [c[-1] for c in chunks], sorted(buckets)


def generate(
    out: TextIO | BinaryIO | str | os.PathLike,
    *,
    seed: int = 1,
    scale: float = 1.0,
    workers: int | None = None,
    progress: bool = False,
) -> DemoSummary:
    """Write the demo event log (JSON Lines) to a text stream, binary stream or path.

    A path ending in ``.gz`` is gzip-compressed (with a fixed header, so the bytes
    stay reproducible). `workers` processes simulate citizens in parallel (default:
    one per CPU for large scales); the bytes do not depend on it. Returns what was
    written.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="puljemonitor-demo-") as tmp:
        summary, directories, buckets = _run_chunks(seed, scale, tmp, workers, progress)
        with _open_out(out) as write:
            summary.lines = _drain(directories, buckets, write)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


class _open_out:
    """Context manager giving a bytes writer for any supported `out`."""

    def __init__(self, out):
        self.out, self.close = out, []

    def __enter__(self) -> Callable[[bytes], None]:
        out = self.out
        if isinstance(out, (str, os.PathLike)):
            raw = open(out, "wb")
            self.close.append(raw)
            if str(out).endswith(".gz"):
                gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
                self.close.insert(0, gz)
                return gz.write
            return raw.write
        if isinstance(out, io.TextIOBase):
            return lambda data: out.write(data.decode("utf-8"))
        return out.write

    def __exit__(self, *exc) -> None:
        for f in self.close:
            f.close()


# --------------------------------------------------------------------------
# Latent figures (calibration without the replay)
# --------------------------------------------------------------------------


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
    total = [sum(col) for col in zip(*rows)] if rows else [0] * len(STATUSES)
    enrolled = sum(total[1:])
    exempt = total[1]
    measured = enrolled - exempt
    positive = sum(total[3:])
    groups = {"employment": 0, "other_benefit": 0, "company": 0}
    categories = {}
    for i, name in enumerate(STATUSES[3:], start=3):
        categories[name] = total[i]
        groups[GROUP_OF[name]] += total[i]
    share = positive / measured if measured else None
    return {
        "enrolled": enrolled,
        "exempt": exempt,
        "measured": measured,
        "positive": positive,
        "share": share,
        "groups": groups,
        "categories": categories,
        "requirement_met": (5 * positive >= 4 * measured) if measured else None,
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
            best[name] = max((a["share"] for a in met if a["share"] is not None), default=None)
            best[name] = (
                best[name],
                any(
                    a["positive"] * pool.threshold_denominator >= pool.threshold_numerator * a["measured"] > 0
                    for a in met
                ),
            )
        result["achieved"][variant] = sum(1 for _, achieved in best.values() if achieved)
        result["best_share"][variant] = {name: share for name, (share, _) in best.items()}
    return result


def _print_latent(seed: int, scale: float) -> None:
    """A calibration table: project figures per month under both rule variants."""
    fig = latent_figures(seed, scale)
    print(f"citizens {fig['citizens']}")
    for variant in (0, 1):
        print(f"-- count_social_frikort={bool(variant)}: achieved {fig['achieved'][variant]} of 57")
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


def main(argv: list[str] | None = None) -> int:
    """``python -m puljemonitor.demo --seed 1 --scale 1 --out demo.jsonl``"""
    parser = argparse.ArgumentParser(prog="python -m puljemonitor.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of citizens")
    parser.add_argument("--out", default="-", help="output path ('.gz' compresses), '-' for stdout")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU at large scales)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    parser.add_argument("--latent", action="store_true", help="print latent calibration figures instead")
    args = parser.parse_args(argv)
    if args.latent:
        _print_latent(args.seed, args.scale)
        return 0
    out = sys.stdout.buffer if args.out == "-" else Path(args.out)
    summary = generate(out, seed=args.seed, scale=args.scale, workers=args.workers, progress=args.progress)
    print(json.dumps(summary.__dict__, sort_keys=True), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
