"""Markdown with optional YAML front matter → plain text with sections.

The Markdown is parsed with markdown-it-py (CommonMark + tables) and rendered to plain
text block by block, so offsets in the sections point into exactly the text the NLP
stage sees; markup never leaks into entity spans.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from selectolax.lexbor import LexborHTMLParser

from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.readers._common import SAFE_LOADER, Parsed, TextBuilder

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)

_md = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """Split ``---``-fenced YAML front matter from the body.

    A malformed block is an error naming the file line of the YAML problem, because
    silently ignoring it would lose the title, kind and the ``persons`` list that
    pseudonymisation relies on.
    """
    if not re.match(r"---[ \t]*\n", text):
        return {}, text
    m = _FRONT.match(text)
    if m is None:
        raise IngestError(
            path,
            "the front matter starting at line 1 has no closing '---' line",
            "end the YAML block with a line holding only '---'",
        )
    raw = m.group(1) or ""
    try:
        data = yaml.load(raw, Loader=SAFE_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None  # +1 for 1-based, +1 for '---'
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise IngestError(
            path,
            f"the front matter is not valid YAML ({problem})",
            "fix the YAML between the '---' lines (quote values that contain ':' or '#')",
            line=line,
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise IngestError(
            path,
            "the front matter is not a list of 'key: value' lines",
            "write it as YAML keys such as 'title: ...' between the '---' lines",
        )
    return {str(k).strip().lower(): v for k, v in data.items()}, text[m.end() :]


def _inline_text(token: Token) -> str:
    """Plain text of an inline token: text, code, link text and image alt text."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
        elif child.type == "image":
            out.append(_inline_text(child) if child.children else child.content)
        elif child.type == "html_inline":
            continue  # tags such as <br> or <span>; their text children come separately
    return "".join(out)


def markdown_to_text(body: str) -> TextBuilder:
    """Render Markdown to plain text blocks and headings."""
    builder = TextBuilder()
    tokens = _md.parse(body)
    heading_level: int | None = None
    row: list[str] | None = None
    for tok in tokens:
        t = tok.type
        if t == "heading_open":
            heading_level = int(tok.tag[1:])
        elif t == "heading_close":
            heading_level = None
        elif t == "tr_open":
            row = []
        elif t == "tr_close":
            if row is not None:
                builder.add_block(" | ".join(c for c in row if c))
            row = None
        elif t == "inline":
            text = _inline_text(tok)
            if row is not None:
                row.append(text.strip())
            elif heading_level is not None:
                builder.add_heading(text, heading_level)
            else:
                builder.add_block(text)
        elif t in ("fence", "code_block"):
            builder.add_block(tok.content)
        elif t == "html_block":
            builder.add_block(LexborHTMLParser(tok.content).text(separator=" "))
    return builder


def read_markdown(text: str, path: Path) -> Parsed:
    """A Markdown file: front matter to ``meta``, headings to sections."""
    meta, body = split_front_matter(text, path)
    builder = markdown_to_text(body)
    plain, sections = builder.build()
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        first = builder.first_heading
        title = first[0] if first else ""
    if "area" not in meta and "gemeente" in meta:
        meta["area"] = meta["gemeente"]  # one key for the extractor, both kept
    return Parsed(text=plain, title=str(title), sections=sections, meta=meta)
