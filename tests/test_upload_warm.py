"""The upload path is warm after start-up (H60; H47's first upload after a restart took
27.9 s: the NLP pipelines, the readers' libraries and the RDF view's ontology graph
were built inside the request).

The check runs in a fresh Python process, because those are per-process caches that any
earlier test of this session may have filled: an app started with its warm-up (a real
embedded FalkorDB store, the real embedding model) must, once its warm-ups have ended,
hold the NLP matchers and the readers' libraries without any upload having come in, and
its search must have been ready first (the upload's warm-up runs after it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from impact_graph.api import create_app
from impact_graph.config import Settings
from impact_graph.store.falkordb_server import FalkorDBServer

settings = Settings(backend="falkordb", data_dir=sys.argv[1], api_keys="")
app = create_app(settings, warm_sparql=False)
out = {}
try:
  with TestClient(app) as c:
      svc = app.state.services
      ingest = getattr(app.state, "ingest_warming", None)
      out["has_ingest_warm_up"] = ingest is not None
      if ingest is not None:
          assert svc.warming.wait(600) and ingest.wait(600)
          out["ingest_error"] = ingest.error
          out["ingest_seconds"] = ingest.seconds
          out["search_error"] = svc.warming.error
          out["health"] = c.get("/health").status_code
      from impact_graph.ingest import nlp
      out["matchers"] = len(nlp._matcher_cache)
      out["pypdf"] = "pypdf" in sys.modules
      out["docx"] = "docx" in sys.modules
finally:
    FalkorDBServer(Path(sys.argv[1])).stop()  # the embedded server outlives the app
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_an_app_started_with_its_warm_up_has_the_upload_path_ready(tmp_path: Path) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", IMPACT_GRAPH_API_KEYS="")
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=Path(__file__).parent.parent,
    )
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])
    assert out["has_ingest_warm_up"], "the app starts no warm-up of the upload path"
    assert out["ingest_error"] is None, out
    assert out["search_error"] is None, out
    assert "ingest" in out["ingest_seconds"], out
    assert out["health"] == 200
    # What a first upload built inside its request before: the matchers of both
    # languages and the readers' libraries.
    assert out["matchers"] >= 2, out
    assert out["pypdf"] and out["docx"], out


@pytest.mark.slow
def test_an_app_without_warm_up_starts_no_upload_warm_up(tmp_path: Path) -> None:
    """Tests and benchmarks make apps with ``warm_up=False``: nothing may load behind
    their back (the flag is the app's one switch)."""
    script = SCRIPT.replace(
        "create_app(settings, warm_sparql=False)", "create_app(settings, warm_up=False)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, HF_HUB_OFFLINE="1", IMPACT_GRAPH_API_KEYS=""),
        cwd=Path(__file__).parent.parent,
    )
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])
    assert not out["has_ingest_warm_up"] and out["matchers"] == 0, out
