"""The ``neo4j`` GraphStore backend: Neo4j 5.26+ over Bolt with the official driver.

Neo4j dialect, kept here in one place:

* Schema: a uniqueness constraint on ``Node.id`` (every node carries ``BASE_LABEL``, so one
  index serves every lookup by id); per ontology label a vector index on ``embedding``
  (cosine), a fulltext index over its text properties with Lucene's ``dutch`` analyzer,
  and range indexes on its indexed properties. Names are derived from the labels
  (``vector_Chunk``, ``fulltext_Chunk``, ``range_Actor_kind``).
* Vector scores from ``db.index.vector.queryNodes`` are already (1 + cos) / 2 in [0, 1];
  fulltext (Lucene) scores are unbounded, so they are divided by the best score.
* Atomicity is a real transaction: one document's removal and re-write run in one
  ``execute_write`` unit of work, so readers see the old facts or the new, never a mix.
* A Document node lists the ids of its nodes (``_node_ids``, hidden from readers), so
  the delete path seeks them by id instead of walking edges, which missed a node the
  document wrote with no edge of its own but other documents link; a document written
  before the list is found by a scan of every node's ``sources``.
* Researcher queries run in a READ session with a server-side transaction timeout, after
  an ``EXPLAIN`` whose ``query_type`` and plan operators (LOAD CSV, procedure names,
  SHOW SETTINGS ...) decide whether they may run at all.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import neo4j
from neo4j import READ_ACCESS, GraphDatabase, ManagedTransaction
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConfigurationError,
    CypherSyntaxError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)
from neo4j.graph import Node as NeoNode
from neo4j.graph import Path as NeoPath
from neo4j.graph import Relationship as NeoRelationship
from neo4j.spatial import Point
from neo4j.time import Date as NeoDate
from neo4j.time import DateTime as NeoDateTime
from neo4j.time import Duration as NeoDuration
from neo4j.time import Time as NeoTime

from impact_graph.config import Settings
from impact_graph.model import (
    BASE_LABEL,
    DOC_NODES,
    SOURCES,
    SPANS,
    GraphBatch,
    Node,
    QueryResult,
    SearchHit,
    Subgraph,
    dedupe,
)
from impact_graph.queries.guard import ALLOWED_PROCEDURE_PREFIXES, NEO4J_PROCEDURES
from impact_graph.schema import Schema
from impact_graph.store.port import (
    GraphStore,
    IndexState,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreAuthError,
    StoreError,
    StoreStats,
    StoreUnavailable,
    WriteResult,
)

log = logging.getLogger(__name__)

EMBEDDING = "embedding"
#: Properties no reader is shown: vectors (large) and the delete path's list.
_HIDDEN = frozenset({EMBEDDING, DOC_NODES})
#: ``[k, value]`` pairs of node ``{v}``'s properties without `_HIDDEN`, computed in the
#: server (shipping a vector only to drop it costs the reply its size).
_KV = "[k IN keys({v}) WHERE NOT k IN ['" + "', '".join(sorted(_HIDDEN)) + "'] | [k, {v}[k]]]"
DOCUMENT_LABEL = "Document"
ROW_CHUNK = 1000  # rows per UNWIND statement (all statements share one transaction)
INDEX_WAIT_S = 300  # how long setup_schema waits for indexes to come ONLINE
#: Seconds past a read's time limit after which `Neo4jStore.read_query` stops waiting
#: and answers with the time-limit sentence.
LATE_GRACE_S = 1.0
#: Threads that run reads (`Neo4jStore.read_query`): a read its caller stopped waiting
#: for holds one until Neo4j ends it; past this many at once, reads queue.
_READ_WORKERS = concurrent.futures.ThreadPoolExecutor(
    max_workers=32, thread_name_prefix="neo4j-read"
)
NODE_ID_CONSTRAINT = "node_id_unique"
#: Properties a batch may not set through ``props``: the store owns them.
_RESERVED = frozenset({"id", SOURCES, SPANS, EMBEDDING, DOC_NODES})

#: Procedures a researcher query may call (``db.schema.*`` by prefix); the list lives
#: with the researcher-query guard, which checks both backends' names.
ALLOWED_PROCEDURES = frozenset(NEO4J_PROCEDURES)
#: SHOW commands a researcher may run (plan operator names); others reveal the server.
_ALLOWED_SHOW = frozenset({"ShowIndexes", "ShowConstraints", "ShowProcedures", "ShowFunctions"})

_BOLT_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRING_RE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.S)
_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_FORBIDDEN_NAME_RE = re.compile(
    r"\b(?:dbms|apoc\.(?:load|import|export|cypher|periodic|trigger|systemdb|log))\s*\.", re.I
)
_USE_RE = re.compile(r"^\s*(?:CYPHER\b[^\n]*?\s)?USE\s", re.I)
_LEADING_EXPLAIN_RE = re.compile(r"^\s*(?:EXPLAIN|PROFILE)\b", re.I)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_POSITION_RE = re.compile(r"\(line \d+, column \d+(?: \(offset: \d+\))?\)")

T = TypeVar("T")


def _ident(name: str) -> str:
    """Labels, types and property names come from the ontology; refuse anything that is
    not a plain identifier rather than quoting it into query text."""
    if not _IDENT_RE.match(name):
        raise ValueError(f"'{name}' is not a valid label, relationship type or property name")
    return name


def _class_label(labels: Sequence[str] | frozenset[str] | None) -> str:
    """The class label of a node: its (alphabetically first) label other than the base."""
    own = sorted(label for label in labels or () if label != BASE_LABEL)
    return own[0] if own else BASE_LABEL


def _plain(value: Any) -> Any:
    """Driver values -> JSON-friendly Python (no `_HIDDEN` property, datetimes as UTC ISO)."""
    if isinstance(value, NeoNode):
        return _node_dict(dict(value.items()), value.labels)
    if isinstance(value, NeoRelationship):
        return _rel_dict(value)
    if isinstance(value, NeoPath):
        return {
            "nodes": [_plain(n) for n in value.nodes],
            "edges": [_rel_dict(r) for r in value.relationships],
        }
    # Temporal and spatial values first: Duration and Point are tuple subclasses.
    if isinstance(value, NeoDateTime):
        value = value.to_native()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, NeoDate | NeoTime | date):
        return value.isoformat()
    if isinstance(value, NeoDuration):
        return value.iso_format()
    if isinstance(value, Point):
        return {"srid": value.srid, "coordinates": list(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in _HIDDEN}
    return value


def _node_dict(props: dict[str, Any], labels: Any) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in props.items() if k not in _HIDDEN}
    out["label"] = _class_label(labels)
    return out


def _rel_dict(rel: NeoRelationship) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in rel.items()}

    def end(n: NeoNode | None) -> Any:
        # Ends not returned by the query arrive as stubs without properties.
        return None if n is None else n.get("id", n.element_id)

    out.update(type=rel.type, source=end(rel.start_node), target=end(rel.end_node))
    return out


def _lucene_query(text: str) -> str:
    """User text -> a Lucene query that cannot be a syntax error.

    Only words survive (so no operator, quote or bracket reaches the parser), lower-cased
    so AND/OR/NOT are plain words. Words are OR-ed (a "what works" search ranks partial
    matches rather than dropping them), and words of 4+ letters also match as prefix,
    as in the FalkorDB backend, because Dutch stemming misses compounds and plurals
    ("taalmaatje" vs "taalmaatjes").
    """
    words = dedupe(w for w in _WORD_RE.findall(text.lower()) if w.strip("_"))[:32]
    return " ".join(f"{w} {w}*" if len(w) >= 4 else w for w in words)


def _vector(values: Sequence[float], what: str, dims: int | None) -> list[float]:
    vec = [float(x) for x in values]
    if dims is not None and len(vec) != dims:
        raise ValueError(f"{what} has {len(vec)} dimensions but the vector indexes hold {dims}")
    if not all(math.isfinite(x) for x in vec) or not any(vec):
        raise ValueError(f"{what} is zero or not finite, so it has no cosine similarity")
    return vec


def _check_props(owner: str, props: dict[str, Any]) -> dict[str, Any]:
    """Scalars and lists of scalars only (Neo4j holds no maps); drop store-owned keys."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key in _RESERVED:
            continue
        ok = value is None or isinstance(value, str | int | float | bool)
        if isinstance(value, list | tuple):
            ok = all(isinstance(v, str | int | float | bool) for v in value)
            value = list(value)
        if not ok:
            raise ValueError(
                f"property '{key}' of {owner} is a {type(value).__name__}; only scalars and "
                "lists of scalars can be stored"
            )
        out[key] = value
    return out


def _chunks(rows: list[T], size: int = ROW_CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


class Neo4jStore(GraphStore):
    """Neo4j behind the GraphStore port (see the module docstring for the dialect)."""

    backend = "neo4j"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.uri = settings.neo4j_uri
        self.user = settings.neo4j_user
        self.database = settings.neo4j_database
        self._dims: int | None = None
        self._verified = False
        scheme = self.uri.partition("://")[0].lower()
        if scheme not in _BOLT_SCHEMES:
            raise StoreUnavailable(
                f"IMPACT_GRAPH_NEO4J_URI '{self.uri}' is not a Bolt address; use e.g. "
                "bolt://127.0.0.1:7687 or neo4j://host:7687."
            )
        try:
            self.driver = GraphDatabase.driver(
                self.uri,
                auth=(self.user, settings.neo4j_password.get_secret_value()),
                connection_timeout=10,
                max_transaction_retry_time=15,
                # Researcher queries and our own produce harmless planner hints; keep
                # them out of the logs.
                notifications_min_severity="OFF",
                user_agent="impact-graph",
            )
        except (ValueError, ConfigurationError) as exc:
            raise StoreUnavailable(
                f"IMPACT_GRAPH_NEO4J_URI '{self.uri}' is not a Neo4j address ({exc}); use "
                "e.g. bolt://127.0.0.1:7687 or neo4j://host:7687."
            ) from exc

    # -- plumbing ------------------------------------------------------------------------

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(
            f"Neo4j at {self.uri} does not answer: is it running? Start it with "
            "`docker compose up -d neo4j` or set IMPACT_GRAPH_NEO4J_URI ({})".format(
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            )
        )

    def _auth_error(self, exc: BaseException) -> StoreAuthError:
        return StoreAuthError(
            f"Neo4j at {self.uri} refused user '{self.user}': check "
            "IMPACT_GRAPH_NEO4J_USER and IMPACT_GRAPH_NEO4J_PASSWORD."
        )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn connection and credential failures into the port's errors."""
        try:
            yield
        except AuthError as exc:
            raise self._auth_error(exc) from exc
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise self._unavailable(exc) from exc
        except ClientError as exc:
            if exc.code and "Security.Unauthorized" in exc.code:
                raise self._auth_error(exc) from exc
            if exc.code and "Database.DatabaseNotFound" in exc.code:
                raise StoreUnavailable(
                    f"Neo4j at {self.uri} has no database '{self.database}': create it or set "
                    "IMPACT_GRAPH_NEO4J_DATABASE."
                ) from exc
            raise

    def _connect(self) -> None:
        if not self._verified:
            with self._errors():
                self.driver.verify_connectivity()
            self._verified = True

    def _read(self, query: str, params: dict[str, Any] | None = None) -> list[neo4j.Record]:
        self._connect()
        with self._errors():
            records, _, _ = self.driver.execute_query(
                query,
                params or {},
                database_=self.database,
                routing_=neo4j.RoutingControl.READ,
            )
        return records

    def _write(self, query: str, params: dict[str, Any] | None = None) -> list[neo4j.Record]:
        self._connect()
        with self._errors():
            records, _, _ = self.driver.execute_query(query, params or {}, database_=self.database)
        return records

    def _in_write_tx(self, work: Callable[[ManagedTransaction], T]) -> T:
        self._connect()
        with self._errors(), self.driver.session(database=self.database) as session:
            return session.execute_write(work)

    # -- schema --------------------------------------------------------------------------

    def setup_schema(self, schema: Schema) -> None:
        """Create constraints and indexes from the ontology.

        Idempotent and cheap when nothing changed (one SHOW INDEXES); an index whose
        definition changed (other fulltext properties or analyzer, other vector
        dimensions) is dropped and rebuilt.
        """
        self._dims = schema.vector_dimensions
        existing = {
            r["name"]: r
            for r in self._read(
                "SHOW INDEXES YIELD name, properties, options RETURN name, properties, options"
            )
        }
        # (name, CREATE statement, parameters, the existing index still fits)
        wanted: list[tuple[str, str, dict[str, Any], bool]] = [
            (
                NODE_ID_CONSTRAINT,
                f"CREATE CONSTRAINT {NODE_ID_CONSTRAINT} IF NOT EXISTS "
                f"FOR (n:{BASE_LABEL}) REQUIRE n.id IS UNIQUE",
                {},
                True,
            )
        ]

        def config(name: str) -> dict[str, Any]:
            return dict(((existing[name].get("options") or {}).get("indexConfig")) or {})

        for label in schema.vector_labels:
            name = f"vector_{_ident(label)}"
            opts = {
                "vector.dimensions": schema.vector_dimensions,
                "vector.similarity_function": "cosine",
            }
            fits = name in existing and (
                config(name).get("vector.dimensions") == schema.vector_dimensions
                and str(config(name).get("vector.similarity_function")).lower() == "cosine"
            )
            wanted.append(
                (
                    name,
                    f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) "
                    f"ON n.{EMBEDDING} OPTIONS $options",
                    {"options": {"indexConfig": opts}},
                    fits,
                )
            )
        for label, props in schema.fulltext_labels.items():
            name = f"fulltext_{_ident(label)}"
            fits = name in existing and (
                list(existing[name]["properties"] or []) == list(props)
                and config(name).get("fulltext.analyzer") == "dutch"
            )
            on = ", ".join(f"n.{_ident(p)}" for p in props)
            wanted.append(
                (
                    name,
                    f"CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR (n:{label}) "
                    f"ON EACH [{on}] OPTIONS $options",
                    {"options": {"indexConfig": {"fulltext.analyzer": "dutch"}}},
                    fits,
                )
            )
        for cls in schema.node_classes:
            for prop in cls.properties:
                if prop.indexed and prop.name != "id":  # id: the Node constraint covers it
                    name = f"range_{_ident(cls.label)}_{_ident(prop.name)}"
                    wanted.append(
                        (
                            name,
                            f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{cls.label}) "
                            f"ON (n.{prop.name})",
                            {},
                            name in existing,
                        )
                    )
        for name, create, params, fits in wanted:
            if name in existing and fits:
                continue
            try:
                if name in existing:
                    self._write(f"DROP INDEX {name} IF EXISTS")
                self._write(create, params)
            except Neo4jError as exc:
                raise StoreError(
                    f"Neo4j refused the schema statement {create!r}: {exc.message}"
                ) from exc
        self._await_indexes()

    def _await_indexes(self) -> None:
        """Wait (bounded) until every index is ONLINE; fail on a FAILED one."""
        deadline = time.monotonic() + INDEX_WAIT_S
        while True:
            states = self._index_states()
            failed = [i.name for i in states if i.state == "failed"]
            if failed:
                raise StoreError(
                    f"Neo4j could not build the indexes {', '.join(failed)}: see its "
                    "debug.log, then drop them (DROP INDEX name) and run setup again."
                )
            pending = [i.name for i in states if i.state != "online"]
            if not pending:
                return
            if time.monotonic() > deadline:
                log.warning(
                    "Neo4j indexes %s are still %s after %d s; they finish in the background",
                    ", ".join(pending),
                    "populating",
                    INDEX_WAIT_S,
                )
                return
            time.sleep(0.2)

    def _index_states(self) -> list[IndexState]:
        rows = self._read(
            "SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state "
            "WHERE type IN ['RANGE', 'FULLTEXT', 'VECTOR', 'TEXT', 'POINT'] "
            "RETURN name, type, labelsOrTypes, properties, state ORDER BY name"
        )
        return [
            IndexState(
                name=r["name"],
                label=",".join(r["labelsOrTypes"] or []),
                kind=str(r["type"]).lower(),
                properties=list(r["properties"] or []),
                state=str(r["state"]).lower(),
            )
            for r in rows
        ]

    def _vector_dims(self) -> int | None:
        """Dimensions of the vector indexes (from setup_schema or the server)."""
        if self._dims is None:
            rows = self._read("SHOW VECTOR INDEXES YIELD options RETURN options LIMIT 1")
            if rows:
                dims = (rows[0]["options"] or {}).get("indexConfig", {}).get("vector.dimensions")
                self._dims = int(dims) if dims else None
        return self._dims

    # -- writing -------------------------------------------------------------------------

    def document_hashes(self) -> dict[str, str]:
        rows = self._read(
            f"MATCH (d:{DOCUMENT_LABEL}:{BASE_LABEL}) RETURN d.id AS id, d.content_hash AS h"
        )
        return {r["id"]: str(r["h"] or "") for r in rows}

    @staticmethod
    def _scanned_nodes(tx: ManagedTransaction, doc_id: str) -> list[str]:
        """Every node whose ``sources`` hold ``doc_id``: the fallback for a document whose
        Document node has no ``DOC_NODES`` list (written before the store kept one).

        A label scan: no Neo4j index answers "lists holding this value". It is the only
        way to find a node the document wrote without an edge of its own that another
        document links (a front-matter programme or author named nowhere in the text);
        the walk along the document's edges this replaced missed such nodes.

        Measured at 93,168 nodes / 177,816 relationships (20 documents, each removed in a
        rolled-back transaction, 2 rounds, load ~12): server CPU per removal 43 ms by
        the list, 111 ms by this scan, 72 ms by the old walk plus no-relationship scan.
        Only a document written before the list pays it, once.
        """
        rows = tx.run(
            f"MATCH (n:{BASE_LABEL}) WHERE $doc IN n.{SOURCES} RETURN n.id AS id", doc=doc_id
        )
        return [r["id"] for r in rows]

    @classmethod
    def _remove_document(cls, tx: ManagedTransaction, doc_id: str) -> bool:
        """Strip ``doc_id`` from all provenance, delete what nothing else supports, and
        delete the Document node and its chunks. Returns whether the document existed.

        The document's nodes are the Document node and the ids in its ``DOC_NODES`` list
        (written with it, in the same transaction, so never stale), each found by the
        ``Node.id`` constraint's index; every edge of a document joins two nodes of that
        document (GraphBatch.validate), so their edges are all of its edges. A document
        without the list (written by earlier code) is found by `_scanned_nodes`.
        """
        p = {"doc": doc_id, "prefix": doc_id + "#"}
        strip = "SET {v}.sources = [s IN {v}.sources WHERE s <> $doc] "
        # Edges keep their sentence spans; nodes keep none (see upsert_batch).
        strip_spans = "SET e.spans = [s IN coalesce(e.spans, []) WHERE NOT s STARTS WITH $prefix] "
        rec = tx.run(f"MATCH (d:{BASE_LABEL} {{id: $doc}}) RETURN d.{DOC_NODES} AS ids", p).single()
        if rec is None:
            return False
        listed = rec["ids"]
        ids = [doc_id, *listed] if listed is not None else cls._scanned_nodes(tx, doc_id)
        for chunk in _chunks(ids):
            tx.run(
                f"UNWIND $ids AS id MATCH (n:{BASE_LABEL} {{id: id}})-[e]-() "
                f"WHERE $doc IN e.{SOURCES} "
                "WITH DISTINCT e "
                + strip.format(v="e")
                + strip_spans
                + "WITH e WHERE size(e.sources) = 0 "
                "DELETE e",
                {**p, "ids": chunk},
            ).consume()
        for chunk in _chunks(ids):
            tx.run(
                f"UNWIND $ids AS id MATCH (n:{BASE_LABEL} {{id: id}}) WHERE $doc IN n.{SOURCES} "
                + strip.format(v="n")
                + "WITH n WHERE size(n.sources) = 0 DETACH DELETE n",
                {**p, "ids": chunk},
            ).consume()
        tx.run(
            f"MATCH (d:{BASE_LABEL} {{id: $doc}}) OPTIONAL MATCH (d)-[:HAS_CHUNK]->(c) "
            "DETACH DELETE c, d",
            p,
        ).consume()
        return True

    def _node_rows(self, batch: GraphBatch) -> dict[str, list[dict[str, Any]]]:
        dims = self._vector_dims()
        by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for n in batch.all_nodes():
            by_label[_ident(n.label)].append(self._node_row(n, dims))
        return by_label

    @staticmethod
    def _node_row(n: Node, dims: int | None) -> dict[str, Any]:
        return {
            "id": n.id,
            "props": _check_props(f"node {n.id}", n.props),
            "embedding": None
            if n.vector is None
            else _vector(n.vector, f"the vector of node {n.id}", dims),
        }

    def upsert_batch(self, batch: GraphBatch) -> WriteResult:
        batch.validate()
        doc = batch.doc_id
        nodes = self._node_rows(batch)
        # The Document node lists its nodes for the delete path (`_remove_document`);
        # written with it, in this transaction. `_check_props` keeps a batch from setting it.
        for row in nodes[_ident(batch.document.label)]:
            if row["id"] == doc:
                row["props"][DOC_NODES] = [n.id for n in batch.nodes]
        edges: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in batch.edges:
            edges[_ident(e.type)].append(
                {
                    "src": e.src,
                    "dst": e.dst,
                    "key": e.key,
                    "props": _check_props(f"edge {e.src} -[{e.type}]-> {e.dst}", e.props),
                    "spans": dedupe(e.spans),
                }
            )
        # Provenance: both nodes and edges list their documents (``sources``); only edges
        # list sentence spans. An entity's spans are those of its incoming MENTIONS edges
        # (as on FalkorDB: a shared node's spans list grew with every sentence naming it).
        add_source = (
            "SET {v}.sources = CASE WHEN $doc IN coalesce({v}.sources, []) THEN {v}.sources "
            "ELSE coalesce({v}.sources, []) + $doc END "
        )
        add_spans = (
            "SET e.spans = coalesce(e.spans, []) + "
            "[s IN row.spans WHERE NOT s IN coalesce(e.spans, [])] "
        )

        def work(tx: ManagedTransaction) -> WriteResult:
            rec = tx.run(
                f"MATCH (d:{BASE_LABEL} {{id: $doc}}) RETURN d.content_hash AS h", doc=doc
            ).single()
            if rec is not None and batch.content_hash and rec["h"] == batch.content_hash:
                return WriteResult(doc_id=doc, skipped=True)
            if rec is not None:  # a new document has no previous facts to remove
                self._remove_document(tx, doc)
            n_nodes = n_edges = 0
            for label, rows in nodes.items():
                for chunk in _chunks(rows):
                    tx.run(
                        f"UNWIND $rows AS row MERGE (n:{BASE_LABEL} {{id: row.id}}) "
                        f"SET n:{label} SET n += row.props "
                        + add_source.format(v="n")
                        # An entity's vector is set once, by the write that made the
                        # node (see falkordb_store._VECTOR_SEGMENT for why).
                        + f"WITH n, row WHERE row.embedding IS NOT NULL AND n.{EMBEDDING} "
                        "IS NULL "
                        f"CALL db.create.setNodeVectorProperty(n, '{EMBEDDING}', row.embedding)",
                        rows=chunk,
                        doc=doc,
                    ).consume()
                    n_nodes += len(chunk)
            for type_, rows in edges.items():
                for chunk in _chunks(rows):
                    n_edges += tx.run(
                        f"UNWIND $rows AS row MATCH (a:{BASE_LABEL} {{id: row.src}}) "
                        f"MATCH (b:{BASE_LABEL} {{id: row.dst}}) "
                        f"MERGE (a)-[e:{type_} {{key: row.key}}]->(b) SET e += row.props "
                        + add_source.format(v="e")
                        + add_spans
                        + "RETURN count(e) AS c",
                        rows=chunk,
                        doc=doc,
                    ).single(strict=True)["c"]
            return WriteResult(doc_id=doc, nodes=n_nodes, edges=n_edges)

        try:
            return self._in_write_tx(work)
        except Neo4jError as exc:
            raise StoreError(
                f"Neo4j refused to write {doc} (nothing was written): {exc.message}"
            ) from exc

    def delete_document(self, doc_id: str) -> bool:
        try:
            return self._in_write_tx(lambda tx: self._remove_document(tx, doc_id))
        except Neo4jError as exc:
            raise StoreError(
                f"Neo4j refused to delete {doc_id} (nothing was deleted): {exc.message}"
            ) from exc

    # -- search --------------------------------------------------------------------------

    def _search(self, kind: str, label: str, query: str, params: dict[str, Any]) -> list[SearchHit]:
        try:
            rows = self._read(query, params)
        except ClientError as exc:
            msg = exc.message or ""
            if "no such" in msg.lower() or "not found" in msg.lower() or "index" in msg.lower():
                raise StoreError(
                    f"Neo4j has no usable {kind} index for '{label}' ({msg.splitlines()[0]}); "
                    "run `impact-graph db setup` or pick a label the ontology indexes."
                ) from exc
            raise StoreError(f"Neo4j {kind} search on '{label}' failed: {msg}") from exc
        return [
            SearchHit(
                id=r["id"],
                label=_class_label(r["labels"]),
                score=float(r["score"]),
                props=_node_dict(dict(r["kv"]), r["labels"]),
            )
            for r in rows
        ]

    _HIT_RETURN = (
        "RETURN node.id AS id, labels(node) AS labels, score, " + _KV.format(v="node") + " AS kv"
    )

    def _hit_return(self, props: Sequence[str] | None, params: dict[str, Any]) -> str:
        """``_HIT_RETURN``, or with only the properties in ``$props`` when asked."""
        if props is None:
            return self._HIT_RETURN
        params["props"] = list(dict.fromkeys(["id", *props]))
        return (
            "RETURN node.id AS id, labels(node) AS labels, score, "
            "[k IN $props WHERE node[k] IS NOT NULL | [k, node[k]]] AS kv"
        )

    def vector_search(
        self,
        label: str,
        vector: Sequence[float],
        k: int = 10,
        *,
        props: Sequence[str] | None = None,
    ) -> list[SearchHit]:
        if k <= 0:
            return []
        vec = _vector(vector, "the query vector", self._vector_dims())
        params: dict[str, Any] = {"index": f"vector_{_ident(label)}", "k": int(k), "vector": vec}
        returned = self._hit_return(props, params)
        hits = self._search(
            "vector",
            label,
            "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score " + returned,
            params,
        )
        for h in hits:
            h.score = min(1.0, max(0.0, h.score))
        return hits

    def fulltext_search(
        self, label: str, text: str, k: int = 10, *, props: Sequence[str] | None = None
    ) -> list[SearchHit]:
        query = _lucene_query(text)
        if k <= 0 or not query.strip():
            return []
        params: dict[str, Any] = {"index": f"fulltext_{_ident(label)}", "q": query, "k": int(k)}
        returned = self._hit_return(props, params)
        hits = self._search(
            "fulltext",
            label,
            "CALL db.index.fulltext.queryNodes($index, $q, {limit: $k}) YIELD node, score "
            + returned,
            params,
        )
        best = max((h.score for h in hits), default=0.0)
        for h in hits:
            h.score = h.score / best if best > 0 else 0.0
        return hits

    # -- traversal -----------------------------------------------------------------------

    def get_nodes(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        rows = self._read(
            f"UNWIND $ids AS i MATCH (n:{BASE_LABEL} {{id: i}}) "
            "RETURN labels(n) AS labels, " + _KV.format(v="n") + " AS kv",
            {"ids": wanted},
        )
        return [_node_dict(dict(r["kv"]), r["labels"]) for r in rows]

    def neighbourhood(self, node_id: str, hops: int = 1, limit: int = 500) -> Subgraph:
        """Nearest nodes first (BFS per hop), so a ``limit`` keeps the closest ones."""
        if limit <= 0:
            return Subgraph()
        if not self._read(f"MATCH (n:{BASE_LABEL} {{id: $id}}) RETURN n.id", {"id": node_id}):
            return Subgraph()
        seen = [node_id]
        frontier = [node_id]
        for _ in range(max(0, hops)):
            if not frontier or len(seen) >= limit:
                break
            rows = self._read(
                f"MATCH (a:{BASE_LABEL})--(b:{BASE_LABEL}) WHERE a.id IN $f AND NOT b.id IN $seen "
                "RETURN DISTINCT b.id AS id LIMIT $n",
                {"f": frontier, "seen": seen, "n": limit - len(seen)},
            )
            frontier = [r["id"] for r in rows]
            seen.extend(frontier)
        rows = self._read(
            f"MATCH (a:{BASE_LABEL})-[e]->(b:{BASE_LABEL}) WHERE a.id IN $ids AND b.id IN $ids "
            "RETURN a.id AS s, type(e) AS t, b.id AS d, properties(e) AS p",
            {"ids": seen},
        )
        edges = [
            {**_plain(r["p"]), "source": r["s"], "type": r["t"], "target": r["d"]} for r in rows
        ]
        return Subgraph(nodes=self.get_nodes(seen), edges=edges)

    # -- researcher queries --------------------------------------------------------------

    @staticmethod
    def _refuse(what: str) -> QueryRefused:
        allowed = ", ".join([*sorted(ALLOWED_PROCEDURES), "db.schema.*"])
        return QueryRefused(
            f"{what} is not allowed: researcher queries only read the graph (MATCH ... "
            f"RETURN, with the procedures {allowed})."
        )

    def _check_text(self, query: str) -> None:
        """Cheap checks on the text (outside string literals and comments)."""
        bare = _COMMENT_RE.sub(" ", _STRING_RE.sub("''", query))
        if re.search(r"\bLOAD\s+CSV\b", bare, re.I):
            raise self._refuse("LOAD CSV")
        m = _FORBIDDEN_NAME_RE.search(bare.replace("`", ""))
        if m:
            raise self._refuse(f"Calling {m.group(0).rstrip('. ')}.*")
        if _USE_RE.match(_LEADING_EXPLAIN_RE.sub("", bare)):
            raise self._refuse("Switching databases with USE")

    def _check_plan(self, summary: neo4j.ResultSummary) -> None:
        """The EXPLAIN plan is the authority: query type, operators and procedure names."""
        if summary.query_type != "r":
            raise self._refuse("A query that writes or changes the schema")
        stack = [summary.plan or {}]
        while stack:
            op = stack.pop()
            stack.extend(op.get("children", []))
            name = str(op.get("operatorType", "")).split("@")[0]
            details = str((op.get("args") or {}).get("Details", ""))
            if name == "LoadCSV":
                raise self._refuse("LOAD CSV")
            if name.startswith("Show") and name not in _ALLOWED_SHOW:
                raise self._refuse(f"The command behind {name}")
            if name.startswith("Terminate"):  # TERMINATE TRANSACTIONS plans as a read
                raise self._refuse("Terminating transactions")
            if name == "ProcedureCall":
                proc = details.split("(")[0].strip().replace("`", "")
                if proc not in ALLOWED_PROCEDURES and not proc.startswith(
                    ALLOWED_PROCEDURE_PREFIXES
                ):
                    raise self._refuse(f"The procedure {proc}")

    def _query_error(self, exc: Neo4jError, timeout_s: float) -> StoreError:
        code = exc.code or ""
        msg = (exc.message or str(exc)).strip()
        first = msg.splitlines()[0] if msg else code
        if isinstance(exc, CypherSyntaxError) or code.endswith("Statement.SyntaxError"):
            return QuerySyntaxError(f"The Cypher query has a syntax error: {first}")
        if "TransactionTimedOut" in code or "Terminated" in code or "terminated" in msg:
            return QueryTimeout(
                f"The query stopped after {timeout_s:g} s; add a LIMIT or narrow the MATCH."
            )
        if "OutOfMemoryError" in code:  # the transaction's memory pool, or the heap
            return QueryRefused(
                "The query needed more memory than one transaction may use (Neo4j's "
                "db.memory.transaction.max, or its heap); sort or aggregate fewer rows at "
                "once (ORDER BY or collect() over a cartesian product, a reduce() that "
                "builds a huge string) or add a LIMIT before the ORDER BY."
            )
        if code.endswith("Statement.AccessMode") or code.startswith("Neo.ClientError.Security"):
            return self._refuse("A query that writes")
        if "ProcedureNotFound" in code:
            return QuerySyntaxError(f"Unknown procedure: {first}")
        if code.startswith("Neo.ClientError.Statement"):
            return QuerySyntaxError(f"Neo4j could not run the query: {first}")
        return StoreError(f"Neo4j could not run the query: {first}")

    def read_query(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 5.0,
        row_cap: int = 1000,
    ) -> QueryResult:
        """`_read_query` in a worker thread, waited for up to the time limit plus
        `LATE_GRACE_S`; past that, the time-limit sentence.

        Why: Neo4j looks at a transaction's time limit between rows, not inside one
        expression, so a regular expression over a long value runs on past it: measured
        on Neo4j 5.26 (load 15-17 on 2 cores), ``RETURN $s =~ '.*a.*b'`` over 20,000
        characters with a 1 s transaction limit ran 4.4-4.8 s and then returned its
        answer (false), not a timeout -- the limit does not stop it at all (H48: 10.2 s
        under 5 s, commit 25c0063). No check of the text can know a value's length
        before it runs, so the caller is answered at the limit instead; the worker ends with the
        server's own answer and gives its session back to the pool (nothing is leaked,
        the server still works until it ends the query)."""
        future = _READ_WORKERS.submit(self._read_query, query, params, timeout_s, row_cap)
        try:
            return future.result(timeout=timeout_s + LATE_GRACE_S)
        except concurrent.futures.TimeoutError:
            future.cancel()  # not started yet (every worker busy): never runs
            raise QueryTimeout(
                f"The query stopped after {timeout_s:g} s; add a LIMIT or narrow the MATCH."
            ) from None

    def _read_query(
        self, query: str, params: dict[str, Any] | None, timeout_s: float, row_cap: int
    ) -> QueryResult:
        self._check_text(query)
        self._connect()
        params = params or {}
        started = time.perf_counter()
        rows: list[list[Any]] = []
        truncated = False
        try:
            with (
                self._errors(),
                self.driver.session(
                    database=self.database,
                    default_access_mode=READ_ACCESS,
                    fetch_size=max(1, min(row_cap + 1, 1000)),
                ) as session,
            ):
                explain = _LEADING_EXPLAIN_RE.sub("", query, count=1)
                self._check_plan(session.run("EXPLAIN " + explain, params).consume())
                # An explicit transaction: rolling it back stops the server at once when
                # the cap is reached, and the timeout applies server-side.
                with session.begin_transaction(timeout=timeout_s) as tx:
                    result = tx.run(query, params)
                    columns = list(result.keys())
                    for record in result:
                        if len(rows) >= row_cap:
                            truncated = True
                            break
                        rows.append([_plain(v) for v in record.values()])
                    tx.rollback()
        except QueryRefused:
            raise
        except Neo4jError as exc:
            raise self._query_error(exc, timeout_s) from exc
        except DriverError as exc:
            raise self._unavailable(exc) from exc
        return QueryResult(
            columns=columns,
            rows=rows,
            truncated=truncated,
            row_cap=row_cap,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    # -- admin ---------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        st = StoreStats(backend=self.backend)
        labels = [r["label"] for r in self._read("CALL db.labels() YIELD label RETURN label")]
        types = [
            r["t"]
            for r in self._read("CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t")
        ]
        # One round trip; each count comes from Neo4j's count store, not a scan.
        parts = [
            f"MATCH (n:`{label.replace('`', '``')}`) RETURN 'n' AS k, $n{i} AS name, count(n) AS c"
            for i, label in enumerate(labels)
            if label != BASE_LABEL
        ] + [
            f"MATCH ()-[r:`{t.replace('`', '``')}`]->() RETURN 'r' AS k, $r{i} AS name, "
            "count(r) AS c"
            for i, t in enumerate(types)
        ]
        params = {f"n{i}": label for i, label in enumerate(labels)}
        params.update({f"r{i}": t for i, t in enumerate(types)})
        if parts:
            for r in self._read(" UNION ALL ".join(parts), params):
                if r["c"]:
                    (st.nodes if r["k"] == "n" else st.relationships)[r["name"]] = int(r["c"])
        st.documents = st.nodes.get(DOCUMENT_LABEL, 0)
        st.indexes = self._index_states()
        return st

    def clear(self) -> None:
        self._connect()
        with self._errors(), self.driver.session(database=self.database) as session:
            # Batched so a big graph does not need one huge transaction.
            session.run(
                "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
            ).consume()

    def maintain(self, progress: Callable[[str], None] | None = None) -> list[str]:
        """Nothing is ever due: Neo4j's vector (Lucene HNSW) index drops a deleted
        node's vector itself, so recall after deletes holds without a rebuild
        (tests/test_vector_recall_after_deletes.py passed on Neo4j unchanged)."""
        return []

    def close(self) -> None:
        self.driver.close()
