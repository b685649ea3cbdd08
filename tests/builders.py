"""Compact construction of citizen histories for tests, fed through the real decoder."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from projections.months import status
from projections.timeline import Timeline, build_timeline
from puljemonitor.replay import Replay
from schemas import pools
from schemas.calendar import parse_month
from schemas.events import decode
from schemas.pools import Rules
from schemas.reports import Report

POOL = "afklaringspuljen"
_ids = itertools.count()


class History:
    """One citizen's events as JSON lines; by default enrolled in København on 2020-07-30."""

    def __init__(self, citizen: str = "c1", municipality: str | None = "101", enrolled: str = "2020-07-30") -> None:
        self.citizen = citizen
        self.events: list[dict] = []
        if municipality:
            self.add("enrolled", at=enrolled, pool=POOL, municipality=municipality)

    def add(self, type: str, *, recorded: str = "2020-07-01T12:00:00+02:00", id: str | None = None, **fields) -> dict:
        event = {"type": type, "id": id or f"ev{next(_ids)}", "citizen": self.citizen, "recorded": recorded, **fields}
        self.events.append(event)
        return event

    def lines(self) -> list[bytes]:
        return [json.dumps(e).encode() for e in self.events]

    def timeline(self, as_of=None) -> Timeline:
        return build_timeline([decode(line) for line in self.lines()], POOL, as_of)

    def status(self, month: str, rules: Rules = Rules()) -> str:
        return status(self.timeline(), parse_month(month), rules)

    def statuses(self, *months: str, rules: Rules = Rules()) -> list[str]:
        timeline = self.timeline()
        return [status(timeline, parse_month(m), rules) for m in months]


def report(lines: list[bytes], month: str, *, rules: Rules = Rules(), as_of=None) -> Report:
    """The spec §6 report of an in-memory log, through the same replay the CLI uses."""
    replay = Replay()
    replay.ingest_lines(lines)
    return replay.report(pools.pool(POOL), parse_month(month), rules, as_of)


def demo_log(directory: Path) -> list[bytes]:
    """The small demo log the live tests share (seed 3, scale 0.01: about 2,500 lines with
    every kind of event, duplicates, retractions and invalid lines), non-blank lines."""
    out = directory / "demo.jsonl"
    subprocess.run(
        [sys.executable, "-m", "puljemonitor", "demo-data", "--seed", "3", "--scale", "0.01", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return [line for line in out.read_bytes().splitlines() if line.strip()]


def citizen_key(line: bytes) -> bytes | None:
    """The key a producer that keys by citizen would use (even a CPR-like one, to test the worker)."""
    try:
        citizen = json.loads(line).get("citizen")
    except (ValueError, AttributeError):
        return None
    return citizen.encode() if isinstance(citizen, str) else None
