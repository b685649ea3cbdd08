"""The HTML report (issue 9): the same numbers as the JSON, suppressed as spec §9 says,
as one file that needs nothing from the network."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from projections.reports import history_months
from puljemonitor.cli import main
from puljemonitor.html import build_view, page
from puljemonitor.replay import Replay
from schemas import pools
from schemas.calendar import parse_month
from schemas.pools import Rules
from tests.builders import History
from tests.puljemonitor.html_reading import figure_data

runner = CliRunner()


def citizens(municipality: str, prefix: str, **kinds: int) -> list[bytes]:
    """``kinds`` citizens of each kind, all enrolled in ``municipality``; positive in 2021-09."""
    lines = []
    for kind, n in kinds.items():
        for i in range(n):
            h = History(citizen=f"{prefix}-{kind}-{i}", municipality=municipality)
            if kind == "foertidspension":
                h.add("benefit_changed", at="2021-09-10", benefit="foertidspension")
            elif kind in ("loentilskud", "virksomhedspraktik"):
                h.add("offer_started", at="2021-09-01", offer=kind)
            elif kind == "exempt":
                h.add("exemption_started", at="2021-03-31", reason="sygdom")
            lines += h.lines()
    return lines


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """København 20 citizens, all figures shown: 8 førtidspension, 5 løntilskud, 7 neither.
    Frederiksberg 12: 2 exempt (hidden, so measured 10 is hidden too), 3 førtidspension (hidden,
    so company 6 is hidden, and its category virksomhedspraktik 6), 1 neither.
    Hjørring (no participant) 10: 5 exempt, 5 neither: "Hele landet" shows every count."""
    lines = (
        citizens("101", "k", foertidspension=8, loentilskud=5, none=7)
        + citizens("147", "f", exempt=2, foertidspension=3, virksomhedspraktik=6, none=1)
        + citizens("860", "h", exempt=5, none=5)
    )
    path = tmp_path_factory.mktemp("log") / "log.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def html_report(log, tmp_path, *args) -> str:
    out = tmp_path / "report.html"
    result = runner.invoke(
        main, ["report", "--log", str(log), "--month", "2021-09", "--format", "html", "--out", str(out), *args]
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def json_report(log, *args) -> dict:
    result = runner.invoke(main, ["report", "--log", str(log), "--month", "2021-09", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def pages(log, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    return html_report(log, tmp), json_report(log)


def test_the_hand_computed_figures_are_the_reports_json(pages):
    _, report = pages
    k = report["participants"]["København"]["aggregate"]
    assert (k["enrolled"], k["exempt"], k["measured"], k["positive"]) == (20, 0, 20, 13)
    assert k["groups"] == {"employment": 0, "other_benefit": 8, "company": 5}
    n = report["national"]
    assert (n["enrolled"], n["exempt"], n["measured"], n["positive"]) == (42, 7, 35, 22)


def test_every_figure_reads_back_the_numbers_of_the_report_json(pages):
    html, report = pages
    figs = figure_data(html)
    assert sorted(figs) == [1, 2, 3, 4, 5, 6, 7]
    k = figs[1]["rows"]["København"]
    assert k == {"measured": (20, "20"), "exempt": (0, "0")}
    assert figs[2]["rows"]["København"] == {"measured": (1.0, "100,0 %"), "exempt": (0.0, "0,0 %")}
    assert figs[4]["rows"]["København"]["other_benefit"] == (0.4, "40,0 %")
    assert figs[4]["rows"]["København"]["company"] == (0.25, "25,0 %")
    assert figs[4]["rows"]["København"]["positive"] == (0.65, "65,0 %")
    assert figs[6]["rows"]["København"]["foertidspension"] == (0.4, "40,0 %")
    assert figs[7]["rows"]["København"]["company"] == (0.25, "25,0 %")
    assert float(figs[7]["attrs"]["data-reference"]) == pytest.approx(11 / 35)
    assert float(figs[6]["attrs"]["data-reference"]) == pytest.approx(11 / 35)
    assert float(figs[5]["attrs"]["data-reference"]) == 0
    # every shown cell of every participant equals the JSON's count or count / measured
    for fig in (4, 5, 6, 7):
        for name, cells in figs[fig]["rows"].items():
            agg = report["participants"][name]["aggregate"]
            for key, (value, _) in cells.items():
                if value is None:
                    continue
                if agg["measured"] == 0:  # no citizens: no share, nothing hidden
                    assert cells[key] == (0.0, "–")
                    continue
                count = agg["positive"] if key == "positive" else agg["groups"].get(key, agg["categories"].get(key))
                assert value == pytest.approx(count / agg["measured"]), (fig, name, key)
    for name, cells in figs[1]["rows"].items():
        agg = report["participants"][name]["aggregate"]
        for key, (value, _) in cells.items():
            assert value is None or value == agg[key], (name, key)


def test_figure_3_is_the_project_month_by_month_up_to_the_report_month(pages):
    html, report = pages
    rows = figure_data(html)[3]["rows"]
    assert list(rows)[0] == "2020-08" and list(rows)[-1] == "2021-09"
    # before the exemptions (end of March) the 32 project citizens are all measured, none positive
    assert rows["2021-02"] == {k: (0.0, "0,0 %") for k in ("other_benefit", "company", "employment")}
    # in the report month the project's measured count (30) is hidden beside its 2 exempt
    assert report["project"]["measured"] == 30 and report["project"]["exempt"] == 2
    assert all(value is None for value, _ in rows["2021-09"].values())


def test_counts_of_one_to_four_show_as_under_five_and_their_complements_are_hidden(pages):
    html, _ = pages
    figs = figure_data(html)
    f = figs[1]["rows"]["Frederiksberg"]
    assert f == {"measured": (None, "<5"), "exempt": (None, "<5")}  # 2 exempt; 10 measured by complement
    assert figs[1]["rows"]["Frederiksberg"]["measured"][1] == "<5"
    assert figs[4]["rows"]["Frederiksberg"]["company"] == (None, "<5")
    assert figs[7]["rows"]["Frederiksberg"]["company"] == (None, "<5")
    # overview: the project's 2 exempt citizens
    overview = re.search(r'data-column="Projektkommuner i alt".*?</section>', html, re.S).group(0)
    assert re.search(r"<td>Heraf fritaget</td><td>&lt;5</td><td>&lt;5</td>", overview)
    assert re.search(r"<td>Borgere i projektet i alt</td><td>32</td>", overview)


def test_zero_is_shown_as_zero_not_hidden(pages):
    html, _ = pages
    figs = figure_data(html)
    assert figs[1]["rows"]["Albertslund"] == {"measured": (0, "0"), "exempt": (0, "0")}
    assert figs[5]["rows"]["København"]["self_supporting"] == (0.0, "0,0 %")


def test_a_hidden_value_is_drawn_as_a_hidden_marker_not_as_a_bar(pages):
    html, _ = pages
    figs = figure_data(html)
    names = list(figs[1]["rows"])
    j = names.index("Frederiksberg")
    assert f'id="f1-bar-hidden-1-{j}-measured"' in html
    assert f'id="f1-bar-1-{j}-measured"' not in html
    kb = names.index("København")
    assert f'id="f1-bar-1-{kb}-measured"' in html
    for fig in (1, 2, 4, 5, 6, 7):  # one bar or one hidden marker per cell
        rows, series = int(figs[fig]["attrs"]["data-rows"]), int(figs[fig]["attrs"]["data-series"])
        assert len(re.findall(rf'id="f{fig}-bar-', html)) == rows * series
        hidden = sum(
            v is None for cells in figs[fig]["rows"].values() for k, (v, _) in cells.items() if k != "positive"
        )
        assert len(re.findall(rf'id="f{fig}-bar-hidden-', html)) == hidden


def test_the_page_needs_nothing_from_the_network(pages):
    html, _ = pages
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"url\((['\"]?)(https?:)?//", html)
    assert "@page { size: A4" in html


def test_the_cut_off_rule_variant_and_input_are_said_in_words(log, tmp_path):
    html = html_report(log, tmp_path, "--as-published", "--count-social-frikort")
    assert "Data registreret før 1. december 2021" in html
    assert "Socialt frikort medregnet" in html
    # København 13 × 2 + 7, Frederiksberg 11 × 2 + 1, Hjørring 5 × 2 + 5 lines
    assert "Linjer i loggen: 71 · Anvendt: 71 · Dubletter: 0 · Afvist: 0" in html
    assert "September 2021" in html and "August 2021" in html
    assert "Alle data" in html_report(log, tmp_path)


def test_a_participant_reads_its_own_figures_first_and_unsuppressed_only_when_asked(log, tmp_path):
    suppressed = figure_data(html_report(log, tmp_path, "--participant", "147"))
    assert list(suppressed[1]["rows"])[0] == "Frederiksberg"
    assert suppressed[1]["rows"]["Frederiksberg"]["exempt"] == (None, "<5")
    html = html_report(log, tmp_path, "--participant", "Frederiksberg", "--unsuppressed")
    own = figure_data(html)
    assert list(own[1]["rows"])[0] == "Frederiksberg"
    assert own[1]["rows"]["Frederiksberg"] == {"measured": (10, "10"), "exempt": (2, "2")}
    assert own[7]["rows"]["Frederiksberg"]["company"] == (0.6, "60,0 %")
    assert "Frederiksbergs egne tal vises uden diskretionering" in html
    assert own[3]["rows"]["2021-09"]["company"] == (0.6, "60,0 %")  # its own development
    assert 'data-column="Projektkommuner i alt"' in html and 'data-column="Hele landet"' in html


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "html"], "--format html writes a file: give it with --out PATH"),
        (
            ["--format", "html", "--out", "x.html", "--unsuppressed"],
            "--unsuppressed shows one participant's own figures",
        ),
        (["--format", "html", "--out", "x.html", "--participant", "Atlantis"], "'Atlantis' is not a participant"),
        (["--format", "json", "--participant", "101"], "belong to --format html"),
    ],
)
def test_html_usage_errors_say_what_to_do_in_one_line(log, args, message):
    result = runner.invoke(main, ["report", "--log", str(log), "--month", "2021-09", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1


def test_the_overview_gives_the_requirement_for_the_month_and_the_month_before(pages):
    html, report = pages
    nation = re.search(r'data-column="Hele landet".*?</section>', html, re.S).group(0)
    assert "<td>Borgere i alt</td><td>42</td>" in nation
    assert "<td>August 2021</td><td>0</td><td>0 %</td>" in nation  # everyone turns positive in September
    assert f"<td>September 2021</td><td>{report['national']['positive']}</td><td>63 %</td>" in nation  # 22 / 35


def test_axis_ticks_that_are_not_whole_percents_keep_their_decimal():
    from puljemonitor.html.figures import _tick_percent

    assert [_tick_percent(v) for v in (0.0, 0.2, 0.125, 0.025)] == ["0 %", "20 %", "12,5 %", "2,5 %"]


def test_the_demo_command_writes_both_html_reports_beside_the_json_and_says_so(tmp_path):
    import gzip

    from tests.builders import demo_log

    # a small demo log where the command looks for seed 3's, so it does not generate the full one
    (tmp_path / "demo-seed3.jsonl.gz").write_bytes(gzip.compress(b"\n".join(demo_log(tmp_path)) + b"\n"))
    result = runner.invoke(main, ["demo", "--seed", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = tmp_path / "report-2021-09.html"
    assert (tmp_path / "report-2021-09.json").exists() and page.exists()
    assert str(page) in result.output.strip().splitlines()[-1]
    assert "Bedre indsats for borgere i ressourceforløb" in result.output  # the BIR report follows
    assert json.loads((tmp_path / "report-bir-2021-04.json").read_text())["period"] == {
        "first": "2021-02",
        "last": "2021-04",
    }
    assert sorted(figure_data(page.read_text(encoding="utf-8"))) == [1, 2, 3, 4, 5, 6, 7]
    bir = tmp_path / "report-bir-2021-04.html"  # and BIR's, named beside it
    assert str(bir) in result.output.strip().splitlines()[-1]
    assert sorted(figure_data(bir.read_text(encoding="utf-8"))) == [1, 2, 3, 4, 5, 6]


def test_the_figures_drawn_in_worker_processes_are_the_bytes_one_process_draws(log, monkeypatch):
    monkeypatch.setattr(page, "may_fork", lambda: True)  # pytest may run other threads
    replay = Replay(quiet=True)
    replay.ingest(str(log))
    pool, month = pools.pool("afklaringspuljen"), parse_month("2021-09")
    report, tallies = replay.report_and_tallies(pool, month, Rules(), None, history_months(pool, month))
    figures = build_view(report, tallies, pool, participant="København").figures
    one_by_one = page.draw(figures, workers=1)
    assert list(one_by_one) == [1, 2, 3, 4, 5, 6, 7]
    assert all(svg.startswith("<svg") and 'id="f' in svg for svg in one_by_one.values())
    assert page.draw(figures, workers=3) == one_by_one
