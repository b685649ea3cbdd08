"""The municipal world: who lives where, and how each municipality behaves.

Why its own module: results spread between participants because municipalities differ
(effectiveness, exemption practice, social frikort, slow case handling). Those traits are
drawn once per world seed, independent of the citizens' lives, so a run's seed re-rolls
lives in the same municipal landscape and every seed stays calibrated. The citizens'
enrolling municipalities and their pseudonyms are fixed here as well.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from dataclasses import dataclass
from statistics import NormalDist

from puljemonitor.demo.dates import POOL
from schemas import pools, reference

# Participants' target group at enrollment, at scale 1 (seed 000: 14,660 remain
# in September 2021; seeds 002/003: about 11,200 at the end).
PROJECT_CITIZENS = 18_200


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


@dataclass(frozen=True)
class Municipality:
    """A municipality; the region steers where citizens move to."""

    code: str
    name: str
    region: str


def load_municipalities() -> list[Municipality]:
    """The 98 municipalities (spec section 2), in the reference data's order."""
    region = reference.regions()
    return [Municipality(code, name, region[code]) for code, name in reference.municipalities().items()]


def load_participants() -> dict[str, tuple[str, ...]]:
    """Participant name -> its municipality codes (Tårnby/Dragør has two)."""
    return {p.name: p.codes for p in pools.pool(POOL).participants}


@dataclass(frozen=True)
class Profile:
    """One municipality's behaviour: why participants' results spread."""

    code: str
    region: str
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
        profiles[m.code] = Profile(m.code, m.region, effect[m.code], exemption[m.code], frikort[m.code], late)
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
