"""The dashboard for people (``GET /``): the HTML report of issue 9 with a bar of choices (pool,
month, participant, published vs now, a token for a job centre's own figures) and a script
that re-fetches the report when the change stream says a figure changed, without reloading.
For BIR the page is its own report (seed 001) and the participants are its municipalities;
choosing another pool loads the page anew, since the bar's months and participants differ.

Why the page is the report with a bar spliced in rather than a second template: the report
is one self-contained page (its own styles, inline SVG); the dashboard must show exactly it.
The splice points are the report template's own ``</head>`` and ``<body>``.
"""

from __future__ import annotations

import html

from puljemonitor import danish
from puljemonitor.server.figures import served_pools
from schemas.calendar import Month, format_month
from schemas.pools import PeriodPool, Pool
from schemas.reference import Participant

from .source import pool_months

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    "Cache-Control": "no-store",
}

STYLE = """<style>
  #controls { position: sticky; top: 0; z-index: 10; background: #f4f7fb; border-bottom: 1px solid #cfd8e3;
    display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; padding: .5rem 1rem; font-size: .85rem;
    font-family: "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
  #controls label { display: flex; gap: .3rem; align-items: center; }
  #live { margin-left: auto; color: #555; }
  #live[data-state="error"] { color: #b2182b; }
  @media print { #controls { display: none; } }
</style>"""


def _options(pairs, selected: str) -> str:
    return "".join(
        f'<option value="{html.escape(v)}"{" selected" if v == selected else ""}>{html.escape(label)}</option>'
        for v, label in pairs
    )


def controls(
    pool: Pool | PeriodPool,
    month: Month,
    view: str,
    participant: Participant | None,
    choices: list[Participant],
    version: int,
) -> str:
    """The bar: ``choices`` are the pool's participants (BIR: its municipalities in the month)."""
    months = [(format_month(m), danish.month(format_month(m))) for m in pool_months(pool)]
    participants = [("", "Alle projektkommuner")] + [(p.codes[0], p.name) for p in choices]
    views = [("now", "Nu (alle data)"), ("published", "Som offentliggjort")]
    return f"""<form id="controls" data-version="{version}" autocomplete="off">
  <label>Pulje <select name="pool">{_options([(p.name, p.label) for p in served_pools().values()], pool.name)}</select></label>
  <label>Måned <select name="month">{_options(months, format_month(month))}</select></label>
  <label>Deltager <select name="participant">{_options(participants, participant.codes[0] if participant else "")}</select></label>
  <label>Visning <select name="view">{_options(views, view)}</select></label>
  <label>Adgangsnøgle <input type="password" name="token" size="14" placeholder="(offentlig)" autocomplete="off"></label>
  <label><input type="checkbox" name="unsuppressed" value="1"> Egne tal uden diskretionering</label>
  <span id="live" aria-live="polite" data-state="connecting">Forbinder …</span>
</form>"""


def shell(
    page: str,
    pool: Pool | PeriodPool,
    month: Month,
    view: str,
    participant: Participant | None,
    choices: list[Participant],
    version: int,
) -> str:
    """The report ``page`` with the bar of choices and the live script spliced in."""
    head, body = page.split("</head>", 1)
    before, after = body.split("<body>", 1)
    after, tail = after.rsplit("</body>", 1)
    script = '<link rel="icon" href="data:,"><script src="/static/dashboard.js" defer></script>'
    return (
        f"{head}{STYLE}{script}</head>{before}<body>{controls(pool, month, view, participant, choices, version)}"
        f'<main id="report">{after}</main></body>{tail}'
    )


def docs_page(openapi_url: str) -> str:
    """Swagger UI from the swagger-ui-bundle package's own files: nothing is fetched from a CDN."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>puljemonitor API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui" data-url="{html.escape(openapi_url)}"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>"""
