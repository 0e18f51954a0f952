"""``/sparql``: the SPARQL 1.1 Protocol over the RDF view, read-only, time- and row-limited.

* ``GET /sparql?query=...`` and ``POST /sparql`` with a form (``query=``) or an
  ``application/sparql-query`` body; ``default-graph-uri``/``named-graph-uri`` are not
  supported (the default graph is the union of all documents' graphs).
* SELECT/ASK answer ``application/sparql-results+json`` (default), ``+xml``, ``text/csv``
  or ``text/tab-separated-values``; CONSTRUCT/DESCRIBE answer Turtle (default), JSON-LD,
  N-Triples or RDF/XML -- by the Accept header or ``format=`` (browsers, curl one-liners).
* Every answer carries ``X-Row-Cap`` and ``X-Truncated`` (results are cut at
  ``IMPACT_GRAPH_QUERY_ROW_CAP`` rows or triples) and ``X-Query-Time-Ms``.
* Update, SERVICE, syntax errors (with line and column), unknown prefixes, queries past
  ``IMPACT_GRAPH_QUERY_TIMEOUT_S`` or past the memory limit answer a 4xx problem+json
  sentence; the runaway query is killed, so the server stays up.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from impact_graph.api.deps import services
from impact_graph.api.problems import ProblemError, problem_responses
from impact_graph.rdf import sparql as sp
from impact_graph.rdf.mapping import default_prefixes
from impact_graph.rdf.view import OxigraphView, RawResult, RdfView
from impact_graph.store.port import QueryRefused, QuerySyntaxError, QueryTimeout

router = APIRouter(tags=["sparql"])

_view_lock = threading.Lock()

_READ_ONLY = (
    "This endpoint is read-only: SPARQL Update is not accepted. Send SELECT, ASK, "
    "CONSTRUCT or DESCRIBE queries as 'query'."
)


def rdf_view(request: Request) -> RdfView:
    """The RDF view: the write-through store's, or one opened for the API (the embedded
    view is opened per operation, so sharing its directory with the writer is safe)."""
    return app_view(request.app)


def app_view(app: Any) -> RdfView:
    """`rdf_view` for an app (also used at start-up, where there is no request)."""
    svc = app.state.services
    store = svc.ready_store()
    view = getattr(store, "view", None) if store is not None else None
    if isinstance(view, RdfView):
        return view
    with _view_lock:
        view = getattr(app.state, "rdf_view", None)
        if view is None:
            from impact_graph.rdf.view import open_view

            try:
                view = open_view(svc.settings, svc.schema)
            except ValueError as e:
                raise ProblemError(503, str(e), slug="sparql-off") from e
            if view is None:
                raise ProblemError(
                    404,
                    "SPARQL is switched off on this server (IMPACT_GRAPH_RDF=off); use "
                    "POST /cypher-style routes or ask the operator to enable the RDF view.",
                    slug="sparql-off",
                )
            app.state.rdf_view = view
        return view  # type: ignore[no-any-return]


def start_query_workers(app: Any) -> bool:
    """Start the embedded view's SPARQL query workers now (the app's start-up), so the
    first query does not wait for a process to start and open the store (~0.5 s on this
    machine). Returns whether workers were started: not when SPARQL is off, the view is
    remote (nothing to start) or could not be opened (the first query then says why)."""
    try:
        view = app_view(app)
    except ProblemError:
        return False
    if not isinstance(view, OxigraphView):
        return False
    # The store's start-up may have just written the ontology and still hold the writer;
    # let go of it (as the first query would), so the workers can open the store now.
    view.release()
    view.start_query_workers()
    return True


def _check_query(query: str | None) -> str:
    if query is None or not query.strip():
        raise ProblemError(
            400,
            "Send a SPARQL query as the 'query' parameter (GET or form POST) or as an "
            "application/sparql-query body.",
            slug="query-missing",
        )
    return query


@contextlib.contextmanager
def _as_problems() -> Iterator[None]:
    """The query's errors as the problem+json answers the endpoint gives."""
    try:
        yield
    except sp.NotAcceptable as e:
        raise ProblemError(406, str(e), slug="not-acceptable") from e
    except QuerySyntaxError as e:
        raise ProblemError(400, str(e), slug="query-syntax") from e
    except QueryTimeout as e:
        raise ProblemError(422, str(e), slug="query-timeout") from e
    except QueryRefused as e:
        raise ProblemError(400, str(e), slug="query-refused") from e


def _response(result: RawResult, media: str, prefixes: dict[str, str]) -> Response:
    with _as_problems():
        body = sp.serialize(result, media, prefixes)
    charset = "; charset=utf-8" if media.startswith("text/") else ""
    return Response(body, media_type=media + charset, headers=sp.result_headers(result))


def _answer(request: Request, query: str | None, fmt: str | None) -> Response:
    """The answer to one query, in a worker thread (the synchronous GET route)."""
    query = _check_query(query)
    svc = services(request)
    view = rdf_view(request)
    prefixes = default_prefixes(svc.schema)
    with _as_problems():
        info = sp.analyse(query, prefixes)
        media = sp.negotiate(request.headers.get("accept"), info.form, fmt)
        result = sp.run_query(
            view,
            query,
            prefixes=prefixes,
            timeout_s=svc.settings.query_timeout_s,
            row_cap=svc.settings.query_row_cap,
            media=media,
            info=info,
        )
    return _response(result, media, prefixes)


async def answer(request: Request, query: str | None, fmt: str | None) -> Response:
    """`_answer` on the event loop: the checks (tens of microseconds) run here and the
    query waits for its worker process on the loop (`OxigraphView.run_query_async`), so a
    query costs no thread hand-off; a view not opened yet is opened in a thread. The same
    answers and problems as `_answer` (tests/test_sparql_http.py runs both)."""
    query = _check_query(query)
    svc = services(request)
    view = _open_view(request.app) or await run_in_threadpool(rdf_view, request)
    prefixes = default_prefixes(svc.schema)
    with _as_problems():
        info = sp.analyse(query, prefixes)
        media = sp.negotiate(request.headers.get("accept"), info.form, fmt)
        result = await sp.run_query_async(
            view,
            query,
            prefixes=prefixes,
            timeout_s=svc.settings.query_timeout_s,
            row_cap=svc.settings.query_row_cap,
            media=media,
            info=info,
        )
    if result.body is not None and result.media == media:
        return _response(result, media, prefixes)  # written by the worker: passed on as is
    # Serialised here (a remote view's rows): up to the row cap, so not on the loop.
    return await run_in_threadpool(_response, result, media, prefixes)


async def get_answer(request: Request, query: str | None, fmt: str | None) -> Response:
    """GET /sparql answered on the event loop (`answer`): what `sparql_get` answers, for
    the lean path (`impact_graph.api.lean`), which may await it instead of running the
    synchronous route in a thread."""
    if request.query_params.get("update") is not None:
        raise ProblemError(400, _READ_ONLY, slug="query-refused")
    return await answer(request, query, fmt)


def _open_view(app: Any) -> RdfView | None:
    """The RDF view when it is open already (nothing to wait for), else None."""
    store = app.state.services.ready_store()
    view = getattr(store, "view", None) if store is not None else None
    if isinstance(view, RdfView):
        return view
    view = getattr(app.state, "rdf_view", None)
    return view if isinstance(view, RdfView) else None


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Query results in the negotiated format.",
        "content": {m: {} for m in [*sp.RESULT_TYPES, *sp.GRAPH_TYPES]},
    },
    **problem_responses(400, 401, 404, 406, 415, 422, 503),
}

QueryParam = Annotated[
    str | None,
    Query(
        max_length=sp.MAX_QUERY_CHARS,
        description="The SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE).",
        examples=["SELECT ?i ?name WHERE { ?i a ig:Intervention ; ig:name ?name } LIMIT 10"],
    ),
]
FormatParam = Annotated[
    str | None,
    Query(
        alias="format",
        description="Result format instead of the Accept header: json, xml, csv, tsv "
        "(SELECT/ASK) or ttl, jsonld, nt, rdfxml (CONSTRUCT/DESCRIBE).",
    ),
]


@router.get(
    "/sparql",
    summary="SPARQL 1.1 query (GET)",
    description=__doc__,
    responses=_RESPONSES,
    response_class=Response,
)
def sparql_get(request: Request, query: QueryParam = None, fmt: FormatParam = None) -> Response:
    if request.query_params.get("update") is not None:
        raise ProblemError(400, _READ_ONLY, slug="query-refused")
    return _answer(request, query, fmt)


@router.post(
    "/sparql",
    summary="SPARQL 1.1 query (POST form or application/sparql-query)",
    description=__doc__,
    responses=_RESPONSES,
    response_class=Response,
)
async def sparql_post(request: Request, fmt: FormatParam = None) -> Response:
    # Served by `impact_graph.api.lean` before routing; this route is what the OpenAPI
    # document shows, and what an app built with ``lean=False`` answers with.
    return await post_answer(request, fmt)


async def post_answer(request: Request, fmt: str | None) -> Response:
    """POST /sparql: the query from an ``application/sparql-query`` body or a form,
    answered on the event loop (`answer`), or a `ProblemError`. ``fmt`` is the URL's
    ``format=``. Shared by the route and the lean path, so both answer alike; the read
    key is checked before this by either."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    query: str | None
    if ctype == "application/sparql-query":
        raw = await request.body()
        if len(raw) > sp.MAX_QUERY_CHARS * 4:
            raise ProblemError(413, "The SPARQL query is too long; send a shorter query.")
        try:
            query = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProblemError(
                400, "The query body is not UTF-8; send the query text as UTF-8."
            ) from e
    elif ctype == "application/sparql-update":
        raise ProblemError(400, _READ_ONLY, slug="query-refused")
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        if form.get("update") is not None:
            raise ProblemError(400, _READ_ONLY, slug="query-refused")
        value = form.get("query")
        query = value if isinstance(value, str) else None
        form_fmt = form.get("format")
        fmt = fmt or (form_fmt if isinstance(form_fmt, str) else None)
    else:
        raise ProblemError(
            415,
            f"POST /sparql takes application/x-www-form-urlencoded (query=...) or "
            f"application/sparql-query, not '{ctype or 'no content type'}'.",
        )
    return await answer(request, query, fmt)
