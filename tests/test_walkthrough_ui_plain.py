"""Plain Dutch on the network and goal pages (session 10, H52, from H47's walk-through).

A programme manager met researcher words on the network page ("modulariteit 0.5728",
"tussenliggendheid exact", "gemeenschap (Louvain)"), a shape legend naming seven kinds
beside a picture of two, and "kandidaat: in geen vocabulaire" on a Goal's page although
no vocabulary holds goals. Over HTTP on a real FalkorDB store filled by the real ingest
(the small demo corpus of ``tests/test_web.py``), plus the page's property helper.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impact_graph.config import Settings
from impact_graph.network.render import SHAPE_SYMBOL, TYPE_NL, TYPE_STYLE
from impact_graph.vocab import load_vocabulary
from impact_graph.web.pages import entity_properties
from tests.test_web import clear_graph, make_web_store, web_embedder

__all__ = ["web_embedder"]

#: Graph words a policy adviser does not use on the page (H68 added "knopen": the page
#: counted "86 knopen"; it now says what the nodes are).
JARGON = ("modulariteit", "tussenliggendheid", "louvain", "gemeenschap", "knopen", "knoop")


@pytest.fixture(scope="module")
def plain_settings(
    falkordb_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    web_embedder: object,
    schema: object,
) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("walk-plain")
    settings = make_web_store("walk-plain", falkordb_data_dir, folder, web_embedder, schema)
    yield settings
    clear_graph(settings)


@pytest.fixture(scope="module")
def client(plain_settings: Settings, web_embedder: object) -> Iterator[TestClient]:
    from impact_graph.api import create_app

    app = create_app(plain_settings, embedder=web_embedder, warm_up=False)
    with TestClient(app) as c:
        yield c


def visible_text(body: str) -> str:
    """What a reader sees without opening anything: scripts, the researchers' details and
    tags (with their title attributes) gone, entities decoded."""
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    body = re.sub(r"<details.*?</details>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.mark.parametrize(
    "params", [{}, {"view": "whatworks", "q": "eenzaamheid ouderen"}], ids=["stakeholders", "ww"]
)
def test_the_network_page_speaks_plain_dutch_and_keeps_the_terms_for_researchers(
    client: TestClient, params: dict[str, str]
) -> None:
    r = client.get("/netwerk", params=params)
    assert r.status_code == 200, r.text
    shown = visible_text(r.text).lower()
    assert "netwerk" in shown and "groep" in shown
    for word in JARGON:
        assert word not in shown, (word, shown[shown.find(word) - 200 : shown.find(word) + 80])
    details = re.search(r"<details[^>]*>.*?Voor onderzoekers.*?</details>", r.text, re.S)
    assert details, "no details for researchers"
    assert "Louvain" in details[0] and "tussenliggendheid" in details[0]
    # The technical words stay as tooltips on the plain ones.
    assert 'title="gemeenschap (Louvain)">groep<' in r.text
    assert 'title="tussenliggendheid' in r.text


@pytest.mark.parametrize(
    "params", [{}, {"view": "whatworks", "q": "eenzaamheid ouderen"}], ids=["stakeholders", "ww"]
)
def test_the_shape_legend_names_only_the_kinds_in_the_picture(
    client: TestClient, params: dict[str, str]
) -> None:
    r = client.get("/netwerk", params=params)
    data = json.loads(html.unescape(
        re.search(r'id="ig-net-data">(.*?)</script>', r.text, re.S)[1]  # type: ignore[index]
    ))  # fmt: skip
    present = {n["type"] for n in data["nodes"]}
    assert present, "an empty picture tests nothing"
    note = re.search(r'<p class="ig-legend-note">(.*?)</p>', r.text, re.S)
    assert note
    for label, (_, shape) in TYPE_STYLE.items():
        item = f"{SHAPE_SYMBOL[shape]} {TYPE_NL[label].lower()}"
        assert (item in html.unescape(note[1])) == (label in present), (item, note[1])
    assert ("Gestippeld" in note[1]) == any(e["derived"] for e in data["edges"])


def test_a_goal_page_says_nothing_of_vocabularies_and_a_vocabulary_kind_still_does() -> None:
    vocab = load_vocabulary()
    with_vocab = {s.pg_label for s in vocab.schemes.values() if s.pg_label}
    assert "Goal" not in with_vocab and "Intervention" in with_vocab
    goal = dict(entity_properties({"name": "Minder eenzaamheid", "status": "candidate"}, "Goal",
                                  vocab))  # fmt: skip
    assert not any("vocabulaire" in v or "kandidaat" in v for v in goal.values()), goal
    for label in sorted(with_vocab):
        shown = dict(entity_properties({"status": "candidate"}, label, vocab))
        assert shown["Herkomst van de naam"].startswith("kandidaat"), label


def test_a_goal_page_over_http(client: TestClient, plain_settings: Settings) -> None:
    from impact_graph.store import open_store

    store = open_store(plain_settings)
    try:
        goals = list(
            store.read_query(
                "MATCH (g:Goal) WHERE g.status = 'candidate' RETURN g.id, g.name LIMIT 5",
                {},
                timeout_s=10.0,
                row_cap=10,
            ).rows
        )
    finally:
        store.close()
    assert goals, "the corpus gives no Goal to look at"
    for gid, name in goals:
        r = client.get(f"/entiteit/{gid}")
        assert r.status_code == 200, r.text
        shown = visible_text(r.text)
        assert name in shown
        assert "vocabulaire" not in shown and "kandidaat" not in shown, (name, shown[:600])
