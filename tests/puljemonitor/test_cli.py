"""The command line as a user meets it: formats, inputs, options and their errors."""

import gzip
import json

import pytest
from click.testing import CliRunner

from puljemonitor.cli import main
from tests.builders import History

runner = CliRunner()


@pytest.fixture
def log(tmp_path):
    """Two municipalities; København's citizen is clarified late (after 2021-09 was published)."""
    a = History(citizen="k1", municipality="101")
    a.add("benefit_changed", at="2021-09-10", benefit="foertidspension", recorded="2021-12-15T10:00:00+01:00")
    b = History(citizen="f1", municipality="147")
    b.add("offer_started", at="2021-09-01", offer="loentilskud", recorded="2021-09-02T10:00:00+02:00")
    lines = a.lines() + b.lines() + [b.lines()[-1], b"", b"garbage 010190-1234"]
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run(*args, input=None):
    result = runner.invoke(main, [str(a) for a in args], input=input)
    return result


def report_json(*args, input=None) -> dict:
    result = run("report", *args, "--month", "2021-09", "--format", "json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_json_follows_the_contract_and_counts_every_line(log, tmp_path):
    rejected = tmp_path / "rejected.jsonl"
    r = report_json("--log", log, "--rejected", rejected)
    assert r["input"] == {"lines": 6, "applied": 4, "duplicates": 1, "rejected": 1}
    assert (r["project"]["positive"], r["project"]["measured"], r["as_of"]) == (2, 2, None)
    dead = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert dead == [{"line": 7, "raw": "garbage [CPR redacted]", "reason": dead[0]["reason"]}]
    assert "not valid JSON" in dead[0]["reason"]


def test_as_published_excludes_late_events_but_input_still_counts_them(log):
    r = report_json("--log", log, "--as-published")
    assert r["as_of"] == "2021-12-01T00:00:00+01:00"
    assert r["municipalities"]["101"]["positive"] == 0 and r["municipalities"]["147"]["positive"] == 1
    assert r["input"]["lines"] == 6


def test_as_of_takes_an_rfc3339_instant(log):
    assert report_json("--log", log, "--as-of", "2021-12-15T10:00:01+01:00")["project"]["positive"] == 2
    assert report_json("--log", log, "--as-of", "2021-12-15T09:00:00Z")["project"]["positive"] == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--as-of", "2021-12-01T00:00:00+01:00", "--as-published"], "mutually exclusive"),
        (["--as-of", "2021-12-01T00:00:00"], "with offset"),
        (["--as-of", "2021-12-01T00:00:00+0100"], "`as-of` '2021-12-01T00:00:00+0100' is not an RFC 3339"),
        (["--as-of", "2021-12-01 00:00:00+01:00"], "expected e.g. 2021-01-01T10:00:00+01:00"),
        (["--as-of", "0101901234"], "[CPR redacted]"),
        (["--pool", "nopool"], "unknown pool"),
    ],
)
def test_usage_errors_are_clear(log, args, message):
    result = run("report", "--log", log, "--month", "2021-09", *args)
    assert result.exit_code == 2 and message in result.output


def test_bad_month_is_a_usage_error(log):
    result = run("report", "--log", log, "--month", "2021-9")
    assert result.exit_code == 2 and "is not a month" in result.output


def test_gzip_stdin_and_rocksdb_state_give_the_same_report(log, tmp_path):
    plain = report_json("--log", log)
    gz = tmp_path / "log.jsonl.gz"
    gz.write_bytes(gzip.compress(log.read_bytes()))
    assert report_json("--log", gz) == plain
    assert report_json("--log", "-", input=log.read_bytes()) == plain
    assert report_json("--log", log, "--state", tmp_path / "state") == plain


def test_table_output_speaks_stars_language(log):
    result = run("report", "--log", log, "--month", "2021-09")
    assert result.exit_code == 0
    assert "Borgere i projektet i alt" in result.stdout and "Opnået resultatkravet: 0 af 57" in result.stdout


def test_rejections_are_reported_on_stderr_with_the_line_number(log):
    result = run("report", "--log", log, "--month", "2021-09", "--format", "json")
    assert "line 7: rejected: not valid JSON" in result.stderr
    assert "010190" not in result.stderr


def test_schema_is_generated_from_the_types():
    result = run("schema")
    schema = json.loads(result.stdout)
    refs = {one["$ref"].rsplit("/", 1)[-1] for one in schema["anyOf"]}
    assert len(refs) == 12 and "Enrolled" in refs
    enrolled = schema["$defs"]["Enrolled"]
    assert len(enrolled["properties"]["municipality"]["enum"]) == 98
    assert enrolled["properties"]["type"]["enum"] == ["enrolled"]


def test_audit_lists_the_changed_citizen_with_the_late_event(log):
    result = run("audit", "--log", log, "--month", "2021-09", "--format", "json")
    audit = json.loads(result.stdout)
    change = audit["municipalities"]["101"]["changes"]
    assert [(c["citizen"], c["published"], c["now"]) for c in change] == [("k1", "not_positive", "foertidspension")]
    assert change[0]["events"][0]["recorded"] == "2021-12-15T10:00:00+01:00"
    assert audit["municipalities"]["147"]["changes"] == []


def test_a_municipality_audit_shows_only_its_own_citizens(log):
    result = run("audit", "--log", log, "--month", "2021-09", "--municipality", "147")
    assert result.exit_code == 0
    assert "k1" not in result.stdout and "København" not in result.stdout and "Frederiksberg" in result.stdout


def test_demo_generates_replays_and_writes_both_views(tmp_path):
    """The README's first command: log generated once, table printed, JSON and dead letters written."""
    result = run("demo", "--out", tmp_path, "--month", "2021-09")
    assert result.exit_code == 0, result.output
    assert (
        "Projektkommuner i alt" in result.stdout and "Som offentliggjort (2021-12-01T00:00:00+01:00)" in result.stdout
    )
    now = json.loads((tmp_path / "report-2021-09.json").read_text())
    published = json.loads((tmp_path / "report-2021-09-as-published.json").read_text())
    assert (now["as_of"], published["as_of"]) == (None, "2021-12-01T00:00:00+01:00")
    assert now["input"] == published["input"] and now["input"]["rejected"] > 0
    dead = (tmp_path / "rejected.jsonl").read_text().splitlines()
    assert len(dead) == now["input"]["rejected"]
    assert "rejected lines (all are in" in result.stderr and "line " not in result.stderr
    log = tmp_path / "demo-seed1.jsonl.gz"
    stamp = log.stat().st_mtime_ns
    assert run("demo", "--out", tmp_path).exit_code == 0 and log.stat().st_mtime_ns == stamp  # generated once


def _stderr_of_report(log, *, terminal: bool) -> str:
    """Run the real command with stderr on a pseudo-terminal or on a pipe."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    command = [
        sys.executable,
        "-m",
        "puljemonitor",
        "report",
        "--log",
        str(log),
        "--month",
        "2021-09",
        "--format",
        "json",
    ]
    if not terminal:
        return subprocess.run(command, capture_output=True, text=True, check=True).stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal has a size
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait()
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_progress_shows_on_a_terminal_and_stays_quiet_off_one(log):
    assert "reading" in _stderr_of_report(log, terminal=True)
    quiet = _stderr_of_report(log, terminal=False)
    assert "reading" not in quiet and "projecting" not in quiet and "line 7: rejected" in quiet


def test_a_missing_log_is_a_clear_error_not_a_traceback(tmp_path):
    result = run("report", "--log", tmp_path / "nope.jsonl", "--month", "2021-09")
    assert result.exit_code == 2 and "no such file" in result.output and "Traceback" not in result.output


def test_state_dir_keeps_other_files(log, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "keep.txt").write_text("mine")
    report_json("--log", log, "--state", state)
    assert (state / "keep.txt").read_text() == "mine"


def test_a_cpr_spelled_with_escapes_is_redacted_in_the_rejected_file_and_on_stderr(tmp_path):
    log, rejected = tmp_path / "log.jsonl", tmp_path / "rejected.jsonl"
    cpr = r"\u0030101901234"
    log.write_text(
        '{"id":"x1","type":"benefit_changed","citizen":"%s","recorded":"2021-01-01T10:00:00Z",'
        '"at":"2021-01-01","benefit":"%s","hours":1000000000.0}\n' % (cpr, cpr)
    )
    result = run("report", "--log", log, "--month", "2021-09", "--format", "json", "--rejected", rejected)
    assert result.exit_code == 0
    [dead] = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert dead["raw"].count('"[CPR redacted]"') == 2 and '"hours":1000000000.0' in dead["raw"]
    assert "101901234" not in rejected.read_text() + result.stderr


def test_worker_help_lists_every_setting_with_its_environment_variable():
    from streams.settings import env_name, fields

    result = CliRunner().invoke(main, ["worker", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for info in fields():
        assert f"--{info.name.replace('_', '-')}" in text and env_name(info.name) in text, info.name


def test_settings_come_from_defaults_then_environment_then_options():
    from streams.settings import load

    environ = {
        "PULJEMONITOR_BROKER": "env:1",
        "PULJEMONITOR_PARTITIONS": "4",
        "PULJEMONITOR_COUNT_SOCIAL_FRIKORT": "true",
    }
    settings = load({"broker": "cli:2", "state_dir": None}, environ)
    assert (settings.broker, settings.partitions, settings.count_social_frikort) == ("cli:2", 4, True)
    assert settings.state_dir == "state" and settings.group == "puljemonitor-social-frikort"
    with pytest.raises(ValueError, match="PULJEMONITOR_"):
        load({}, {"PULJEMONITOR_PARTITIONS": "eight"})


def test_schema_feed_writes_the_json_schema_of_the_feed_records(tmp_path):
    out = tmp_path / "feed.schema.json"
    result = CliRunner().invoke(main, ["schema", "feed", "--output", str(out)])
    assert result.exit_code == 0, result.output
    schema = json.loads(out.read_text())
    assert {"FeedRecord", "PeriodFeedRecord", "IntakeStatus", "Aggregate", "PeriodAggregate"} <= set(schema["$defs"])
    assert "version" in schema["$defs"]["FeedRecord"]["required"]
