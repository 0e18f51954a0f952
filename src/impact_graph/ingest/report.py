"""`IngestReport`: what one ingest run did, for people (rich table) and scripts (JSON).

The report is how "bad input never disappears silently" reaches the user: every failed
file is listed with the reason and what to do, next to the counts that show the rest
went through.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from impact_graph.ingest.errors import record_place
from impact_graph.ingest.kinds import kind_was_defaulted


@dataclass(slots=True)
class Failure:
    """One input that could not be ingested.

    ``file`` is always the path as given, so a script reading the ``--report`` JSON can
    open it; the record of a multi-record file that failed is in ``row`` (or the line
    the reason applies to in ``line``), not glued onto the path. ``where`` joins them the
    way a person looks it up ("data.csv row 3").
    """

    file: str
    reason: str
    hint: str = ""
    kept_at: str | None = None  # copy in <data_dir>/rejected/, if one was kept
    row: int | None = None  # record number in a multi-record file (CSV: spreadsheet row)
    line: int | None = None  # line of the file the reason applies to (JSON, YAML)

    @property
    def where(self) -> str:
        """The path plus row or line, as the user would look it up."""
        at = record_place(self.row, self.line)
        return f"{self.file} {at}" if at else self.file


@dataclass(slots=True)
class DocumentOutcome:
    """What happened to one document, and which kind was used and why."""

    file: str
    doc_id: str
    status: str  # "new" | "changed" | "unchanged" | "failed"
    kind: str = ""
    kind_reason: str = ""
    chunks: int = 0


@dataclass
class IngestReport:
    """Counts, failures and timings of one run (``dry_run`` runs count what *would* be written)."""

    dry_run: bool = False
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    files: int = 0
    chunks: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    nodes: Counter[str] = field(default_factory=Counter)
    edges: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    documents: list[DocumentOutcome] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)  # half-written docs of a killed run
    embedded: int = 0  # texts encoded by the model (cache misses)
    embed_cached: int = 0  # texts served from the embedding cache
    seconds: float = 0.0
    stage_seconds: Counter[str] = field(default_factory=Counter)  # where the time went
    notes: list[str] = field(default_factory=list)

    # --- derived figures ------------------------------------------------------------

    @property
    def processed(self) -> int:
        """Documents read (written, skipped as unchanged, or failed)."""
        return self.new + self.changed + self.unchanged + self.failed

    @property
    def docs_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def failure_reasons(self) -> list[str]:
        """The reason of each failed entry of ``documents``, in their order ("" for the
        others), so a per-file table can say why a file failed next to the file.

        A failed file is recorded twice -- a `Failure` (file, row or line, reason, hint)
        and a failed `DocumentOutcome` (the file) -- in the same order, so the failures of
        one file are paired with its failed outcomes one by one.
        """
        pending: dict[str, list[Failure]] = {}
        for f in self.failures:
            pending.setdefault(f.file, []).append(f)
        out = []
        for d in self.documents:
            queue = pending.get(d.file) if d.status == "failed" else None
            out.append(queue.pop(0).reason.rstrip(".") if queue else "")
        return out

    def kinds(self) -> list[tuple[str, str, int]]:
        """(kind, reason, number of documents), most frequent first."""
        c = Counter((d.kind, d.kind_reason) for d in self.documents if d.kind)
        return [(k, r, n) for (k, r), n in c.most_common()]

    def hints(self) -> list[str]:
        """Sentences about what the run did that a user may not expect, with what to do.

        Why: a plan whose kind was only defaulted (no cue word, folder or ``--kind``) and
        whose title is its file name or first line makes no Programme (H39's rule in
        ``nlp._title_is_a_guess``). Without a word here a user whose plans are plain
        files saw no programme and no reason; ``--kind plan`` brings it back.
        """
        defaulted = [
            d for d in self.documents if d.status != "failed" and kind_was_defaulted(d.kind_reason)
        ]
        if not defaulted:
            return []
        n = len(defaulted)
        which = "1 document was" if n == 1 else f"{n} documents were"
        return [
            f"{which} read as a plan only by default (no cue words, folder or --kind), so a "
            "title taken from its file name or first line named no Programme; if "
            f"{'it is a plan' if n == 1 else 'they are plans'}, ingest again with --kind plan "
            "(or keep plans in a folder named 'plan') to name their programmes."
        ]

    # --- recording ------------------------------------------------------------------

    def fail(
        self,
        file: str,
        reason: str,
        hint: str = "",
        kept_at: str | None = None,
        *,
        row: int | None = None,
        line: int | None = None,
    ) -> Failure:
        """Record a failed input; ``file`` is the bare path, the record in ``row``/``line``."""
        f = Failure(file, reason, hint, kept_at, row, line)
        self.failures.append(f)
        return f

    # --- output ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "documents": {
                "new": self.new,
                "changed": self.changed,
                "unchanged": self.unchanged,
                "failed": self.failed,
                "processed": self.processed,
            },
            "files": self.files,
            "chunks": self.chunks,
            "entities": dict(sorted(self.entities.items())),
            "nodes": dict(sorted(self.nodes.items())),
            "edges": dict(sorted(self.edges.items())),
            "failures": [asdict(f) for f in self.failures],
            "kinds": [{"kind": k, "reason": r, "documents": n} for k, r, n in self.kinds()],
            "per_document": [
                asdict(d) | ({"reason": r} if d.status == "failed" else {})
                for d, r in zip(self.documents, self.failure_reasons(), strict=True)
            ],
            "rolled_back": self.rolled_back,
            "embedding": {"encoded": self.embedded, "cached": self.embed_cached},
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "documents_per_s": round(self.docs_per_s, 2),
            "chunks_per_s": round(self.chunks_per_s, 2),
            "notes": self.notes,
            "hints": self.hints(),
        }

    def write_json(self, path: Path) -> None:
        """Write the JSON report, creating the folder; errors name the file."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        except OSError as e:
            raise ValueError(
                f"cannot write the report to {path} ({e.strerror}); choose another --report path."
            ) from None

    def render(self, per_file: bool = False) -> Group:
        """The rich summary: counts, entities/edges by type, kinds, failures."""
        verb = "would write" if self.dry_run else "written"
        title = f"Ingest {'(dry run) ' if self.dry_run else ''}— {self.seconds:.1f} s"
        summary = Table(title=title, show_header=False)
        summary.add_column("what")
        summary.add_column("count", justify="right")
        summary.add_row("documents new", str(self.new))
        summary.add_row("documents changed", str(self.changed))
        summary.add_row("documents unchanged (skipped)", str(self.unchanged))
        summary.add_row("documents failed", f"[red]{self.failed}[/red]" if self.failed else "0")
        summary.add_row(f"chunks {verb}", str(self.chunks))
        summary.add_row("documents/s", f"{self.docs_per_s:.1f}")
        summary.add_row("chunks/s", f"{self.chunks_per_s:.1f}")
        summary.add_row("texts embedded (cache hits)", f"{self.embedded} ({self.embed_cached})")
        if self.rolled_back:
            summary.add_row("half-written documents rolled back", str(len(self.rolled_back)))
        parts: list[Any] = [summary]

        if self.entities or self.edges:
            # Summed over the documents of this run: an entity that three documents
            # mention counts three times (96 actors in the demo graph, 413 here), so the
            # title says so; `impact-graph stats` counts the graph itself.
            types = Table(
                title=f"Facts {verb}, counted per document",
                caption="an entity or relationship that n documents state counts n times; "
                "`impact-graph stats` counts the distinct ones in the graph",
            )
            types.add_column("entity type")
            types.add_column("in documents", justify="right")
            types.add_column("relationship")
            types.add_column("in documents", justify="right")
            ents = sorted(self.entities.items())
            rels = sorted(self.edges.items())
            for i in range(max(len(ents), len(rels))):
                e = ents[i] if i < len(ents) else ("", "")
                r = rels[i] if i < len(rels) else ("", "")
                types.add_row(e[0], str(e[1]), r[0], str(r[1]))
            parts.append(types)

        if per_file and self.documents:
            docs = Table(title="Documents")
            for col in ("file", "status", "kind", "why"):
                docs.add_column(col)
            reasons = self.failure_reasons()
            for d, reason in zip(self.documents, reasons, strict=True):
                if d.status == "failed":
                    why = Text(reason or "see the failures below", style="red")
                    docs.add_row(d.file, Text("failed", style="red"), d.kind or "—", why)
                else:
                    docs.add_row(d.file, d.status, d.kind, d.kind_reason)
            parts.append(docs)
        elif self.kinds():
            kinds = Table(title="Kinds used")
            for col in ("kind", "why", "documents"):
                kinds.add_column(col)
            for k, r, n in self.kinds():
                kinds.add_row(k, r, str(n))
            parts.append(kinds)

        for note in self.notes:
            parts.append(f"[yellow]note:[/yellow] {note}")
        for hint in self.hints():
            parts.append(Text("hint: ", style="cyan") + Text(hint))
        return Group(*parts)

    def failure_lines(self) -> list[str]:
        """One sentence per failed input: file, reason, what to do, where it was kept."""
        lines = []
        for f in self.failures:
            line = f"{f.where}: {f.reason.rstrip('.')}"
            if f.hint:
                line += f"; {f.hint.rstrip('.')}"
            line += "."
            if f.kept_at:
                line += f" (copy kept at {f.kept_at})"
            lines.append(line)
        return lines

    def print(self, console: Console, per_file: bool = False) -> None:
        """The summary, then the failures as whole lines (never folded mid-path)."""
        console.print(self.render(per_file=per_file))
        if self.failures:
            console.print(f"[red]{len(self.failures)} input(s) failed:[/red]")
            for line in self.failure_lines():
                console.print(Text("✗ ", style="red") + Text(line), soft_wrap=True)
