"""The search's start-up warm-up, and stop-word-only questions over HTTP and in the web UI.

The first question after a restart used to load the embedding model (19.2 s at load 8-9
on the demo corpus): the app's warm-up embedded a text the embedding cache already held,
so the model stayed unloaded. These tests use the web tests' FalkorDB store (a few demo
documents through the real pipeline).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from impact_graph.config import Settings
from impact_graph.search.service import NOTHING_FOUND, ONLY_COMMON_WORDS_NL
from impact_graph.search.warmup import WARM_QUERY, WarmUpState, load_model, warm_up
from impact_graph.vocab import load_vocabulary
from tests.test_web import web_embedder, web_settings  # noqa: F401 - fixtures

# --- the warm-up steps (no store) ---------------------------------------------------------


class _Recorder:
    """An embedder and a search service in one, recording what the warm-up asks."""

    def __init__(self, fail: str = "") -> None:
        self.calls: list[str] = []
        self.fail = fail
        self.vocab = load_vocabulary()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append("encode")
        if self.fail == "encode":
            raise RuntimeError("no model here")
        return np.zeros((len(texts), 3), dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append("embed")
        return np.zeros((len(texts), 3), dtype=np.float32)

    def search(self, request: Any) -> None:
        self.calls.append(f"search:{request.q}")


def test_warm_up_loads_the_model_past_the_cache_then_searches_once() -> None:
    rec = _Recorder()
    state = warm_up(lambda: rec, lambda: rec, also=[("page", lambda: rec.calls.append("page"))])
    assert rec.calls == ["encode", f"search:{WARM_QUERY}", "page"]
    assert state.done.is_set() and not state.warming_up and state.error is None
    assert list(state.seconds) == ["model", "store", "labels", "search", "page"]


def test_a_failed_step_is_reported_and_the_rest_still_runs() -> None:
    rec = _Recorder(fail="encode")
    state = warm_up(lambda: rec, lambda: rec)
    assert state.error == "model: no model here"
    assert rec.calls == ["encode", f"search:{WARM_QUERY}"] and state.done.is_set()


def test_no_store_means_no_search_but_the_warm_up_ends() -> None:
    rec = _Recorder()

    def no_store() -> Any:
        raise RuntimeError("The falkordb graph store is still starting")

    state = warm_up(lambda: rec, no_store)
    assert rec.calls == ["encode"] and state.done.is_set()
    assert state.error is not None and state.error.startswith("store: ")


def test_an_embedder_without_encode_is_asked_through_embed() -> None:
    class EmbedOnly:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            self.texts += texts
            return np.zeros((len(texts), 3), dtype=np.float32)

    e = EmbedOnly()
    load_model(e)
    assert e.texts == [WARM_QUERY]


def test_load_model_loads_it_even_when_the_cache_holds_the_text(tmp_path: Path) -> None:
    """The bug: after the first start the old warm-up's text came from the cache, and the
    model stayed unloaded until a user's new question loaded it."""
    from impact_graph.ingest.embed import Embedder

    cache = tmp_path / "emb.sqlite"
    first = Embedder(cache_path=cache, vocab_vectors=False)
    first.embed(["impact-graph warm-up", WARM_QUERY])
    first.close()
    restarted = Embedder(cache_path=cache, vocab_vectors=False)
    try:
        restarted.embed(["impact-graph warm-up"])  # what the app's own warm-up asks
        assert restarted._model is None, "the cache did not answer; the test proves nothing"
        load_model(restarted)
        assert restarted._model is not None
    finally:
        restarted.close()


# --- the app: warm-up at start-up, requests meanwhile wait ----------------------------------


class _GatedEmbedder:
    """The web tests' real embedder, whose ``encode`` (the warm-up's model step) waits
    until the test opens the gate: the warm-up is then certainly still running."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.encodes = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encodes += 1
        assert self.gate.wait(60), "the test never opened the gate"
        return np.asarray(self.inner.encode(texts))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.inner.embed(texts))

    def close(self) -> None:
        pass


def test_a_search_during_the_warm_up_waits_for_it_and_answers(
    web_settings: Settings,  # noqa: F811 - fixture
    web_embedder: object,  # noqa: F811 - fixture
) -> None:
    from impact_graph.api import create_app

    gated = _GatedEmbedder(web_embedder)
    app = create_app(web_settings, embedder=gated, warm_up=True, warm_sparql=False)
    with TestClient(app) as client:
        state = app.state.services.warming
        assert isinstance(state, WarmUpState)
        health = client.get("/health")  # answers at once, warm-up or not
        assert health.status_code == 200 and state.warming_up
        assert health.json()["search"] == "warming up"
        assert "Search is warming up" in health.json()["detail"]
        answer: dict[str, Any] = {}

        def ask() -> None:
            answer["r"] = client.get("/search", params={"q": "eenzaamheid ouderen"})
            answer["warm_at_answer"] = not state.warming_up

        asker = threading.Thread(target=ask)
        asker.start()
        time.sleep(0.5)
        assert "r" not in answer, "the search did not wait for the warm-up"
        gated.gate.set()
        asker.join(60)
        assert answer["r"].status_code == 200 and answer["r"].json()["total"] > 0
        assert answer["warm_at_answer"]
        assert state.error is None, state.error
        assert {"model", "store", "labels", "search", "page", "heap"} <= set(state.seconds)
        assert gated.encodes == 1
        assert client.get("/health").json()["search"] == "ready"


def test_no_warm_up_when_the_app_is_made_without_it(
    web_settings: Settings,  # noqa: F811 - fixture
    web_embedder: object,  # noqa: F811 - fixture
) -> None:
    from impact_graph.api import create_app

    app = create_app(web_settings, embedder=web_embedder, warm_up=False)
    with TestClient(app) as client:
        assert app.state.services.warming is None
        assert client.get("/search", params={"q": "eenzaamheid"}).status_code == 200
        assert client.get("/health").json()["search"] is None


# --- only stop words, over HTTP and on the page ---------------------------------------------


@pytest.fixture(scope="module")
def client(
    web_settings: Settings,  # noqa: F811 - fixture
    web_embedder: object,  # noqa: F811 - fixture
) -> Iterator[TestClient]:
    from impact_graph.api import create_app

    app = create_app(web_settings, embedder=web_embedder, warm_up=False)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("q", ["de het een", "van de", "the a"])
def test_the_api_answers_only_stop_words_with_nothing_and_a_dutch_hint(
    client: TestClient, q: str
) -> None:
    r = client.get("/search", params={"q": q})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 0 and body["results"] == [] and body["arms"] == []
    assert body["hint"] == ONLY_COMMON_WORDS_NL
    assert body["notes"][0].startswith(f"{NOTHING_FOUND} for '{q}'")
    assert body["next"] is None


def test_the_api_searches_a_stop_word_beside_a_topic(client: TestClient) -> None:
    body = client.get("/search", params={"q": "de eenzaamheid"}).json()
    assert body["total"] > 0 and body["hint"] is None


def test_the_page_shows_the_dutch_hint_for_only_stop_words(client: TestClient) -> None:
    html = client.get("/", params={"q": "de het een"}).text
    assert ONLY_COMMON_WORDS_NL.replace("'", "&#39;") in html
    assert "geen woord van de zoekvraag" not in html  # not the nonsense query's sentence
    assert '<article class="card"' not in html
    mixed = client.get("/", params={"q": "de eenzaamheid"}).text
    assert '<article class="card"' in mixed and "veelvoorkomende woorden" not in mixed
