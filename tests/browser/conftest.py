"""Fixtures of the browser tests: the app served by uvicorn, and Debian's Chromium.

The app runs in this process on a free 127.0.0.1 port (a real HTTP server, not a test
client), over a FalkorDB graph of its own filled as in ``tests/test_web.py``. Chromium
is ``/usr/bin/chromium`` from Debian (``make browser`` installs it), driven by
Playwright; Playwright never downloads a browser here. Every request the page makes to
another host is refused and recorded, so the tests also prove the pages work offline.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from impact_graph.config import Settings
from tests.test_web import clear_graph, make_web_store, web_embedder

__all__ = ["web_embedder"]  # re-exported as a fixture for the browser tests

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_settings(
    falkordb_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    web_embedder: object,
    schema: object,
) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("browser-corpus")
    settings = make_web_store("browser", falkordb_data_dir, folder, web_embedder, schema)
    yield settings
    clear_graph(settings)


@pytest.fixture(scope="session")
def live_server(browser_settings: Settings, web_embedder: object) -> Iterator[str]:
    """The whole app (API and web UI) under uvicorn on a free port; yields its base URL."""
    from impact_graph.api import create_app

    app = create_app(browser_settings, embedder=web_embedder, warm_up=False)
    with serve(app, lifespan="on") as url:
        yield url


@contextmanager
def serve(app: Any, lifespan: str) -> Iterator[str]:
    """``app`` under uvicorn in a thread, on a free 127.0.0.1 port; yields its base URL
    and stops the server after."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 60 s; see the log above.")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@contextmanager
def keyed_app(
    settings: Settings, embedder: object, key: str, title: str, **update: Any
) -> Iterator[tuple[str, Any]]:
    """The app with one API key (and any other ``update`` to its settings) under uvicorn;
    yields its base URL and the app. Afterwards the documents whose title starts with
    ``title`` -- the ones the test uploaded -- are deleted, so the shared graph of the
    other browser tests stays as it was (the upload tests each had this loop)."""
    from impact_graph.api import create_app
    from impact_graph.api.auth import hash_key
    from impact_graph.store import open_store

    keyed = settings.model_copy(update={"api_keys": hash_key(key), **update})
    app = create_app(keyed, embedder=embedder, warm_up=False)
    with serve(app, lifespan="on") as url:
        yield url, app
    store = open_store(settings)
    try:
        for (did,) in store.read_query(
            "MATCH (d:Document) WHERE d.title STARTS WITH $t RETURN d.id",
            {"t": title},
            timeout_s=10.0,
            row_cap=100,
        ).rows:
            store.delete_document(str(did))
    finally:
        store.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium under Playwright's sync API, for the tests of this package only.

    Why package scope: while ``sync_playwright()`` is open, its event loop counts as
    running in the main thread (it runs in a greenlet of that thread), so any later
    ``asyncio.run()`` there fails with "cannot be called from a running event loop".
    Kept for the whole session it broke ``tests/test_cypher_async.py`` in CI; closed at
    the end of this package, the loop is gone before the next file starts.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; run `make browser` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


class Page:
    """A Playwright page plus what it saw: dialogs (alerts) and refused outside requests."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


@pytest.fixture
def web(browser: Any, live_server: str) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
    page = ctx.new_page()
    w = Page(page, live_server)

    def on_dialog(d: Any) -> None:
        w.dialogs.append(d.message)
        d.dismiss()

    def route(r: Any) -> None:
        if r.request.url.startswith(live_server):
            r.continue_()
        else:
            w.outside.append(r.request.url)
            r.abort()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    ctx.route("**/*", route)
    yield w
    ctx.close()
