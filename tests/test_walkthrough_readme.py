"""The researcher examples of README.md, run as written (walk-through, H30): issue 5's
"done when" is a researcher who queries ``/sparql`` with SPARQLWrapper and ``/cypher``
with curl and gets the same answers. The README said both work but showed neither a
SPARQLWrapper call nor a curl ``/cypher`` call; now it shows both, and this test runs the
README's own text (port 8000 swapped for a free one) against the real app over HTTP, on
the session's embedded FalkorDB with its Oxigraph RDF view."""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import doc_batch

README = Path(__file__).resolve().parents[1] / "README.md"
NAMES = ["Buurtkamer", "Welzijn op Recept", "taalmaatje"]


@pytest.fixture(scope="module")
def base_url(falkordb_data_dir: Path) -> Iterator[str]:
    """The app served by uvicorn on a free port, over a graph of three interventions."""
    import uvicorn

    from impact_graph.api import create_app
    from impact_graph.config import Settings
    from impact_graph.ontology import load_schema
    from impact_graph.store import open_store

    settings = Settings(backend="falkordb", data_dir=falkordb_data_dir, graph_name="walk-readme")
    store = open_store(settings)
    try:
        store.clear()
        store.setup_schema(load_schema())
        store.upsert_batch(doc_batch("plan.md", [("Intervention", n) for n in NAMES]))
    finally:
        store.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, warm_up=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def _researcher_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Researcher access") : text.index("## Command line")]


def test_readme_curl_cypher_and_sparqlwrapper_give_the_same_names(base_url: str) -> None:
    section = _researcher_section()
    post = re.search(r"`(curl -X POST [^`]*/cypher)`", section)
    assert post, "README's Researcher access shows no curl POST /cypher"
    args = shlex.split(post.group(1).replace("http://127.0.0.1:8000", base_url))
    done = subprocess.run([*args, "-sS"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    cypher_names = [row[0] for row in answer["rows"]]
    assert cypher_names == sorted(NAMES), answer

    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block and "SPARQLWrapper" in block.group(1), "README shows no SPARQLWrapper call"
    code = textwrap.dedent(block.group(1)).replace("http://127.0.0.1:8000", base_url)
    scope: dict[str, object] = {}
    exec(compile(code, "README.md (SPARQLWrapper example)", "exec"), scope)
    assert scope["names"] == cypher_names


def test_readme_csv_urls_answer_csv(base_url: str) -> None:
    """The curl examples of /cypher.csv and /sparql with Accept: text/csv."""
    section = _researcher_section()
    for pattern, header in (
        (r"`(curl -G [^`]*/cypher\.csv)`", "i.name"),
        (r"`(curl -H 'Accept: text/csv' [^`]*/sparql)`", "s"),
    ):
        found = re.search(pattern, section)
        assert found, pattern
        args = shlex.split(found.group(1).replace("http://127.0.0.1:8000", base_url))
        done = subprocess.run([*args, "-sS"], capture_output=True, text=True, timeout=60)
        lines = done.stdout.splitlines()
        assert lines[0] == header and len(lines) == 1 + len(NAMES), done.stdout
