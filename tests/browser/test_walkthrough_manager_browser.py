"""A programme manager's walk through the web UI in Chromium (session 10, H47).

What she stumbled on, each held by a test: on a phone (390 px) the network's legend left
the picture 86 px wide and entity and candidate pages scrolled sideways; a double-click
on an effect in the what-works picture opened a focus view that answered "not in this
network"; a fresh browser asked for /favicon.ico and got a 404 (a red console line);
and uploading, the same file twice said "(0 tekstfragmenten)" of a document that has
some, and a corrected version said only "Toegevoegd." while the earlier version stayed
beside it (uploads are named by content), its facts counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from impact_graph.config import Settings
from impact_graph.model import make_id
from tests.browser.conftest import Page, keyed_app

STABLE = "document.getElementById('ig-network').dataset.stable === '1'"
PHONE = {"width": 390, "height": 800}


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Page]:
    ctx = browser.new_context(viewport=PHONE, locale="nl-NL")
    page = ctx.new_page()
    w = Page(page, live_server)
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    yield w
    ctx.close()


def test_on_a_phone_no_page_scrolls_sideways(phone: Page) -> None:
    pages = [
        f"/entiteit/{quote(make_id('Programme', 'Samen Minder Alleen'))}",
        f"/entiteit/{quote(make_id('Intervention', 'Welzijn op Recept'))}",
        "/kandidaten",
        "/bewijskaart",
        "/?q=eenzaamheid",
        "/netwerk",
        "/uploaden",  # its kind menu was 553 px wide (the longest option)
        "/ontology",  # no viewport: a phone drew it 1001 px wide
    ]
    for path in pages:
        phone.goto(path)
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px phone"
    assert phone.errors == []


def test_on_a_phone_the_network_picture_takes_the_width(phone: Page) -> None:
    phone.goto("/netwerk")
    phone.page.wait_for_function(STABLE, timeout=60_000)
    box = phone.page.locator("#ig-network").bounding_box()
    assert box is not None and box["width"] >= 0.8 * PHONE["width"], box
    phone.shot("netwerk-telefoon")


def test_double_click_on_an_effect_opens_its_page_not_a_focus_error(web: Page) -> None:
    web.goto("/netwerk?view=whatworks&q=eenzaamheid")
    web.page.wait_for_function(STABLE, timeout=60_000)
    effect = web.page.evaluate(
        "(network.body.data.nodes.get().find(n => n.type === 'Effect') || {}).id"
    )
    assert effect, "the what-works picture has no effect"
    # vis-network's own event, as its double-click handler receives it.
    web.page.evaluate(f"network.body.emitter.emit('doubleClick', {{nodes: [{effect!r}]}})")
    web.page.wait_for_url(f"**/entiteit/{quote(effect)}", timeout=30_000)
    assert web.page.locator("h1").inner_text()
    # An intervention still opens its focus view.
    web.goto("/netwerk?view=whatworks&q=eenzaamheid")
    web.page.wait_for_function(STABLE, timeout=60_000)
    wor = make_id("Intervention", "Welzijn op Recept")
    web.page.evaluate(f"network.body.emitter.emit('doubleClick', {{nodes: [{wor!r}]}})")
    web.page.wait_for_url("**/netwerk?view=focus*", timeout=30_000)
    web.page.wait_for_function(STABLE, timeout=60_000)
    assert web.errors == [] and web.outside == []


def test_pages_name_their_icon_so_the_browser_asks_for_no_favicon(web: Page) -> None:
    # Without an icon link Chromium asks for /favicon.ico, gets a 404, and shows it as a
    # console error (seen on the first page of a fresh browser in the walk-through).
    for path in ("/", "/?q=eenzaamheid", "/bewijskaart", "/uploaden", "/kandidaten"):
        web.goto(path)
        icon = web.page.evaluate("(document.querySelector('link[rel=icon]') || {}).href")
        assert icon and icon.startswith("data:"), (path, icon)


KEY = "ig_test_walkthrough_manager_key"


@pytest.fixture
def keyed_server(browser_settings: Settings, web_embedder: object) -> Iterator[str]:
    """The app with one API key, so the upload form can add documents; the documents it
    adds are deleted after."""
    with keyed_app(browser_settings, web_embedder, KEY, "Buurtmaatjes in de wijk") as (url, _):
        yield url


def test_upload_says_unchanged_and_changed_in_words_that_fit(
    browser: Any, keyed_server: str
) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    page = ctx.new_page()
    text = "# Buurtmaatjes in de wijk\n\nBuurtmaatjes bezoeken alleenstaande ouderen thuis.\n"

    def upload(body: str) -> str:
        page.goto(keyed_server + "/uploaden")
        page.get_by_label("API-sleutel").fill(KEY)
        page.get_by_label("Bestand").set_input_files(
            {"name": "buurtmaatjes.md", "mimeType": "text/markdown", "buffer": body.encode()}
        )
        page.get_by_role("button", name="Toevoegen").click()
        page.locator("#upload-result .ok, #upload-result .error").wait_for(timeout=120_000)
        return str(page.locator("#upload-result").inner_text())

    try:
        first = upload(text)
        assert "Toegevoegd." in first and "(1 tekstfragment)" in first, first
        again = upload(text)
        assert "stond er al" in again, again
        assert "0 tekstfragmenten" not in again, again  # the document has its fragment
        # A corrected version is a new document (uploads are named by content): the form
        # says the earlier one is still there and deletes it on request.
        page.goto(keyed_server + "/uploaden")
        upload(text + "\nZe drinken samen koffie.\n")
        warning = page.locator("#upload-result .earlier")
        warning.wait_for(timeout=30_000)
        assert "eerdere versie van 'buurtmaatjes.md'" in warning.inner_text()
        page.get_by_role("button", name="Verwijder deze eerdere versie").click()
        page.get_by_text("Verwijderd.").wait_for(timeout=60_000)
        left = httpx.get(keyed_server + "/documents", params={"limit": 100}, timeout=60).json()
        titles = [d["title"] for d in left["items"]]
        assert titles.count("Buurtmaatjes in de wijk") == 1, titles
    finally:
        ctx.close()
