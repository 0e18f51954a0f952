"""The lean path: POST /cypher and POST /sparql answered before FastAPI's routing.

Why: a researcher's Cypher lookup takes ~0.6 ms in the database, and issue 5 allows the
endpoint 1.3x of that. FastAPI's way to a handler -- trying routes in turn, its request
handler (endpoint context, dependency solving, the read-key dependency through two
security schemes, the response checks) -- cost about as much CPU per request as the
handler itself (measured with ``bench/query.py`` and a server-CPU-per-request count).
These two routes need none of it: they read their own body, declare no parameters
FastAPI validates for them (POST /sparql's ``format`` is any string) and answer a
ready-made `Response`.

What stays the same, by construction rather than by copy:

* The handlers are the routes' own (`cypher.post_answer`, `sparql.post_answer`); the
  routes stay declared, so the OpenAPI document, ``/docs`` and schemathesis see them.
* The read key is checked first, as the router dependency does, by
  `impact_graph.api.auth.check_read_key` (the same schemes and `KeyChecker`).
* `LeanQueries` sits where FastAPI's router does: inside the app's middleware (CORS,
  `problems.TooLargeAsProblem`, body limits) and inside its exception middleware. So a
  `ProblemError` (bad query, write refused, timeout, row-limit option, missing or wrong
  key, 413, 415, ...) or a store error reaches the app's own exception handlers and is
  answered with exactly the problem+json the route gives (``tests/test_lean_path.py``
  compares both byte for byte).

Every other method and path (GET /cypher, GET /sparql, ``/cypher/`` and the rest) goes
on to FastAPI's router unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette._utils import get_route_path

from impact_graph.api.auth import check_read_key
from impact_graph.api.routers import cypher, sparql

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


async def _sparql(request: Request) -> Response:
    fmt = request.query_params.get("format") if request.scope["query_string"] else None
    return await sparql.post_answer(request, fmt)


#: POST paths served here, and their handler.
HANDLERS: dict[str, Callable[[Request], Awaitable[Response]]] = {
    "/cypher": cypher.post_answer,
    "/cypher.json": cypher.post_answer,
    "/cypher.csv": cypher.post_answer,
    "/sparql": _sparql,
}


class LeanQueries:
    """ASGI app in front of the router: POST to a path of `HANDLERS` is answered here,
    everything else is passed on to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = HANDLERS.get(get_route_path(scope))
            if handler is not None:
                request = Request(scope, receive, send)
                await check_read_key(request)
                response = await handler(request)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Put `LeanQueries` in front of ``app``'s router (inside its middleware and its
    exception handlers: Starlette's router runs its own ``middleware_stack``)."""
    router = app.router
    if not isinstance(router.middleware_stack, LeanQueries):
        router.middleware_stack = LeanQueries(router.middleware_stack)
