"""The Dutch web UI and the network routes over HTTP, on a real FalkorDB store.

A few demo documents go through the real ingest pipeline (real embedding model), plus
one hand-made plan whose partner is called ``<img src=x onerror=alert(1)>``: every
page must show that name as text. The browser tests (tests/browser) reuse this data.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html import unescape as html_unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape as html_escape

from impact_graph.config import Settings
from impact_graph.model import make_id
from impact_graph.network.render import counted_nl
from tests.test_network import XSS, seed

REPO = Path(__file__).resolve().parents[1]
CORPUS = [
    REPO / "ingest/demo/plan/wadstede-samen-minder-alleen-reisverslag-2025.md",
    REPO / "ingest/demo/plan/wadstede-werkt-mee-programma-aanpak.md",
    REPO / "ingest/demo/research/welzijn-op-recept.md",
]
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
XSS_ID = make_id("Actor", XSS)


@pytest.fixture(scope="session")
def web_embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real embedding model for the web and browser tests (it costs seconds)."""
    from impact_graph.ingest.embed import Embedder

    emb = Embedder(cache_path=tmp_path_factory.mktemp("web-emb") / "emb.sqlite")
    yield emb
    emb.close()


def make_web_store(
    graph_name: str, data_dir: Path, folder: Path, embedder: object, schema: object
) -> Settings:
    """Ingest the small demo corpus and the XSS plan into a cleared FalkorDB graph."""
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.store import open_store

    settings = Settings(backend="falkordb", data_dir=data_dir, graph_name=graph_name)
    for f in CORPUS:
        shutil.copy(f, folder / f.name)
    store = open_store(settings)
    try:
        store.clear()
        store.setup_schema(schema)  # type: ignore[arg-type]
        with Pipeline(settings, store=store, embedder=embedder, schema=schema) as p:
            report = p.run(sorted(folder.iterdir()), progress=False)
        assert report.ok and report.new == len(CORPUS), report.to_dict()
        seed(store)
    finally:
        store.close()
    return settings


def clear_graph(settings: Settings) -> None:
    from impact_graph.store import open_store

    store = open_store(settings)
    store.clear()
    store.close()


@pytest.fixture(scope="session")
def web_settings(
    falkordb_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    web_embedder: object,
    schema: object,
) -> Iterator[Settings]:
    """A store holding the small demo corpus and the XSS plan."""
    folder = tmp_path_factory.mktemp("web-corpus")
    settings = make_web_store("web", falkordb_data_dir, folder, web_embedder, schema)
    yield settings
    clear_graph(settings)


@pytest.fixture(scope="module")
def client(web_settings: Settings, web_embedder: object) -> Iterator[TestClient]:
    from impact_graph.api import create_app

    app = create_app(web_settings, embedder=web_embedder, warm_up=False)
    with TestClient(app) as c:
        yield c


def alert_text(html: str) -> str:
    m = re.search(r'role="alert">([^<]*)<', html)
    assert m, "no error message on the page"
    return m.group(1)


# --- pages ------------------------------------------------------------------------------


def test_home_has_a_labelled_search_form(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="nl">' in html
    assert '<label for="q">Zoekvraag</label>' in html and 'id="q" name="q"' in html
    assert 'href="#inhoud"' in html  # skip link for keyboard users
    assert 'href="/netwerk"' in html and 'href="/bewijskaart"' in html


def test_search_shows_result_cards_with_quotes_and_facets(client: TestClient) -> None:
    r = client.get("/", params={"q": "wat helpt tegen eenzaamheid bij ouderen"})
    assert r.status_code == 200, r.text
    html = r.text
    cards = re.findall(r'<article class="card" data-id="([^"]+)"', html)
    assert cards, "no result cards"
    assert make_id("Intervention", "Welzijn op Recept") in cards[:5]
    assert "<blockquote>" in html and '<figcaption>— <a href="/entiteit/document:' in html
    assert "<legend>Soort</legend>" in html  # a facet
    assert 'class="badge type">Interventie<' in html


def test_search_summary_says_how_a_misspelling_was_read(client: TestClient) -> None:
    """The summary line names the guess of `search.query` (f4a84ab), escaped."""
    html = client.get("/", params={"q": "eenzaamhied ouderen"}).text
    summary = html[html.find('class="summary"') :][:800]
    assert (
        '<span class="read-as">&#34;eenzaamhied&#34; gelezen als &#34;eenzaamheid&#34;' in summary
    )
    plain = client.get("/", params={"q": "eenzaamheid ouderen"}).text
    assert 'class="read-as"' not in plain


def test_search_filters_narrow_and_bad_values_get_a_sentence(client: TestClient) -> None:
    r = client.get("/", params={"q": "eenzaamheid", "type": "intervention"})
    assert r.status_code == 200
    assert 'class="badge type">Tekstfragment<' not in r.text
    r = client.get("/", params={"q": "eenzaamheid", "challenge": "verveling"})
    assert r.status_code == 422
    assert "verveling" in alert_text(r.text) and alert_text(r.text).endswith(".")


def test_entity_page_shows_the_name_as_text(client: TestClient) -> None:
    r = client.get(f"/entiteit/{XSS_ID}")
    assert r.status_code == 200, r.text
    assert XSS not in r.text
    assert f"<h1>{XSS_ESCAPED}</h1>" in r.text
    assert "Samen Minder Alleen" in r.text  # its programme among the neighbours
    r = client.get("/entiteit/actor:bestaat-niet")
    assert r.status_code == 404 and "actor:bestaat-niet" in alert_text(r.text)


def test_local_instance_on_entity_page_and_card(
    client: TestClient, web_settings: Settings, web_embedder: object
) -> None:
    """An instance's page and card name its general intervention; the general one's page
    and card list the instance with its programme and its own recognition."""
    from impact_graph.store import open_store
    from tests.test_search import _doc

    text = "De Huiskamer Zuiderpark is de huiskamer van Zuiderpark Samen voor eenzame ouderen."
    batch = _doc(
        "instance-page",
        text,
        web_embedder,
        [
            ("Intervention", "Huiskamer Zuiderpark", {"rating_level": "Goed onderbouwd"}),
            ("Intervention", "Huiskamer", {}),
            ("Programme", "Zuiderpark Samen", {}),
        ],
        [
            ("Huiskamer Zuiderpark", "INSTANCE_OF", "Huiskamer"),
            ("Zuiderpark Samen", "USES", "Huiskamer Zuiderpark"),
        ],
    )
    store = open_store(web_settings)
    store.upsert_batch(batch)
    try:
        local, general = make_id("Intervention", "Huiskamer Zuiderpark"), "intervention:huiskamer"
        html = client.get(f"/entiteit/{local}").text
        assert f'Lokale uitvoering van <a href="/entiteit/{general}">Huiskamer</a>' in html
        html = client.get(f"/entiteit/{general}").text
        assert "Lokale uitvoeringen (1)" in html
        assert f'<a href="/entiteit/{local}">Huiskamer Zuiderpark</a> · Goed onderbouwd' in html
        assert "Zuiderpark Samen</a>" in html
        html = client.get("/", params={"q": "huiskamer", "type": "intervention"}).text
        assert "<dt>Lokale uitvoering van</dt>" in html and "<dt>Lokale uitvoeringen</dt>" in html
    finally:
        store.delete_document(batch.document.id)
        store.close()


def test_network_page_draws_from_the_bundled_library(client: TestClient) -> None:
    r = client.get("/netwerk")
    assert r.status_code == 200, r.text
    html = r.text
    assert '<script src="/static/vis-network.min.js"></script>' in html
    assert XSS not in html and "<img" not in html
    assert '<label for="focus">' in html and '<label for="programme">' in html
    js = client.get("/static/vis-network.min.js")
    assert js.status_code == 200 and "vis-network" in js.text[:400]
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/geheim.txt").status_code == 404


def test_network_page_focus_filters_and_errors(client: TestClient) -> None:
    r = client.get("/netwerk", params={"view": "focus", "focus": "Fonds Zilver", "hops": 1})
    assert r.status_code == 200
    assert "Focus: Fonds Zilver (1 stap)" in r.text
    r = client.get("/netwerk", params={"area": "Atlantis"})
    assert r.status_code == 422
    assert alert_text(r.text).startswith("Gebied &#39;Atlantis&#39; komt in de kennisgraaf niet")
    r = client.get("/netwerk", params={"view": "whatworks", "q": "eenzaamheid"})
    assert r.status_code == 200 and "Wat werkt: eenzaamheid" in r.text


def test_evidence_map_and_upload_pages(client: TestClient) -> None:
    r = client.get("/bewijskaart")
    assert r.status_code == 200 and '<table class="matrix">' in r.text
    assert 'class="hit' in r.text  # at least one cell with evidence
    r = client.get("/uploaden")
    assert r.status_code == 200
    for field in ("key", "file", "kind"):
        assert f'<label for="{field}">' in r.text


# --- network routes ---------------------------------------------------------------------


def test_network_json(client: TestClient) -> None:
    r = client.get("/network")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["nodes"] == len(body["nodes"]) > 5
    ids = {n["id"] for n in body["nodes"]}
    assert XSS_ID in ids and make_id("Programme", "Samen Minder Alleen") in ids
    assert {"degree", "betweenness", "community", "tip", "type"} <= set(body["nodes"][0])
    assert body["metrics"]["communities"] >= 1
    ego = client.get("/network", params={"view": "focus", "focus": XSS_ID, "hops": 1}).json()
    assert ego["focus"] == XSS_ID and 1 < ego["counts"]["nodes"] < body["counts"]["nodes"]
    ww = client.get("/network", params={"view": "whatworks", "q": "eenzaamheid"}).json()
    assert {n["type"] for n in ww["nodes"]} >= {"Intervention", "Effect"}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"view": "focus"}, "focus"),
        ({"focus": "niemand"}, "focus"),
        ({"programme": "Bestaat Niet"}, "programme"),
        ({"view": "whatworks"}, "q"),
        ({"hops": "9"}, "hops"),
        ({"size_by": "pagerank"}, "size_by"),
    ],
)
def test_network_bad_parameters_are_422_problems(
    client: TestClient, params: dict[str, str], name: str
) -> None:
    r = client.get("/network", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert name in r.text


def test_network_html_is_offline_and_escaped(client: TestClient) -> None:
    r = client.get("/network.html", params={"size_by": "betweenness"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "@version 9.1.2" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert XSS not in html and "<img" not in html
    assert '"size_by": "betweenness"' not in html  # the select carries the choice
    assert '<option value="betweenness" selected title=' in html


# --- what a new user met on the pages (walk-through, H20) ------------------------------


def test_entity_page_speaks_dutch_about_its_properties_and_neighbours(client: TestClient) -> None:
    """The stored property names (rule, key, status, concept) and class names
    (TargetGroup, Area) are the researchers' English; the page says them in Dutch,
    leaves the bookkeeping out, and names the number of documents with its unit."""
    html = client.get("/entiteit/intervention:welzijn-op-recept").text
    props = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", html))
    assert props, "no properties on the page"
    assert {"rule", "key", "status", "concept", "mention_count", "name"}.isdisjoint(props)
    assert props.get("Herkomst van de naam") == "uit een vocabulaire"
    types = set(re.findall(r"</a></td>\s*<td>([^<]+)</td><td>\d+ document", html))
    assert types, "no neighbour rows with a document count"
    assert not types & {"TargetGroup", "Area", "LegalBasis", "Goal", "Document", "Chunk"}
    assert "Doelgroep" in types or "Opgave" in types


def test_entity_page_names_vocabulary_codes_by_their_dutch_labels(client: TestClient) -> None:
    """An actor's page said "Soort document: organisation" and showed its concept as an
    IRI: the kind is the Dutch prefLabel of the actor-role group that carries it, the
    concept its Dutch prefLabel with the scheme's Dutch name (H34)."""
    from impact_graph.vocab import load_vocabulary

    vocab = load_vocabulary()
    r = client.post(
        "/cypher",
        json={
            "query": "MATCH (a:Actor) WHERE a.kind = 'organisation' AND a.concept IS NOT NULL "
            "RETURN a.id, a.concept ORDER BY a.id LIMIT 1"
        },
    )
    assert r.status_code == 200, r.text
    ((org_id, org_concept),) = r.json()["rows"]
    html = client.get(f"/entiteit/{org_id}").text
    props = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", html))
    assert "Soort document" not in props
    tops = vocab.schemes["actor-roles"].top_concepts
    (group,) = [vocab[i] for i in tops if vocab[i].kind == "organisation"]
    assert props.get("Soort") == group.pref_nl
    concept = vocab[org_concept]
    scheme = vocab.schemes[concept.scheme].label_nl
    assert props.get("Begrip in het vocabulaire") == f"{concept.pref_nl} ({scheme})"
    assert "w3id.org" not in props.get("Begrip in het vocabulaire", "")


def test_document_page_shows_its_text_and_dutch_kind(client: TestClient) -> None:
    """A document is not mentioned in sentences: its page shows its text fragments
    (it said "Waar staat dit? (0 zinnen)" with nothing under it) and its kind in Dutch."""
    docs = client.get("/documents", params={"limit": 100}).json()["items"]
    plan = next(d for d in docs if d["kind"] == "plan" and "reisverslag" in d["title"].lower())
    html = client.get(f"/entiteit/{plan['id']}").text
    assert "(0 zinnen)" not in html and "Waar staat dit?" not in html
    m = re.search(r"Tekst \((\d+) fragment", html)
    assert m and int(m.group(1)) >= 1, "no text fragments on the document page"
    assert "<blockquote>" in html
    props = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", html))
    assert props.get("Soort document") == "plan"
    assert props.get("Taal") == "Nederlands" and "content_hash" not in props


def test_network_page_errors_and_notes_are_dutch(client: TestClient) -> None:
    """The network module's sentences are English for the JSON API; the page gave them
    to Dutch readers as they were ("focus: ... is not an actor ...", "isolated=true")."""
    r = client.get("/netwerk", params={"view": "focus", "focus": "niemand hier"})
    assert r.status_code == 422
    msg = alert_text(r.text)
    assert msg.startswith("&#39;niemand hier&#39; is geen betrokkene") and "Focus op" in msg
    r = client.get("/netwerk", params={"view": "focus"})
    assert r.status_code == 422 and alert_text(r.text).startswith("Typ bij &#39;Focus op&#39;")
    r = client.get("/netwerk", params={"role": "astronaut"})
    assert r.status_code == 422 and "astronaut" in alert_text(r.text)
    assert " is not " not in alert_text(r.text)
    html = client.get("/netwerk").text
    assert "isolated=true" not in html and "Ook zonder verbinding" in html
    assert '<input type="checkbox" id="isolated" name="isolated" value="true">' in html


def test_network_page_can_show_actors_without_links(client: TestClient) -> None:
    """The note under the picture points at a checkbox that shows the unlinked actors."""
    without = client.get("/network").json()["counts"]["nodes"]
    html = client.get("/netwerk", params={"isolated": "true"}).text
    assert 'id="isolated" name="isolated" value="true" checked' in html
    shown = client.get("/network", params={"isolated": "true"}).json()["counts"]["nodes"]
    assert shown > without
    counted = counted_nl(client.get("/network", params={"isolated": "true"}).json()["nodes"])
    assert sum(int(k) for k in re.findall(r"\d+", counted)) == shown
    assert f"Opbouwen: {html_escape(counted)}, " in html and "knopen" not in html
    assert "isolated=true" in re.search(r'href="(/network\.html\?[^"]*)"', html).group(1)


def test_upload_page_says_when_the_server_takes_no_uploads(
    client: TestClient, web_settings: Settings, web_embedder: object
) -> None:
    """The demo runs without API keys: the upload page said "Hiervoor is een API-sleutel
    nodig" and let the user type one, and the answer was the API's English sentence."""
    from impact_graph.api import create_app
    from impact_graph.api.auth import hash_key

    html = client.get("/uploaden").text
    assert "Toevoegen staat op deze server uit" in html and "impact-graph keys new" in html
    keyed = web_settings.model_copy(update={"api_keys": hash_key("sleutel-van-test")})
    with TestClient(create_app(keyed, embedder=web_embedder, warm_up=False)) as c:
        html = c.get("/uploaden").text
    assert "Toevoegen staat op deze server uit" not in html
    assert '<label for="key">API-sleutel</label>' in html


@pytest.mark.parametrize(
    ("url", "params", "words"),
    [
        ("/", {"q": "a" * 501}, "te lang voor de zoekvraag"),
        ("/", {"q": "eenzaamheid", "offset": "-1"}, "De positie in de lijst (&#39;offset&#39;)"),
        ("/netwerk", {"hops": "9"}, "Stappen (&#39;hops&#39;) moet een heel getal van 1 tot"),
        ("/netwerk", {"size_by": "pagerank"}, "Grootte naar (&#39;size_by&#39;)"),
        ("/netwerk", {"view": "kaart"}, "Weergave (&#39;view&#39;)"),
        ("/netwerk", {"focus": "x" * 501}, "te lang"),
        ("/bewijskaart", {"rows": "foo"}, "Rijen (&#39;rows&#39;)"),
        ("/bewijskaart", {"cols": "foo"}, "Kolommen (&#39;cols&#39;)"),
    ],
)
def test_bad_page_parameters_get_a_dutch_page(
    client: TestClient, url: str, params: dict[str, str], words: str
) -> None:
    """A page's bad parameter (typed into the address bar, or an old link) was answered
    with the API's English problem+json; now the page itself says it, in Dutch."""
    r = client.get(url, params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html"), r.text[:200]
    assert words in alert_text(r.text)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"type": "foo"}, "Soort (&#39;type&#39;) kan zijn: Interventie (intervention)"),
        ({"min_recognition": "Super"}, "&#39;Super&#39; is geen niveau van de erkenningsladder"),
        ({"challenge": "verveling"}, "Opgave &#39;verveling&#39; komt in de kennisgraaf niet"),
        ({"target_group": "marsmannetjes"}, "Doelgroep &#39;marsmannetjes&#39; komt in de"),
    ],
)
def test_bad_search_filters_get_a_dutch_sentence(
    client: TestClient, params: dict[str, str], words: str
) -> None:
    """The search's filter sentences are English (for the JSON API), and an unknown type
    was shown as pydantic's '1 validation error for SearchFilters'."""
    r = client.get("/", params={"q": "eenzaamheid", **params})
    assert r.status_code == 422
    msg = alert_text(r.text)
    assert msg.startswith(words) or words in msg, msg
    assert "validation error" not in msg and " is not " not in msg


# --- read as a Dutch programme manager reads them (H68) -----------------------------------


def test_incoming_links_read_from_the_page_s_node(client: TestClient) -> None:
    """A buurtkamer's page said "voert uit (inkomend) | Bibliotheek Wadstede"; it says
    "wordt uitgevoerd door", the DELIVERS relationship's ig:inverseLabel, and the raw
    id is not next to the type label but in the "Voor onderzoekers" block."""
    r = client.post(
        "/cypher",
        json={
            "query": "MATCH (a:Actor)-[:DELIVERS]->(i:Intervention) "
            "RETURN i.id, a.name ORDER BY i.id, a.name LIMIT 1"
        },
    )
    assert r.status_code == 200, r.text
    ((intervention, actor),) = r.json()["rows"]
    html = client.get(f"/entiteit/{intervention}").text
    rows = re.findall(r"<tr><td>([^<]*)</td>\s*<td><a [^>]*>([^<]*)</a>", html)
    assert ("wordt uitgevoerd door", html_escape(actor)) in rows
    assert "(inkomend)" not in html
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', html, re.S)
    assert crumbs and intervention not in crumbs.group(1)
    research = html.partition('<details class="for-researchers">')[2]
    assert f"<code>{html_escape(intervention)}</code>" in research


def test_fragment_page_gives_positions_to_researchers_only(client: TestClient) -> None:
    r = client.post(
        "/cypher",
        json={
            "query": "MATCH (c:Chunk) WHERE c.start IS NOT NULL AND c.end IS NOT NULL "
            "RETURN c.id, c.start, c.end ORDER BY c.id LIMIT 1"
        },
    )
    ((chunk, start, end),) = r.json()["rows"]
    html = client.get(f"/entiteit/{chunk}").text
    before, _, research = html.partition('<details class="for-researchers">')
    assert "Begint bij teken" not in html and "Eindigt bij teken" not in html
    assert "<dt>Tekst</dt>" in before
    assert f"<code>{start}–{end}</code>" in research


def test_network_page_speaks_of_what_it_shows(client: TestClient) -> None:
    """ "86 knopen" and "als JSON" were graph and programmer words; the Opgave field had
    no example."""
    html = client.get("/netwerk").text
    counted = counted_nl(client.get("/network").json()["nodes"])
    assert f"Opbouwen: {html_escape(counted)}, " in html
    assert "knopen" not in html and ">als JSON<" not in html
    assert ">download voor onderzoekers (JSON)</a>" in html
    m = re.search(r'<input id="challenge"[^>]*placeholder="bijv\. ([^"]+)"', html)
    assert m, "the Opgave field has no example"
    from impact_graph.vocab import load_vocabulary

    vocab = load_vocabulary()
    assert html_unescape(m.group(1)) in {c.pref_nl for c in vocab.for_class("Challenge")}
