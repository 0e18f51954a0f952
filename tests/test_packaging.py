"""What a user gets outside a checkout: the wheel carries the ontology; compose is coherent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from impact_graph.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_finds_the_ontology(tmp_path: Path) -> None:
    """A non-editable install must load the schema from the packaged ontology files."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(wheels.glob("impact_graph-*.whl"))
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    code = (
        "import impact_graph, impact_graph.ontology as o;"
        "print(impact_graph.__file__); print(o.ontology_dir()); "
        "print(len(o.load_schema().node_classes)); "
        "import impact_graph.vocab_vectors as v; print(v.VECTORS_FILE); print(len(v.read()))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert out[0].startswith(str(site)), "the installed copy, not the checkout, was imported"
    assert out[1].startswith(str(site)), "ontology files must come from the wheel"
    assert int(out[2]) >= 13
    # The vocabulary's vectors ship too, or a first ingest falls back to the model.
    assert out[3].startswith(str(site)), "vocab_vectors/vectors.npz must come from the wheel"
    assert int(out[4]) > 100


def test_compose_file_is_coherent() -> None:
    """docker-compose.yml cannot run here (no Docker engine); check what can be checked."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["neo4j"]["image"] == "neo4j:5.26-community"
    assert "healthcheck" in services["neo4j"]
    assert any(v.endswith(":/data") for v in services["neo4j"]["volumes"])
    api = services["api"]
    assert (ROOT / api["build"]["dockerfile"]).is_file()
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"
    # Every IMPACT_GRAPH_ variable the compose file sets must be a real setting.
    fields = {f"IMPACT_GRAPH_{name.upper()}" for name in Settings.model_fields}
    fields.add("IMPACT_GRAPH_API_KEYS")  # read by the API service (search/API issue)
    unknown = [k for k in api["environment"] if k.startswith("IMPACT_GRAPH_") and k not in fields]
    assert not unknown, f"compose sets unknown settings: {unknown}"
    assert api["environment"]["IMPACT_GRAPH_BACKEND"] == "neo4j"


def test_readme_opens_with_the_two_commands() -> None:
    lines = [ln for ln in (ROOT / "README.md").read_text().splitlines() if ln.strip()]
    assert lines[0] == "```bash"
    assert lines[1].startswith("make demo")
    assert lines[2].startswith("make test")
    assert lines[3] == "```"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_documents_every_setting() -> None:
    """The configuration table is generated from Settings; a new setting must reach it."""
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"IMPACT_GRAPH_{name.upper()}"
        for name in Settings.model_fields
        if f"`IMPACT_GRAPH_{name.upper()}`" not in readme
    ]
    assert not missing, f"run `python tools/settings_table.py` and update README: {missing}"
