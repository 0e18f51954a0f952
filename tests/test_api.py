"""The HTTP API on real stores (embedded FalkorDB and Neo4j) with a small ingested corpus.

Nothing is faked: the corpus goes through the real ingest pipeline (real embedding
model) into the session's real databases, and every request goes through the FastAPI
app as a client would send it. Bad input must give a 4xx problem+json with a sentence,
never a 500.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impact_graph.api import create_app
from impact_graph.api.auth import hash_key
from impact_graph.config import Settings
from tests.conftest import BACKENDS, settings_for
from tests.factories import UPLOAD_BOUNDARY, streamed_upload

REPO = Path(__file__).resolve().parents[1]
CORPUS = [
    REPO / "ingest/demo/research/welzijn-op-recept.md",
    REPO / "ingest/demo/research/zin-in-vriendschap.html",
]
KEY = "test-key-1"
OTHER_KEY = "test-key-2"
PROBLEM = "application/problem+json"

#: A small upload that shares an intervention with the corpus (for the delete test).
UPLOAD_MD = b"""---
title: Buurtverslag Welzijn op Recept
kind: research
---
# Buurtverslag

De huisarts verwijst ouderen naar Welzijn op Recept. Welzijn op Recept vermindert
eenzaamheid bij ouderen volgens een procesevaluatie in Wadstede.
"""


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One real embedding model for the whole session (loading it costs seconds)."""
    from impact_graph.ingest.embed import Embedder

    emb = Embedder(cache_path=tmp_path_factory.mktemp("embcache") / "emb.sqlite")
    yield emb
    emb.close()


def ingest_corpus(settings: Settings, embedder, schema, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Clear the store of ``settings`` and ingest the test corpus through the pipeline."""
    from impact_graph.ingest.pipeline import Pipeline
    from impact_graph.store import open_store

    for f in CORPUS:
        shutil.copy(f, folder / f.name)
    store = open_store(settings)
    try:
        store.clear()
        store.setup_schema(schema)
        with Pipeline(settings, store=store, embedder=embedder, schema=schema) as p:
            report = p.run(sorted(folder.iterdir()), progress=False)
        assert report.ok and report.new == len(CORPUS), report.to_dict()
    finally:
        store.close()


@pytest.fixture(scope="module", params=BACKENDS)
def api_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder, schema
) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """Settings of a store on each backend holding the ingested corpus."""
    from impact_graph.store import open_store

    base = settings_for(request.param, request)
    update: dict[str, object] = {
        "graph_name": "api",
        "api_keys": f"{hash_key(KEY)},{hash_key(OTHER_KEY)}",
    }
    if request.param == "neo4j":
        update["data_dir"] = tmp_path_factory.mktemp("api-neo4j")
    settings = base.model_copy(update=update)
    ingest_corpus(settings, embedder, schema, tmp_path_factory.mktemp("corpus"))
    yield settings
    store = open_store(settings)
    store.clear()
    store.close()


@pytest.fixture(scope="module")
def client(api_settings: Settings, embedder) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(api_settings, embedder=embedder, warm_up=False)
    with TestClient(app) as c:
        yield c


def problem(r, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Assert an RFC 9457 problem with a sentence; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body = r.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status
    assert body["detail"].endswith(".") and len(body["detail"].split()) >= 5, body["detail"]
    return body


# --- health and reading -----------------------------------------------------------------


def test_health_reports_backend_and_indexes(client: TestClient, api_settings: Settings) -> None:
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["backend"] == api_settings.backend
    assert body["store"] == "running" and body["status"] == "ok"
    assert body["documents"] == 2
    kinds = {i["kind"] for i in body["indexes"]}
    assert {"vector", "fulltext"} <= kinds
    assert all(i["state"] == "online" for i in body["indexes"])


def test_entity_page_has_neighbours_and_quoted_provenance(client: TestClient) -> None:
    r = client.get("/entities/intervention:welzijn-op-recept")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["label"] == "Intervention" and page["name"] == "Welzijn op Recept"
    assert "sources" not in page["properties"] and "embedding" not in page["properties"]
    rels = {n["relationship"] for n in page["neighbours"]["items"]}
    assert "HAS_ELEMENT" in rels
    assert all(n["label"] != "Chunk" for n in page["neighbours"]["items"])
    assert [d["id"] for d in page["documents"]] == ["document:welzijn-op-recept-md"]
    quotes = page["provenance"]["items"]
    assert quotes and page["provenance"]["total"] >= len(quotes)
    # Every quote is the exact document text of its span, found through its chunk.
    text = (REPO / "ingest/demo/research/welzijn-op-recept.md").read_text(encoding="utf-8")
    assert any("Welzijn op Recept" in q["text"] for q in quotes)
    for q in quotes:
        assert q["chunk_id"].startswith("chunk:document:welzijn-op-recept-md:")
        assert q["end"] > q["start"] and q["text"]
        assert q["text"].split()[0] in text


def test_neighbours_and_provenance_are_paged(client: TestClient) -> None:
    full = client.get("/entities/intervention:welzijn-op-recept/provenance?limit=100").json()
    assert full["next"] is None
    first = client.get("/entities/intervention:welzijn-op-recept/provenance?limit=1").json()
    assert first["total"] == full["total"] and len(first["items"]) == 1
    if full["total"] > 1:
        assert first["next"].endswith("limit=1&offset=1")
        second = client.get(first["next"]).json()
        assert second["items"][0] == full["items"][1]
    nb = client.get(
        "/entities/intervention:welzijn-op-recept/neighbours?relationship=HAS_ELEMENT&limit=2"
    ).json()
    assert nb["limit"] == 2 and len(nb["items"]) <= 2
    assert {n["relationship"] for n in nb["items"]} == {"HAS_ELEMENT"}
    assert nb["total"] >= len(nb["items"])


def test_intervention_page_has_effects_evidence_and_recognitions(client: TestClient) -> None:
    r = client.get("/interventions/intervention:welzijn-op-recept")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["effects"], page
    assert all(e["id"].startswith("effect:") for e in page["effects"])
    outcomes = {e["outcome"] for e in page["effects"]}
    assert any("eenzaam" in o for o in outcomes), outcomes
    assert page["working_elements"]
    by_rel: dict[str, set[str]] = {}
    for n in page["neighbours"]["items"]:
        by_rel.setdefault(n["relationship"], set()).add(n["id"])
    assert {c["id"] for c in page["challenges"]} == by_rel.get("ADDRESSES", set())
    assert {w["id"] for w in page["working_elements"]} == by_rel["HAS_ELEMENT"]
    ev_ids = {e for eff in page["effects"] for e in eff["evidence"]}
    assert ev_ids <= {e["id"] for e in page["evidence"]}
    for rec in page["recognitions"]:
        assert rec["level"] and rec["of"]


def test_intervention_page_links_local_instances_and_their_general_intervention(
    client: TestClient, api_settings: Settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    """GET /interventions/{id} shows what the web page shows: a local instance names its
    general intervention, the general one lists its instances with their programmes and
    own recognition; neither takes the other's."""
    from impact_graph.model import make_id
    from impact_graph.store import open_store
    from tests.test_search import _doc

    text = "De Buurtkamer Oosthaven is de buurtkamer van Oosthaven Samen voor eenzame ouderen."
    batch = _doc(
        "instance-api",
        text,
        embedder,
        [
            ("Intervention", "Buurtkamer Oosthaven", {"rating_level": "Goed onderbouwd"}),
            ("Intervention", "Buurtkamer", {}),
            ("Programme", "Oosthaven Samen", {}),
        ],
        [
            ("Buurtkamer Oosthaven", "INSTANCE_OF", "Buurtkamer"),
            ("Oosthaven Samen", "USES", "Buurtkamer Oosthaven"),
        ],
    )
    store = open_store(api_settings)
    store.upsert_batch(batch)
    try:
        local, general = make_id("Intervention", "Buurtkamer Oosthaven"), "intervention:buurtkamer"
        page = client.get(f"/interventions/{local}").json()
        assert page["instance_of"] == [{"id": general, "name": "Buurtkamer"}]
        assert page["instances"] == []
        page = client.get(f"/interventions/{general}").json()
        assert page["instance_of"] == []
        [inst] = page["instances"]
        assert (inst["id"], inst["name"], inst["recognition"]) == (
            local,
            "Buurtkamer Oosthaven",
            "Goed onderbouwd",
        )
        assert [p["name"] for p in inst["programmes"]] == ["Oosthaven Samen"]
        assert page["recognitions"] == []  # the instance's rating is its own
        # An intervention with neither has both lists, empty.
        page = client.get("/interventions/intervention:welzijn-op-recept").json()
        assert page["instance_of"] == [] and page["instances"] == []
    finally:
        store.delete_document(batch.document.id)
        store.close()


def test_unknown_entities_are_404_problems(client: TestClient) -> None:
    body = problem(client.get("/entities/intervention:bestaat-niet"), 404)
    assert "intervention:bestaat-niet" in body["detail"]
    assert body["instance"] == "/entities/intervention:bestaat-niet"
    body = problem(client.get("/interventions/challenge:eenzaamheid"), 404)
    assert "/entities/challenge:eenzaamheid" in body["detail"]
    problem(client.get("/no/such/route"), 404)
    problem(client.put("/documents"), 405)


def test_documents_are_listed_with_pages(client: TestClient) -> None:
    r = client.get("/documents?limit=1")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 2 and len(body["items"]) == 1
    assert body["next"] == "/documents?limit=1&offset=1"
    last = client.get(body["next"]).json()
    assert last["next"] is None and last["items"][0]["id"] != body["items"][0]["id"]
    research = client.get("/documents?kind=research").json()
    assert all(d["kind"] == "research" for d in research["items"])
    problem(client.get("/documents?kind=novel"), 422)


# --- search ------------------------------------------------------------------------------


def test_search_finds_the_intervention(client: TestClient) -> None:
    r = client.get("/search", params={"q": "eenzaamheid bij ouderen", "limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] >= 1 and len(body["results"]) <= 5
    ids = [x["id"] for x in body["results"]]
    assert any(i.startswith(("intervention:", "workingelement:", "chunk:")) for i in ids)
    names = {c["label"] for c in body["matched_concepts"]}
    assert "eenzaamheid" in names
    if body["total"] > 5:
        assert "offset=5" in body["next"]
    only = client.get(
        "/search", params={"q": "eenzaamheid", "type": "intervention", "limit": 50}
    ).json()
    assert only["results"] and {x["type"] for x in only["results"]} == {"intervention"}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": ""}, "'q'"),
        ({"q": "   "}, "'q'"),
        ({"q": "x" * 10_000}, "500 characters"),
        ({"q": "eenzaamheid", "challenge": "maanlanding"}, "challenge"),
        ({"q": "eenzaamheid", "min_recognition": "heel goed"}, "min_recognition"),
        ({"q": "eenzaamheid", "type": "boek"}, "type"),
        ({"q": "eenzaamheid", "limit": -1}, "limit"),
        ({"q": "eenzaamheid", "limit": 10**9}, "limit"),
        ({"q": "eenzaamheid", "offset": -5}, "offset"),
        ({"q": "eenzaamheid", "limit": "veel"}, "limit"),
        ({}, "'q'"),
    ],
)
def test_bad_search_input_is_a_4xx_sentence(
    client: TestClient, params: dict[str, object], needle: str
) -> None:
    body = problem(client.get("/search", params=params), 422)
    assert needle in body["detail"]


def test_working_elements_and_evidence_map(client: TestClient) -> None:
    r = client.get("/working-elements", params={"challenge": "eenzaamheid", "limit": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["limit"] == 2 and len(body["results"]) <= 2 and body["total"] >= 1
    problem(client.get("/working-elements", params={"challenge": "maanlanding"}), 422)
    r = client.get("/evidence-map", params={"rows": "intervention", "cols": "outcome"})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["total"] == len(m["rows"]) or m["next"]
    assert {c["row"] for c in m["cells"]} <= {row["id"] for row in m["rows"]}
    body = problem(client.get("/evidence-map", params={"rows": "programme"}), 422)
    assert "rows" in body["detail"]


# --- auth -------------------------------------------------------------------------------


def test_writes_need_a_valid_key(client: TestClient) -> None:
    files = {"file": ("a.md", b"# A\n\nTekst.", "text/markdown")}
    body = problem(client.post("/documents", files=files), 401)
    assert "Authorization: Bearer" in body["detail"]
    problem(client.post("/documents", files=files, headers={"X-API-Key": "wrong"}), 401)
    problem(client.post("/documents", files=files, headers={"Authorization": "Bearer wrong"}), 401)
    problem(client.delete("/documents/document:x"), 401)
    # A valid key passes auth (and then fails on the unknown document, not on the key).
    r = client.delete("/documents/document:x", headers={"X-API-Key": OTHER_KEY})
    problem(r, 404)


def test_without_configured_keys_writes_are_refused_with_a_hint(api_settings: Settings) -> None:
    app = create_app(api_settings.model_copy(update={"api_keys": ""}), warm_up=False)
    with TestClient(app) as c:
        body = problem(
            c.delete("/documents/document:x", headers={"Authorization": f"Bearer {KEY}"}), 403
        )
        assert "IMPACT_GRAPH_API_KEYS" in body["detail"] and "keys new" in body["detail"]


def test_reads_can_require_a_key(api_settings: Settings) -> None:
    app = create_app(api_settings.model_copy(update={"api_read_key_required": True}))
    with TestClient(app) as c:
        problem(c.get("/documents"), 401)
        problem(c.get("/entities/intervention:welzijn-op-recept"), 401)
        assert c.get("/documents", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/health", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_a_plain_key_in_the_hash_setting_is_refused(api_settings: Settings) -> None:
    with pytest.raises(ValueError, match="IMPACT_GRAPH_API_KEYS"):
        create_app(api_settings.model_copy(update={"api_keys": "mijn-geheime-sleutel"}))


def test_cors_origins_are_configurable(api_settings: Settings) -> None:
    app = create_app(
        api_settings.model_copy(update={"cors_origins": "https://ui.example"}), warm_up=False
    )
    with TestClient(app) as c:
        r = c.get("/documents", headers={"Origin": "https://ui.example"})
        assert r.headers["access-control-allow-origin"] == "https://ui.example"
        r = c.get("/documents", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


# --- uploads -----------------------------------------------------------------------------


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def test_upload_ingests_and_delete_removes_only_its_facts(
    client: TestClient, api_settings: Settings
) -> None:
    name = "../../etc/Buurtverslag juni.md"  # the client's name is never a path
    files = {"file": (name, UPLOAD_MD, "text/markdown")}
    r = client.post("/documents", files=files, headers=auth())
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["new"] == 1 and rep["failed"] == 0 and rep["chunks"] >= 1
    assert rep["filename"] == name and "/" not in rep["stored_as"]
    uploads = api_settings.data_path / "uploads"
    assert (uploads / rep["stored_as"]).is_file()
    assert not (api_settings.data_path.parent / "etc").exists()
    doc_id = rep["documents"][0]["doc_id"]

    # The same bytes again: nothing written.
    again = client.post("/documents", files=files, headers=auth())
    assert again.status_code == 200 and again.json()["unchanged"] == 1

    listed = client.get("/documents?limit=100").json()
    mine = [d for d in listed["items"] if d["id"] == doc_id]
    assert mine and mine[0]["uploaded_filename"] == name
    shared = client.get("/entities/intervention:welzijn-op-recept").json()
    assert doc_id in {d["id"] for d in shared["documents"]}

    r = client.delete(f"/documents/{doc_id}", headers={"X-API-Key": KEY})
    assert r.status_code == 200 and r.json() == {"id": doc_id, "deleted": True}
    problem(client.get(f"/entities/{doc_id}"), 404)
    shared = client.get("/entities/intervention:welzijn-op-recept").json()
    assert [d["id"] for d in shared["documents"]] == ["document:welzijn-op-recept-md"]
    assert client.get("/documents").json()["total"] == 2
    assert not (uploads / rep["stored_as"]).exists()
    problem(client.delete(f"/documents/{doc_id}", headers=auth()), 404)


STORY_MD = b"""---
title: Verhaal van een bewoner
kind: story
---
Mevrouw Jansen woont aan de Dorpsstraat 12 in Wadstede. Sinds haar man overleed voelt zij
zich eenzaam. Via Welzijn op Recept ging zij naar de buurtkamer.
"""


def test_an_uploaded_story_leaves_no_raw_text_or_file_name(
    client: TestClient, api_settings: Settings
) -> None:
    """A story's raw file and its client file name are gone once it is ingested (the
    raw text of a story is never stored); the document stays and a repeat is unchanged."""
    name = "verhaal mevrouw Jansen.md"
    files = {"file": (name, STORY_MD, "text/markdown")}
    r = client.post("/documents", files=files, headers=auth())
    assert r.status_code == 201, r.text
    rep = r.json()
    assert [d["kind"] for d in rep["documents"]] == ["story"]
    uploads = api_settings.data_path / "uploads"
    assert not (uploads / rep["stored_as"]).exists()
    meta = api_settings.data_path / "upload-meta" / (rep["stored_as"] + ".json")
    assert "Jansen" not in meta.read_text(encoding="utf-8")
    doc_id = rep["documents"][0]["doc_id"]
    listed = client.get("/documents?limit=100").json()["items"]
    assert [d["uploaded_filename"] for d in listed if d["id"] == doc_id] == [None]
    again = client.post("/documents", files=files, headers=auth())
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    assert not (uploads / rep["stored_as"]).exists()
    r = client.delete(f"/documents/{doc_id}", headers={"X-API-Key": KEY})
    assert r.status_code == 200 and r.json() == {"id": doc_id, "deleted": True}


def test_bad_uploads_are_4xx_sentences(client: TestClient, api_settings: Settings) -> None:
    body = problem(
        client.post("/documents", files={"file": ("x.exe", b"MZ\x90", "x")}, headers=auth()), 415
    )
    assert ".md" in body["detail"]
    problem(client.post("/documents", files={"file": ("noext", b"abc", "x")}, headers=auth()), 415)
    body = problem(
        client.post("/documents", files={"file": ("leeg.md", b"", "text/plain")}, headers=auth()),
        400,
    )
    assert "empty" in body["detail"]
    problem(
        client.post("/documents", files={"file": ("spaties.txt", b" \n\t ", "x")}, headers=auth()),
        400,
    )
    # A damaged PDF: read by the real reader, refused with its reason.
    body = problem(
        client.post(
            "/documents", files={"file": ("kapot.pdf", b"%PDF-1.4 rommel", "x")}, headers=auth()
        ),
        422,
    )
    assert "kapot.pdf" in body["detail"] or "PDF" in body["detail"]
    assert not list((api_settings.data_path / "uploads").glob("*.pdf"))
    # No file part at all, and a wrong kind.
    problem(client.post("/documents", headers=auth()), 422)
    problem(
        client.post(
            "/documents",
            files={"file": ("a.md", b"# A\n\nTekst.", "x")},
            data={"kind": "roman"},
            headers=auth(),
        ),
        422,
    )
    assert client.get("/documents").json()["total"] == 2


def test_too_large_uploads_are_413(api_settings: Settings) -> None:
    limit = 2_000
    settings = api_settings.model_copy(update={"upload_max_bytes": limit})
    app = create_app(settings, warm_up=False)
    uploads = settings.data_path / "uploads"
    # Another test's upload into this shared store may be there already (the browser
    # walk-through's): what counts is that a refused upload leaves no file of its own.
    before = set(uploads.glob("*.md"))
    with TestClient(app) as c:
        # Refused from Content-Length, before the body is read.
        big = b"a" * (limit + 70_000)
        body = problem(c.post("/documents", files={"file": ("big.md", big)}, headers=auth()), 413)
        assert "IMPACT_GRAPH_UPLOAD_MAX_BYTES" in body["detail"]
        # The file part alone over the limit (body within the multipart slack).
        body = problem(
            c.post("/documents", files={"file": ("big.md", b"a" * (limit + 10))}, headers=auth()),
            413,
        )
        assert "MB" in body["detail"]

        # Streamed without Content-Length: stopped while streaming.
        r = c.post(
            "/documents",
            content=streamed_upload(100),
            headers={
                **auth(),
                "Content-Type": f"multipart/form-data; boundary={UPLOAD_BOUNDARY}",
            },
        )
        problem(r, 413)
        assert set(uploads.glob("*.md")) == before


# --- store down, docs ----------------------------------------------------------------------


def test_store_down_gives_503_sentences_not_500(tmp_path: Path) -> None:
    settings = Settings(
        backend="falkordb", falkordb_url="redis://127.0.0.1:9", data_dir=tmp_path, api_keys=""
    )
    app = create_app(settings, warm_up=False)
    with TestClient(app) as c:
        for path in ("/health", "/entities/x", "/documents", "/search?q=eenzaamheid"):
            body = problem(c.get(path), 503)
            assert "FalkorDB" in body["detail"], body
        assert c.get("/health").json()["store"] == "unavailable"


def test_openapi_is_complete(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {t["name"] for t in spec["tags"]} >= {"search", "entities", "documents", "health"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("tags"), (path, method)
            assert op.get("summary"), (path, method)
            for p in op.get("parameters", []):
                assert p.get("description"), (path, method, p["name"])
            codes = set(op["responses"])
            assert "422" in codes or "401" in codes, (path, method)
    assert "Problem" in spec["components"]["schemas"]
    # "/" belongs to the web UI (a redirect to /docs while there is none).
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (200, 302, 307)
    assert client.get("/docs").status_code == 200


# --- command line --------------------------------------------------------------------------


def test_keys_new_prints_a_key_and_its_hash() -> None:
    from typer.testing import CliRunner

    from impact_graph.cli import app as cli

    r = CliRunner().invoke(cli, ["keys", "new"])
    assert r.exit_code == 0, r.output
    lines = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
    key, digest = lines["key"].strip(), lines["hash"].strip()
    assert hash_key(key) == digest and len(digest) == 64


def test_serve_runs_uvicorn_and_answers(api_settings: Settings, tmp_path: Path) -> None:
    """`impact-graph serve` on a free port answers /health and a problem for bad input,
    warms the search up, and stops cleanly on Ctrl-C."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "IMPACT_GRAPH_GRAPH_NAME": api_settings.graph_name,
        "IMPACT_GRAPH_API_KEYS": api_settings.api_keys,
        "IMPACT_GRAPH_NEO4J_URI": api_settings.neo4j_uri,
        "IMPACT_GRAPH_NEO4J_USER": api_settings.neo4j_user,
        "IMPACT_GRAPH_NEO4J_PASSWORD": api_settings.neo4j_password.get_secret_value(),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "impact_graph.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(api_settings.data_path),
            "--backend",
            api_settings.backend,
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                r = httpx.get(f"{base}/health", timeout=5)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    raise AssertionError(f"serve did not answer: {out}") from None
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["documents"] == 2
        bad = httpx.get(f"{base}/search", params={"q": ""}, timeout=10)
        assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
        # Ctrl-C once the warm-up loaded the model: a clean stop, without the ~30 lines
        # of nanobind "leaked ... triton" messages the model's imports used to leave.
        search = r.json().get("search")
        while search != "ready":
            assert time.monotonic() < deadline + 300, f"search never got ready: {search}"
            time.sleep(0.5)
            try:  # a loaded machine's warm-up may hold the GIL past a short timeout
                search = httpx.get(f"{base}/health", timeout=10).json().get("search")
            except httpx.TransportError:
                continue
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=60)[0].decode()
        assert proc.returncode == 0, out
        assert "leaked" not in out and "Traceback" not in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_freezing_the_start_up_heap_takes_live_objects_out_of_collections() -> None:
    """What makes full collections cheap in a server: the objects alive after start-up
    (model, vocabulary, matchers) are no longer walked by every full collection."""
    import gc

    from impact_graph.api.deps import freeze_startup_heap

    gc.unfreeze()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 1_000  # this test process alone holds far more
    finally:
        gc.unfreeze()


def test_warm_up_freezes_the_heap_even_without_a_store(
    api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up ends with the model loaded once and the heap frozen, also when the search
    service cannot be built (the store is down): the warm-up never fails start-up, and a
    second start asks for no second warm-up."""
    import gc

    from impact_graph.api import deps

    loads: list[int] = []

    class Model:
        """Counts model loads: `load_model` encodes past any cache."""

        def encode(self, texts: list[str]) -> list[list[float]]:
            loads.append(len(texts))
            return [[0.0] * 384 for _ in texts]

        def embed(self, texts: list[str]) -> list[list[float]]:
            raise AssertionError("the warm-up must load the model, not ask the cache")

    def no_store(settings: Settings) -> object:
        raise deps.StoreUnavailable("the test's store is down")

    monkeypatch.setattr("impact_graph.store.open_store", no_store)
    svc = deps.Services(api_settings, warm_up=True)
    svc.use_embedder(Model())
    gc.unfreeze()
    try:
        svc.start_opening()
        state = svc.warming
        assert state is not None and state.wait(60), "the warm-up did not end"
        assert gc.get_freeze_count() > 1_000
        assert loads == [1] and not state.warming_up
        assert state.error is not None and "the test's store is down" in state.error
        assert svc.start_warm_up() is state  # one warm-up per app
        assert loads == [1]
    finally:
        gc.unfreeze()
        svc.close()


def test_one_warm_up_makes_search_ready_with_one_model_load(
    api_settings: Settings, embedder
) -> None:  # type: ignore[no-untyped-def]
    """`serve`'s shape: the app's single warm-up loads the model once, runs a search and
    freezes the heap before /health says search is ready; searches then answer."""
    import gc

    class Counting:
        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            self.inner, self.encodes = inner, 0

        def encode(self, texts):  # type: ignore[no-untyped-def]
            self.encodes += 1
            return self.inner.encode(texts)

        def embed(self, texts):  # type: ignore[no-untyped-def]
            return self.inner.embed(texts)

        def close(self) -> None:
            pass

    model = Counting(embedder)
    gc.unfreeze()
    try:
        app = create_app(api_settings, embedder=model, warm_up=True, warm_sparql=False)
        with TestClient(app) as c:
            state = app.state.services.warming
            assert state is not None and state.wait(120), "the warm-up did not end"
            assert state.error is None, state.error
            assert gc.get_freeze_count() > 1_000
            assert c.get("/health", headers={"X-API-Key": KEY}).json()["search"] == "ready"
            r = c.get("/search", params={"q": "eenzaamheid"}, headers={"X-API-Key": KEY})
            assert r.status_code == 200 and r.json()["total"] > 0
            assert model.encodes == 1  # the warm-up's own load; the question came later
    finally:
        gc.unfreeze()
