"""One researcher SPARQL query against the embedded Oxigraph, in a process of its own.

Why a process: pyoxigraph 0.5 has no query timeout or cancellation, and a runaway query
(a cartesian product under COUNT, an ORDER BY over billions of rows) cannot be stopped
inside the process that runs it. The caller (`OxigraphView.run_query`) kills this process
at the time limit, and the address-space limit set here turns a memory blow-up into a
crash of this process instead of the server's. The store is opened read-only under a
shared lock (writers take it exclusively), so the query never sees a half-written
document and never writes.

Protocol: one JSON object on stdin, one on stdout. Imports stay minimal (no pydantic,
no rdflib) so the process starts in ~0.1 s.
"""

from __future__ import annotations

import fcntl
import json
import resource
import sys
import time
from typing import Any

import pyoxigraph as ox

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def term_json(term: Any) -> dict[str, Any]:
    """A term as in SPARQL 1.1 (1.2 for triple terms) Query Results JSON."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": term_json(term.subject),
                "predicate": term_json(term.predicate),
                "object": term_json(term.object),
            },
        }
    raise TypeError(f"unexpected term {term!r}")


def run(req: dict[str, Any]) -> dict[str, Any]:
    mem = int(req.get("memory_mb") or 0)
    if mem > 0:
        limit = mem * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cap = int(req["row_cap"])
    with open(req["lock"], "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        store = ox.Store.read_only(req["path"])
        t0 = time.perf_counter()
        try:
            result = store.query(req["query"], prefixes=req.get("prefixes") or None)
        except SyntaxError as e:
            return {"ok": False, "error": "syntax", "message": str(e)}
        out: dict[str, Any] = {"ok": True, "truncated": False}
        if isinstance(result, ox.QueryBoolean):
            out.update(form="ask", boolean=bool(result))
        elif isinstance(result, ox.QuerySolutions):
            names = [v.value for v in result.variables]
            rows = []
            for sol in result:
                if len(rows) >= cap:
                    out["truncated"] = True
                    break
                row = {}
                for name in names:
                    value = sol[name]
                    if value is not None:
                        row[name] = term_json(value)
                rows.append(row)
            out.update(form="select", vars=names, bindings=rows)
        else:
            triples = []
            for t in result:
                if len(triples) >= cap:
                    out["truncated"] = True
                    break
                triples.append(t)
            out.update(
                form="graph", ntriples=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()
            )
        out["elapsed_ms"] = (time.perf_counter() - t0) * 1000
        return out


def main() -> None:
    req = json.loads(sys.stdin.read())
    try:
        out = run(req)
    except OSError as e:
        out = {"ok": False, "error": "store", "message": str(e)}
    except MemoryError:
        out = {"ok": False, "error": "memory", "message": "out of memory"}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
