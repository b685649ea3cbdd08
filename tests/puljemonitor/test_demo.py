"""The demo generator: reproducible bytes, the spec's event contract, and the noise it promises.

The contract checks here are written from spec section 2 with `json` and `re` only, on
purpose independent of `schemas.events`, so a drift between the generator and the spec
shows up even if the decoder drifted the same way.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
from collections import Counter

import pytest

from puljemonitor import demo
from puljemonitor.demo import writing

SCALE = 0.05  # about 1,200 citizens, 11,000 lines: a second to generate
CITIZEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CPR = re.compile(r"^\d{6}-?\d{4}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
BENEFITS = {
    "kontanthjaelp",
    "uddannelseshjaelp",
    "integrationsydelse",
    "overgangsydelse",
    "selvforsoergelsesydelse",
    "sygedagpenge",
    "forrevalidering",
    "revalidering",
    "ressourceforloeb",
    "ledighedsydelse",
    "fleksjob",
    "foertidspension",
    "seniorpension",
    "folkepension",
    "none",
}
REASONS = {
    "arbejdsfordeling_under_6_uger",
    "arbejdsfordeling_over_6_uger",
    "barsel",
    "barsel_inden_6_uger",
    "dom_anbringelse",
    "kan_ikke_faa_pension",
    "standby",
    "paa_vej_i_job",
    "paa_vej_efterloen",
    "paa_vej_folkepension",
    "sygdom",
    "saerlig_oevrige",
    "vejrlig",
}
FIELDS = {
    "enrolled": {"at", "pool", "municipality"},
    "benefit_changed": {"at", "benefit"},
    "income_reported": {"month", "hours", "kind"},
    "education_started": {"at"},
    "education_ended": {"at"},
    "offer_started": {"at", "offer"},
    "offer_ended": {"at", "offer"},
    "exemption_started": {"at", "reason"},
    "exemption_ended": {"at"},
    "moved": {"at", "municipality"},
    "died": {"at"},
    "retracted": {"event"},
}
CODES = {m.code for m in demo.load_municipalities()}
FREEZE = dt.date(2020, 8, 2)


def _date_ok(text: object) -> bool:
    if not isinstance(text, str) or not DATE.match(text):
        return False
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return False
    return dt.date(2000, 1, 1) <= day <= dt.date(2099, 12, 31)


def _recorded(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def violation(line: str) -> str | None:
    """Why spec section 2 rejects this line on its own, or None if it is valid."""
    try:
        event = json.loads(line)
    except ValueError:
        return "not json"
    if not isinstance(event, dict):
        return "not an object"
    kind = event.get("type")
    if kind not in FIELDS:
        return "unknown type"
    missing = ({"id", "citizen", "recorded"} | FIELDS[kind]) - set(event)
    if missing:
        return f"missing {sorted(missing)}"
    ident, citizen, recorded = event["id"], event["citizen"], event["recorded"]
    if not isinstance(ident, str) or not 1 <= len(ident) <= 128:
        return "bad id"
    if not isinstance(citizen, str) or not CITIZEN.match(citizen) or CPR.match(citizen):
        return "bad citizen"
    if not isinstance(recorded, str) or not RFC3339.match(recorded):
        return "bad recorded"
    for name in ("at",) if "at" in FIELDS[kind] else ():
        if not _date_ok(event[name]):
            return "bad date"
    return _type_violation(kind, event)


def _type_violation(kind: str, e: dict) -> str | None:
    if kind == "enrolled":
        if e["pool"] not in ("afklaringspuljen", "bir") or e["municipality"] not in CODES:
            return "bad enrollment"
        if e["pool"] == "afklaringspuljen" and dt.date.fromisoformat(e["at"]) > FREEZE:
            return "enrolled after the freeze"
    if kind == "benefit_changed" and e["benefit"] not in BENEFITS:
        return "unknown benefit"
    if kind == "income_reported":
        hours = e["hours"]
        if not isinstance(e["month"], str) or not MONTH.match(e["month"]):
            return "bad month"
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 <= hours <= 744:
            return "bad hours"
        if e["kind"] not in ("ordinary", "apprentice", "social_frikort"):
            return "bad kind"
    if kind in ("offer_started", "offer_ended") and e["offer"] not in ("virksomhedspraktik", "loentilskud"):
        return "bad offer"
    if kind == "exemption_started" and e["reason"] not in REASONS:
        return "bad reason"
    if kind == "moved" and e["municipality"] not in CODES:
        return "unknown municipality"
    if kind == "retracted" and not isinstance(e["event"], str):
        return "bad retraction"
    return None


def generate_bytes(seed: int = 1, scale: float = SCALE) -> tuple[bytes, demo.DemoSummary]:
    buffer = io.BytesIO()
    summary = demo.generate(buffer, seed=seed, scale=scale)
    return buffer.getvalue(), summary


@pytest.fixture(scope="module")
def log() -> tuple[list[str], demo.DemoSummary]:
    data, summary = generate_bytes()
    return data.decode("utf-8").splitlines(), summary


@pytest.fixture(scope="module")
def classified(log):
    """Each line as the spec's intake would take it: (line number, event or None, verdict)."""
    lines, _ = log
    seen: dict[tuple[str, str], dict] = {}
    rows = []
    for number, line in enumerate(lines, 1):
        why = violation(line)
        if why is not None:
            rows.append((number, None, why))
            continue
        event = json.loads(line)
        key = (event["citizen"], event["id"])
        if key not in seen:
            seen[key] = event
            rows.append((number, event, "applied"))
        elif seen[key] == event:
            rows.append((number, event, "duplicate"))
        else:
            rows.append((number, event, "conflict"))
    return rows


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not():
    first, _ = generate_bytes(seed=1)
    again, _ = generate_bytes(seed=1)
    other, _ = generate_bytes(seed=2)
    assert first == again
    assert first != other


def test_the_bytes_do_not_depend_on_chunking_or_worker_processes(tmp_path, monkeypatch):
    serial, _ = generate_bytes(scale=0.02)
    monkeypatch.setattr(writing, "CHUNK_CITIZENS", 150)  # about four chunks
    path = tmp_path / "parallel.jsonl"
    summary = demo.generate(path, seed=1, scale=0.02, workers=2)
    assert path.read_bytes() == serial
    assert summary.lines == len(serial.splitlines())


def test_gzip_output_is_reproducible_and_holds_the_same_lines(tmp_path):
    plain, _ = generate_bytes(scale=0.02)
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    demo.generate(a, scale=0.02)
    demo.generate(b, scale=0.02)
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()) == plain


def test_a_text_stream_gets_the_same_lines():
    text = io.StringIO()
    demo.generate(text, scale=0.02)
    assert text.getvalue().encode("utf-8") == generate_bytes(scale=0.02)[0]


def test_main_writes_a_file_and_reports_a_summary(tmp_path, capsys):
    out = tmp_path / "demo.jsonl"
    assert demo.main(["--seed", "3", "--scale", "0.01", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().err)
    assert summary["lines"] == len(out.read_text().splitlines()) > 0


def test_every_line_is_valid_except_the_deliberately_invalid_ones(log, classified):
    _, summary = log
    verdicts = Counter(verdict for _, _, verdict in classified)
    rejected = sum(n for verdict, n in verdicts.items() if verdict not in ("applied", "duplicate"))
    assert rejected == summary.invalid
    assert verdicts["applied"] == summary.events
    assert verdicts["duplicate"] == summary.duplicates
    assert summary.lines == len(classified) == summary.events + summary.duplicates + summary.invalid


def test_each_kind_of_invalid_line_is_present_in_the_promised_number(log, classified):
    _, summary = log
    per_kind = max(1, round(demo.NOISE.invalid_per_kind * SCALE))
    assert summary.invalid_by_kind == {kind: per_kind for kind in demo.INVALID_KINDS}
    reasons = Counter(verdict for _, _, verdict in classified if verdict not in ("applied", "duplicate"))
    assert reasons["conflict"] == per_kind
    assert reasons["enrolled after the freeze"] == per_kind
    assert reasons["unknown municipality"] >= per_kind
    assert reasons["not json"] >= per_kind


def test_invalid_lines_include_a_cpr_like_citizen_and_the_named_cases(log):
    lines, _ = log
    text = "\n".join(lines)
    assert re.search(r'"citizen": "(\d{6}-\d{4}|\d{10})"', text)
    assert '"municipality": "999"' in text
    assert '"at": "2020-09-01"' in text


def test_applied_events_follow_the_contract(classified):
    applied = [e for _, e, verdict in classified if verdict == "applied"]
    types = Counter(e["type"] for e in applied)
    assert set(types) == set(FIELDS)  # every event type occurs
    for e in applied:
        assert not CPR.match(e["citizen"])
        if e["type"] == "enrolled" and e["pool"] == "afklaringspuljen":
            assert dt.date(2020, 7, 27) <= dt.date.fromisoformat(e["at"]) <= FREEZE
        elif e["type"] == "enrolled":  # BIR's enrollment is open, from the pool's start to its last month
            assert e["pool"] == "bir" and "2020-12-01" <= e["at"] <= "2022-12-31"
        if "at" in e:
            assert "2000-01-01" <= e["at"] <= "2024-03-31"


def test_every_citizen_is_enrolled_once_and_has_a_benefit_before_enrolling(classified):
    enrolled: dict[str, str] = {}
    first_benefit: dict[str, str] = {}
    for _, e, verdict in classified:
        if verdict != "applied":
            continue
        if e["type"] == "enrolled":
            assert e["citizen"] not in enrolled
            enrolled[e["citizen"]] = e["at"]
        elif e["type"] == "benefit_changed":
            first_benefit[e["citizen"]] = min(first_benefit.get(e["citizen"], "9999"), e["at"])
    assert enrolled and set(first_benefit) <= set(enrolled)
    assert all(first_benefit[c] < at for c, at in enrolled.items())


def test_retractions_name_an_event_of_the_same_citizen_and_one_arrives_first(log, classified):
    _, summary = log
    position = {(e["citizen"], e["id"]): n for n, e, v in classified if v == "applied"}
    retractions = [(n, e) for n, e, v in classified if v == "applied" and e["type"] == "retracted"]
    assert len(retractions) == summary.retractions >= 1
    order = [position[(e["citizen"], e["event"])] > n for n, e in retractions]
    assert all((e["citizen"], e["event"]) in position for _, e in retractions)
    assert any(order), "at least one retraction must come before its target"


def test_late_events_exist_and_are_counted(log, classified):
    _, summary = log
    late = 0
    for _, e, verdict in classified:
        if verdict != "applied" or e["type"] == "retracted":
            continue
        concerned = e["month"] if e["type"] == "income_reported" else e["at"][:7]
        if concerned < "2020-07":
            continue
        year, month = divmod(int(concerned[:4]) * 12 + int(concerned[5:7]) - 1 + 3, 12)
        cutoff = dt.datetime(year, month + 1, 1, tzinfo=_copenhagen_offset(year, month + 1))
        late += _recorded(e["recorded"]) >= cutoff
    assert late == summary.late > 0


def _copenhagen_offset(year: int, month: int) -> dt.timezone:
    """Offset in force at midnight on the 1st of a month: summer time April-October."""
    return dt.timezone(dt.timedelta(hours=2 if 4 <= month <= 10 else 1))


def test_lines_come_roughly_in_recorded_order(classified):
    stamps = [_recorded(e["recorded"]) for _, e, v in classified if v == "applied"]
    backwards = sum(1 for a, b in zip(stamps, stamps[1:]) if b < a - dt.timedelta(days=1))
    assert backwards / len(stamps) < 0.01


def test_scale_multiplies_citizens_and_every_municipality_enrolls_someone():
    small = demo.build_world(1, 0.5).citizen_municipality
    full = demo.build_world(1, 1.0).citizen_municipality
    assert abs(len(full) / len(small) - 2) < 0.01
    assert set(full) == CODES


def test_pseudonyms_are_unique_and_never_cpr_like():
    names = [demo.pseudonym(1, i) for i in range(20_000)]
    assert len(set(names)) == len(names)
    assert all(CITIZEN.match(n) and not CPR.match(n) for n in names)
