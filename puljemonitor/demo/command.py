"""The command line ``python -m puljemonitor.demo``: write the log, or print the latent figures.

Why its own module: the package's ``__main__`` and the tests call the same ``main``;
``puljemonitor demo-data`` is the click front end to the same ``generate``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from puljemonitor.demo.latent import print_latent
from puljemonitor.demo.writing import generate

DESCRIPTION = "Deterministic synthetic event log for the Afklaringspuljen (demo and benchmark data)."


def main(argv: list[str] | None = None) -> int:
    """``python -m puljemonitor.demo --seed 1 --scale 1 --out demo.jsonl``"""
    parser = argparse.ArgumentParser(prog="python -m puljemonitor.demo", description=DESCRIPTION)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of citizens")
    parser.add_argument("--out", default="-", help="output path ('.gz' compresses), '-' for stdout")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU at large scales)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    parser.add_argument("--latent", action="store_true", help="print latent calibration figures instead")
    args = parser.parse_args(argv)
    if args.latent:
        print_latent(args.seed, args.scale)
        return 0
    out = sys.stdout.buffer if args.out == "-" else Path(args.out)
    summary = generate(out, seed=args.seed, scale=args.scale, workers=args.workers, progress=args.progress)
    print(json.dumps(summary.__dict__, sort_keys=True), file=sys.stderr)
    return 0
