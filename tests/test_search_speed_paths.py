"""The fast paths of "what works" search keep its answers: fulltext AND-first with the OR
fallback (on every backend), hostile text on both paths, and the stage timings the API
reports in its ``Server-Timing`` header.

Why these tests: the speed work (issue 4) replaced "score every chunk holding any word"
by "every word first", which must never lose a hit the old query found when the words do
not meet in one chunk, nor turn odd input into an error.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from impact_graph.config import Settings
from impact_graph.store.port import GraphStore
from tests.conftest import settings_for
from tests.factories import doc_batch, schema_store, unit_vector

HOSTILE = ["foo AND (", '"unbalanced', "a:b OR -", "*", "~!@#$%^&*()[]{}|\\/", "", "-x -y"]


def _chunks(store: GraphStore, texts: list[str]) -> None:
    for n, text in enumerate(texts):
        store.upsert_batch(doc_batch(f"speed-{n}.md", [], text=text))


def test_fulltext_or_fallback_when_no_chunk_has_every_word(store: GraphStore) -> None:
    """No chunk holds both words: the intersection is empty, the union still answers."""
    _chunks(
        store,
        [
            "Ouderen in de wijk voelen zich eenzaam.",
            "Jongeren sporten samen in de buurt.",
            "Statushouders leren de taal op het werk.",
        ],
    )
    hits = store.fulltext_search("Chunk", "eenzaam sporten", k=5)
    texts = sorted(h.props["text"] for h in hits)
    assert len(texts) == 2
    assert texts[0].startswith("Jongeren") and texts[1].startswith("Ouderen")
    assert max(h.score for h in hits) == pytest.approx(1.0)
    assert all(0.0 <= h.score <= 1.0 for h in hits)


def test_fulltext_unknown_word_does_not_hide_the_known_ones(store: GraphStore) -> None:
    """A word no chunk holds (a typo, a number) makes the intersection empty; the chunks
    with the other words must still come back."""
    _chunks(store, ["Welzijn op recept helpt ouderen die zich eenzaam voelen."])
    hits = store.fulltext_search("Chunk", "eenzaam xqzwv 2026", k=3)
    assert [h.props["text"][:7] for h in hits] == ["Welzijn"]


def test_fulltext_chunks_with_every_word_come_first(store: GraphStore) -> None:
    """When enough chunks hold every word, those are the answer (best first)."""
    _chunks(
        store,
        [
            "Eenzaamheid bij ouderen: een maatje op bezoek helpt tegen eenzaamheid.",
            "Ouderen en eenzaamheid: het buurthuis organiseert ontmoeting.",
            "Eenzaamheid komt in elke wijk voor.",
            "Ouderen bewegen samen in de sportzaal.",
        ],
    )
    hits = store.fulltext_search("Chunk", "eenzaamheid ouderen", k=2)
    assert len(hits) == 2
    for h in hits:
        text = h.props["text"].lower()
        assert "eenzaamheid" in text and "ouderen" in text
    assert hits[0].score == pytest.approx(1.0)
    assert hits[0].score >= hits[1].score


@pytest.mark.parametrize("hostile", HOSTILE)
def test_fulltext_hostile_text_on_both_paths(store: GraphStore, hostile: str) -> None:
    """Odd input is words or nothing, on the intersection and the union alike."""
    _chunks(store, ["Ouderen in de wijk voelen zich eenzaam."])
    assert isinstance(store.fulltext_search("Chunk", hostile, k=5), list)
    # Joined to real words: the intersection runs first with the odd part in it.
    found = store.fulltext_search("Chunk", f"eenzaam {hostile} wijk", k=5)
    assert [h.props["text"][:7] for h in found] == ["Ouderen"]


@pytest.fixture
def falkordb(request: pytest.FixtureRequest, schema) -> Iterator[GraphStore]:  # type: ignore[no-untyped-def]
    """The FalkorDB backend itself (no RDF view around it), cleared, schema set up."""
    from impact_graph.store.falkordb_store import FalkorDBStore

    settings = settings_for("falkordb", request).model_copy(update={"rdf": "off"})
    with schema_store(FalkorDBStore(settings), schema) as st:
        yield st


def test_falkordb_every_word_query_is_one_round_trip_when_it_fills_k(
    falkordb: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of AND-first: when the intersection fills k, the union (which scores
    every chunk holding any word) is never asked."""
    store = falkordb
    _chunks(store, [f"Ouderen en eenzaamheid, verhaal {n}." for n in range(4)])
    asked: list[str] = []
    inner = store._fulltext_rows  # type: ignore[attr-defined]

    def spy(label: str, query: str, k: int, props: list[str] | None = None) -> list:  # type: ignore[type-arg]
        asked.append(query)
        return inner(label, query, k, props)

    monkeypatch.setattr(store, "_fulltext_rows", spy)
    assert len(store.fulltext_search("Chunk", "ouderen eenzaamheid", k=3)) == 3
    assert asked == ["(ouderen|ouderen*) (eenzaamheid|eenzaamheid*)"]
    asked.clear()
    assert len(store.fulltext_search("Chunk", "ouderen eenzaamheid", k=10)) == 4
    assert asked == [
        "(ouderen|ouderen*) (eenzaamheid|eenzaamheid*)",
        "ouderen|ouderen*|eenzaamheid|eenzaamheid*",
    ]


def test_fulltext_query_text_cannot_be_syntax() -> None:
    from impact_graph.store.falkordb_store import FULLTEXT_MAX_TERMS, _fulltext_query

    assert _fulltext_query("Wat helpt: (ouderen) AND -eenzaam*") == (
        "wat|helpt|helpt*|ouderen|ouderen*|and|eenzaam|eenzaam*"
    )
    assert _fulltext_query("ouderen, wijk!", every_word=True) == "(ouderen|ouderen*) (wijk|wijk*)"
    assert _fulltext_query("~!@#$%^&*()[]{}|\\/ 7") == ""
    many = " ".join(f"woord{n}" for n in range(100))
    assert _fulltext_query(many).count("|") == 2 * FULLTEXT_MAX_TERMS - 1


def test_search_reports_its_stages(store: GraphStore) -> None:
    """The service times each stage when asked (what ``Server-Timing`` shows)."""
    from impact_graph.search import SearchRequest, SearchService

    _chunks(store, ["Welzijn op Recept helpt ouderen die zich eenzaam voelen."])
    timings: dict[str, float] = {}
    svc = SearchService(store)
    resp = svc.search(SearchRequest(q="eenzaamheid bij ouderen", limit=5), timings=timings)
    assert resp.results
    for stage in ("parse", "arms", "arm_concept", "arm_fulltext", "profiles", "quotes"):
        assert timings[stage] >= 0.0, stage
    assert timings["arms"] >= max(timings["arm_concept"], timings["arm_fulltext"]) * 0.5
    assert "embed" not in timings  # no embedder given: no vector arm


class _Embedder:
    """A fixed 384-d unit vector per text: the header does not depend on the model, and
    loading the real one would cost seconds per backend."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([unit_vector(len(t)) for t in texts], dtype=np.float32)


def test_api_search_sends_server_timing(store: GraphStore, backend_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from impact_graph.api import create_app

    _chunks(store, ["Welzijn op Recept helpt ouderen die zich eenzaam voelen."])
    app = create_app(backend_settings, embedder=_Embedder(), warm_up=False)
    with TestClient(app) as client:
        r = client.get("/search", params={"q": "eenzaamheid bij ouderen", "limit": 3})
    assert r.status_code == 200, r.text
    names = [e.split(";")[0].strip() for e in r.headers["server-timing"].split(",")]
    assert {"parse", "arms", "embed", "arm_vector", "profiles", "page"} <= set(names)
    assert all(";dur=" in e for e in r.headers["server-timing"].split(","))


def test_falkordb_union_cut_keeps_every_word_hits_in_front(
    falkordb: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A union of common words is ranked over its first FULLTEXT_SCAN matches only; the
    chunks that hold every word (which that cut may skip) must still come first."""
    from impact_graph.store import falkordb_store

    store = falkordb
    _chunks(store, [f"Ouderen in de wijk, verhaal {n}." for n in range(5)])
    _chunks_named(store, "laatste.md", "Ouderen en eenzaamheid in de wijk.")
    monkeypatch.setattr(falkordb_store, "FULLTEXT_SCAN", 2)
    hits = store.fulltext_search("Chunk", "ouderen eenzaamheid", k=3)
    assert len(hits) == 3
    assert "eenzaamheid" in hits[0].props["text"]
    assert hits[0].score == pytest.approx(1.0)
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    assert len({h.id for h in hits}) == 3


def _chunks_named(store: GraphStore, key: str, text: str) -> None:
    store.upsert_batch(doc_batch(key, [], text=text))
