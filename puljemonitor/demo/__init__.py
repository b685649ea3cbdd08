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

Modules, each owning one concept (lower ones never import higher ones):

- ``dates``: the calendar: month indices, day ordinals, timestamps and sort keys;
- ``world``: the municipalities, their traits and the citizens' enrolling municipalities;
- ``life``: one citizen's latent life, the Markov chain the demo is calibrated through;
- ``bir``: the BIR citizens (spec §7, seed 001), their own chain on the same mechanics;
- ``latent``: the latent monthly status and the calibration figures (``--latent``);
- ``events``: the lines derived from a life, with delays, late, duplicate and retracted events;
- ``invalid``: the deliberately invalid lines;
- ``writing``: chunks of citizens, worker processes, and the merge into one ordered file;
- ``command``: ``python -m puljemonitor.demo``.
"""

from __future__ import annotations

from puljemonitor.demo.command import main
from puljemonitor.demo.dates import MONTH_TEXT, N_MONTHS, POOL
from puljemonitor.demo.events import NOISE, DemoSummary
from puljemonitor.demo.invalid import INVALID_KINDS
from puljemonitor.demo.latent import STATUSES, latent_figures, latent_status
from puljemonitor.demo.life import simulate_citizen
from puljemonitor.demo.world import build_world, load_municipalities, pseudonym
from puljemonitor.demo.writing import generate

__all__ = [
    "INVALID_KINDS",
    "MONTH_TEXT",
    "NOISE",
    "N_MONTHS",
    "POOL",
    "STATUSES",
    "DemoSummary",
    "build_world",
    "generate",
    "latent_figures",
    "latent_status",
    "load_municipalities",
    "main",
    "pseudonym",
    "simulate_citizen",
]
