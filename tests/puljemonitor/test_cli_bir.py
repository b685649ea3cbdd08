"""``report --pool bir`` and ``audit --pool bir`` as a user meets them (spec §7)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from puljemonitor.cli import main
from tests.builders import History

runner = CliRunner()


@pytest.fixture
def log(tmp_path):
    """København's BIR citizen starts an internship registered late (after 2021-04 was
    published); Frederiksberg's got flexjob on time; a first-pool citizen and bad lines too."""
    a = History(citizen="k1", municipality=None)
    a.add("enrolled", at="2020-12-01", pool="bir", municipality="101", recorded="2020-12-02T10:00:00+01:00")
    a.add("benefit_changed", at="2019-03-01", benefit="ressourceforloeb", recorded="2020-12-02T10:00:00+01:00")
    a.add("offer_started", at="2021-04-06", offer="virksomhedspraktik", recorded="2021-07-05T10:00:00+02:00")
    b = History(citizen="f1", municipality=None)
    b.add("enrolled", at="2021-01-04", pool="bir", municipality="147", recorded="2021-01-05T10:00:00+01:00")
    b.add("benefit_changed", at="2020-10-01", benefit="ressourceforloeb", recorded="2021-01-05T10:00:00+01:00")
    b.add("benefit_changed", at="2021-03-15", benefit="fleksjob", recorded="2021-03-20T10:00:00+01:00")
    b.add("income_reported", month="2021-04", hours=40, kind="social_frikort", recorded="2021-05-10T02:00:00Z")
    c = History(citizen="x1", municipality="253")
    lines = a.lines() + b.lines() + c.lines() + [b.lines()[-1], b"", b"garbage 010190-1234"]
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run(*args):
    return runner.invoke(main, [str(a) for a in args])


def bir_json(log, *args, month="2021-04") -> dict:
    result = run("report", "--log", log, "--pool", "bir", "--month", month, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_json_is_the_bir_object_and_counts_every_line(log, tmp_path):
    rejected = tmp_path / "dead.jsonl"
    r = bir_json(log, "--rejected", rejected)
    assert (r["pool"], r["month"], r["period"], r["as_of"]) == (
        "bir",
        "2021-04",
        {"first": "2021-02", "last": "2021-04"},
        None,
    )
    assert r["input"] == {"lines": 10, "applied": 8, "duplicates": 1, "rejected": 1}
    assert r["project"]["target"] == 2 and list(r["municipalities"]) == ["101", "147"]
    assert r["project"]["categories"] == {
        "self_supporting": 0,
        "education": 0,
        "flexjob": 1,
        "paid_hours": 0,
        "company": 1,
    }
    assert r["project"]["requirement_1"] == {"count": 2, "share": 1.0, "met": True}
    assert r["project"]["requirement_2"] == {"count": 1, "share": 0.5, "met": True}
    assert r["indicators"]["project"]["durations"] == {"0-1": 0, "1-2": 0, "2-3": 1, "3-4": 0, "4+": 0}
    assert r["indicators"]["project"]["long_without_company"] == {"long": 1, "without": 0, "share": 0.0}
    dead = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert [d["raw"] for d in dead] == ["garbage [CPR redacted]"]


def test_as_published_leaves_out_the_late_internship_but_input_counts_it(log):
    r = bir_json(log, "--as-published")
    assert r["as_of"] == "2021-07-01T00:00:00+02:00"
    assert r["municipalities"]["101"]["requirement_1"]["count"] == 0
    assert r["indicators"]["municipalities"]["101"]["long_without_company"] == {"long": 1, "without": 1, "share": 1.0}
    assert r["input"]["lines"] == 10


def test_as_of_and_the_social_frikort_variant(log):
    assert bir_json(log, "--as-of", "2021-03-01T00:00:00+01:00")["project"]["target"] == 2
    assert bir_json(log, "--as-of", "2021-01-01T00:00:00+01:00")["project"]["target"] == 1
    assert bir_json(log, "--as-of", "2020-12-01T00:00:00+01:00")["municipalities"] == {}
    r = bir_json(log, "--count-social-frikort", month="2021-06")
    assert r["rules"] == {"count_social_frikort": True}
    assert r["municipalities"]["147"]["categories"]["flexjob"] == 1  # flexjob outranks paid hours


def test_several_processes_and_rocksdb_state_give_the_same_report(log, tmp_path):
    one = bir_json(log, "--jobs", "1")
    assert bir_json(log, "--jobs", "2") == one
    # in a process of its own, as an operator runs it (tests/puljemonitor/test_sharding.py:_cli says why)
    args = ["report", "--log", str(log), "--pool", "bir", "--month", "2021-04", "--format", "json"]
    done = subprocess.run([sys.executable, "-m", "puljemonitor", *args, "--jobs", "3", "--state", str(tmp_path / "state")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == one


def test_the_table_is_seed_001s_first_page_in_danish(log):
    result = run("report", "--log", log, "--pool", "bir", "--month", "2021-04")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Bedre indsats for borgere i ressourceforløb", "2021M02-2021M04", "Overblik - alle projektkommuner",
                 "2020M12-2021M02", "2021M01-2021M03", "Antal borgere i målgruppen",
                 "Andel i virksomhedsrettet indsats mv.", "Andel i beskæftigelse mv.", "Resultatkrav 1",
                 "Resultatkrav 2", "Virksomhedsrettet indsats mv. (resultatkrav 1: 35%)",
                 "Beskæftigelse mv. (resultatkrav 2: 15%)", "Fleksjob", "Ordinære løntimer", "København",
                 "Frederiksberg", "100,0 %", "50,0 %"):  # fmt: skip
        assert text in out, text


def test_the_overview_shows_each_of_the_last_three_periods(log):
    out = run("report", "--log", log, "--pool", "bir", "--month", "2021-04").stdout
    rows = {line.split()[0]: line.split("  ")[1:] for line in out.splitlines() if line.startswith("202")}
    rows = {period: [cell.strip() for cell in cells if cell.strip()] for period, cells in rows.items()}
    assert rows["2020M12-2021M02"] == ["2", "0,0 %", "0,0 %"]  # two in the target group, nothing yet
    assert rows["2021M01-2021M03"] == ["2", "50,0 %", "50,0 %"]  # flexjob from 15 March
    assert rows["2021M02-2021M04"] == ["2", "100,0 %", "50,0 %"]


def test_audit_lists_the_citizen_whose_period_category_changed(log):
    result = run("audit", "--log", log, "--pool", "bir", "--month", "2021-04", "--format", "json")
    assert result.exit_code == 0, result.output
    a = json.loads(result.stdout)
    assert (a["pool"], a["published_as_of"]) == ("bir", "2021-07-01T00:00:00+02:00")
    assert a["municipalities"]["101"]["published"]["requirement_1"]["count"] == 0
    assert a["municipalities"]["101"]["now"]["requirement_1"]["count"] == 1
    [change] = a["municipalities"]["101"]["changes"]
    assert (change["citizen"], change["published"], change["now"]) == ("k1", "not_positive", "company")
    assert [e["type"] for e in change["events"]] == ["offer_started"]
    assert a["municipalities"]["147"]["changes"] == []


def test_audit_of_one_municipality_shows_only_its_citizens(log):
    result = run("audit", "--log", log, "--pool", "bir", "--month", "2021-04", "--municipality", "147")
    assert result.exit_code == 0, result.output
    assert "k1" not in result.stdout and "Frederiksberg" in result.stdout and "København" not in result.stdout


def test_audit_table_names_the_late_event(log):
    out = run("audit", "--log", log, "--pool", "bir", "--month", "2021-04").stdout
    assert "101 k1: not_positive → company: offer_started 2021-04-06 (registreret 2021-07-05T10:00:00+02:00)" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--as-of", "2021-12-01T00:00:00+01:00", "--as-published"], "mutually exclusive"),
        (["--format", "html"], "--format html writes a file"),
        (["--format", "html", "--out", "x.html", "--participant", "Narnia"], "'Narnia' is not a municipality"),
        (["--format", "html", "--out", "x.html", "--participant", "860"], "860 has no citizens in"),
        (["--pool", "BIR2"], "unknown pool 'BIR2'; configured: afklaringspuljen, bir"),
    ],
)
def test_usage_errors(log, args, message):
    result = run("report", "--log", log, "--month", "2021-04", "--pool", "bir", *args)
    assert result.exit_code == 2 and message in result.output
