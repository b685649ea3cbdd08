"""Numbers, shares, months and cut-offs as STAR writes them (spec §9): ``14.660``, ``42 %``,
``22,8 %``, "September 2021", "Data registreret før 1. december 2021"."""

from __future__ import annotations

import datetime as dt

HIDDEN = "<5"  # what a suppressed cell shows (the minimum cell size of the configuration)

MONTHS = (
    "januar", "februar", "marts", "april", "maj", "juni",
    "juli", "august", "september", "oktober", "november", "december",
)  # fmt: skip


def number(n: int | None, hidden: str = HIDDEN) -> str:
    """14660 → ``14.660``; None (suppressed) → ``<5``."""
    return hidden if n is None else f"{n:,}".replace(",", ".")


def percent(share: float | None, decimals: int = 0, hidden: str = HIDDEN) -> str:
    """0.42 → ``42 %``; with decimals=1, 0.228 → ``22,8 %``; None → ``<5``."""
    if share is None:
        return hidden
    return f"{share * 100:.{decimals}f}".replace(".", ",") + " %"


def month(text: str) -> str:
    """``2021-09`` → "September 2021"."""
    year, m = text.split("-")
    return f"{MONTHS[int(m) - 1].capitalize()} {year}"


def short_month(text: str) -> str:
    """``2021-09`` → "sep 21" (an axis label)."""
    year, m = text.split("-")
    return f"{MONTHS[int(m) - 1][:3]} {year[2:]}"


def cutoff(as_of: str | None) -> str:
    """The report's cut-off in words: "Data registreret før 1. december 2021" or "alle data"."""
    if as_of is None:
        return "Alle data (ingen skæringsdato)"
    at = dt.datetime.fromisoformat(as_of)
    day = f"{at.day}. {MONTHS[at.month - 1]} {at.year}"
    clock = "" if (at.hour, at.minute, at.second) == (0, 0, 0) else f" kl. {at:%H:%M}"
    return f"Data registreret før {day}{clock}"
