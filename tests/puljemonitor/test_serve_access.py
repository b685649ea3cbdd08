"""Who may read what over HTTP (spec §9, issue 10): every endpoint × every kind of caller,
with the status and the content each must get, and an explicit leak check.

The world is tests/puljemonitor/serve_world.py: København (A, 101), Frederiksberg (B, 147),
Tårnby (185) and Dragør (155), figures of 2021-09 worked out by hand there, and BIR's of
2021-04 (Dragør has no BIR citizen).
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from starlette.testclient import TestClient

from puljemonitor.server.access import Role, Tokens, add_token, revoke_token
from puljemonitor.server.app import create_app
from puljemonitor.server.logsource import LogSource
from tests.puljemonitor.serve_world import DRAGOER, TAARNBY, A, B, bir_pseudonyms, pseudonyms, write_log

P = "/api/v1/pools/afklaringspuljen"
ROLES = ("anonymous", "A", "B", "Tårnby", "Dragør", "star", "revoked", "malformed")
OWNED = {"A": {A}, "B": {B}, "Tårnby": {TAARNBY}, "Dragør": {DRAGOER}}
ALL_PSEUDONYMS = {code: pseudonyms(code) + bir_pseudonyms(code) for code in (A, B, TAARNBY, DRAGOER)}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    log = write_log(tmp / "log.jsonl")
    tokens_file = tmp / "tokens.txt"
    headers = {"anonymous": {}, "malformed": {"Authorization": "Bearer not-a-token"}}
    for name, role in (
        ("A", Role(codes=frozenset({A}))),
        ("B", Role(codes=frozenset({B}))),
        ("Tårnby", Role(codes=frozenset({TAARNBY}))),
        ("Dragør", Role(codes=frozenset({DRAGOER}))),
        ("star", Role(star=True)),
        ("revoked", Role(codes=frozenset({A}))),
    ):
        token_id, token = add_token(tokens_file, role)
        headers[name] = {"Authorization": f"Bearer {token}"}
        if name == "revoked":
            revoked_id = token_id
    assert revoke_token(tokens_file, revoked_id)
    source = LogSource(log)
    source.load()
    app = create_app(source, Tokens(tokens_file), load=False)
    with TestClient(app) as client:
        yield client, headers


def anonymous_or_valid(role: str, ok: int = 200) -> int:
    return 401 if role in ("revoked", "malformed") else ok


def citizens_status(role: str, code: str) -> int:
    if role in ("anonymous", "revoked", "malformed"):
        return 401
    return 200 if role == "star" or code in OWNED[role] else 403


def citizen_status(role: str, code: str, belongs: bool) -> int:
    status = citizens_status(role, code)
    return (200 if belongs else 404) if status == 200 else status


def exact_status(role: str, codes: set[str]) -> int:
    """The dashboard's own figures without suppression."""
    if role in ("anonymous", "revoked", "malformed"):
        return 401
    return 200 if role == "star" or codes <= OWNED[role] else 403


C = f"{P}/municipalities"
BP = "/api/v1/pools/bir"
BC = f"{BP}/municipalities"
ENDPOINTS: list[tuple[str, object]] = [
    ("/api/v1/pools", anonymous_or_valid),
    (f"{P}/reports/2021-09", anonymous_or_valid),
    (f"{P}/reports/2021-09?view=published", anonymous_or_valid),
    *[(f"{P}/reports/2021-09/municipalities/{code}", anonymous_or_valid) for code in (A, B, TAARNBY, DRAGOER)],
    *[(f"{P}/reports/2021-09/participants/{code}", anonymous_or_valid) for code in (A, B, TAARNBY)],
    *[(f"{P}/participants/{code}/series?until=2021-09", anonymous_or_valid) for code in (A, TAARNBY)],
    *[
        (f"{C}/{code}/citizens?month=2021-09", lambda r, c=code: citizens_status(r, c))
        for code in (A, B, TAARNBY, DRAGOER)
    ],
    (f"{C}/{A}/citizens/cit-101-1?month=2021-09", lambda r: citizen_status(r, A, True)),
    (f"{C}/{A}/citizens/cit-147-1?month=2021-09", lambda r: citizen_status(r, A, False)),
    (f"{C}/{A}/citizens/nobody-at-all?month=2021-09", lambda r: citizen_status(r, A, False)),
    (f"{C}/{A}/citizens/010190-1234?month=2021-09", lambda r: citizen_status(r, A, False)),
    (f"{C}/{B}/citizens/cit-147-1?month=2021-09", lambda r: citizen_status(r, B, True)),
    (f"{C}/{TAARNBY}/citizens/cit-155-1?month=2021-09", lambda r: citizen_status(r, TAARNBY, False)),
    (f"{C}/{DRAGOER}/citizens/cit-155-1?month=2021-09", lambda r: citizen_status(r, DRAGOER, True)),
    ("/", anonymous_or_valid),
    ("/?month=2021-08&participant=101&view=published&unsuppressed=1", anonymous_or_valid),  # the page is public
    ("/dashboard/report?month=2021-09&participant=147", anonymous_or_valid),
    ("/dashboard/report?month=2021-09&participant=101&unsuppressed=1", lambda r: exact_status(r, {A})),
    ("/dashboard/report?month=2021-09&participant=185&unsuppressed=1", lambda r: exact_status(r, {TAARNBY, DRAGOER})),
    # BIR (spec §7): the same rules; a participant of BIR is only ever a municipality: 404
    *[
        (f"{BC}/{code}/citizens?month=2021-04", lambda r, c=code: citizens_status(r, c))
        for code in (A, B, TAARNBY, DRAGOER)
    ],
    (f"{BP}/reports/2021-04", anonymous_or_valid),
    (f"{BP}/reports/2021-04?view=published", anonymous_or_valid),
    *[(f"{BP}/reports/2021-04/municipalities/{code}", anonymous_or_valid) for code in (A, B, TAARNBY, DRAGOER)],
    (f"{BP}/reports/2021-04/participants/{A}", lambda r: anonymous_or_valid(r, 404)),
    (f"{BP}/participants/{A}/series?until=2021-04", lambda r: anonymous_or_valid(r, 404)),
    (f"{BC}/{A}/citizens/bir-101-10?month=2021-04", lambda r: citizen_status(r, A, True)),
    (f"{BC}/{A}/citizens/bir-147-1?month=2021-04", lambda r: citizen_status(r, A, False)),
    (f"{BC}/{A}/citizens/cit-101-1?month=2021-04", lambda r: citizen_status(r, A, False)),  # not in BIR
    (f"{BC}/{B}/citizens/bir-147-2?month=2021-04", lambda r: citizen_status(r, B, True)),
    (f"{BC}/{DRAGOER}/citizens/bir-185-1?month=2021-04", lambda r: citizen_status(r, DRAGOER, False)),
    ("/?pool=bir&month=2021-04", anonymous_or_valid),
    ("/dashboard/report?pool=bir&month=2021-04&participant=147", anonymous_or_valid),
    ("/dashboard/report?pool=bir&month=2021-04&participant=101&unsuppressed=1", lambda r: exact_status(r, {A})),
    ("/dashboard/report?pool=bir&month=2021-04&participant=185&unsuppressed=1", lambda r: exact_status(r, {TAARNBY})),
    ("/healthz", lambda r: 200),  # probes and the API description do not look at tokens
    ("/readyz", lambda r: 200),
    ("/api/v1/openapi.json", lambda r: 200),
]


def exact(role: str, codes: set[str]) -> bool:
    return role == "star" or (role in OWNED and codes <= OWNED[role])


def aggregates(body: dict) -> dict[frozenset[str], dict]:
    """Every municipality or participant aggregate in an answer, by the codes it adds up."""
    found = {}
    if "period" in body and "indicators" in body:  # BIR: aggregates and course indicators
        if "municipalities" in body:
            found |= {frozenset([c]): agg for c, agg in body["municipalities"].items()}
            found |= {frozenset([c, "indicators"]): i for c, i in body["indicators"]["municipalities"].items()}
        else:
            found[frozenset([body["municipality"]])] = body["aggregate"]
            found[frozenset([body["municipality"], "indicators"])] = body["indicators"]
    elif "municipalities" in body and "participants" in body:
        found |= {frozenset([c]): agg for c, agg in body["municipalities"].items()}
        found |= {frozenset(p["codes"]): p["aggregate"] for p in body["participants"].values()}
    elif "municipality" in body and "aggregate" in body:
        found[frozenset([body["municipality"]])] = body["aggregate"]
    elif "codes" in body and "aggregate" in body:
        found[frozenset(body["codes"])] = body["aggregate"]
    elif "codes" in body and "months" in body:
        for month, agg in body["months"].items():
            found[frozenset(body["codes"]) | {month}] = agg
    return found


def exact_counts(agg: dict) -> tuple:
    """The counts that an exact figure shows whole (a hidden one is null)."""
    if "long_without_company" in agg:
        return (agg["long_without_company"]["long"], *agg["durations"].values())
    if "target" in agg:
        return (agg["target"], agg["requirement_1"]["count"], *agg["categories"].values())
    return (agg["enrolled"], agg["measured"])


def test_every_endpoint_answers_every_kind_of_caller_as_spec_9_says_and_leaks_nothing(served):
    client, headers = served
    tried = 0
    answers: dict[tuple[str, str], object] = {}
    for path, expected in ENDPOINTS:
        for role in ROLES:
            response = client.get(path, headers=headers[role])
            tried += 1
            assert response.status_code == expected(role), (path, role, response.status_code, response.text[:300])
            if response.headers["content-type"].startswith("application/json"):
                body = response.json()
                if response.status_code != 200:
                    assert body["status"] == response.status_code and body["error"]
                answers[path, role] = body
            else:
                answers[path, role] = response.text
            if role not in ("star",):  # the leak check: no other municipality's pseudonym, anywhere
                mine = set().union(*(ALL_PSEUDONYMS[c] for c in OWNED.get(role, set())))
                foreign = [p for ps in ALL_PSEUDONYMS.values() for p in ps if p not in mine]
                leaked = [p for p in foreign if re.search(rf"\b{re.escape(p)}\b", response.text)]
                assert not leaked, (path, role, leaked)
    # figures: exact where the role owns every code of the figure, else exactly the public answer
    compared = {"exact": 0, "public": 0}
    for path, _ in ENDPOINTS:
        public = answers.get((path, "anonymous"))
        if not isinstance(public, dict):
            continue
        for role in ("A", "B", "Tårnby", "Dragør", "star"):
            answer = answers[path, role]
            for codes, agg in aggregates(answer).items():
                muni = {c for c in codes if len(c) == 3}
                if exact(role, muni):
                    assert agg["suppressed"] == [] and None not in exact_counts(agg), (path, role)
                    compared["exact"] += "/bir/" in path
                else:
                    assert agg == aggregates(public)[codes], (path, role, sorted(codes))
                    compared["public"] += "/bir/" in path
    print(f"access matrix: {tried} (endpoint, caller) pairs; BIR figures compared: {compared}")
    # BIR's aggregate and indicators of 101, 147, 185 in two reports: star 6 exact, A, B and Tårnby 2 exact
    # and 4 public, Dragør 6 public (×2: 24 and 36); of the four municipalities' figures (8 each): star 8
    # exact, each municipality token its own 2 exact and 6 public (16 and 24)
    assert compared == {"exact": 24 + 16, "public": 36 + 24}
    assert tried == len(ENDPOINTS) * len(ROLES) == 52 * 8


def test_another_municipalitys_citizen_answers_byte_for_byte_like_one_that_does_not_exist(served):
    client, headers = served
    q = "?month=2021-09"
    foreign = client.get(f"{C}/{A}/citizens/cit-147-1{q}", headers=headers["A"])
    nowhere = client.get(f"{C}/{A}/citizens/nobody-at-all{q}", headers=headers["A"])
    cpr_like = client.get(f"{C}/{A}/citizens/010190-1234{q}", headers=headers["A"])
    assert foreign.status_code == nowhere.status_code == cpr_like.status_code == 404
    assert foreign.content == nowhere.content == cpr_like.content
    assert dict(foreign.headers) == dict(nowhere.headers)
    # Dragør's citizen from Tårnby's path: the same, though the two are one participant
    dragoer = client.get(f"{C}/{TAARNBY}/citizens/cit-155-1{q}", headers=headers["Tårnby"])
    assert dragoer.content == client.get(f"{C}/{TAARNBY}/citizens/nobody-at-all{q}", headers=headers["Tårnby"]).content


def test_a_municipality_token_reads_its_citizens_with_statuses_and_the_audits_deciding_events(served):
    client, headers = served
    body = client.get(f"{C}/{A}/citizens?month=2021-09", headers=headers["A"]).json()
    assert [c["pseudonym"] for c in body["citizens"]] == [f"cit-101-{i}" for i in range(1, 10)]
    by = {c["pseudonym"]: c for c in body["citizens"]}
    assert by["cit-101-1"]["status"] == "foertidspension" and by["cit-101-1"]["audit"] is None
    assert (
        by["cit-101-4"]["statuses"]["2020-12"] == "not_positive" and by["cit-101-4"]["statuses"]["2021-01"] == "exempt"
    )
    late = by["cit-101-9"]
    assert late["status"] == "ressourceforloeb" and late["statuses"]["2021-08"] == "not_positive"
    assert late["audit"]["published"] == "not_positive" and late["audit"]["now"] == "ressourceforloeb"
    assert [e["recorded"] for e in late["audit"]["events"]] == ["2022-01-10T12:00:00+01:00"]
    assert "events" not in late  # the list carries the audit's deciding events; the citizen's page all of them
    assert body["published_as_of"] == "2021-12-01T00:00:00+01:00"
    one = client.get(f"{C}/{A}/citizens/cit-101-9?month=2021-09", headers=headers["A"]).json()
    assert {k: v for k, v in one.items() if k not in ("events", "warnings")} == late
    assert [e["type"] for e in one["events"]] == ["benefit_changed", "enrolled", "benefit_changed"]
    assert one["warnings"] == []


def test_public_figures_are_suppressed_with_complementary_cells_and_the_own_token_sees_them_exact(served):
    client, headers = served
    path = f"{P}/reports/2021-09/municipalities/{A}"
    public = client.get(path).json()["aggregate"]
    # exempt 2 is hidden; measured 7 is hidden with it (enrolled 9 = exempt + measured is shown)
    assert (public["enrolled"], public["exempt"], public["measured"], public["positive"]) == (9, None, None, None)
    assert public["share"] is None and public["requirement_met"] is False  # verdicts are never hidden
    assert public["categories"]["foertidspension"] is None and public["categories"]["education"] == 0
    assert set(public["suppressed"]) == {"exempt", "measured", "positive", "share", "groups.other_benefit",
                                         "categories.foertidspension", "categories.ressourceforloeb"}  # fmt: skip
    own = client.get(path, headers=headers["A"]).json()["aggregate"]
    assert (own["enrolled"], own["exempt"], own["measured"], own["positive"]) == (9, 2, 7, 4)
    assert own["categories"]["foertidspension"] == 3 and own["share"] == 4 / 7 and own["suppressed"] == []
    # B's three citizens: every count but the zeros is hidden from A as from the public
    b = client.get(f"{P}/reports/2021-09/municipalities/{B}", headers=headers["A"]).json()["aggregate"]
    assert (b["enrolled"], b["exempt"], b["measured"], b["positive"], b["share"]) == (None, 0, None, None, None)
    # Tårnby/Dragør: one participant, two municipalities: only a token of both codes (star here) sees it exact
    for role in ("anonymous", "Tårnby", "Dragør"):
        p = client.get(f"{P}/reports/2021-09/participants/{TAARNBY}", headers=headers[role]).json()
        assert (p["aggregate"]["enrolled"], p["aggregate"]["positive"]) == (8, None), role
    assert (
        client.get(f"{P}/reports/2021-09/participants/{DRAGOER}", headers=headers["star"]).json()["aggregate"][
            "positive"
        ]
        == 1
    )
    d = client.get(f"{P}/reports/2021-09/municipalities/{DRAGOER}", headers=headers["Dragør"]).json()["aggregate"]
    assert (d["enrolled"], d["categories"]["flexjob"]) == (2, 1)


def test_the_published_view_is_the_month_as_published_and_the_star_report_equals_the_clis_json(served, tmp_path):
    from click.testing import CliRunner

    from puljemonitor.cli import main

    client, headers = served
    star = client.get(f"{P}/reports/2021-09", headers=headers["star"]).json()
    published = client.get(f"{P}/reports/2021-09?view=published", headers=headers["star"]).json()
    assert star["municipalities"][A]["positive"] == 4 and published["municipalities"][A]["positive"] == 3
    assert published["as_of"] == "2021-12-01T00:00:00+01:00"
    log = write_log(tmp_path / "log.jsonl")
    cli = json.loads(
        CliRunner().invoke(main, ["report", "--log", str(log), "--month", "2021-09", "--format", "json"]).output
    )
    for key in ("project", "national"):
        assert {k: v for k, v in star[key].items() if k != "suppressed"} == cli[key]
    assert {c: {k: v for k, v in a.items() if k != "suppressed"} for c, a in star["municipalities"].items()} == cli[
        "municipalities"
    ]
    assert star["input"] == cli["input"] and star["achieved_count"] == cli["achieved_count"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"{P}/reports/2021-13", 400),
        (f"{P}/reports/21-09", 400),
        (f"{P}/reports/2019-01", 404),
        ("/api/v1/pools/nosuchpool/reports/2021-09", 404),
        (f"{P}/reports/2021-09/municipalities/999", 404),
        (f"{P}/reports/2021-09/participants/Atlantis", 404),
        (f"{P}/reports/2021-09?view=tomorrow", 400),
        (f"{P}/reports/2021-09?count_social_frikort=maybe", 400),
        (f"{P}/participants/101/series", 400),
        (f"{P}/reports/2021-09?x=" + "a" * 2000, 414),
        ("/api/v1/../../etc/passwd", 404),
        ("/api/v1/pools/afklaringspuljen/reports/..%2F..%2Fetc%2Fpasswd", 404),
        ("/static/../../../../etc/passwd", 404),
        ("/api/v1/nothing", 404),
    ],
)
def test_bad_input_gets_a_clear_4xx_json_error_never_a_500(served, path, status):
    client, _ = served
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == status and body["error"]


def test_denials_are_logged_with_role_and_path_never_a_token_or_a_pseudonym(served, caplog):
    client, headers = served
    with caplog.at_level(logging.INFO, logger="puljemonitor.serve"):
        client.get(f"{C}/{B}/citizens/cit-147-2?month=2021-09", headers=headers["A"])
        client.get(f"{C}/{A}/citizens/010190-1234?month=2021-09", headers=headers["A"])
        client.get(f"{P}/reports/2021-09", headers=headers["revoked"])
        client.get(f"{C}/{A}/citizens?month=2021-09")
        client.get("/api/v1/pools/cit-147-3/reports/2021-09", headers=headers["A"])  # typed where a pool goes
        client.get("/cit-147-3/010190-1234", headers=headers["A"])
        client.get(f"{P}/reports/2021-09/participants/cit-147-3", headers=headers["A"])
    text = caplog.text
    assert f"denied 403 role=municipality:{A} path={C}/{B}/citizens/{{pseudonym}}" in text
    assert "denied 401 role=invalid token (unknown or revoked)" in text
    assert f"denied 401 role=anonymous path={C}/{A}/citizens" in text
    assert f"GET {P}/reports/2021-09/participants/{{participant}} 404 role=municipality:{A}" in text
    assert "GET /api/v1/pools/{pool}/reports/2021-09 404" in text and "GET (no route) 404" in text
    assert "cit-147" not in text and "010190" not in text and "1234" not in text
    for h in headers.values():
        if h:
            assert h["Authorization"].split()[-1] not in text
            assert h["Authorization"].split()[-1].split(".")[-1] not in text


def test_the_openapi_document_describes_every_api_route_and_the_docs_need_no_cdn(served):
    client, _ = served
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    routes = {r.path for r in client.app.app.routes if r.path.startswith("/api/v1/") and "openapi" not in r.path}
    assert routes <= set(doc["paths"])
    citizens = doc["paths"]["/api/v1/pools/{pool}/municipalities/{code}/citizens"]["get"]
    assert citizens["security"] == [{"bearer": []}] and "403" in citizens["responses"]
    assert "ShownAggregate" in doc["components"]["schemas"]
    page = client.get("/api/docs").text
    assert "http" not in page.replace('href="/', "").replace('src="/', "").split("<body>")[1]
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200
