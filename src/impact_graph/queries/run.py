"""Run researcher queries in Cypher or SPARQL and hand back one table shape.

Both languages answer a `Table` of plain Python values (str, int, float, bool, None,
lists and dicts), so the API can write the same JSON and CSV for either, and the
same-facts tests can compare a Cypher answer with a SPARQL answer cell by cell: SPARQL
literals become Python values by their datatype, and node IRIs become node ids (what
Cypher returns for ``n.id``).

SPARQL parameters are bound by substitution, as prepared statements do: each ``$name``
variable token (outside strings, IRIs and comments) is replaced by the RDF term of the
value, written by pyoxigraph (so quotes and backslashes are escaped by the library, not
by hand). A list value (``concept`` parameters) becomes comma-separated terms, meant for
``FILTER(?x IN ($name))``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from impact_graph.queries.cap import capped
from impact_graph.queries.catalog import ParamSpec, StoredQuery
from impact_graph.queries.guard import check_cypher
from impact_graph.store.port import GraphStore, QuerySyntaxError

XSD = "http://www.w3.org/2001/XMLSchema#"
_INT_TYPES = {
    XSD + t
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedInt",
        "unsignedLong",
    )
}
_FLOAT_TYPES = {XSD + "decimal", XSD + "double", XSD + "float"}


@dataclass(slots=True)
class Table:
    """A query answer: columns, rows of plain values, and whether the row cap cut it."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    row_cap: int = 0
    elapsed_ms: float = 0.0
    language: str = "cypher"
    extra: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=False)) for r in self.rows]

    def note(self) -> str | None:
        """The sentence that tells a reader the answer was cut (None if it was not)."""
        if not self.truncated:
            return None
        return (
            f"Only the first {self.row_cap:,} rows are shown (the row cap); add a LIMIT, "
            "narrow the query or page with SKIP/OFFSET."
        )

    def to_json(self, shape: str = "arrays", **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "columns": self.columns,
            "rows": self.records() if shape == "objects" else self.rows,
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "row_cap": self.row_cap,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "language": self.language,
        }
        if self.truncated:
            body["note"] = self.note()
        body.update(self.extra)
        body.update(extra)
        return body

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(self.columns)
        for r in self.rows:
            w.writerow([_csv_cell(v) for v in r])
        return buf.getvalue()

    def headers(self) -> dict[str, str]:
        """Headers that report cap and timing in every format (CSV has no room for it)."""
        return {
            "X-Row-Cap": str(self.row_cap),
            "X-Truncated": "true" if self.truncated else "false",
            "X-Query-Time-Ms": f"{self.elapsed_ms:.1f}",
        }


def _csv_cell(value: Any) -> Any:
    """Scalars as they are; lists and maps as JSON text, so one value stays one cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


# ---------------------------------------------------------------------------------------
# Cypher
# ---------------------------------------------------------------------------------------


def run_cypher(
    store: GraphStore,
    query: str,
    params: dict[str, Any] | None = None,
    *,
    timeout_s: float = 5.0,
    row_cap: int = 1000,
) -> Table:
    """Check and run researcher Cypher read-only, time- and row-limited."""
    _check_cypher_call(query, params)
    try:
        res = store.read_query(
            capped(query, row_cap), params or {}, timeout_s=timeout_s, row_cap=row_cap
        )
    except QuerySyntaxError as e:
        raise QuerySyntaxError(syntax_sentence(str(e))) from e
    return _cypher_table(res, row_cap)


async def run_cypher_async(
    reader: Any,
    query: str,
    params: dict[str, Any] | None = None,
    *,
    timeout_s: float = 5.0,
    row_cap: int = 1000,
) -> Table:
    """`run_cypher` through an awaitable reader (`impact_graph.store.falkordb_async`):
    the same checks, limits and sentences, without a worker thread per query."""
    _check_cypher_call(query, params)
    try:
        res = await reader.read_query(
            capped(query, row_cap), params or {}, timeout_s=timeout_s, row_cap=row_cap
        )
    except QuerySyntaxError as e:
        raise QuerySyntaxError(syntax_sentence(str(e))) from e
    return _cypher_table(res, row_cap)


#: A parameter's name as ``$name`` can spell it (FalkorDB's client puts names into the
#: query text unquoted; an empty name stopped it with an error of its own).
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_cypher_call(query: str, params: Any) -> None:
    check_cypher(query, params)
    if params is not None and not isinstance(params, dict):
        raise QuerySyntaxError("Cypher parameters must be a JSON object of name: value.")
    for name in params or ():
        if not isinstance(name, str) or not _PARAM_NAME.fullmatch(name):
            raise QuerySyntaxError(
                f"Cypher parameter name {name!r} is not a name a query can use as $name: "
                "use letters, digits and underscores, not starting with a digit "
                '(for example {"min_count": 2} for $min_count).'
            )


def _cypher_table(res: Any, row_cap: int) -> Table:
    rows = res.rows
    # The store's rows are its own fresh lists: taken as they are when all are lists
    # (one C-level pass: ~3 us for 100 rows against ~6 for a per-row test), else copied.
    if type(rows) is not list or not set(map(type, rows)) <= {list}:
        rows = [r if type(r) is list else list(r) for r in rows]
    return Table(
        columns=list(res.columns),
        rows=rows,
        truncated=res.truncated,
        row_cap=row_cap,
        elapsed_ms=res.elapsed_ms,
        language="cypher",
    )


_FALKOR_ERR = re.compile(
    r"errMsg:\s*(?P<what>.*?)\s*(?:line:\s*(?P<line>\d+),\s*column:\s*(?P<col>\d+)"
    r"(?:,\s*offset:\s*\d+)?)?\s*errCtx:.*$",
    re.S,
)


def syntax_sentence(message: str) -> str:
    """A backend's syntax error as one sentence with line and column and what to do.

    FalkorDB answers ``errMsg: Invalid input 'I' ... line: 1, column: 43, offset: 42
    errCtx: <the query> errCtxOffset: 42``; the echo of the query is dropped."""
    text = " ".join(message.split())
    m = _FALKOR_ERR.search(text)
    if m:
        head = text[: m.start()].rstrip(": ")
        where = f" at line {m.group('line')}, column {m.group('col')}" if m.group("line") else ""
        what = m.group("what").rstrip(" .")
        text = f"{head or 'The Cypher query could not be parsed'}{where}: {what}"
    if len(text) > 400:
        text = text[:400] + "..."
    if not text.endswith("."):
        text = text.rstrip(" ;:") + "; fix the query and send it again."
    return text


# ---------------------------------------------------------------------------------------
# SPARQL
# ---------------------------------------------------------------------------------------


def rdf_term(value: Any, spec: ParamSpec | None = None) -> str:
    """The SPARQL text of one parameter value (a list: comma-separated terms)."""
    if isinstance(value, list | tuple):
        return ", ".join(rdf_term(v, spec) for v in value)
    if spec is not None and spec.type == "concept":
        return str(ox.NamedNode(str(value)))
    if isinstance(value, bool):
        return str(ox.Literal(value))
    if isinstance(value, int):
        return str(ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer")))
    if isinstance(value, float):
        return str(ox.Literal(repr(value), datatype=ox.NamedNode(XSD + "double")))
    return str(ox.Literal(str(value)))


def bind_sparql(
    query: str, params: dict[str, Any], specs: tuple[ParamSpec, ...] | None = None
) -> str:
    """``query`` with each ``$name`` variable replaced by the term of ``params[name]``.

    Raises `QuerySyntaxError` when the query uses a ``$name`` without a value, since an
    unbound variable would silently widen the answer.
    """
    from impact_graph.rdf.sparql import _TOKEN  # one tokenizer for all SPARQL checks

    by_name = {s.name: s for s in specs or ()}
    out: list[str] = []
    for m in _TOKEN.finditer(query):
        tok = m.group()  # since f751383 a token's match holds the blanks before it
        own = m.group(m.lastgroup) if m.lastgroup else tok
        if m.lastgroup == "var" and own.startswith("$"):
            name = own[1:]
            if name not in params or params[name] is None:
                raise QuerySyntaxError(
                    f"The SPARQL query uses ${name} but no value was given; pass '{name}'."
                )
            out.append(tok[: len(tok) - len(own)] + rdf_term(params[name], by_name.get(name)))
        else:
            out.append(tok)
    return "".join(out)


def sparql_value(term: dict[str, Any], mapping: Any = None) -> Any:
    """A SPARQL JSON result term as a plain value (node IRIs as node ids)."""
    kind = term.get("type")
    value = term.get("value")
    if kind == "uri":
        if mapping is not None:
            node_id = mapping.node_id(value)
            if node_id is not None:
                return node_id
        return value
    if kind in ("literal", "typed-literal"):
        dt = term.get("datatype")
        try:
            if dt in _INT_TYPES:
                return int(value)  # type: ignore[arg-type]
            if dt in _FLOAT_TYPES:
                return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return value
        if dt == XSD + "boolean":
            return value in ("true", "1")
        return value
    if kind == "bnode":
        return "_:" + str(value)
    return value


def run_sparql(
    view: Any,
    query: str,
    params: dict[str, Any] | None = None,
    *,
    prefixes: dict[str, str],
    timeout_s: float = 5.0,
    row_cap: int = 1000,
    specs: tuple[ParamSpec, ...] | None = None,
) -> Table:
    """Bind, check and run a SPARQL SELECT on the RDF view as a `Table`."""
    from impact_graph.rdf import sparql as sp

    text = bind_sparql(query, params or {}, specs)
    info = sp.analyse(text, prefixes)
    if info.form != "select":
        raise QuerySyntaxError(
            "Stored and tabular SPARQL queries must be SELECT queries; use /sparql for "
            "ASK, CONSTRUCT and DESCRIBE."
        )
    started = time.perf_counter()
    raw = sp.run_query(view, text, prefixes=prefixes, timeout_s=timeout_s, row_cap=row_cap)
    mapping = getattr(view, "mapping", None)
    rows = [
        [sparql_value(b[v], mapping) if v in b else None for v in raw.vars] for b in raw.bindings
    ]
    return Table(
        columns=list(raw.vars),
        rows=rows,
        truncated=raw.truncated,
        row_cap=row_cap,
        elapsed_ms=raw.elapsed_ms or (time.perf_counter() - started) * 1000,
        language="sparql",
    )


def run_stored(
    query: StoredQuery,
    lang: str,
    params: dict[str, Any],
    *,
    store: GraphStore | None = None,
    view: Any = None,
    prefixes: dict[str, str] | None = None,
    timeout_s: float = 5.0,
    row_cap: int = 1000,
) -> Table:
    """Run a stored query (``params`` already bound by `StoredQuery.bind`)."""
    text = query.text(lang)
    if lang == "cypher":
        if store is None:
            raise ValueError("run_stored(lang='cypher') needs a store")
        table = run_cypher(store, text, params, timeout_s=timeout_s, row_cap=row_cap)
    else:
        if view is None or prefixes is None:
            raise ValueError("run_stored(lang='sparql') needs the RDF view and its prefixes")
        table = run_sparql(
            view,
            text,
            params,
            prefixes=prefixes,
            timeout_s=timeout_s,
            row_cap=row_cap,
            specs=query.params,
        )
    table.extra = {"query": query.name, "params": params}
    return table
