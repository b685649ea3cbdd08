"""The report's figures as inline SVG, drawn by matplotlib from :mod:`.model` rows.

Text stays text in the SVG (``svg.fonttype = none``): searchable, selectable, readable by a
screen reader, and small. Series differ in lightness, so they stay apart in greyscale
print. A suppressed value is never drawn as a length: it gets a white marker with a dashed
outline, labelled ``<5``, after the bar. Every bar carries an id ``bar-…`` (``bar-hidden-…``
for a marker), so a test can count them in the rendered page.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from puljemonitor import danish  # noqa: E402
from puljemonitor.html.model import Figure  # noqa: E402

plt.rcParams.update({
    "svg.fonttype": "none",  # real <text>, not glyph paths
    "svg.hashsalt": "puljemonitor",  # same input, same bytes
    "font.family": "DejaVu Sans",
    "font.size": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
})  # fmt: skip

# Dark to light in even steps: apart in colour and in greyscale print. No hatching: an SVG
# <pattern> fill costs Chromium's PDF printer megabytes per bar (17 MB for one figure).
# The fifth (BIR's five categories and duration bands) lies between the first two in lightness.
COLOURS = ("#1b3a6b", "#4f7fbf", "#9cbfe6", "#d9e6f5", "#35609c")
HIDDEN = {"facecolor": "#ffffff", "edgecolor": "#444444", "linestyle": (0, (2, 1)), "linewidth": 0.6}
LINE_STYLES = ("-", "--", ":")
MARKERS = ("o", "s", "^")
WIDTH_IN = 7.2  # A4 portrait text width
BAR_HEIGHT = 0.72


def _tick_percent(share: float) -> str:
    """An axis tick: ``20 %``, or ``12,5 %`` when the tick is not a whole percent."""
    whole = abs(share * 100 - round(share * 100)) < 1e-6
    return danish.percent(share, 0 if whole else 1)


def _pct_axis(ax, axis: str = "x") -> None:
    fmt = FuncFormatter(lambda v, _: _tick_percent(v))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _count_axis(ax) -> None:
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: danish.number(int(v))))


def _bar(ax, y: float, left: float, width: float, gid: str, **style) -> None:
    """One horizontal bar, centred on ``y``, as ``ax.barh`` draws it.

    Why not ``barh``: it grows the axes' data limits patch by patch, which costs about
    as much as the rest of the figure, and these figures set their limits themselves.
    """
    bar = Rectangle((left, y - BAR_HEIGHT / 2), width, BAR_HEIGHT, label="_nolegend_", gid=gid, **style)
    ax.add_artist(bar)


def stacked(fig_data: Figure) -> plt.Figure:
    """Horizontal stacked bars, one row per participant, first row on top."""
    rows = fig_data.rows
    n = len(rows)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.2 + 0.13 * n))
    ys = list(range(n))[::-1]
    totals = []
    for row in rows:
        totals.append(sum(c.value or 0 for c in (row.cells[k] for k in fig_data.series)))
    top = max([*totals, fig_data.threshold or 0, (fig_data.reference or ("", 0))[1] or 0, 1e-9])
    marker_w = top * 0.025
    handles = [  # legend entries, whatever the first row shows
        Patch(facecolor=COLOURS[i % len(COLOURS)], edgecolor="#888888", linewidth=0.3, label=label)
        for i, label in enumerate(fig_data.series.values())
    ]
    lefts = [0.0] * n
    for i, key in enumerate(fig_data.series):
        for j, row in enumerate(rows):
            if not row.cells[key].hidden:
                width = row.cells[key].value
                _bar(ax, ys[j], lefts[j], width, f"bar-{fig_data.number}-{j}-{key}",
                     facecolor=COLOURS[i % len(COLOURS)], edgecolor="white", linewidth=0.3)  # fmt: skip
                lefts[j] += width
    markers = [(j, key) for j, row in enumerate(rows) for key in fig_data.series if row.cells[key].hidden]
    ends = list(lefts)  # each row's hidden markers follow its shown bars, side by side
    xs = []
    for j, _key in markers:
        xs.append(ends[j])
        ends[j] += marker_w * 1.15
    for (j, key), x in zip(markers, xs):
        _bar(ax, ys[j], x, marker_w, f"bar-hidden-{fig_data.number}-{j}-{key}", **HIDDEN)
    for j, row in enumerate(rows):
        text = "<5" if any(row.cells[k].hidden for k in fig_data.series) else ""
        if fig_data.totals:
            text = (text + "  " if text else "") + row.note.split(";")[0]
        if text:
            ax.text(ends[j] + top * 0.01, ys[j], text, va="center", fontsize=6, color="#333333")
    if any(c.hidden for r in rows for c in r.cells.values()):
        handles.append(Patch(**HIDDEN, label="<5: skjult (færre end 5)"))
    if fig_data.threshold is not None:
        handles.append(ax.axvline(fig_data.threshold, color="#b2182b", linewidth=1, label=fig_data.threshold_label))
    if fig_data.reference is not None and fig_data.reference[1] is not None:
        line = ax.axvline(
            fig_data.reference[1], color="#000000", linestyle="--", linewidth=1, label=fig_data.reference[0]
        )
        line.set_gid(f"reference-{fig_data.number}")
        handles.append(line)
    ax.set_yticks(ys, [("▶ " if r.focus else "") + r.label for r in rows])
    for tick, row in zip(ax.get_yticklabels(), rows):
        if row.focus:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(0, top * (1.32 if fig_data.totals else 1.12))
    (_count_axis if fig_data.unit == "count" else _pct_axis)(ax)
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=6.5)
    height = fig.get_figheight()  # fixed margins: tight_layout would draw the figure twice
    fig.subplots_adjust(left=1.45 / WIDTH_IN, right=0.98, top=1 - 0.6 / height, bottom=0.3 / height)
    return fig


def lines(fig_data: Figure) -> plt.Figure:
    """Shares month by month; a participant's figure has the project's lines, thin and dashed."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.4))
    xs = list(range(len(fig_data.rows)))
    for i, (key, label) in enumerate(fig_data.series.items()):
        ys = [r.cells[key].value for r in fig_data.rows]
        (line,) = ax.plot(xs, [float("nan") if v is None else v for v in ys], color=COLOURS[i], linestyle=LINE_STYLES[i],
                          marker=MARKERS[i], markersize=3, linewidth=1.6, label=label)  # fmt: skip
        line.set_gid(f"line-{fig_data.number}-{key}")
    if fig_data.comparison:
        for i, (key, label) in enumerate(fig_data.series.items()):
            ys = [r.cells[key].value for r in fig_data.comparison]
            ax.plot(xs[: len(ys)], [float("nan") if v is None else v for v in ys], color=COLOURS[i], linestyle="--",
                    linewidth=0.8, alpha=0.7, label=f"Projektkommuner: {label}")  # fmt: skip
    step = max(1, math.ceil(len(xs) / 9))  # at most 9 month labels: they must not overlap
    ax.set_xticks(xs[::step], [r.label for r in fig_data.rows][::step])
    _pct_axis(ax, "y")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.5)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=6.5)
    fig.tight_layout()
    return fig


def svg(fig_data: Figure) -> str:
    """The figure as an ``<svg>`` element to inline in HTML (ids unique per figure)."""
    fig = lines(fig_data) if fig_data.kind == "lines" else stacked(fig_data)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    prefix = f"f{fig_data.number}-"
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = text.replace("url(#", f"url(#{prefix}").replace('href="#', f'href="#{prefix}')
    text = text.replace("<svg ", f'<svg role="img" aria-labelledby="{prefix}caption" ', 1)
    return text
