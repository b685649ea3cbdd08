"""The ASGI app of ``puljemonitor serve``: Starlette routes over :class:`~.figures.Figures`.

Every handler resolves the caller's role first (:mod:`.access`): no token is anonymous, a
malformed, unknown or revoked token is 401 on every endpoint (so a client notices a
revocation). Work that reads the source or draws a page runs in a worker thread, so the
event loop keeps serving the change stream. Errors are JSON ``{"status", "error"}``, never
a 500 for bad input. Denials are logged with role and path; a path is logged as its route's
template (:func:`logged_path`), so no pseudonym, and no token, ever reaches a log line
(uvicorn's own access log is off: it would print whatever path a caller asked for).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import swagger_ui_bundle
from anyio import to_thread
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from puljemonitor.server import dashboard, shapes
from puljemonitor.server import period_shapes as ps
from puljemonitor.server.access import ANONYMOUS, InvalidToken, Role, Tokens
from puljemonitor.server.figures import VIEWS, Figures, Forbidden, Invalid, NotFound
from puljemonitor.server.hub import Hub
from puljemonitor.server.openapi import Endpoint, Param, document
from puljemonitor.server.source import FiguresSource, pool_months
from schemas.calendar import Month, parse_month
from schemas.pools import PeriodPool, Pool, Rules
from schemas.reference import Participant

log = logging.getLogger("puljemonitor.serve")

API = "/api/v1"
MAX_QUERY = 1024  # bytes: every parameter of this API fits in far less
MAX_PATH = 512
PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOGGED_PARAMS = {"pool": re.compile(r"[a-z_]{1,32}"), "month": re.compile(r"\d{4}-\d{2}"), "code": re.compile(r"\d{3}")}
STATIC = Path(__file__).with_name("static")


class Problem(Exception):
    def __init__(self, status: int, error: str) -> None:
        self.status, self.error = status, error


def logged_path(scope) -> str:
    """A request's path as a log line may show it: the route's template with only the values
    that match a strict pattern filled in (pool, month, municipality code). A pseudonym, a
    participant name or anything a caller typed elsewhere in the path never reaches the log."""
    route = scope.get("route")
    if route is None:
        return "(no route)"
    template = route.path if isinstance(route, Route) else f"{route.path}/…"
    for name, value in scope.get("path_params", {}).items():
        pattern = LOGGED_PARAMS.get(name)
        if pattern is not None and isinstance(value, str) and pattern.fullmatch(value):
            template = template.replace(f"{{{name}}}", value)
    return template


def json(value, status: int = 200, headers: dict | None = None) -> Response:
    return Response(msgspec.json.encode(value), status, headers=headers, media_type="application/json")


def error(status: int, text: str, headers: dict | None = None) -> Response:
    return json(shapes.Error(status=status, error=text), status, headers)


# -- parameters --------------------------------------------------------------------------
P_POOL = Param("pool", "path", "Pool name: afklaringspuljen, or bir (measured over periods, spec §7)", enum=None)
P_MONTH = Param("month", "path", "Report month, YYYY-MM, within the pool's months", pattern=r"^\d{4}-\d{2}$")
P_CODE = Param("code", "path", "Three-digit municipality code", pattern=r"^\d{3}$")
P_PARTICIPANT = Param(
    "participant", "path", "Participant name or one of its municipality codes (Tårnby/Dragør: 185 or 155)"
)
P_PSEUDONYM = Param("pseudonym", "path", "The citizen's pseudonym", pattern=PSEUDONYM.pattern)
Q_VIEW = Param("view", "query", "now (every event) or published (as STAR published the month)", False, VIEWS)
Q_FRIKORT = Param(
    "count_social_frikort", "query", "Rule variant: social frikort hours count as income", False, ("false", "true")
)
Q_MONTH = Param("month", "query", "The month, YYYY-MM", True, pattern=r"^\d{4}-\d{2}$")
Q_UNTIL = Param("until", "query", "Last month of the series, YYYY-MM", True, pattern=r"^\d{4}-\d{2}$")


def _view(request: Request) -> str:
    view = request.query_params.get("view", "now")
    if view not in VIEWS:
        raise Problem(400, f"view must be one of: {', '.join(VIEWS)}")
    return view


def _rules(request: Request) -> Rules:
    value = request.query_params.get("count_social_frikort", "false")
    if value not in ("true", "false"):
        raise Problem(400, "count_social_frikort must be true or false")
    return Rules(count_social_frikort=value == "true")


def _query_month(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None:
        raise Problem(400, f"the query parameter {name}=YYYY-MM is required")
    return value


class Server:
    """The app's state: the source, the answers, the tokens and the change hub."""

    def __init__(self, source: FiguresSource, tokens: Tokens, default_month: str = "2021-09") -> None:
        self.source = source
        self.figures = Figures(source)
        self.tokens = tokens
        self.hub = Hub(self.figures)
        self.default_month = default_month

    # -- the caller ----------------------------------------------------------------------
    def role(self, request: Request) -> Role:
        try:
            role = self.tokens.role(request.headers.get("authorization"))
        except InvalidToken as why:
            request.state.role = f"invalid token ({why})"
            raise Problem(401, "invalid token: malformed, unknown or revoked") from None
        request.state.role = str(role)
        return role

    def need_ready(self) -> None:
        if not self.source.ready():
            raise Problem(503, "still replaying the log; see /readyz")

    async def run(self, fn, *args):
        return await to_thread.run_sync(fn, *args)

    async def answer(self, fn, *args) -> Response:
        """``fn(*args)`` as JSON, encoded once per source version and arguments (the role among
        them): a repeated question is answered from the event loop without a thread."""
        key = ("json", fn.__name__, *(a.name if isinstance(a, Pool | PeriodPool | Participant) else a for a in args))
        body = self.figures.peek(key)
        if body is None:
            body = await self.run(self.figures.cached, key, lambda: msgspec.json.encode(fn(*args)))
        return Response(body, media_type="application/json")

    # -- endpoints -----------------------------------------------------------------------
    async def pools(self, request: Request) -> Response:
        self.role(request)
        return json(self.figures.pools_info())

    async def report(self, request: Request) -> Response:
        role = self.role(request)
        self.need_ready()
        f = self.figures
        pool = f.pool(request.path_params["pool"])
        month, view, rules = f.month(pool, request.path_params["month"]), _view(request), _rules(request)
        return await self.answer(f.report, pool, month, view, rules, role)

    async def municipality(self, request: Request) -> Response:
        role = self.role(request)
        self.need_ready()
        f = self.figures
        pool = f.pool(request.path_params["pool"])
        month, view, rules = f.month(pool, request.path_params["month"]), _view(request), _rules(request)
        code = request.path_params["code"]
        return await self.answer(f.municipality_figures, pool, month, code, view, rules, role)

    async def participant(self, request: Request) -> Response:
        role = self.role(request)
        self.need_ready()
        f = self.figures
        pool = f.pool(request.path_params["pool"])
        month, view, rules = f.month(pool, request.path_params["month"]), _view(request), _rules(request)
        p = f.participant(pool, request.path_params["participant"])
        return await self.answer(f.participant_figures, pool, month, p, view, rules, role)

    async def series(self, request: Request) -> Response:
        role = self.role(request)
        self.need_ready()
        f = self.figures
        pool = f.pool(request.path_params["pool"])
        p = f.participant(pool, request.path_params["participant"])
        until, view, rules = f.month(pool, _query_month(request, "until")), _view(request), _rules(request)
        return await self.answer(f.series, pool, p, until, view, rules, role)

    def _citizen_role(self, request: Request) -> Role:
        role = self.role(request)
        if role.anonymous:
            raise Problem(401, "a municipality or star token is required for citizens")
        return role

    async def citizens(self, request: Request) -> Response:
        role = self._citizen_role(request)
        self.need_ready()
        f = self.figures
        pool = f.pool(request.path_params["pool"])
        month, rules = f.month(pool, _query_month(request, "month")), _rules(request)
        return await self.answer(f.citizens, pool, request.path_params["code"], month, rules, role)

    async def citizen(self, request: Request) -> Response:
        role = self._citizen_role(request)
        self.need_ready()
        f = self.figures
        pool = f.pool(request.path_params["pool"])
        month, rules = f.month(pool, _query_month(request, "month")), _rules(request)
        code, pseudonym = request.path_params["code"], request.path_params["pseudonym"]
        f.municipality(code)
        if not role.owns(code):
            raise Forbidden(f"this token does not cover municipality {code}")
        if not PSEUDONYM.match(pseudonym):
            raise NotFound("no such citizen in this municipality")  # it cannot exist: the same answer
        return json(await self.run(f.citizen, pool, code, pseudonym, month, rules, role))

    async def changes(self, request: Request) -> Response:
        role = self.role(request)
        last = request.headers.get("last-event-id")
        return EventSourceResponse(self.hub.events(role, last), ping=15, headers={"Cache-Control": "no-store"})

    async def openapi(self, request: Request) -> Response:
        return json(document(ENDPOINTS, "puljemonitor", "1"))

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(dashboard.docs_page(f"{API}/openapi.json"))

    async def healthz(self, request: Request) -> Response:
        return json(shapes.Health(status="ok", version=self.source.version, subscribers=self.hub.subscribers,
                                  input=self.source.counts()))  # fmt: skip

    async def readyz(self, request: Request) -> Response:
        ready = self.source.ready()
        return json(
            {"status": "ready" if ready else "replaying", "version": self.source.version}, 200 if ready else 503
        )

    # -- the dashboard -------------------------------------------------------------------
    def _selection(self, request: Request, role: Role, page: bool = False):
        f = self.figures
        q = request.query_params
        pool = f.pool(q.get("pool", "afklaringspuljen"))
        month = f.month(pool, q["month"]) if "month" in q else self._default_month(pool)
        view = _view(request)
        participant = f.dashboard_participant(pool, q["participant"]) if q.get("participant") else None
        exact = q.get("unsuppressed") == "1" and not page  # the first page is public; the script asks with a token
        if exact and role.anonymous:
            raise Problem(401, "own figures without suppression need a municipality or star token")
        if exact and (participant is None or not role.owns_all(participant.codes)):
            raise Forbidden("own figures without suppression need a token of every code of the chosen participant")
        return pool, month, view, participant, exact

    def _default_month(self, pool: Pool | PeriodPool) -> Month:
        """``--month``, or the nearest month of ``pool`` when it has no such month (choosing BIR
        on a dashboard opened on a first-pool month after BIR's last must still show BIR)."""
        try:
            month = parse_month(self.default_month)
        except ValueError as error:
            raise Invalid(f"--month: {error}") from None
        months = pool_months(pool)
        return min(max(month, months[0]), months[-1])

    async def home(self, request: Request) -> Response:
        self.role(request)
        self.need_ready()
        pool, month, view, participant, _ = self._selection(request, ANONYMOUS, page=True)
        page = await self.run(self.figures.page, pool, month, view, participant, False)
        choices = await self.run(self.figures.participants, pool, month, view)
        shell = dashboard.shell(page, pool, month, view, participant, choices, self.source.version)
        return HTMLResponse(shell, headers=dashboard.HEADERS)

    async def dashboard_report(self, request: Request) -> Response:
        role = self.role(request)
        self.need_ready()
        pool, month, view, participant, exact = self._selection(request, role)
        page = await self.run(self.figures.page, pool, month, view, participant, exact)
        return HTMLResponse(page, headers={**dashboard.HEADERS, "X-Figures-Version": str(self.source.version)})


def _endpoints() -> list[Endpoint]:
    pool_month = (P_POOL, P_MONTH, Q_VIEW, Q_FRIKORT)
    return [
        Endpoint(f"{API}/pools", "pools", "Configured pools, their months and participants", list[shapes.PoolInfo]),
        Endpoint(f"{API}/pools/{{pool}}/reports/{{month}}", "report",
                 "The report of a month (spec §6; BIR: spec §7, the period ending in the month), disclosed for "
                 "the caller", (shapes.ShownReport, ps.ShownPeriodReport), pool_month),
        Endpoint(f"{API}/pools/{{pool}}/reports/{{month}}/municipalities/{{code}}", "municipality",
                 "A municipality's aggregate in a month (BIR: period aggregate and course indicators)",
                 (shapes.MunicipalityFigures, ps.PeriodMunicipalityFigures), (*pool_month, P_CODE)),
        Endpoint(f"{API}/pools/{{pool}}/reports/{{month}}/participants/{{participant}}", "participant",
                 "A participant's aggregate, verdict and best month (BIR: 404, its participants are its "
                 "municipalities)", shapes.ShownParticipant, (*pool_month, P_PARTICIPANT)),
        Endpoint(f"{API}/pools/{{pool}}/participants/{{participant}}/series", "series",
                 "A participant's aggregate month by month up to a month (BIR: 404)", shapes.Series,
                 (P_POOL, P_PARTICIPANT, Q_UNTIL, Q_VIEW, Q_FRIKORT)),
        Endpoint(f"{API}/pools/{{pool}}/municipalities/{{code}}/citizens", "citizens",
                 "The municipality's citizens: statuses per month (BIR: period category, duration band, without "
                 "company) and the events that decided them (audit)",
                 (shapes.Citizens, ps.PeriodCitizens), (P_POOL, P_CODE, Q_MONTH, Q_FRIKORT), token="required"),
        Endpoint(f"{API}/pools/{{pool}}/municipalities/{{code}}/citizens/{{pseudonym}}", "citizen",
                 "One citizen of the municipality (another municipality's answers as one that does not exist)",
                 (shapes.CitizenDetail, ps.PeriodCitizenDetail), (P_POOL, P_CODE, P_PSEUDONYM, Q_MONTH, Q_FRIKORT),
                 token="required"),
        Endpoint(f"{API}/changes", "changes",
                 "Server-Sent Events: every change of a figure (now view), disclosed for the caller (BIR: "
                 "`aggregate` and `indicators`; a citizen's `rows` instead of `statuses`); "
                 "event ids resume with Last-Event-ID; a `reset` event when they cannot", None,
                 media="text/event-stream"),
        Endpoint("/healthz", "healthz", "Alive: version, subscribers, input accounting", shapes.Health),
        Endpoint("/readyz", "readyz", "Ready: caught up with the log (503 while replaying)", None,
                 statuses={503: "Still replaying"}),
    ]  # fmt: skip


ENDPOINTS = _endpoints()


class Guard:
    """Pure ASGI middleware (streams pass through untouched): refuses oversized requests,
    logs every request as method, redacted path, status, role and time, and every denial."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if len(scope.get("query_string", b"")) > MAX_QUERY or len(path) > MAX_PATH:
            response = error(414, f"request too long: at most {MAX_QUERY} bytes of query and {MAX_PATH} of path")
            log.warning("denied 414 role=- path=(not routed)")
            return await response(scope, receive, send)
        start = time.monotonic()
        status = {}

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            code = status.get("code", 0)
            role = scope.get("state", {}).get("role", "anonymous")
            shown = logged_path(scope)
            if code in (401, 403):
                log.warning("denied %d role=%s path=%s", code, role, shown)
            log.info(
                "%s %s %d role=%s %.1f ms", scope.get("method"), shown, code, role, (time.monotonic() - start) * 1000
            )


def create_app(
    source: FiguresSource,
    tokens: Tokens,
    default_month: str = "2021-09",
    load: bool = True,
    on_fatal: Callable[[str], None] | None = None,
) -> Guard:
    """The app; its lifespan replays the source (unless already loaded) and starts following it.
    ``on_fatal(reason)`` is called when the replay fails (the command stops the server with it)."""
    s = Server(source, tokens, default_month)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        s.hub.attach(asyncio.get_running_loop())
        background = asyncio.create_task(prepare())
        try:
            yield
        finally:
            background.cancel()
            await to_thread.run_sync(source.close)

    async def prepare() -> None:
        """Replay (while /healthz answers and /readyz says 503), follow, then draw the
        dashboard's first page so the first visitor does not wait for matplotlib."""
        if load:
            try:
                await to_thread.run_sync(source.load)
            except Exception as why:  # e.g. a corrupt gzip: say so once; /readyz stays 503
                if on_fatal is not None:
                    on_fatal(str(why))
                else:
                    log.error("cannot replay the log: %s", why)
                return
        source.start()
        try:
            pool = s.figures.pool("afklaringspuljen")
            await to_thread.run_sync(s.figures.page, pool, s.figures.month(pool, default_month), "now", None, False)
        except Exception:  # only a warm-up: the page is drawn on demand anyway
            log.exception("could not draw the dashboard's first page ahead")

    async def problem(request: Request, exc: Problem) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="puljemonitor"'} if exc.status == 401 else None
        return error(exc.status, exc.error, headers)

    async def not_found(request: Request, exc: NotFound) -> Response:
        return error(404, str(exc))

    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return error(403, str(exc))

    async def invalid(request: Request, exc: Invalid) -> Response:
        return error(400, str(exc))

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error(exc.status_code, exc.detail if exc.status_code != 404 else "no such endpoint")

    routes = [
        Route("/", s.home),
        Route("/dashboard/report", s.dashboard_report),
        Route(f"{API}/pools", s.pools),
        Route(f"{API}/pools/{{pool}}/reports/{{month}}", s.report),
        Route(f"{API}/pools/{{pool}}/reports/{{month}}/municipalities/{{code}}", s.municipality),
        Route(f"{API}/pools/{{pool}}/reports/{{month}}/participants/{{participant}}", s.participant),
        Route(f"{API}/pools/{{pool}}/participants/{{participant}}/series", s.series),
        Route(f"{API}/pools/{{pool}}/municipalities/{{code}}/citizens", s.citizens),
        Route(f"{API}/pools/{{pool}}/municipalities/{{code}}/citizens/{{pseudonym}}", s.citizen),
        Route(f"{API}/changes", s.changes),
        Route(f"{API}/openapi.json", s.openapi),
        Route("/api/docs", s.docs),
        Route("/healthz", s.healthz),
        Route("/readyz", s.readyz),
        Mount("/static", StaticFiles(directory=STATIC)),
        Mount("/api/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            Problem: problem,
            NotFound: not_found,
            Forbidden: forbidden,
            Invalid: invalid,
            HTTPException: http_error,
        },
    )
    app.state.server = s
    return Guard(app)
