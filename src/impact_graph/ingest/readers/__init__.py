"""Readers: files → `Document`s, the first stage of the pipeline.

Use :func:`read_file` in the pipeline: it returns a :class:`ReadResult` with the good
documents *and* the errors of bad records inside a multi-record file (a CSV row with no
title, a JSON line that does not parse), so one bad row never costs the others and never
disappears silently. A problem with the file as a whole (missing, empty, encrypted,
damaged, too big, unknown extension, required column missing) raises `IngestError`.

:func:`read_path` is the strict variant for single documents and tests: it returns the
list of documents and raises the first row error instead of returning it.
:func:`iter_files` expands the paths given on the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from impact_graph.ingest.document import Document
from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.kinds import check_kind
from impact_graph.ingest.readers._common import (
    Parsed,
    decode_text,
    make_document,
    read_bytes,
)
from impact_graph.ingest.readers.docx import read_docx
from impact_graph.ingest.readers.html import read_html
from impact_graph.ingest.readers.markdown import read_markdown
from impact_graph.ingest.readers.pdf import read_pdf
from impact_graph.ingest.readers.records import (
    RecordMapping,
    load_mapping,
    read_bib,
    read_csv,
    read_json,
    read_jsonl,
    read_ris,
)
from impact_graph.ingest.readers.text import read_text

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "IngestError",
    "ReadResult",
    "iter_files",
    "load_mapping",
    "read_file",
    "read_path",
]

DEFAULT_MAX_BYTES = 20_000_000

# extension → format name (Document.format)
_FORMATS: dict[str, str] = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".ris": "ris",
    ".bib": "bib",
}
#: File extensions the readers accept (lower-case, with the dot).
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_FORMATS)

_TEXT_READERS: dict[str, Callable[[str, Path], Parsed]] = {
    "md": read_markdown,
    "txt": read_text,
    "html": read_html,
}
_BINARY_READERS: dict[str, Callable[[bytes, Path], Parsed]] = {
    "pdf": read_pdf,
    "docx": read_docx,
}
_RECORD_READERS = {
    "csv": read_csv,
    "json": read_json,
    "jsonl": read_jsonl,
    "ris": read_ris,
    "bib": read_bib,
}


@dataclass(slots=True)
class ReadResult:
    """What one file gave: its documents and the errors of records that were skipped.

    ``errors`` is empty for single-document formats (their problems raise instead).
    """

    documents: list[Document] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)


def format_of(path: Path) -> str:
    """The format name for a path, or an `IngestError` listing the supported extensions."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            path,
            f"files ending in {path.suffix or '(no extension)'!r} are not supported",
            f"convert it to one of {', '.join(sorted(SUPPORTED_EXTENSIONS))}",
        )
    return fmt


def read_file(
    path: Path,
    *,
    root: Path | None = None,
    kind: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    mapping: RecordMapping | None = None,
) -> ReadResult:
    """Read one file into documents (one per record for tabular/bibliographic files).

    ``root`` is the folder or file named on the command line: ids are derived from the
    path relative to it (its own name included), so they do not depend on where the
    command runs. ``kind`` is the ``--kind`` option; an unknown value raises
    ``ValueError`` naming the allowed values. Whole-file problems raise `IngestError`;
    bad records are returned in ``ReadResult.errors``.
    """
    explicit = check_kind(kind)
    path = Path(path)
    fmt = format_of(path)
    data = read_bytes(path, max_bytes)
    if fmt in _BINARY_READERS:
        parsed = [_BINARY_READERS[fmt](data, path)]
        errors: list[IngestError] = []
    else:
        text = decode_text(data, path)
        if fmt in _TEXT_READERS:
            parsed = [_TEXT_READERS[fmt](text, path)]
            errors = []
        else:
            parsed, errors = _RECORD_READERS[fmt](text, path, mapping or load_mapping())
    documents: list[Document] = []
    for p in parsed:
        if not p.text.strip():
            raise IngestError(path, "the file holds no text", "add content or remove the file")
        documents.append(make_document(p, path=path, root=root, fmt=fmt, kind=explicit))
    if len({d.id for d in documents}) < len(documents):
        # Records sharing an id would overwrite each other's facts; record keys are made
        # unique above and make_id hashes long keys, so this is a last guard.
        raise IngestError(
            path,
            "two records would get the same document id",
            "give each record a unique id column (or title) and ingest it again",
        )
    return ReadResult(documents, errors)


def read_path(
    path: Path,
    *,
    root: Path | None = None,
    kind: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Document]:
    """Strict :func:`read_file`: the documents, or the first error (row errors too)."""
    result = read_file(path, root=root, kind=kind, max_bytes=max_bytes)
    if result.errors:
        raise result.errors[0]
    return result.documents


def _visible(path: Path, base: Path) -> bool:
    rel = path.relative_to(base).parts
    return not any(part.startswith((".", "_")) for part in rel)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Expand files and folders into the files to read, in a stable sorted order.

    Folders are walked recursively; hidden files and folders (".x"), folders starting
    with "_" (sources kept beside a corpus), and ``README.md`` files are skipped. Files
    named explicitly are always yielded, whatever their extension, so that an
    unsupported one is reported rather than silently dropped; inside folders only
    supported extensions are taken. A path that does not exist is yielded as is, so the
    reader reports it.
    """
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = sorted(
                (p for p in given.rglob("*") if p.is_file() and _visible(p, given)),
                key=lambda p: p.relative_to(given).as_posix(),
            )
            for p in found:
                if p.name.lower() == "readme.md" or p.suffix.lower() not in SUPPORTED_EXTENSIONS:
                    continue
                if p.resolve() not in seen:
                    seen.add(p.resolve())
                    yield p
        elif given.resolve() not in seen:
            seen.add(given.resolve())
            yield given
