"""BIR's HTML report (issue 9, seed 001): the same numbers as ``report --pool bir --format
json`` of the same log, suppressed as spec §9 says, with the job centre's view."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from puljemonitor.cli import main
from tests.builders import History
from tests.puljemonitor.html_reading import figure_data

runner = CliRunner()


def citizens(municipality: str, prefix: str, **kinds: int) -> list[bytes]:
    """``kinds`` BIR citizens of ``municipality``, enrolled in December 2020, on a resource
    course since March 2019: ``company`` start an internship in April 2021, ``flexjob`` go
    to flexjob in March 2021, ``none`` do neither."""
    lines = []
    for kind, n in kinds.items():
        for i in range(n):
            h = History(citizen=f"{prefix}-{kind}-{i}", municipality=None)
            h.add("enrolled", at="2020-12-01", pool="bir", municipality=municipality)
            h.add("benefit_changed", at="2019-03-01", benefit="ressourceforloeb")
            if kind == "company":
                h.add("offer_started", at="2021-04-06", offer="virksomhedspraktik")
            elif kind == "flexjob":
                h.add("benefit_changed", at="2021-03-15", benefit="fleksjob")
            lines += h.lines()
    return lines


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """København 20: 8 company, 6 flexjob, 6 neither; every figure shown.
    Frederiksberg 12: 6 company, 3 flexjob (hidden, so requirement 2 is hidden), 3 neither
    (hidden "outside": requirement 1's 9 is hidden by complement, and so is company's 6).
    Courses at the end of April: the non-flexjob citizens, all 2 whole years, all long;
    without company-oriented effort: the "neither" ones (København 6 of 14, Frederiksberg 3 of 9)."""
    lines = citizens("101", "k", company=8, flexjob=6, none=6) + citizens("147", "f", company=6, flexjob=3, none=3)
    path = tmp_path_factory.mktemp("log") / "bir.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def html_report(log, tmp_path, *args) -> str:
    out = tmp_path / "bir.html"
    result = runner.invoke(
        main,
        [
            "report",
            "--log",
            str(log),
            "--pool",
            "bir",
            "--month",
            "2021-04",
            "--format",
            "html",
            "--out",
            str(out),
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pages(log, tmp_path_factory):
    result = runner.invoke(
        main, ["report", "--log", str(log), "--pool", "bir", "--month", "2021-04", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return html_report(log, tmp_path_factory.mktemp("html")), json.loads(result.stdout)


def test_the_hand_computed_counts_are_the_reports_json(pages):
    _, report = pages
    k, f, p = report["municipalities"]["101"], report["municipalities"]["147"], report["project"]
    assert (k["target"], k["requirement_1"]["count"], k["requirement_2"]["count"]) == (20, 14, 6)
    assert (f["target"], f["requirement_1"]["count"], f["requirement_2"]["count"]) == (12, 9, 3)
    assert (p["categories"]["company"], p["categories"]["flexjob"]) == (14, 9)
    ind = report["indicators"]["municipalities"]["101"]
    assert ind["long_without_company"] == {"long": 14, "without": 6, "share": 6 / 14}
    assert ind["durations"] == {"0-1": 0, "1-2": 0, "2-3": 14, "3-4": 0, "4+": 0}


def test_every_figure_reads_back_the_numbers_of_the_report_json(pages):
    html, report = pages
    figs = figure_data(html)
    assert sorted(figs) == [1, 2, 3, 4, 5, 6]
    assert figs[2]["rows"]["101"] == {"employment": (0.3, "30,0 %"), "company": (0.4, "40,0 %")}
    assert figs[4]["rows"]["101"]["flexjob"] == (0.3, "30,0 %")
    assert figs[5]["rows"]["101"] == {"without": (pytest.approx(6 / 14), "42,9 %")}
    assert float(figs[5]["attrs"]["data-reference"]) == pytest.approx(9 / 23)  # the project's share
    assert figs[6]["rows"]["101"]["2-3"] == (1.0, "100,0 %")
    assert float(figs[2]["attrs"]["data-threshold"]) == 0.35 and float(figs[4]["attrs"]["data-threshold"]) == 0.15
    # figures 1 and 3: the project per period of the overview, the report month as in the JSON
    assert list(figs[1]["rows"]) == ["2021-02", "2021-03", "2021-04"]
    assert figs[1]["rows"]["2021-04"]["company"] == (14 / 32, "43,8 %")
    assert figs[1]["rows"]["2021-03"]["company"] == (0.0, "0,0 %")
    assert figs[3]["rows"]["2021-03"]["flexjob"] == (9 / 32, "28,1 %")
    for key, (value, _) in figs[3]["rows"]["2021-04"].items():
        assert value == report["project"]["categories"][key] / report["project"]["target"]
    # every shown cell of every municipality is the JSON's count / target
    for fig in (2, 4):
        for code, cells in figs[fig]["rows"].items():
            agg = report["municipalities"][code]
            for key, (value, _) in cells.items():
                count = agg["requirement_2"]["count"] if key == "employment" else agg["categories"][key]
                assert value is None or value == pytest.approx(count / agg["target"]), (fig, code, key)


def test_the_overview_and_the_requirement_tables_are_seed_001s(pages):
    html, _ = pages
    overview = re.search(r'data-column="Alle projektkommuner".*?</section>', html, re.S).group(0)
    assert "<th>Andel i virksomhedsrettet indsats mv.</th><th>Andel i beskæftigelse mv.</th>" in overview
    assert "<td>2020M12-2021M02</td><td>32</td><td>0,0 %</td><td>0,0 %</td>" in overview
    assert "<td>2021M01-2021M03</td><td>32</td><td>28,1 %</td><td>28,1 %</td>" in overview
    assert "<td>2021M02-2021M04</td><td>32</td><td>71,9 %</td><td>28,1 %</td>" in overview
    first = re.search(r'data-column="Resultatkrav 1".*?</section>', html, re.S).group(0)
    assert "<td>Virksomhedspraktik/løntilskud</td><td>14</td><td>43,8 %</td>" in first
    assert "<td>Beskæftigelse mv.</td><td>9</td><td>28,1 %</td>" in first
    assert '<tr class="total"><td>Virksomhedsrettet indsats mv. (resultatkrav 1: 35%)</td><td>23</td>' in first
    second = re.search(r'data-column="Resultatkrav 2".*?</section>', html, re.S).group(0)
    assert "<td>Fleksjob</td><td>9</td><td>28,1 %</td>" in second
    assert "<td>Uddannelse</td><td>0</td><td>0,0 %</td>" in second  # zero is shown
    assert "Februar – april 2021" in html and "Bedre indsats for borgere i ressourceforløb" in html


def test_a_small_count_is_hidden_and_so_are_the_cells_that_would_give_it_away(pages):
    html, _ = pages
    figs = figure_data(html)
    f = figs[2]["rows"]["147"]
    # flexjob 3 hides requirement 2; the 3 outside both requirements hide requirement 1 (9),
    # so company (6 = 9 - 3) is hidden too, though 6 is not small
    assert f == {"employment": (None, "<5"), "company": (None, "<5")}
    assert figs[4]["rows"]["147"]["flexjob"] == (None, "<5")
    assert figs[4]["rows"]["147"]["education"] == (0.0, "0,0 %")
    # 3 of 9 long courses without company-oriented effort: hidden, and 6 with it would give it away
    assert figs[5]["rows"]["147"]["without"] == (None, "<5")
    assert "Frederiksberg (12)" in html  # the target group itself is shown
    names = list(figs[2]["rows"])
    j = names.index("147")
    assert f'id="f2-bar-hidden-2-{j}-company"' in html and f'id="f2-bar-2-{j}-company"' not in html
    for fig in (1, 2, 3, 4, 5, 6):  # one bar or one hidden marker per cell
        rows, series = int(figs[fig]["attrs"]["data-rows"]), int(figs[fig]["attrs"]["data-series"])
        assert len(re.findall(rf'id="f{fig}-bar-', html)) == rows * series
        hidden = sum(v is None for cells in figs[fig]["rows"].values() for v, _ in cells.values())
        assert len(re.findall(rf'id="f{fig}-bar-hidden-', html)) == hidden


def test_the_page_needs_nothing_from_the_network_and_says_its_cut_off(log, tmp_path, pages):
    html, _ = pages
    assert "<script" not in html and "<link" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    assert "@page { size: A4" in html and "<text" in html  # real text in the SVG
    published = html_report(log, tmp_path, "--as-published", "--count-social-frikort")
    assert "Data registreret før 1. juli 2021" in published and "Socialt frikort medregnet" in published
    # 23 citizens with three events (enrolled, course, internship or flexjob), 9 with two
    assert "Linjer i loggen: 87 · Anvendt: 87 · Dubletter: 0 · Afvist: 0" in html


def test_a_job_centre_reads_its_own_figures_first_and_unsuppressed_only_when_asked(log, tmp_path):
    suppressed = figure_data(html_report(log, tmp_path, "--participant", "Frederiksberg"))
    assert list(suppressed[2]["rows"])[0] == "147"
    assert suppressed[2]["rows"]["147"]["company"] == (None, "<5")
    html = html_report(log, tmp_path, "--participant", "147", "--unsuppressed")
    own = figure_data(html)
    assert own[2]["rows"]["147"] == {"employment": (0.25, "25,0 %"), "company": (0.5, "50,0 %")}
    assert own[5]["rows"]["147"]["without"] == (pytest.approx(1 / 3), "33,3 %")
    assert own[2]["rows"]["101"] == {"employment": (0.3, "30,0 %"), "company": (0.4, "40,0 %")}
    assert "Frederiksbergs egne tal vises uden diskretionering" in html
    mine = re.search(r'data-column="Frederiksberg".*?</section>', html, re.S).group(0)
    assert (
        "uden diskretionering" in mine and "<td>2021M02-2021M04</td><td>12</td><td>75,0 %</td><td>25,0 %</td>" in mine
    )
