"""The report as one self-contained HTML page: the Jinja2 template with inline CSS and the
figures' inline SVG; nothing is fetched when it is opened or printed."""

from __future__ import annotations

import jinja2

from puljemonitor.html import danish, figures
from puljemonitor.html.model import ReportView

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("puljemonitor.html", "templates"),
    autoescape=True,  # participant names and labels are data: escape them
    undefined=jinja2.StrictUndefined,  # a misspelt field is an error, not an empty cell
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["pct"] = lambda share: danish.percent(share, 1)


def render(view: ReportView) -> str:
    """The page for ``view``; every figure drawn from the same rows its data table lists."""
    svgs = {f.number: figures.svg(f) for f in view.figures}
    return _env.get_template("report.html.j2").render(view=view, svgs=svgs)
