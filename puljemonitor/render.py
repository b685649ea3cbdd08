"""Reports as tables for people, in STAR's own words (seed 000)."""

from __future__ import annotations

import tabulate as _tabulate
from tabulate import tabulate

from projections.audit import Audit
from schemas.reference import municipalities
from schemas.reports import Aggregate, Report
from schemas.statuses import CATEGORIES, GROUPS

_tabulate.PRESERVE_WHITESPACE = True  # keep the indentation that shows groups and categories


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def _of(count: int, agg: Aggregate) -> str:
    return _pct(count / agg.measured if agg.measured else None)


def overview(title: str, agg: Aggregate) -> str:
    """The report's overview box: target group, exemptions, result and its distribution."""
    rows = [
        ["Borgere i projektet i alt", agg.enrolled, "100 %"],
        ["Heraf fritaget", agg.exempt, _pct(agg.exempt / agg.enrolled if agg.enrolled else None)],
        ["Målt (uden fritagelse)", agg.measured, ""],
        ["Resultatkrav opfyldt af", agg.positive, _pct(agg.share)],
    ]
    rows += [
        [f"  {label}", getattr(agg.groups, key), _of(getattr(agg.groups, key), agg)] for key, label in GROUPS.items()
    ]
    rows += [
        [f"    {c.label}", getattr(agg.categories, c.name), _of(getattr(agg.categories, c.name), agg)]
        for c in CATEGORIES
    ]
    return f"{title}\n" + tabulate(rows, headers=["", "Antal", "Andel"], colalign=("left", "right", "right"))


def report_table(report: Report) -> str:
    """The whole report: overview for the project and the nation, then one row per participant."""
    cut = f"data registreret før {report.as_of}" if report.as_of else "alle data"
    flag = " (socialt frikort medregnet)" if report.rules.count_social_frikort else ""
    head = f"{report.pool} — {report.month} — {cut}{flag}"
    rows = []
    for name, p in report.participants.items():
        a = p.aggregate
        rows.append([
            name, a.enrolled, a.exempt, a.measured, a.positive, _pct(a.share),
            {True: "ja", False: "nej", None: "–"}[a.requirement_met],
            p.best_month or "–", _pct(p.best_share), "ja" if p.achieved else "nej",
        ])  # fmt: skip
    participants = tabulate(
        rows,
        headers=[
            "Deltager",
            "I alt",
            "Fritaget",
            "Målt",
            "Positive",
            "Andel",
            "Krav",
            "Bedste md.",
            "Bedste",
            "Opnået",
        ],
    )
    i = report.input
    return "\n\n".join([
        head,
        overview("Projektkommuner i alt", report.project),
        overview("Hele landet", report.national),
        participants,
        f"Opnået resultatkravet: {report.achieved_count} af {report.participant_count} deltagere",
        f"Input: {i.lines} linjer — {i.applied} anvendt, {i.duplicates} dubletter, {i.rejected} afvist",
    ])  # fmt: skip


def municipality_name(code: str) -> str:
    return municipalities().get(code, code)


def audit_table(result: Audit) -> str:
    """Per municipality: the published and current share, then each citizen whose status changed."""
    parts = [f"{result.pool} — {result.month}: som offentliggjort (data før {result.published_as_of}) mod nu"]
    rows = []
    for code, m in result.municipalities.items():
        rows.append([code, municipality_name(code), m.published.positive, m.published.measured, _pct(m.published.share),
                     m.now.positive, m.now.measured, _pct(m.now.share), len(m.changes)])  # fmt: skip
    parts.append(
        tabulate(
            rows,
            headers=[
                "Kode",
                "Kommune",
                "Pos. (off.)",
                "Målt (off.)",
                "Andel (off.)",
                "Pos. (nu)",
                "Målt (nu)",
                "Andel (nu)",
                "Ændrede borgere",
            ],
            disable_numparse=True,
        )
    )
    for code, m in result.municipalities.items():
        for change in m.changes:
            why = "; ".join(
                f"{e['type']} {e.get('at') or e.get('month') or e.get('event')} (registreret {e['recorded']})"
                for e in change.events
            )
            parts.append(f"{code} {change.citizen}: {change.published} → {change.now}: {why or 'ingen sene hændelser'}")
    return "\n\n".join(parts[:2]) + ("\n\n" + "\n".join(parts[2:]) if parts[2:] else "")
