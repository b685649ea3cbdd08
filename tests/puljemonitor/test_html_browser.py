"""The HTML report in a real browser: headless Chromium opens it without console errors,
draws every figure's bars, takes screenshots (out/) and prints it to an A4 PDF.

CI=true makes a missing browser a failure (.ci/run installs Debian's chromium); locally
without one the tests are skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from puljemonitor.cli import main
from tests.builders import demo_log
from tests.puljemonitor.html_reading import figure_data

OUT = Path(__file__).resolve().parents[2] / "out"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        message = "no chromium on PATH (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    return found


def browse(chromium: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *FLAGS, *args], capture_output=True, text=True, timeout=timeout, check=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The demo-sized report (tests/builders.py demo_log) written by the CLI into out/."""
    tmp = tmp_path_factory.mktemp("demo")
    log = tmp / "demo.jsonl"
    log.write_bytes(b"\n".join(demo_log(tmp)) + b"\n")
    OUT.mkdir(exist_ok=True)
    out = OUT / "test-report-2021-09.html"
    result = CliRunner().invoke(
        main, ["report", "--log", str(log), "--month", "2021-09", "--format", "html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_chromium_opens_the_report_without_console_messages_and_draws_every_bar(chromium, report):
    run = browse(chromium, "--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri())
    assert ":CONSOLE" not in run.stderr, [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    dom = run.stdout
    figs = figure_data(report.read_text(encoding="utf-8"))
    assert sorted(figs) == [1, 2, 3, 4, 5, 6, 7]
    for number, fig in figs.items():
        svg = re.search(rf'<figure data-figure="{number}".*?(<svg.*?</svg>)', dom, re.S)
        assert svg, f"figure {number} has no SVG in the rendered DOM"
        if fig["attrs"]["data-kind"] == "lines":
            assert len(re.findall(rf'id="f{number}-line-', svg.group(1))) == int(fig["attrs"]["data-series"])
        else:
            bars = len(re.findall(rf'id="f{number}-bar-', svg.group(1)))  # a bar or a <5 marker per cell
            assert int(fig["attrs"]["data-rows"]) == 57  # every participant
            assert bars == 57 * int(fig["attrs"]["data-series"])


def test_screenshots_of_the_first_page_and_of_figure_4(chromium, report):
    first = OUT / "report-first-page.png"
    browse(chromium, f"--screenshot={first}", "--window-size=1000,1414", report.as_uri())
    # Figure 4 alone: its section of the page with the page's own styles
    html = report.read_text(encoding="utf-8")
    head = html[: html.index("<body>") + len("<body>")]
    section = re.search(r'<section class="page" id="figur-4">.*?</section>', html, re.S).group(0)
    alone = OUT / "test-report-figur-4.html"
    alone.write_text(head + section + "</body></html>", encoding="utf-8")
    figure4 = OUT / "report-figur-4.png"
    browse(chromium, f"--screenshot={figure4}", "--window-size=1000,1250", alone.as_uri())
    for png in (first, figure4):
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000, png


def test_printing_to_pdf_gives_an_a4_report_of_one_page_per_section(chromium, report):
    pdf = OUT / "test-report-2021-09.pdf"
    browse(chromium, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert 8 <= pages <= 12, pages  # overview, then one page per figure
    assert re.search(rb"/MediaBox\s*\[0 0 59[45]\.\d* 84[12]\.\d*\]", data), "not A4"
    assert len(data) < 5_000_000


@pytest.fixture(scope="module")
def bir_report(tmp_path_factory) -> Path:
    """BIR's report of the same small demo log, written by the CLI into out/."""
    tmp = tmp_path_factory.mktemp("demo-bir")
    log = tmp / "demo.jsonl"
    log.write_bytes(b"\n".join(demo_log(tmp)) + b"\n")
    OUT.mkdir(exist_ok=True)
    out = OUT / "test-report-bir-2021-04.html"
    args = ["report", "--log", str(log), "--pool", "bir", "--month", "2021-04", "--format", "html", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


def test_chromium_opens_birs_report_without_console_messages_and_prints_it_on_a4(chromium, bir_report):
    run = browse(chromium, "--enable-logging=stderr", "--v=0", "--dump-dom", bir_report.as_uri())
    assert ":CONSOLE" not in run.stderr, [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    figs = figure_data(bir_report.read_text(encoding="utf-8"))
    assert sorted(figs) == [1, 2, 3, 4, 5, 6]
    for number, fig in figs.items():
        svg = re.search(rf'<figure data-figure="{number}".*?(<svg.*?</svg>)', run.stdout, re.S)
        assert svg, f"figure {number} has no SVG in the rendered DOM"
        bars = len(re.findall(rf'id="f{number}-bar-', svg.group(1)))  # a bar or a <5 marker per cell
        rows = int(fig["attrs"]["data-rows"])
        assert rows == (3 if number in (1, 3) else len(fig["rows"])) and rows > 0
        assert bars == rows * int(fig["attrs"]["data-series"])
    pdf = OUT / "test-report-bir-2021-04.pdf"
    browse(chromium, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", bir_report.as_uri())
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert 6 <= pages <= 10, pages  # overview, then one page per figure
    assert re.search(rb"/MediaBox\s*\[0 0 59[45]\.\d* 84[12]\.\d*\]", data), "not A4"
