"""Researcher SPARQL: check a query, run it read-only and time-limited, serialise results.

Checks happen before anything runs, on a token stream (comments, strings and IRIs are
skipped, so a ``"DROP"`` in a literal or ``<http://x/service>`` is harmless):

* SPARQL Update (``INSERT``, ``DELETE``, ``LOAD``, ``DROP``, ... anywhere, also after a
  ``;`` behind a SELECT) is refused: this endpoint is read-only;
* ``SERVICE`` (federation) is refused: nothing reaches the network from here (Fuseki
  would otherwise fetch the remote endpoint, measured);
* a prefixed name whose prefix is neither declared nor predeclared is reported with its
  line and column (the engines' own message buries it in a character-class dump).

Then the view runs the query (embedded: one of a pool of long-lived worker processes,
killed and replaced at the time limit; remote: an HTTP request with the time limit) and
returns at most ``row_cap`` rows/triples, saying when it cut. Serialisation uses
pyoxigraph's writers for SPARQL XML/CSV/TSV and Turtle/N-Triples (and JSON-LD), so
escaping follows the specs; the embedded worker serialises to the negotiated format
itself, so an answer is written once, not decoded and encoded again here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pyoxigraph as ox

from impact_graph.rdf import _worker
from impact_graph.rdf.view import RawResult, RdfView
from impact_graph.store.port import QueryRefused, QuerySyntaxError

#: Longest query text accepted (a query is not a data upload).
MAX_QUERY_CHARS = 100_000
#: Deepest nesting of { ( [ accepted: the engines' recursive parsers overflow their stack
#: on deep nesting (measured: pyoxigraph crashed with SIGSEGV at 20,000 levels).
MAX_NESTING = 100

# SPARQL applies \uXXXX / \UXXXXXXXX escapes to the whole query text before parsing (Jena
# does), so "\u0053ERVICE" is SERVICE: the checks run on the unescaped text.
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

UPDATE_WORDS = {
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "DROP",
    "CREATE",
    "ADD",
    "MOVE",
    "COPY",
    "WITH",
}
FORMS = {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}

_PN_CHARS = (
    r"A-Za-z0-9_\-\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C-\u200D"
    r"\u203F-\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD"
)
_TOKEN_ALTERNATIVES = r"""
    (?P<comment>\#[^\n]*)
   |(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
   |(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
   |(?P<var>[?$][PN]+)
   |(?P<bnode>_:[PN.]*)
   |(?P<pname>(?:[A-Za-z\u00C0-\uFFFD](?:[PN.]*[PN])?)?:(?:(?:[PN:%]|\\.)(?:(?:[PN.:%]|\\.)*(?:[PN:%]|\\.))?)?)
   |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
   |(?P<other>.)
    """.replace("PN", _PN_CHARS)
#: One token per match, blanks included as ``ws`` tokens (`impact_graph.queries.run`
#: rebuilds query text from these, so every character is in exactly one token).
_TOKEN = re.compile(r"(?P<ws>\s+)|" + _TOKEN_ALTERNATIVES, re.X | re.S)
#: The same tokens, each matched with the blanks before it (possessive: never given back),
#: so blanks are not tokens of their own and `analyse` walks about half as many in Python
#: (measured on the bench's four queries: 34-36 -> 24-25 us per check; the same outcome as
#: with `_TOKEN` on 18,788 queries: the hostile list, stored queries, notebooks and random
#: edits of them). ``m.start(kind)`` is the token's own place, after its blanks.
_CHECK_TOKEN = re.compile(r"\s*+(?:" + _TOKEN_ALTERNATIVES + ")", re.X | re.S)


@dataclass(slots=True)
class QueryInfo:
    """What the checks found out about a query."""

    form: str  # "select" | "ask" | "graph"
    undeclared: list[str]  # predeclared prefixes the query uses without declaring them


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def analyse(query: str, predeclared: dict[str, str]) -> QueryInfo:
    """Check a researcher query; raise `QueryRefused`/`QuerySyntaxError` with a sentence."""
    if not query or not query.strip():
        raise QuerySyntaxError("The SPARQL query is empty; send it as 'query'.")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryRefused(
            f"The SPARQL query is {len(query):,} characters long; the limit is "
            f"{MAX_QUERY_CHARS:,}. Send a shorter query (use VALUES for long lists)."
        )
    if "\x00" in query:
        raise QuerySyntaxError("The SPARQL query contains a NUL character; remove it.")
    query = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query)
    declared: set[str] = set()
    used: dict[str, int] = {}
    depth = 0
    form: str | None = None
    expect_prefix = False
    for m in _CHECK_TOKEN.finditer(query):
        kind = m.lastgroup
        if kind is None:  # every match is one named token (this is for the type checker)
            break
        tok = m.group(kind)
        if kind == "word":
            upper = tok.upper()
            if upper in UPDATE_WORDS:
                raise QueryRefused(
                    f"This endpoint is read-only: '{tok}' at {_where(query, m.start(kind))} is "
                    "SPARQL Update. Send SELECT, ASK, CONSTRUCT or DESCRIBE queries only."
                )
            if upper == "SERVICE":
                raise QueryRefused(
                    f"SERVICE (federated query) at {_where(query, m.start(kind))} is not allowed: "
                    "this endpoint never reaches other servers. Query the other endpoint "
                    "yourself and join the results locally."
                )
            if upper == "PREFIX":
                expect_prefix = True
                continue
            if form is None and upper in FORMS:
                form = FORMS[upper]
        elif kind == "other" and tok in "{([":
            depth += 1
            if depth > MAX_NESTING:
                raise QueryRefused(
                    f"The SPARQL query nests brackets deeper than {MAX_NESTING} levels (at "
                    f"{_where(query, m.start(kind))}); flatten it."
                )
        elif kind == "other" and tok in "})]":
            depth -= 1
        elif kind == "pname":
            prefix = tok.split(":", 1)[0]
            if expect_prefix:
                declared.add(prefix)
            else:
                used.setdefault(prefix, m.start(kind))
        expect_prefix = expect_prefix and kind == "comment"
    for prefix, pos in sorted(used.items(), key=lambda kv: kv[1]):
        if prefix not in declared and prefix not in predeclared:
            known = ", ".join(sorted(predeclared))
            raise QuerySyntaxError(
                f"The SPARQL query uses the unknown prefix '{prefix}:' at {_where(query, pos)}; "
                f"declare it with PREFIX {prefix}: <...> or use a predeclared one ({known})."
            )
    if form is None:
        raise QuerySyntaxError(
            "The SPARQL query has no SELECT, ASK, CONSTRUCT or DESCRIBE; send one of those."
        )
    undeclared = [p for p in used if p not in declared and p in predeclared]
    return QueryInfo(form=form, undeclared=undeclared)


def run_query(
    view: RdfView,
    query: str,
    *,
    prefixes: dict[str, str],
    timeout_s: float,
    row_cap: int,
    media: str | None = None,
    info: QueryInfo | None = None,
) -> RawResult:
    """Check and run one researcher query on the view.

    ``media``: the format the answer will be sent in (see `negotiate`); the embedded view
    then serialises in its worker, once, and `serialize` passes that on. ``info``: the
    result of `analyse` when the caller has it already (the check then runs once)."""
    info = info or analyse(query, prefixes)
    used = {p: prefixes[p] for p in info.undeclared}
    return view.run_query(
        query,
        form=info.form,
        prefixes=used,
        timeout_s=timeout_s,
        row_cap=row_cap,
        media=media,
        out_prefixes=prefixes if media in GRAPH_TYPES else None,
    )


async def run_query_async(
    view: RdfView,
    query: str,
    *,
    prefixes: dict[str, str],
    timeout_s: float,
    row_cap: int,
    media: str | None = None,
    info: QueryInfo | None = None,
) -> RawResult:
    """`run_query` for an event loop (the API): the embedded view waits for its query
    worker on the loop, without a thread hand-off per query."""
    info = info or analyse(query, prefixes)
    used = {p: prefixes[p] for p in info.undeclared}
    return await view.run_query_async(
        query,
        form=info.form,
        prefixes=used,
        timeout_s=timeout_s,
        row_cap=row_cap,
        media=media,
        out_prefixes=prefixes if media in GRAPH_TYPES else None,
    )


# ---------------------------------------------------------------------------------------
# Content negotiation and serialisation
# ---------------------------------------------------------------------------------------

RESULT_TYPES = _worker.RESULT_TYPES
GRAPH_TYPES = _worker.GRAPH_TYPES
#: Short names for ``?format=`` (browsers cannot set Accept).
FORMAT_ALIASES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "ttl": "text/turtle",
    "turtle": "text/turtle",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "rdfxml": "application/rdf+xml",
}
# Equivalent media types clients send.
_SYNONYMS = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "application/n-triples",
    "application/x-turtle": "text/turtle",
    "application/json+ld": "application/ld+json",
}


class NotAcceptable(ValueError):
    """No format the client accepts fits the query form."""


def _accept_items(accept: str) -> list[tuple[str, float]]:
    items = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        items.append((media, q - i * 1e-6))  # stable: earlier wins among equals
    return sorted(items, key=lambda x: -x[1])


def negotiate(accept: str | None, form: str, fmt: str | None = None) -> str:
    """The media type to answer with, from ``format=`` or the Accept header."""
    offered = GRAPH_TYPES if form == "graph" else RESULT_TYPES
    default = "text/turtle" if form == "graph" else "application/sparql-results+json"
    if fmt:
        media = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if media not in offered:
            raise NotAcceptable(
                f"format '{fmt}' does not fit a {_form_name(form)} query; use one of "
                f"{', '.join(sorted(k for k, v in FORMAT_ALIASES.items() if v in offered))}."
            )
        return media
    if not accept:
        return default
    for media, q in _accept_items(accept):
        if q <= 0:
            continue
        media = _SYNONYMS.get(media, media)
        if media in offered:
            return media
        if media in ("*/*", "application/*", "text/*"):
            return default
    raise NotAcceptable(
        f"None of the accepted types ({accept[:200]}) fits a {_form_name(form)} query; accept "
        f"one of {', '.join(offered)}."
    )


def _form_name(form: str) -> str:
    return {"graph": "CONSTRUCT/DESCRIBE", "ask": "ASK", "select": "SELECT"}[form]


def serialize(result: RawResult, media_type: str, prefixes: dict[str, str] | None = None) -> bytes:
    """The result in ``media_type`` (one of `RESULT_TYPES` or `GRAPH_TYPES`); ``prefixes``
    abbreviate IRIs in Turtle."""
    if result.body is not None and result.media == media_type:
        return result.body  # serialised by the view's worker already
    if result.form == "graph":
        if media_type == "application/n-triples":
            return result.ntriples.encode()
        triples = list(ox.parse(result.ntriples.encode(), format=ox.RdfFormat.N_TRIPLES))
        try:
            return ox.serialize(triples, format=GRAPH_TYPES[media_type], prefixes=prefixes) or b""
        except (ValueError, TypeError, OSError) as e:  # JSON-LD has no triple terms
            raise NotAcceptable(
                f"The result cannot be written as {media_type} ({e}); ask for Turtle or "
                "N-Triples instead."
            ) from e
    if result.form == "ask":
        doc: dict[str, object] = {"head": {}, "boolean": result.boolean}
    else:
        doc = {"head": {"vars": result.vars}, "results": {"bindings": result.bindings}}
    data = json.dumps(doc, ensure_ascii=False).encode()
    if media_type == "application/sparql-results+json":
        return data
    parsed = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    out = parsed.serialize(format=RESULT_TYPES[media_type])
    return out or b""


def result_headers(result: RawResult) -> dict[str, str]:
    """Headers that report the row cap and timing (every format carries them)."""
    headers = {"X-Query-Time-Ms": f"{result.elapsed_ms:.1f}"}
    if result.form != "ask":
        headers["X-Row-Cap"] = str(result.row_cap)
        headers["X-Truncated"] = "true" if result.truncated else "false"
    return headers
