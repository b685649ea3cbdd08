"""The live dashboard in a real browser (issue 10): headless Chromium, driven over the DevTools
protocol (tests/puljemonitor/chromium_cdp.py), opens ``serve --follow`` over the demo-sized
log, shows the demo's figures, updates a figure without reloading when a line is appended,
follows a change of choice (also to BIR's own report), logs nothing to the console, and
leaves screenshots in out/.

CI=true makes a missing browser a failure, as in test_html_browser.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from puljemonitor import danish
from puljemonitor.replay import Replay
from puljemonitor.server.access import Role, add_token
from schemas import pools
from schemas.calendar import parse_month
from schemas.pools import Rules
from tests.builders import History, demo_log, report
from tests.puljemonitor.chromium_cdp import Chromium
from tests.puljemonitor.serve_world import running_server

OUT = Path(__file__).resolve().parents[2] / "out"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PROJECT_ENROLLED = (
    "document.querySelector('section.overview[data-column=\"Projektkommuner i alt\"] tbody tr td:nth-child(2)')"
    "?.textContent"
)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        message = "no chromium on PATH (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    return found


def newcomer() -> bytes:
    """A citizen of København enrolled in time, on førtidspension: one more enrolled in the project."""
    h = History("newcomer-1", municipality=None)
    recorded = "2020-08-01T12:00:00+02:00"
    h.add("enrolled", at="2020-07-30", pool="afklaringspuljen", municipality="101", recorded=recorded)
    h.add("benefit_changed", at="2020-06-01", benefit="foertidspension", recorded=recorded)
    return b"".join(line + b"\n" for line in h.lines())


def test_the_dashboard_shows_the_demos_figures_and_updates_one_when_a_line_is_appended(chromium, tmp_path):
    lines = demo_log(tmp_path)
    log = tmp_path / "follow.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    expected = report(lines, "2021-09").project.enrolled
    tokens = tmp_path / "tokens.txt"
    _, token = add_token(tokens, Role(codes=frozenset({"101"})))
    with running_server(log, "--follow", tokens=tokens) as (base, _proc):
        browser = Chromium(chromium)
        try:
            browser.navigate(f"{base}/")
            browser.wait_for("document.getElementById('live')?.dataset.state === 'live'")
            assert browser.evaluate(PROJECT_ENROLLED) == danish.number(expected)
            assert browser.evaluate("document.querySelectorAll('figure svg').length") == 7
            with open(log, "ab") as f:
                f.write(newcomer())
            browser.wait_for(f"{PROJECT_ENROLLED} === {json.dumps(danish.number(expected + 1))}", timeout=20)
            assert browser.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
            assert browser.evaluate("document.getElementById('controls').dataset.version") == "1"
            OUT.mkdir(exist_ok=True)
            shot = OUT / "serve-dashboard.png"
            shot.write_bytes(browser.screenshot())
            assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and shot.stat().st_size > 20_000
            # a choice: København's own report (public figures), without a reload
            browser.evaluate(
                "(() => { const s = document.querySelector('select[name=participant]'); s.value = '101';"
                " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
            )
            browser.wait_for("document.querySelector('#report header')?.textContent.includes('København')", timeout=20)
            assert browser.evaluate("location.search").startswith("?")
            assert "participant=101" in browser.evaluate("location.search")
            assert not browser.evaluate("document.querySelector('#report .badge')")
            # København's job centre: its token, then its own figures without suppression
            browser.evaluate(
                f"(() => {{ const t = document.querySelector('input[name=token]'); t.value = {json.dumps(token)};"
                " t.dispatchEvent(new Event('change', {bubbles: true}));"
                " const u = document.querySelector('input[name=unsuppressed]'); u.checked = true;"
                " u.dispatchEvent(new Event('change', {bubbles: true})); })()"
            )
            badge = "document.querySelector('#report .badge')?.textContent"
            assert browser.wait_for(badge, timeout=20) == "uden diskretionering"
            assert token not in browser.evaluate("location.href")
            assert browser.console_problems() == []
        finally:
            browser.close()


BIR_TARGET = (
    'document.querySelector(\'section.overview[data-column="Alle projektkommuner"] tbody tr:last-child'
    " td:nth-child(2)')?.textContent"
)


def bir_newcomer() -> bytes:
    """A BIR citizen of København on a resource course: one more in BIR's target group."""
    h = History("bir-newcomer-1", municipality=None)
    recorded = "2021-01-05T12:00:00+01:00"
    h.add("enrolled", at="2021-01-04", pool="bir", municipality="101", recorded=recorded)
    h.add("benefit_changed", at="2020-06-01", benefit="ressourceforloeb", recorded=recorded)
    return b"".join(line + b"\n" for line in h.lines())


def test_the_dashboard_switches_to_bir_shows_its_report_and_updates_its_target_group_live(chromium, tmp_path):
    lines = demo_log(tmp_path)
    log = tmp_path / "follow.jsonl"
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    replay = Replay(quiet=True)
    replay.ingest_lines(lines)
    expected = replay.report(pools.pool("bir"), parse_month("2021-09"), Rules(), None).project.target
    assert expected >= 5  # shown, not suppressed
    with running_server(log, "--follow") as (base, _proc):
        browser = Chromium(chromium)
        try:
            browser.navigate(f"{base}/?month=2021-09")
            browser.wait_for("document.getElementById('live')?.dataset.state === 'live'")
            browser.evaluate(
                "(() => { const s = document.querySelector('select[name=pool]'); s.value = 'bir';"
                " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
            )
            browser.wait_for("document.querySelector('select[name=pool]')?.value === 'bir'", timeout=30)
            browser.wait_for("document.getElementById('live')?.dataset.state === 'live'")
            assert "pool=bir" in browser.evaluate("location.search")
            assert browser.evaluate("document.querySelector('select[name=month]').value") == "2021-09"
            assert "2021M07-2021M09" in browser.evaluate("document.getElementById('report').textContent")
            assert browser.evaluate(BIR_TARGET) == danish.number(expected)
            assert browser.evaluate("document.querySelectorAll('#report figure svg').length") == 6  # seed 001's
            with open(log, "ab") as f:
                f.write(bir_newcomer())
            browser.wait_for(f"{BIR_TARGET} === {json.dumps(danish.number(expected + 1))}", timeout=20)
            assert browser.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload since
            OUT.mkdir(exist_ok=True)
            shot = OUT / "serve-dashboard-bir.png"
            shot.write_bytes(browser.screenshot())
            assert shot.stat().st_size > 20_000
            assert browser.console_problems() == []
        finally:
            browser.close()
