"""The upload page while the service starts, and its refusals, in Chromium (H66).

An upload sent right after a start waited -- for the store to open (refused with 503),
for the model and for the upload path's warm-up (which holds the ingest lock) -- under
"Bezig met lezen en verwerken…" only. Now the page says in Dutch that the service is
still starting and that the upload goes on by itself, and sends a refused one again.
A file over the limit is refused in Dutch only (it showed the API's English sentence as
"Technische melding (Engels)").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from impact_graph.config import Settings
from impact_graph.search.warmup import WarmUpState
from tests.browser.conftest import keyed_app

KEY = "ig_test_upload_starting_key"
TITLE = "Buurtkamer Oosterpark leert"


@pytest.fixture
def keyed(browser_settings: Settings, web_embedder: object) -> Iterator[tuple[str, Any]]:
    """The app with one API key and a small upload limit; yields its URL and the app.
    The documents its tests add are deleted after."""
    with keyed_app(browser_settings, web_embedder, KEY, TITLE, upload_max_bytes=20_000) as kept:
        yield kept


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    ctx.close()
    assert errors == []


def send(page: Any, url: str, name: str, body: bytes) -> None:
    page.goto(url + "/uploaden")
    page.get_by_label("API-sleutel").fill(KEY)
    page.get_by_label("Bestand").set_input_files(
        {"name": name, "mimeType": "text/markdown", "buffer": body}
    )
    page.get_by_role("button", name="Toevoegen").click()


def test_an_upload_waiting_for_the_warm_up_says_so_and_goes_on(
    page: Any, keyed: tuple[str, Any]
) -> None:
    url, app = keyed
    svc = app.state.services
    warming = app.state.ingest_warming = WarmUpState()
    svc.ingest_lock.acquire()  # what `warm_up_ingest` holds while it runs
    released = False
    try:
        page.goto(url + "/uploaden")
        note = page.locator("#starting")
        assert note.is_visible() and "nog aan het opstarten" in note.inner_text()
        send(page, url, "leert.md", f"# {TITLE}\n\nBewoners koken samen.\n".encode())
        busy = page.locator("#upload-result .busy")
        page.wait_for_function(
            "document.querySelector('#upload-result .busy') && document.querySelector("
            "'#upload-result .busy').textContent.includes('nog aan het opstarten')",
            timeout=30_000,
        )
        assert "vanzelf verwerkt" in busy.inner_text()
        warming.done.set()
        svc.ingest_lock.release()
        released = True
        page.locator("#upload-result .ok").wait_for(timeout=120_000)
        assert "Toegevoegd." in page.locator("#upload-result").inner_text()
        # The note goes with the wait (not up to 3 s later, at the page's next poll).
        note.wait_for(state="hidden", timeout=1_500)
    finally:
        warming.done.set()
        if not released:
            svc.ingest_lock.release()


def test_an_upload_refused_while_the_store_opens_is_sent_again(
    page: Any, keyed: tuple[str, Any]
) -> None:
    url, app = keyed
    svc = app.state.services
    svc.store()  # opened by the lifespan
    old, svc._store, svc._opening = svc._store, None, True  # as while the store opens
    timer = None
    try:
        send(page, url, "leert-2.md", f"# {TITLE} 2\n\nBewoners tuinieren samen.\n".encode())
        page.get_by_text("vanzelf opnieuw verstuurd").wait_for(timeout=30_000)
        # The store "opens": the next try reopens it, and the upload goes through.
        timer = threading.Timer(1.0, lambda: setattr(svc, "_opening", False))
        timer.start()
        page.locator("#upload-result .ok, #upload-result .error").wait_for(timeout=120_000)
        assert "Toegevoegd." in page.locator("#upload-result").inner_text()
    finally:
        if timer is not None:
            timer.join()
        svc._opening = False
        old.close()


def test_a_file_over_the_limit_is_refused_in_dutch_only(page: Any, keyed: tuple[str, Any]) -> None:
    url, _ = keyed
    send(page, url, "groot.md", b"# Groot\n\n" + b"tekst " * 5_000)
    error = page.locator("#upload-result .error")
    error.wait_for(timeout=30_000)
    text = error.inner_text()
    assert "de grens van 0,02 MB" in text and "Splits het in kleinere bestanden" in text, text
    assert "Engels" not in page.locator("#upload-result").inner_text()
