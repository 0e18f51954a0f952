"""`Document`: what a reader hands to the NLP stage.

Readers turn a file (or one record of a tabular/bibliographic file) into a `Document`:
plain text with the offsets of its sections, plus metadata. They never touch a database
and never interpret domain content; the NLP stage never opens files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

#: The four kinds of source the pipeline knows, each with its own extraction emphasis.
Kind = Literal["story", "policy", "research", "plan"]
KINDS: tuple[str, ...] = ("story", "policy", "research", "plan")


@dataclass(slots=True)
class Section:
    """A headed part of the text; ``start``/``end`` are character offsets into ``text``."""

    heading: str
    level: int
    start: int
    end: int


@dataclass(slots=True)
class Document:
    """One source document as plain text with sections and metadata.

    ``id`` is stable for the same source path (and record key), so a changed file
    replaces its own facts; ``content_hash`` is over the normalised text plus metadata,
    so an unchanged file is skipped on re-ingest.
    """

    id: str
    path: Path
    text: str
    kind: str  # one of KINDS
    kind_reason: (
        str  # how the kind was decided: "--kind", "front matter", "folder", "detected: ..."
    )
    title: str
    content_hash: str
    format: str  # "md", "txt", "html", "pdf", "docx", "csv", "json", "jsonl", "ris", "bib"
    language: str = "nl"
    sections: list[Section] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # front matter / record fields
    record_key: str | None = None  # for one record of a multi-record file

    def section_at(self, offset: int) -> Section | None:
        """The innermost section that contains ``offset``."""
        best: Section | None = None
        for s in self.sections:
            if s.start <= offset < s.end and (best is None or s.level >= best.level):
                best = s
        return best


#: A pseudonymised document id (`impact_graph.ingest.privacy.pseudonymise_document`):
#: ``document:<kind>-<keyed token of the source id>``.
_PSEUDONYMOUS_ID = re.compile(rf"^document:(?:{'|'.join(KINDS)})-[0-9a-f]+$")


def pseudonymous_id(kind: str, token: str) -> str:
    """The id a pseudonymised document gets: the file name (which may carry a resident's
    name) never shows, only a keyed token of the id the reader gave it."""
    return f"document:{kind}-{token}"


def has_pseudonymous_ids(ids: Iterable[str]) -> bool:
    """Whether any of ``ids`` is a pseudonymised document id (checked once per run)."""
    return any(_PSEUDONYMOUS_ID.match(i) for i in ids)


def same_source_ids(
    source_id: str,
    current_id: str,
    stored_ids: Container[str],
    token_of: Callable[[str], str] | None,
) -> list[str]:
    """Stored documents that come from the same file (or record) as ``current_id``.

    Why: a file's id comes from its path (``source_id``, what the reader gives), but a
    story -- any document that is pseudonymised -- is stored under
    ``document:<kind>-<token of source_id>`` instead. Reading the same file as another
    kind (``--kind story`` after ``plan``, or the other way round) thus gives it another
    id, and without this the old version's facts would stay next to the new ones. The
    caller replaces every id returned here by the current document, as a changed text
    replaces its own facts. ``token_of`` is the pseudonymiser's keyed token, or None
    when no pseudonymised document can be stored (no story ingested, see
    `has_pseudonymous_ids`), so a corpus without stories never needs the key.
    """
    candidates = [source_id]
    if token_of is not None:
        token = token_of(source_id)
        candidates += [pseudonymous_id(k, token) for k in KINDS]
    return [c for c in candidates if c != current_id and c in stored_ids]
