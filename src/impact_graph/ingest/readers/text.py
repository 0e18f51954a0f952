"""Plain text files. Decoding (UTF-8, UTF-16, cp1252, Latin-1, …) happens in
``_common.decode_text``; here the text is only split into paragraphs."""

from __future__ import annotations

import re
from pathlib import Path

from impact_graph.ingest.readers._common import Parsed, TextBuilder

#: A first line labelled as the title ("Title: …", "Titel: …"): the label is no part of it.
_TITLE_LABEL = re.compile(r"(?i)^(?:title|titel)[ \t]*:[ \t]*")


def read_text(text: str, path: Path) -> Parsed:
    """Paragraphs (blank-line separated) become blocks; the first short line is the title."""
    builder = TextBuilder()
    for para in text.split("\n\n"):
        builder.add_block(para)
    plain, sections = builder.build()
    first_line = _TITLE_LABEL.sub("", plain.split("\n", 1)[0].strip(), count=1)
    title = first_line if 0 < len(first_line) <= 120 else ""
    return Parsed(text=plain, title=title, sections=sections)
