"""``/queries``: stored (canned) research queries, listed and run by name.

* ``GET /queries`` lists every stored query: name, title, description, typed parameters
  with defaults, and its Cypher and SPARQL text (so a researcher can start from it).
* ``GET /queries/{name}?param=value`` runs one; ``lang=cypher`` (default) asks the graph
  store, ``lang=sparql`` the RDF view -- the same question, the same answer. ``.json`` /
  ``.csv`` on the name, ``format=`` or Accept choose the output, as on ``/cypher``.
* Parameters are typed and checked before anything runs: an unknown, missing or
  malformed one answers 422 naming it.

The packaged queries are ``queries/research.yaml``; ``IMPACT_GRAPH_QUERIES_FILE`` adds a
server's own (loaded once per app; a broken file answers 503 naming the file and entry).
"""

from __future__ import annotations

import difflib
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from impact_graph.api.deps import services
from impact_graph.api.problems import ProblemError, problem_responses
from impact_graph.api.routers.cypher import (
    FORMATS,
    choose_format,
    limits,
    query_problem,
    table_response,
)
from impact_graph.queries.catalog import (
    RESERVED,
    Catalog,
    CatalogError,
    ParamError,
    StoredQuery,
    load_catalog,
)
from impact_graph.queries.run import run_stored
from impact_graph.store.port import QueryRefused, QuerySyntaxError, QueryTimeout

router = APIRouter(tags=["queries"])

_lock = threading.Lock()


def catalog(request: Request) -> Catalog:
    """The app's stored queries, loaded on first use."""
    state = request.app.state
    found: Catalog | None = getattr(state, "query_catalog", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(state, "query_catalog", None)
        if found is None:
            try:
                found = load_catalog(services(request).settings.queries_file)
            except CatalogError as e:
                raise ProblemError(503, str(e), slug="stored-queries-broken") from e
            state.query_catalog = found
    return found


def _links(request: Request, q: StoredQuery) -> dict[str, str]:
    base = str(request.url_for("run_stored_query", name=q.name))
    links = {f"run_{lang}": f"{base}?lang={lang}" for lang in q.languages}
    links["csv"] = f"{base}.csv"
    return links


@router.get(
    "/queries",
    summary="List the stored research queries",
    description=__doc__,
    responses=problem_responses(401, 503),
)
def list_queries(request: Request) -> JSONResponse:
    cat = catalog(request)
    items = [{**q.describe(), "links": _links(request, q)} for q in cat]
    return JSONResponse({"queries": items, "total": len(items)})


@router.get("/queries.json", include_in_schema=False)
def list_queries_json(request: Request) -> JSONResponse:
    """``/queries`` with the ``.json`` every other researcher URL takes (it was a 404)."""
    return list_queries(request)


@router.get(
    "/queries.csv",
    summary="List the stored research queries as CSV",
    description="One row per stored query: name, title, languages, parameters "
    "(name=type, '?' when optional) and the URL of its CSV answer.",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **problem_responses(401, 503)},
)
def list_queries_csv(request: Request) -> Response:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["name", "title", "languages", "params", "csv"])
    for q in catalog(request):
        params = " ".join(f"{p.name}={p.type}{'' if p.required else '?'}" for p in q.params)
        w.writerow([q.name, q.title, " ".join(q.languages), params, _links(request, q)["csv"]])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8")


#: Stored names a 404 lists when none is close to the one asked for.
_LISTED = 5


def not_found(request: Request, name: str, cat: Catalog) -> str:
    """The 404 sentence: the name as asked (without its ``.json``/``.csv``), the closest
    stored names (or the first few) and the URL that lists them all with their parameters.

    The whole catalogue in one sentence (18 names and growing) buries the answer; the
    nearest names catch the usual typo, and GET /queries has the rest.
    """
    names = sorted(q.name for q in cat)
    close = difflib.get_close_matches(name, names, n=_LISTED, cutoff=0.6)
    listing = str(request.url_for("list_queries"))
    if close:
        some = ", ".join(f"'{n}'" for n in close)
        hint = f"did you mean {some}?"
    else:
        some = ", ".join(f"'{n}'" for n in names[:_LISTED])
        more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
        hint = f"the {len(names)} stored queries include {some}{more}."
    return (
        f"There is no stored query '{name}'; {hint} GET {listing} lists them all with "
        "their parameters."
    )


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The rows as JSON {query, title, params, columns, rows, row_count, "
        "truncated, row_cap, ...} or CSV; X-Row-Cap, X-Truncated and X-Query-Time-Ms headers.",
        "content": {"application/json": {}, "text/csv": {}},
    },
    **problem_responses(400, 401, 404, 406, 422, 503),
}


@router.get(
    "/queries/{name}",
    name="run_stored_query",
    summary="Run a stored research query",
    description="Run the stored query `name` (add `.json` or `.csv`); every query-string "
    "argument other than lang, format, shape, timeout_s and row_cap is one of its "
    "parameters (GET /queries lists them).",
    responses=_RESPONSES,
    response_class=Response,
)
def run_stored_query(
    request: Request,
    name: Annotated[
        str,
        Path(
            description="Name of a stored query (GET /queries lists them), optionally "
            "with .json or .csv.",
            examples=["interventions_for_challenge.csv"],
        ),
    ],
    lang: Annotated[str | None, Query(description="cypher (default) or sparql.")] = None,
    fmt: Annotated[str | None, Query(alias="format", description="json or csv.")] = None,
    shape: Annotated[str, Query(description="JSON rows as 'arrays' or 'objects'.")] = "arrays",
    timeout_s: Annotated[float | None, Query(description="Lower time limit (s).")] = None,
    row_cap: Annotated[int | None, Query(description="Lower row cap.")] = None,
) -> Response:
    cat = catalog(request)
    suffix = None
    if name not in cat:
        for f in FORMATS:
            if name.endswith("." + f):
                name, suffix = name[: -len(f) - 1], f
                break
    if name not in cat:
        raise ProblemError(404, not_found(request, name, cat), slug="query-not-found")
    q = cat.get(name)
    out_fmt = choose_format(request, suffix, fmt)
    language = lang or q.languages[0]
    raw: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in RESERVED:
            continue
        if key in raw:
            raise ProblemError(
                422,
                f"Parameter '{key}' is given more than once; give it once.",
                slug="bad-parameter",
            )
        raw[key] = value
    svc = services(request)
    try:
        q.text(language)
        params = q.bind(raw, svc.vocab)
    except ParamError as e:
        loc = ["query", e.param or "lang"]
        raise ProblemError(
            422,
            str(e),
            slug="bad-parameter",
            errors=[{"loc": loc, "msg": str(e), "type": "value_error"}],
        ) from None
    t, cap = limits(request, timeout_s, row_cap)
    try:
        if language == "cypher":
            table = run_stored(q, "cypher", params, store=svc.store(), timeout_s=t, row_cap=cap)
        else:
            from impact_graph.api.routers.sparql import rdf_view
            from impact_graph.rdf.mapping import default_prefixes

            table = run_stored(
                q,
                "sparql",
                params,
                view=rdf_view(request),
                prefixes=default_prefixes(svc.schema),
                timeout_s=t,
                row_cap=cap,
            )
    except (QueryRefused, QuerySyntaxError, QueryTimeout) as e:
        raise query_problem(e) from e
    return table_response(table, out_fmt, shape, title=q.title)
