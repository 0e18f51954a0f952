"""FalkorDB's compact replies read straight into Python values, and query parameters
written without falkordb-py's per-value path, for the queries the app sends itself.

Why: a search sends ~16 queries (the arms' index lookups, chunk links, profiles,
quotes), and at 100k chunks the client's generic handling of them cost more CPU than
the answers' own transfer (measured in one process, no load, one question's queries
replayed): falkordb-py's ``QueryResult`` parses cell by cell through a table of
per-type functions (2.9 ms for the concept arm's 1,000-row reply, 2.1 ms for the
profiles' 430 rows, 0.8 ms for a 50-row vector lookup) and the store then walks every
value again for nodes and edges; and the client writes a query vector's 384 numbers one
``str`` call at a time (0.7-1 ms a vector, three vectors a search).

What: `reply_rows` turns a compact ``GRAPH.QUERY``/``GRAPH.RO_QUERY`` reply whose cells
are scalars or lists of them (what the app's own queries return) into the column names
and rows the client's parser plus the store's `_to_plain` give for it; any other cell
(a node, edge, path, map, point, vector or temporal value) returns None, and the caller
parses the reply as before. `params_header` writes the ``CYPHER`` header as the client
does, except `VectorParam` values, which orjson writes in one call. orjson writes every
double in its shortest round-trip form, as ``str`` does, in positional notation where
``str`` uses an exponent (``0.0000581...`` for ``5.81...e-05``): the server reads the
same double, so the same float32 and the same scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from falkordb.helpers import stringify_param_value
from redis.exceptions import ResponseError

#: Compact-reply cell types whose value is already the plain Python value (decoded
#: replies): string, integer.
AS_IS = frozenset({2, 3})
#: The other scalar types, as the client's parser turns them into values: null, boolean,
#: double (`falkordb.query_result.parse_scalar`).
CONVERT: dict[int, Any] = {1: lambda v: None, 4: lambda v: v == "true", 5: float}
SCALAR_KINDS = AS_IS | frozenset(CONVERT)
#: A list (``VALUE_ARRAY``): its cells are read as a row's are.
ARRAY = 6
_KNOWN = SCALAR_KINDS | {ARRAY}


class _Unknown(Exception):
    """A cell of a type only the client's parser knows (raised inside `plain_rows`)."""


def _array(cells: list[list[Any]]) -> list[Any]:
    out = []
    for kind, value in cells:
        if kind in AS_IS:
            out.append(value)
        elif kind == ARRAY:
            out.append(_array(value))
        elif kind in CONVERT:
            out.append(CONVERT[kind](value))
        else:
            raise _Unknown
    return out


def plain_rows(rows: list[list[list[Any]]]) -> list[list[Any]] | None:
    """The rows of a compact reply as plain values, or None when a cell (or a list's
    cell, at any depth) holds anything but a string, integer, null, boolean, double or
    list: those go through the client's parser and the store's `_to_plain`, which know
    them. The same values as those give: lists stay lists, doubles are ``float``."""
    kinds = {cell[0] for row in rows for cell in row}
    if kinds <= AS_IS:  # most replies: ids, names and counts
        return [[cell[1] for cell in row] for row in rows]
    if not kinds <= _KNOWN:
        return None
    if ARRAY not in kinds:
        return [
            [cell[1] if cell[0] in AS_IS else CONVERT[cell[0]](cell[1]) for cell in row]
            for row in rows
        ]
    try:
        return [_array(row) for row in rows]
    except _Unknown:
        return None


def reply_rows(response: Any) -> tuple[list[str], list[list[Any]]] | None:
    """(column names, rows) of a compact query reply, or None where the client's parser
    is needed (a cell `plain_rows` does not read, a schema-version reply).

    Errors as the client raises them: a run-time error the server put at the end of
    the reply is raised here."""
    if not isinstance(response, list) or not response or isinstance(response[0], ResponseError):
        return None
    if isinstance(response[-1], ResponseError):
        raise response[-1]
    if len(response) == 1 or not response[0]:  # statistics only, or no columns
        return [], []
    rows = plain_rows(response[1])
    if rows is None:
        return None
    columns = [h[1] if isinstance(h, list | tuple) else str(h) for h in response[0]]
    return columns, rows


class VectorParam:
    """A query vector as a parameter: `params_header` writes it with orjson (the same
    doubles as the client's per-number ``str``, ~35x less CPU for 384 numbers)."""

    __slots__ = ("text",)

    def __init__(self, values: Sequence[float]) -> None:
        self.text = orjson.dumps([float(x) for x in values]).decode()


def params_header(params: dict[str, Any] | None) -> str:
    """The ``CYPHER name=value ...`` header as ``Graph._build_params_header`` writes it
    (names in backticks, values by ``stringify_param_value``), `VectorParam` values by
    orjson. Names are the app's own, so the client's checks of them are left out."""
    if params is None:
        return ""
    return "CYPHER " + "".join(
        f"`{k}`={v.text if type(v) is VectorParam else stringify_param_value(v)} "
        for k, v in params.items()
    )
