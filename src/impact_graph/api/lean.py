"""The lean path: /cypher and /sparql (GET and POST) answered before FastAPI's routing
and, where it can stand in for it, before its middleware stack.

Why: a researcher's Cypher lookup takes ~0.6 ms in the database, and issue 5 allows the
endpoint 1.3x of that. FastAPI's way to a handler -- trying routes in turn, its request
handler (endpoint context, dependency solving, the read-key dependency through two
security schemes, the response checks) -- cost about as much CPU per request as the
handler itself (measured with ``bench/query.py`` and a server-CPU-per-request count).
These routes need none of it: the POST routes read their own body and declare no
parameters FastAPI validates for them (POST /sparql's ``format`` is any string); the GET
routes declare only query-string parameters, which are plain text here but for a length
limit and two numbers. All answer a ready-made `Response`.

What stays the same, by construction rather than by copy:

* The handlers are the routes' own (`cypher.post_answer`, `sparql.post_answer`, the GET
  route function `cypher.cypher_get` itself, and `sparql.get_answer`, the GET /sparql
  route's checks and answer on the event loop); the routes stay declared, so the
  OpenAPI document, ``/docs`` and schemathesis see them.
* A GET is answered here only when FastAPI's validation of its query string could not
  fail: ``query`` within the route's ``max_length`` and ``timeout_s``/``row_cap`` (GET
  /cypher) absent or plain decimal numbers. Anything else (a query too long, ``row_cap=
  2.5``, ``timeout_s=1e3``) goes on to the route, so FastAPI's own 422 answers it. The
  values are read as FastAPI reads them (the last of a repeated name; an absent
  ``shape`` is ``arrays``). GET /sparql is answered on the event loop by
  `sparql.get_answer` (what the synchronous route answers, without its worker thread).
* The read key is checked first, as the router dependency does, by
  `impact_graph.api.auth.check_read_key` (the same schemes and `KeyChecker`).
* `LeanFastAPI` answers these requests before the middleware stack, inside the layers
  of it that act on them, rebuilt from the app's own: ``ServerErrorMiddleware`` with the
  app's 500 handler, the app's middleware (CORS, `problems.TooLargeAsProblem`) and
  ``ExceptionMiddleware`` with its exception handlers. Where it cannot stand in for the
  stack (native telemetry on, a middleware or layer it does not know), `LeanQueries`
  answers them inside the whole stack, where FastAPI's router sits. Either way a
  `ProblemError` (bad query, write refused, timeout, row-limit option, missing or wrong
  key, 413, 415, ...) or a store error reaches the app's own exception handlers and is
  answered with exactly the problem+json the route gives, with the same headers (CORS
  too), and an unexpected error with the app's 500 (``tests/test_lean_path.py``
  compares both byte for byte).

Every other method and path (HEAD, ``/cypher/``, ``/queries`` and the rest) goes
through the whole stack to FastAPI's router unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette._utils import get_route_path
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware

from impact_graph.api.auth import check_read_key
from impact_graph.api.problems import TooLargeAsProblem
from impact_graph.api.routers import cypher, sparql
from impact_graph.queries.guard import MAX_CYPHER_CHARS
from impact_graph.rdf.sparql import MAX_QUERY_CHARS

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


async def _sparql(request: Request) -> Response:
    fmt = request.query_params.get("format") if request.scope["query_string"] else None
    return await sparql.post_answer(request, fmt)


#: Numbers that pydantic reads exactly as ``int()``/``float()`` do: no exponent, sign
#: other than a minus, underscore, blank, leading zero, ``inf`` or ``nan``; at most 18
#: digits a part.
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,18})?")


def _plain(value: str | None, pattern: re.Pattern[str]) -> bool:
    return value is None or pattern.fullmatch(value) is not None


async def _cypher_get(request: Request) -> Response | None:
    """GET /cypher (also ``.json``/``.csv``) by its route function, or None when FastAPI's
    validation of the query string might refuse it (the route then answers)."""
    url = request.query_params
    query, timeout_s, row_cap = url.get("query"), url.get("timeout_s"), url.get("row_cap")
    if query is not None and len(query) > MAX_CYPHER_CHARS:
        return None
    if not (_plain(timeout_s, _FLOAT) and _plain(row_cap, _INT)):
        return None
    shape = url.get("shape")
    return await cypher.cypher_get(
        request,
        query=query,
        params=url.get("params"),
        fmt=url.get("format"),
        shape="arrays" if shape is None else shape,
        timeout_s=None if timeout_s is None else float(timeout_s),
        row_cap=None if row_cap is None else int(row_cap),
    )


async def _sparql_get(request: Request) -> Response | None:
    """GET /sparql answered on the event loop (`sparql.get_answer`: the route's checks and
    answer, waiting for the query worker without a thread hop), or None when ``query`` is
    past the route's ``max_length``."""
    url = request.query_params
    query = url.get("query")
    if query is not None and len(query) > MAX_QUERY_CHARS:
        return None
    return await sparql.get_answer(request, query, url.get("format"))


#: POST paths served here, and their handler.
HANDLERS: dict[str, Callable[[Request], Awaitable[Response]]] = {
    "/cypher": cypher.post_answer,
    "/cypher.json": cypher.post_answer,
    "/cypher.csv": cypher.post_answer,
    "/sparql": _sparql,
}

#: GET paths served here, and their handler (None from it: the route answers).
GET_HANDLERS: dict[str, Callable[[Request], Awaitable[Response | None]]] = {
    "/cypher": _cypher_get,
    "/cypher.json": _cypher_get,
    "/cypher.csv": _cypher_get,
    "/sparql": _sparql_get,
}


async def answer(scope: Any, receive: Any, send: Any) -> bool:
    """Answer ``request`` by the lean path when it is one of its own (POST to a path of
    `HANDLERS`, GET to one of `GET_HANDLERS` that its handler takes); False when the
    route must answer it (nothing has been sent then). The read key is checked first, as
    the router dependency does; a refusal or failure is raised for the exception handlers
    around the caller."""
    request = Request(scope, receive, send)
    method = scope["method"]
    if method == "POST":
        handler = HANDLERS.get(get_route_path(scope))
        if handler is None:
            return False
        await check_read_key(request)
        response = await handler(request)
    elif method == "GET":
        get_handler = GET_HANDLERS.get(get_route_path(scope))
        if get_handler is None:
            return False
        await check_read_key(request)  # before the parameters, as FastAPI does
        answered = await get_handler(request)
        if answered is None:
            return False
        response = answered
    else:
        return False
    await response(scope, receive, send)
    return True


def takes(scope: Any) -> bool:
    """Whether ``scope`` is a request the lean path may answer (its method and path; a
    GET handler may still leave it to the route)."""
    method = scope["method"]
    if method == "POST":
        return get_route_path(scope) in HANDLERS
    return method == "GET" and get_route_path(scope) in GET_HANDLERS


class LeanQueries:
    """ASGI app in front of the router: POST to a path of `HANDLERS` and GET to one of
    `GET_HANDLERS` are answered here, everything else is passed on to ``app``.

    Inside the whole middleware stack: `LeanFastAPI` answers these requests before the
    stack, and leaves them to this only when it cannot stand in for the stack (native
    telemetry on, or a middleware it does not know; see `LeanFastAPI.front`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and takes(scope) and await answer(scope, receive, send):
            return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Put `LeanQueries` in front of ``app``'s router (inside its middleware and its
    exception handlers: Starlette's router runs its own ``middleware_stack``)."""
    router = app.router
    if not isinstance(router.middleware_stack, LeanQueries):
        router.middleware_stack = LeanQueries(router.middleware_stack)


#: Middleware `LeanFastAPI` rebuilds around the lean path: stateless, so a second
#: instance with the same options answers as the stack's does. Any other middleware turns
#: the front off (a rate limiter, say, must count every request in one place).
FRONT_MIDDLEWARE: frozenset[type] = frozenset({CORSMiddleware, TooLargeAsProblem})


#: The layers FastAPI 0.165 builds around the app's own middleware; the front stands in
#: for these (ServerError and Exception: rebuilt; the rest pass these requests on).
STACK_LAYERS = frozenset(
    {
        "ServerErrorMiddleware",
        "ExceptionTelemetryMiddleware",
        "AppBodyLimitMiddleware",
        "ExceptionMiddleware",
        "AsyncExitStackMiddleware",
    }
)


class LeanFastAPI(FastAPI):
    """The FastAPI app, with the lean path answered before its middleware stack.

    Why: for these requests most layers of FastAPI's stack only pass the messages on.
    What it saves is small, measured (H25; 20k nodes, lookups, uvicorn and ``http.client``
    as ``bench/query.py`` runs them, front and whole stack toggled call by call in a
    shuffled order, 1,500 calls each, load 3-7): 0.014-0.017 ms of server CPU per call
    (POST /cypher 0.497 against 0.514 ms, GET /sparql 0.523 against 0.537; p50 0.985x
    and 0.994x); in-process, on a lean handler answering at once, 16 against 21 us per
    call (the whole stack: 11-17 us). Answering with no layer at all would save ~0.05 ms
    (separate run: 0.413 against 0.466 ms), but the layers kept -- FastAPI's telemetry
    check (3.5 us in-process), the exception layers, CORS -- are what make the answers
    the stack's. The HTTP cost of /cypher is the HTTP floor (``http.client`` 0.19-0.24
    and uvicorn 0.10-0.13 ms CPU per call on a bare ASGI no-op), not this stack.

    For a request the lean path takes (`takes`), `__call__` runs `front`: the layers
    that act on it, built once from the app's own settings -- ``ServerErrorMiddleware``
    with the app's 500 handler, the app's own middleware (CORS, `TooLargeAsProblem`, in
    their order and with their options) and ``ExceptionMiddleware`` with the app's
    exception handlers -- around `answer`. So headers, CORS, problem+json answers and the
    500 of an unexpected error are those of the stack, by construction. Left out are the
    layers that do nothing for these requests: FastAPI's exception telemetry (the front is
    not used while native telemetry is on), its app body limit (not used when
    ``max_body_size`` is set), its ``AsyncExitStackMiddleware`` (closes files of FastAPI's
    own form parsing, which the lean handlers do not use) and the router. A GET its
    handler leaves to the route (``query`` too long, ``row_cap=2.5``) goes on, inside the
    front, to the router and its route; every other request goes to the whole stack.
    """

    #: False sends every request through the whole stack (`LeanQueries` inside the
    #: router still answers the lean path there): the reference for measurements.
    lean_front: bool = True
    _front: ASGIApp | None = None
    _front_built: bool = False

    def front(self) -> ASGIApp | None:
        """The front stack (built on first use), or None when it cannot stand in for the
        app's stack: debug tracebacks, an app body limit, a middleware not in
        `FRONT_MIDDLEWARE`, or a stack layer not in `STACK_LAYERS`."""
        if not self._front_built:
            self._front_built = True
            self._front = self._build_front()
        return self._front

    def _build_front(self) -> ASGIApp | None:
        if self.debug or getattr(self, "max_body_size", None) is not None:
            return None
        if any(m.cls not in FRONT_MIDDLEWARE for m in self.user_middleware):
            return None
        if self.middleware_stack is None:  # as the first request does: no more add_middleware
            self.middleware_stack = self.build_middleware_stack()
        layer: Any = self.middleware_stack
        while layer is not self.router:  # a layer FastAPI adds in a later version: no front
            if type(layer).__name__ not in STACK_LAYERS and type(layer) not in FRONT_MIDDLEWARE:
                return None
            layer = getattr(layer, "app", None)
            if layer is None:
                return None
        router_stack = self.router.middleware_stack
        route = router_stack.app if isinstance(router_stack, LeanQueries) else router_stack
        to_route = AsyncExitStackMiddleware(route)

        async def endpoint(scope: Any, receive: Any, send: Any) -> None:
            if not await answer(scope, receive, send):
                await to_route(scope, receive, send)

        error_handler = None
        handlers: dict[Any, Any] = {}
        for key, value in self.exception_handlers.items():  # as build_middleware_stack
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        app: ASGIApp = ExceptionMiddleware(endpoint, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.root_path:  # as FastAPI.__call__, before the path is read
            scope["root_path"] = self.root_path
        if scope["type"] == "http" and self.lean_front and takes(scope):
            telemetry = getattr(self, "_native_telemetry", None)
            front = self.front()
            if (
                front is not None
                and "fastapi.telemetry" not in scope
                and not (telemetry is not None and telemetry.enabled())
            ):
                scope["app"] = self
                await front(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
