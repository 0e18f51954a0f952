"""The real app's /docs and /redoc work offline (api/docs.py wired into api/app.py).

The store is not opened (no lifespan): the doc pages, their files and the OpenAPI
document need none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impact_graph.config import Settings
from tests.test_offline_docs import check_offline_page


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from impact_graph.api.app import create_app

    data_dir: Path = tmp_path_factory.mktemp("offline-docs")
    return TestClient(create_app(Settings(data_dir=data_dir), warm_up=False))


def test_docs_offline(client: TestClient) -> None:
    check_offline_page(client, "/docs", expect={".js", ".css", ".png", ".json"})


def test_redoc_offline(client: TestClient) -> None:
    check_offline_page(client, "/redoc", expect={".js", ".png", ".json"})


def test_openapi_still_served(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert "/search" in r.json()["paths"]


def test_web_ui_api_link_opens_the_offline_docs(client: TestClient) -> None:
    """The web UI's "API" link (/docs) must not open a page that needs the internet."""
    html = client.get("/docs").text
    assert "cdn.jsdelivr.net" not in html
