"""A programme manager's walk through the web UI (session 10, H47): what she stumbled on.

Each test holds one finding of the walk-through on ``make demo``, over HTTP on a real
FalkorDB store filled by the real ingest (the small demo corpus of ``tests/test_web.py``,
in a graph of its own):

* an Effect's page said "Waar staat dit? (0 zinnen)" while its HAS_EFFECT edge held the
  sentence that claims it (all 51 Effects of the demo);
* a fragment's page showed "Volgnummer 3" under the heading "… #4";
* the what-works picture drew the search's weak tail (for "eenzaamheid ouderen":
  Multisysteemtherapie, Halt-afdoening, duale trajecten taal en werk), and its "most
  central" list offered a focus view of effects and working elements, which answers 422;
* a question matching two concepts of one name listed it twice ("schulden, schulden").
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from impact_graph.config import Settings
from impact_graph.model import parse_span_ref
from tests.test_web import clear_graph, make_web_store, web_embedder

__all__ = ["web_embedder"]  # the one embedding model of the web tests, as a fixture here


@pytest.fixture(scope="module")
def manager_settings(
    falkordb_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    web_embedder: object,
    schema: object,
) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("walk-manager")
    settings = make_web_store("walk-manager", falkordb_data_dir, folder, web_embedder, schema)
    yield settings
    clear_graph(settings)


@pytest.fixture(scope="module")
def client(manager_settings: Settings, web_embedder: object) -> Iterator[TestClient]:
    from impact_graph.api import create_app

    app = create_app(manager_settings, embedder=web_embedder, warm_up=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def store(manager_settings: Settings) -> Iterator[Any]:
    from impact_graph.store import open_store

    s = open_store(manager_settings)
    yield s
    s.close()


def rows(store: Any, query: str, params: dict[str, Any] | None = None) -> list[Any]:
    return list(store.read_query(query, params or {}, timeout_s=10.0, row_cap=10_000).rows)


def page_text(body: str) -> str:
    """The page's text as a reader sees it: tags gone, entities decoded, spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_an_effect_page_quotes_the_sentence_that_claims_it(client: TestClient, store: Any) -> None:
    claims = rows(
        store,
        "MATCH (i:Intervention)-[r:HAS_EFFECT]->(e:Effect) "
        "WHERE NOT ()-[:MENTIONS]->(e) AND size(r.spans) > 0 "
        "RETURN e.id, e.name, r.spans[0] ORDER BY e.id",
    )
    assert claims, "the corpus gives no Effect to look at"
    for eid, name, ref in claims:
        doc, start, end = parse_span_ref(ref)
        # The sentence itself, read from the chunk that holds it.
        (text,) = next(
            iter(
                rows(
                    store,
                    "MATCH (:Document {id: $doc})-[:HAS_CHUNK]->(c:Chunk) "
                    "WHERE c.start <= $s AND c.end >= $e "
                    "RETURN substring(c.text, $s - c.start, $e - $s)",
                    {"doc": doc, "s": start, "e": end},
                )
            )
        )
        r = client.get(f"/entiteit/{eid}")
        assert r.status_code == 200, r.text
        shown = page_text(r.text)
        assert "Waar staat dit? (0 zinnen)" not in shown, name
        assert " ".join(text.split()) in shown, (name, text)
        assert f"Geen zin noemt {name} letterlijk" in shown


def test_a_fragment_page_counts_from_one_as_its_name_does(client: TestClient, store: Any) -> None:
    chunks = rows(
        store,
        "MATCH (:Document)-[:HAS_CHUNK]->(c:Chunk) "
        "WHERE c.position IN [0, 1, 2] AND c.name IS NOT NULL "
        "RETURN c.id, c.name, c.position ORDER BY c.id LIMIT 6",
    )
    assert chunks
    for cid, name, position in chunks:
        number = int(re.search(r"#(\d+)$", name)[1])  # type: ignore[index]
        assert number == position + 1  # the stored position counts from 0
        shown = page_text(client.get(f"/entiteit/{cid}").text)
        assert f"Volgnummer {number}" in shown, (name, shown[:400])


class WeakTailSearch:
    """A search answering two strong interventions and one at a tenth of their score."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def search(self, req: Any) -> Any:
        scores = [1.0, 0.8, 0.1]
        results = [SimpleNamespace(id=i, score=s) for i, s in zip(self.ids, scores, strict=True)]
        return SimpleNamespace(results=results)


def test_the_whatworks_picture_leaves_out_the_weak_tail(store: Any) -> None:
    from impact_graph.network import network_view

    ids = [r[0] for r in rows(store, "MATCH (i:Intervention) RETURN i.id ORDER BY i.id LIMIT 3")]
    assert len(ids) == 3
    view = network_view(store, view="whatworks", q="iets", search=WeakTailSearch(ids))
    drawn = {n for n, d in view.graph.nodes(data=True) if d["label"] == "Intervention"}
    assert ids[0] in drawn and ids[1] in drawn
    assert (
        ids[2] not in drawn
        or any(  # drawn only as a neighbour of the strong two
            ids[2] in (u, v) for u, v in view.graph.edges(ids[:2])
        )
    )
    assert any("1 zwakkere treffer weggelaten: een interventie die" in n for n in view.notes), (
        view.notes
    )


def test_the_whatworks_page_offers_focus_views_only_where_there_are_some(
    client: TestClient, store: Any
) -> None:
    r = client.get("/netwerk", params={"view": "whatworks", "q": "eenzaamheid"})
    assert r.status_code == 200, r.text
    central = r.text[r.text.index('id="h-top"') :]
    listed = re.findall(r'<li><a href="/entiteit/([^"]+)">', central)
    focus = [html.unescape(f) for f in re.findall(r"view=focus&amp;focus=([^\"]+)\"", central)]
    assert listed, "no most-central list"
    labels = dict(rows(store, "MATCH (n:Node) WHERE n.id IN $ids RETURN n.id, labels(n)[0]",
                       {"ids": listed}))  # fmt: skip
    assert any(labels[i] not in ("Actor", "Programme", "Intervention") for i in listed), labels
    from urllib.parse import unquote

    for f in focus:
        assert labels[unquote(f)] in ("Actor", "Programme", "Intervention"), f
        assert (
            client.get("/netwerk", params={"view": "focus", "focus": unquote(f)}).status_code == 200
        )


def test_a_concept_name_is_listed_once_in_the_summary(client: TestClient) -> None:
    from impact_graph.vocab import load_vocabulary

    vocab = load_vocabulary()
    twice = next(
        label
        for label in ("schulden",)
        if sum(vocab.label(c.iri) == label for c in vocab.lookup(label)) > 1
    )
    r = client.get("/", params={"q": twice})
    summary = re.search(r'<p class="summary"[^>]*>(.*?)</p>', r.text, re.S)
    assert summary, r.text[:500]
    names = re.findall(r'<span class="concept">([^<]*)</span>', summary[1])
    assert names.count(twice) == 1, names


# --- H60: the standalone picture says what the web page says ------------------------------


def test_the_standalone_network_file_has_dutch_notes_and_the_researcher_block(
    client: TestClient,
) -> None:
    """The notes were English at their source and translated only on the web page, so
    the "los HTML-bestand" showed "weaker match(es) left out"; and it had neither the
    plain summary of the groups nor the "Voor onderzoekers" block."""
    q = "<b>eenzaamheid</b> ouderen"
    web = client.get("/netwerk", params={"view": "whatworks", "q": q})
    alone = client.get("/network.html", params={"view": "whatworks", "q": q})
    assert web.status_code == alone.status_code == 200, alone.text[:500]
    for body in (web.text, alone.text):
        text = page_text(body)
        assert "Voor onderzoekers" in text and "Louvain-gemeenschappen" in text, text[-800:]
        assert re.search(r"\d+ groep(en)?\b", text)
        assert "weaker match" not in text and "left out" not in text
        assert "<b>eenzaamheid</b>" not in body  # the question is shown as text
        assert "&lt;b&gt;eenzaamheid&lt;/b&gt;" in body
    notes = client.get("/network", params={"view": "whatworks", "q": "eenzaamheid ouderen"})
    assert notes.status_code == 200
    for note in notes.json()["notes"]:  # the API's JSON carries the same Dutch sentences
        assert re.search(r"\b(weggelaten|gevonden|programma)\b", note), note
