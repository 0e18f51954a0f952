"""``/cypher``: researcher Cypher over the graph store, read-only, time- and row-limited.

Modelled on datasette: ``GET /cypher?query=...`` (a link can carry a query) and ``POST
/cypher`` (JSON ``{"query": ..., "params": {...}}`` or a form), answered as JSON or CSV
by the ``.json``/``.csv`` suffix, ``format=`` or the Accept header, in that order.

* Parameters travel separately from the text (``$name`` in the query, ``params`` as a
  JSON object), so values never need quoting.
* Every answer reports the row cap and whether it was hit (JSON ``truncated``/``note``;
  headers ``X-Row-Cap``, ``X-Truncated``, ``X-Query-Time-Ms`` in every format). Clients
  may ask for a lower ``timeout_s``/``row_cap``, never a higher one than the server's
  ``IMPACT_GRAPH_QUERY_TIMEOUT_S``/``IMPACT_GRAPH_QUERY_ROW_CAP``.
* Writes, schema and admin commands, ``LOAD CSV``, ``dbms.*`` and APOC loaders are refused
  with a 400 problem+json sentence that says what is allowed instead (the check of
  `impact_graph.queries.guard`, then the store's own read-only enforcement); a query past
  its time limit is stopped and answers 422. The server stays up either way.
* On FalkorDB the query goes out from the event loop over an asyncio connection
  (`impact_graph.store.falkordb_async`), not through a worker thread: for the short
  lookups researchers run most, the thread hop was a large share of what the endpoint
  added. Neo4j (synchronous driver) keeps the worker thread. Same checks either way.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

try:
    import orjson
except ImportError:  # pragma: no cover - the api extra installs it; json does the same
    orjson = None  # type: ignore[assignment]

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from impact_graph.api.deps import services
from impact_graph.api.problems import ProblemError, problem_responses
from impact_graph.queries.guard import MAX_CYPHER_CHARS
from impact_graph.queries.run import Table, run_cypher, run_cypher_async
from impact_graph.store.falkordb_async import async_reader
from impact_graph.store.port import QueryRefused, QuerySyntaxError, QueryTimeout

router = APIRouter(tags=["cypher"])

FORMATS = ("json", "csv")
SHAPES = ("arrays", "objects")


# --- shared by /cypher and /queries ------------------------------------------------------


def choose_format(request: Request, suffix: str | None, fmt: str | None) -> str:
    """``json`` or ``csv``: the suffix, then ``format=``, then the Accept header."""
    if suffix:
        return suffix
    if fmt:
        f = fmt.lower().strip()
        if f in ("text/csv",):
            return "csv"
        if f in ("application/json",):
            return "json"
        if f not in FORMATS:
            raise ProblemError(
                422, f"format must be json or csv, not '{fmt}'.", slug="bad-parameter"
            )
        return f
    raw = request.headers.get("accept") or ""
    known = _BY_ACCEPT.get(raw)
    if known is not None:
        return known
    kind = _from_accept(raw.lower())
    if len(raw) <= ACCEPT_CACHE_CHARS:
        if len(_BY_ACCEPT) >= ACCEPT_CACHE:
            _BY_ACCEPT.clear()
        _BY_ACCEPT[raw] = kind
    return kind


#: Accept headers already read (`choose_format`): a client sends the same one with every
#: request (curl ``*/*``, browsers their own), and reading it costs ~3 us of a lookup's
#: ~0.6 ms on this machine; only headers that named a format are kept (a 406 is not).
ACCEPT_CACHE, ACCEPT_CACHE_CHARS = 256, 512
_BY_ACCEPT: dict[str, str] = {}


def _from_accept(accept: str) -> str:
    """``json`` or ``csv`` for a (lower-cased) Accept header, or a 406 problem."""
    if not accept:
        return "json"
    best: tuple[float, str] | None = None
    for i, part in enumerate(accept.split(",")):
        media, *opts = (x.strip() for x in part.split(";"))
        q = 1.0
        for o in opts:
            if o.startswith("q="):
                try:
                    q = float(o[2:])
                except ValueError:
                    q = 0.0
        kind = {"text/csv": "csv", "application/json": "json", "*/*": "json"}.get(media)
        if kind is None and media in ("application/*", "text/*"):
            kind = "json" if media == "application/*" else "csv"
        if kind and q > 0 and (best is None or q - i * 1e-6 > best[0]):
            best = (q - i * 1e-6, kind)
    if best is None:
        raise ProblemError(
            406,
            f"None of the accepted types ({accept[:200]}) is offered; accept application/json "
            "or text/csv, or add .json/.csv to the path.",
            slug="not-acceptable",
        )
    return best[1]


def table_response(table: Table, fmt: str, shape: str = "arrays", **extra: Any) -> Response:
    """The table as JSON (``shape`` arrays or objects) or CSV, with the cap headers."""
    if shape not in SHAPES:
        raise ProblemError(
            422, f"shape must be arrays or objects, not '{shape}'.", slug="bad-parameter"
        )
    if fmt == "csv":
        return Response(
            table.to_csv().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers=table.headers(),
        )
    return Response(
        json_bytes(table.to_json(shape, **extra)),
        media_type="application/json",
        headers=table.headers(),
    )


def json_bytes(value: Any) -> bytes:
    """``value`` as UTF-8 JSON: orjson when installed (the ``api`` extra), else the
    standard library. Why: for a 100-row answer ``json.dumps`` took ~32 us CPU and orjson
    ~2 us, on a lookup of ~600 us of which the endpoint may add 180. Non-string map keys
    are written as strings and unknown types as ``str()``, as ``json.dumps(default=str)``
    did; what orjson refuses (integers past 64 bits) falls back to the standard library.
    One difference: a NaN or infinite float is ``null`` (standard JSON) instead of the
    standard library's non-standard ``NaN``."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            pass
    return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")


def limits(request: Request, timeout_s: float | None, row_cap: int | None) -> tuple[float, int]:
    """The time limit and row cap of one request: the server's, or lower if asked."""
    settings = services(request).settings
    max_t, max_rows = settings.query_timeout_s, settings.query_row_cap
    if timeout_s is not None and not 0 < timeout_s <= max_t:
        raise ProblemError(
            422,
            f"timeout_s must be more than 0 and at most {max_t:g} seconds (this server's "
            "limit, IMPACT_GRAPH_QUERY_TIMEOUT_S).",
            slug="bad-parameter",
        )
    if row_cap is not None and not 0 < row_cap <= max_rows:
        raise ProblemError(
            422,
            f"row_cap must be between 1 and {max_rows:,} (this server's cap, "
            "IMPACT_GRAPH_QUERY_ROW_CAP); page with SKIP and LIMIT for more.",
            slug="bad-parameter",
        )
    return timeout_s or max_t, row_cap or max_rows


def query_problem(exc: Exception) -> ProblemError:
    """A store's refusal, syntax error or timeout as a 4xx problem."""
    if isinstance(exc, QueryTimeout):
        return ProblemError(422, str(exc), slug="query-timeout")
    if isinstance(exc, QueryRefused):
        return ProblemError(400, str(exc), slug="query-refused")
    return ProblemError(400, str(exc), slug="query-syntax")


# --- /cypher ------------------------------------------------------------------------------


def _params(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ProblemError(
                422,
                f"params is not valid JSON ({e.msg} at character {e.pos}); send an object such "
                'as {"challenge": "eenzaamheid"}.',
                slug="bad-parameter",
            ) from None
        except RecursionError:  # json gives up past ~1,000 levels: not a parse error
            raise ProblemError(
                422,
                "params nests lists or objects too deeply to read; send an object of plain "
                'values such as {"challenge": "eenzaamheid"}.',
                slug="bad-parameter",
            ) from None
    if not isinstance(raw, dict):
        raise ProblemError(
            422,
            'params must be a JSON object of name: value, such as {"min": 2}.',
            slug="bad-parameter",
        )
    return raw


def _require_query(query: Any) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ProblemError(
            400,
            "Send a Cypher query as 'query' (GET /cypher?query=..., a form field, or a JSON "
            'body {"query": "MATCH (n) RETURN n LIMIT 10"}).',
            slug="query-missing",
        )
    return query


async def _answer(
    request: Request,
    query: Any,
    params: Any,
    fmt: str,
    shape: str,
    timeout_s: float | None,
    row_cap: int | None,
) -> Response:
    """Check and run the query: on the event loop when the store has an asyncio reader
    (embedded or single-server FalkorDB: `impact_graph.store.falkordb_async`), else with
    the store's synchronous client in a worker thread (Neo4j, a FalkorDB cluster, a store
    still opening). Checks, limits and sentences are the same either way."""
    query = _require_query(query)
    t, cap = limits(request, timeout_s, row_cap)
    values = _params(params)
    store = services(request).ready_store()
    reader = async_reader(store) if store is not None else None
    try:
        if store is not None and reader is not None:
            table = await run_cypher_async(reader, query, values, timeout_s=t, row_cap=cap)
            return table_response(table, fmt, shape, backend=store.backend)
        return await run_in_threadpool(
            _answer_in_thread, request, query, values, fmt, shape, t, cap
        )
    except (QueryRefused, QuerySyntaxError, QueryTimeout) as e:
        raise query_problem(e) from e


def _answer_in_thread(
    request: Request,
    query: str,
    params: dict[str, Any],
    fmt: str,
    shape: str,
    timeout_s: float,
    row_cap: int,
) -> Response:
    store = services(request).store()  # may wait for the store to open
    table = run_cypher(store, query, params, timeout_s=timeout_s, row_cap=row_cap)
    return table_response(table, fmt, shape, backend=store.backend)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The rows: JSON {columns, rows, row_count, truncated, row_cap, "
        "elapsed_ms} or CSV; X-Row-Cap, X-Truncated and X-Query-Time-Ms headers.",
        "content": {"application/json": {}, "text/csv": {}},
    },
    **problem_responses(400, 401, 406, 415, 422, 503),
}

QueryText = Annotated[
    str | None,
    Query(
        max_length=MAX_CYPHER_CHARS,
        description="A reading Cypher query.",
        examples=["MATCH (i:Intervention)-[:ADDRESSES]->(c:Challenge) RETURN i.name, c.name"],
    ),
]
ParamsText = Annotated[
    str | None,
    Query(description='Query parameters as a JSON object, e.g. {"name": "CooL"}.'),
]
FormatQ = Annotated[str | None, Query(alias="format", description="json or csv.")]
ShapeQ = Annotated[str, Query(description="JSON rows as 'arrays' (default) or 'objects'.")]
TimeoutQ = Annotated[
    float | None, Query(description="Lower time limit in seconds (at most the server's).")
]
RowCapQ = Annotated[int | None, Query(description="Lower row cap (at most the server's).")]


def _suffix(path: str) -> str | None:
    for f in FORMATS:
        if path.endswith("." + f):
            return f
    return None


# Routes are tried in the order they are added (decorators apply from the bottom up):
# POST /cypher first, the form scripts and notebooks use most, then GET /cypher, then the
# suffixed paths.


@router.post("/cypher.csv", include_in_schema=False, response_class=Response)
@router.post("/cypher.json", include_in_schema=False, response_class=Response)
@router.post(
    "/cypher",
    summary="Read-only Cypher (POST JSON or form)",
    description=__doc__,
    responses=_RESPONSES,
    response_class=Response,
    openapi_extra={
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": schema, "description": doc}
            for name, schema, doc in (
                ("format", {"type": "string", "enum": ["json", "csv"]}, "json or csv."),
                (
                    "shape",
                    {"type": "string", "enum": list(SHAPES)},
                    "JSON rows as arrays or objects.",
                ),
                (
                    "timeout_s",
                    {"type": "number"},
                    "Lower time limit in seconds (at most the server's).",
                ),
                ("row_cap", {"type": "integer"}, "Lower row cap (at most the server's)."),
            )
        ],
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["query"],
                        "properties": {
                            "query": {"type": "string", "maxLength": MAX_CYPHER_CHARS},
                            "params": {"type": "object"},
                            "format": {"type": "string", "enum": list(FORMATS)},
                            "shape": {"type": "string", "enum": list(SHAPES)},
                            "timeout_s": {"type": "number"},
                            "row_cap": {"type": "integer"},
                        },
                    }
                },
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["query"],
                        "properties": {
                            "query": {"type": "string"},
                            "params": {"type": "string"},
                        },
                    }
                },
            }
        },
    },
)
async def cypher_post(request: Request) -> Response:
    # Served by `impact_graph.api.lean` before routing; this route is what the OpenAPI
    # document shows, and what an app built with ``lean=False`` answers with.
    return await post_answer(request)


async def post_answer(request: Request) -> Response:
    """POST /cypher (also ``.json``/``.csv``): the body (JSON or form) and the URL's
    options checked, the query run, the answer or a `ProblemError`.

    Shared by the route and the lean path (`impact_graph.api.lean`), so both answer
    alike; the read key is checked before this by either. The URL's options are read
    here rather than declared as FastAPI parameters: four declared parameters cost ~0.06
    ms CPU per request (measured), a tenth of a lookup; a POST rarely carries any. They
    are in the OpenAPI schema all the same (the route's ``parameters``) and checked as
    the body's are.
    """
    url: dict[str, str] = dict(request.query_params) if request.scope["query_string"] else {}
    fmt, shape = url.get("format"), url.get("shape") or "arrays"
    timeout_s = _number(url.get("timeout_s"), "timeout_s", float)
    row_cap = _number(url.get("row_cap"), "row_cap", int)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body: dict[str, Any]
    if ctype == "application/json":
        raw = await request.body()
        if len(raw) > MAX_CYPHER_CHARS * 8:
            raise ProblemError(413, "The request body is too large; send a shorter query.")
        try:
            data = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProblemError(
                400,
                'The body is not valid JSON; send {"query": "MATCH ...", "params": {...}}.',
                slug="bad-request",
            ) from None
        except RecursionError:  # json gives up past ~1,000 levels (a 500 before)
            raise ProblemError(
                400,
                "The body nests lists or objects too deeply to read; send "
                '{"query": "MATCH ...", "params": {...}} with plain parameter values.',
                slug="bad-request",
            ) from None
        if not isinstance(data, dict):
            raise ProblemError(
                400,
                'The body must be a JSON object: {"query": "MATCH ...", "params": {...}}.',
                slug="bad-request",
            )
        body = data
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        body = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        raise ProblemError(
            415,
            f"POST /cypher takes application/json or a form (query=...), not "
            f"'{ctype or 'no content type'}'.",
        )
    unknown = set(body) - {"query", "params", "format", "shape", "timeout_s", "row_cap"}
    if unknown:
        raise ProblemError(
            422,
            f"Unknown field(s) {', '.join(sorted(unknown))}; send query, params and optionally "
            "format, shape, timeout_s, row_cap.",
            slug="bad-parameter",
        )
    fmt_ = choose_format(request, _suffix(request.scope["path"]), fmt or body.get("format"))
    t = _number(body.get("timeout_s"), "timeout_s", float) if timeout_s is None else timeout_s
    cap = _number(body.get("row_cap"), "row_cap", int) if row_cap is None else row_cap
    return await _answer(
        request,
        body.get("query"),
        body.get("params"),
        fmt_,
        str(body.get("shape") or shape),
        t,
        cap,
    )


@router.get("/cypher.csv", include_in_schema=False, response_class=Response)
@router.get("/cypher.json", include_in_schema=False, response_class=Response)
@router.get(
    "/cypher",
    summary="Read-only Cypher (GET)",
    description=__doc__,
    responses=_RESPONSES,
    response_class=Response,
)
async def cypher_get(
    request: Request,
    query: QueryText = None,
    params: ParamsText = None,
    fmt: FormatQ = None,
    shape: ShapeQ = "arrays",
    timeout_s: TimeoutQ = None,
    row_cap: RowCapQ = None,
) -> Response:
    fmt_ = choose_format(request, _suffix(request.scope["path"]), fmt)
    return await _answer(request, query, params, fmt_, shape, timeout_s, row_cap)


def _number(value: Any, name: str, kind: type) -> Any:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        out = kind(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return out
    except (TypeError, ValueError):
        raise ProblemError(
            422, f"{name} must be a number, not '{value}'.", slug="bad-parameter"
        ) from None
