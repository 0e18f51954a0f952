"""A real, throw-away Neo4j Community 5.26 for tests, built from Maven Central on demand.

Why this shape: the Neo4j backend must be tested against real Neo4j (the contract tests
never use fakes), but the machines that run the tests have Java 17 and Maven and no
Docker. ``tools/neo4j-launcher`` is a tiny Java main that starts the embedded Neo4j DBMS
with Bolt on 127.0.0.1 and auth enabled; this module builds it once (jars stay in
``~/.m2``, build output in the gitignored ``tools/neo4j-launcher/target/``), starts it on a
free port with a fresh data directory and a random password, and stops it again.

Use::

    with Neo4jServer() as srv:
        driver = neo4j.GraphDatabase.driver(srv.uri, auth=(srv.user, srv.password))

If ``IMPACT_GRAPH_TEST_NEO4J_URI`` (with ``IMPACT_GRAPH_TEST_NEO4J_USER`` and
``IMPACT_GRAPH_TEST_NEO4J_PASSWORD``) is set, that server is used instead and nothing is
built or started. ``python -m impact_graph.testing.neo4j_server`` runs one by hand.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from impact_graph.testing._process import (
    ServerProcess,
    free_port,
    maven_classpath,
    tail,
    wait_ready,
)

#: Where the launcher project lives in a source checkout (override with the env var).
DEFAULT_LAUNCHER_DIR = Path(__file__).resolve().parents[3] / "tools" / "neo4j-launcher"

ENV_URI = "IMPACT_GRAPH_TEST_NEO4J_URI"
ENV_USER = "IMPACT_GRAPH_TEST_NEO4J_USER"
ENV_PASSWORD = "IMPACT_GRAPH_TEST_NEO4J_PASSWORD"
ENV_LAUNCHER_DIR = "IMPACT_GRAPH_NEO4J_LAUNCHER_DIR"

# The JVM options Neo4j's own start script uses that matter for an embedded DBMS on
# Java 17 (netty and the page cache reach into java.nio internals).
_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
)
_MAIN_CLASS = "impactgraph.Launcher"
_READY = "READY bolt://"


class Neo4jServerError(RuntimeError):
    """The test Neo4j could not be built, started or reached (message says what to do)."""


def build_launcher(launcher_dir: Path | None = None, *, force: bool = False) -> str:
    """Build the launcher if its sources changed and return the Java classpath to run it.

    The first build resolves Neo4j from Maven Central into ``~/.m2`` (about 170 MB); later
    calls only compare a digest. A file lock keeps parallel test processes from building
    at the same time.
    """
    ldir = (launcher_dir or Path(os.environ.get(ENV_LAUNCHER_DIR, DEFAULT_LAUNCHER_DIR))).resolve()
    pom = ldir / "pom.xml"
    if not pom.is_file():
        raise Neo4jServerError(
            f"{pom} is missing: run the tests from a source checkout of impact-graph or set "
            f"{ENV_LAUNCHER_DIR} to the tools/neo4j-launcher directory."
        )
    return maven_classpath(
        ldir,
        error=Neo4jServerError,
        no_maven_hint="install Maven 3.8+ and Java 17 to run the Neo4j tests, or point "
        f"{ENV_URI} at a running Neo4j 5.26.",
        force=force,
    )


class Neo4jServer(ServerProcess):
    """A Neo4j 5.26 on ``127.0.0.1`` for one test session (or an external one from env).

    Attributes ``uri``, ``user`` and ``password`` are what a driver needs. ``home`` holds
    the database and ``launcher.log`` (kept after a failed start so it can be read).
    """

    user: str
    password: str
    stop_timeout_s = 60.0  # SIGTERM: the JVM's shutdown hook stops the DBMS cleanly

    def __init__(
        self,
        home: Path | None = None,
        *,
        heap: str = "1g",
        start_timeout_s: float = 180.0,
        launcher_dir: Path | None = None,
        jvm_options: Sequence[str] = (),
    ) -> None:
        super().__init__(home)
        self.heap = heap
        self.start_timeout_s = start_timeout_s
        self.launcher_dir = launcher_dir
        # e.g. ("-XX:TieredStopAtLevel=1",): starts ~2x faster on a busy machine but runs
        # queries slower, so it is not the default (benchmarks use this server too).
        self.jvm_options = tuple(jvm_options)
        self.external = bool(os.environ.get(ENV_URI))
        self.port = 0
        if self.external:
            self.uri = os.environ[ENV_URI]
            self.user = os.environ.get(ENV_USER, "neo4j")
            self.password = os.environ.get(ENV_PASSWORD, "")
        else:
            self.uri = ""
            self.user = "neo4j"
            # The embedded DBMS insists on at least 8 characters.
            self.password = secrets.token_urlsafe(18)

    @property
    def log_path(self) -> Path | None:
        return self.home / "launcher.log" if self.home else None

    def start(self) -> Neo4jServer:
        """Build (if needed) and start the server; return once Bolt accepts the password."""
        if self.external:
            self._check_bolt(timeout_s=15.0)
            return self
        if self.running:
            return self
        classpath = build_launcher(self.launcher_dir)
        java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", ""), "bin"))
        java = java or shutil.which("java")
        if java is None:
            raise Neo4jServerError(
                "Java ('java') is not on PATH: install Java 17 or set JAVA_HOME."
            )
        self._make_home("impact-graph-neo4j-")
        for attempt in range(3):
            self.port = free_port()
            self.uri = f"bolt://127.0.0.1:{self.port}"
            self._spawn(java, classpath)
            try:
                self._wait_ready()
                break
            except Neo4jServerError:
                log = tail(self.log_path)
                self._terminate()
                if "Address already in use" in log and attempt < 2:
                    continue
                raise
        self._check_bolt(timeout_s=30.0)
        self._started()
        return self

    def _spawn(self, java: str, classpath: str) -> None:
        assert self.home is not None and self.log_path is not None
        env = {**os.environ, "NEO4J_LAUNCHER_PASSWORD": self.password}
        cmd = [
            java,
            f"-Xmx{self.heap}",
            "-Xms128m",
            *_JVM_FLAGS,
            *self.jvm_options,
            "-cp",
            classpath,
            _MAIN_CLASS,
            "--port",
            str(self.port),
            "--home",
            str(self.home / "dbms"),
        ]
        with open(self.log_path, "wb") as log:
            # stdin stays open as a lifeline: when this process dies, the JVM sees EOF
            # and shuts the DBMS down instead of lingering.
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env
            )

    def _wait_ready(self) -> None:
        assert self._proc is not None and self.log_path is not None
        log = self.log_path
        wait_ready(
            self._proc,
            lambda: _READY in log.read_text(encoding="utf-8", errors="replace"),
            timeout_s=self.start_timeout_s,
            name=f"Neo4j (Bolt on {self.uri})",
            log_path=log,
            error=Neo4jServerError,
            hint=" (a busy machine? raise start_timeout_s)",
        )

    def _check_bolt(self, timeout_s: float) -> None:
        """Log in once, so a wrong password or dead server fails here, not in a test."""
        import neo4j
        from neo4j.exceptions import AuthError, ServiceUnavailable

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with neo4j.GraphDatabase.driver(
                    self.uri, auth=(self.user, self.password), connection_timeout=5
                ) as drv:
                    drv.verify_connectivity()
                return
            except AuthError as e:
                raise Neo4jServerError(
                    f"Neo4j at {self.uri} refused user '{self.user}': check {ENV_USER} and "
                    f"{ENV_PASSWORD}."
                ) from e
            except (ServiceUnavailable, OSError) as e:
                if time.monotonic() > deadline:
                    hint = (
                        f"is {ENV_URI} right?"
                        if self.external
                        else f"its log {self.log_path} ends with:\n{tail(self.log_path)}"
                        if self.log_path
                        else ""
                    )
                    raise Neo4jServerError(f"Neo4j at {self.uri} does not answer; {hint}") from e
                time.sleep(0.2)


def main() -> None:
    """Run a test Neo4j in the foreground until Ctrl-C (for poking at it by hand)."""

    # Stop cleanly on SIGTERM and on SIGINT even when started in the background (where
    # the shell makes the process ignore SIGINT).
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    t0 = time.monotonic()
    with Neo4jServer() as srv:
        print(f"Neo4j {srv.uri} user={srv.user} password={srv.password}")
        print(f"started in {time.monotonic() - t0:.1f} s; data in {srv.home}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            while srv.running:
                time.sleep(1)


if __name__ == "__main__":
    main()
