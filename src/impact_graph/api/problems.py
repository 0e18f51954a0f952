"""RFC 9457 problem details: every error the API returns has the same shape.

Clients (the web UI, notebooks, scripts) get ``type``, ``title``, ``status``, ``detail``
and ``instance``; ``detail`` is always a sentence saying what to change, because the
people reading it are programme managers as often as developers. FastAPI's own errors
(validation, unknown routes, wrong methods, body too large) are mapped here too, so no
response of this API is ever a bare ``{"detail": ...}`` or a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.middleware.cors import CORSMiddleware

from impact_graph.store.port import (
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreAuthError,
    StoreError,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Base of the ``type`` URIs; each kind of problem has its own stable slug.
TYPE_BASE = "https://w3id.org/impact-graph/problems/"


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": TYPE_BASE + "not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "There is no entity with id 'intervention:xyz'; search for it "
                    "with GET /search?q=... and use an id from the results.",
                    "instance": "/entities/intervention:xyz",
                }
            ]
        }
    )

    type: str = Field(description="URI identifying the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="A sentence saying what went wrong and what to change.")
    instance: str = Field(description="The request path the problem occurred on.")
    errors: list[dict[str, Any]] | None = Field(
        None, description="For validation problems: one entry per invalid parameter."
    )
    detail_nl: str | None = Field(
        None,
        description="The same in Dutch, for the web UI's readers, where the API has it "
        "(a file over the upload limit, 413).",
    )


class ProblemError(Exception):
    """Raise anywhere in a route to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """``extra`` adds extension members to the problem (e.g. ``detail_nl``)."""
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.headers = headers
        self.errors = errors
        self.extra = extra


_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "content-too-large",
    415: "unsupported-media-type",
    422: "invalid-parameters",
    500: "internal-error",
    503: "store-unavailable",
}

#: Sentences for errors that Starlette raises itself (its ``detail`` is only a title).
_DEFAULT_DETAIL = {
    404: "There is no such resource; see GET /docs for the routes this API offers.",
    405: "This route does not accept that HTTP method; see GET /docs for the allowed methods.",
    413: "The request body is larger than this API accepts; send a smaller file "
    "(the limit is IMPACT_GRAPH_UPLOAD_MAX_BYTES).",  # no limit known: see too_large_detail
    400: "The request could not be read; check that the body matches the documented format.",
}


def mb_text(n: int) -> str:
    """Bytes as MB to three significant digits ('20 MB', '0.002 MB': one decimal made a
    small limit read '0.0 MB')."""
    return f"{n / 1_000_000:.3g} MB"


def mb_text_nl(n: int) -> str:
    """`mb_text` with a Dutch decimal comma ('10,5 MB'), for sentences people read."""
    return mb_text(n).replace(".", ",")


def too_large_nl(file_max: int | None) -> str:
    """The Dutch sentence of a 413 (``detail_nl``): the limit and what to do.

    Why a second sentence: ``detail`` is English for developers, but the upload page is
    read by programme managers, who saw the English one as "Technische melding (Engels)".
    The setting is named for whoever runs the server.
    """
    limit = f"de grens van {mb_text_nl(file_max)} " if isinstance(file_max, int) else "de grens "
    return (
        f"Het bestand is groter dan {limit}die deze server voor een upload stelt. Splits "
        "het in kleinere bestanden (bijvoorbeeld per hoofdstuk), of vraag de beheerder "
        "van de server de grens te verhogen met de instelling IMPACT_GRAPH_UPLOAD_MAX_BYTES."
    )


def _file_limit(scope: Any) -> int | None:
    """The app's per-file upload limit (``settings.upload_max_bytes``), if known."""
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    limit = getattr(settings, "upload_max_bytes", None)
    return limit if isinstance(limit, int) else None


def too_large_detail(scope: Any) -> str:
    """The 413 sentence for a body Starlette's limit refused, with the figures.

    Why: the route's own 413 names its limit ("the upload limit of 10.0 MB"), but a body
    whose ``Content-Length`` is over the limit never reaches the route, and Starlette's
    answer named no figure, so a user could not tell how far to shrink the file. The
    limit in force is in the scope while the limited app runs; the file limit (the
    body's limit less the multipart framing) is the app's ``upload_max_bytes``.
    """
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    if not isinstance(limit, int):
        return _DEFAULT_DETAIL[413]
    sent = Headers(scope=scope).get("content-length", "")
    size = f" ({int(sent):,} bytes)" if sent.isdigit() else ""
    file_max = _file_limit(scope)
    per_file = (
        f" an uploaded file may be at most {file_max:,} bytes ({mb_text(file_max)});"
        if isinstance(file_max, int) and file_max < limit
        else ""
    )
    return (
        f"The request body{size} is larger than the {limit:,} bytes ({mb_text(limit)}) this "
        f"route accepts;{per_file} split the file into smaller files, or ask the operator "
        "to raise IMPACT_GRAPH_UPLOAD_MAX_BYTES."
    )


def _quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type``: the most specific matching range
    decides (``text/html`` over ``text/*`` over ``*/*``), 0 when none matches."""
    kind = media_type.split("/", 1)[0]
    best, best_rank = 0.0, -1
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        rng = fields[0].lower()
        rank = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(rng, -1)
        if rank <= best_rank:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        best, best_rank = q, rank
    return best


def prefers_html(request: Request) -> bool:
    """True when the client is a browser: its ``Accept`` ranks text/html above JSON.

    Why this rule: browsers send ``text/html,...,*/*;q=0.8`` for a page, while API
    clients send ``application/json``, ``application/problem+json`` or ``*/*`` (httpx,
    curl, requests), which rank HTML no higher than JSON and so keep problem+json.
    """
    accept = request.headers.get("accept", "")
    if not accept:
        return False
    html = max(_quality(accept, "text/html"), _quality(accept, "application/xhtml+xml"))
    json = max(_quality(accept, "application/json"), _quality(accept, PROBLEM_JSON))
    return html > 0 and html > json


def not_found_page(request: Request) -> HTMLResponse:
    """The Dutch 404 page of the web UI (its layout, a link home) for a browser.

    The path is shown as text: the template escapes it.
    """
    from impact_graph.web.pages import page  # the web UI imports the API, not back

    resp = page("not_found.html", status=404, path=request.url.path, nav=None)
    resp.headers["Vary"] = "Accept"
    return resp


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build the problem+json response for ``status`` on this request.

    ``extra`` adds extension members (RFC 9457 section 3.2), e.g. the store state.
    """
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = Problem(
        type=TYPE_BASE + (slug or _SLUGS.get(status, str(status))),
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    ).model_dump(exclude_none=True)
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    """('query', 'limit') -> "query parameter 'limit'"."""
    parts = [str(p) for p in loc]
    if not parts:
        return "the request"
    where, rest = parts[0], parts[1:]
    name = ".".join(rest) if rest else ""
    kinds = {"query": "query parameter", "path": "path parameter", "header": "header"}
    if where in kinds:
        return f"{kinds[where]} '{name}'" if name else kinds[where]
    if where == "body":
        return f"form field '{name}'" if name else "the request body"
    return "'" + ".".join(parts) + "'"


def validation_sentence(errors: list[dict[str, Any]]) -> str:
    """One sentence for all validation errors: where, what is wrong, and the input."""
    parts = []
    for e in errors[:5]:
        msg = str(e.get("msg", "is invalid")).rstrip(".")
        parts.append(f"{_loc(e.get('loc', ()))}: {msg[:1].lower() + msg[1:]}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "Fix the request: " + "; ".join(parts) + more + "."


def _plain_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors reduced to JSON-safe fields (inputs may be bytes or huge)."""
    out = []
    for e in errors[:20]:
        item: dict[str, Any] = {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        out.append(item)
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            request,
            exc.status,
            exc.detail,
            slug=exc.slug,
            headers=exc.headers,
            errors=exc.errors,
            extra=exc.extra,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        unknown_route = exc.status_code == 404 and (not detail or detail == HTTPStatus(404).phrase)
        if unknown_route:
            # A browser following a stale link gets a page in Dutch; clients keep JSON.
            if prefers_html(request):
                return not_found_page(request)
            resp = problem_response(request, 404, _DEFAULT_DETAIL[404])
            resp.headers["Vary"] = "Accept"
            return resp
        # Starlette's own details are bare titles ("Not Found"): give a sentence instead.
        if exc.status_code in _DEFAULT_DETAIL and (
            not detail or detail == HTTPStatus(exc.status_code).phrase or detail.istitle()
        ):
            detail = _DEFAULT_DETAIL[exc.status_code]
        extra = None
        if exc.status_code == 413:
            extra = {"detail_nl": too_large_nl(_file_limit(request.scope))}
            if detail == _DEFAULT_DETAIL[413]:
                detail = too_large_detail(request.scope)
        if exc.status_code == 400 and "parsing the body" in detail:
            detail = _DEFAULT_DETAIL[400]
        return problem_response(
            request,
            exc.status_code,
            detail or HTTPStatus(exc.status_code).phrase,
            headers=getattr(exc, "headers", None),
            extra=extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        return problem_response(
            request, 422, validation_sentence(errors), errors=_plain_errors(errors)
        )

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        svc = getattr(request.app.state, "services", None)
        if svc is not None and "still being built" not in str(exc):
            svc.invalidate(str(exc))  # a later request reopens the store
        return problem_response(request, 503, str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(StoreAuthError)
    async def _store_auth(request: Request, exc: StoreAuthError) -> JSONResponse:
        return problem_response(request, 503, str(exc), slug="store-auth")

    @app.exception_handler(QueryTimeout)
    async def _timeout(request: Request, exc: QueryTimeout) -> JSONResponse:
        return problem_response(request, 503, str(exc), slug="query-timeout")

    @app.exception_handler(QueryRefused)
    async def _refused(request: Request, exc: QueryRefused) -> JSONResponse:
        return problem_response(request, 400, str(exc), slug="query-refused")

    @app.exception_handler(QuerySyntaxError)
    async def _syntax(request: Request, exc: QuerySyntaxError) -> JSONResponse:
        return problem_response(request, 400, str(exc), slug="query-syntax")

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        # Other store errors are the server's fault, but still told as a sentence.
        log.warning("store error on %s: %s", request.url.path, exc)
        return problem_response(request, 503, str(exc), slug="store-error")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        return problem_response(
            request,
            500,
            "The server failed unexpectedly; retry, and report it with the time and the "
            "request if it happens again.",
        )


#: ``responses=`` entries for the OpenAPI document of routes.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for the given problem statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        out[s] = {
            "model": Problem,
            "description": HTTPStatus(s).phrase + " (problem+json; `detail` says what to change)",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out


class TooLargeAsProblem:
    """Turn Starlette's plain-text "Content Too Large" into a problem+json 413.

    The route-level body limit answers by itself when ``Content-Length`` is over the
    limit (it even replaces the app's own response), so its bare text is rewritten here,
    on the way out, like every other error of this API.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        swallow = False

        async def sender(message: Any) -> None:
            nonlocal swallow
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/plain"):
                    swallow = True
                    detail = too_large_detail(scope)
                    nl = {"detail_nl": too_large_nl(_file_limit(scope))}
                    resp = problem_response(Request(scope), 413, detail, extra=nl)
                    await resp(scope, receive, send)
                    return
            if swallow:
                return  # the plain-text body of the replaced response
            await send(message)

        await self.app(scope, receive, sender)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json.

    Starlette answers a preflight (``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``) it refuses with a plain-text 400 "Disallowed CORS
    origin", the one error of this API that was not problem+json. The decision and the
    headers stay Starlette's (`CORSMiddleware.preflight_response`); only a refusal's body
    becomes a problem whose ``detail`` says what was refused and where the allowed values
    are set. Allowed preflights and every other request pass through unchanged.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                response = self.preflight_response(request_headers=headers)
                if response.status_code == 400:
                    response = self._refusal(Request(scope), headers, response)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _refusal(self, request: Request, asked: Headers, refused: Response) -> JSONResponse:
        """The problem+json of a refused preflight, with Starlette's CORS headers."""
        origin = asked["origin"]
        method = asked["access-control-request-method"]
        wanted = [h.strip() for h in asked.get("access-control-request-headers", "").split(",")]
        sentences = []
        if not self.is_allowed_origin(origin=origin):
            sentences.append(
                f"Browser pages from the origin {origin!r} may not call this API: the "
                "server's cors_origins setting (IMPACT_GRAPH_CORS_ORIGINS) lists the "
                "origins that may; ask the server's administrator to add it, or call the "
                "API from a server or notebook, where CORS does not apply."
            )
        if method not in self.allow_methods:
            sentences.append(
                f"Browsers may not send {method} requests to this API; the methods allowed "
                f"are {', '.join(self.allow_methods)}."
            )
        if not self.allow_all_headers and any(
            h and h.lower() not in self.allow_headers for h in wanted
        ):
            sentences.append(
                f"Of the request headers {', '.join(h for h in wanted if h)}, only these are "
                f"allowed: {', '.join(self.allow_headers)}."
            )
        if "access-control-request-private-network" in asked and not self.allow_private_network:
            sentences.append(
                "A public web page may not call this server on a private network; call it "
                "from a page on the same network."
            )
        if not sentences:  # a refusal Starlette has and this list not (a newer version)
            sentences.append(
                f"The browser's cross-origin request was refused ({refused.body.decode()}); "
                "the server's cors_origins setting (IMPACT_GRAPH_CORS_ORIGINS) lists the "
                "origins that may call this API."
            )
        kept = {
            k: v
            for k, v in refused.headers.items()
            if k.lower() not in ("content-type", "content-length")
        }
        return problem_response(
            request, 400, " ".join(sentences), slug="cors-refused", headers=kept
        )
