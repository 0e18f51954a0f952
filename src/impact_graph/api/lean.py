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
* `LeanQueries` sits where FastAPI's router does: inside the app's middleware (CORS,
  `problems.TooLargeAsProblem`, body limits) and inside its exception middleware. So a
  `ProblemError` (bad query, write refused, timeout, row-limit option, missing or wrong
  key, 413, 415, ...) or a store error reaches the app's own exception handlers and is
  answered with exactly the problem+json the route gives (``tests/test_lean_path.py``
  compares both byte for byte).

Every other method and path (HEAD, ``/cypher/``, ``/queries`` and the rest) goes on to
FastAPI's router unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette._utils import get_route_path

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


class LeanQueries:
    """ASGI app in front of the router: POST to a path of `HANDLERS` and GET to one of
    `GET_HANDLERS` are answered here, everything else is passed on to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if method == "POST":
                handler = HANDLERS.get(get_route_path(scope))
                if handler is not None:
                    request = Request(scope, receive, send)
                    await check_read_key(request)
                    response = await handler(request)
                    await response(scope, receive, send)
                    return
            elif method == "GET":
                get_handler = GET_HANDLERS.get(get_route_path(scope))
                if get_handler is not None:
                    request = Request(scope, receive, send)
                    await check_read_key(request)  # before the parameters, as FastAPI does
                    answer = await get_handler(request)
                    if answer is not None:
                        await answer(scope, receive, send)
                        return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Put `LeanQueries` in front of ``app``'s router (inside its middleware and its
    exception handlers: Starlette's router runs its own ``middleware_stack``)."""
    router = app.router
    if not isinstance(router.middleware_stack, LeanQueries):
        router.middleware_stack = LeanQueries(router.middleware_stack)
