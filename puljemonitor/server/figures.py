"""Every answer of the server, computed from a :class:`~.source.FiguresSource` by the CLI's own
functions: :func:`~projections.reports.build_report` (through :class:`~puljemonitor.replay.Reports`),
:func:`~projections.audit.audit`, :func:`~projections.disclosure.disclose` and the HTML report of
:mod:`puljemonitor.html`. Nothing here computes a figure a second way; it chooses, per caller,
which of the computed cells to hide (spec §9), and caches answers per source version. BIR's
answers (spec §7) are in :mod:`.period_figures`, which this module's methods call for it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import msgspec

from projections.aggregates import Tallies, aggregate
from projections.disclosure import disclose, undisclosed
from projections.months import statuses
from projections.reports import history_months, monthly_aggregates, participant_result, published_cutoff
from puljemonitor.html import render_html, render_period_html
from puljemonitor.replay import Reports
from puljemonitor.server import period_figures, shapes
from puljemonitor.server.access import Role
from puljemonitor.server.citizens import listed
from puljemonitor.server.source import Change, FiguresSource, pool_months
from schemas import pools, reference
from schemas.calendar import Month, format_month, parse_month
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reference import Participant
from schemas.reports import Aggregate, InputCounts, Report

VIEWS = ("now", "published")
CACHED_ANSWERS = 512
CACHED_BYTES = 128 << 20  # encoded answers and pages: a bound in bytes too (a citizens list is ~1.4 MB)
_render_lock = threading.Lock()  # matplotlib's pyplot keeps global state: one page at a time


class NotFound(Exception):
    """An unknown pool, month, participant, municipality or (for this caller) citizen: 404."""


class Invalid(Exception):
    """A malformed parameter (a month that is not YYYY-MM, an unknown view): 400."""


class Forbidden(Exception):
    """The caller's role does not cover this municipality's citizens or unsuppressed figures: 403."""


def _size(value: object) -> int:
    return len(value) if isinstance(value, bytes | str) else 0


class SourceReports(Reports):
    """The source's counts as the :class:`Reports` the CLI's report and HTML functions take."""

    def __init__(self, source: FiguresSource) -> None:
        self.source = source

    @property
    def counts(self) -> InputCounts:  # type: ignore[override]
        return self.source.counts()

    def tallies(self, pool: Pool, months: list[Month], rules: Rules, as_of: dt.datetime | None) -> Tallies:
        return self.source.tallies(pool, rules, as_of)


class Figures:
    """The answers to every endpoint, for a caller's role, cached per source version."""

    def __init__(self, source: FiguresSource, min_cell: int | None = None) -> None:
        self.source = source
        self.reports = SourceReports(source)
        self.min_cell = min_cell if min_cell is not None else pools.configuration().disclosure.min_cell
        self._cache: OrderedDict[Hashable, object] = OrderedDict()
        self._bytes = 0
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self._names = reference.municipalities()

    # -- lookups (404 for anything unknown) ----------------------------------------------
    def pool(self, name: str) -> Pool | PeriodPool:
        found = served_pools().get(name)
        if found is None:
            raise NotFound(f"unknown pool {name!r}; configured: {', '.join(served_pools())}")
        return found

    def month(self, pool: Pool | PeriodPool, text: str) -> Month:
        try:
            month = parse_month(text)
        except ValueError as error:
            raise Invalid(str(error)) from None
        if month not in pool_months(pool):
            raise NotFound(f"{text} is not a month of {pool.label} ({pool.first_month} .. {pool.last_month})")
        return month

    def participant(self, pool: Pool | PeriodPool, name_or_code: str) -> Participant:
        if isinstance(pool, PeriodPool):
            raise NotFound(period_figures.NO_PARTICIPANTS)
        for p in pool.participants:
            if name_or_code.casefold() == p.name.casefold() or name_or_code in p.codes:
                return p
        raise NotFound(f"{name_or_code!r} is not a participant of {pool.label} (name or municipality code)")

    def municipality(self, code: str) -> str:
        name = self._names.get(code)
        if name is None:
            raise NotFound(f"unknown municipality code {code!r}")
        return name

    def as_of(self, pool: Pool | PeriodPool, month: Month, view: str) -> dt.datetime | None:
        if view not in VIEWS:
            raise Invalid(f"view must be one of {', '.join(VIEWS)}")
        return published_cutoff(pool, month) if view == "published" else None

    # -- caching -------------------------------------------------------------------------
    def cached(self, key: Hashable, compute: Callable[[], object]) -> object:
        """``compute()`` once per source version and key; callers asking for a key that is
        being computed wait for it (a page takes a second and a half to draw: a hundred
        dashboards refreshing after one change must not draw it a hundred times)."""
        key = (self.source.version, key)
        while True:
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
                pending = self._pending.get(key)
                mine = pending is None
                if mine:
                    pending = self._pending[key] = threading.Event()
            if mine:
                break
            pending.wait()  # then look again: computed (or failed, and then this caller tries)
        try:
            value = compute()
            with self._lock:
                self._cache[key] = value
                self._bytes += _size(value)
                while len(self._cache) > CACHED_ANSWERS or (self._bytes > CACHED_BYTES and len(self._cache) > 1):
                    self._bytes -= _size(self._cache.popitem(last=False)[1])
            return value
        finally:
            with self._lock:
                del self._pending[key]
            pending.set()

    def peek(self, key: Hashable) -> object | None:
        """A cached answer of this version, or None (cheap: for the event loop itself)."""
        with self._lock:
            return self._cache.get((self.source.version, key))

    def _report(self, pool: Pool, month: Month, rules: Rules, as_of: dt.datetime | None) -> tuple[Report, Tallies]:
        return self.cached(("report", pool.name, month, rules, as_of),
                           lambda: self.reports.report_and_tallies(pool, month, rules, as_of))  # fmt: skip

    # -- disclosure per caller -----------------------------------------------------------
    def _shown(self, agg: Aggregate, exact: bool) -> shapes.ShownAggregate:
        return shapes.shown(undisclosed(agg) if exact else disclose(agg, self.min_cell))

    def _shown_figure(self, pool_name: str, value, exact: bool) -> dict:
        """A changed figure as a subscriber sees it: its aggregate (BIR: and indicators)."""
        if isinstance(value, tuple):
            return period_figures.shown_figure(self, pool_name, value, exact)
        return {"aggregate": msgspec.to_builtins(self._shown(value, exact))}

    def _participant(self, tallies: Tallies, pool: Pool, p: Participant, month: Month, role: Role):
        result = participant_result(tallies, p, pool, month)
        exact = role.owns_all(p.codes)
        best_share = result.best_share
        if not exact and result.best_month is not None:
            best = monthly_aggregates(tallies, pool, p.codes, [parse_month(result.best_month)])[result.best_month]
            if disclose(best, self.min_cell).share_hidden("positive", "measured"):
                best_share = None
        return shapes.ShownParticipant(
            name=p.name,
            codes=list(p.codes),
            aggregate=self._shown(result.aggregate, exact),
            achieved=result.achieved,
            best_month=result.best_month,
            best_share=best_share,
        )

    # -- answers -------------------------------------------------------------------------
    def pools_info(self) -> list[shapes.PoolInfo]:
        return [
            shapes.PoolInfo(name=p.name, label=p.label, first_month=p.first_month, last_month=p.last_month,
                            participants={x.name: list(x.codes) for x in getattr(p, "participants", ())},
                            period_months=p.period_months if isinstance(p, PeriodPool) else None)
            for p in served_pools().values()
        ]  # fmt: skip

    def report(self, pool: Pool | PeriodPool, month: Month, view: str, rules: Rules, role: Role):
        if isinstance(pool, PeriodPool):
            return period_figures.report(self, pool, month, view, rules, role)
        as_of = self.as_of(pool, month, view)
        report, tallies = self._report(pool, month, rules, as_of)
        return shapes.ShownReport(
            pool=report.pool,
            month=report.month,
            view=view,
            as_of=report.as_of,
            rules=report.rules,
            input=report.input,
            project=self._shown(report.project, role.star),
            national=self._shown(report.national, role.star),
            municipalities={c: self._shown(a, role.owns(c)) for c, a in report.municipalities.items()},
            participants={p.name: self._participant(tallies, pool, p, month, role) for p in pool.participants},
            achieved_count=report.achieved_count,
            participant_count=report.participant_count,
        )

    def municipality_figures(
        self, pool: Pool | PeriodPool, month: Month, code: str, view: str, rules: Rules, role: Role
    ):
        if isinstance(pool, PeriodPool):
            return period_figures.municipality_figures(self, pool, month, code, view, rules, role)
        name = self.municipality(code)
        as_of = self.as_of(pool, month, view)
        _, tallies = self._report(pool, month, rules, as_of)
        return shapes.MunicipalityFigures(
            pool=pool.name,
            month=format_month(month),
            view=view,
            as_of=as_of.isoformat() if as_of else None,
            municipality=code,
            name=name,
            aggregate=self._shown(aggregate(tallies.combined([code], month), pool), role.owns(code)),
        )

    def participant_figures(
        self, pool: Pool, month: Month, p: Participant, view: str, rules: Rules, role: Role
    ) -> shapes.ShownParticipant:
        as_of = self.as_of(pool, month, view)
        _, tallies = self._report(pool, month, rules, as_of)
        return self._participant(tallies, pool, p, month, role)

    def series(self, pool: Pool, p: Participant, until: Month, view: str, rules: Rules, role: Role) -> shapes.Series:
        as_of = self.as_of(pool, until, view)
        _, tallies = self._report(pool, until, rules, as_of)
        exact = role.owns_all(p.codes)
        monthly = monthly_aggregates(tallies, pool, p.codes, history_months(pool, until))
        return shapes.Series(
            pool=pool.name,
            participant=p.name,
            codes=list(p.codes),
            view=view,
            as_of=as_of.isoformat() if as_of else None,
            months={m: self._shown(a, exact) for m, a in monthly.items()},
        )

    def citizens(self, pool: Pool | PeriodPool, code: str, month: Month, rules: Rules, role: Role):
        """The municipality's citizens: 401/403 decided by the caller, never by who exists."""
        self.municipality(code)
        if not role.owns(code):
            raise Forbidden(f"this token does not cover municipality {code}")
        return self.cached(("citizens", pool.name, code, month, rules),
                           lambda: self._citizens(pool, code, month, rules, self.source.citizens(pool, code)))  # fmt: skip

    def citizen(self, pool: Pool | PeriodPool, code: str, pseudonym: str, month: Month, rules: Rules, role: Role):
        """One citizen of the municipality; another municipality's answers as one that does not exist."""
        self.municipality(code)
        if not role.owns(code):
            raise Forbidden(f"this token does not cover municipality {code}")
        events = self.source.citizen(pool, code, pseudonym)
        found = self._citizens(pool, code, month, rules, [events] if events else [], detail=True).citizens
        if not found:
            raise NotFound("no such citizen in this municipality")
        return found[0]

    def _citizens(self, pool: Pool | PeriodPool, code: str, month: Month, rules: Rules, candidates, detail=False):
        if isinstance(pool, PeriodPool):
            return period_figures.citizens(self, pool, code, month, rules, candidates, detail)

        def describe(timeline, change, months, here) -> dict:
            row = statuses(timeline, months, rules) if here else {}
            return {
                "status": change.now if change else row[month],
                "statuses": {format_month(m): s for m, s in row.items()},
            }

        cutoff, found = listed(pool, code, month, rules, candidates, detail, describe,
                               (shapes.Citizen, shapes.CitizenDetail))  # fmt: skip
        return shapes.Citizens(
            pool=pool.name,
            municipality=code,
            month=format_month(month),
            published_as_of=cutoff.isoformat(),
            citizens=found,
        )

    def page(
        self, pool: Pool | PeriodPool, month: Month, view: str, participant: Participant | None, exact: bool
    ) -> str:
        """The HTML report (issue 9) of this selection; ``exact`` only when the caller owns the participant."""
        as_of = self.as_of(pool, month, view)
        if isinstance(pool, PeriodPool):  # BIR's page (seed 001); its participant is one municipality
            code = participant.codes[0] if participant else None

            def render_period() -> str:
                report, tallies = period_figures.report_and_tallies(self, pool, month, Rules(), as_of)
                if code is not None and code not in report.municipalities:
                    raise NotFound(f"{code} has no citizens in {pool.label} in {format_month(month)}")
                with _render_lock:
                    return render_period_html(report, tallies, pool, participant=code, unsuppressed=exact)

            return self.cached(("page", pool.name, month, view, code, exact), render_period)

        def render() -> str:
            report, tallies = self._report(pool, month, Rules(), as_of)
            with _render_lock:
                return render_html(report, tallies, pool, participant=participant.name if participant else None,
                                   unsuppressed=exact)  # fmt: skip

        return self.cached(("page", pool.name, month, view, participant.name if participant else None, exact), render)

    def participants(self, pool: Pool | PeriodPool, month: Month, view: str) -> list[Participant]:
        """The dashboard's choice of participant: BIR's are its municipalities in the month."""
        if isinstance(pool, PeriodPool):
            return period_figures.municipalities(self, pool, month, view)
        return list(pool.participants)

    def dashboard_participant(self, pool: Pool | PeriodPool, name_or_code: str) -> Participant:
        """The dashboard's chosen participant: BIR's is one municipality (by its code)."""
        if isinstance(pool, PeriodPool):
            return Participant(name=self.municipality(name_or_code), codes=(name_or_code,))
        return self.participant(pool, name_or_code)

    # -- the change stream ---------------------------------------------------------------
    def changed_figures(self, change: Change) -> list[tuple[str, str, str | None, str, object, frozenset[str]]]:
        """The now view's figures a change touched: (pool, scope, key, month, aggregate (BIR:
        aggregate and indicators), codes it adds up), for :meth:`change_payload` to disclose
        per subscriber."""
        out = []
        for pool_name, keys in change.keys.items():
            if not keys:
                continue
            pool = pools.pool(pool_name)
            if isinstance(pool, PeriodPool):
                out += period_figures.changed_figures(self, pool, keys)
                continue
            tallies = self.source.tallies(pool, Rules(), None)
            project = frozenset(c for p in pool.participants for c in p.codes)
            for month in sorted({m for _, m in keys}):
                codes = sorted({c for c, m in keys if m == month})
                text = format_month(month)
                for code in codes:
                    out.append((pool_name, "municipality", code, text, aggregate(tallies.combined([code], month), pool),
                                frozenset([code])))  # fmt: skip
                for p in pool.participants:
                    if set(p.codes) & set(codes):
                        out.append((pool_name, "participant", p.name, text,
                                    aggregate(tallies.combined(p.codes, month), pool), frozenset(p.codes)))  # fmt: skip
                if project & set(codes):
                    out.append(
                        (pool_name, "project", None, text, aggregate(tallies.combined(project, month), pool), project)
                    )
                present = tallies.municipalities(month)
                out.append(
                    (pool_name, "national", None, text, aggregate(tallies.combined(present, month), pool), frozenset())
                )
        return out

    def change_payload(self, change: Change, figures, role: Role) -> dict:
        """What one subscriber receives of a change: figures disclosed for its role, and only
        the citizens of municipalities it owns."""
        return {
            "version": change.version,
            "input": msgspec.to_builtins(change.counts),
            "figures": [
                {
                    "pool": pool,
                    "scope": scope,
                    "key": key,
                    "month": month,
                    "view": "now",
                    **self._shown_figure(pool, agg, role.star or (bool(codes) and role.owns_all(codes))),
                }
                for pool, scope, key, month, agg, codes in figures
            ],  # fmt: skip
            "citizens": [
                {
                    "pool": c.pool,
                    "municipality": c.municipality,
                    "pseudonym": c.citizen,
                    **_citizen_row(c),
                }
                for c in change.citizens
                if role.owns(c.municipality)
            ],  # fmt: skip
        }


def _citizen_row(c) -> dict:
    """A changed citizen's new row: ``statuses`` per month, for BIR ``rows`` (period status,
    duration band, without company) per month; null when no longer the municipality's."""
    if isinstance(pools.pool(c.pool), PeriodPool):
        rows = None if c.statuses is None else {
            format_month(m): {"status": r[0], "band": r[1], "without_company": r[2]} for m, r in c.statuses.items()
        }  # fmt: skip
        return {"rows": rows}
    return {"statuses": {format_month(m): s for m, s in c.statuses.items()} if c.statuses is not None else None}


def served_pools() -> dict[str, Pool | PeriodPool]:
    """The pools the server answers for: every configured pool, the monthly ones and BIR."""
    return pools.pools()
