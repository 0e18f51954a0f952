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

import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from impact_graph.testing.neo4j_server import _free_port, _tail, build_launcher

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


class FusekiServer:
    """A Fuseki on ``127.0.0.1`` for one test session (or an external one from env)."""

    def __init__(self, home: Path | None = None, *, start_timeout_s: float = 120.0) -> None:
        self._home_arg = home
        self.home: Path | None = None
        self.start_timeout_s = start_timeout_s
        self.external = bool(os.environ.get(ENV_URL))
        self._proc: subprocess.Popen[bytes] | None = None
        self._owns_home = False
        self.dataset_url = os.environ.get(ENV_URL, "").rstrip("/")

    @property
    def log_path(self) -> Path | None:
        return self.home / "fuseki.log" if self.home else None

    def start(self) -> FusekiServer:
        if self.external or (self._proc is not None and self._proc.poll() is None):
            return self
        launcher = Path(os.environ.get("IMPACT_GRAPH_FUSEKI_LAUNCHER_DIR", DEFAULT_LAUNCHER_DIR))
        try:
            classpath = build_launcher(launcher)
        except Exception as exc:  # the Neo4j builder's error names Neo4j; say Fuseki
            raise FusekiServerError(f"Could not build the Fuseki launcher: {exc}") from exc
        java = shutil.which("java")
        if java is None:
            raise FusekiServerError("Java ('java') is not on PATH: install Java 17.")
        if self._home_arg is not None:
            self.home = Path(self._home_arg).resolve()
            self.home.mkdir(parents=True, exist_ok=True)
        else:
            self.home = Path(tempfile.mkdtemp(prefix="impact-graph-fuseki-"))
            self._owns_home = True
        config = self.home / "config.ttl"
        config.write_text(_CONFIG.format(name=DATASET, location=self.home / "tdb2"))
        port = _free_port()
        self.dataset_url = f"http://127.0.0.1:{port}/{DATASET}"
        cmd = [java, "-Xmx512m", "-cp", classpath, _MAIN_CLASS, "--localhost"]
        cmd += ["--port", str(port), "--config", str(config)]
        assert self.log_path is not None
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()
        atexit.register(self.stop)
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None and self.log_path is not None
        deadline = time.monotonic() + self.start_timeout_s
        probe = f"{self.dataset_url}/sparql?query=ASK%7B%7D"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise FusekiServerError(
                    f"Fuseki exited with code {self._proc.returncode} while starting; its log "
                    f"{self.log_path} ends with:\n{_tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(probe, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise FusekiServerError(
            f"Fuseki did not answer on {self.dataset_url} within {self.start_timeout_s:.0f} s."
        )

    def stop(self) -> None:
        """Stop the server and delete its data directory if this object created it."""
        if self.external:
            return
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self._owns_home and self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None
            self._owns_home = False

    def __enter__(self) -> FusekiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    with FusekiServer() as srv:
        print(f"Fuseki dataset {srv.dataset_url}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
