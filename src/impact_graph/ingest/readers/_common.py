"""Shared pieces of the readers: reading bytes safely, decoding text, building plain
text with section offsets, and turning a parsed file into a `Document`.

Every format module produces `Parsed` values (text, title, sections, meta); only this
module knows how ids, hashes, kinds and languages are derived, so all formats agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import charset_normalizer
import yaml

from impact_graph.ingest.document import Document, Section
from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.kinds import decide_kind, detect_language
from impact_graph.model import make_id

#: libyaml's safe loader when PyYAML was built with it (the wheels are): the same data as
#: ``yaml.safe_load`` for the 37 front matters of the demo corpus and the tests (the one
#: malformed block fails at the same line, worded by libyaml), at ~0.15 against ~1.4 ms
#: CPU per document, which the ingest's main thread spends beside the model. The record
#: mapping (``records.yaml``, read once per run) loads with it too: 1 against 12 ms, the
#: same data.
SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(slots=True)
class Parsed:
    """What a format module extracted from a file or from one record of it."""

    text: str
    title: str = ""
    sections: list[Section] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    record_key: str | None = None
    default_kind: str | None = None  # records: "research" unless told otherwise


# --- bytes and text -----------------------------------------------------------------


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing missing, non-regular, empty and oversized files."""
    if not path.exists():
        raise IngestError(path, "the file does not exist", "check the path and try again")
    if not path.is_file():
        raise IngestError(path, "this is not a regular file", "give a file or a folder")
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(
            path,
            f"the file is {size:,} bytes, over the limit of {max_bytes:,}",
            "split it into smaller files or raise the size limit (max_bytes)",
        )
    data = path.read_bytes()
    if not data.strip():
        raise IngestError(path, "the file is empty", "add content or remove the file")
    return data


# Encodings tried, in order, when a file is not UTF-8. Dutch input that is not UTF-8 is
# nearly always Windows-1252 or Latin-1 (which agree on all printable letters), so those
# are preferred over charset-normalizer's guess whenever they decode cleanly and the
# guess is some other single-byte code page that would map é/ë/€ differently.
_WESTERN = ("cp1252", "latin_1", "iso8859_15")


def _control_ratio(text: str) -> float:
    """Share of characters that no text file contains (controls, private use, unassigned).

    Counted per distinct character (``Counter`` runs in C), so a long text costs one pass
    plus a category look-up for each of its few hundred distinct characters, not for
    every one of its characters.
    """
    if not text:
        return 0.0
    bad = sum(
        n
        for ch, n in Counter(text).items()
        if (unicodedata.category(ch) in {"Cc", "Co", "Cn", "Cs"} and ch not in "\t\n\r\f\v")
        or ch == "\ufffd"
    )
    return bad / len(text)


def decode_text(data: bytes, path: Path) -> str:
    """Decode bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM, else a
    detected encoding (charset-normalizer), preferring Windows-1252 for Western text.

    Binary junk with a text extension is refused rather than fed to the NLP as noise.
    """
    junk = IngestError(
        path,
        "the file is not text (it looks like binary data)",
        "check that the extension matches the content, or convert it to text",
    )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise junk from None
    elif b"\x00" in data:
        raise junk
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _decode_legacy(data, path, junk)
    if _control_ratio(text) > 0.005:
        raise junk
    return normalise_newlines(text)


def _decode_legacy(data: bytes, path: Path, junk: IngestError) -> str:
    best = charset_normalizer.from_bytes(data).best()
    guess = best.encoding if best is not None else None
    if guess in _WESTERN:
        return str(best)
    # The detector is unsure on short Western texts (it may say cp1250 or mac_roman);
    # take cp1252 when it decodes cleanly and yields fewer odd characters.
    for enc in ("cp1252", "latin_1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        plausible = best is None or _oddness(text) <= _oddness(str(best))
        if plausible and _control_ratio(text) <= 0.005:
            return text
    if best is None:
        raise junk
    return str(best)


_ODD = re.compile(r"[^\w\s.,;:!?'\"()\[\]{}/\\@#%&*+=<>|~^$€£§°–—‘’“”„…·•-]")


def _oddness(text: str) -> int:
    """How many characters look out of place in ordinary Western text."""
    return len(_ODD.findall(text)) + sum(
        1 for ch in text if ch.isalpha() and not ("\u0000" <= ch <= "\u024f")
    )


def normalise_newlines(text: str) -> str:
    """LF line endings, no NULs, NFC (so "é" is one character in every offset)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def clean_inline(text: str) -> str:
    """Collapse runs of spaces inside a block, keep line breaks, trim each line."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


class TextBuilder:
    """Builds plain text block by block and records headings as `Section`s.

    Blocks are separated by a blank line, so a sentence splitter never glues a heading
    or a list item to the next paragraph. A section runs from its heading to the next
    heading of the same or a higher level (or the end of the text).
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._headings: list[tuple[str, int, int]] = []  # (heading, level, start)

    def _append(self, block: str) -> int:
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(block)
        self._length += len(block)
        return start

    @property
    def next_start(self) -> int:
        """Offset at which the next block will start."""
        return self._length + 2 if self._parts else 0

    def add_block(self, text: str) -> None:
        block = clean_inline(text)
        if block:
            self._append(block)

    def add_heading(self, text: str, level: int) -> None:
        heading = clean_inline(text).replace("\n", " ")
        if heading:
            start = self._append(heading)
            self._headings.append((heading, level, start))

    @property
    def first_heading(self) -> tuple[str, int] | None:
        """The top-most heading (lowest level, earliest), a fallback title."""
        if not self._headings:
            return None
        h = min(self._headings, key=lambda x: (x[1], x[2]))
        return h[0], h[1]

    def build(self) -> tuple[str, list[Section]]:
        text = "".join(self._parts)
        sections: list[Section] = []
        for i, (heading, level, start) in enumerate(self._headings):
            end = len(text)
            for _, lvl2, start2 in self._headings[i + 1 :]:
                if lvl2 <= level:
                    end = start2 - 2  # stop before the blank line that precedes it
                    break
            sections.append(Section(heading=heading, level=level, start=start, end=end))
        return text, sections


# --- metadata -----------------------------------------------------------------------


def plain_meta(value: Any) -> Any:
    """Metadata as JSON-safe values: dates become ISO strings, keys become strings."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain_meta(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain_meta(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def content_hash(text: str, title: str, kind: str, language: str, meta: dict[str, Any]) -> str:
    """sha256 over the normalised text and everything else that ends up stored."""
    norm = unicodedata.normalize("NFC", text).strip()
    payload = json.dumps(
        {"text": norm, "title": title, "kind": kind, "language": language, "meta": meta},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def source_key(path: Path, root: Path | None) -> str:
    """The path relative to the parent of ``root`` (so root's own name is included),
    posix-style, so the same corpus gets the same ids wherever the command runs from."""
    root = root if root is not None else path
    root_abs = root.resolve()
    path_abs = path.resolve()
    if path_abs == root_abs:
        return path_abs.name
    try:
        rel = path_abs.relative_to(root_abs)
    except ValueError:
        raise IngestError(
            path,
            f"the file is not inside the folder {root.as_posix()!r} it was listed under",
            "ingest it on its own or from a folder that contains it",
        ) from None
    return (Path(root_abs.name) / rel).as_posix()


def title_from_stem(path: Path) -> str:
    """A readable title from a file name ("raadsvoorstel_wmo-2024" → "Raadsvoorstel wmo 2024")."""
    words = re.sub(r"[_\-]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def make_document(
    parsed: Parsed,
    *,
    path: Path,
    root: Path | None,
    fmt: str,
    kind: str | None,
) -> Document:
    """Finish a `Parsed` into a `Document`: id, kind and reason, language, hash."""
    key = source_key(path, root)
    if parsed.record_key is not None:
        key = f"{key}#{parsed.record_key}"
    meta = plain_meta(parsed.meta)
    title = parsed.title.strip() or title_from_stem(path)
    doc_kind, reason = decide_kind(
        text=parsed.text,
        path=path,
        root=root,
        explicit=kind,
        declared=meta.get("kind"),
        declared_from="record field" if parsed.record_key is not None else "front matter",
        default=parsed.default_kind,
    )
    language = detect_language(parsed.text, meta.get("language"))
    return Document(
        id=make_id("Document", key),
        path=path,
        text=parsed.text,
        kind=doc_kind,
        kind_reason=reason,
        title=title,
        content_hash=content_hash(parsed.text, title, doc_kind, language, meta),
        format=fmt,
        language=language,
        sections=parsed.sections,
        meta=meta,
        record_key=parsed.record_key,
    )
