"""Send the row cap to the database as a LIMIT, so a huge answer is never built or sent.

Why: the row cap used to cut the reply after it arrived. FalkorDB builds its whole reply
before sending it, so ``MATCH (a), (b) RETURN a.id, b.id`` over 1,000 nodes made and sent
a million rows, read by our client, and then 1,000 were kept: 23.5 s under a 5 s limit
(H48, measured). With ``LIMIT cap + 1`` the server stops after cap + 1 rows; one row more
than the cap tells that the cap was hit, as before.

When the text is changed (`capped`): its last clause at the top level is a RETURN with
no LIMIT after it (a SKIP may be there: ``SKIP s LIMIT n`` keeps its meaning). Then for
any answer of at most cap rows the rows are the same -- a LIMIT past the answer's size
removes nothing -- and with ORDER BY the first cap + 1 rows in that order are the same
ones. DISTINCT and aggregations are applied before a RETURN's LIMIT in Cypher, so they
are unchanged too. What is left as it is:

* ``UNION``: a LIMIT after the last RETURN would cut only the last part;
* a RETURN that already has a LIMIT: a LIMIT past the cap still makes its rows, but a
  second LIMIT is a syntax error and a rewrite of the number would change the error
  sentences of a bad one (the guard already refuses LIMITs from 2^32);
* a text that does not end in RETURN (a bare ``CALL db.labels()``: procedure answers are
  small), or starts with EXPLAIN/PROFILE;
* a text the tokenizer cannot read to its end (unclosed strings or comments): the guard
  refuses those before this runs.

Rows of a query without ORDER BY come in the order the planner picks; a LIMIT may lead
Neo4j to another plan, so their order (not their set) may differ from the uncapped text.
"""

from __future__ import annotations

import functools

from impact_graph.queries.guard import _TOKEN

#: Brackets that nest a RETURN (subqueries, list comprehensions, map projections).
_OPEN = {"(": ")", "[": "]", "{": "}"}


@functools.lru_cache(maxsize=1024)
def _split(query: str) -> tuple[str, str] | None:
    """``query`` cut where the LIMIT goes (after its last token, before a trailing
    comment or ';'), or None when it is left as it is (see the module docstring)."""
    depth = 0
    last_return = False
    limited = False
    first = prev = ""
    end = 0  # just after the last token that is not a blank, a comment or ';'
    for m in _TOKEN.finditer(query):
        kind = m.lastgroup or "other"
        tok = m.group()
        if kind in ("ws", "comment") or tok == ";":
            continue  # a trailing ';' or comment stays after the LIMIT
        if kind in ("string", "quoted") and (len(tok) < 2 or tok[-1] != tok[0]):
            return None
        end = m.end()
        before, prev = prev, tok.upper()
        if kind == "other":
            if tok in _OPEN:
                depth += 1
            elif tok in (")", "]", "}"):
                depth -= 1
            continue
        # A word after '.', ':' or AS, or before ':', is a name, not a clause.
        if kind != "name" or depth != 0 or before in (".", ":", "AS"):
            continue
        upper = prev
        if not first:
            first = upper
        if upper == "UNION":
            return None
        if upper == "RETURN":
            last_return, limited = True, False
        elif upper in ("WITH", "MATCH", "UNWIND", "CALL", "OPTIONAL"):
            last_return = False
        elif upper == "LIMIT":
            limited = True
    if depth != 0 or not last_return or limited or first in ("EXPLAIN", "PROFILE"):
        return None
    return query[:end], query[end:]


def capped(query: str, row_cap: int) -> str:
    """``query`` with ``LIMIT row_cap + 1`` after its final RETURN when that keeps its
    answer (see the module docstring), else ``query`` unchanged."""
    if row_cap <= 0:
        return query
    cut = _split(query)
    if cut is None:
        return query
    return f"{cut[0]} LIMIT {row_cap + 1}{cut[1]}"
