"""The candidates page of the web UI (``/kandidaten``, issue 3), on real stores.

Three small Dutch documents go through the real ingest pipeline (real NLP, real
embedding model) into a FalkorDB graph of their own, plus one hand-made document whose
candidate intervention is called ``<script>alert(1)</script>``. The page must list what
``list_candidates`` finds there (the same rows, counts and order), filter and sort by
type, minimum documents and minimum mentions, page through a long list, show every name
as text, and say in a sentence when the store is empty. The empty store and the page's
queries on hand-made data also run on Neo4j (the ``store`` fixture, both backends).
"""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from impact_graph.candidates import count_by_label, list_candidates
from impact_graph.config import Settings
from impact_graph.model import GraphBatch, make_id
from impact_graph.store.port import GraphStore
from tests.factories import doc_batch
from tests.test_web import alert_text, clear_graph, web_embedder

__all__ = ["web_embedder"]  # the session's embedding model, as a fixture of this module

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
ROUND = "Koffieronde Oost"  # an intervention two plans list, in no vocabulary
FOUNDATION = "Stichting Buurtkracht Oost"  # an organisation all three documents name

CORPUS = {
    "plan-oost.md": f"""---
title: Samen Sterk in Oost
kind: plan
programme: Samen Sterk in Oost
---
# Samen Sterk in Oost

## Wat we doen
- {ROUND}: vrijwilligers bezoeken eenzame ouderen thuis.
- Buurtmaaltijden — samen eten in de wijk.

## Met wie
- {FOUNDATION}
- Zorgcoöperatie Oostpolder

De {ROUND} vermindert eenzaamheid bij ouderen. {FOUNDATION} organiseert de {ROUND}.
""",
    "plan-west.md": f"""---
title: Verbonden West
kind: plan
programme: Verbonden West
---
# Verbonden West

## Activiteiten
- {ROUND}: ook in West bezoeken vrijwilligers ouderen.
- Taalmaatje West: een vrijwilliger oefent Nederlands met statushouders.

## Partners
- {FOUNDATION}
- Welzijnsstichting Westwijk
""",
    "beleid-oostdam.md": f"""---
title: Beleidsnota Samen Oostdam
kind: policy
---
# Beleidsnota Samen Oostdam

De gemeente Oostdam werkt met {FOUNDATION} aan minder eenzaamheid onder ouderen.
In 2027 doen 300 ouderen mee aan de {ROUND}.
""",
}


def candidate_batch(
    key: str, entities: list[tuple[str, str]], status: str = "candidate"
) -> GraphBatch:
    """A hand-made document naming ``entities`` once each, all with ``status``."""
    b = doc_batch(key, entities)
    for n in b.nodes:
        if n.label != "Chunk":
            n.props["status"] = status
    return b


@pytest.fixture(scope="module")
def ingested(
    falkordb_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    web_embedder: object,
    schema: object,
) -> Iterator[Settings]:
    """A FalkorDB graph holding the three documents, ingested, and the XSS candidate."""
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.store import open_store

    folder = tmp_path_factory.mktemp("candidates-corpus")
    for name, text in CORPUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="web-kand")
    store = open_store(settings)
    try:
        store.clear()
        store.setup_schema(schema)  # type: ignore[arg-type]
        with Pipeline(settings, store=store, embedder=web_embedder, schema=schema) as p:
            report = p.run(sorted(folder.iterdir()), progress=False)
        assert report.ok and report.new == len(CORPUS), report.to_dict()
        store.upsert_batch(candidate_batch("xss.md", [("Intervention", XSS)]))
    finally:
        store.close()
    yield settings
    clear_graph(settings)


@pytest.fixture(scope="module")
def client(ingested: Settings, web_embedder: object) -> Iterator[TestClient]:
    from impact_graph.api import create_app

    app = create_app(ingested, embedder=web_embedder, warm_up=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def reader(ingested: Settings) -> Iterator[GraphStore]:
    """The same graph, opened directly: what the page must agree with."""
    from impact_graph.store import open_store

    store = open_store(ingested)
    yield store
    store.close()


ROW_RE = re.compile(
    r'<tr data-id="([^"]+)">\s*<td>([^<]*)</td>\s*<td><a href="/entiteit/([^"]+)">(.*?)</a>.*?'
    r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
    re.S,
)


def rows_of(page: str) -> list[dict[str, Any]]:
    """The candidate table's rows as the reader sees them (names unescaped)."""
    out = []
    for nid, label_nl, href, name, docs, mentions in ROW_RE.findall(page):
        assert href == nid  # each name links to its own entity page
        out.append(
            {
                "id": nid,
                "label_nl": htmllib.unescape(label_nl),
                "name": htmllib.unescape(name),
                "documents": int(docs),
                "mentions": int(mentions),
            }
        )
    return out


def rows_html(page: str) -> dict[str, str]:
    """Each table row's HTML by its candidate id."""
    return {
        m.group(1): m.group(0) for m in re.finditer(r'<tr data-id="([^"]+)">.*?</tr>', page, re.S)
    }


def expected(store: GraphStore, schema: object, **filters: Any) -> list[dict[str, Any]]:
    rows, _total = list_candidates(store, schema, limit=50, **filters)  # type: ignore[arg-type]
    return [
        {
            "id": c.id,
            "label_nl": c.label_nl,
            "name": c.name,
            "documents": c.documents,
            "mentions": c.mentions,
        }
        for c in rows
    ]


# --- what the ingest found --------------------------------------------------------------


def test_page_lists_what_the_ingest_found(
    client: TestClient, reader: GraphStore, schema: object
) -> None:
    r = client.get("/kandidaten")
    assert r.status_code == 200, r.text
    page = r.text
    shown = rows_of(page)
    assert shown == expected(reader, schema, min_documents=1, min_mentions=0)
    by_name = {x["name"]: x for x in shown}
    # Counted over all documents: two plans list the round, all three name the foundation.
    assert by_name[ROUND]["documents"] == 2 and by_name[ROUND]["label_nl"] == "Interventie"
    assert by_name[FOUNDATION]["documents"] == 3
    assert by_name[FOUNDATION]["label_nl"] == "Betrokkene"  # the name every page uses
    assert shown[0]["name"] == FOUNDATION  # most documents first
    # Vocabulary concepts the documents also name are not candidates.
    assert "Welzijn op Recept" not in by_name and "ouderen" not in {n.lower() for n in by_name}
    # One sentence it was found in, with its document.
    row = rows_html(page)[make_id("Intervention", ROUND)]
    quote = re.search(r"<blockquote>(.*?)</blockquote>", row, re.S)
    assert quote and f"<mark>{ROUND}</mark>" in quote.group(1), row
    assert re.search(
        r'<figcaption>— <a href="/entiteit/document:[^"]+">'
        r"(Samen Sterk in Oost|Verbonden West)</a>",
        row,
    )
    # The entity page it links to shows the documents and sentences.
    entity = client.get(f"/entiteit/{make_id('Intervention', ROUND)}").text
    assert "Samen Sterk in Oost" in entity and "Verbonden West" in entity
    # What a candidate is, and which file a concept of each type goes into.
    assert "status <strong>kandidaat</strong>" in page
    assert "<td>Interventie</td><td><code>ontology/vocabularies/interventions.ttl</code>" in page
    assert "<td>Opgave</td><td><code>ontology/vocabularies/challenges.ttl</code>" in page
    assert "<td>Programma</td><td>geen vocabulaire" in page
    # The navigation leads here from every page.
    assert '<a href="/kandidaten" aria-current="page">Kandidaten</a>' in page
    assert '<a href="/kandidaten">Kandidaten</a>' in client.get("/").text


def test_candidates_name_each_class_as_every_other_page_does(
    client: TestClient, schema: object
) -> None:
    """One Dutch name per class, from the ontology: the candidates page, its API and CLI,
    the entity pages and the network pictures all say "Betrokkene" for an Actor."""
    from impact_graph.network.render import TYPE_NL
    from impact_graph.web.pages import type_names_nl

    ontology = {c.label: c.label_nl for c in schema.node_classes}  # type: ignore[attr-defined]
    assert ontology["Actor"] == "Betrokkene"
    assert type_names_nl() == ontology  # the pictures' names restate nothing else
    assert {k: ontology[k] for k in TYPE_NL} == TYPE_NL
    page = client.get("/kandidaten").text
    assert "<td>Betrokkene</td><td><code>ontology/vocabularies/" in page  # the files table
    assert re.search(r'<option value="Actor">Betrokkene \(\d+\)</option>', page)
    assert ">Actor<" not in page and ">Actor (" not in page


def test_csv_download_has_the_same_rows(
    client: TestClient, reader: GraphStore, schema: object
) -> None:
    page = client.get("/kandidaten", params={"label": "Actor", "min_documents": 2}).text
    href = htmllib.unescape(
        re.search(r'<a href="([^"]+)" download>Download als CSV</a>', page).group(1)
    )  # type: ignore[union-attr]
    assert href.startswith("/candidates?format=csv&limit=10000&label=Actor&min_documents=2")
    r = client.get(href)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "kandidaten.csv" in r.headers["content-disposition"]
    records = list(csv.DictReader(io.StringIO(r.text)))
    want = expected(reader, schema, label="Actor", min_documents=2)
    assert [(x["id"], int(x["documents"]), int(x["mentions"])) for x in records] == [
        (w["id"], w["documents"], w["mentions"]) for w in want
    ]
    assert want and all(w["label_nl"] == "Betrokkene" for w in want)


# --- filters, sorting, paging ------------------------------------------------------------


def test_filters_by_type_and_minimum_counts(
    client: TestClient, reader: GraphStore, schema: object
) -> None:
    for label in ("Intervention", "Interventie", "interventie"):
        shown = rows_of(client.get("/kandidaten", params={"label": label}).text)
        assert shown == expected(reader, schema, label="Intervention", min_documents=1)
        assert {x["label_nl"] for x in shown} == {"Interventie"} and len(shown) >= 3
    shown = rows_of(client.get("/kandidaten", params={"min_documents": 2}).text)
    assert {x["name"] for x in shown} == {ROUND, FOUNDATION}
    most = max(x["mentions"] for x in expected(reader, schema))
    shown = rows_of(client.get("/kandidaten", params={"min_mentions": most}).text)
    assert shown and all(x["mentions"] >= most for x in shown)
    assert shown == expected(reader, schema, min_mentions=most)
    fewer = rows_of(client.get("/kandidaten", params={"min_mentions": 2}).text)
    assert fewer == expected(reader, schema, min_mentions=2)
    assert 0 < len(fewer) < len(expected(reader, schema))  # the filter removed some
    # The type select counts what the count filters leave, per type.
    page = client.get("/kandidaten", params={"min_documents": 2}).text
    counts = count_by_label(reader, schema, min_documents=2)  # type: ignore[arg-type]
    assert counts == {"Intervention": 1, "Actor": 1}
    assert '<option value="Intervention">Interventie (1)</option>' in page
    assert '<option value="Goal">' not in page  # no candidate of that type passes


def test_sorting(client: TestClient, reader: GraphStore, schema: object) -> None:
    by_name = rows_of(client.get("/kandidaten", params={"sort": "name"}).text)
    assert [x["name"].lower() for x in by_name] == sorted(x["name"].lower() for x in by_name)
    assert by_name == expected(reader, schema, order="name")
    by_mentions = rows_of(client.get("/kandidaten", params={"sort": "mentions"}).text)
    assert [x["mentions"] for x in by_mentions] == sorted(
        (x["mentions"] for x in by_mentions), reverse=True
    )
    assert sorted(by_mentions, key=lambda x: x["id"]) == sorted(by_name, key=lambda x: x["id"])
    page = client.get("/kandidaten", params={"sort": "mentions"}).text
    assert '<th scope="col" class="num" aria-sort="descending">Vermeldingen ' in page
    assert '<a href="/kandidaten?sort=name">Naam</a>' in page


def test_pages_through_a_long_list(
    client: TestClient, reader: GraphStore, schema: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from impact_graph.web import pages

    monkeypatch.setattr(pages, "CANDIDATE_PAGE", 3)
    everything = expected(reader, schema)
    assert len(everything) > 6
    seen: list[dict[str, Any]] = []
    url = "/kandidaten?sort=documents"
    for _ in range(10):
        page = client.get(url).text
        rows = rows_of(page)
        assert 1 <= len(rows) <= 3
        seen += rows
        assert f"{len(everything)} kandidaten;" in page
        nxt = re.search(r'<a href="([^"]+)" rel="next">Volgende 3</a>', page)
        if not nxt:
            break
        url = htmllib.unescape(nxt.group(1))
    assert seen == everything  # every candidate once, in order
    assert 'rel="prev">Vorige 3</a>' in page
    past = client.get("/kandidaten", params={"offset": 500}).text
    assert "Deze pagina is leeg" in past and rows_of(past) == []
    # A list longer than one CSV can hold says so next to the link.
    import impact_graph.candidates

    monkeypatch.setattr(impact_graph.candidates, "MAX_LIMIT", 4)
    page = client.get("/kandidaten").text
    assert f"Download als CSV</a> (de eerste 4 van de {len(everything)})." in page
    assert "/candidates?format=csv&amp;limit=4&amp;" in page


# --- escaping and bad input ----------------------------------------------------------------


def test_names_are_shown_as_text(client: TestClient) -> None:
    for params in ({}, {"label": "Intervention"}, {"sort": "name"}):
        page = client.get("/kandidaten", params=params).text
        assert XSS not in page and "<script" not in page
        assert f">{XSS_ESCAPED}</a>" in page
    assert XSS in {x["name"] for x in rows_of(client.get("/kandidaten").text)}
    r = client.get("/kandidaten", params={"label": XSS, "min_mentions": '"><b>'})
    assert r.status_code == 422 and XSS not in r.text and '"><b>' not in r.text
    # The CSV is data, not HTML: the name stays as found.
    csv_text = client.get("/candidates", params={"format": "csv", "label": "Intervention"}).text
    assert XSS in csv_text


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"min_mentions": "veel"}, ["Minimaal aantal vermeldingen", "'min_mentions'", "'veel'"]),
        ({"min_documents": "-1"}, ["Minimaal aantal documenten", "'min_documents'", "'-1'"]),
        ({"label": "Chunk"}, ["Soort", "'Chunk'", "Interventie", "Werkzaam element"]),
        ({"sort": "datum"}, ["Sorteren", "'datum'", "vermeldingen"]),
        ({"offset": "1e9"}, ["'offset'", "'1e9'"]),
    ],
)
def test_bad_values_get_a_sentence(
    client: TestClient, params: dict[str, str], words: list[str]
) -> None:
    r = client.get("/kandidaten", params=params)
    assert r.status_code == 422, r.text
    sentence = htmllib.unescape(alert_text(r.text))
    assert all(w in sentence for w in words), sentence
    assert sentence.endswith(".") and "Traceback" not in r.text
    assert '<label for="label">Soort</label>' in r.text  # the form stays, to correct it


# --- both backends: the empty store, and the page's queries on hand-made data --------------


@pytest.fixture
def app_client(store: GraphStore, backend_settings: Settings) -> Iterator[TestClient]:
    from impact_graph.api import create_app

    app = create_app(backend_settings.model_copy(update={"api_keys": ""}), warm_up=False)
    with TestClient(app) as c:
        yield c


def test_empty_store_and_filters_on_each_backend(store: GraphStore, app_client: TestClient) -> None:
    r = app_client.get("/kandidaten")
    assert r.status_code == 200, r.text
    assert "Er staan nog geen documenten in de kennisgraaf" in r.text
    assert '<table class="candidates">' not in r.text and "Download als CSV" not in r.text

    new, org, known = "Buurtkamer Plus", "Alliantie Nieuwe Buren", "Welzijn op Recept"
    store.upsert_batch(candidate_batch("a.md", [("Intervention", new), ("Actor", org)]))
    store.upsert_batch(candidate_batch("b.md", [("Intervention", new)]))
    store.upsert_batch(candidate_batch("c.md", [("Intervention", known)], status="vocabulary"))
    shown = rows_of(app_client.get("/kandidaten").text)
    assert [(x["name"], x["documents"], x["mentions"]) for x in shown] == [(new, 2, 2), (org, 1, 1)]
    shown = rows_of(app_client.get("/kandidaten", params={"sort": "name"}).text)
    assert [x["name"] for x in shown] == [org, new]
    shown = rows_of(app_client.get("/kandidaten", params={"label": "Actor"}).text)
    assert [x["name"] for x in shown] == [org]
    shown = rows_of(app_client.get("/kandidaten", params={"min_mentions": 2}).text)
    assert [x["name"] for x in shown] == [new]
    page = app_client.get("/kandidaten", params={"min_documents": 3}).text
    assert "Geen kandidaten met deze filters onder de 3 documenten" in page
    assert '<table class="candidates">' not in page
    # The example sentence marks the name, from its first mention, with its document.
    doc_a = make_id("Document", "a.md")
    row = rows_html(app_client.get("/kandidaten").text)[make_id("Intervention", new)]
    assert f"<mark>{new}</mark>" in row and f'<a href="/entiteit/{doc_a}">a.md</a>' in row
    csv_text = app_client.get(
        "/candidates", params={"format": "csv", "order": "name", "min_mentions": 1}
    ).text
    assert [line.split(",")[3] for line in csv_text.splitlines()[1:]] == [org, new]


def test_example_sentence_is_cut_around_the_mention() -> None:
    from impact_graph.web.pages import QUOTE_CHARS, _around

    text = "Eerste zin. In Oost kost de Koffieronde Oost € 40.000 per jaar! Derde zin."
    at = text.index(ROUND)
    assert _around(text, at, at + len(ROUND)) == {
        "before": "In Oost kost de ",
        "mention": ROUND,
        "after": " € 40.000 per jaar!",
    }
    long = "woord " * 200
    text = long + ROUND + " " + long
    at = text.index(ROUND)
    got = _around(text, at, at + len(ROUND))
    assert got is not None and got["mention"] == ROUND
    assert got["before"].startswith("… ") and got["after"].endswith(" …")
    assert len(got["before"] + got["mention"] + got["after"]) <= QUOTE_CHARS + 10
    assert _around("kort", 3, 10) is None and _around("kort", 2, 2) is None
