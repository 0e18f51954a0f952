"""Word documents (.docx) → plain text with sections (python-docx).

Headings are recognised by paragraph style ("Heading 2", and the Dutch Word names
"Kop 2", "Titel"), the way authors actually mark structure; table cells are kept as
" | "-joined rows so partner lists and budgets in tables reach the NLP stage.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.readers._common import Parsed, TextBuilder

_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "titel"}


def _heading_level(par: Paragraph, names: dict[str | None, str | None] | None = None) -> int | None:
    """0 for a title paragraph, 1-9 for a heading, None for body text.

    ``names`` caches style id -> style name for one document: ``Paragraph.style`` looks
    the id up in the styles part by XPath on every call, about half of reading the
    demo's Word files (~10 ms of ~22 ms each); a document uses a handful of styles."""
    style_id = par._p.style  # the paragraph's style id, what `Paragraph.style` looks up
    if names is not None and style_id in names:
        name = names[style_id]
    else:
        try:
            name = (par.style.name if par.style is not None else "") or ""
        except (KeyError, ValueError):
            name = None
        if names is not None:
            names[style_id] = name
    if name is None:
        return None
    m = _HEADING_STYLE.match(name.strip())
    if m:
        return int(m.group(1))
    if name.strip().lower() in _TITLE_STYLES:
        return 0
    return None


def _table_rows(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = cell.text.strip()
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def read_docx(data: bytes, path: Path) -> Parsed:
    """Paragraphs and tables in document order; the core title or Title paragraph as title."""
    try:
        document = docx.Document(io.BytesIO(data))
    except (
        PackageNotFoundError,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        # Damage inside the zip (found by tests/test_hostile_input.py): a corrupt deflate
        # stream, a truncated member, an unknown compression method, broken XML.
        zlib.error,
        EOFError,
        NotImplementedError,
        SyntaxError,
    ) as e:
        raise IngestError(
            path,
            f"the Word file is damaged or not a .docx ({type(e).__name__})",
            "open it in Word or LibreOffice, save it as .docx and ingest it again",
        ) from None
    builder = TextBuilder()
    title = ""
    names: dict[str | None, str | None] = {}
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            level = _heading_level(item, names)
            if level is None:
                builder.add_block(item.text)
            else:
                if level == 0 and not title:
                    title = item.text.strip()
                builder.add_heading(item.text, level)
        elif isinstance(item, Table):
            for row in _table_rows(item):
                builder.add_block(row)
    plain, sections = builder.build()
    core = document.core_properties
    meta: dict[str, object] = {}
    if core.author and core.author != "python-docx":  # python-docx's template default
        meta["authors"] = [core.author]
    if core.title:
        title = core.title
    if not title:
        first = builder.first_heading
        title = first[0] if first else ""
    return Parsed(text=plain, title=title, sections=sections, meta=meta)
