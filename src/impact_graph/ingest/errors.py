"""`IngestError`: one bad input, said in one sentence the user can act on.

The pipeline invariant is that bad input never stops a batch and never disappears
silently, so every reader failure becomes an `IngestError` carrying the file, the reason
and what to do about it. Errors for one record of a multi-record file also carry the row
number, so the rest of the file can still be ingested.
"""

from __future__ import annotations

from pathlib import Path


def record_place(row: int | None, line: int | None) -> str:
    """Where in a file a failure applies, in the user's words: "row 3", "line 12" or ""."""
    if row is not None:
        return f"row {row}"
    return f"line {line}" if line is not None else ""


class IngestError(Exception):
    """A file (or one record in it) that cannot be read.

    ``reason`` says what is wrong, ``hint`` what to do; ``str()`` joins them with the
    path (and row) into one sentence, e.g. ``"x.pdf: the PDF is encrypted; remove the
    password (e.g. print to PDF) and ingest it again."``.
    """

    def __init__(
        self,
        path: Path | str,
        reason: str,
        hint: str = "",
        *,
        row: int | None = None,
        line: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        self.hint = hint
        self.row = row  # record number in a multi-record file (CSV: spreadsheet row)
        self.line = line  # line in the file where that applies (YAML, JSONL)
        super().__init__(str(self))

    @property
    def where(self) -> str:
        """The path plus row or line, as the user would look it up."""
        at = record_place(self.row, self.line)
        return f"{self.path.as_posix()} {at}" if at else self.path.as_posix()

    def __str__(self) -> str:
        text = f"{self.where}: {self.reason.rstrip('.')}"
        if self.hint:
            text += f"; {self.hint.rstrip('.')}"
        return text + "."

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the error picklable (multiprocessing, logging handlers) with its fields.
        return (_rebuild, (self.path, self.reason, self.hint, self.row, self.line))


def _rebuild(path: Path, reason: str, hint: str, row: int | None, line: int | None) -> IngestError:
    return IngestError(path, reason, hint, row=row, line=line)
