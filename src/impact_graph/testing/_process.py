"""What the throw-away test servers (Neo4j, Fuseki) share: a child process on a free
loopback port with a log file, a readiness wait, and a teardown that leaves nothing behind.

Why one module: both launchers are a JVM started from a Maven-built classpath that must
be found ready (or its log shown) and stopped cleanly (SIGTERM first, so the JVM's
shutdown hook closes the store; SIGKILL only if that hangs), with a data directory that
is deleted only when the launcher created it. Each server class keeps what is its own:
the command line, what "ready" means, and the wording of its errors.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self


def tail(path: Path | None, lines: int = 40) -> str:
    """The last ``lines`` lines of a log (for error messages); "(no log)" if unreadable."""
    if path is None:
        return "(no log)"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A loopback port that was free a moment ago (callers retry if it was taken since)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def terminate(proc: subprocess.Popen[bytes] | None, timeout_s: float = 30.0) -> None:
    """SIGTERM, wait up to ``timeout_s``, then SIGKILL; close a stdin lifeline pipe."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdin:
        with contextlib.suppress(OSError):
            proc.stdin.close()


def wait_ready(
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    timeout_s: float,
    name: str,
    log_path: Path | None,
    error: type[Exception],
    interval_s: float = 0.1,
    hint: str = "",
) -> None:
    """Poll ``ready()`` until it is true; raise ``error`` naming ``name`` and showing the
    log's tail if the process exits first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            raise error(
                f"{name} exited with code {proc.returncode} while starting; its log "
                f"{log_path} ends with:\n{tail(log_path)}"
            )
        time.sleep(interval_s)
    raise error(
        f"{name} did not become ready within {timeout_s:.0f} s{hint}; its log {log_path} "
        f"ends with:\n{tail(log_path)}"
    )


def sources_digest(project_dir: Path) -> str:
    """Hash of a Maven project's pom and Java sources, so edits trigger a rebuild."""
    h = hashlib.sha256()
    files = [project_dir / "pom.xml", *sorted((project_dir / "src").rglob("*.java"))]
    for f in files:
        if f.is_file():
            h.update(f.relative_to(project_dir).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def maven_classpath(
    project_dir: Path, *, error: type[Exception], no_maven_hint: str, force: bool = False
) -> str:
    """Build a launcher project with Maven if its sources changed; return its classpath.

    The project writes its dependency classpath to ``target/classpath.txt``. The first
    build resolves the dependencies from Maven Central into ``~/.m2``; later calls only
    compare a digest. A file lock keeps parallel test processes from building at once.
    """
    pom = project_dir / "pom.xml"
    target = project_dir / "target"
    target.mkdir(exist_ok=True)
    stamp = target / "build.stamp"
    cp_file = target / "classpath.txt"
    classes = target / "classes"
    with open(target / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = sources_digest(project_dir)
        if not force and stamp.is_file() and stamp.read_text() == digest and cp_file.is_file():
            jars = cp_file.read_text().strip().split(os.pathsep)
            if all(Path(j).exists() for j in jars):
                return os.pathsep.join([str(classes), *jars])
        mvn = shutil.which("mvn")
        if mvn is None:
            raise error(f"Maven ('mvn') is not on PATH: {no_maven_hint}")
        stamp.unlink(missing_ok=True)
        proc = subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom), "package"],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if proc.returncode != 0 or not cp_file.is_file():
            out = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise error(
                f"Building {project_dir} with Maven failed (exit {proc.returncode}); Maven "
                f"needs to reach Maven Central the first time. Last output:\n{out}"
            )
        stamp.write_text(digest)
        jars = cp_file.read_text().strip().split(os.pathsep)
        return os.pathsep.join([str(classes), *jars])


class ServerProcess:
    """Base of a test server: its home directory, child process and teardown.

    Subclasses set ``external`` (a server from the environment: nothing is started or
    stopped) and implement ``start``; ``stop`` and the context manager are shared.
    """

    #: How long ``stop`` waits for SIGTERM before SIGKILL.
    stop_timeout_s: float = 30.0

    def __init__(self, home: Path | None) -> None:
        self._home_arg = home
        self.home: Path | None = None
        self.external = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._owns_home = False

    @property
    def running(self) -> bool:
        return self.external or (self._proc is not None and self._proc.poll() is None)

    def _make_home(self, prefix: str) -> Path:
        """The home given to the constructor, or a fresh temp dir this object deletes."""
        if self._home_arg is not None:
            self.home = Path(self._home_arg).resolve()
            self.home.mkdir(parents=True, exist_ok=True)
        else:
            self.home = Path(tempfile.mkdtemp(prefix=prefix))
            self._owns_home = True
        return self.home

    def _started(self) -> None:
        """Call once the server is ready: it is stopped at interpreter exit at the latest."""
        atexit.register(self.stop)

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        terminate(proc, self.stop_timeout_s)

    def stop(self) -> None:
        """Stop the server and delete its data directory if this object created it."""
        if self.external:
            return
        self._terminate()
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self._owns_home and self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None
            self._owns_home = False

    def start(self) -> Self:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
