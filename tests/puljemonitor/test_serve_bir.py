"""BIR (spec §7) in ``puljemonitor serve``: its report, municipality figures and citizens over
HTTP, suppressed per spec §9 for the public and exact for a municipality's own token, the
star report equal to ``report --pool bir --format json``, and changes of BIR figures pushed
to subscribers as the first pool's are.

The world and its hand-computed 2021-04 figures are in tests/puljemonitor/serve_world.py.
The access matrix of every BIR endpoint × every caller is in test_serve_access.py.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx2 as httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from puljemonitor.cli import main
from puljemonitor.replay import Replay
from puljemonitor.server.access import Role, Tokens, add_token
from puljemonitor.server.app import create_app
from puljemonitor.server.figures import Figures
from puljemonitor.server.logsource import LogSource, count
from schemas import pools
from schemas.calendar import parse_month
from schemas.pools import Rules
from tests.builders import History, demo_log
from tests.puljemonitor.serve_world import DRAGOER, A, B, bir_world, followed, nonzero, running_server, write_log
from tests.puljemonitor.test_serve_live import Subscriber

BP = "/api/v1/pools/bir"
C = f"{BP}/municipalities"
BIR = pools.pool("bir")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-bir")
    log = write_log(tmp / "log.jsonl")
    tokens = tmp / "tokens.txt"
    headers = {"anonymous": {}}
    for name, role in (("A", Role(codes=frozenset({A}))), ("B", Role(codes=frozenset({B}))), ("star", Role(star=True))):
        headers[name] = {"Authorization": f"Bearer {add_token(tokens, role)[1]}"}
    source = LogSource(log)
    source.load()
    with TestClient(create_app(source, Tokens(tokens), load=False)) as client:
        yield client, headers, log


def test_the_pools_endpoint_lists_bir_with_its_months_and_period_and_no_participants(served):
    client, _, _ = served
    bir = next(p for p in client.get("/api/v1/pools").json() if p["name"] == "bir")
    assert bir == {"name": "bir", "label": "Bedre indsats for borgere i ressourceforløb", "first_month": "2020-12",
                   "last_month": "2022-12", "participants": {}, "period_months": 3}  # fmt: skip


def test_public_bir_figures_are_suppressed_with_complementary_cells_and_verdicts_shown(served):
    client, _, _ = served
    r = client.get(f"{BP}/reports/2021-04").json()
    assert r["period"] == {"first": "2021-02", "last": "2021-04"} and r["view"] == "now"
    a = r["municipalities"][A]
    # target 10 and requirement 1 (5) shown; flexjob 1, company 4 and requirement 2 (1) hidden
    assert (a["target"], a["requirement_1"]["count"], a["requirement_1"]["share"]) == (10, 5, 0.5)
    assert a["categories"] == {"self_supporting": 0, "education": 0, "flexjob": None, "paid_hours": 0, "company": None}
    assert a["requirement_2"] == {"count": None, "share": None, "met": False}  # the verdict is never hidden
    assert a["suppressed"] == ["categories.company", "categories.flexjob", "requirement_2", "requirement_2.share"]
    ind = r["indicators"]["municipalities"][A]
    # long 6 = without 5 + with company 1: the 1 hides `without`; courses 9 = 3 + 6: the 3 hides the 6
    assert ind["long_without_company"] == {"long": 6, "without": None, "share": None}
    assert ind["durations"] == {"0-1": None, "1-2": 0, "2-3": None, "3-4": 0, "4+": 0}
    assert ind["suppressed"] == ["durations.0-1", "durations.2-3", "long_without_company.share", "without"]
    b = r["municipalities"][B]
    assert (b["target"], b["requirement_1"]["count"], b["categories"]["flexjob"], b["requirement_1"]["met"]) == (
        None, None, None, True,
    )  # fmt: skip
    project = r["project"]
    assert (project["target"], project["requirement_1"]["count"], project["requirement_2"]["count"]) == (13, 7, None)
    assert project["categories"] == {
        "self_supporting": 0, "education": 0, "flexjob": None, "paid_hours": None, "company": None,
    }  # fmt: skip
    assert r["indicators"]["project"]["long_without_company"] == {"long": 7, "without": None, "share": None}
    assert r["indicators"]["project"]["durations"] == {"0-1": None, "1-2": None, "2-3": 6, "3-4": 0, "4+": 0}
    assert DRAGOER not in r["municipalities"]  # no BIR citizen: not in the project


def test_a_municipalitys_own_token_sees_its_bir_figures_exact_and_the_others_as_the_public_does(served):
    client, headers, _ = served
    mine = client.get(f"{BP}/reports/2021-04/municipalities/{A}", headers=headers["A"]).json()
    assert mine["name"] == "København" and mine["period"] == {"first": "2021-02", "last": "2021-04"}
    agg, ind = mine["aggregate"], mine["indicators"]
    assert (agg["target"], agg["categories"]["flexjob"], agg["categories"]["company"]) == (10, 1, 4)
    assert agg["requirement_2"] == {"count": 1, "share": 0.1, "met": False} and agg["suppressed"] == []
    assert ind["long_without_company"] == {"long": 6, "without": 5, "share": 5 / 6} and ind["suppressed"] == []
    assert ind["durations"] == {"0-1": 3, "1-2": 0, "2-3": 6, "3-4": 0, "4+": 0}
    report = client.get(f"{BP}/reports/2021-04", headers=headers["A"]).json()
    public = client.get(f"{BP}/reports/2021-04").json()
    assert report["municipalities"][A] == agg and report["indicators"]["municipalities"][A] == ind
    assert report["municipalities"][B] == public["municipalities"][B]
    assert report["project"] == public["project"]  # the project adds up other municipalities: public
    theirs = client.get(f"{BP}/reports/2021-04/municipalities/{B}", headers=headers["A"]).json()
    assert theirs == client.get(f"{BP}/reports/2021-04/municipalities/{B}").json()
    assert theirs["aggregate"]["target"] is None
    nobody = client.get(f"{BP}/reports/2021-04/municipalities/{DRAGOER}").json()
    assert nobody["aggregate"]["target"] == 0 and nobody["indicators"]["durations"]["0-1"] == 0


def test_the_star_bir_report_is_the_clis_json_and_the_published_view_leaves_out_the_late_internship(served):
    client, headers, log = served

    def cli(*args: str) -> dict:
        result = CliRunner().invoke(main, ["report", "--log", str(log), "--pool", "bir", "--month", "2021-04",
                                           "--format", "json", *args])  # fmt: skip
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def unsuppressed(body: dict) -> dict:
        """The answer without the fields the API adds (view, the empty suppressed lists)."""
        if isinstance(body, dict):
            return {k: unsuppressed(v) for k, v in body.items() if k not in ("suppressed", "view")}
        return body

    for query, args in (("", ()), ("?view=published", ("--as-published",)), ("?count_social_frikort=true", ("--count-social-frikort",))):  # fmt: skip
        star = client.get(f"{BP}/reports/2021-04{query}", headers=headers["star"]).json()
        assert unsuppressed(star) == cli(*args), query
    published = client.get(f"{BP}/reports/2021-04?view=published", headers=headers["A"]).json()
    assert published["as_of"] == "2021-07-01T00:00:00+02:00"
    assert published["municipalities"][A]["categories"]["company"] == 3  # bir-101-10's internship came late
    assert published["indicators"]["municipalities"][A]["long_without_company"]["without"] == 6


def test_a_municipality_token_reads_its_bir_citizens_rows_and_the_audits_deciding_events(served):
    client, headers, _ = served
    body = client.get(f"{C}/{A}/citizens?month=2021-04", headers=headers["A"]).json()
    assert (body["pool"], body["period"], body["published_as_of"]) == (
        "bir", {"first": "2021-02", "last": "2021-04"}, "2021-07-01T00:00:00+02:00",
    )  # fmt: skip
    assert sorted(c["pseudonym"] for c in body["citizens"]) == sorted(h.citizen for h in bir_world()[A])
    by = {c["pseudonym"]: c for c in body["citizens"]}
    assert (by["bir-101-1"]["status"], by["bir-101-1"]["band"], by["bir-101-1"]["without_company"]) == (
        "not_positive", "2-3", True,
    )  # fmt: skip
    assert by["bir-101-1"]["rows"]["2021-02"] == {"status": "not_positive", "band": "1-2", "without_company": True}
    assert list(by["bir-101-1"]["rows"]) == ["2020-12", "2021-01", "2021-02", "2021-03", "2021-04"]
    assert (by["bir-101-6"]["status"], by["bir-101-6"]["band"], by["bir-101-6"]["without_company"]) == (
        "company", "0-1", None,
    )  # fmt: skip
    assert (by["bir-101-9"]["status"], by["bir-101-9"]["band"]) == ("flexjob", None)  # not on a course
    late = by["bir-101-10"]
    assert (late["status"], late["without_company"]) == ("company", False)
    assert late["audit"]["published"] == "not_positive" and late["audit"]["now"] == "company"
    assert [(e["type"], e["recorded"]) for e in late["audit"]["events"]] == [
        ("offer_started", "2021-07-05T10:00:00+02:00")
    ]
    assert all(c["audit"] is None for p, c in by.items() if p != "bir-101-10")
    one = client.get(f"{C}/{A}/citizens/bir-101-10?month=2021-04", headers=headers["A"]).json()
    assert {k: v for k, v in one.items() if k not in ("events", "warnings")} == late
    assert [e["type"] for e in one["events"]] == ["benefit_changed", "enrolled", "offer_started"]
    # A's own first-pool citizen is not a BIR citizen: the same answer as a stranger's
    first_pool = client.get(f"{C}/{A}/citizens/cit-101-1?month=2021-04", headers=headers["A"])
    stranger = client.get(f"{C}/{A}/citizens/bir-147-1?month=2021-04", headers=headers["A"])
    assert first_pool.status_code == stranger.status_code == 404 and first_pool.content == stranger.content
    empty = client.get(f"{C}/{DRAGOER}/citizens?month=2021-04", headers=headers["star"]).json()
    assert empty["citizens"] == []


def test_bir_has_no_participants_so_their_endpoints_answer_404_saying_why(served):
    client, headers, _ = served
    for path in (f"{BP}/reports/2021-04/participants/{A}", f"{BP}/participants/{A}/series?until=2021-04"):
        for role in ("anonymous", "A", "star"):
            response = client.get(path, headers=headers[role])
            assert response.status_code == 404, (path, role)
            assert "every enrolling municipality is in the project" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        (f"{BP}/reports/2020-11", 404, "2020-12 .. 2022-12"),  # before the pool: unknown month
        (f"{BP}/reports/2023-01", 404, "not a month of"),
        (f"{BP}/reports/2021-4", 400, "2021-4"),
        (f"{BP}/reports/2021-04?view=later", 400, "view"),
        (f"{BP}/reports/2021-04/municipalities/999", 404, "999"),
        (f"{C}/{A}/citizens?month=2019-01", 401, "token"),  # anonymous: the token first
        (f"{C}/{A}/citizens", 401, "token"),
        ("/dashboard/report?pool=bir&month=2023-01", 404, "not a month of"),
        ("/dashboard/report?pool=bir&month=2021-04&participant=999", 404, "999"),
        (f"/dashboard/report?pool=bir&month=2021-04&participant={DRAGOER}", 404, "no citizens"),
    ],
)
def test_bad_bir_input_is_a_clear_4xx_json_error(served, path, status, says):
    client, _, _ = served
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == status and says in response.json()["error"]


def test_bad_bir_months_for_citizens_are_a_clear_4xx_for_a_token_too(served):
    client, headers, _ = served
    assert client.get(f"{C}/{A}/citizens?month=2020-11", headers=headers["A"]).status_code == 404
    assert client.get(f"{C}/{A}/citizens?month=april", headers=headers["A"]).status_code == 400
    assert client.get(f"{C}/{A}/citizens", headers=headers["A"]).status_code == 400


def test_the_dashboard_shows_birs_own_report_and_lists_its_municipalities_as_participants(served):
    client, headers, _ = served
    page = client.get("/?pool=bir&month=2021-04").text
    assert "Bedre indsats for borgere i ressourceforløb" in page and "2021M02-2021M04" in page
    assert '<option value="bir" selected>' in page
    assert '<option value="101">København</option>' in page and f'value="{DRAGOER}"' not in page
    assert '<option value="2020-12"' in page and '<option value="2020-11"' not in page
    own = client.get(f"/dashboard/report?pool=bir&month=2021-04&participant={A}&unsuppressed=1", headers=headers["A"])
    assert own.status_code == 200 and "uden diskretionering" in own.text
    refused = client.get(f"/dashboard/report?pool=bir&month=2021-04&participant={B}&unsuppressed=1",
                         headers=headers["A"])  # fmt: skip
    assert refused.status_code == 403


def _appended_internship(citizen: str) -> bytes:
    """bir-101-1 starts an internship on 2021-04-01, recorded in May: company in 2021-04."""
    h = History(citizen, municipality=None)
    h.add("offer_started", at="2021-04-01", offer="virksomhedspraktik", id=f"late-{citizen}",
          recorded="2021-05-03T10:00:00+02:00")  # fmt: skip
    return h.lines()[0]


def test_an_appended_bir_line_changes_its_figures_and_each_subscriber_gets_them_disclosed_for_its_role(tmp_path):
    log = write_log(tmp_path / "log.jsonl")
    source = LogSource(log, follow=True)
    source.load()
    figures = Figures(source)
    with open(log, "ab") as f:
        f.write(_appended_internship("bir-101-1") + b"\n")
    change = source.absorb()
    # the internship touches the periods ending 2021-04 .. 2021-06 and the indicators after them
    assert {c for c, _ in change.keys["bir"]} == {A} and (A, parse_month("2021-04")) in change.keys["bir"]
    assert (A, parse_month("2021-03")) not in change.keys["bir"] and not change.keys["afklaringspuljen"]
    changed = figures.changed_figures(change)
    april = [f for f in changed if f[0] == "bir" and f[3] == "2021-04"]
    assert [(f[1], f[2]) for f in april] == [("municipality", A), ("project", None)]
    payloads = {name: figures.change_payload(change, changed, role) for name, role in (
        ("A", Role(codes=frozenset({A}))), ("B", Role(codes=frozenset({B}))), ("anonymous", Role()))}  # fmt: skip
    for name, payload in payloads.items():
        mine = next(f for f in payload["figures"] if (f["pool"], f["key"], f["month"]) == ("bir", A, "2021-04"))
        if name == "A":  # company 5 now; long without company 4 of 6
            assert mine["aggregate"]["categories"]["company"] == 5 and mine["aggregate"]["suppressed"] == []
            assert mine["indicators"]["long_without_company"] == {"long": 6, "without": 4, "share": 4 / 6}
            [citizen] = payload["citizens"]
            assert (citizen["pool"], citizen["pseudonym"]) == ("bir", "bir-101-1")
            assert citizen["rows"]["2021-04"] == {"status": "company", "band": "2-3", "without_company": False}
        else:  # outside 4 hides requirement 1 (6) beside it, and requirement 2 (1) hides company (5)
            shown = mine["aggregate"]
            assert (shown["target"], shown["requirement_1"]["count"], shown["categories"]["company"]) == (
                10, None, None,
            )  # fmt: skip
            assert {"requirement_1", "requirement_2", "categories.company"} <= set(shown["suppressed"])
            assert payload["citizens"] == [] and "bir-101" not in json.dumps(payload)
    source.close()


def _bir_property_lines() -> list[bytes]:
    """The BIR world, a late internship, and a retraction of bir-101-10's late internship."""
    histories = bir_world()
    late = histories[A][9].events[-1]["id"]
    retraction = History("bir-101-10", municipality=None)
    retraction.add("retracted", event=late, recorded="2021-08-01T12:00:00+02:00")
    lines = [line for hs in histories.values() for h in hs for line in h.lines()]
    return lines + [_appended_internship("bir-101-1"), *retraction.lines()]


BIR_LINES = _bir_property_lines()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_duplicates_and_batches_of_appended_bir_lines_give_the_counts_of_one_replay(data):
    lines = data.draw(st.permutations(BIR_LINES))
    lines = lines + data.draw(st.lists(st.sampled_from(BIR_LINES), max_size=6))  # duplicates
    cuts = sorted(data.draw(st.sets(st.integers(0, len(lines)), max_size=5)) | {0, len(lines)})
    with tempfile.TemporaryDirectory() as tmp:
        source = followed(Path(tmp) / "log.jsonl", lines, cuts)
        fresh = Replay(quiet=True)
        fresh.ingest_lines(lines)
        expected = count(fresh.store.citizens(), pool=BIR, rules=Rules())
        assert nonzero(source.tallies(BIR, Rules(), None)) == nonzero(expected)
        source.close()


def test_following_the_demo_log_keeps_birs_counts_equal_to_a_fresh_replay(tmp_path):
    lines = demo_log(tmp_path)
    half = len(lines) // 2
    source = followed(tmp_path / "follow.jsonl", lines, [0, *range(half, len(lines), 211), len(lines)])
    fresh = Replay(quiet=True)
    fresh.ingest_lines(lines)
    tallies = source.tallies(BIR, Rules(), None)
    assert nonzero(tallies) == nonzero(count(fresh.store.citizens(), pool=BIR, rules=Rules()))
    assert (
        sum(sum(c.values()) for (_, m), c in tallies.items() if m == parse_month("2021-04")) > 0
    )  # the demo has BIR citizens
    source.close()


def test_the_bir_tallies_cover_the_overview_periods_before_the_pools_first_month(served):
    client, headers, log = served
    source = client.app.app.state.server.source
    months = {m for _, m in source.tallies(BIR, Rules(), None)}
    assert (min(months), max(months)) == (parse_month("2020-10"), parse_month("2022-12"))
    # so the page of 2020-12 shows the periods ending 2020-10 and 2020-11 as the CLI's does
    result = CliRunner().invoke(main, ["report", "--log", str(log), "--pool", "bir", "--month", "2020-12",
                                       "--format", "html", "--out", str(log.with_suffix(".html"))])  # fmt: skip
    assert result.exit_code == 0, result.output
    served_page = client.get("/dashboard/report?pool=bir&month=2020-12").text
    assert served_page == log.with_suffix(".html").read_text(encoding="utf-8")


def test_over_http_a_bir_change_reaches_its_municipalitys_subscriber_and_no_other_sees_the_citizen(tmp_path):
    log = write_log(tmp_path / "log.jsonl")
    tokens = tmp_path / "tokens.txt"
    a = {"Authorization": f"Bearer {add_token(tokens, Role(codes=frozenset({A})))[1]}"}
    b = {"Authorization": f"Bearer {add_token(tokens, Role(codes=frozenset({B})))[1]}"}
    with running_server(log, "--follow", tokens=tokens) as (base, _proc):
        sub_a, sub_b = Subscriber(f"{base}/api/v1/changes", a), Subscriber(f"{base}/api/v1/changes", b)
        for sub in (sub_a, sub_b):
            sub.next_of("hello")
        with open(log, "ab") as f:
            f.write(_appended_internship("bir-101-1") + b"\n")
        got = json.loads(sub_a.next_of("figures", timeout=2.0)["data"])
        april = next(f for f in got["figures"] if (f["pool"], f["key"], f["month"]) == ("bir", A, "2021-04"))
        assert april["aggregate"]["categories"]["company"] == 5 and april["indicators"]["suppressed"] == []
        assert [(c["pool"], c["pseudonym"]) for c in got["citizens"]] == [("bir", "bir-101-1")]
        other = sub_b.next_of("figures", timeout=2.0)["data"]
        assert json.loads(other)["citizens"] == [] and "bir-101" not in other
        after = httpx.get(f"{base}{BP}/reports/2021-04/municipalities/{A}", headers=a, timeout=10).json()
        assert after["aggregate"]["categories"]["company"] == 5
        for sub in (sub_a, sub_b):
            sub.close()


def test_choosing_bir_on_a_dashboard_whose_month_is_after_birs_last_shows_birs_last_month(tmp_path):
    source = LogSource(write_log(tmp_path / "log.jsonl"))
    source.load()
    app = create_app(source, Tokens(tmp_path / "tokens.txt"), default_month="2023-06", load=False)
    with TestClient(app) as client:
        page = client.get("/?pool=bir")
        assert page.status_code == 200 and '<option value="2022-12" selected>' in page.text
        first = client.get("/")  # the first pool has 2023-06
        assert first.status_code == 200 and '<option value="2023-06" selected>' in first.text
        assert client.get("/?pool=bir&month=2023-06").status_code == 404  # a month asked for is not moved
