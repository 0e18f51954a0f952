"""Warm the search up before its first question: what the first request would pay.

Measured on the demo corpus after a restart of ``impact-graph serve`` (load 8-9): the
first question that was not in the embedding cache took 19.2 s (5.5 s of server CPU),
the second 0.25 s. The app's start-up "warm-up" embedded a fixed text, which the
embedding cache (``<data_dir>/cache/embeddings.sqlite``) answered from the second start
on, so the model was never loaded until a new question came: loading
sentence-transformers and the model was the whole of that time. The rest of a first
search is small but real: the vocabulary's label index (~0.12 s), the stemmer's and the
quote sentences' caches, and the store's plans of the search's queries.

`warm_up` loads the model whatever the cache holds (``encode`` bypasses it) and then asks
one question through the whole search, so every cache and code path the first user's
question needs is ready. A request that comes in meanwhile waits where it needs the model
(the embedder loads it once, under a lock) and never fails because of the warm-up.

The API runs it once per app, in the background, from ``Services.start_warm_up``
(`impact_graph.api.deps`); ``/health`` and ``/search`` only read its `WarmUpState`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from impact_graph.search.models import SearchRequest
from impact_graph.search.query import common_words, label_index

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The question the warm-up asks (one a user would ask: it reaches concepts, chunks,
#: interventions and quotes, so every stage of a search runs).
WARM_QUERY = "wat werkt tegen eenzaamheid bij ouderen"


@dataclass
class WarmUpState:
    """Where a background warm-up is: ``done`` is set when it ended, however it ended.

    ``seconds`` holds each step's wall-clock seconds (``model``, ``store``, ``labels``,
    ``search``, then the caller's ``also`` steps); ``error`` the sentence of the last
    step that failed (the search still works; its first request then pays for what was
    not warmed).
    """

    done: threading.Event = field(default_factory=threading.Event)
    seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def warming_up(self) -> bool:
        """True while the warm-up runs."""
        return not self.done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the warm-up ended; False when ``timeout_s`` passed first."""
        return self.done.wait(timeout_s)

    def step(self, name: str, fn: Callable[[], T]) -> T | None:
        """Run and time one step; a failure is logged and kept in ``error``, not raised
        (a warm-up must never stop the server from starting)."""
        t0 = time.perf_counter()
        try:
            return fn()
        except Exception as e:
            self.error = f"{name}: {e or type(e).__name__}"
            log.warning("search warm-up step %r failed: %s", name, self.error)
            return None
        finally:
            self.seconds[name] = round(time.perf_counter() - t0, 3)


def load_model(embedder: Any) -> None:
    """Load the embedding model and run one forward pass, past the embedding cache.

    ``Embedder.embed`` serves a text it has seen from its cache without the model, so
    an embedder that only has ``embed`` (tests' fakes) is simply asked once.
    """
    encode = getattr(embedder, "encode", None)
    if callable(encode):
        encode([WARM_QUERY])
    elif embedder is not None:
        embedder.embed([WARM_QUERY])


def warm_up(
    get_embedder: Callable[[], Any],
    get_service: Callable[[], Any],
    state: WarmUpState | None = None,
    also: Sequence[tuple[str, Callable[[], object]]] = (),
) -> WarmUpState:
    """Warm the search up; never raises (a failed step is in ``state.error``).

    Steps: the embedding model (``get_embedder``: it needs no store, so it loads while
    the store may still be opening), then the search service (``get_service`` may wait
    for the store), the vocabulary's label index and stop-word list, and one whole
    search of `WARM_QUERY` (the store's query plans, stems, quotes); then the ``also``
    steps (name, function), e.g. the web page's template. ``done`` is set at the end,
    whatever happened.
    """
    state = state or WarmUpState()
    try:
        state.step("model", lambda: load_model(get_embedder()))
        service = state.step("store", get_service)
        if service is not None:
            state.step("labels", lambda: (label_index(service.vocab), common_words()))
            state.step("search", lambda: service.search(SearchRequest(q=WARM_QUERY, limit=10)))
        for name, fn in also:
            state.step(name, fn)
        log.info("search warm-up done: %s", state.seconds)
    finally:
        state.done.set()
    return state


def warm_up_ingest(
    get_pipeline: Callable[[], Any],
    lock: Any,
    after: WarmUpState | None = None,
    state: WarmUpState | None = None,
) -> WarmUpState:
    """Warm the upload path up after the search's warm-up; never raises.

    Why: the first upload after a restart built the NLP pipelines and matchers, imported
    the readers' libraries and parsed the ontology graph of the RDF view inside the
    request (H47 waited 27.9 s for it at load 15-23, the model loading in the same
    request as the search's warm-up had not reached it yet). ``Pipeline.warm_up`` loads
    exactly those; it runs once ``after`` (the search's warm-up) is done, so search and
    read routes are ready no later than before, and under ``lock`` (the app's ingest
    lock), so an upload that comes in meanwhile waits for it instead of building the
    same things beside it.
    """
    state = state or WarmUpState()
    try:
        if after is not None:
            after.wait()
        with lock:
            state.step("ingest", lambda: get_pipeline().warm_up())
        log.info("ingest warm-up done: %s", state.seconds)
    finally:
        state.done.set()
    return state
