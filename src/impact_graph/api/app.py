"""The FastAPI application: ``create_app(settings)``.

One app holds one `Services` (the store, opened once in the lifespan and closed at
shutdown; the model, vocabulary, search service and pipeline, built on first use). The
root ``/`` is left to the web UI; until it exists it redirects to the API docs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from impact_graph.api import problems
from impact_graph.api.auth import KeyChecker, require_read_key
from impact_graph.api.deps import Services
from impact_graph.api.docs import add_offline_docs
from impact_graph.config import Settings

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("impact-graph")
    except PackageNotFoundError:  # running from a checkout without install
        return "0.0.0"


#: How long start-up waits for the store before serving anyway (503s until it is open).
STARTUP_WAIT_S = 15.0

DESCRIPTION = """\
The knowledge graph of Dutch social-impact programmes ("Aanpakken met Impact"):
"what works" search, entity pages with provenance, and document upload.

* Reads are open unless the server requires a key (`IMPACT_GRAPH_API_READ_KEY_REQUIRED`);
  writes (POST, DELETE) always need an API key, sent as `Authorization: Bearer <key>`
  or `X-API-Key: <key>`.
* Every list is paged with `limit` and `offset` and answers `total` and `next`.
* Errors are RFC 9457 `application/problem+json`; `detail` says what to change.
"""

TAGS = [
    {"name": "search", "description": '"What works": search, working elements, evidence map.'},
    {"name": "entities", "description": "Entity pages with neighbours and provenance."},
    {"name": "documents", "description": "Upload, list and delete documents."},
    {"name": "health", "description": "State of the API and its graph store."},
]


def server_options(*, log_level: str = "info", access_log: bool = False) -> dict[str, Any]:
    """The uvicorn settings `impact-graph serve` runs the app with (``bench/query.py``
    serves it with the same ones).

    Why these: server CPU per request, measured side by side (a no-op route, 2,000
    requests per server, load 13-15): uvicorn's access log, on by default, cost 0.07 ms
    (0.28 against 0.21 ms), so it is off unless asked for (``--access-log``); errors are
    still logged. The HTTP parser and loop stay uvicorn's "auto", which takes httptools
    and uvloop when installed (the ``api`` extra): h11 cost 0.13 ms more, the asyncio loop
    0.02 ms. Dropping the Server and Date headers saved nothing measurable (0.01 ms, within
    the noise), so they stay (HTTP/1.1 asks an origin server for a Date).

    Why uvicorn and not granian (a Rust HTTP server running ASGI apps): measured side by
    side with the same client (each server in its own process, 1,000 interleaved requests
    per cell, 20k nodes, load ~16), granian 2.8.9 (one worker, one runtime thread) used as
    much server CPU on a bare ASGI no-op (0.16 ms against uvicorn's 0.14) and more on a
    /cypher lookup (1.03 against 0.73 ms): crossing from its Rust runtime into the Python
    app each request costs what the Rust HTTP parsing saves. The HTTP floor of uvicorn
    plus a keep-alive ``http.client`` was 0.21 ms wall, 0.14 ms server and 0.13 ms client
    CPU per request. Measured again (H61, ``bench/tools/http_floor.py``, 100k nodes, three
    rounds of 1,000 interleaved calls, load 7-10): granian's server CPU was higher in
    every round, by 0.07-0.10 ms on a bare ASGI function, 0.12-0.17 ms on the app's lean
    no-op and 0.10-0.29 ms on the /cypher lookup (1.11-1.26 ms with uvicorn), and its
    Rust task implementation and multi-threaded runtime did no better.

    With httptools installed the protocol is `serving.OneWriteHttpToolsProtocol`:
    uvicorn's own, sending each response's head and body in one write instead of two
    (see that module for why and what it measured).
    """
    options: dict[str, Any] = {"log_level": log_level.lower(), "access_log": access_log}
    if "httptools" not in missing_speedups():
        from impact_graph.api.serving import OneWriteHttpToolsProtocol

        options["http"] = OneWriteHttpToolsProtocol
    return options


def missing_speedups() -> list[str]:
    """The optional packages uvicorn would use for speed that are not installed (a
    sentence's worth for `impact-graph serve` to warn about)."""
    from importlib.util import find_spec

    return [name for name in ("httptools", "uvloop") if find_spec(name) is None]


def _origins(raw: str) -> list[str]:
    return [o.strip() for o in raw.split(",") if o.strip()]


def _researcher_routes_first(app: FastAPI, start: int) -> None:
    """Move the routes added since ``app.router.routes[start]`` to the front.

    Why: the app's routes are tried one by one, and FastAPI adds its /openapi.json and
    /docs routes when the app is made, so they would always be tried before any router.
    For a ~0.6 ms /cypher lookup every route tried first is a few microseconds of the
    0.18 ms the endpoint may add. Works whether ``include_router`` copies the routes (up
    to FastAPI 0.15x) or keeps the router as one entry (0.16x).
    """
    routes = app.router.routes
    routes[:] = routes[start:] + routes[:start]
    changed = getattr(app.router, "_mark_routes_changed", None)
    if changed is not None:  # FastAPI 0.16x caches route lists by a version number
        changed()


def create_app(
    settings: Settings | None = None,
    *,
    embedder: Any = None,
    warm_up: bool = True,
    warm_sparql: bool | None = None,
    lean: bool = True,
) -> FastAPI:
    """Build the API for ``settings`` (default: from the environment).

    ``embedder`` shares an already loaded embedding model (tests, benchmarks: the model
    costs seconds to load); ``warm_up`` loads the model, in the background while the
    store opens, and runs one search, so the first search does not pay for either.
    ``warm_sparql`` (default: as ``warm_up``) starts the embedded RDF view's SPARQL
    query workers at start-up, so the first ``/sparql`` query does not pay for starting
    them. ``lean`` answers GET and POST /cypher
    and /sparql before FastAPI's routing, and (no CORS origins set) before the app's
    middleware (`impact_graph.api.lean`: same handlers, key check and error answers,
    less CPU per request); ``False`` leaves them to their routes, the reference the lean
    path is tested against. The lean path is installed last but for the root route:
    with it the middleware stack is built, so add middleware before it.

    Raises ``ValueError`` with a sentence when the API settings are invalid (e.g. an
    entry of ``IMPACT_GRAPH_API_KEYS`` that is not a sha256 digest).
    """
    from impact_graph.config import get_settings

    settings = settings or get_settings()
    keys = KeyChecker(settings)  # validates IMPACT_GRAPH_API_KEYS before anything starts
    svc = Services(settings, warm_up=warm_up)
    if embedder is not None:
        svc.use_embedder(embedder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from impact_graph.api.routers import sparql
        from impact_graph.store.falkordb_async import close_reader

        svc.start_opening()
        await run_in_threadpool(svc.wait_opened, STARTUP_WAIT_S)
        if svc.store_error:
            log.warning("serving without a store for now: %s", svc.store_error)
        if warm_up if warm_sparql is None else warm_sparql:
            # Starting processes does not wait for them: start-up stays as quick. A view
            # that cannot be opened is reported by the first query, not by start-up.
            try:
                await run_in_threadpool(sparql.start_query_workers, app)
            except Exception as e:
                log.warning("the SPARQL query workers were not started: %s", e)
        try:
            yield
        finally:
            await close_reader(svc.ready_store())
            await run_in_threadpool(svc.close)

    app = FastAPI(
        title="impact-graph API",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        # /docs and /redoc come from add_offline_docs: FastAPI's own load from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = svc
    app.state.keys = keys
    app.state.settings = settings
    problems.install(app)
    add_offline_docs(app)

    app.add_middleware(problems.TooLargeAsProblem)
    origins = _origins(settings.cors_origins)
    if origins:
        # Starlette's CORS, but a refused preflight is problem+json like every error.
        app.add_middleware(
            problems.ProblemCORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["Retry-After", "WWW-Authenticate"],
        )

    from impact_graph import web
    from impact_graph.api.routers import (
        candidates,
        cypher,
        documents,
        entities,
        health,
        network,
        ontology,
        queries,
        search,
        sparql,
    )

    # Reads declare (and check) a key only when the server requires one, so the OpenAPI
    # document tells clients the truth about what needs a key.
    read = [Depends(require_read_key)] if settings.api_read_key_required else []
    # The researcher endpoints are tried first: routing tries routes in order, and a
    # /cypher lookup of ~0.6 ms paid ~0.1 ms for trying every entity and document route
    # first, and still ~0.03 ms for the docs and /search routes (FastAPI 0.16x matches an
    # included router twice: once to find it, once to pick its route). Their paths
    # (/cypher*, /sparql, /queries*) overlap with no other route's, so the order changes
    # nothing else; `_researcher_routes_first` also puts them before FastAPI's own
    # /openapi.json and /docs.
    before = len(app.router.routes)
    app.include_router(cypher.router, dependencies=read)
    app.include_router(sparql.router, dependencies=read)
    app.include_router(queries.router, dependencies=read)
    _researcher_routes_first(app, before)
    app.include_router(search.router, dependencies=read)
    app.include_router(entities.router, dependencies=read)
    app.include_router(candidates.router, dependencies=read)
    app.include_router(documents.build_router(settings))
    app.include_router(health.router, dependencies=read)
    app.include_router(ontology.router, dependencies=read)
    app.include_router(network.router, dependencies=read)
    app.include_router(web.router)  # the Dutch web UI; its "/" wins over the redirect below
    if lean:
        from impact_graph.api import lean as lean_path

        lean_path.install(app)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        # The web UI will live here; until then, the interactive API docs.
        return RedirectResponse("/docs")

    return app
