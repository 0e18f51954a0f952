"""What one API process holds for its lifetime, and the dependencies routes ask for.

The store is opened once per app (in the lifespan) and closed at shutdown. Opening runs
in a background thread: an embedded FalkorDB that restarts with large indexes does not
even answer PING while it loads, and the API must still answer ``/health`` ("loading")
and 503s with a sentence meanwhile instead of hanging. A store that failed to open is
retried on a later request (at most every few seconds), so the API recovers by itself
once the database is back.

The embedding model, the vocabulary, the search service and the ingest pipeline are
loaded lazily on first use (the model costs ~5 s), each exactly once. An app made with
``warm_up`` builds them at start-up instead, in one background thread that starts with the
store's first open (`Services.start_warm_up`); ``/health`` and ``/search`` only read its
`WarmUpState` (``Services.warming``).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from fastapi import Request

from impact_graph.api.problems import ProblemError
from impact_graph.config import Settings
from impact_graph.store.port import GraphStore, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from impact_graph.search.warmup import WarmUpState

log = logging.getLogger(__name__)

#: Seconds between attempts to reopen a store that failed to open.
RETRY_S = 3.0
#: Longest the warm-up waits for the store to open before it gives up on the search part
#: (the model is loaded meanwhile; a store loading a large snapshot can take minutes).
STORE_WAIT_S = 600.0


def freeze_startup_heap() -> None:
    """Move every object alive after start-up into the collector's permanent generation.

    The model, the vocabulary and the matchers are hundreds of thousands of long-lived
    objects; without this, every full collection walks them all and stalls whatever
    request is running for ~250 ms. On the 100k-chunk search bench that stall was the
    whole of /search's p95 (p95 297 -> 100 ms with the heap frozen, p50 unchanged).
    """
    gc.collect()
    gc.freeze()
    log.debug("start-up heap frozen: %d objects", gc.get_freeze_count())


class Services:
    """Settings, the store and the lazily built collaborators of one app."""

    def __init__(self, settings: Settings, *, warm_up: bool = True) -> None:
        self.settings = settings
        self.warm_up = warm_up
        self._store: GraphStore | None = None
        self._store_error: str | None = None
        self._opening = False
        self._last_attempt = 0.0
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._embedder: Any = None
        self._own_embedder = True
        self._search: Any = None
        self._pipeline: Any = None
        #: The start-up warm-up's state (None: not started, or the app has no warm-up).
        self.warming: WarmUpState | None = None
        #: One ingest at a time: the pipeline holds per-run state.
        self.ingest_lock = threading.Lock()

    # --- store ------------------------------------------------------------------------

    def start_opening(self) -> None:
        """Open the store in a background thread (called by the lifespan); the first call
        also starts the warm-up (`start_warm_up`), which loads the model meanwhile."""
        with self._lock:
            if self._store is not None or self._opening:
                return
            self._opening = True
            self._opened.clear()
        threading.Thread(target=self._open, name="impact-graph-store-open", daemon=True).start()
        if self.warm_up:
            self.start_warm_up()

    def wait_opened(self, timeout_s: float) -> bool:
        """Wait until the current open attempt ended (successfully or not)."""
        return self._opened.wait(timeout_s)

    def _open(self) -> None:
        from impact_graph.store import open_store

        self._last_attempt = time.monotonic()
        store: GraphStore | None = None
        error: str | None = None
        try:
            store = open_store(self.settings)
            store.setup_schema(self.schema)
        except StoreError as e:
            error = str(e)
        except Exception as e:  # e.g. FalkorDBServerError: always a sentence
            error = str(e) or type(e).__name__
        if error is not None and store is not None:
            try:
                store.close()
            except Exception:  # closing a half-open store must not hide the reason
                log.debug("closing the half-open store failed", exc_info=True)
            store = None
        with self._lock:
            self._store, self._store_error, self._opening = store, error, False
        if error:
            log.warning("the graph store could not be opened: %s", error)
        self._opened.set()

    # --- warm-up ----------------------------------------------------------------------

    def start_warm_up(self) -> WarmUpState:
        """Warm the search up in one background thread, once per app; returns its state
        (also ``self.warming``, which ``/health`` reports and ``/search`` waits on).

        Why at start-up: the first question after a restart loaded the embedding model
        (19.2 s at load 8-9 on the demo). The steps are `impact_graph.search.warmup`'s:
        the model first (it needs no store, so it loads while the store opens), then,
        once the store is open, the search service and one whole search, then the web
        page's template. Last, the heap start-up built is frozen (`freeze_startup_heap`),
        however the other steps went: a failed step never stops the server.
        """
        from impact_graph.search.warmup import WarmUpState

        with self._lock:
            if self.warming is not None:
                return self.warming
            state = self.warming = WarmUpState()
        threading.Thread(
            target=self._warm_up, args=(state,), name="impact-graph-warm-up", daemon=True
        ).start()
        return state

    def _warm_up(self, state: WarmUpState) -> None:
        from impact_graph.search.warmup import warm_up

        def service() -> Any:
            self.wait_opened(STORE_WAIT_S)
            return self.search()

        def results_page() -> object:
            # The web UI's search page compiles its template on first use (~27 ms CPU).
            from impact_graph.web.pages import templates

            return templates().get_template("home.html")

        # The heap is frozen as the last step, before the state says "ready".
        also = [("page", results_page), ("heap", lambda: freeze_startup_heap())]
        warm_up(lambda: self.embedder, service, state, also=also)

    @property
    def store_error(self) -> str | None:
        return self._store_error

    @property
    def store_opening(self) -> bool:
        return self._opening

    def ready_store(self) -> GraphStore | None:
        """The open store, or None -- without waiting or retrying (`store` may wait for an
        open to finish, which an ``async`` route must not do in the event loop)."""
        return self._store

    def store(self) -> GraphStore:
        """The open store, or a 503 problem with a sentence saying why there is none."""
        store = self._store
        if store is not None:
            return store
        if not self._opening and self._store_error is None:
            # Never opened (an app run without its lifespan): open it now.
            self.start_opening()
            self.wait_opened(30.0)
            if self._store is not None:
                return self._store
        if (
            not self._opening
            and self._store_error is not None
            and time.monotonic() - self._last_attempt >= RETRY_S
        ):
            self.start_opening()
            self.wait_opened(10.0)
            if self._store is not None:
                return self._store
        if self._opening:
            raise StoreUnavailable(
                f"The {self.settings.backend} graph store is still starting (it may be "
                "loading its data); retry in a few seconds, GET /health shows its state."
            )
        raise StoreUnavailable(
            self._store_error
            or f"The {self.settings.backend} graph store is not open; check GET /health."
        )

    def invalidate(self, reason: str) -> None:
        """Forget a store whose server went away, so a later request reopens it."""
        with self._lock:
            if self._opening:
                return
            store, self._store = self._store, None
            self._search = None
            self._store_error = reason
            if store is None:
                return
            self._last_attempt = time.monotonic()
        try:
            store.close()
        except Exception:
            log.debug("closing a lost store failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None
        if self._embedder is not None and self._own_embedder:
            self._embedder.close()
        self._embedder = None
        if store is not None:
            store.close()

    # --- model, vocabulary, services -------------------------------------------------

    @property
    def schema(self) -> Any:
        """The ontology's schema (``load_schema`` parses the default once per process)."""
        from impact_graph.ontology import load_schema

        return load_schema()

    @property
    def vocab(self) -> Any:
        """The SKOS vocabularies (``load_vocabulary`` caches the default per process)."""
        from impact_graph.vocab import load_vocabulary

        return load_vocabulary()

    def use_embedder(self, embedder: Any) -> None:
        """Share an embedder owned by the caller (not closed with the app)."""
        self._embedder = embedder
        self._own_embedder = False

    @property
    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from impact_graph.ingest.embed import Embedder

                self._embedder = Embedder.from_settings(self.settings)
            return self._embedder

    def search(self) -> Any:
        """The search service over the open store (built once per store)."""
        store = self.store()
        svc = self._search
        if svc is None or getattr(svc, "store", store) is not store:
            try:
                from impact_graph.search import SearchService
            except ImportError as e:
                raise ProblemError(
                    503,
                    "Search is not available in this installation (the search service "
                    f"could not be imported: {e}); install impact-graph with its nlp extra.",
                    slug="search-unavailable",
                ) from None
            svc = SearchService(store, self.vocab, self.embedder, self.schema)
            self._search = svc
        return svc

    def pipeline(self) -> Any:
        """The ingest pipeline sharing this app's store, embedder, schema and vocabulary."""
        store = self.store()
        if self._pipeline is None or self._pipeline.store is not store:
            from rich.console import Console

            from impact_graph.ingest.pipeline import Pipeline

            self._pipeline = Pipeline(
                self.settings,
                store=store,
                embedder=self.embedder,
                schema=self.schema,
                vocab=self.vocab,
                console=Console(stderr=True, quiet=True),
            )
        return self._pipeline


def services(request: Request) -> Services:
    """Dependency: the app's `Services`."""
    svc: Services = request.app.state.services
    return svc


def store_dep(request: Request) -> GraphStore:
    """Dependency: the open store (503 problem when there is none)."""
    return services(request).store()
