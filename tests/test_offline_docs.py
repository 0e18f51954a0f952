"""The API docs work offline: /docs and /redoc load Swagger UI and ReDoc from the app.

Tested on a bare FastAPI app with `add_offline_docs` (tests/test_offline_docs_app.py
tests the real app). The pages must name no http(s) address at all (everything they
load is a relative URL of the app), every script, stylesheet and icon they load must
answer 200 with its content type, and the OpenAPI document must still be served.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impact_graph.api.docs import (
    DOCS_CSP,
    NO_LOGO,
    REDOC_JS,
    REDOC_LOGO,
    STATIC_URL,
    add_offline_docs,
    static_dir,
)

#: Any absolute http(s) address in a page (the pages must have none).
ABSOLUTE = re.compile(r"https?://[^\s\"'<>)]+")
#: What a page loads: <script src>, <link href>, and the OpenAPI URL it is given.
LOADS = re.compile(r"""(?:src|href)="([^"]+)"|url: '([^']+)'|spec-url="([^"]+)\"""")

TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


def loaded_urls(html: str) -> list[str]:
    """The URLs a doc page makes the browser load, in order."""
    return [next(g for g in m.groups() if g) for m in LOADS.finditer(html)]


def check_offline_page(client: TestClient, path: str, *, expect: set[str]) -> None:
    """``path`` answers an HTML page that loads only ``expect``-typed files from the app,
    each answering 200 with its content type."""
    r = client.get(path)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert ABSOLUTE.findall(r.text) == [], f"{path} names outside addresses"
    assert r.headers["content-security-policy"] == DOCS_CSP
    urls = loaded_urls(r.text)
    kinds = set()
    for url in urls:
        assert url.startswith("/"), f"{path} loads {url!r}, not a path of the app"
        got = client.get(url)
        assert got.status_code == 200, f"{path}: {url} answered {got.status_code}"
        kind = next(k for k in TYPES if url.endswith(k))
        assert got.headers["content-type"].startswith(TYPES[kind]), (url, got.headers)
        assert len(got.content) > 1000, f"{url} is nearly empty"
        kinds.add(kind)
    assert kinds == expect, (path, urls)


@pytest.fixture
def client() -> TestClient:
    app = FastAPI(title="docs test", docs_url=None, redoc_url=None)

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    add_offline_docs(app)
    return TestClient(app)


def test_swagger_ui_loads_only_local_files(client: TestClient) -> None:
    check_offline_page(client, "/docs", expect={".js", ".css", ".png", ".json"})
    html = client.get("/docs").text
    assert f"{STATIC_URL}/swagger-ui-bundle.js" in html
    # The validator badge would load an image from validator.swagger.io.
    assert '"validatorUrl": null' in html


def test_redoc_loads_only_local_files(client: TestClient) -> None:
    check_offline_page(client, "/redoc", expect={".js", ".png", ".json"})
    assert f"{STATIC_URL}/{REDOC_JS}" in client.get("/redoc").text


def test_redoc_bundle_shows_no_logo_from_outside(client: TestClient) -> None:
    """ReDoc's bundle always shows an image from cdn.redoc.ly in its menu; the policy
    blocked it, a blocked request on every visit. The bundle the page loads has an
    empty image there instead, and is otherwise the installed one."""
    original = (static_dir() / "redoc.standalone.js").read_bytes()
    assert original.count(REDOC_LOGO.encode()) == 1  # the one image it names
    r = client.get(f"{STATIC_URL}/{REDOC_JS}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert b"cdn.redoc.ly" not in r.content
    assert not re.search(rb'src:"https?:', r.content)  # no other image or script address
    assert r.content == original.replace(REDOC_LOGO.encode(), NO_LOGO.encode())
    assert NO_LOGO.startswith("data:")  # what img-src allows besides the app
    # Cached by the browser, asked again with its ETag: 304, no megabyte sent again.
    again = client.get(f"{STATIC_URL}/{REDOC_JS}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    # The installed file itself is still served as it is, at its own name.
    assert client.get(f"{STATIC_URL}/redoc.standalone.js").content == original


def test_csp_lets_the_pages_load_from_the_app_only() -> None:
    """The pages load from the app only; anything else is blocked by the policy."""
    directives = dict(d.strip().split(" ", 1) for d in DOCS_CSP.split(";"))
    for name, value in directives.items():
        assert "http" not in value and "*" not in value, (name, value)
    assert directives["default-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["connect-src"] == "'self'"


def test_openapi_still_served(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert "/items/{item_id}" in spec["paths"]
    # The doc pages and their files are not API routes.
    assert not any(p.startswith(("/docs", "/redoc")) for p in spec["paths"])


def test_replaces_fastapis_cdn_pages() -> None:
    """An app made with the default docs_url still ends up with the offline pages."""
    app = FastAPI()
    add_offline_docs(app)
    client = TestClient(app)
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assert "cdn.jsdelivr.net" not in html and STATIC_URL in html
    assert [getattr(r, "path", None) for r in app.router.routes].count("/docs") == 1


def test_static_files_unknown_name_is_404(client: TestClient) -> None:
    assert client.get(f"{STATIC_URL}/nope.js").status_code == 404


def test_oauth2_redirect_page_is_served_and_offline(client: TestClient) -> None:
    """Swagger UI's page names it; FastAPI adds it only with its own (CDN) /docs."""
    r = client.get("/docs/oauth2-redirect")
    assert r.status_code == 200 and "oauth2" in r.text.lower()
    assert ABSOLUTE.findall(r.text) == []
