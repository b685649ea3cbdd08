"""Reading the HTML report back: each figure's data table and attributes, as tests need them."""

from __future__ import annotations

from html.parser import HTMLParser


class FigureData(HTMLParser):
    """figure number → {"attrs": <figure data-*>, "rows": {row key: {cell key: (value, text)}}}."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[int, dict] = {}
        self._figure: int | None = None
        self._row: str | None = None
        self._cell: tuple[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "data-figure" in a:
            self._figure = int(a["data-figure"])
            self.figures[self._figure] = {"attrs": a, "rows": {}}
        elif tag == "tr" and "data-row" in a and self._figure is not None:
            self._row = a["data-row"]
            self.figures[self._figure]["rows"][self._row] = {}
        elif tag == "td" and "data-value" in a and self._row is not None:
            self._cell = (a["data-key"], a["data-value"])
            self._text = []

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            key, raw = self._cell
            value = None if raw == "" else float(raw)
            self.figures[self._figure]["rows"][self._row][key] = (value, "".join(self._text).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "figure":
            self._figure = None


def figure_data(html: str) -> dict[int, dict]:
    parser = FigureData()
    parser.feed(html)
    return parser.figures
