"""A real, throw-away Apache Jena Fuseki 5.6 for tests, resolved from Maven Central on demand.

Why this shape: the remote RDF view speaks SPARQL 1.1 Update, Query and the Graph Store
Protocol, and must be tested against a real SPARQL server, not a fake. The test machines
have Java 17 and Maven but no Docker, so ``tools/fuseki/pom.xml`` resolves
``org.apache.jena:jena-fuseki-main`` into ``~/.m2`` once (jars are never copied or
committed) and this module starts ``FusekiMainCmd`` on a free port with a fresh TDB2
dataset (the RDF view keeps its own default graph, so no union-graph setting is used).

Use::

    with FusekiServer() as srv:
        srv.dataset_url  # http://127.0.0.1:<port>/impact  (query: /sparql, update: /update)

If ``IMPACT_GRAPH_TEST_FUSEKI_URL`` is set (a dataset URL), that server is used instead and
nothing is built or started. ``python -m impact_graph.testing.fuseki_server`` runs one by hand.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from impact_graph.testing._process import ServerProcess, free_port, maven_classpath, wait_ready

DEFAULT_LAUNCHER_DIR = Path(__file__).resolve().parents[3] / "tools" / "fuseki"
ENV_URL = "IMPACT_GRAPH_TEST_FUSEKI_URL"
_MAIN_CLASS = "org.apache.jena.fuseki.main.cmds.FusekiMainCmd"
DATASET = "impact"

# A plain TDB2 dataset, as a user would run one.
_CONFIG = """\
@prefix fuseki: <http://jena.apache.org/fuseki#> .
@prefix tdb2:   <http://jena.apache.org/2016/tdb#> .
@prefix rdf:    <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .

<#service> rdf:type fuseki:Service ;
    fuseki:name "{name}" ;
    fuseki:endpoint [ fuseki:operation fuseki:query ; fuseki:name "sparql" ] ;
    fuseki:endpoint [ fuseki:operation fuseki:query ; fuseki:name "query" ] ;
    fuseki:endpoint [ fuseki:operation fuseki:update ; fuseki:name "update" ] ;
    fuseki:endpoint [ fuseki:operation fuseki:gsp-rw ; fuseki:name "data" ] ;
    fuseki:dataset <#dataset> .

<#dataset> rdf:type tdb2:DatasetTDB2 ;
    tdb2:location "{location}" .
"""


class FusekiServerError(RuntimeError):
    """The test Fuseki could not be built, started or reached (message says what to do)."""


class FusekiServer(ServerProcess):
    """A Fuseki on ``127.0.0.1`` for one test session (or an external one from env)."""

    def __init__(self, home: Path | None = None, *, start_timeout_s: float = 120.0) -> None:
        super().__init__(home)
        self.start_timeout_s = start_timeout_s
        self.external = bool(os.environ.get(ENV_URL))
        self.dataset_url = os.environ.get(ENV_URL, "").rstrip("/")

    @property
    def log_path(self) -> Path | None:
        return self.home / "fuseki.log" if self.home else None

    def start(self) -> FusekiServer:
        if self.running:
            return self
        launcher = Path(os.environ.get("IMPACT_GRAPH_FUSEKI_LAUNCHER_DIR", DEFAULT_LAUNCHER_DIR))
        if not (launcher / "pom.xml").is_file():
            raise FusekiServerError(
                f"{launcher / 'pom.xml'} is missing: run the tests from a source checkout of "
                "impact-graph or set IMPACT_GRAPH_FUSEKI_LAUNCHER_DIR to tools/fuseki."
            )
        classpath = maven_classpath(
            launcher.resolve(),
            error=FusekiServerError,
            no_maven_hint=f"install Maven 3.8+ and Java 17 to run the Fuseki tests, or set "
            f"{ENV_URL} to a running Fuseki dataset.",
        )
        java = shutil.which("java")
        if java is None:
            raise FusekiServerError("Java ('java') is not on PATH: install Java 17.")
        home = self._make_home("impact-graph-fuseki-")
        config = home / "config.ttl"
        config.write_text(_CONFIG.format(name=DATASET, location=home / "tdb2"))
        port = free_port()
        self.dataset_url = f"http://127.0.0.1:{port}/{DATASET}"
        cmd = [java, "-Xmx512m", "-cp", classpath, _MAIN_CLASS, "--localhost"]
        cmd += ["--port", str(port), "--config", str(config)]
        assert self.log_path is not None
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
        except FusekiServerError:
            self._terminate()  # the home and its log stay, so the log can be read
            raise
        self._started()
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        probe = f"{self.dataset_url}/sparql?query=ASK%7B%7D"

        def answers() -> bool:
            try:
                with urllib.request.urlopen(probe, timeout=2) as resp:
                    return bool(resp.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        wait_ready(
            self._proc,
            answers,
            timeout_s=self.start_timeout_s,
            name=f"Fuseki ({self.dataset_url})",
            log_path=self.log_path,
            error=FusekiServerError,
            interval_s=0.2,
        )


if __name__ == "__main__":
    with FusekiServer() as srv:
        print(f"Fuseki dataset {srv.dataset_url}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
