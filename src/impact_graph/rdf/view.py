"""The RDF view's stores: embedded Oxigraph on disk, or a remote SPARQL 1.1 store.

Both speak the same language to the rest of the code: a document is written as one
SPARQL Update request, which both Oxigraph and a remote store (Fuseki, GraphDB, ...) run
as one transaction, so a document is in the view whole or not at all:

1. delete from the default graph the triples of the document's old graph that no other
   graph holds (the default graph is the set union of all graphs, see ``mapping``);
2. ``DROP SILENT GRAPH <g>``;
3. ``INSERT DATA`` the new triples into ``<g>`` and into the default graph.

Delete is steps 1 and 2.

Embedded (`OxigraphView`, the default) -- why it opens the store per operation: an
Oxigraph (RocksDB) directory can be open read-write in one process only, yet the API
server and an ``impact-graph ingest`` in a terminal write the same data directory (the
graph store is shared through the FalkorDB server; the RDF view must be shared too).
So every write opens ``<data_dir>/rdf/<graph_name>/oxigraph`` under an exclusive ``flock``
and closes it again (measured: 0.03-0.06 s to open with 300k quads, 0.03 s per document update), and
readers open it read-only under a shared lock. Researcher queries run in a child process
(``impact_graph.rdf._worker``) that can be killed at the time limit, because pyoxigraph
cannot cancel a query.

rdflib's API was measured against this: rdflib has no RDF 1.2 triple terms (the edge
reifiers), and oxrdflib would only wrap the same store; so the view uses pyoxigraph
directly and rdflib only where a library needs it (pyshacl, GraphML/JSON-LD export).

Remote (`RemoteView`): SPARQL 1.1 Update for writes, the Query protocol for reads, the
Graph Store Protocol for exports. Any SPARQL 1.1 store works as is (no union-graph setting
is needed: the view maintains its default graph itself).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from impact_graph.model import GraphBatch, utc_now_iso
from impact_graph.rdf.mapping import PROV_DERIVED, RdfMapping
from impact_graph.store.port import (
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreError,
    StoreUnavailable,
)

#: How long a writer waits for readers (researcher queries) to let go of the store.
LOCK_WAIT_S = 60.0


@dataclass(slots=True)
class RawResult:
    """What a researcher query returned, already row-capped.

    ``form`` is ``select`` (``vars`` + ``bindings`` in SPARQL JSON term encoding),
    ``ask`` (``boolean``) or ``graph`` (CONSTRUCT/DESCRIBE as N-Triples text).
    """

    form: str
    vars: list[str] = field(default_factory=list)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    boolean: bool = False
    ntriples: str = ""
    truncated: bool = False
    row_cap: int = 0
    elapsed_ms: float = 0.0


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

    def document_hashes(self) -> dict[str, str]:
        """Document id -> content hash, as held by the view (what repairs compare)."""
        rows = self.select(
            f"SELECT ?g ?h WHERE {{ GRAPH ?g {{ ?d a <{self.mapping.document_class.value}> ; "
            f"<{self.mapping.content_hash_p.value}> ?h . ?g <{PROV_DERIVED.value}> ?d }} }}"
        )
        out = {}
        for r in rows:
            doc = self.mapping.doc_id_of_graph(r["g"])
            if doc is not None:
                out[doc] = r["h"]
        return out

    @abstractmethod
    def run_query(
        self,
        query: str,
        *,
        form: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
    ) -> RawResult:
        """Run a researcher query (already checked by `impact_graph.rdf.sparql`)."""

    @abstractmethod
    def quads(self, graphs: list[str] | None = None) -> Iterator[ox.Quad]:
        """All quads, or those of the named graphs ``graphs`` (export, validate)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


# ---------------------------------------------------------------------------------------
# Embedded Oxigraph
# ---------------------------------------------------------------------------------------


class OxigraphView(RdfView):
    """Oxigraph on disk in ``<data_dir>/rdf/``; safe to share between processes."""

    kind = "oxigraph"

    def __init__(self, directory: Path, mapping: RdfMapping, *, memory_mb: int = 2048) -> None:
        super().__init__(mapping)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "oxigraph"
        self.lock_path = self.directory / "oxigraph.lock"
        self.memory_mb = memory_mb
        if not (self.path / "CURRENT").exists():
            with self._open(write=True):
                pass  # create the database so read-only opens find it

    @contextlib.contextmanager
    def _open(self, *, write: bool) -> Iterator[ox.Store]:
        mode = fcntl.LOCK_EX if write else fcntl.LOCK_SH
        with open(self.lock_path, "a") as lock:
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    fcntl.flock(lock, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreUnavailable(
                            f"The RDF view in {self.directory} stayed busy for "
                            f"{LOCK_WAIT_S:.0f} s (a long SPARQL query or another writer); "
                            "retry in a moment."
                        ) from None
                    time.sleep(0.02)
            try:
                store = ox.Store(str(self.path)) if write else ox.Store.read_only(str(self.path))
            except OSError as e:
                raise StoreUnavailable(
                    f"The RDF view in {self.path} cannot be opened ({e}); check the "
                    "directory's permissions and free disk space."
                ) from e
            try:
                yield store
            finally:
                # flush() keeps the write-ahead log short: measured, reopening after 100
                # unflushed writes took 147-177 ms, after flushed ones 71-87 ms.
                if write:
                    store.flush()
                del store  # closes RocksDB before the lock is released

    def update(self, sparql_update: str, what: str) -> None:
        with self._open(write=True) as store:
            try:
                store.update(sparql_update)
            except (SyntaxError, OSError, ValueError) as e:
                raise StoreError(
                    f"The RDF view refused to write {what} ({e}); this is a bug in the RDF "
                    "mapping, please report it with the document."
                ) from e

    def select(self, query: str) -> list[dict[str, str]]:
        with self._open(write=False) as store:
            result = store.query(query)
            names = [v.value for v in result.variables]  # type: ignore[union-attr]
            return [
                {n: sol[n].value for n in names if sol[n] is not None}  # type: ignore[union-attr]
                for sol in result  # type: ignore[union-attr]
            ]

    def quads(self, graphs: list[str] | None = None) -> Iterator[ox.Quad]:
        with self._open(write=False) as store:
            if graphs is None:
                out = list(store.quads_for_pattern(None, None, None, None))
            else:
                out = [
                    q
                    for g in graphs
                    for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g))
                ]
        yield from out

    def run_query(
        self,
        query: str,
        *,
        form: str,
        prefixes: dict[str, str],
        timeout_s: float,
        row_cap: int,
    ) -> RawResult:
        request = {
            "path": str(self.path),
            "lock": str(self.lock_path),
            "query": query,
            "prefixes": prefixes,
            "row_cap": row_cap,
            "memory_mb": self.memory_mb,
        }
        src = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "impact_graph.rdf._worker"],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise QueryTimeout(
                f"The SPARQL query ran longer than the time limit of {timeout_s:g} s and was "
                "stopped; narrow it (fewer unbound patterns, a LIMIT, no cross products)."
            ) from None
        if proc.returncode != 0 or not proc.stdout:
            if proc.returncode == -11:
                raise QueryRefused(
                    "The SPARQL query crashed the query engine (too deeply nested or too "
                    "complex to parse) and was stopped; simplify it."
                )
            if proc.returncode in (-6, -9) or "memory" in proc.stderr.lower():
                raise QueryRefused(
                    f"The SPARQL query needed more than the {self.memory_mb} MB a query may "
                    "use and was stopped; narrow it or add a LIMIT."
                )
            raise StoreError(
                f"The SPARQL query worker failed (exit {proc.returncode}): "
                f"{proc.stderr.strip().splitlines()[-1:] or 'no output'}"
            )
        out = json.loads(proc.stdout)
        if not out.get("ok"):
            if out.get("error") == "syntax":
                raise QuerySyntaxError(syntax_sentence(out["message"]))
            if out.get("error") == "memory":
                raise QueryRefused(
                    f"The SPARQL query needed more than the {self.memory_mb} MB a query may "
                    "use and was stopped; narrow it or add a LIMIT."
                )
            raise StoreUnavailable(f"The RDF view could not be read: {out.get('message')}")
        return RawResult(
            form=out["form"],
            vars=out.get("vars", []),
            bindings=out.get("bindings", []),
            boolean=out.get("boolean", False),
            ntriples=out.get("ntriples", ""),
            truncated=out.get("truncated", False),
            row_cap=row_cap,
            elapsed_ms=out.get("elapsed_ms", 0.0),
        )


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
    ) -> RawResult:
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
