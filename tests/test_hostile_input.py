"""Hostile input: arbitrary bytes never crash the batch.

The pipeline's invariant is that bad input is reported (file, reason, what to do) and the
rest goes on; it can only keep that promise if the readers raise nothing but
`IngestError`. Property-based tests (hypothesis) throw arbitrary bytes, damaged real
files and hostile text at every reader through ``read_file`` (the pipeline's entry), and
at the front-matter and record parsers directly. Example counts are bounded so the suite
stays fast; a failing example is shrunk and printed by hypothesis.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.readers import SUPPORTED_EXTENSIONS, read_file
from impact_graph.ingest.readers.markdown import split_front_matter
from impact_graph.ingest.readers.records import (
    load_mapping,
    read_bib,
    read_csv,
    read_json,
    read_jsonl,
    read_ris,
)

DEMO = Path(__file__).resolve().parents[1] / "ingest" / "demo"
FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MAPPING = load_mapping()


def read_bytes_as(data: bytes, suffix: str) -> None:
    """Write ``data`` to a file with ``suffix`` and read it; anything but IngestError fails."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"x{suffix}"
        p.write_bytes(data)
        try:
            result = read_file(p)
        except IngestError as e:
            assert str(e).startswith(p.as_posix()) and str(e).endswith(".")
            return
        for err in result.errors:
            assert isinstance(err, IngestError)
        for doc in result.documents:
            assert doc.text.strip() and doc.id and doc.content_hash


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_EXTENSIONS))
@FAST
@given(data=st.binary(max_size=2048))
@example(data=b"")
@example(data=b"\x00" * 64)
@example(data=b"\xff\xfe" + "Zin met é".encode("utf-16-le"))
def test_arbitrary_bytes_in_any_supported_format(suffix: str, data: bytes) -> None:
    read_bytes_as(data, suffix)


def _mutate(original: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Overwrite, cut or repeat slices of a real file (what damage in transit does)."""
    b = bytearray(original)
    for kind, pos, val in ops:
        if not b:
            break
        i = pos % len(b)
        if kind == 0:
            b[i] = val
        elif kind == 1:
            del b[i : i + val * 16]
        else:
            b[i:i] = b[i : i + val]
    return bytes(b)


REAL = {
    ".pdf": next(DEMO.glob("*/*.pdf")),
    ".docx": next(DEMO.glob("*/*.docx")),
    ".csv": next(DEMO.glob("*/*.csv")),
    ".ris": next(DEMO.glob("*/*.ris")),
    ".jsonl": next(DEMO.glob("*/*.jsonl")),
    ".md": DEMO / "plan" / "wadstede-samen-minder-alleen-foto.md",
    ".html": next(DEMO.glob("*/*.html")),
}


@pytest.mark.parametrize("suffix", sorted(REAL))
@settings(max_examples=15, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 10**9), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_damaged_real_files(suffix: str, ops: list[tuple[int, int, int]]) -> None:
    read_bytes_as(_mutate(REAL[suffix].read_bytes(), ops), suffix)


yaml_ish = st.lists(
    st.sampled_from([*"abc:-#'\"[]{}&*!|>%@`\n\t ,?0.~=\\é", "---", "...", "\n- ", ": "]),
    max_size=120,
).map("".join)


@FAST
@given(body=yaml_ish, rest=st.text(max_size=100))
@example(body="a: &x [*x]\n", rest="")
@example(body="!!python/object:os.system 'echo hi'\n", rest="")
@example(body="a: " + "[" * 200 + "\n", rest="")
def test_front_matter_parser(body: str, rest: str) -> None:
    text = f"---\n{body}\n---\n{rest}"
    try:
        meta, remainder = split_front_matter(text, Path("x.md"))
    except IngestError:
        return
    assert isinstance(meta, dict) and isinstance(remainder, str)


RECORD_READERS = {
    "csv": read_csv,
    "json": read_json,
    "jsonl": read_jsonl,
    "ris": read_ris,
    "bib": read_bib,
}
record_text = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.sampled_from(list(',;|\t"\n{}[]:@=TY  -ERabc12')), max_size=400),
)


@pytest.mark.parametrize("fmt", sorted(RECORD_READERS))
@FAST
@given(text=record_text)
@example(text="title\n" + '"' * 50)
@example(text="TY  - JOUR\nTI  - \nER  - \n")
@example(text="@article{x, title={" + "{" * 100 + "}")
@example(text='[{"title": 1e999, "year": "NaN"}]')
def test_record_parsers(fmt: str, text: str) -> None:
    path = Path(f"x.{fmt}")
    try:
        docs, errors = RECORD_READERS[fmt](text, path, MAPPING)
    except IngestError:
        return
    assert all(isinstance(e, IngestError) for e in errors)
    assert isinstance(docs, list)


# --- hostile uploads and keys, over a real HTTP server ---------------------------------------

KEY, OTHER = "hostile-key-1", "hostile-key-2"


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real app under uvicorn on a loopback port, on its own embedded FalkorDB."""
    import socket
    import threading
    import time

    import uvicorn

    from impact_graph.api import create_app
    from impact_graph.api.auth import hash_key
    from impact_graph.config import Settings
    from impact_graph.store.falkordb_server import FalkorDBServer

    data = tmp_path_factory.mktemp("hostile")
    settings = Settings(
        backend="falkordb",
        data_dir=data,
        graph_name="hostile",
        api_keys=f"{hash_key(KEY)},{hash_key(OTHER)}",
        upload_max_bytes=1_000_000,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, warm_up=False), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield settings, f"http://127.0.0.1:{port}", port
    server.should_exit = True
    thread.join(timeout=30)
    FalkorDBServer(data).stop()


def _is_problem(r, status: int) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"].endswith(".")


def test_a_1_gb_content_length_claim_with_a_small_body_is_413(live_api) -> None:  # type: ignore[no-untyped-def]
    import socket

    _, _, port = live_api
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n\r\nhoi\r\n'
    head = (
        "POST /documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KEY}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 1073741824\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(head + body)
        answer = s.recv(65536).decode(errors="replace")
    status_line = answer.split("\r\n", 1)[0]
    assert status_line.split()[1] == "413", answer[:500]
    assert "application/problem+json" in answer


def test_hostile_uploads_are_4xx(live_api) -> None:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    import httpx

    settings, base, _ = live_api
    auth = {"Authorization": f"Bearer {KEY}"}

    def zipped(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buf.getvalue()

    inner = zipped({"a.md": b"# A\n\nTekst."})
    cases = [
        # path traversal and absolute names, with nothing to read
        (("../../../../etc/passwd", b"root:x:0:0", "text/plain"), (415,)),
        (("/etc/cron.d/x.md", b"", "text/markdown"), (400,)),
        # zero bytes
        (("leeg.pdf", b"", "application/pdf"), (400,)),
        # archives: unknown type, and a zip inside a .docx (a nested archive)
        (("archief.zip", zipped({"in.zip": inner}), "application/zip"), (415,)),
        (("nested.docx", zipped({"in.zip": inner, "word/x.zip": inner}), "x"), (422,)),
        (("bom.tar.gz", b"\x1f\x8b" + b"\x00" * 100, "application/gzip"), (415,)),
        # wrong content-type: bytes of another format under a known extension
        (("plaatje.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"), (422,)),
        (("tekst.docx", b"# Geen docx\n\nTekst.", "text/markdown"), (422,)),
    ]
    with httpx.Client(base_url=base, timeout=60) as c:
        for (name, data, ctype), statuses in cases:
            r = c.post("/documents", files={"file": (name, data, ctype)}, headers=auth)
            assert r.status_code in statuses, (name, r.status_code, r.text)
            _is_problem(r, r.status_code)
        total = c.get("/documents").json()["total"]
    assert total == 0
    uploads = settings.data_path / "uploads"
    assert not uploads.exists() or not [p for p in uploads.iterdir() if p.is_file()]
    assert not (settings.data_path.parent / "etc").exists()


def test_missing_wrong_and_revoked_keys_are_401(live_api) -> None:  # type: ignore[no-untyped-def]
    import httpx
    from fastapi.testclient import TestClient

    from impact_graph.api import create_app
    from impact_graph.api.auth import hash_key

    settings, base, _ = live_api
    files = {"file": ("a.md", b"# A\n\nTekst.", "text/markdown")}
    with httpx.Client(base_url=base, timeout=60) as c:
        _is_problem(c.post("/documents", files=files), 401)
        _is_problem(c.post("/documents", files=files, headers={"X-API-Key": ""}), 401)
        _is_problem(c.post("/documents", files=files, headers={"Authorization": "Basic eDp5"}), 401)
        _is_problem(c.delete("/documents/document:x", headers={"X-API-Key": KEY.upper()}), 401)
        _is_problem(c.delete("/documents/document:x", headers={"X-API-Key": KEY[:-1]}), 401)
        # The key still works here (404: it passed auth, the document is unknown) ...
        _is_problem(c.delete("/documents/document:x", headers={"X-API-Key": KEY}), 404)
    # ... and is refused once its hash is taken out of IMPACT_GRAPH_API_KEYS (revoked).
    revoked = settings.model_copy(update={"api_keys": hash_key(OTHER)})
    with TestClient(create_app(revoked, warm_up=False)) as c:
        _is_problem(c.delete("/documents/document:x", headers={"X-API-Key": KEY}), 401)
        _is_problem(c.delete("/documents/document:x", headers={"X-API-Key": OTHER}), 404)
