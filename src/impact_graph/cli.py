"""The ``impact-graph`` command line.

Every command turns known failures into one sentence on stderr and a distinct exit code
(see ``EXIT``), never a stack trace: the people running this are policy advisers as
often as developers.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from impact_graph.config import Settings
from impact_graph.store.falkordb_server import FalkorDBServerError
from impact_graph.store.port import (
    GraphStore,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    StoreAuthError,
    StoreError,
    StoreUnavailable,
)

if TYPE_CHECKING:  # the search models (pydantic) load only when a search runs
    from impact_graph.search.models import SearchResult


def _hide_flag_types() -> None:
    """Leave the type column empty for flags in ``--help``.

    typer 0.29's Rich help prints each option's type from ``display_type_rich``, which
    gives ``<bool>`` for flags too (``--dry-run  <bool>``, even ``--help  <bool>``), as if
    they took a value; its plain-text help already leaves flags without one. Flags here
    take no value (``--dry-run``, ``--json``, ``--progress/--no-progress``), so their row
    says nothing there. Options with a value keep their type (``<path>``, ``<int>``).
    Older typer versions have no ``display_type_rich`` and are left as they are."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_flags_hidden", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._flags_hidden = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()

app = typer.Typer(
    help="impact-graph: de kennisgraaf van sociale-impactprogramma's "
    "(the knowledge graph of social-impact programmes).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Start, stop and inspect the embedded graph store.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

#: Exit codes, one per kind of failure, so scripts can tell them apart.
EXIT = {
    "failure": 1,
    "usage": 2,
    "unavailable": 3,
    "refused": 4,
    "timeout": 5,
    "syntax": 6,
    "auth": 7,
}


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ReportFormat(StrEnum):
    """Formats of validate and check: sentences or JSON (a CSV of findings would need a
    column per kind of finding; their --help offered csv and printed sentences)."""

    table = "table"
    json = "json"


def fail(message: str, code: str = "failure") -> typer.Exit:
    """Print one sentence in red and return the matching Exit to raise."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT[code])


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Map the project's exceptions to sentences and exit codes."""
    try:
        yield
    except QueryRefused as e:
        raise fail(str(e), "refused") from None
    except QueryTimeout as e:
        raise fail(str(e), "timeout") from None
    except QuerySyntaxError as e:
        raise fail(str(e), "syntax") from None
    except StoreAuthError as e:
        raise fail(str(e), "auth") from None
    except StoreUnavailable as e:
        raise fail(str(e), "unavailable") from None
    except StoreError as e:
        raise fail(str(e)) from None
    except FalkorDBServerError as e:
        raise fail(str(e), "unavailable") from None
    except ValidationError as e:
        raise fail(validation_sentence(e), "usage") from None
    except (ValueError, FileNotFoundError, PermissionError) as e:
        raise fail(str(e), "usage") from None


def validation_sentence(e: ValidationError, names: dict[str, str] | None = None) -> str:
    """One sentence for pydantic's validation errors, naming what the user typed: an
    option (``--type``) or, for a setting, its environment variable. Why: pydantic's own
    text ("1 validation error for SearchFilters / type.0 / Input should be ... For further
    information visit https://errors.pydantic.dev/...") reached the terminal as it was,
    and a bad ``--backend`` or ``IMPACT_GRAPH_*`` value as a stack trace."""
    parts = []
    for err_ in e.errors()[:3]:
        field = str(err_["loc"][0]) if err_["loc"] else ""
        where = (names or {}).get(field) or "--" + field.replace("_", "-")
        msg = str(err_["msg"]).rstrip(".")
        got = err_.get("input")
        given = f", not {got!r}" if isinstance(got, str | int | float) else ""
        parts.append(f"{where}: {msg[:1].lower()}{msg[1:]}{given}")
    return "; ".join(parts) + "."


def settings_from(data_dir: Path | None, backend: str | None) -> Settings:
    """Settings from the environment, with command-line overrides; a bad value (an
    option or an ``IMPACT_GRAPH_*`` variable) ends the command with a sentence."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if backend is not None:
        overrides["backend"] = backend
    try:
        return Settings(**overrides)
    except ValidationError as e:
        names = {
            f: (f"--{f.replace('_', '-')}" if f in overrides else f"IMPACT_GRAPH_{f.upper()}")
            for f in Settings.model_fields
        }
        raise fail(validation_sentence(e, names), "usage") from None


DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory of the embedded store (default: $IMPACT_GRAPH_DATA_DIR or ./data).",
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend", help="falkordb (embedded, default) or neo4j (default: $IMPACT_GRAPH_BACKEND)."
    ),
]


def require_existing_store(settings: Settings) -> None:
    """Reading commands must not silently create an empty embedded store somewhere."""
    if (
        settings.backend == "falkordb"
        and not settings.falkordb_url
        and not settings.data_path.exists()
    ):
        raise fail(
            f"there is no embedded store in {settings.data_path}: start one with "
            "`impact-graph db start` (or `make demo`), or point IMPACT_GRAPH_DATA_DIR at "
            "an existing data directory.",
            "usage",
        )


@contextmanager
def opened_store(settings: Settings) -> Iterator[GraphStore]:
    from impact_graph.store import open_store

    require_existing_store(settings)
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


# --- db -------------------------------------------------------------------------------


@db_app.command("start")
def db_start(data_dir: DataDirOpt = None, backend: BackendOpt = None) -> None:
    """Start the embedded FalkorDB in the data directory (it keeps running in the background)."""
    settings = settings_from(data_dir, backend)
    with friendly_errors():
        if settings.backend == "neo4j":
            _check_neo4j(settings)
            return
        from impact_graph.store.falkordb_server import FalkorDBServer

        server = FalkorDBServer(settings.data_path, settings.falkordb_port)
        if not server.start():
            raise fail(
                f"the embedded store in {settings.data_path} is already running "
                f"(pid {server.status().pid}); stop it with `impact-graph db stop` first "
                "if you want to restart it.",
                "usage",
            )
        st = server.status()
        out.print(
            f"Embedded FalkorDB started in {settings.data_path} (pid {st.pid}, socket {st.socket})."
        )


@db_app.command("stop")
def db_stop(data_dir: DataDirOpt = None) -> None:
    """Stop the embedded FalkorDB cleanly (it saves its data first)."""
    settings = settings_from(data_dir, None)
    with friendly_errors():
        from impact_graph.store.falkordb_server import FalkorDBServer

        server = FalkorDBServer(settings.data_path, settings.falkordb_port)
        if not server.status().running:
            out.print(f"The embedded store in {settings.data_path} is not running.")
            return
        server.stop()
        out.print(f"Embedded FalkorDB in {settings.data_path} stopped; data saved.")


@db_app.command("status")
def db_status(data_dir: DataDirOpt = None, backend: BackendOpt = None) -> None:
    """Say whether the store runs, and where."""
    settings = settings_from(data_dir, backend)
    with friendly_errors():
        if settings.backend == "neo4j":
            _check_neo4j(settings)
            return
        from impact_graph.store.falkordb_server import FalkorDBServer

        st = FalkorDBServer(settings.data_path, settings.falkordb_port).status()
        table = Table(show_header=False, box=None)
        table.add_row("state", st.state)
        table.add_row("data directory", str(st.data_dir))
        table.add_row("socket", str(st.socket) + (f" and 127.0.0.1:{st.port}" if st.port else ""))
        if st.pid:
            table.add_row("pid", str(st.pid))
        if st.uptime_s is not None:
            table.add_row("uptime", f"{st.uptime_s:.0f} s")
        if st.memory_human:
            table.add_row("memory", st.memory_human)
        for name, size in st.files.items():
            table.add_row(name, f"{size:,} bytes")
        out.print(table)
        if st.state != "running":
            if st.state == "stopped":
                err.print("Start it with `impact-graph db start`.")
            raise typer.Exit(EXIT["unavailable"])


def _check_neo4j(settings: Settings) -> None:
    """For the server backend, 'start' and 'status' can only check that it answers."""
    from impact_graph.store import open_store

    store = open_store(settings)
    try:
        n = store.stats().total_nodes
    finally:
        store.close()
    out.print(
        f"Neo4j at {settings.neo4j_uri} answers ({n} nodes). It is a server you run "
        "yourself, e.g. `docker compose up -d neo4j`."
    )


# --- ingest ---------------------------------------------------------------------------


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files and folders to ingest (folders recursively).")
    ],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Force the kind of every document: story, policy, "
            "research or plan (default: front matter, folder, or detected).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Do everything but write; report what would be.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the report as JSON to this file.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
) -> None:
    """Read documents into the graph: extract, pseudonymise stories, embed, write.

    Unchanged files are skipped; a bad file is reported (file, reason, what to do), kept
    in <data-dir>/rejected/ and the rest goes on; the exit code is 1 if anything failed.
    A file is known by its path from the folder it was first ingested from, so ingesting
    a subfolder (or the parent folder) later adds nothing twice.
    """
    from impact_graph.ingest.embed import EmbeddingError
    from impact_graph.ingest.pipeline import Pipeline

    settings = settings_from(data_dir, backend)
    with friendly_errors():
        try:
            with Pipeline(settings, console=err) as pipeline:
                result = pipeline.run(
                    paths, kind=kind, dry_run=dry_run, report_path=report, progress=progress
                )
        except EmbeddingError as e:
            raise fail(str(e), "usage") from None
    result.print(out, per_file=len(result.documents) <= 30)
    if report is not None:
        out.print(f"Report written to {report}.")
    if not result.ok:
        raise typer.Exit(EXIT["failure"])


# --- reading --------------------------------------------------------------------------


@app.command()
def stats(
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", help="table, json or csv (kind, name, count: one row each)"),
    ] = OutputFormat.table,
) -> None:
    """Counts of nodes by type and relationships by type, and the state of the indexes."""
    settings = settings_from(data_dir, backend)
    with friendly_errors(), opened_store(settings) as store:
        s = store.stats()
    if fmt is OutputFormat.json:
        out.print_json(
            json.dumps(
                {
                    "backend": s.backend,
                    "documents": s.documents,
                    "nodes": s.nodes,
                    "relationships": s.relationships,
                    "indexes": [asdict(i) for i in s.indexes],
                }
            )
        )
        return
    if fmt is OutputFormat.csv:  # it printed the tables: --format csv was ignored
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["kind", "name", "count"])
        w.writerow(["documents", "", s.documents])
        w.writerows(["node", label, n] for label, n in sorted(s.nodes.items()))
        w.writerows(["relationship", t, n] for t, n in sorted(s.relationships.items()))
        typer.echo(buf.getvalue(), nl=False)
        return
    nodes = Table("node type", "count", title=f"{s.backend}: {s.documents} documents")
    for label, n in sorted(s.nodes.items()):
        nodes.add_row(label, str(n))
    rels = Table("relationship", "count")
    for t, n in sorted(s.relationships.items()):
        rels.add_row(t, str(n))
    idx = Table("index", "type", "on", "state")
    for i in s.indexes:
        idx.add_row(i.name, i.kind, f"{i.label}({', '.join(i.properties)})", i.state)
    out.print(nodes, rels, idx)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; values are read as JSON when they parse, else as strings."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param '{pair}' is not of the form name=value.")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params


def print_rows(
    columns: list[str], rows: list[list[Any]], fmt: OutputFormat, note: str | None = None
) -> None:
    """Rows as a rich table, JSON records, or CSV (nested values as JSON text)."""
    if fmt is OutputFormat.json:
        records = [dict(zip(columns, r, strict=False)) for r in rows]
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2, default=str))
    elif fmt is OutputFormat.csv:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        for r in rows:
            w.writerow([_csv_cell(v) for v in r])
        typer.echo(buf.getvalue(), nl=False)
    else:
        table = Table(*columns)
        for r in rows:
            table.add_row(*(v if isinstance(v, str) else _json(v) for v in r))
        out.print(table)
    if note:
        err.print(note)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _csv_cell(value: Any) -> Any:
    """Scalars as they are; lists and nodes as JSON text, so a CSV cell stays one cell."""
    return value if value is None or isinstance(value, str | int | float) else _json(value)


@app.command()
def cypher(
    query: Annotated[str, typer.Argument(help="A reading Cypher query (MATCH … RETURN …).")],
    param: Annotated[
        list[str],
        typer.Option("--param", "-p", help="name=value, used as $name in the query (repeatable)."),
    ] = [],  # noqa: B006
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table, json or csv.")
    ] = OutputFormat.table,
    timeout: Annotated[float | None, typer.Option(help="Time limit in seconds.")] = None,
    limit: Annotated[int | None, typer.Option(help="Row cap.")] = None,
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
) -> None:
    """Run a read-only Cypher query (time- and row-limited)."""
    settings = settings_from(data_dir, backend)
    with friendly_errors():
        params = parse_params(param)
        if timeout is not None and timeout <= 0:
            raise ValueError("--timeout must be a positive number of seconds.")
        if limit is not None and limit <= 0:
            raise ValueError("--limit must be a positive number of rows.")
        from impact_graph.queries.run import run_cypher

        with opened_store(settings) as store:
            # The same checks and sentences as POST /cypher (a syntax error names its
            # line and column instead of echoing FalkorDB's errMsg/errCtx text).
            res = run_cypher(
                store,
                query,
                params,
                timeout_s=timeout or settings.query_timeout_s,
                row_cap=limit or settings.query_row_cap,
            )
    note = (
        f"Only the first {res.row_cap} rows are shown (row cap); add a LIMIT or raise --limit."
        if res.truncated
        else None
    )
    print_rows(res.columns, res.rows, fmt, note)


@app.command()
def sparql(
    query: Annotated[
        str, typer.Argument(help="A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE).")
    ],
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", help="table, json or csv (CONSTRUCT/DESCRIBE: Turtle)."),
    ] = OutputFormat.table,
    timeout: Annotated[float | None, typer.Option(help="Time limit in seconds.")] = None,
    limit: Annotated[int | None, typer.Option(help="Row cap.")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run a read-only SPARQL query on the RDF view (time- and row-limited), as /sparql.

    The prefixes ig:, skos:, prov:, rdfs: and the others of /sparql need no PREFIX line."""
    from impact_graph.ontology import load_schema
    from impact_graph.queries.run import sparql_value
    from impact_graph.rdf import sparql as sp
    from impact_graph.rdf.mapping import default_prefixes

    settings = settings_from(data_dir, None)
    with friendly_errors():
        if timeout is not None and timeout <= 0:
            raise ValueError("--timeout must be a positive number of seconds.")
        if limit is not None and limit <= 0:
            raise ValueError("--limit must be a positive number of rows.")
        prefixes = default_prefixes(load_schema())
        info = sp.analyse(query, prefixes)
        with opened_rdf_view(settings) as view:
            raw = sp.run_query(
                view,
                query,
                prefixes=prefixes,
                timeout_s=timeout or settings.query_timeout_s,
                row_cap=limit or settings.query_row_cap,
                info=info,
            )
            mapping = getattr(view, "mapping", None)
            if raw.form == "graph":
                sys.stdout.buffer.write(sp.serialize(raw, "text/turtle", prefixes))
                sys.stdout.flush()
                return
    if raw.form == "ask":
        typer.echo(
            json.dumps({"boolean": raw.boolean})
            if fmt is OutputFormat.json
            else ("yes" if raw.boolean else "no")
        )
        return
    rows = [
        [sparql_value(b[v], mapping) if v in b else None for v in raw.vars] for b in raw.bindings
    ]
    note = (
        f"Only the first {raw.row_cap} rows are shown (row cap); add a LIMIT or raise --limit."
        if raw.truncated
        else None
    )
    print_rows(list(raw.vars), rows, fmt, note)


@app.command()
def candidates(
    label: Annotated[
        str | None,
        typer.Option(
            "--label", help="Only this class, e.g. Intervention or Interventie, Actor, Doelgroep."
        ),
    ] = None,
    min_documents: Annotated[
        int, typer.Option("--min-documents", help="Only names found in at least N documents.")
    ] = 1,
    limit: Annotated[int, typer.Option("--limit", help="Number of rows.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON records instead of a table.")
    ] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV instead of a table.")] = False,
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
) -> None:
    """Names no vocabulary knows (status candidate), most-mentioned first, for review.

    Documents and mentions are counted when you ask (sources and MENTIONS edges), so
    they hold over all documents, not just the last one written."""
    from impact_graph.candidates import candidates_csv, list_candidates, stored_documents
    from impact_graph.ontology import load_schema

    settings = settings_from(data_dir, backend)
    with friendly_errors():
        if as_json and as_csv:
            raise ValueError("--json and --csv: choose one output format.")
        schema = load_schema()
        with opened_store(settings) as store:
            rows, total = list_candidates(
                store, schema, label=label, min_documents=min_documents, limit=limit
            )
            documents = stored_documents(store) if not rows else 0
    fmt = OutputFormat.json if as_json else OutputFormat.csv if as_csv else OutputFormat.table
    if fmt is OutputFormat.json:
        typer.echo(json.dumps([c.as_dict() for c in rows], ensure_ascii=False, indent=2))
    elif fmt is OutputFormat.csv:
        typer.echo(candidates_csv(rows), nl=False)  # the same file as the web UI's download
    elif rows:
        table = Table(
            "type", "name", "aliases", "documents", "mentions", "e.g. in",
            title=f"{len(rows)} of {total} candidate entities (not in any vocabulary)",
        )  # fmt: skip
        for c in rows:
            table.add_row(
                c.label_nl,
                c.name,
                ", ".join(c.aliases),
                str(c.documents),
                str(c.mentions),
                c.sample_title or c.sample_document,
            )
        out.print(table)
    if not rows:
        err.print(_no_candidates(documents, label, min_documents))
    elif total > len(rows):
        err.print(f"Showing {len(rows)} of {total}; raise --limit to see more.")


def _no_candidates(documents: int, label: str | None, min_documents: int) -> str:
    """Why the candidate list is empty, in one sentence: an empty store is told apart
    from filters that leave nothing, so nobody mistakes one for the other."""
    if not documents:
        return "The store holds no documents yet: ingest some with `impact-graph ingest PATH`."
    filters = (f" --label {label}" if label else "") + (
        f" --min-documents {min_documents}" if min_documents > 1 else ""
    )
    if filters:
        return f"No candidate entities match{filters} among the {documents} stored documents."
    return (
        f"No candidate entities: every name in the {documents} stored documents is in a vocabulary."
    )


def results_title(total: int, q: str) -> str:
    """The search table's title: the search keeps its best ``MAX_CANDIDATES``, so that
    many means "at least", not a count ("150 results for: ..." for every broad question)."""
    from impact_graph.search.service import MAX_CANDIDATES

    if total >= MAX_CANDIDATES:
        return f"the {MAX_CANDIDATES} best results for: {q}"
    return f"{total} result{'' if total == 1 else 's'} for: {q}"


#: Columns of ``search --format csv``: the table's facts, one cell each, so a spreadsheet
#: can filter on recognition or programme (--format json keeps the nesting).
SEARCH_CSV_COLUMNS = (
    "rank", "id", "type", "name", "score", "recognition", "evidence", "programmes",
    "challenges", "target_groups", "areas", "instance_of", "quote", "quote_document", "arms",
)  # fmt: skip


def search_csv(results: list[SearchResult], first: int = 1) -> str:
    """Search results as CSV, one row per result, like the other commands' ``--format
    csv`` (stats, cypher, sparql): list-valued facts are joined with '; ' so each stays one
    cell; ``arms`` is filled with ``--explain`` only. Nested details (effects, every
    quote, instances) are in ``--format json``."""

    def joined(items: Any) -> str:
        return "; ".join(dict.fromkeys(str(i) for i in items if i))

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(SEARCH_CSV_COLUMNS)
    for rank, r in enumerate(results, start=first):
        quote = r.quotes[0] if r.quotes else None
        arms = (
            joined(f"{a} #{s.rank}" if s.rank else f"{a} {s.score:g}" for a, s in r.explain.items())
            if r.explain
            else ""
        )
        w.writerow(
            [
                rank,
                r.id,
                r.type,
                r.name,
                f"{r.score:.4f}",
                r.recognition,
                joined(e.type for e in r.evidence),
                joined(p.name for p in r.programmes),
                joined(r.challenges),
                joined(r.target_groups),
                joined(r.areas),
                joined(g.name for g in r.instance_of),
                quote.text if quote else "",
                (quote.document_title or quote.document_id) if quote else "",
                arms,
            ]
        )
    return buf.getvalue()


def why_lines(r: SearchResult) -> list[str]:
    """The "why" column of one search result: what it matched, its own recognition and
    evidence, where it is used, which general intervention it is a local instance of (or
    its local instances, each with its own rating), a quote, and the arms when explained."""
    why = (
        [f"concepts: {', '.join(c.label for c in r.matched_concepts[:4])}"]
        if r.matched_concepts
        else []
    )
    if r.recognition:
        why.append(f"recognition: {r.recognition}")
    if r.evidence:
        why.append(f"evidence: {', '.join(dict.fromkeys(e.type for e in r.evidence if e.type))}")
    if r.programmes:
        why.append(f"programmes: {', '.join(p.name for p in r.programmes[:3])}")
    if r.instance_of:
        why.append(f"local instance of: {', '.join(g.name for g in r.instance_of)}")
    if r.instances:
        why.append(
            "local instances: "
            + "; ".join(
                x.name
                + (f" ({x.recognition})" if x.recognition else "")
                + (f" in {', '.join(p.name for p in x.programmes[:3])}" if x.programmes else "")
                for x in r.instances[:4]
            )
        )
    if r.quotes:
        why.append(f"\u201c{r.quotes[0].text}\u201d ({r.quotes[0].document_title})")
    if r.explain:
        why.append(
            "arms: "
            + ", ".join(
                f"{a} #{s.rank}" if s.rank else f"{a} {s.score:g}" for a, s in r.explain.items()
            )
        )
    return why


@app.command()
def search(
    q: Annotated[str, typer.Argument(help="The question, e.g. 'wat helpt tegen eenzaamheid'.")],
    challenge: Annotated[
        list[str], typer.Option("--challenge", help="Keep this challenge (repeatable).")
    ] = [],  # noqa: B006
    target_group: Annotated[
        list[str], typer.Option("--target-group", help="Keep this target group (repeatable).")
    ] = [],  # noqa: B006
    min_recognition: Annotated[
        str | None,
        typer.Option("--min-recognition", help="At least this level, e.g. 'Goed onderbouwd'."),
    ] = None,
    kind: Annotated[
        list[str],
        typer.Option("--type", help="intervention, working_element or chunk (repeatable)."),
    ] = [],  # noqa: B006
    limit: Annotated[int, typer.Option(help="Number of results.")] = 10,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each arm's rank and score.")
    ] = False,
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="table, json (the whole answer, nested) or csv (one row per result; "
            "lists joined with '; ').",
        ),
    ] = OutputFormat.table,
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
) -> None:
    """ "What works" search: interventions, working elements and text, with their evidence."""
    from impact_graph.ingest.embed import Embedder, EmbeddingError
    from impact_graph.search import SearchFilters, SearchRequest, SearchService

    settings = settings_from(data_dir, backend)
    with friendly_errors():
        request = SearchRequest(
            q=q,
            limit=limit,
            explain=explain,
            filters=SearchFilters(
                challenge=challenge,
                target_group=target_group,
                min_recognition=min_recognition,
                type=kind,  # type: ignore[arg-type]
            ),
        )
        embedder = Embedder.from_settings(settings)
        try:
            with opened_store(settings) as store:
                answer = SearchService(store, embedder=embedder).search(request)
        except EmbeddingError as e:
            raise fail(str(e), "usage") from None
        finally:
            embedder.close()
    if fmt is OutputFormat.json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    if fmt is OutputFormat.csv:
        typer.echo(search_csv(answer.results, first=request.offset + 1), nl=False)
        for note in answer.notes:
            err.print(note)
        return
    table = Table("#", "type", "name", "score", "why", title=results_title(answer.total, q))
    for i, r in enumerate(answer.results, start=request.offset + 1):
        table.add_row(str(i), r.type, r.name, f"{r.score:.3f}", "\n".join(why_lines(r)))
    out.print(table)
    for note in answer.notes:
        err.print(note)


# --- serve ----------------------------------------------------------------------------


keys_app = typer.Typer(help="API keys for the HTTP API's writes.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def keys_new() -> None:
    """Print a new API key and the sha256 hash to put in IMPACT_GRAPH_API_KEYS."""
    from impact_graph.api.auth import new_key

    key, digest = new_key()
    out.print(f"key:  {key}", highlight=False, soft_wrap=True)
    out.print(f"hash: {digest}", highlight=False, soft_wrap=True)
    err.print(
        "Give the key to the client (it is not stored anywhere); add the hash to "
        "IMPACT_GRAPH_API_KEYS (comma-separated) and restart the API."
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")
    ] = "info",
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log every request (uvicorn's access log; ~0.07 ms CPU per request, so off "
            "by default -- a reverse proxy in front usually logs requests already)."
        ),
    ] = False,
) -> None:
    """Run the HTTP API (FastAPI with uvicorn); the docs are at /docs."""
    settings = settings_from(data_dir, backend)
    with friendly_errors():
        try:
            import uvicorn

            from impact_graph.api import create_app
            from impact_graph.api.app import missing_speedups, server_options
        except ImportError as e:
            raise fail(
                f"the API needs its extra packages ({e.name} is missing); install "
                "impact-graph[api].",
                "usage",
            ) from None
        problem = port_problem(host, port)
        if problem:
            raise fail(problem, "usage")
        api = create_app(settings)
        out.print(f"impact-graph API on http://{host}:{port} (docs at /docs), {settings.backend}.")
        missing = missing_speedups()
        if missing:
            out.print(
                f"[yellow]{' and '.join(missing)} not installed: uvicorn falls back to a "
                "slower HTTP parser or event loop; install impact-graph[api] for them.[/]"
            )
        options = server_options(log_level=log_level, access_log=access_log)
        uvicorn.run(api, host=host, port=port, **options)


def port_problem(host: str, port: int) -> str | None:
    """A sentence when ``host:port`` cannot be listened on, else None.

    Why: uvicorn found out only after the app had started (store opened, model loading)
    and said "[Errno 98] error while attempting to bind on address ... address already
    in use" with exit code 3, which this CLI uses for "store unavailable". Bound with
    SO_REUSEADDR, as uvicorn binds, so a port in TIME_WAIT is not called taken."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return f"--host {host!r} is not a known host name or address; use e.g. 127.0.0.1."
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except PermissionError:
            return f"--port {port}: this user may not listen on it; choose a port above 1023."
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return (
                    f"--port {port} on {host} is already in use (another impact-graph serve?); "
                    "stop that one or choose another port, e.g. --port "
                    f"{port + 1 if port < 65535 else 8000}."
                )
            return f"--host {host!r} cannot be listened on ({e.strerror}); use e.g. 127.0.0.1."
    return None


# --- RDF view: export and validate ------------------------------------------------------


class ExportFormat(StrEnum):
    ttl = "ttl"
    jsonld = "jsonld"
    nt = "nt"
    graphml = "graphml"
    csv = "csv"


@contextmanager
def opened_rdf_view(settings: Settings) -> Iterator[Any]:
    """The RDF view of the settings; reading commands never create an empty one."""
    from impact_graph.rdf.view import open_view, view_dir

    if settings.rdf == "off":
        raise fail(
            "the RDF view is off (IMPACT_GRAPH_RDF=off); set it to oxigraph or remote.", "usage"
        )
    if settings.rdf == "oxigraph" and not (view_dir(settings) / "oxigraph").exists():
        raise fail(
            f"there is no RDF view in {view_dir(settings)}: ingest documents first "
            "(`impact-graph ingest`), or point IMPACT_GRAPH_DATA_DIR at an existing data "
            "directory.",
            "usage",
        )
    view = open_view(settings)
    try:
        yield view
    finally:
        if view is not None:
            view.close()


def check_output(output: Path | None, *, directory: bool) -> None:
    """Fail before the export runs when ``--output`` cannot be written, with a sentence
    naming the path and what to do (it was Python's "[Errno 2] No such file or
    directory" after the whole export had been built)."""
    if output is None:
        return
    if directory:
        if output.exists() and not output.is_dir():
            raise fail(
                f"--output {output} is a file, but --format csv writes nodes.csv and "
                "edges.csv into a folder: give a folder (it is created if missing).",
                "usage",
            )
        return
    if output.is_dir():
        raise fail(
            f"--output {output} is a folder; give a file name inside it, e.g. "
            f"{output / 'graph.ttl'}.",
            "usage",
        )
    if not output.parent.is_dir():
        raise fail(
            f"--output {output}: the folder {output.parent} does not exist; create it "
            f"first (mkdir -p {output.parent}) or choose another path.",
            "usage",
        )


@app.command()
def export(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="ttl, jsonld, nt, graphml or csv.")
    ] = ExportFormat.ttl,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (a directory for csv); default: stdout."
        ),
    ] = None,
    programme: Annotated[
        str | None,
        typer.Option(
            "--programme", help="Only the documents of this programme (id or exact name)."
        ),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Export the graph (or one programme) from the RDF view."""
    from impact_graph.rdf.export import export as do_export

    settings = settings_from(data_dir, None)
    check_output(output, directory=fmt is ExportFormat.csv)
    with friendly_errors(), opened_rdf_view(settings) as view:
        data, counts = do_export(view, fmt.value, output, programme=programme)
    if data is not None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    summary = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    err.print(f"exported {summary}" + (f" to {output}" if output else "") + ".", highlight=False)


@app.command()
def validate(
    data_dir: DataDirOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many violations.", min=1)] = 50,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="table (sentences) or json")
    ] = ReportFormat.table,
) -> None:
    """Check the RDF view against ontology/shapes.ttl (SHACL); exit 1 on violations."""
    from impact_graph.rdf.validate import validate as do_validate

    settings = settings_from(data_dir, None)
    with friendly_errors(), opened_rdf_view(settings) as view:
        report = do_validate(view)
    if fmt is ReportFormat.json:
        typer.echo(
            json.dumps(
                {
                    "conforms": report.conforms,
                    "triples": report.triples,
                    "violations": [
                        asdict(v) | {"sentence": v.sentence()} for v in report.violations
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        for v in report.violations[:limit]:
            typer.echo(v.sentence())
        more = len(report.violations) - limit
        if more > 0:
            typer.echo(f"... and {more} more (use --limit or --format json).")
        verdict = (
            "The graph conforms to the shapes."
            if report.conforms
            else f"{len(report.violations)} violation(s) of the shapes."
        )
        err.print(
            f"{verdict} Checked {report.triples:,} triples in {report.elapsed_s:.1f} s.",
            highlight=False,
        )
    if not report.conforms:
        raise typer.Exit(EXIT["failure"])


@app.command()
def check(
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many differences.", min=1)] = 50,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="table (sentences) or json")
    ] = ReportFormat.table,
    rebuild_vector_indexes: Annotated[
        bool,
        typer.Option(
            "--rebuild-vector-indexes",
            help="First rebuild FalkorDB's vector indexes (drops the deleted vectors they "
            "keep; built in the background, search uses the old index meanwhile).",
        ),
    ] = False,
) -> None:
    """Compare the graph store with the RDF view, per document; exit 1 on differences."""
    from impact_graph.check import check as do_check
    from impact_graph.check import rebuild_vector_indexes as do_rebuild

    settings = settings_from(data_dir, backend)
    if settings.rdf == "off":
        raise fail(
            "the RDF view is off (IMPACT_GRAPH_RDF=off), so there is nothing to compare the "
            "graph store with; set it to oxigraph or remote.",
            "usage",
        )
    with friendly_errors(), opened_store(settings) as store:
        view = getattr(store, "view", None)
        if view is None:  # pragma: no cover - open_store always wraps when rdf is on
            raise fail("the store was opened without its RDF view; report this as a bug.")
        if rebuild_vector_indexes:
            started = do_rebuild(store)
            err.print(
                f"Rebuilding the vector index of {', '.join(started)} in the background."
                if started
                else "No vector index to rebuild (none holds vectors, or it is being built).",
                highlight=False,
            )
        report = do_check(store, view)
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for d in report.differences[:limit]:
            typer.echo(d.sentence)
        more = len(report.differences) - limit
        if more > 0:
            typer.echo(f"... and {more} more (use --limit or --format json).")
        for note in report.notes:
            err.print(note, highlight=False)
        verdict = (
            "The graph store and the RDF view agree."
            if report.ok
            else f"{len(report.differences)} difference(s) in "
            f"{len(report.documents_differing)} document(s)."
        )
        err.print(
            f"{verdict} Compared {report.documents:,} documents, {report.nodes:,} nodes and "
            f"{report.edges:,} edges (per document) in {report.elapsed_s:.1f} s.",
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(EXIT["failure"])


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
