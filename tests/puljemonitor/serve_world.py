"""A small world for the serve tests: four municipalities whose 2021-09 figures are known by
hand, some small enough to be suppressed, and a running ``serve`` for the live tests.

2021-09, as known now (every citizen enrolled 2020-07-30 unless said):

* København (101, municipality A): a1–a3 førtidspension, a4–a5 exempt, a6–a8 kontanthjælp
  (not positive); a9 kontanthjælp, with a ressourceforløb from 2021-09-01 recorded only in
  January 2022 (after the publication cut-off of 2021-12-01): positive now, not as published.
  Now: enrolled 9, exempt 2, measured 7, positive 4 (other_benefit 4: førtidspension 3,
  ressourceforløb 1).
* Frederiksberg (147, municipality B): b1 in education, b2–b3 kontanthjælp. Enrolled 3, all
  public counts of B but the zeros are hidden.
* Tårnby (185): t1–t6 kontanthjælp. Enrolled 6, measured 6, positive 0.
* Dragør (155): d1 in a flexjob, d2 kontanthjælp. Enrolled 2 (hidden in public); the
  participant Tårnby/Dragør: enrolled 8, measured 8, positive 1 (hidden in public).

BIR (spec §7), 2021-04 (the period 2021-02 .. 2021-04, published with the events recorded
before 2021-07-01), every citizen enrolled in BIR on 2020-12-01 (``bir_world``):

* København (A): bir-101-1..5 on a resource course since 2019-03-01 (2–3 years, long, no
  company-oriented effort): not positive; bir-101-6..8 on a course since 2020-06-01 (0–1
  years) with an internship from 2021-03-01: company; bir-101-9 in a flexjob: flexjob;
  bir-101-10 on a course since 2019-03-01, its internship from 2021-04-06 recorded
  2021-07-05 (late): company now, not positive as published. Now: target 10, company 4,
  flexjob 1, requirement 1: 5, requirement 2: 1; bands 0-1: 3, 2-3: 6; long 6, without 5.
  Public: flexjob, company and requirement 2 hidden (1–4); long 6 = without 5 + with 1
  hides ``without`` too, and courses 9 = 3 + 6 hides the band 2-3.
* Frederiksberg (B): bir-147-1 on a course, then a flexjob from 2021-03-15: flexjob;
  bir-147-2 on a course since 2020-10-01: not positive (band 0-1). Target 2: all hidden.
* Tårnby: bir-185-1 on a course since 2020-01-01 (1–2 years, long) with 20 ordinary hours
  in 2021-03: paid hours, not without company. Dragør has no BIR citizen.
* The project: target 13, flexjob 2, paid hours 1, company 4, requirement 1: 7,
  requirement 2: 3; bands 0-1: 4, 1-2: 1, 2-3: 6; long 7, without 5 (hidden: with 2).

Pseudonyms are ``cit-<code>-<n>`` (``bir-<code>-<n>`` in BIR) so a leak check can look for
them in any text.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from puljemonitor.server.logsource import LogSource
from tests.builders import History

A, B, TAARNBY, DRAGOER = "101", "147", "185", "155"
RECORDED = "2020-08-01T12:00:00+02:00"


def citizen(name: str, code: str, benefit: str = "kontanthjaelp") -> History:
    h = History(name, code)
    h.add("benefit_changed", at="2020-06-01", benefit=benefit, recorded=RECORDED)
    return h


def world() -> dict[str, list[History]]:
    def name(code: str, n: int) -> str:
        return f"cit-{code}-{n}"

    a = [citizen(name(A, i), A, "foertidspension") for i in (1, 2, 3)]
    for i in (4, 5):
        h = citizen(name(A, i), A)
        h.add("exemption_started", at="2021-01-01", reason="sygdom", recorded="2021-01-02T12:00:00+01:00")
        a.append(h)
    a += [citizen(name(A, i), A) for i in (6, 7, 8)]
    late = citizen(name(A, 9), A)
    late.add("benefit_changed", at="2021-09-01", benefit="ressourceforloeb", recorded="2022-01-10T12:00:00+01:00")
    a.append(late)
    b = [citizen(name(B, 1), B)]
    b[0].add("education_started", at="2021-02-01", recorded="2021-02-02T12:00:00+01:00")
    b += [citizen(name(B, i), B) for i in (2, 3)]
    return {
        A: a,
        B: b,
        TAARNBY: [citizen(name(TAARNBY, i), TAARNBY) for i in range(1, 7)],
        DRAGOER: [citizen(name(DRAGOER, 1), DRAGOER, "fleksjob"), citizen(name(DRAGOER, 2), DRAGOER)],
    }


BIR_ENROLLED = "2020-12-01"
BIR_RECORDED = "2020-12-02T10:00:00+01:00"


def bir_citizen(name: str, code: str, course_from: str | None = "2019-03-01") -> History:
    h = History(name, municipality=None)
    h.add("enrolled", at=BIR_ENROLLED, pool="bir", municipality=code, recorded=BIR_RECORDED)
    if course_from:
        h.add("benefit_changed", at=course_from, benefit="ressourceforloeb", recorded=BIR_RECORDED)
    return h


def bir_world() -> dict[str, list[History]]:
    a = [bir_citizen(f"bir-{A}-{i}", A) for i in (1, 2, 3, 4, 5)]
    for i in (6, 7, 8):
        h = bir_citizen(f"bir-{A}-{i}", A, "2020-06-01")
        h.add("offer_started", at="2021-03-01", offer="virksomhedspraktik", recorded="2021-03-02T10:00:00+01:00")
        a.append(h)
    flexjob = bir_citizen(f"bir-{A}-9", A, None)
    flexjob.add("benefit_changed", at="2020-06-01", benefit="fleksjob", recorded=BIR_RECORDED)
    late = bir_citizen(f"bir-{A}-10", A)
    late.add("offer_started", at="2021-04-06", offer="virksomhedspraktik", recorded="2021-07-05T10:00:00+02:00")
    a += [flexjob, late]
    b1 = bir_citizen(f"bir-{B}-1", B, "2020-10-01")
    b1.add("benefit_changed", at="2021-03-15", benefit="fleksjob", recorded="2021-03-20T10:00:00+01:00")
    t1 = bir_citizen(f"bir-{TAARNBY}-1", TAARNBY, "2020-01-01")
    t1.add("income_reported", month="2021-03", hours=20, kind="ordinary", recorded="2021-04-10T10:00:00+02:00")
    return {A: a, B: [b1, bir_citizen(f"bir-{B}-2", B, "2020-10-01")], TAARNBY: [t1], DRAGOER: []}


def pseudonyms(code: str) -> list[str]:
    return [h.citizen for h in world()[code]]


def bir_pseudonyms(code: str) -> list[str]:
    return [h.citizen for h in bir_world()[code]]


def log_lines() -> list[bytes]:
    both = [*world().values(), *bir_world().values()]
    return [line for histories in both for h in histories for line in h.lines()]


def write_log(path: Path) -> Path:
    path.write_bytes(b"\n".join(log_lines()) + b"\n")
    return path


def followed(log: Path, lines: list[bytes], cuts: list[int], on_change=None) -> LogSource:
    """A followed log that starts as ``lines[:cuts[1]]`` and grows by ``lines[cuts[i]:cuts[i+1]]``,
    each batch absorbed as ``serve --follow`` absorbs it (``on_change`` hears every change)."""
    log.write_bytes(b"".join(line + b"\n" for line in lines[: cuts[1]]))
    source = LogSource(log, follow=True)
    source.load()
    if on_change is not None:
        source.subscribe(on_change)
    for start, end in zip(cuts[1:], cuts[2:]):
        with open(log, "ab") as f:
            f.write(b"".join(line + b"\n" for line in lines[start:end]))
        source.absorb()
    return source


def nonzero(tallies) -> dict:
    """Tallies without the zero counts a citizen who moved away leaves behind."""
    return {k: +c for k, c in tallies.items() if +c}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(log: Path | None, *extra: str, tokens: Path | None = None):
    """``puljemonitor serve`` as a subprocess on a free port (of ``log``, or as ``extra`` says:
    ``--broker``); yields (base URL, process)."""
    port = free_port()
    source = ["--log", str(log)] if log is not None else []
    args = [sys.executable, "-m", "puljemonitor", "serve", *source, "--port", str(port), *extra]
    if tokens is not None:
        args += ["--tokens", str(tokens)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("serve did not become ready")
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
