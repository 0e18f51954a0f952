"""The candidates page (``/kandidaten``) in headless Chromium: the form filters by type,
a name opens its entity page, and a candidate named like an HTML tag stays text.

The rows are compared with ``GET /candidates`` for the same filters. A screenshot goes to
``test-artifacts/kandidaten.png``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from impact_graph.config import Settings
from tests.browser.conftest import Page
from tests.test_web_candidates import candidate_batch

HOSTILE = "<img src=x onerror=alert(7)>"


@pytest.fixture
def hostile_candidate(browser_settings: Settings) -> Iterator[None]:
    """A candidate intervention named like an HTML tag, in a document of its own."""
    from impact_graph.store import open_store

    batch = candidate_batch("kandidaat-xss.md", [("Intervention", HOSTILE)])
    store = open_store(browser_settings)
    store.upsert_batch(batch)
    try:
        yield
    finally:
        store.delete_document(batch.document.id)
        store.close()


def api_names(web: Page, **params: str) -> list[str]:
    r = httpx.get(web.base + "/candidates", params=params, timeout=60)
    assert r.status_code == 200, r.text
    return [x["name"] for x in r.json()["items"]]


def test_candidates_page_filters_and_links(web: Page, hostile_candidate: None) -> None:
    web.goto("/kandidaten")
    rows = web.page.locator("table.candidates tbody tr")
    names = [t.strip() for t in rows.locator("td:nth-child(2) a").all_inner_texts()]
    assert names == api_names(web)
    assert HOSTILE in names  # shown as its text...
    assert web.page.evaluate("document.querySelectorAll('main img').length") == 0  # ...no tag
    web.shot("kandidaten")
    # The explanation opens on a click and names the file for each type.
    file_cell = web.page.get_by_text("ontology/vocabularies/interventions.ttl")
    assert not file_cell.is_visible()
    web.page.get_by_text("Wat doe je met een kandidaat?").click()
    assert file_cell.is_visible()
    web.shot("kandidaten-uitleg")
    # Choose a type in the form and submit it, as a user would.
    web.page.get_by_label("Soort").select_option("Actor")
    web.page.get_by_role("button", name="Toon").click()
    web.page.wait_for_url("**/kandidaten?label=Actor*", timeout=30_000)
    types = {t.strip() for t in rows.locator("td:first-child").all_inner_texts()}
    assert types == {"Betrokkene"}  # the Dutch name every page uses
    actors = [t.strip() for t in rows.locator("td:nth-child(2) a").all_inner_texts()]
    assert actors == api_names(web, label="Actor") and actors
    # A name opens its entity page.
    rows.locator("td:nth-child(2) a").first.click()
    web.page.wait_for_url("**/entiteit/actor:*", timeout=30_000)
    assert web.page.locator("h1").inner_text() == actors[0]
    web.page.wait_for_timeout(200)
    assert web.dialogs == [], web.dialogs
    assert web.outside == [] and web.errors == []
