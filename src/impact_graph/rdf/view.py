"""The RDF view's stores: embedded Oxigraph on disk, or a remote SPARQL 1.1 store.

Both speak the same language to the rest of the code: a document is written as one
SPARQL Update request, which both Oxigraph and a remote store (Fuseki, GraphDB, ...) run
as one transaction, so a document is in the view whole or not at all:

1. delete from the default graph the triples of the document's old graph that no other
   graph holds (the default graph is the set union of all graphs, see ``mapping``);
2. ``DROP SILENT GRAPH <g>``;
3. ``INSERT DATA`` the new triples into ``<g>`` and into the default graph.

Delete is steps 1 and 2. The embedded view writes step 3 with one ``Store.load`` of
N-Quads instead -- the same quads, one transaction, much cheaper than the SPARQL parser
-- and, for a document it already holds, runs steps 1 and 2 as one update just before it
(see `OxigraphView.write_batch`).

Embedded (`OxigraphView`, the default) -- sharing one directory between processes: an
Oxigraph (RocksDB) directory can be open read-write in one process only, yet the API
server and an ``impact-graph ingest`` in a terminal write the same data directory (the
graph store is shared through the FalkorDB server; the RDF view must be shared too).
Access is therefore serialised by ``flock`` on ``oxigraph.lock`` (writers exclusive,
readers shared), and pyoxigraph 0.5 offers nothing better for concurrent readers: its
secondary instances are gone and ``Store.read_only`` next to a live writer is documented
as undefined behaviour, so readers never open the store while a writer has it open.

Why the writer is *held open* between writes: reopening it per document was most of
the write time (measured on 100 real ingest documents, ~740 quads each, on a loaded
2-core machine: 290-360 ms per document with open + update + flush + close per document;
held open 90-125 ms, of which the update itself -- RocksDB writing every quad into nine
indexes -- is nearly all; an in-memory store takes 15 ms for the same updates). So the
first write opens the store and takes the exclusive lock, later writes reuse it, and a
watcher thread lets go of it

* after ``idle_release_s`` (2 s) without a write -- an ingest's documents come in bursts
  between embedding batches, an API upload is a single write;
* as soon as any other process or thread *waits* for the store: a waiter holds a shared
  lock on ``oxigraph.wait`` while it waits, and the holder probes that file every 50 ms,
  so a researcher query or a second writer waits for the document being written (and a
  flush), not for the whole ingest; a newcomer first lets earlier waiters go (so the
  writer that yielded cannot grab the store straight back);
* at ``close()`` and at interpreter exit.

The held writer is flushed every ~8 MB of updates and when it rests for 0.5 s, because an
unflushed write-ahead log is replayed by every later open, slowly (measured: 100
unflushed documents made a read-only open take 6.3 s; flushed, 12 ms). Each document is
still its own SPARQL Update transaction, so "a document is written whole or not at all"
holds, and a killed process leaves only whole documents in the log. Putting several
documents into one transaction was measured too and saved nothing (90 vs 97 ms per
document), so it is not done. An ingest run (`OxigraphView.held_for_ingest`, entered by
the write-through store's ``maintenance_deferred``) keeps the writer through its pauses,
and its new documents do not go through the log at all: each one's N-Quads text is
appended to a journal file (``oxigraph.journal.nq``) before its write returns, and the
journal is bulk-loaded (``Store.bulk_load``: sorted files handed to RocksDB whole) every
~64 MB, before any read, update or release, and at the end of the run; a journal left by
a killed writer is loaded by the next writer or reader, as the log would be replayed
(see `INGEST_BULK_BYTES`). Reads from the process that holds the writer use it
directly; ``run_query`` releases it first. Researcher queries run in child processes
(``impact_graph.rdf._worker``) that can be killed at the time limit, because pyoxigraph
cannot cancel a query. They are a small pool of long-lived workers (a process and a
RocksDB open per query cost ~60 ms, several times the query itself at 1M triples): each
keeps the store open read-only under the shared lock between queries and lets go of it
as soon as a writer registers on the wait file, so the next query reopens it and sees
every write; a killed worker is replaced at once. A query waits for a writer (at most
its time limit, then a sentence) instead of failing while an ingest writes, and that
wait does not count against the time limit.

rdflib's API was measured against this: rdflib has no RDF 1.2 triple terms (the edge
reifiers), and oxrdflib would only wrap the same store; so the view uses pyoxigraph
directly and rdflib only where a library needs it (pyshacl, GraphML/JSON-LD export).

Remote (`RemoteView`): SPARQL 1.1 Update for writes, the Query protocol for reads, the
Graph Store Protocol for exports. Any SPARQL 1.1 store works as is (no union-graph setting
is needed: the view maintains its default graph itself).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from impact_graph.model import GraphBatch, utc_now_iso
from impact_graph.rdf._worker import Busy, take_lock
from impact_graph.rdf._worker import someone_waits as _someone_waits
from impact_graph.rdf.mapping import PROV_DERIVED, RdfMapping
from impact_graph.store.port import (
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreError,
    StoreUnavailable,
)
from impact_graph.threadname import set_kernel_name

#: How long a writer waits for readers (researcher queries) to let go of the store.
LOCK_WAIT_S = 60.0
#: How long the embedded writer stays open after its last write (an ingest's next
#: document reuses it; the API's single uploads let go soon).
IDLE_RELEASE_S = 2.0
#: How often the holder of the writer checks for waiters and idleness.
POLL_S = 0.05
#: Idle time after which the held writer is flushed (keeps the release quick).
FLUSH_IDLE_S = 0.5
#: Update text written to the held writer after which it is flushed (~25 documents of
#: ~800 statements). Why 8 MB and not less: every flush turns the memtables into new
#: files that RocksDB's background threads then compact, so flushing often moves CPU
#: from the write thread into compaction and adds to it. Measured (issue 3, the real
#: ``write_batch`` of 79 demo + 100 generated documents, median of 3 paired rounds, load
#: ~3-4 on 2 cores; write thread + RocksDB threads CPU): 4 MB 2.91 + 1.95 = 4.86 s,
#: 8 MB 3.03 + 1.33 = 4.36 s, 12 MB 4.43 s, 20 MB 4.69 s (a larger memtable makes every
#: insert dearer). The price is the flush a waiting reader waits for at release: ~80 ms
#: wall for 13 unflushed documents, 130-220 ms for 26.
FLUSH_BYTES = 8_000_000
#: FLUSH_BYTES while an ingest holds the writer (`OxigraphView.held_for_ingest`). Why
#: larger there: RocksDB (as Oxigraph sets it up) compacts as soon as a column family
#: has two flushed files, and while a family is under 512 MB (up to ~10k generated
#: documents) that compaction merges them into *all* of its data, because quad keys
#: start with hashed terms and every file spans the whole key range. So each flush costs
#: background CPU in proportion to the view's size: RocksDB's CPU per document grew from
#: ~25 to 48-74 ms over 2,000 generated documents (``bench/tools/rdf_growth.py``, issue
#: 3). The price: a larger memtable makes every insert dearer (write thread +~10 ms a
#: document), ~190 MB more memory, and a longer flush for a reader that arrives during
#: an ingest (see `held_for_ingest`).
INGEST_FLUSH_BYTES = 64_000_000
#: N-Quads text journaled by a held ingest (`OxigraphView.held_for_ingest`) after which
#: it is bulk-loaded (~165 generated documents of ~390 kB). Why bulk-load at all: a
#: document loaded through a transaction goes into the write-ahead log and the memtables
#: (a skiplist insert per index entry, ~8,000 a document), and each later flush leaves
#: RocksDB a compaction; the bulk loader sorts the entries once and hands RocksDB whole
#: files instead. Measured (scratch replay of the same 2,000 generated documents' text,
#: process CPU incl. RocksDB's threads and the compaction owed at the end, load 7-11):
#: load per document + 64 MB flushes 64.8 ms a document; bulk loads of 40 documents
#: 36.3, of 160 documents 34.4. Why not per document: every bulk load adds a file to
#: each column family, and RocksDB compacts a family at two files (see
#: `INGEST_FLUSH_BYTES`), so small bulk loads would compact as often as tiny flushes.
INGEST_BULK_BYTES = 64_000_000
#: The journal's line after each whole document (an N-Quads comment): a journal cut
#: short by a kill is replayed up to the last one, so a document is in the view whole
#: or not at all.
JOURNAL_MARK = b"#end\n"
#: What one quad counts towards FLUSH_BYTES when it is written without update text (its
#: share of a replace update's text, measured on the demo corpus: 383 bytes).
QUAD_BYTES = 380
#: Idle researcher query workers kept per embedded view (each holds the store open
#: read-only between queries; more run at once when more queries arrive together).
QUERY_WORKERS = 2


def _call(fn: Callable[[ox.Store], Any], store: ox.Store) -> tuple[Any, Exception | None]:
    """``fn(store)`` as (value, error). The error comes back without its traceback, whose
    frames would keep the store (and so RocksDB's files) open after the view has let go of
    it and of its lock; the caller raises it where no frame holds the store."""
    try:
        return fn(store), None
    except Exception as e:
        err: BaseException | None = e
        while err is not None:
            err.__traceback__ = None
            err = err.__cause__ or err.__context__
        return None, e


def _after(first: Callable[[ox.Store], Any], fn: Callable[[ox.Store], Any], store: ox.Store) -> Any:
    """``first(store)``, then ``fn(store)``'s value (one step for `_call`)."""
    first(store)
    return fn(store)


#: Embedded views of this process, released (flushed) at exit.
_OPEN_VIEWS: weakref.WeakSet[OxigraphView] = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    for view in list(_OPEN_VIEWS):
        with contextlib.suppress(Exception):
            view.close()


@dataclass(slots=True)
class RawResult:
    """What a researcher query returned, already row-capped.

    ``form`` is ``select`` (``vars`` + ``bindings`` in SPARQL JSON term encoding),
    ``ask`` (``boolean``) or ``graph`` (CONSTRUCT/DESCRIBE as N-Triples text). When
    ``body`` is set (the format the caller asked for), those fields are left empty.
    """

    form: str
    vars: list[str] = field(default_factory=list)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    boolean: bool = False
    ntriples: str = ""
    truncated: bool = False
    row_cap: int = 0
    elapsed_ms: float = 0.0
    #: The answer already serialised as ``media`` (by the embedded view's worker, when
    #: the caller named the format it will send): the endpoint passes it on as is.
    body: bytes | None = None
    media: str | None = None


#: Kernel name of the thread that bulk-loads a journal (`_bulk_load`), and so of the
#: loader threads pyoxigraph starts from it.
BULK_LOAD_THREAD = "ig-rdf-load"


def _bulk_load(store: ox.Store, path: Path) -> None:
    """``store.bulk_load`` of the N-Quads file ``path``, from a thread of its own named
    `BULK_LOAD_THREAD` in the kernel, waited for.

    Why a thread: pyoxigraph's bulk loader runs in unnamed threads that end with the
    load, so /proc showed their CPU under whichever thread started them -- at a run's
    end the main thread, before that the ingest's write thread -- or, once ended, under
    no thread at all, and bench/ingest.py booked it as the model's (~1 s of the demo).
    Named here, the loader's threads carry the name (Linux gives a thread its creator's
    name). Ctrl-C meanwhile waits for the load to end, as it did when the load ran in
    the calling thread (the GIL was released; the handler ran after it)."""
    failure: list[BaseException] = []

    def load() -> None:
        set_kernel_name(BULK_LOAD_THREAD)
        try:
            store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS, lenient=True)
        except BaseException as e:  # raised again in the caller below
            failure.append(e)

    thread = threading.Thread(target=load, name=BULK_LOAD_THREAD, daemon=True)
    thread.start()
    interrupted = False
    while thread.is_alive():
        try:
            thread.join()
        except KeyboardInterrupt:
            interrupted = True
    if failure:
        raise failure[0]
    if interrupted:
        raise KeyboardInterrupt


def drop_graph_update(graph: ox.NamedNode) -> str:
    """SPARQL Update that removes a named graph and, from the default graph (the union),
    the triples only that graph held."""
    g = graph.value
    return (
        f"DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} "
        f"FILTER NOT EXISTS {{ GRAPH ?other {{ ?s ?p ?o }} FILTER(?other != <{g}>) }} }} ;\n"
        f"DROP SILENT GRAPH <{g}>"
    )


def replace_graph_update(graph: ox.NamedNode, quads: Iterable[ox.Quad]) -> str:
    """One SPARQL Update that swaps a named graph's content atomically (and keeps the
    default graph the union of all graphs)."""
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode() if triples else ""
    return (
        f"{drop_graph_update(graph)} ;\n"
        f"INSERT DATA {{ GRAPH <{graph.value}> {{\n{body}}} }} ;\n"
        f"INSERT DATA {{\n{body}}}"
    )


def ontology_quads(mapping: RdfMapping) -> tuple[ox.NamedNode, list[ox.Quad]]:
    """``impact.ttl`` and the SKOS vocabularies as one named graph (the ontology IRI)."""
    from rdflib.namespace import OWL, RDF

    from impact_graph.ontology import load_graph

    g = load_graph()
    onto = next(iter(g.subjects(RDF.type, OWL.Ontology)), None)
    name = ox.NamedNode(str(onto) if onto is not None else mapping.base.rstrip("#/"))
    data = g.serialize(format="nt", encoding="utf-8")
    # Blank nodes (owl:unionOf lists) become IRIs: the same term must be written to the
    # named graph and to the default graph, and INSERT DATA mints new blank nodes per block.
    genid = name.value.rstrip("/#") + "/.well-known/genid/"

    def skolem(term: Any) -> Any:
        return ox.NamedNode(genid + term.value) if isinstance(term, ox.BlankNode) else term

    quads = [
        ox.Quad(skolem(t.subject), t.predicate, skolem(t.object), name)
        for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
    ]
    quads.append(ox.Quad(name, ONTOLOGY_DIGEST_P, ox.Literal(ontology_digest()), name))
    return name, quads


#: Where the view records which ontology files it holds (so setup can skip a reload).
ONTOLOGY_DIGEST_P = ox.NamedNode("http://purl.org/dc/terms/identifier")


def ontology_digest() -> str:
    """sha256 over the ontology and vocabulary files as they are on disk."""
    import hashlib

    from impact_graph.ontology import ONTOLOGY_FILE, ontology_dir, vocabulary_files

    h = hashlib.sha256()
    for f in [ontology_dir() / ONTOLOGY_FILE, *vocabulary_files()]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return "sha256:" + h.hexdigest()


class RdfView(ABC):
    """The RDF store behind the SPARQL endpoint; written by `WriteThroughStore`."""

    kind = "abstract"

    def __init__(self, mapping: RdfMapping) -> None:
        self.mapping = mapping

    # -- writing ---------------------------------------------------------------------

    @abstractmethod
    def update(self, sparql_update: str, what: str) -> None:
        """Run one trusted SPARQL Update as one transaction."""

    def write_batch(self, batch: GraphBatch) -> int:
        """Replace the document's named graph with the batch; returns the quad count."""
        quads = self.mapping.batch_quads(batch, written_at=utc_now_iso())
        self.update(replace_graph_update(self.mapping.graph_iri(batch.doc_id), quads), batch.doc_id)
        return len(quads)

    def delete_document(self, doc_id: str) -> bool:
        """Drop the document's graph; False if the view did not hold it."""
        graph = self.mapping.graph_iri(doc_id).value
        if not self.select(f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} LIMIT 1"):
            return False
        self.update(drop_graph_update(self.mapping.graph_iri(doc_id)), doc_id)
        return True

    def setup(self) -> None:
        """(Re)load the ontology and vocabularies into their own named graph, unless the
        view already holds these exact files (a reload costs ~1 s)."""
        from rdflib.namespace import OWL, RDF

        from impact_graph.ontology import load_graph

        onto = next(iter(load_graph().subjects(RDF.type, OWL.Ontology)), None)
        if onto is not None:
            digest_p = ONTOLOGY_DIGEST_P.value
            held = self.select(
                f"SELECT ?h WHERE {{ GRAPH <{onto}> {{ <{onto}> <{digest_p}> ?h }} }}"
            )
            if [r.get("h") for r in held] == [ontology_digest()]:
                return
        name, quads = ontology_quads(self.mapping)
        self.update(replace_graph_update(name, quads), "the ontology")

    def clear(self) -> None:
        """Drop every document graph (the ontology graph stays)."""
        graphs = [
            r["g"]
            for r in self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
            if self.mapping.doc_id_of_graph(r["g"]) is not None
        ]
        for i in range(0, len(graphs), 200):
            self.update(
                " ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs[i : i + 200]), "clear"
            )
        # The default graph is the union: rebuild it from what is left (the ontology).
        self.update(
            "DROP SILENT DEFAULT ;\nINSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", "clear"
        )

    # -- reading ---------------------------------------------------------------------

    @abstractmethod
    def select(self, query: str) -> list[dict[str, str]]:
        """A trusted SELECT (default graph = union of all graphs); values as strings."""

    def _hash_query(self, graph: str) -> str:
        """SELECT of the content hash ``?h`` of the document a named graph holds;
        ``graph`` is ``?g`` (every document) or one graph's ``<iri>``."""
        return (
            f"SELECT ?g ?h WHERE {{ GRAPH {graph} {{ ?d a <{self.mapping.document_class.value}> ; "
            f"<{self.mapping.content_hash_p.value}> ?h . {graph} <{PROV_DERIVED.value}> ?d }} }}"
        )

    def document_hashes(self) -> dict[str, str]:
        """Document id -> content hash, as held by the view (what repairs compare)."""
        rows = self.select(self._hash_query("?g"))
        out = {}
        for r in rows:
            doc = self.mapping.doc_id_of_graph(r["g"])
            if doc is not None:
                out[doc] = r["h"]
        return out

    def document_hash(self, doc_id: str) -> str | None:
        """The content hash the view holds for one document (None: not held). Why not
        ``document_hashes().get(doc_id)``: that reads every document's hash, and the
        write-through asks this for each document the graph store skipped."""
        rows = self.select(self._hash_query(f"<{self.mapping.graph_iri(doc_id).value}>"))
        return rows[0].get("h") if len(rows) == 1 else None

    @abstractmethod
    def run_query(
        self,
        query: str,
        *,
        form: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
        media: str | None = None,
        out_prefixes: dict[str, str] | None = None,
    ) -> RawResult:
        """Run a researcher query (already checked by `impact_graph.rdf.sparql`).

        ``media``: the format the caller will answer in; a view may then return the
        result already serialised (``RawResult.body``), Turtle abbreviated with
        ``out_prefixes``. Without it, the result comes back as fields."""

    async def run_query_async(
        self,
        query: str,
        *,
        form: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
        media: str | None = None,
        out_prefixes: dict[str, str] | None = None,
    ) -> RawResult:
        """`run_query` for an event loop (the API): here in a worker thread; the embedded
        view waits for its query worker's answer on the loop itself instead."""
        import anyio.to_thread

        return await anyio.to_thread.run_sync(
            functools.partial(
                self.run_query,
                query,
                form=form,
                prefixes=prefixes,
                timeout_s=timeout_s,
                row_cap=row_cap,
                media=media,
                out_prefixes=out_prefixes,
            )
        )

    @abstractmethod
    def quads(self, graphs: list[str] | None = None) -> Iterator[ox.Quad]:
        """All quads, or those of the named graphs ``graphs`` (export, validate)."""

    def held_for_ingest(self) -> AbstractContextManager[None]:
        """A block of many writes (an ingest run); a view may batch its upkeep in it."""
        return contextlib.nullcontext()

    def load_journal(self) -> None:  # noqa: B027 - optional hook
        """Within `held_for_ingest`: make what the block batched so far durable in the
        view now, not at the block's end (a view that batches nothing has nothing to do)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


# ---------------------------------------------------------------------------------------
# Embedded Oxigraph
# ---------------------------------------------------------------------------------------


class OxigraphView(RdfView):
    """Oxigraph on disk in ``<data_dir>/rdf/``; safe to share between processes.

    Writes reuse one read-write store held open between them; it is released when it has
    been idle for ``idle_release_s`` (0: after every write), when another process or
    thread waits for the store, or at `close`.
    """

    kind = "oxigraph"

    def __init__(
        self,
        directory: Path,
        mapping: RdfMapping,
        *,
        memory_mb: int = 2048,
        idle_release_s: float = IDLE_RELEASE_S,
        query_workers: int = QUERY_WORKERS,
    ) -> None:
        super().__init__(mapping)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "oxigraph"
        self.lock_path = self.directory / "oxigraph.lock"
        self.wait_path = self.directory / "oxigraph.wait"
        self.memory_mb = memory_mb
        self.idle_release_s = idle_release_s
        self.query_workers = query_workers
        # Researcher query workers, started at the first query (a view opened for an
        # ingest never starts them).
        self._pool: _QueryPool | None = None
        # The held writer: store, its lock file, its probe on the wait file. Guarded by
        # _mutex, which is never held while waiting for a *shared* lock (no deadlock with
        # the watcher, which needs _mutex to let go of the writer).
        self._mutex = threading.RLock()
        self._store: ox.Store | None = None
        self._lock: IO[str] | None = None
        self._probe: IO[str] | None = None
        self._last_write = 0.0
        self._unflushed = 0  # bytes of update text written since the last flush
        self._ingests = 0  # open `held_for_ingest` blocks
        self._watcher: threading.Thread | None = None
        #: How often this view opened the read-write store (figures and tests).
        self.writer_opens = 0
        # A held ingest's new documents, journaled as N-Quads text and bulk-loaded in
        # groups (see `held_for_ingest`): the journal, and the documents in it (id ->
        # content hash, for `document_hash`).
        self.journal_path = self.directory / "oxigraph.journal.nq"
        self._journal: IO[bytes] | None = None
        self._journal_bytes = 0
        self._pending: dict[str, str | None] = {}
        #: How often this view bulk-loaded a journal, and the wall seconds of those
        #: loads (figures and tests).
        self.bulk_loads = 0
        self.bulk_load_s = 0.0
        _OPEN_VIEWS.add(self)
        if not (self.path / "CURRENT").exists():
            self._write(lambda store: None)  # create the database so read-only opens find it
            self.release()

    # -- the inter-process lock --------------------------------------------------------

    def _acquire(self, mode: int, wait_s: float) -> IO[str]:
        """Take ``mode`` (LOCK_EX/LOCK_SH) on the lock file (`take_lock`), or say in a
        sentence why the view stayed busy."""
        try:
            return take_lock(str(self.lock_path), str(self.wait_path), mode, wait_s)
        except Busy:
            raise StoreUnavailable(
                f"The RDF view in {self.directory} stayed busy for "
                f"{wait_s:g} s (another process is writing it, or a long "
                "SPARQL query holds it); retry in a moment."
            ) from None

    # -- the held writer ---------------------------------------------------------------

    def _write(self, fn: Callable[[ox.Store], Any], size: int = 1) -> Any:
        """Run ``fn`` on the read-write store, opening it (and taking the exclusive lock)
        unless it is held already. ``fn`` must not keep a reference to the store."""
        with self._mutex:
            if self._store is None:
                lock = self._acquire(fcntl.LOCK_EX, LOCK_WAIT_S)
                try:
                    self._store = ox.Store(str(self.path))
                except OSError as e:
                    lock.close()
                    raise StoreUnavailable(
                        f"The RDF view in {self.path} cannot be opened ({e}); check the "
                        "directory's permissions and free disk space."
                    ) from e
                self.writer_opens += 1
                self._lock = lock
                self._probe = open(self.wait_path, "a")  # noqa: SIM115 - closed in release()
                if self.journal_path.exists():
                    # Left by a writer that was killed mid-ingest: its documents first.
                    fn = functools.partial(_after, self._bulk_load_journal, fn)
            value, error = _call(fn, self._store)
            self._unflushed += max(size, 1)
            self._last_write = time.monotonic()
            limit = INGEST_FLUSH_BYTES if self._ingests else FLUSH_BYTES
            if self._unflushed >= limit and self._store is not None:
                self._flush()
            if self.idle_release_s <= 0:
                self.release()
            elif self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name=f"rdf-view-release {self.directory}", daemon=True
                )
                self._watcher.start()
        if error is not None:
            raise error
        return value

    def _watch(self) -> None:
        """Let go of the writer when idle or when someone waits; flush it when it rests."""
        try:
            while True:
                time.sleep(POLL_S)
                with self._mutex:
                    if self._store is None or self._probe is None:
                        return
                    if _someone_waits(self._probe):
                        break
                    if self._ingests:
                        continue  # an ingest's pauses between groups: keep it all
                    idle = time.monotonic() - self._last_write
                    if idle >= self.idle_release_s:
                        break
                    if self._unflushed and idle >= FLUSH_IDLE_S:
                        self._flush()
        except StoreError:
            pass  # a flush failed: let go below (release tries once more)
        finally:
            with self._mutex:
                self._watcher = None
                with contextlib.suppress(StoreError):
                    self.release()

    def _flush(self) -> None:
        # Why flush at all: an unflushed write-ahead log is replayed by every open, and
        # slowly (measured: after 100 documents, 6.3 s for a read-only open and for a
        # reopen; 1.35 s to flush them, then 12 ms to open). Flushing every FLUSH_BYTES of
        # updates bounds what a waiting reader pays when the writer yields to it.
        if self._store is not None:
            try:
                self._store.flush()
            except OSError as e:
                raise StoreUnavailable(
                    f"The RDF view in {self.path} could not save its writes to disk ({e}); "
                    "check free disk space and run the ingest again."
                ) from e
        self._unflushed = 0

    def release(self) -> None:
        """Flush and close the held writer and drop the lock (no-op when not held)."""
        with self._mutex:
            if self._store is None:
                return
            try:
                if self._pending or self._journal is not None:
                    self._bulk_load_journal(self._store)
                if self._unflushed:
                    self._flush()
            finally:
                self._store = None  # the last reference: RocksDB closes here, before unlock
                self._unflushed = 0
                for f in (self._lock, self._probe):
                    if f is not None:
                        f.close()
                self._lock = self._probe = None

    @contextlib.contextmanager
    def held_for_ingest(self) -> Iterator[None]:
        """Within the block (an ingest run), keep the writer through pauses, and journal
        new documents to bulk-load them in groups (`INGEST_BULK_BYTES`) instead of
        loading each through the log (a document the view holds already is replaced as
        outside the block, after the journal is loaded).

        Why hold: an ingest writes in groups (one per embedding call, ~40 generated
        documents of ~7 s model time at 10k), and at each pause the idle rules flushed
        the writer (0.5 s) and let go of it (2 s); each flush leaves RocksDB a compaction
        over the whole view (see `INGEST_FLUSH_BYTES`). H58 measured holding alone:
        69.9 -> 49.5 ms a document over 2,000 generated documents.

        Why journal and bulk-load: with the writer held, the write thread's own CPU was
        the larger part (30-40 ms a document: the log and a memtable insert per index
        entry). Measured (``bench/tools/rdf_growth.py``, the same 2,000 generated
        documents in groups of 40 with 3 s rests, held before and now, side by side,
        process CPU incl. RocksDB's and the bulk loader's threads and the compaction
        owed at the end, ms a document, 3 rounds, load 5-13): 50.6 -> 28.0, 55.0 ->
        27.9, 49.7 -> 29.6, median 50.6 -> 28.0 (-45%); write thread 68-72 -> 11 s,
        RocksDB 31-37 -> 20-24 s, the bulk loader's threads ~25 s. RocksDB's part
        still grows with the view (0 -> ~21 ms a document from the first to the fourth
        500 documents), as before.

        What still holds: a reader or writer that waits is served as before (the probe of
        the wait file), after the journal is loaded -- up to ~165 generated documents,
        measured 1.85 s CPU, 5.6 s wall at load ~9 for 134 (the flush it replaces: 3.4 s
        at load ~15). Each document is in the view whole or not at all: the journal is
        loaded up to its last whole document, and loading it twice is harmless. A kill
        loses nothing written: the next writer, or a reader of this view, loads a journal
        it finds first (`replay_journal`). Peak memory +~85 MB (the bulk loader's sort).
        After the block the rest of the journal is loaded and the usual idle rules
        apply from the last write on; an ingest's write thread loads most of it before,
        while the model encodes the run's last parts (`load_journal`)."""
        with self._mutex:
            self._ingests += 1
        try:
            yield
        finally:
            with self._mutex:
                self._ingests -= 1
                self._last_write = time.monotonic()
                if not self._ingests and self._store is not None and self._pending:
                    # The run is over: its last documents go in now, not at the release.
                    _, error = _call(self._bulk_load_journal, self._store)
                    if error is not None:
                        raise error

    def load_journal(self) -> None:
        """Bulk-load what a held ingest has journaled so far (no-op when nothing is).

        For an ingest's write thread at the run's end, while it waits for the model's
        last parts: the journal is complete for every document written, and loaded
        then, the run's end loads only the last part's documents. Why: the end's one
        load of the whole journal was all of the run's tail (100 generated documents:
        2.9 of the 3.0 s from the model's last call to the run's end, at load ~8; the
        last group's writes 0.03 s), with the model done and a core idle."""
        with self._mutex:
            if self._store is None or not self._pending:
                return
            _, error = _call(self._bulk_load_journal, self._store)
        if error is not None:
            raise error

    @property
    def holds_writer(self) -> bool:
        """Whether this view holds the read-write store (and the exclusive lock) now."""
        return self._store is not None

    @property
    def query_worker_pids(self) -> list[int]:
        """Process ids of the running researcher query workers (diagnostics, tests)."""
        return self._pool.pids() if self._pool is not None else []

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.release()
        _OPEN_VIEWS.discard(self)

    # -- reads -------------------------------------------------------------------------

    def _read(self, fn: Callable[[ox.Store], Any], *, journaled: bool = True) -> Any:
        """Run ``fn`` on the held writer if there is one, else on a read-only store opened
        under the shared lock. ``fn`` must return plain data (no lazy results).

        The journal of a held ingest is bulk-loaded first, so a read sees every document
        written (``journaled=False``: ``fn`` reads nothing a journaled document holds).
        A journal on disk without a writer holding the store is a killed writer's: it is
        loaded (by opening the writer) before the read-only store is opened."""
        with self._mutex:
            if self._store is not None:
                if journaled and self._pending:
                    fn = functools.partial(_after, self._bulk_load_journal, fn)
                value, error = _call(fn, self._store)
                if error is not None:
                    raise error
                return value
        if journaled and self.replay_journal():
            return self._read(fn, journaled=journaled)
        lock = self._acquire(fcntl.LOCK_SH, LOCK_WAIT_S)
        try:
            try:
                store = ox.Store.read_only(str(self.path))
            except OSError as e:
                raise StoreUnavailable(
                    f"The RDF view in {self.path} cannot be opened ({e}); check the "
                    "directory's permissions and free disk space."
                ) from e
            value, error = _call(fn, store)
            del store  # closes RocksDB before the lock is released
        finally:
            lock.close()
        if error is not None:
            raise error
        return value

    def update(self, sparql_update: str, what: str) -> None:
        def run(store: ox.Store) -> None:
            if self._pending:
                self._bulk_load_journal(store)  # the update may read what they hold
            try:
                store.update(sparql_update)
            except (SyntaxError, OSError, ValueError) as e:
                raise StoreError(
                    f"The RDF view refused to write {what} ({e}); this is a bug in the RDF "
                    "mapping, please report it with the document."
                ) from e

        self._write(run, len(sparql_update))

    def write_batch(self, batch: GraphBatch) -> int:
        """Replace the document's named graph with the batch; returns the quad count.

        The new graph and its default-graph copies are added with one ``Store.load`` of
        N-Quads text (`RdfMapping.batch_nquads`), one transaction. A document the view
        holds already (a changed document) first loses its old graph by the delete
        update (`drop_graph_update`), its own transaction; both run under the writer's
        exclusive lock, so no other process or thread sees the document missing in
        between. A kill between the two leaves the view without the document while the
        graph store has it: `WriteThroughStore.document_hashes` then does not list it,
        so the rerun writes it again (the same repair as a kill between the graph
        store's write and the view's). A failed load raises, and the write-through takes
        the document out of the graph store too. Within `held_for_ingest` a new document
        is journaled instead and bulk-loaded with others.

        Measured (write-thread CPU per document, 79 demo + 100 generated documents of
        ~810 statements, FalkorDB + this view, load ~12 on 2 cores): a new document
        17.1 -> 14.0 ms (demo) and 22.9 -> 19.0 ms (generated) against the former
        Quad-term text with a strict parse; the Python side is ~1.4 ms of it, the rest
        is RocksDB writing every quad into its indexes (the same load into an in-memory
        store: ~4 ms). A changed document 70-77 ms with the SPARQL replace update (its
        ``INSERT DATA`` read by the SPARQL parser) -> 53-59 ms.
        """
        graph, text, count = self.mapping.batch_nquads(batch, written_at=utc_now_iso())

        def run(store: ox.Store) -> None:
            if batch.doc_id in self._pending:
                self._bulk_load_journal(store)  # the same document twice in one run
            try:
                known = next(store.quads_for_pattern(None, None, None, graph), None) is not None
                if not known and self._ingests:
                    # A new document in an ingest run: journaled, bulk-loaded in groups.
                    self._journal_document(store, batch, text.encode())
                    return
                if known:
                    # A changed document: its old graph goes first (one transaction),
                    # then the new one is added like a new document's. Journaled
                    # documents go in before, so the drop sees every graph there is.
                    if self._pending:
                        self._bulk_load_journal(store)
                    store.update(drop_graph_update(graph))
                # The document's graph and, the default graph being the union of all
                # graphs, the same statements there: one load, one transaction.
                # ``lenient``: the text is made from checked terms (see
                # `RdfMapping.batch_nquads`), so the parser need not check every IRI
                # again (measured: ~3 of ~25 ms CPU per document). Bytes: a text
                # pyo3 cannot pass (a lone surrogate) fails here as a ValueError.
                store.load(text.encode(), format=ox.RdfFormat.N_QUADS, lenient=True)
                # Counted as the update text it replaces, so the flush keeps its rhythm.
                self._unflushed += count * QUAD_BYTES
            except (SyntaxError, OSError, ValueError) as e:
                raise StoreError(
                    f"The RDF view refused to write {batch.doc_id} ({e}); this is a bug in "
                    "the RDF mapping (or the disk is full), please report it with the "
                    "document."
                ) from e

        self._write(run, 0)
        return count

    def _journal_document(self, store: ox.Store, batch: GraphBatch, data: bytes) -> None:
        """Append one new document's N-Quads text to the journal (whole, then its mark),
        and bulk-load the journal once it holds `INGEST_BULK_BYTES`.

        Written to the file before the write returns, so a killed process loses nothing
        written: the next writer loads the journal first (`_write`), and a reader that
        finds one loads it through a writer first (`replay_journal`), as RocksDB replays
        its log."""
        if self._journal is None:
            self._journal = open(self.journal_path, "ab")  # noqa: SIM115 - closed by the load
            self._journal_bytes = self._journal.tell()
        try:
            self._journal.write(data)
            self._journal.write(JOURNAL_MARK)
            self._journal.flush()
        except OSError as e:
            # Cut back what this document left, so the journal holds whole documents.
            with contextlib.suppress(OSError):
                self._journal.close()
                os.truncate(self.journal_path, self._journal_bytes)
            self._journal = None
            raise StoreError(
                f"The RDF view could not journal {batch.doc_id} in {self.journal_path} "
                f"({e}); check free disk space and run the ingest again."
            ) from e
        self._journal_bytes += len(data) + len(JOURNAL_MARK)
        content_hash = batch.document.props.get("content_hash")
        self._pending[batch.doc_id] = None if content_hash is None else str(content_hash)
        if self._journal_bytes >= INGEST_BULK_BYTES:
            self._bulk_load_journal(store)

    def _bulk_load_journal(self, store: ox.Store) -> None:
        """Bulk-load the journal (ours, or one a killed writer left) and remove it.

        Cut after its last whole document first (a kill may have stopped an append).
        Loading twice is harmless (a quad is stored once), so a kill during the load
        leaves a journal the next writer loads again. A load that fails moves the
        journal aside (``*.failed``) and says which documents are missing."""
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.close()
            self._journal = None
        pending, self._pending = self._pending, {}
        self._journal_bytes = 0
        path = self.journal_path
        try:
            with open(path, "rb+") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - len(JOURNAL_MARK)))
                if f.read() != JOURNAL_MARK:
                    f.seek(0)
                    data = f.read()
                    end = data.rfind(b"\n" + JOURNAL_MARK)
                    size = 0 if end < 0 else end + 1 + len(JOURNAL_MARK)
                    f.truncate(size)
            if size:
                started = time.perf_counter()
                _bulk_load(store, path)
                self.bulk_loads += 1
                self.bulk_load_s += time.perf_counter() - started
            path.unlink()
        except FileNotFoundError:
            return
        except (SyntaxError, OSError, ValueError) as e:
            failed = path.with_suffix(".failed.nq")
            with contextlib.suppress(OSError):
                path.replace(failed)
            docs = ", ".join(sorted(pending)[:5]) + (" ..." if len(pending) > 5 else "")
            raise StoreError(
                f"The RDF view could not load its journal {path} ({e}); "
                f"{len(pending) or 'its'} documents ({docs or 'of an earlier run'}) are not "
                f"in the view (kept in {failed}). Run the ingest again: it writes them again."
            ) from e

    def replay_journal(self) -> bool:
        """Load a journal left on disk while no writer here holds the store (a writer
        killed mid-ingest, or another process's, which it loads when it lets go for us).
        Returns whether there was one. A stat when there is none."""
        if self._store is not None or not self.journal_path.exists():
            return False
        self._write(lambda store: None)
        return True

    def select(self, query: str, *, journaled: bool = True) -> list[dict[str, str]]:
        def run(store: ox.Store) -> list[dict[str, str]]:
            result = store.query(query)
            names = [v.value for v in result.variables]  # type: ignore[union-attr]
            return [
                {n: sol[n].value for n in names if sol[n] is not None}  # type: ignore[union-attr]
                for sol in result  # type: ignore[union-attr]
            ]

        return self._read(run, journaled=journaled)  # type: ignore[no-any-return]

    def document_hash(self, doc_id: str) -> str | None:
        """As `RdfView.document_hash`; a journaled document answers from the journal's
        list, and the journal is not loaded for it (the write-through asks this for every
        document the graph store skipped; one document's graph is all it reads)."""
        with self._mutex:
            if doc_id in self._pending:
                return self._pending[doc_id]
        graph = f"<{self.mapping.graph_iri(doc_id).value}>"
        rows = self.select(self._hash_query(graph), journaled=False)
        return rows[0].get("h") if len(rows) == 1 else None

    def quads(self, graphs: list[str] | None = None) -> Iterator[ox.Quad]:
        def run(store: ox.Store) -> list[ox.Quad]:
            if graphs is None:
                return list(store.quads_for_pattern(None, None, None, None))
            return [
                q
                for g in graphs
                for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g))
            ]

        yield from self._read(run)

    def start_query_workers(self) -> _QueryPool:
        """The pool of query workers, started now if it was not (the API starts it at
        start-up, so the first SPARQL query does not wait ~0.5 s for a process)."""
        pool = self._pool
        if pool is None:
            with self._mutex:
                if self._pool is None:
                    self._pool = _QueryPool(self, self.query_workers)
                    weakref.finalize(self, self._pool.close)
                pool = self._pool
        return pool

    def run_query(
        self,
        query: str,
        *,
        form: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
        media: str | None = None,
        out_prefixes: dict[str, str] | None = None,
    ) -> RawResult:
        request = self._query_request(query, prefixes, timeout_s, row_cap, media, out_prefixes)
        # Our own held writer goes first (the worker would wait for it); a journal a
        # killed writer left is loaded before (the worker opens the store read-only).
        self.replay_journal()
        self.release()
        pool = self.start_query_workers()
        worker = pool.take()
        ok = False
        try:
            head, body = worker.ask(request, timeout_s)
            ok = True
        except (subprocess.TimeoutExpired, _WorkerDied) as e:
            raise self._failure(e, timeout_s) from None
        finally:
            pool.give(worker, healthy=ok)
        return self._result(head, body, request, media)

    async def run_query_async(
        self,
        query: str,
        *,
        form: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
        media: str | None = None,
        out_prefixes: dict[str, str] | None = None,
    ) -> RawResult:
        """`run_query` on the event loop: the request goes down the worker's pipe and the
        loop waits for the answer's pipe to become readable, so a query costs no thread
        hand-off (measured: ~0.2 ms CPU and two wake-ups per query on this machine). What
        may block -- flushing our own held writer, starting a worker process, reading a
        large answer -- runs in a thread; the time limit and the kill are the same."""
        import anyio.to_thread

        request = self._query_request(query, prefixes, timeout_s, row_cap, media, out_prefixes)
        if self.holds_writer or self.journal_path.exists():
            await anyio.to_thread.run_sync(self.replay_journal)
            await anyio.to_thread.run_sync(self.release)
        pool = self._pool or await anyio.to_thread.run_sync(self.start_query_workers)
        worker = pool.take_idle() or await anyio.to_thread.run_sync(pool.take)
        ok = False
        try:
            head, body = await worker.ask_async(request, timeout_s)
            ok = True
        except (subprocess.TimeoutExpired, _WorkerDied) as e:
            raise self._failure(e, timeout_s) from None
        finally:
            if ok:
                pool.give(worker, healthy=True)  # no kill, no start: nothing blocks
            else:
                # Also when the caller was cancelled mid-answer: the worker may still be
                # writing it, so it never serves another query. The kill is at once (and
                # here, not awaited: a cancelled scope would cancel the await too); the
                # replacement starts in a thread, not on the loop.
                worker.kill()
                threading.Thread(
                    target=pool.give, args=(worker,), kwargs={"healthy": False}, daemon=True
                ).start()
        return self._result(head, body, request, media)

    @staticmethod
    def _query_request(
        query: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
        media: str | None,
        out_prefixes: dict[str, str] | None,
    ) -> dict[str, Any]:
        return {
            "query": query,
            "prefixes": prefixes,
            "row_cap": row_cap,
            "media": media,
            "out_prefixes": out_prefixes,
            # Waiting for a writer (an ingest in another process lets go after its current
            # document) ends in a sentence and does not count against the time limit.
            "wait_s": max(timeout_s, 1.0),
        }

    def _failure(self, e: Exception, timeout_s: float) -> Exception:
        """The sentence for a query worker that was killed at the time limit or died."""
        if isinstance(e, subprocess.TimeoutExpired):
            return QueryTimeout(
                f"The SPARQL query ran longer than the time limit of {timeout_s:g} s and was "
                "stopped; narrow it (fewer unbound patterns, a LIMIT, no cross products)."
            )
        returncode = e.returncode if isinstance(e, _WorkerDied) else None
        if returncode == -signal.SIGSEGV:
            return QueryRefused(
                "The SPARQL query crashed the query engine (too deeply nested or too "
                "complex to parse) and was stopped; simplify it."
            )
        if returncode in (-signal.SIGABRT, -signal.SIGKILL):
            return QueryRefused(
                f"The SPARQL query needed more than the {self.memory_mb} MB a query may "
                "use and was stopped; narrow it or add a LIMIT."
            )
        return StoreError(f"The SPARQL query worker failed (exit {returncode}).")

    def _result(
        self, head: dict[str, Any], body: bytes, request: dict[str, Any], media: str | None
    ) -> RawResult:
        """The worker's answer as a `RawResult`, or its error as a sentence."""
        if not head.get("ok"):
            if head.get("error") == "busy":
                raise StoreUnavailable(
                    f"The RDF view in {self.directory} stayed busy for {request['wait_s']:g} s "
                    "(another process is writing it, or a long SPARQL query holds it); retry "
                    "in a moment."
                )
            if head.get("error") == "syntax":
                raise QuerySyntaxError(syntax_sentence(head["message"]))
            if head.get("error") == "memory":
                raise QueryRefused(
                    f"The SPARQL query needed more than the {self.memory_mb} MB a query may "
                    "use and was stopped; narrow it or add a LIMIT."
                )
            raise StoreUnavailable(f"The RDF view could not be read: {head.get('message')}")
        result = RawResult(
            form=head["form"],
            truncated=head.get("truncated", False),
            row_cap=request["row_cap"],
            elapsed_ms=head.get("elapsed_ms", 0.0),
        )
        if media is not None and head.get("media") == media:
            result.body, result.media = body, media
        elif head["form"] == "graph":
            result.ntriples = body.decode()
        else:
            doc = json.loads(body)
            result.vars = doc.get("head", {}).get("vars", [])
            result.bindings = doc.get("results", {}).get("bindings", [])
            result.boolean = bool(doc.get("boolean", False))
        return result


#: Largest request or answer body sent or read on the event loop itself: well inside a
#: pipe's 64 kB, so neither side's write has to wait for the other to read.
_INLINE_BYTES = 32_768


class _WorkerDied(Exception):
    """The query worker exited (crashed, or was killed by the memory limit)."""

    def __init__(self, returncode: int) -> None:
        super().__init__(returncode)
        self.returncode = returncode


class _QueryWorker:
    """One `impact_graph.rdf._worker` process and its two pipes."""

    def __init__(self, view: OxigraphView) -> None:
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        config = {
            "path": str(view.path),
            "lock": str(view.lock_path),
            "wait": str(view.wait_path),
            "memory_mb": view.memory_mb,
        }
        src = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "impact_graph.rdf._worker",
                    str(req_r),
                    str(ans_w),
                    json.dumps(config),
                ],
                pass_fds=(req_r, ans_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        except BaseException:
            for fd in (req_r, req_w, ans_r, ans_w):
                os.close(fd)
            raise
        os.close(req_r)
        os.close(ans_w)
        self.send = Connection(req_w, readable=False)
        self.recv = Connection(ans_r, writable=False)
        #: How often this worker's store was opened (figures and tests).
        self.opens = 0
        #: Whether the process has answered before (a fresh one may still be starting).
        self.answered = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read(self, wait_s: float | None) -> bytes:
        try:
            if wait_s is not None and not self.recv.poll(wait_s):
                self.kill()
                raise subprocess.TimeoutExpired("sparql worker", wait_s)
            return self.recv.recv_bytes()
        except (EOFError, OSError):
            self.kill()
            raise _WorkerDied(self.proc.returncode) from None

    def ask(self, request: dict[str, Any], timeout_s: float) -> tuple[dict[str, Any], bytes]:
        """Send one query; the answer's header and body. Raises `subprocess.TimeoutExpired`
        (the worker is killed) past ``timeout_s`` after the worker holds the store."""
        try:
            self.send.send_bytes(json.dumps(request).encode())
        except OSError:
            self.kill()
            raise _WorkerDied(self.proc.returncode) from None
        # Starting (~0.1-0.5 s on a loaded machine) and waiting for a writer are not query
        # time; the worker gives up waiting for the lock itself after wait_s.
        slow = float(request["wait_s"]) + 60.0
        head = json.loads(self._read(timeout_s if self.answered else slow))
        self.answered = True
        if head.get("opening"):
            head = json.loads(self._read(slow))
            if not head.get("ready"):
                return head, b""
            head = json.loads(self._read(timeout_s))
        body = self._read(None)  # always sent after the header (empty on errors)
        self.opens = int(head.get("opens", self.opens))
        return head, body

    async def ask_async(
        self, request: dict[str, Any], timeout_s: float
    ) -> tuple[dict[str, Any], bytes]:
        """`ask` for an event loop: waits for each answer on the loop (the pipe becoming
        readable) instead of in a thread; same frames, same limits, same kill."""
        import anyio.to_thread

        data = json.dumps(request).encode()
        try:
            if len(data) <= _INLINE_BYTES:
                # The worker has read every earlier request whole (it answered them), so
                # the pipe is empty and this fits: the write does not block.
                self.send.send_bytes(data)
            else:
                await anyio.to_thread.run_sync(self.send.send_bytes, data)
        except OSError:
            self.kill()
            raise _WorkerDied(self.proc.returncode) from None
        slow = float(request["wait_s"]) + 60.0
        head = json.loads(await self._read_async(timeout_s if self.answered else slow))
        self.answered = True
        if head.get("opening"):
            head = json.loads(await self._read_async(slow))
            if not head.get("ready"):
                return head, b""
            head = json.loads(await self._read_async(timeout_s))
        # The body was written with the header, in one write: a small one is in the pipe
        # already; a large one is still being written (the pipe holds 64 kB), so it is
        # read in a thread rather than with the loop blocked on the worker.
        size = head.get("size")
        if isinstance(size, int) and size <= _INLINE_BYTES:
            body = self._read(None)
        else:
            body = await anyio.to_thread.run_sync(self._read, None)
        self.opens = int(head.get("opens", self.opens))
        return head, body

    async def _read_async(self, wait_s: float | None) -> bytes:
        """The next message, waiting on the event loop at most ``wait_s`` (then the worker
        is killed: `subprocess.TimeoutExpired`). The messages read here are small JSON
        headers, each sent with one write, so once the pipe is readable it reads at once.

        On asyncio (the API's loop) with the loop's own reader and timer: anyio's portable
        wait (a cancel scope and its bookkeeping per wait) cost ~0.05 ms CPU more per
        query; elsewhere (trio) anyio's."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            import anyio

            with anyio.move_on_after(wait_s) as scope:
                await anyio.wait_readable(self.recv.fileno())
            readable = not scope.cancelled_caught
        else:
            fd = self.recv.fileno()
            done: asyncio.Future[bool] = loop.create_future()

            def settle(readable: bool) -> None:
                if not done.done():
                    done.set_result(readable)

            loop.add_reader(fd, settle, True)
            timer = loop.call_later(wait_s, settle, False) if wait_s is not None else None
            try:
                readable = await done  # a cancelled caller leaves here, the worker is killed
            finally:
                loop.remove_reader(fd)
                if timer is not None:
                    timer.cancel()
        if not readable:
            self.kill()
            raise subprocess.TimeoutExpired("sparql worker", wait_s or 0.0)
        return self._read(None)

    def kill(self) -> None:
        """Stop the process at once (a killed query holds nothing: its locks and RocksDB
        handles go with it) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for conn in (self.send, self.recv):
            with contextlib.suppress(OSError):
                conn.close()


class _QueryPool:
    """Up to ``size`` idle query workers, started once and reused.

    A query takes an idle worker or, when all are busy, starts another one (as many
    queries may run at once as before the pool existed); a worker that was killed (time
    limit) or died is replaced at once, so the next query does not pay the start.
    Workers beyond ``size`` are stopped when their query ends.
    """

    def __init__(self, view: OxigraphView, size: int) -> None:
        self._view = weakref.ref(view)
        self.size = max(1, size)
        self._idle: list[_QueryWorker] = []
        self._all: weakref.WeakSet[_QueryWorker] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(self.size):
            self._start()

    def _start(self) -> None:
        view = self._view()
        if view is None or self._closed:
            return
        worker = _QueryWorker(view)
        with self._lock:
            self._all.add(worker)
            self._idle.append(worker)

    def take(self) -> _QueryWorker:
        worker = self.take_idle()
        if worker is not None:
            return worker
        view = self._view()
        if view is None:
            raise StoreUnavailable("The RDF view was closed; open it again.")
        worker = _QueryWorker(view)
        with self._lock:
            self._all.add(worker)
        return worker

    def take_idle(self) -> _QueryWorker | None:
        """An idle live worker, or None (then `take` starts one: that may take a while)."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return None

    def give(self, worker: _QueryWorker, *, healthy: bool) -> None:
        """Take a worker back after a query (``healthy``: it answered and may be reused)."""
        keep = False
        with self._lock:
            if healthy and worker.alive() and not self._closed and len(self._idle) < self.size:
                self._idle.append(worker)
                keep = True
            replace = not healthy and not self._closed and len(self._idle) < self.size
        if not keep:
            worker.kill()
        if replace:
            self._start()

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(w.proc.pid for w in self._all if w.alive())

    def close(self) -> None:
        """Stop every worker (idle ones now, busy ones are killed with them)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
        for worker in workers:
            worker.kill()


def syntax_sentence(message: str, line_offset: int = 0) -> str:
    """A parser message as a sentence with line and column (``error at 3:15: ...``)."""
    text = " ".join(message.split())
    m = re.search(r"error at (\d+):(\d+):\s*(.*)", text)
    if m:
        line, col, what = int(m.group(1)) - line_offset, int(m.group(2)), m.group(3)
        if len(what) > 160:
            what = what[:160] + "..."
        return (
            f"The SPARQL query has a syntax error at line {line}, column {col}: {what}; "
            "fix the query and send it again."
        )
    return f"The SPARQL query has a syntax error ({text[:300]}); fix the query and send it again."


# ---------------------------------------------------------------------------------------
# Remote SPARQL 1.1 store
# ---------------------------------------------------------------------------------------


class RemoteView(RdfView):
    """A SPARQL 1.1 store over HTTP (Query, Update and Graph Store Protocol)."""

    kind = "remote"

    #: Largest response body read from the remote store for one researcher query.
    MAX_BYTES = 64_000_000

    def __init__(
        self,
        mapping: RdfMapping,
        *,
        query_url: str,
        update_url: str,
        gsp_url: str | None = None,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        import httpx

        super().__init__(mapping)
        self.query_url = query_url
        self.update_url = update_url
        self.gsp_url = gsp_url
        self._client = httpx.Client(auth=auth, timeout=timeout_s)
        self._httpx = httpx

    def _post(self, url: str, what: str, **kwargs: Any) -> Any:
        try:
            resp = self._client.post(url, **kwargs)
        except self._httpx.TimeoutException as e:
            raise QueryTimeout(f"The remote SPARQL store at {url} did not answer in time.") from e
        except self._httpx.HTTPError as e:
            raise StoreUnavailable(
                f"The remote SPARQL store at {url} cannot be reached ({e}); check "
                "IMPACT_GRAPH_RDF_URL and that the store is running."
            ) from e
        if resp.status_code in (401, 403):
            from impact_graph.store.port import StoreAuthError

            raise StoreAuthError(
                f"The remote SPARQL store at {url} refused the credentials (HTTP "
                f"{resp.status_code}); check IMPACT_GRAPH_RDF_USER and IMPACT_GRAPH_RDF_PASSWORD."
            )
        return resp

    def update(self, sparql_update: str, what: str) -> None:
        resp = self._post(
            self.update_url,
            what,
            content=sparql_update.encode(),
            headers={"Content-Type": "application/sparql-update; charset=utf-8"},
        )
        if resp.status_code >= 300:
            raise StoreError(
                f"The remote SPARQL store refused to write {what} (HTTP {resp.status_code}: "
                f"{' '.join(resp.text.split())[:300]})."
            )

    def _query_json(self, query: str, timeout_s: float | None = None) -> dict[str, Any]:
        resp = self._post(
            self.query_url,
            "query",
            data={"query": query},
            headers={"Accept": "application/sparql-results+json"},
            timeout=timeout_s,
        )
        if resp.status_code >= 300:
            raise StoreError(
                f"The remote SPARQL store failed a query (HTTP {resp.status_code}: "
                f"{' '.join(resp.text.split())[:300]})."
            )
        return resp.json()  # type: ignore[no-any-return]

    def select(self, query: str) -> list[dict[str, str]]:
        data = self._query_json(query)
        return [
            {k: v["value"] for k, v in b.items()}
            for b in data.get("results", {}).get("bindings", [])
        ]

    def quads(self, graphs: list[str] | None = None) -> Iterator[ox.Quad]:
        """Named graphs by Graph Store Protocol GET when an endpoint is configured (one
        plain N-Triples download per graph), else by a SELECT over the query endpoint."""
        if graphs is not None and self.gsp_url:
            for g in graphs:
                try:
                    resp = self._client.get(
                        self.gsp_url,
                        params={"graph": g},
                        headers={"Accept": "application/n-triples"},
                    )
                except self._httpx.HTTPError as e:
                    raise StoreUnavailable(
                        f"The remote graph store at {self.gsp_url} cannot be reached ({e})."
                    ) from e
                if resp.status_code == 404:
                    continue
                if resp.status_code >= 300:
                    raise StoreError(
                        f"The remote graph store refused to export {g} (HTTP "
                        f"{resp.status_code}); check IMPACT_GRAPH_RDF_GSP_URL."
                    )
                name = ox.NamedNode(g)
                for t in ox.parse(resp.content, format=ox.RdfFormat.N_TRIPLES):
                    yield ox.Quad(t.subject, t.predicate, t.object, name)
            return
        where = (
            "GRAPH ?g { ?s ?p ?o }"
            if graphs is None
            else "VALUES ?g { " + " ".join(f"<{g}>" for g in graphs) + " } GRAPH ?g { ?s ?p ?o }"
        )
        data = self._query_json(f"SELECT ?s ?p ?o ?g WHERE {{ {where} }}")
        raw = json.dumps(data).encode()
        for sol in ox.parse_query_results(raw, format=ox.QueryResultsFormat.JSON):
            yield ox.Quad(sol["s"], sol["p"], sol["o"], sol["g"])  # type: ignore[arg-type]

    def run_query(
        self,
        query: str,
        *,
        form: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
        media: str | None = None,
        out_prefixes: dict[str, str] | None = None,
    ) -> RawResult:
        # The remote store's answer is re-read here anyway (to cap it), so the endpoint
        # serialises it; ``media`` is not needed.
        header = " ".join(f"PREFIX {p}: <{iri}>" for p, iri in prefixes.items())
        text = f"{header}\n{query}" if header else query
        accept = "application/n-triples" if form == "graph" else "application/sparql-results+json"
        t0 = time.perf_counter()
        try:
            with self._client.stream(
                "POST",
                self.query_url,
                data={"query": text, "timeout": str(int(timeout_s * 1000))},
                headers={"Accept": accept},
                timeout=timeout_s + 1.0,
            ) as resp:
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.MAX_BYTES:
                        raise QueryRefused(
                            "The SPARQL query's result is larger than "
                            f"{self.MAX_BYTES // 1_000_000} MB; add a LIMIT or select fewer "
                            "variables."
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
        except self._httpx.TimeoutException:
            raise QueryTimeout(
                f"The SPARQL query ran longer than the time limit of {timeout_s:g} s and was "
                "stopped; narrow it (fewer unbound patterns, a LIMIT, no cross products)."
            ) from None
        except self._httpx.HTTPError as e:
            raise StoreUnavailable(
                f"The remote SPARQL store at {self.query_url} cannot be reached ({e})."
            ) from e
        elapsed = (time.perf_counter() - t0) * 1000
        if resp.status_code == 400:
            raise QuerySyntaxError(
                syntax_sentence(body.decode(errors="replace"), line_offset=1 if header else 0)
            )
        if resp.status_code in (503, 504) and b"imeout" in body:
            raise QueryTimeout(
                f"The SPARQL query ran longer than the time limit of {timeout_s:g} s and was "
                "stopped; narrow it (fewer unbound patterns, a LIMIT, no cross products)."
            )
        if resp.status_code >= 300:
            raise StoreError(
                f"The remote SPARQL store failed the query (HTTP {resp.status_code}: "
                f"{' '.join(body.decode(errors='replace').split())[:300]})."
            )
        if form == "graph":
            triples = []
            truncated = False
            for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
                if len(triples) >= row_cap:
                    truncated = True
                    break
                triples.append(t)
            nt = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode() if triples else ""
            return RawResult(
                "graph", ntriples=nt, truncated=truncated, row_cap=row_cap, elapsed_ms=elapsed
            )
        data = json.loads(body)
        if "boolean" in data:
            return RawResult(
                "ask", boolean=bool(data["boolean"]), row_cap=row_cap, elapsed_ms=elapsed
            )
        rows = data.get("results", {}).get("bindings", [])
        return RawResult(
            "select",
            vars=data.get("head", {}).get("vars", []),
            bindings=rows[:row_cap],
            truncated=len(rows) > row_cap,
            row_cap=row_cap,
            elapsed_ms=elapsed,
        )

    def close(self) -> None:
        self._client.close()


def open_view(settings: Any, schema: Any = None) -> RdfView | None:
    """The RDF view the settings ask for (``IMPACT_GRAPH_RDF``), None when 'off'."""
    if settings.rdf == "off":
        return None
    if schema is None:
        from impact_graph.ontology import load_schema

        schema = load_schema()
    mapping = RdfMapping(schema)
    if settings.rdf == "remote":
        base = (settings.rdf_url or "").rstrip("/")
        query_url = settings.rdf_query_url or (base + "/sparql" if base else None)
        update_url = settings.rdf_update_url or (base + "/update" if base else None)
        gsp_url = settings.rdf_gsp_url or (base + "/data" if base else None)
        if not query_url or not update_url:
            raise ValueError(
                "IMPACT_GRAPH_RDF=remote needs IMPACT_GRAPH_RDF_URL (the dataset URL, e.g. "
                "http://localhost:3030/impact) or both IMPACT_GRAPH_RDF_QUERY_URL and "
                "IMPACT_GRAPH_RDF_UPDATE_URL."
            )
        auth = None
        if settings.rdf_user:
            pw = settings.rdf_password.get_secret_value() if settings.rdf_password else ""
            auth = (settings.rdf_user, pw)
        return RemoteView(
            mapping, query_url=query_url, update_url=update_url, gsp_url=gsp_url, auth=auth
        )
    return OxigraphView(view_dir(settings), mapping, memory_mb=settings.rdf_query_memory_mb)


def view_dir(settings: Any) -> Path:
    """Directory of the embedded view: ``<data_dir>/rdf/<graph_name>``, one per graph, so
    two graphs in one data directory never share (or prune) each other's view."""
    return Path(settings.data_path) / "rdf" / settings.graph_name
