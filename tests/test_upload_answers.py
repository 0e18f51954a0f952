"""What an upload's answer says (H60, the programme manager's walk-through):

* a refused too-large body names the limit in bytes and MB, also when Starlette's body
  limit refuses it before the route runs (it said only "larger than this API accepts");
* an answer says whether the file stays on the server (``file_kept``, ``kept``): a
  story's file is removed, any other kind's stays, with the names in it, until its
  document is deleted -- and deleting still removes it, and the same file can then be
  uploaded again;
* the upload page names the limit and what is kept, in Dutch.

Real FalkorDB store, real ingest, over the app's HTTP interface.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impact_graph.api import create_app
from impact_graph.api.auth import hash_key
from impact_graph.api.routers.documents import MULTIPART_SLACK, meta_path, uploads_dir
from impact_graph.config import Settings
from tests.factories import UPLOAD_BOUNDARY, streamed_upload
from tests.test_web import web_embedder

__all__ = ["web_embedder"]

KEY = "h60-upload-key"
PLAN = b"""# Notitie buurtkamer Oosterpark

Wethouder Petra de Vries opende de buurtkamer. Stichting Welzijn Wadstede werkt met de
gemeente Wadstede aan eenzaamheid onder ouderen; een maatjesproject vermindert eenzaamheid.
"""
STORY = b"""---
kind: story
---
# Verhaal van mevrouw Bakker

Mevrouw Bakker uit de Lindenstraat zat veel alleen. Via de buurtkamer vond ze een maatje.
"""


def auth() -> dict[str, str]:
    return {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def settings(falkordb_data_dir: Path, schema: object) -> Iterator[Settings]:
    from impact_graph.store import open_store

    s = Settings(
        backend="falkordb",
        data_dir=falkordb_data_dir,
        graph_name="upload-answers",
        api_keys=hash_key(KEY),
    )
    store = open_store(s)
    try:
        store.clear()
        store.setup_schema(schema)  # type: ignore[arg-type]
    finally:
        store.close()
    yield s
    store = open_store(s)
    try:
        store.clear()
    finally:
        store.close()


@pytest.fixture(scope="module")
def client(settings: Settings, web_embedder: object) -> Iterator[TestClient]:
    app = create_app(settings, embedder=web_embedder, warm_up=False)
    with TestClient(app) as c:
        yield c


def test_a_too_large_body_is_refused_with_the_limit_in_figures(settings: Settings) -> None:
    limit = 2_000
    app = create_app(settings.model_copy(update={"upload_max_bytes": limit}), warm_up=False)
    with TestClient(app) as c:
        # Over the body limit by Content-Length: Starlette refuses it before the route.
        r = c.post(
            "/documents", files={"file": ("big.md", b"a" * (limit + 70_000))}, headers=auth()
        )
        assert r.status_code == 413, r.text
        detail = r.json()["detail"]
        assert f"{limit + MULTIPART_SLACK:,} bytes" in detail, detail
        assert f"file may be at most {limit:,} bytes (0.002 MB)" in detail, detail
        assert "IMPACT_GRAPH_UPLOAD_MAX_BYTES" in detail
        # Streamed without Content-Length: stopped while streaming, same figures.
        r = c.post(
            "/documents",
            content=streamed_upload(10),
            headers={
                **auth(),
                "Content-Type": f"multipart/form-data; boundary={UPLOAD_BOUNDARY}",
            },
        )
        assert r.status_code == 413, r.text
        assert f"{limit + MULTIPART_SLACK:,} bytes" in r.json()["detail"], r.json()
        # The page names the limit in Dutch and gives it to its script for the 413 line.
        body = c.get("/uploaden").text
        assert "hoogstens 0,002 MB" in body and 'data-max-mb="0,002 MB"' in body


def test_the_answer_says_a_plans_file_is_kept_and_delete_removes_it(
    client: TestClient, settings: Settings
) -> None:
    r = client.post(
        "/documents", files={"file": ("notitie.md", PLAN, "text/markdown")}, headers=auth()
    )
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["file_kept"] is True and "DELETE /documents/" in rep["kept"], rep
    stored = uploads_dir(settings) / rep["stored_as"]
    assert stored.read_bytes() == PLAN  # kept, with the alderman's name in it
    doc_id = rep["documents"][0]["doc_id"]
    assert client.delete(f"/documents/{doc_id}", headers=auth()).status_code == 200
    assert not stored.exists() and not meta_path(stored).exists()
    # The same file again is a new upload, kept again.
    r = client.post(
        "/documents", files={"file": ("notitie.md", PLAN, "text/markdown")}, headers=auth()
    )
    assert r.status_code == 201 and r.json()["new"] == 1, r.text
    assert stored.exists()


def test_the_answer_says_a_storys_file_is_not_kept(client: TestClient, settings: Settings) -> None:
    r = client.post(
        "/documents", files={"file": ("bakker.md", STORY, "text/markdown")}, headers=auth()
    )
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["file_kept"] is False and "not kept" in rep["kept"], rep
    assert not (uploads_dir(settings) / rep["stored_as"]).exists()


def test_the_upload_page_says_what_is_kept(client: TestClient) -> None:
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", client.get("/uploaden").text)).split())
    assert "Van een verhaal bewaart de server het bestand en de bestandsnaam niet" in text
    assert "blijft het bestand zelf op de server staan" in text
    assert "tot u het document verwijdert" in text


def test_a_too_large_file_is_refused_with_a_dutch_sentence_too(settings: Settings) -> None:
    """The page showed the route's English 413 as "Technische melding (Engels)"; each
    413 now also carries ``detail_nl``: the limit in Dutch and what to do (H66)."""
    limit = 2_000
    app = create_app(settings.model_copy(update={"upload_max_bytes": limit}), warm_up=False)
    with TestClient(app) as c:
        refusals = {
            # Within the body's slack but over the file limit: the route's own 413.
            "route": c.post(
                "/documents", files={"file": ("big.md", b"a" * (limit + 1_000))}, headers=auth()
            ),
            # Over the body limit by Content-Length: Starlette's, rewritten.
            "content-length": c.post(
                "/documents", files={"file": ("big.md", b"a" * (limit + 70_000))}, headers=auth()
            ),
            "streamed": c.post(
                "/documents",
                content=streamed_upload(10),
                headers={
                    **auth(),
                    "Content-Type": f"multipart/form-data; boundary={UPLOAD_BOUNDARY}",
                },
            ),
        }
    for how, r in refusals.items():
        assert r.status_code == 413, (how, r.text)
        body = r.json()
        nl = body.get("detail_nl", "")
        assert "de grens van 0,002 MB" in nl, (how, body)
        assert "Splits het in kleinere bestanden" in nl, (how, body)
        assert "IMPACT_GRAPH_UPLOAD_MAX_BYTES" in nl, (how, body)
        assert body["detail"] != nl  # the English sentence stays for developers
    assert "upload limit of 0.002 MB" in refusals["route"].json()["detail"]


def kind_options(page_html: str) -> dict[str, str]:
    """The upload form's kind menu: option value -> its text."""
    select = re.search(r'<select id="kind".*?</select>', page_html, re.S)
    assert select, page_html
    return {
        v: html.unescape(t).strip()
        for v, t in re.findall(r'<option value="([^"]*)">([^<]*)</option>', select[0])
    }


def test_the_kind_menu_names_what_users_look_for_in_the_ingests_words(
    client: TestClient,
) -> None:
    from impact_graph.ingest.document import KINDS
    from impact_graph.ingest.kinds import normalise_kind

    options = kind_options(client.get("/uploaden").text)
    assert options.pop("") == "automatisch bepalen"
    assert sorted(options) == sorted(KINDS)
    assert "reisverslag" in options["plan"] and "programma-aanpak" in options["plan"]
    assert "klantreis" in options["story"], options  # a resident's journey is a story
    for kind, text in options.items():
        words = re.split(r", | of ", text)
        # Every word shown is one the ingest itself reads as this kind (front matter,
        # folder names, the API's form field), and none is the English code.
        assert all(normalise_kind(w) == kind for w in words), (kind, words)
        assert not {"story", "policy", "research"} & set(words), (kind, words)


def test_a_dutch_kind_word_is_accepted_by_the_upload(client: TestClient) -> None:
    doc = b"# Reisverslag buurtkamer\n\nWat we leerden in de buurtkamer van Oosterpark.\n"
    r = client.post(
        "/documents",
        files={"file": ("reisverslag.md", doc, "text/markdown")},
        data={"kind": "Reisverslag"},
        headers=auth(),
    )
    assert r.status_code == 201, r.text
    assert [d["kind"] for d in r.json()["documents"]] == ["plan"]
    r = client.post(
        "/documents",
        files={"file": ("x.md", doc, "text/markdown")},
        data={"kind": "dagboek"},
        headers=auth(),
    )
    assert r.status_code == 422 and "'reisverslag'" in r.json()["detail"], r.text


def starting_note(page_html: str) -> tuple[bool, str]:
    """(shown, text) of the upload page's "still starting" note."""
    m = re.search(r'<p id="starting"([^>]*)>([^<]*)</p>', page_html)
    assert m, page_html
    return "hidden" not in m[1], html.unescape(m[2])


def test_the_upload_page_says_while_the_service_is_still_starting(
    settings: Settings, web_embedder: object
) -> None:
    """An upload sent right after a start waits for the warm-ups; the page says so in
    Dutch (server-rendered, and at /uploaden/status for its script), and so does
    /health for the upload path's warm-up, which its ``search`` field does not cover."""
    from impact_graph.search.warmup import WarmUpState

    app = create_app(settings, embedder=web_embedder, warm_up=False)
    with TestClient(app) as c:
        assert starting_note(c.get("/uploaden").text) == (False, "")
        assert c.get("/uploaden/status").json() == {"starting": False, "message": ""}
        svc = app.state.services
        search = svc.warming = WarmUpState()
        ingest = app.state.ingest_warming = WarmUpState()
        for state, what in ((search, "het taalmodel"), (ingest, "onderdelen voor het inlezen")):
            shown, text = starting_note(c.get("/uploaden").text)
            assert shown and "nog aan het opstarten" in text and what in text, text
            assert "vanzelf verwerkt" in text
            status = c.get("/uploaden/status")
            assert status.json() == {"starting": True, "message": text}
            assert status.headers["cache-control"] == "no-store"
            state.done.set()
        assert "Uploads are warming up" not in c.get("/health").json()["detail"]
        ingest.done.clear()
        assert "Uploads are warming up" in c.get("/health").json()["detail"]
        ingest.done.set()
        assert starting_note(c.get("/uploaden").text) == (False, "")


def test_the_earlier_versions_say_when_they_were_added_in_dutch(client: TestClient) -> None:
    first = b"# Notitie moestuin\n\nDe moestuin in Bergveld-Zuid brengt buren samen.\n"
    ids = []
    for body in (first, first + b"\nOok de school doet mee.\n"):
        r = client.post(
            "/documents", files={"file": ("moestuin.md", body, "text/markdown")}, headers=auth()
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["documents"][0]["doc_id"])
    items = client.get(
        "/uploaden/eerdere-versies", params={"bestand": "moestuin.md", "behalve": ids[1]}
    ).json()["items"]
    assert [i["id"] for i in items] == [ids[0]]
    added = items[0]["created_at"]
    assert re.fullmatch(r"\d{1,2} [a-z]+ \d{4} om \d{2}:\d{2}( \(UTC\))?", added), added
    for did in ids:
        assert client.delete(f"/documents/{did}", headers=auth()).status_code == 200
