"""torch's OpenMP threads sleep instead of spinning when they wait: the setting must
reach the OpenMP runtime itself, which reads it once, when torch's libraries load --
and spaCy loads torch before the embedding model does. So each test starts a fresh
Python, imports an impact_graph module, then torch, and reads what libgomp itself
reports (``OMP_DISPLAY_ENV=VERBOSE`` makes it print its settings as it initialises)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from impact_graph.ingest.embed import TORCH_THREAD_ENV


def _libgomp_settings(first: str, **env: str) -> dict[str, str]:
    """OMP_WAIT_POLICY and GOMP_SPINCOUNT as torch's libgomp took them, in a fresh
    process that runs ``first`` (imports) and then imports torch."""
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = f"{first}\nimport torch\ntorch.ones(2).sum()\n"
    res = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "OMP_DISPLAY_ENV": "VERBOSE", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = dict(re.findall(r"^\s*(OMP_WAIT_POLICY|GOMP_SPINCOUNT) = '([^']*)'", res.stderr, re.M))
    assert found, f"libgomp printed no settings; stderr was: {res.stderr[-2000:]}"
    return found


@pytest.mark.parametrize(
    "first",
    [
        "from impact_graph.ingest.embed import Embedder",  # the model's own module
        # the NLP first, as in an ingest: spaCy loads torch (thinc) before the model does
        "from impact_graph.ingest.nlp import extract\nimport spacy\nspacy.blank('nl')",
    ],
)
def test_openmp_workers_sleep_instead_of_spinning(first: str) -> None:
    assert TORCH_THREAD_ENV == {"OMP_WAIT_POLICY": "PASSIVE"}
    got = _libgomp_settings(first)
    assert got == {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0"}


def test_without_impact_graph_torch_would_spin() -> None:
    """The control: the setting is ours, not the runtime's default."""
    assert _libgomp_settings("import json")["GOMP_SPINCOUNT"] != "0"


def test_a_users_own_setting_wins() -> None:
    got = _libgomp_settings("import impact_graph.ingest.embed", OMP_WAIT_POLICY="ACTIVE")
    assert got["OMP_WAIT_POLICY"] == "ACTIVE" and got["GOMP_SPINCOUNT"] != "0"
