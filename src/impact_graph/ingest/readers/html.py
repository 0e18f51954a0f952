"""HTML pages → plain text with sections (selectolax, lexbor backend).

Navigation, scripts, styles and forms are dropped: they are the same on every page of a
site and would otherwise show up as mentions in every document.
"""

from __future__ import annotations

from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

from impact_graph.ingest.readers._common import Parsed, TextBuilder

_DROP = (
    "script, style, noscript, template, nav, header, footer, form, iframe, svg, "
    "button, select, aside[role=navigation], [aria-hidden=true]"
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Elements that end a line of running text.
_BLOCKS = {
    "address", "article", "blockquote", "caption", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "hr", "li", "main", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "body", "aside",
}  # fmt: skip


class _Walker:
    """Depth-first walk that gathers inline text into blocks and headings."""

    def __init__(self) -> None:
        self.builder = TextBuilder()
        self._buf: list[str] = []

    def flush(self) -> None:
        if self._buf:
            self.builder.add_block("".join(self._buf))
            self._buf = []

    def walk(self, node: LexborNode) -> None:
        # An explicit stack instead of recursion: deeply nested pages must not crash.
        stack: list[tuple[LexborNode, bool]] = [(node, False)]
        while stack:
            cur, closing = stack.pop()
            tag = cur.tag or ""
            if closing:
                if tag in _BLOCKS:
                    self.flush()
                continue
            if tag == "-text":
                self._buf.append(cur.text_content or "")
                continue
            if tag == "br":
                self._buf.append("\n")
                continue
            if tag.startswith("-"):  # comments, doctype
                continue
            if tag in _HEADINGS:
                self.flush()
                self.builder.add_heading(cur.text(separator=" "), _HEADINGS[tag])
                continue
            if tag in _BLOCKS:
                self.flush()
            stack.append((cur, True))
            children = list(cur.iter(include_text=True))
            stack.extend((child, False) for child in reversed(children))


def read_html(text: str, path: Path) -> Parsed:
    """An HTML page: ``<title>`` (else the first ``<h1>``) as title, headings as sections."""
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("head > title") or tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else ""
    meta: dict[str, str] = {}
    for name in ("description", "author", "keywords"):
        m = tree.css_first(f'meta[name="{name}"]')
        content = m.attributes.get("content") if m is not None else None
        if content:
            meta[name] = content
    lang = tree.css_first("html")
    if lang is not None and lang.attributes.get("lang"):
        meta["language"] = str(lang.attributes["lang"]).split("-")[0].lower()
    for bad in tree.css(_DROP):
        bad.decompose()
    root = tree.css_first("main") or tree.body or tree.root
    walker = _Walker()
    if root is not None:
        walker.walk(root)
    walker.flush()
    plain, sections = walker.builder.build()
    if not title:
        first = walker.builder.first_heading
        title = first[0] if first else ""
    return Parsed(text=plain, title=title, sections=sections, meta=meta)
