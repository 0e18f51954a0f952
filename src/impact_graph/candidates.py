"""Candidate entities for review: names the extractor found that no vocabulary knows.

The extractor stores such a name as a node with ``status`` ``candidate`` so new
interventions and organisations are not lost; a programme manager then needs to see
them, most-mentioned first, to decide which deserve a vocabulary entry.

Everything here is computed when it is read, from what the graph already holds: the
number of documents is the size of the node's ``sources`` list and the number of mentions
is the count of incoming ``MENTIONS`` edges. The node's stored ``mention_count`` is not
used: on a node shared by several documents it holds the account of whichever document
was written last (see ``ig:mention_count`` in ``ontology/impact.ttl``), and keeping a
running total on write would add work to every write of a shared node, whose cost growth
is already the write path's known problem.

One plain Cypher query that both backends run through the port's read-only
``read_query``, plus one for the sample documents' titles, shared by the CLI
(``impact-graph candidates``) and the API (``GET /candidates``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from impact_graph.ingest import resolve
from impact_graph.schema import Schema
from impact_graph.store.port import GraphStore

#: The status the extractor gives a name that no vocabulary knows.
CANDIDATE = "candidate"
#: Most rows one listing returns.
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate entity, as a reviewer sees it."""

    id: str
    label: str  # ontology class, e.g. "Intervention"
    label_nl: str  # its Dutch rdfs:label, e.g. "Interventie"
    name: str
    aliases: list[str] = field(default_factory=list)
    documents: int = 0  # size of ``sources``
    mentions: int = 0  # incoming MENTIONS edges, over all documents
    sample_document: str = ""  # id of one document that mentions it
    sample_title: str = ""  # that document's title

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The columns of a listing, in order (CSV headers even when no row comes).
COLUMNS = [f.name for f in fields(Candidate)]


def stored_documents(store: GraphStore) -> int:
    """How many documents the store holds: tells an empty store apart from filters that
    leave no candidate, in the CLI's and the API's sentence alike."""
    rows = store.read_query("MATCH (d:Document) RETURN count(d)", {}, row_cap=1).rows
    return int(rows[0][0] or 0) if rows else 0


def candidate_labels(schema: Schema) -> list[str]:
    """Classes whose nodes can be candidates: those the ontology gives a mention count
    (the classes texts mention), derived rather than listed so a new class joins by itself."""
    return [
        c.label for c in schema.node_classes if any(p.name == "mention_count" for p in c.properties)
    ]


def resolve_label(schema: Schema, value: str, parameter: str = "--label") -> str:
    """The ontology class that ``value`` names: its class name or its Dutch or English
    label, in any case. Unknown values raise a ValueError naming ``parameter`` and the
    allowed values, so the CLI and the API answer with the same sentence."""
    wanted = value.strip().casefold()
    allowed = candidate_labels(schema)
    for c in schema.node_classes:
        if c.label not in allowed:
            continue
        if wanted in {c.label.casefold(), c.label_nl.casefold(), c.label_en.casefold()}:
            return c.label
    shown = ", ".join(
        f"{c.label} ({c.label_nl})" for c in schema.node_classes if c.label in allowed
    )
    raise ValueError(
        f"{parameter} '{value}' is not a class whose entities can be candidates; "
        f"use one of: {shown}."
    )


#: How a listing may be ordered: the first key, then the others as tie-breakers.
ORDERS = {
    "documents": "docs DESC, mentions DESC, n.name, n.id",
    "mentions": "mentions DESC, docs DESC, n.name, n.id",
    "name": "toLower(n.name), n.id",
}


def _filtered(
    schema: Schema, label: str | None, min_documents: int, min_mentions: int
) -> tuple[str, dict[str, Any], list[str]]:
    """The Cypher head shared by the count, the per-class count and the rows: candidates
    of the wanted classes with at least ``min_documents`` sources, as ``n``, ``docs``
    and (when ``min_mentions`` asks for it, else later) ``mentions``; its parameters; and
    the allowed classes. Counting mentions costs a MENTIONS scan per candidate, so the
    head only does it when the filter needs it."""
    if min_documents < 0:
        raise ValueError("--min-documents must be 0 or more.")
    if min_mentions < 0:
        raise ValueError("--min-mentions must be 0 or more.")
    allowed = candidate_labels(schema)
    labels = [resolve_label(schema, label)] if label else allowed
    # The label is one of the ontology's class names (checked above), never user text.
    match = "MATCH (n:Node) WHERE any(l IN labels(n) WHERE l IN $labels) AND"
    if label:
        match = f"MATCH (n:{labels[0]}) WHERE"
    params: dict[str, Any] = {
        "labels": labels,
        "status": CANDIDATE,
        "min_docs": min_documents,
        "min_mentions": min_mentions,
    }
    head = (
        f"{match} n.status = $status "
        "WITH n, size(coalesce(n.sources, [])) AS docs WHERE docs >= $min_docs "
    )
    if min_mentions > 0:
        head += (
            "OPTIONAL MATCH (:Chunk)-[m:MENTIONS]->(n) "
            "WITH n, docs, count(m) AS mentions WHERE mentions >= $min_mentions "
        )
    return head, params, allowed


def count_by_label(
    store: GraphStore,
    schema: Schema,
    *,
    min_documents: int = 1,
    min_mentions: int = 0,
    timeout_s: float = 10.0,
) -> dict[str, int]:
    """How many candidates of each class pass the count filters (classes with none are
    left out): what a reviewer chooses a type by before listing it."""
    head, params, allowed = _filtered(schema, None, min_documents, min_mentions)
    out: dict[str, int] = {}
    for node_labels, count in store.read_query(
        head + "RETURN labels(n), count(n)", params, timeout_s=timeout_s, row_cap=1000
    ).rows:
        cls = next((x for x in sorted(node_labels or []) if x in allowed), "")
        if cls:
            out[cls] = out.get(cls, 0) + int(count or 0)
    return out


def list_candidates(
    store: GraphStore,
    schema: Schema,
    *,
    label: str | None = None,
    min_documents: int = 1,
    min_mentions: int = 0,
    order: str = "documents",
    limit: int = 50,
    offset: int = 0,
    timeout_s: float = 10.0,
) -> tuple[list[Candidate], int]:
    """Candidate entities sorted by documents, then mentions (both descending), then name
    (``order`` "mentions" puts mentions first, "name" sorts by name alone); and how many
    candidates pass the filters in all (before ``offset`` and ``limit``).

    ``label`` is a class name, Dutch or English label (see `resolve_label`);
    ``min_documents`` keeps those named in at least that many documents, ``min_mentions``
    those mentioned at least that often; ``offset`` skips that many rows (paging).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"--limit must be between 1 and {MAX_LIMIT}.")
    if offset < 0:
        raise ValueError("--offset must be 0 or more.")
    if order not in ORDERS:
        raise ValueError(f"--order '{order}' is not one of: {', '.join(ORDERS)}.")
    head, params, allowed = _filtered(schema, label, min_documents, min_mentions)
    params.update(limit=limit, offset=offset)
    total_rows = store.read_query(
        head + "RETURN count(n)", params, timeout_s=timeout_s, row_cap=1
    ).rows
    total = int(total_rows[0][0] or 0) if total_rows else 0
    if total == 0 or offset >= total:
        return [], total
    if min_mentions == 0:
        head += "OPTIONAL MATCH (:Chunk)-[m:MENTIONS]->(n) WITH n, docs, count(m) AS mentions "
    rows = store.read_query(
        head + "RETURN n.id, labels(n), n.name, n.aliases, docs, mentions, n.sources "
        f"ORDER BY {ORDERS[order]} SKIP $offset LIMIT $limit",
        params,
        timeout_s=timeout_s,
        row_cap=limit,
    ).rows
    samples = {
        nid: sorted(str(s) for s in (sources or []))[0] for nid, *_, sources in rows if sources
    }
    titles: dict[str, str] = {}
    if samples:
        wanted = sorted(set(samples.values()))
        for did, title in store.read_query(
            "MATCH (d:Document) WHERE d.id IN $ids RETURN d.id, d.title",
            {"ids": wanted},
            timeout_s=timeout_s,
            row_cap=len(wanted),
        ).rows:
            titles[str(did)] = "" if title is None else str(title)
    dutch = {c.label: c.label_nl or c.label for c in schema.node_classes}
    out: list[Candidate] = []
    for nid, node_labels, name, aliases, docs, mentions, _sources in rows:
        cls = next((x for x in sorted(node_labels or []) if x in allowed), "")
        sample = samples.get(nid, "")
        out.append(
            Candidate(
                id=str(nid),
                label=cls,
                label_nl=dutch.get(cls, cls),
                name="" if name is None else str(name),
                aliases=other_names("" if name is None else str(name), aliases),
                documents=int(docs or 0),
                mentions=int(mentions or 0),
                sample_document=sample,
                sample_title=titles.get(sample, ""),
            )
        )
    return out, total


def other_names(name: str, aliases: Any) -> list[str]:
    """A stored ``aliases`` value (a list, one string or nothing) as
    `resolve.other_names` reads it: graphs written before aliases were made that way
    still hold ones that only repeat the name."""
    raw = aliases if isinstance(aliases, list) else ([aliases] if aliases else [])
    return resolve.other_names(name, raw)


#: Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def candidates_csv(rows: list[Candidate]) -> str:
    """The rows as CSV with the `COLUMNS` header: lists as JSON text, so a cell stays one
    cell (as ``impact-graph candidates --csv`` writes them).

    Names come from uploaded documents and the file is meant for a spreadsheet, so a text
    cell that a spreadsheet would run as a formula ("=HYPERLINK(...)") gets a leading
    apostrophe, which spreadsheets show as text and do not display.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for c in rows:
        cells: list[Any] = []
        for v in c.as_dict().values():
            if isinstance(v, list):
                v = json.dumps(v, ensure_ascii=False)
            if isinstance(v, str) and v.startswith(_FORMULA_START):
                v = "'" + v
            cells.append(v)
        w.writerow(cells)
    return buf.getvalue()
