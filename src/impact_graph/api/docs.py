"""The interactive API docs (/docs: Swagger UI, /redoc: ReDoc) served without a CDN.

Why: FastAPI's own /docs and /redoc pages load their JavaScript and CSS from
cdn.jsdelivr.net (and ReDoc its fonts from Google). On a machine or municipal network
without internet the "API" link of the web UI then opens a blank page, and with internet
every visit tells a third party that someone opened the docs. The Swagger UI and ReDoc
files ship in the ``fastapi-offline`` package (``api`` extra); this module serves them
from the app itself and points FastAPI's ``get_swagger_ui_html``/``get_redoc_html`` at
them.

Two more things would still reach out from a page built that way, and are turned off
here: Swagger UI's validator badge (an image from validator.swagger.io, sent the
OpenAPI URL) via ``validatorUrl: null``, and ReDoc's "Redocly" logo (an image from
cdn.redoc.ly that its bundle always shows beside "API docs by Redocly", with no option
to leave it out): ReDoc's bundle is served with that address replaced by an empty
image (`redoc_bundle`), so the page asks for nothing outside. A Content-Security-Policy
on both pages lets them load from this app only, should anything else try.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

#: Where the Swagger UI / ReDoc files are served (no other route of the app uses it).
STATIC_URL = "/docs-static"

#: The doc pages may load from this app only. Swagger UI's page starts it with an inline
#: script and both UIs set inline styles; ReDoc builds its search worker from a blob:.
#: Both pages rendered in headless Chromium without ``unsafe-eval``; it stays allowed
#: because this policy is about the network, not script hardening, and bundled code
#: (ReDoc's JSON-schema tooling) may compile functions. Nothing else is allowed: an
#: image or font from elsewhere (ReDoc's logo from cdn.redoc.ly) is simply not fetched.
DOCS_CSP = (
    "default-src 'self'; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "worker-src 'self' blob:; "
    "connect-src 'self'; "
    "frame-ancestors 'self'"
)


#: The address of the logo ReDoc's bundle shows in its menu (``<img src=...>``), and
#: what it is replaced by: an empty image of no size, which the policy allows (data:).
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
NO_LOGO = (
    "data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 "
    "width=%220%22 height=%220%22/%3E"
)
#: Where the ReDoc bundle without the outside logo is served (a route, not the folder).
REDOC_JS = "redoc.offline.js"


@lru_cache(maxsize=1)
def redoc_bundle() -> tuple[bytes, str]:
    """ReDoc's bundle with its logo address replaced (`REDOC_LOGO`), and its ETag.

    Why not leave the logo to the Content-Security-Policy: the browser then reports a
    blocked request on every visit (in its console and to anyone watching requests). A
    ReDoc version without that address is served as it is."""
    code = (static_dir() / "redoc.standalone.js").read_bytes()
    code = code.replace(REDOC_LOGO.encode(), NO_LOGO.encode())
    return code, '"' + hashlib.sha256(code).hexdigest()[:32] + '"'


def static_dir() -> Path:
    """The folder of ``swagger-ui-bundle.js``, ``swagger-ui.css``,
    ``redoc.standalone.js`` and ``favicon.png`` inside the installed fastapi-offline.

    Raises ``RuntimeError`` with a sentence when the package is missing (it comes with
    the ``api`` extra), so the app fails at start-up rather than serving blank pages.
    """
    try:
        folder = Path(str(files("fastapi_offline") / "static"))
    except ModuleNotFoundError as e:
        raise RuntimeError(
            "The API docs need the package 'fastapi-offline' (Swagger UI and ReDoc "
            "files); install the api extra: pip install 'impact-graph[api]'."
        ) from e
    needed = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        raise RuntimeError(
            f"The installed fastapi-offline lacks {', '.join(missing)} in {folder}; "
            "reinstall it: pip install --force-reinstall fastapi-offline."
        )
    return folder


def _drop_routes(app: FastAPI, paths: set[str]) -> None:
    """Remove FastAPI's own (CDN) doc routes for ``paths``, if the app made them."""
    routes = app.router.routes
    routes[:] = [r for r in routes if not (isinstance(r, Route) and r.path in paths)]
    changed = getattr(app.router, "_mark_routes_changed", None)
    if changed is not None:  # FastAPI 0.16x caches route lists by a version number
        changed()


def add_offline_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url`` from files in the app.

    Meant for an app made with ``FastAPI(docs_url=None, redoc_url=None)``; if FastAPI's
    own CDN pages were made anyway they are replaced, so the docs never depend on the
    internet. The OpenAPI document stays where the app serves it (``app.openapi_url``).
    """
    folder = static_dir()
    _drop_routes(app, {docs_url, redoc_url})
    app.docs_url = None
    app.redoc_url = None

    # Before the folder's mount, which would otherwise answer this path (with a 404).
    @app.get(f"{STATIC_URL}/{REDOC_JS}", include_in_schema=False)
    async def redoc_js(request: Request) -> Response:
        code, etag = redoc_bundle()
        headers = {"ETag": etag, "Cache-Control": "no-cache"}  # revalidate: 304 by ETag
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(code, media_type="text/javascript; charset=utf-8", headers=headers)

    app.mount(STATIC_URL, StaticFiles(directory=folder), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    headers = {"Content-Security-Policy": DOCS_CSP}

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=app.title + " - Swagger UI",
            oauth2_redirect_url=oauth2_redirect_url,
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            # null: no validator badge (an image from validator.swagger.io).
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        page.headers.update(headers)
        return page

    paths = {getattr(r, "path", None) for r in app.router.routes}
    if oauth2_redirect_url and oauth2_redirect_url not in paths:
        # FastAPI adds this page only with its own /docs; Swagger UI links to it.
        @app.get(oauth2_redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=app.title + " - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/{REDOC_JS}",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(headers)
        return page
