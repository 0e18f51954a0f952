"""`Document`: what a reader hands to the NLP stage.

Readers turn a file (or one record of a tabular/bibliographic file) into a `Document`:
plain text with the offsets of its sections, plus metadata. They never touch a database
and never interpret domain content; the NLP stage never opens files.
"""

from __future__ import annotations

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
