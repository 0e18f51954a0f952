"""What the embedded RDF view stores, by predicate and graph, and what fewer quads would save.

Why this exists (issue 3): at 10k generated documents the RDF view's RocksDB threads
were the largest non-model CPU (730 s), and every *write path* for the same quads was
found dearer (H31, ``rdf_load_cost.py``). This counts the quads themselves, to see
which statements could go: the quads of every document's named graph and of the
default graph (the set union, see ``rdf/mapping.py``), by subject kind (node, edge
reifier, document graph) and predicate, how many named-graph quads repeat a triple
another document's graph holds too (shared entities restated per document), and each
row's share of the index entries RocksDB writes (Oxigraph keeps a named-graph quad in
6 indexes, a default-graph triple in 3).

``--rounds N`` then loads the documents' N-Quads texts (`RdfMapping.batch_nquads`,
the view's write) into fresh on-disk stores, flushing like the held writer
(``FLUSH_BYTES``), once as written and once per candidate cut, interleaved, and
reports the load thread's and RocksDB threads' CPU and the store's size on disk.
The candidates are measured as text edits, not as code: each changes what SPARQL
users see (see `candidates`), so none is made by this tool.

Measured (H33, 2026-11-28, load 8-25 on 2 cores, so the CPU figures are rough; quads
and sizes are exact). Demo corpus, 79 documents: 94,666 quads, 1,198 a document
(named 51,682, default 42,984; ±2 between builds). 300 generated: 512,402, 1,708 a
document (named 271,715, default 240,687). The edge reifiers (MENTIONS above all: ``ig:key``,
``start``, ``end``, ``surface``, ``spans``, ``sources``, ``prov:wasDerivedFrom``,
``rdf:reifies``) hold 68% of the generated documents' index entries (demo 53%). No vocabulary or
ontology statement is restated per document (a node's concept is one
``dcterms:subject`` link); repeated across documents are shared entities' own facts
(type, id, name, key, status, rule, concept...): 11.4% of named quads (generated),
16.8% (demo). Candidate cuts, quads and load + RocksDB CPU against as written (median
of 3 interleaved rounds; a second run in brackets): generated -- no node/edge
``prov:wasDerivedFrom`` -11.1%, CPU -15% (-5%); no node ``ig:spans`` -7.6%, -17%
(-5%); shared facts once -6.1%, -19% (-9%); the three together -24.8%, -31%, disk
157 -> 119 MB; no default-graph copy -47%, -42% (-32%). Demo: the three together
-26.3%, -33%. Every one changes an answer (export output, GRAPH ?g, ``check``, or the
default graph as the union), so none was made.

Usage::

    PYTHONPATH=src .venv/bin/python bench/tools/rdf_quad_census.py --generated 300
    PYTHONPATH=src .venv/bin/python bench/tools/rdf_quad_census.py --no-demo \
        --generated 300 --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: ingest, tools
sys.path.insert(0, str(Path(__file__).resolve().parent))

from write_cost import DEMO, build_batches

from impact_graph.model import GraphBatch
from impact_graph.ontology import load_schema
from impact_graph.rdf.mapping import PROV_DERIVED, RdfMapping
from impact_graph.rdf.view import FLUSH_BYTES, QUAD_BYTES

#: Oxigraph's index entries per quad: named graph (spog, posg, ospg, gspo, gpos, gosp)
#: and default graph (dspo, dpos, dosp).
NAMED_INDEXES, DEFAULT_INDEXES = 6, 3

#: One document as the view writes it: graph IRI text and its unique statement lines
#: (``s p o`` without the graph and the final dot).
Doc = tuple[str, list[str]]


def documents(mapping: RdfMapping, batches: list[GraphBatch]) -> list[Doc]:
    """Each document's statements as `batch_nquads` writes them (last version of a doc)."""
    latest = {b.doc_id: b for b in batches}
    out = []
    for b in latest.values():
        g, text, _ = mapping.batch_nquads(b, written_at="2026-01-01T00:00:00Z")
        gt = str(g)
        lines = text.splitlines()
        named = [ln[: -len(gt) - 3] for ln in lines[: len(lines) // 2]]
        assert all(ln.endswith(f" {gt} .") for ln in lines[: len(lines) // 2])
        out.append((gt, named))
    return out


def _kind(mapping: RdfMapping, subject: str) -> str:
    iri = subject.strip("<>")
    if iri.startswith(mapping.edge_base):
        return "edge"
    if iri.startswith(mapping.graph_base):
        return "graph"
    return "node"


def _pred(line: str) -> str:
    _, p, o = line.split(" ", 2)
    local = p.strip("<>").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return "reifies" if o.startswith("<<(") else local


def census(mapping: RdfMapping, docs: list[Doc]) -> None:
    """Print the table: quads by subject kind and predicate, named and default."""
    graphs_of: Counter[str] = Counter()
    named: Counter[tuple[str, str]] = Counter()
    for _, lines in docs:
        for ln in lines:
            graphs_of[ln] += 1
            named[(_kind(mapping, ln.split(" ", 1)[0]), _pred(ln))] += 1
    default: Counter[tuple[str, str]] = Counter()
    repeated: Counter[tuple[str, str]] = Counter()
    for ln, n in graphs_of.items():
        key = (_kind(mapping, ln.split(" ", 1)[0]), _pred(ln))
        default[key] += 1
        repeated[key] += n - 1
    n_named, n_default = sum(named.values()), sum(default.values())
    entries = n_named * NAMED_INDEXES + n_default * DEFAULT_INDEXES
    n_rep, n_all = sum(repeated.values()), n_named + n_default
    print(
        f"{len(docs)} documents: {n_all:,} quads ({n_all / len(docs):.0f} a document), "
        f"named graphs {n_named:,}, default graph {n_default:,}; index entries "
        f"{entries:,}. Named-graph quads repeating a triple of another document's graph: "
        f"{n_rep:,} ({n_rep / n_named:.1%} of named, {n_rep / n_all:.1%} of all)"
    )
    print(
        f"{'subject':7} {'predicate':20} {'named':>8} {'default':>8} {'repeated':>8} {'entries':>7}"
    )
    for key, n in named.most_common():
        share = (n * NAMED_INDEXES + default[key] * DEFAULT_INDEXES) / entries
        print(f"{key[0]:7} {key[1]:20} {n:8,} {default[key]:8,} {repeated[key]:8,} {share:7.1%}")


# -- candidate cuts, as edits of the written text -----------------------------------------


def _texts(docs: list[Doc], keep_named: Callable[[str, str], bool], default: bool) -> list[bytes]:
    """N-Quads per document: its named-graph lines that ``keep_named(graph, line)`` keeps
    and, with ``default``, the same lines again in the default graph."""
    out = []
    for gt, lines in docs:
        kept = [ln for ln in lines if keep_named(gt, ln)]
        text = "".join(f"{ln} {gt} .\n" for ln in kept)
        if default:
            text += "".join(f"{ln} .\n" for ln in kept)
        out.append(text.encode())
    return out


def candidates(mapping: RdfMapping, docs: list[Doc]) -> dict[str, list[bytes]]:
    """The view's text as written, and each candidate cut (what it drops, and why it is
    not made: every one changes an answer SPARQL users or a command get)."""
    derived, spans = str(PROV_DERIVED), str(mapping.spans_p)
    graph_prefix = "<" + mapping.graph_base

    def no_fact_derived(gt: str, ln: str) -> bool:
        # prov:wasDerivedFrom of every node and edge reifier (the graph's own stays):
        # restates ig:sources as an IRI. Export output and queries joining on it change.
        s, p, _ = ln.split(" ", 2)
        return p != derived or s.startswith(graph_prefix)

    def no_node_spans(gt: str, ln: str) -> bool:
        # An entity's ig:spans in a document: the spans of the MENTIONS reifiers that
        # point at it. Queries asking a node's spans change.
        s, p, _ = ln.split(" ", 2)
        return p != spans or _kind(mapping, s) != "node"

    def shared_once() -> Callable[[str, str], bool]:
        # Upper bound of a shared-facts graph: a triple another document's graph already
        # holds is not written again (the bookkeeping that lets it outlive one document's
        # deletion is not counted). GRAPH ?g answers and `impact-graph check` change.
        seen: set[str] = set()

        def keep(gt: str, ln: str) -> bool:
            if ln in seen:
                return False
            seen.add(ln)
            return True

        return keep

    def all_three() -> Callable[[str, str], bool]:
        shared = shared_once()
        return lambda gt, ln: no_fact_derived(gt, ln) and no_node_spans(gt, ln) and shared(gt, ln)

    every = lambda gt, ln: True  # noqa: E731 - the text as written
    return {
        "as written": _texts(docs, every, True),
        "no node/edge wasDerivedFrom": _texts(docs, no_fact_derived, True),
        "no node spans": _texts(docs, no_node_spans, True),
        "shared facts once": _texts(docs, shared_once(), True),
        "the three above together": _texts(docs, all_three(), True),
        "no default-graph copy": _texts(docs, every, False),
    }


def rocksdb_cpu() -> float:
    """CPU seconds of this process's RocksDB background threads (``rocksdb:*``)."""
    from ingest import threads_cpu

    return sum(v for name, v in threads_cpu().items() if name.startswith("rocksdb"))


def flush_points(docs: list[Doc]) -> set[int]:
    """After which documents the view's held writer flushes (every ``FLUSH_BYTES``,
    counting ``QUAD_BYTES`` a statement); every variant flushes at the same points."""
    points, unflushed = set(), 0
    for i, (_, lines) in enumerate(docs):
        unflushed += len(lines) * QUAD_BYTES
        if unflushed >= FLUSH_BYTES:
            points.add(i)
            unflushed = 0
    return points


def load_cost(texts: list[bytes], flush: set[int], work: Path) -> tuple[float, float, int, int]:
    """Load thread CPU, RocksDB threads CPU, bytes on disk and quads after loading
    ``texts`` one document per load, flushing after the documents in ``flush``."""
    rocks, path = rocksdb_cpu(), Path(tempfile.mkdtemp(dir=work))
    store = ox.Store(str(path))
    c = time.thread_time()
    for i, text in enumerate(texts):
        store.load(text, format=ox.RdfFormat.N_QUADS, lenient=True)
        if i in flush:
            store.flush()
    store.flush()
    load = time.thread_time() - c
    quads = len(store)
    del store
    time.sleep(0.3)  # let the closed store's background work end
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    shutil.rmtree(path, ignore_errors=True)
    return load, rocksdb_cpu() - rocks, size, quads


def main() -> None:
    from ingest import generate  # bench/ingest.py

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-demo", action="store_true", help="skip the demo corpus")
    ap.add_argument("--generated", type=int, default=0, help="generated documents to add")
    ap.add_argument("--rounds", type=int, default=0, help="paired load rounds (0: census only)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rdf-quad-census-"))
    try:
        paths = [] if args.no_demo else [DEMO]
        if args.generated:
            gen = work / "generated" / "plan"
            gen.mkdir(parents=True)
            generate(gen, args.generated)
            paths.append(gen.parent)
        if not paths:
            ap.error("nothing to count: give --generated N or leave out --no-demo")
        mapping = RdfMapping(load_schema())
        docs = documents(mapping, build_batches(paths, work / "data"))
        census(mapping, docs)
        if not args.rounds:
            return
        variants, flush = candidates(mapping, docs), flush_points(docs)
        runs: dict[str, list[tuple[float, float, int, int]]] = {v: [] for v in variants}
        for rnd in range(args.rounds):
            order = list(variants) if rnd % 2 == 0 else list(reversed(variants))
            for name in order:
                runs[name].append(load_cost(variants[name], flush, work))
                load, bg, size, quads = runs[name][-1]
                print(
                    f"round {rnd} {name}: load {load:.3f} s, RocksDB {bg:.3f} s, "
                    f"{size / 1e6:.1f} MB, {quads:,} quads",
                    flush=True,
                )
        base = statistics.median(a + b for a, b, _, _ in runs["as written"])
        print(
            f"{'variant':28} {'quads':>9} {'load s':>7} {'RocksDB s':>9} {'sum s':>7} "
            f"{'vs now':>7} {'MB':>6}"
        )
        for name, v in runs.items():
            load = statistics.median(a for a, _, _, _ in v)
            bg = statistics.median(b for _, b, _, _ in v)
            total = statistics.median(a + b for a, b, _, _ in v)
            size = statistics.median(s for _, _, s, _ in v)
            print(
                f"{name:28} {v[0][3]:9,} {load:7.2f} {bg:9.2f} {total:7.2f} "
                f"{total / base - 1:+7.1%} {size / 1e6:6.1f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
