"""The API docs pages in Chromium: /redoc and /docs make no request outside the app.

ReDoc's bundle shows a logo from cdn.redoc.ly; the pages' Content-Security-Policy kept
it from loading, but the browser still reported a blocked request on every visit. Served
as `impact_graph.api.docs` serves it, the page asks for nothing outside the app, and
the browser reports no policy violation. A bare FastAPI app with `add_offline_docs` is
enough (tests/test_offline_docs_app.py checks the real app mounts the same pages).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from impact_graph.api.docs import add_offline_docs
from tests.browser.conftest import serve


@pytest.fixture(scope="module")
def docs_server() -> Iterator[str]:
    """A bare app with the offline docs under uvicorn on a free port; its base URL."""
    app = FastAPI(title="docs test", docs_url=None, redoc_url=None)

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    add_offline_docs(app)
    with serve(app, lifespan="off") as url:
        yield url


def visit(browser: Any, base: str, path: str, ready: str) -> tuple[list[str], list[str]]:
    """Open ``path`` until ``ready`` shows; (requests to other hosts, console errors)."""
    ctx = browser.new_context()
    page = ctx.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(base) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    ctx.route("**/*", route)
    try:
        page.goto(base + path)
        page.wait_for_selector(ready, timeout=60_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # ReDoc adds the logo after its menu has rendered
    finally:
        ctx.close()
    return outside, errors


def test_redoc_asks_for_nothing_outside_the_app(browser: Any, docs_server: str) -> None:
    outside, errors = visit(browser, docs_server, "/redoc", "text=API docs by Redocly")
    assert outside == [], outside  # was ['https://cdn.redoc.ly/redoc/logo-mini.svg']
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert errors == [], errors


def test_swagger_ui_asks_for_nothing_outside_the_app(browser: Any, docs_server: str) -> None:
    outside, errors = visit(browser, docs_server, "/docs", ".opblock-summary-path")
    assert outside == [] and errors == [], (outside, errors)
