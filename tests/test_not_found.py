"""An unknown URL: a browser gets a Dutch HTML page, an API client problem+json.

The app is built without opening its store (no lifespan): a 404 needs none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

from impact_graph.api import problems
from impact_graph.config import Settings

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from impact_graph.api.app import create_app

    data_dir: Path = tmp_path_factory.mktemp("not-found")
    return TestClient(create_app(Settings(data_dir=data_dir), warm_up=False))


def test_browser_gets_dutch_page_in_site_layout(client: TestClient) -> None:
    r = client.get("/nietbestaand", headers={"Accept": BROWSER})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "accept" in r.headers["vary"].lower()
    html = r.text
    assert '<html lang="nl">' in html
    assert "Pagina niet gevonden" in html
    assert "<code>/nietbestaand</code>" in html
    assert '<a href="/">' in html  # a link home
    assert 'href="/static/app.css"' in html  # the site's layout (base.html)
    assert "see GET /docs" not in html


def test_path_is_escaped(client: TestClient) -> None:
    r = client.get("/<script>alert(1)</script>", headers={"Accept": BROWSER})
    assert r.status_code == 404
    assert "<script>alert" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/problem+json", "text/html;q=0.5, */*"],
)
def test_api_clients_keep_problem_json(client: TestClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    if accept is None:
        client.headers.pop("accept", None)
    r = client.get("/nietbestaand", headers=headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == problems.PROBLEM_JSON
    body = r.json()
    assert body["status"] == 404 and body["instance"] == "/nietbestaand"
    assert "GET /docs" in body["detail"]


def test_known_api_404_stays_problem_json_for_a_browser() -> None:
    """A route's own 404 (a sentence about what is missing) is not an unknown page."""
    app = FastAPI()
    problems.install(app)

    @app.get("/things/{name}")
    def thing(name: str) -> None:
        raise HTTPException(404, f"There is no thing {name!r}; list them with GET /things.")

    r = TestClient(app).get("/things/x", headers={"Accept": BROWSER})
    assert r.status_code == 404
    assert r.headers["content-type"] == problems.PROBLEM_JSON
    assert "There is no thing 'x'" in r.json()["detail"]


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("application/xhtml+xml", True),
        ("*/*", False),
        ("application/json, text/html", False),
        ("application/json;q=0.5, text/html", True),
        ("text/html;q=0", False),
        ("text/*", True),
        ("text/*;q=0.3, application/json;q=0.4", False),
        ("text/html;q=abc", False),
        ("", False),
    ],
)
def test_prefers_html(accept: str, html: bool) -> None:
    scope = {"type": "http", "headers": [(b"accept", accept.encode())]}
    assert problems.prefers_html(Request(scope)) is html
