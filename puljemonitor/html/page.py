"""The report as one self-contained HTML page: the Jinja2 template with inline CSS and the
figures' inline SVG; nothing is fetched when it is opened or printed."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import jinja2

from puljemonitor import danish
from puljemonitor.forking import may_fork
from puljemonitor.html import figures
from puljemonitor.html.model import Figure, ReportView

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("puljemonitor.html", "templates"),
    autoescape=True,  # participant names and labels are data: escape them
    undefined=jinja2.StrictUndefined,  # a misspelt field is an error, not an empty cell
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["pct"] = lambda share: danish.percent(share, 1)


def render(view: ReportView, template: str = "report.html.j2") -> str:
    """The page for ``view`` (a pool's template); every figure drawn from the same rows its data table lists."""
    svgs = draw(view.figures)
    return _env.get_template(template).render(view=view, svgs=svgs)


def draw(figs: list[Figure], workers: int | None = None) -> dict[int, str]:
    """Every figure's SVG by its number, drawn in ``workers`` processes (default: one per core).

    Why processes: matplotlib spends about 0.15 s of pure Python on each figure, one figure
    at a time per process, and the page has seven. The figures are independent and each is
    the same bytes in any process (fixed ``svg.hashsalt``), so forked workers (which share
    the loaded modules and fonts) draw them side by side; one core, or a process with other
    threads (:func:`puljemonitor.forking.may_fork`), draws them in turn.
    """
    workers = min(len(figs), workers or os.cpu_count() or 1)
    if workers < 2 or not may_fork():
        return {f.number: figures.svg(f) for f in figs}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip((f.number for f in figs), pool.map(figures.svg, figs)))
