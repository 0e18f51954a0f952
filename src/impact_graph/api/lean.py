"""The lean path: /cypher and /sparql (GET and POST) answered before FastAPI's routing.

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
* Where it sits: `LeanFront`, before the app's whole middleware stack, sends the
  answers; every exception its handlers raise (a `ProblemError`: bad query, write
  refused, timeout, row-limit option, missing or wrong key, 413, 415, ...; a store
  error; anything unexpected) is raised again by `LeanQueries` at the router, where the
  route would raise it, so the stack's own layers answer it: the app's exception
  handlers as Starlette looks them up, its 500 problem and log line, FastAPI's
  exception telemetry. Only what those layers do not touch passes them by (see
  `front_may_pass_by`). With CORS origins set the front stays off and `LeanQueries`
  answers inside the stack (CORS changes every answer). ``tests/test_lean_path.py``
  compares both placements with the routes byte for byte.

Why before the stack: issue 5's 1.3x leaves ~0.2-0.3 ms for a lookup's whole HTTP round
trip, and the layers cost CPU on every request. Measured old (inside the stack) against
new side by side (H67, 100k nodes, libcurl, load 9-13): ``bench/tools/http_floor.py``,
each server its own process, 3 rounds of 1,000 interleaved calls: server CPU per lookup
0.79/0.86/0.77 ms against 0.86/0.89/0.87, per lean no-op 0.36/0.39/0.35 against
0.44/0.42/0.43 (no middleware and no ``FastAPI.__call__`` at all: 0.75/0.82/0.74);
``bench/query.py`` (app in the bench's process), three alternating runs of 500 calls:
lookup p50 ratio 1.38/1.38/1.40 against 1.40/1.42/1.51, path 1.28/1.37/1.33 against
1.34/1.40/1.35. Lookup still misses 1.3x at that load.

Every other method and path (HEAD, ``/cypher/``, ``/queries`` and the rest) goes on to
FastAPI's router unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette._utils import get_route_path, is_async_callable

from impact_graph.api import problems
from impact_graph.api.auth import check_read_key
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


#: The lean handlers by method (POST: `HANDLERS`, GET: `GET_HANDLERS`).
_BY_METHOD: dict[str, Mapping[str, Callable[[Request], Awaitable[Response | None]]]] = {
    "POST": HANDLERS,
    "GET": GET_HANDLERS,
}


async def lean_answer(scope: Any, receive: Any, send: Any) -> Response | None:
    """The lean path's answer to this HTTP request: POST to a path of `HANDLERS` or GET to
    one of `GET_HANDLERS`, the read key checked first (as FastAPI's dependency does,
    before the parameters); None for any other request, and for a GET its handler leaves
    to the route. Raises what the handler raises (`ProblemError`, store errors, ...)."""
    handlers = _BY_METHOD.get(scope["method"])
    handler = None if handlers is None else handlers.get(get_route_path(scope))
    if handler is None:
        return None
    request = Request(scope, receive, send)
    await check_read_key(request)
    return await handler(request)


#: Scope key by which `LeanFront` tells `LeanQueries` it has tried the request: the
#: exception its handler raised, or None when the request was not a lean one.
TRIED = "impact_graph.lean_tried"
_NOT_TRIED = object()


class LeanQueries:
    """ASGI app in front of the router: answers the lean requests (`lean_answer`) and
    passes everything else on to ``app``.

    When `LeanFront` stands before the app's stack it has tried the request already
    (`TRIED` in the scope): then this only raises what the front's handler raised, here
    where the route would have raised it, so that the stack answers it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            tried = scope.pop(TRIED, _NOT_TRIED)
            if tried is _NOT_TRIED:
                answer = await lean_answer(scope, receive, send)
                if answer is not None:
                    await answer(scope, receive, send)
                    return
            elif tried is not None:
                raise tried
        await self.app(scope, receive, send)


class LeanFront:
    """ASGI app before the app's whole middleware stack (``app``): a lean request's
    answer is sent from here; a request that is not one, or whose handler raised, goes
    through the stack (see `LeanQueries`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            try:
                answer = await lean_answer(scope, receive, send)
            except Exception as exc:  # answered by the stack, as if the route raised it
                scope[TRIED] = exc
            else:
                if answer is not None:
                    try:
                        await answer(scope, receive, send)
                    except Exception as exc:  # the answer had started: log it as the stack
                        await self._logged(scope, exc)
                        raise
                    return
                scope[TRIED] = None
        await self.app(scope, receive, send)

    async def _logged(self, scope: Any, exc: Exception) -> None:
        """What the stack's outer layer (Starlette's ``ServerErrorMiddleware``) does with an
        exception raised while its answer was being sent (a client gone mid-answer): the
        app's 500 handler is called -- it logs "unexpected error on <path>" with the
        traceback -- and its answer dropped, as the response has started; then the
        exception goes on to the server. Without this the front left only the server's
        own log line (the handler's answer is never sent either way)."""
        outer = self.app
        handler = getattr(outer, "handler", None)
        if getattr(outer, "debug", False) or handler is None:
            return  # Starlette's debug page and default 500 log nothing
        request = Request(scope)
        if is_async_callable(handler):
            await handler(request, exc)
        else:
            await run_in_threadpool(handler, request, exc)


def front_may_pass_by(app: FastAPI) -> bool:
    """True when a lean answer would come out of ``app``'s middleware unchanged, so
    `LeanFront` may send it past them.

    Only exceptions reach Starlette's ServerErrorMiddleware and ExceptionMiddleware and
    FastAPI's exception telemetry, and the front sends those through the stack; FastAPI's
    body limit acts only when the app sets one (``max_body_size``); its AsyncExitStack
    closes files of the routes' forms, and the lean handlers declare none;
    `problems.TooLargeAsProblem` rewrites only a text/plain 413, and a lean handler's
    413 is a raised `ProblemError`. CORS is the one that changes answers: Starlette's
    adds ``Vary: Origin`` even to a request without an ``Origin`` header, so with CORS
    origins set (or any other middleware) the lean path stays inside the stack.
    """
    return getattr(app, "max_body_size", None) is None and all(
        m.cls is problems.TooLargeAsProblem for m in app.user_middleware
    )


def install(app: FastAPI) -> None:
    """Put the lean path in ``app``: `LeanQueries` before its router and, when
    `front_may_pass_by`, `LeanFront` before its whole middleware stack (built here,
    once: middleware added later is refused, as Starlette refuses it once started)."""
    router = app.router
    if isinstance(router.middleware_stack, LeanQueries):
        return
    router.middleware_stack = LeanQueries(router.middleware_stack)
    if app.middleware_stack is None and front_may_pass_by(app):
        app.middleware_stack = LeanFront(app.build_middleware_stack())
