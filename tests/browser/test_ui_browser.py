"""The web UI in headless Chromium: search, the stakeholder network, a focus view, XSS.

Node counts are read from vis-network's own data (``network.body.data.nodes``) and
compared with what ``GET /network`` says for the same parameters. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from impact_graph.model import make_id
from impact_graph.network.render import counted_nl
from tests.browser.conftest import Page
from tests.test_network import XSS

STABLE = "document.getElementById('ig-network').dataset.stable === '1'"
XSS_ID = make_id("Actor", XSS)


def wait_drawn(web: Page) -> None:
    web.page.wait_for_function(STABLE, timeout=60_000)


def expected(web: Page, **params: str) -> dict:  # type: ignore[type-arg]
    r = httpx.get(web.base + "/network", params=params, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_search_shows_result_cards(web: Page) -> None:
    web.goto("/")
    box = web.page.get_by_label("Zoekvraag")
    box.fill("wat helpt tegen eenzaamheid bij ouderen")
    box.press("Enter")
    web.page.wait_for_selector("article.card", timeout=60_000)
    cards = web.page.locator("article.card")
    assert cards.count() >= 1
    names = [t.strip() for t in cards.locator("h2").all_inner_texts()]
    assert "Welzijn op Recept" in names[:5], names
    assert web.page.locator("article.card blockquote").count() >= 1
    web.shot("zoeken")
    assert web.outside == [] and web.errors == []


def test_stakeholder_network_draws_every_node(web: Page) -> None:
    want = expected(web)
    web.goto("/netwerk")
    wait_drawn(web)
    drawn = web.page.evaluate("network.body.data.nodes.length")
    assert drawn == want["counts"]["nodes"] > 5
    assert web.page.evaluate("network.body.data.edges.length") == want["counts"]["edges"]
    # The status line the script writes once drawn counts in a reader's words ("32
    # betrokkenen, 9 interventies en 2 programma's"), not "knopen" (H68).
    status = web.page.locator("#ig-net-status").inner_text()
    edges = want["counts"]["edges"]
    assert status.startswith(f"{counted_nl(want['nodes'])}, {edges} verbindingen. Sleep"), status
    assert "knopen" not in status and "knoop" not in status
    # Physics is off once the layout has settled (large graphs stay usable).
    assert web.page.evaluate("network.physics.options.enabled") is False
    # Size by betweenness, chosen in the page.
    web.page.get_by_label("Grootte naar").select_option("betweenness")
    top = max(want["nodes"], key=lambda n: n["betweenness"])
    value = web.page.evaluate(f"network.body.data.nodes.get({top['id']!r}).value")
    assert value == top["betweenness"] + 0.01 and top["betweenness"] > 0
    web.shot("netwerk")
    assert web.outside == [] and web.errors == []


def test_focus_view_opens_from_the_network(web: Page) -> None:
    prog = make_id("Programme", "Samen Minder Alleen")
    want = expected(web, view="focus", focus=prog, hops="1")
    web.goto(f"/netwerk?view=focus&hops=1&focus={quote(prog)}")
    wait_drawn(web)
    assert web.page.evaluate("network.body.data.nodes.length") == want["counts"]["nodes"]
    assert XSS_ID in web.page.evaluate("network.body.data.nodes.getIds()")
    web.shot("focus")
    # Keyboard: select a node in the canvas and press Enter to focus on it.
    web.page.evaluate(f"network.selectNodes([{XSS_ID!r}])")
    web.page.locator("#ig-network").focus()
    web.page.keyboard.press("Enter")
    web.page.wait_for_url("**/netwerk?view=focus*focus=actor*", timeout=30_000)
    wait_drawn(web)
    ego = expected(web, view="focus", focus=XSS_ID, hops="1")
    assert web.page.evaluate("network.body.data.nodes.length") == ego["counts"]["nodes"]
    assert web.outside == [] and web.errors == []


def test_xss_label_renders_as_text(web: Page) -> None:
    web.goto("/netwerk")
    wait_drawn(web)
    # Hover the node: the tooltip must show the name as text, with no <img> element.
    web.page.evaluate(f"network.focus({XSS_ID!r}, {{scale: 1.5}})")
    web.page.wait_for_timeout(300)
    pos = web.page.evaluate(f"network.canvasToDOM(network.getPosition({XSS_ID!r}))")
    box = web.page.locator("#ig-network").bounding_box()
    assert box is not None
    web.page.mouse.move(box["x"] + pos["x"], box["y"] + pos["y"])
    tip = web.page.locator("div.vis-tooltip")
    tip.wait_for(state="visible", timeout=10_000)
    assert tip.inner_text().startswith(XSS)
    assert web.page.evaluate("document.querySelectorAll('img').length") == 0
    web.shot("xss-tooltip")
    # The entity page and the standalone HTML show it as text too.
    web.goto(f"/entiteit/{quote(XSS_ID)}")
    assert web.page.locator("h1").inner_text() == XSS
    web.goto("/network.html")
    wait_drawn(web)
    assert XSS in web.page.evaluate("network.body.data.nodes.map(n => n.label)")
    assert web.page.evaluate("document.querySelectorAll('img').length") == 0
    web.page.wait_for_timeout(300)
    assert web.dialogs == [], web.dialogs
    assert web.outside == [] and web.errors == []


def test_upload_form_sends_the_key_and_shows_the_answer(web: Page) -> None:
    web.goto("/uploaden")
    web.page.get_by_label("API-sleutel").fill("geen-geldige-sleutel")
    web.page.get_by_label("Bestand").set_input_files(
        {"name": "notitie.md", "mimeType": "text/markdown", "buffer": b"# Notitie\n\nTekst."}
    )
    web.page.get_by_role("button", name="Toevoegen").click()
    error = web.page.locator("#upload-result .error")
    error.wait_for(timeout=30_000)
    # This server has no keys configured: the page says so in Dutch, and who can change it;
    # the API's own sentence follows as text.
    assert "geen API-sleutel ingesteld" in error.inner_text()
    assert "no keys configured" in web.page.locator("#upload-result .detail").inner_text()
    web.shot("uploaden")
    assert web.outside == [] and web.errors == []
