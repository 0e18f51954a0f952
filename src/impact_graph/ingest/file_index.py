"""The file index: what each file gave the last time it was read, so that re-ingesting an
unchanged file needs neither its parser nor its NLP.

Why: the pipeline skips a document whose content hash equals the stored one, but that
hash is over the *parsed* text (`readers._common.content_hash`), so every unchanged file
was still read, decoded, parsed (Markdown, YAML front matter, PDF, DOCX, records) and,
for stories, pseudonymised just to find out that nothing changed. On the demo corpus
that was ~75% of an unchanged re-ingest's CPU. Like git's index, this keeps per file
the sha256 of its raw bytes and the documents reading them gave (id, content hash, kind
and why); a file whose bytes hash the same is then checked against the store's hashes
without being parsed.

What keeps it correct:

* The bytes are always hashed (no size/mtime shortcut): a file rewritten with the same
  size and time but other bytes is read again.
* An entry is only a fact about *reading*: these bytes, at this path, under this root
  (ids and folder kinds come from both), with this ``--kind``, by this reader code
  (`FileIndex.stamp`: the reader modules' source, the parser libraries' versions, for
  record files the record mapping file's digest, made only while the mapping the
  readers use is that file's), and for pseudonymised documents under this
  pseudonym secret, gave these documents. It says nothing about the store: the pipeline
  still compares each document's hash with the stored one and with other stored
  versions of the same source, as for a parsed file. Anything missing, stale or
  unreadable falls back to reading the file.
* Only files that were read whole (no bad rows) and whose every document ended up in the
  store with that hash get an entry, so a file that failed is always tried again.
* Written atomically (temporary file + rename); runs that overlap lose at most each
  other's new entries (those files are parsed once more next time), never correctness.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import sys
import tempfile
import unicodedata
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Bumped when the file's layout changes; an index of another version is ignored.
INDEX_VERSION = 1

#: Where the index lives inside the data directory.
INDEX_FILE = Path("cache") / "file-index.json"

#: Formats whose documents also depend on the record mapping (``ingest/records.yaml``).
RECORD_FORMATS = frozenset({"csv", "json", "jsonl", "ris", "bib"})

#: Modules whose source decides what a file reads as (text, title, kind, language,
#: metadata, id, content hash, pseudonymisation), relative to the package.
_READER_SOURCES = (
    "ingest/readers",
    "ingest/kinds.py",
    "ingest/document.py",
    "ingest/privacy.py",
    "ingest/errors.py",
    "model.py",
)

#: Parser libraries the readers use; their versions are part of the stamp.
_READER_LIBRARIES = (
    "pypdf",
    "docx",
    "lxml",
    "markdown_it",
    "selectolax",
    "charset_normalizer",
    "yaml",
)


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """One document a file gave: enough to tell "unchanged" and to report it."""

    id: str  # the stored id (pseudonymous for stories)
    content_hash: str
    source_id: str  # the id the reader gave, before pseudonymisation
    kind: str
    kind_reason: str


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What one file's bytes gave when they were last read whole."""

    raw: str  # sha256 of the file's bytes
    stamp: str  # `FileIndex.stamp` at the time
    secret: str | None  # `FileIndex.secret_fingerprint` when a document was pseudonymised
    documents: tuple[IndexedDocument, ...]


def file_digest(path: Path, max_bytes: int) -> str | None:
    """sha256 of the file's bytes; None when it cannot be read or is over ``max_bytes``
    (the reader then reports it, as without an index)."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError:
        return None
    if len(data) > max_bytes:
        return None
    return hashlib.sha256(data).hexdigest()


@functools.cache
def _code_stamp() -> str:
    """The reader code's fingerprint: its source files, the parser libraries' versions,
    Python's and its Unicode database's (the content hash NFC-normalises).

    Once per process, with the readers imported first: it should describe the code this
    process reads with, and a source file changed on disk after the import (an upgrade
    under a running API) is not what this process runs -- restart it after upgrading.
    About 0.5 ms (13 files, 90 kB).
    """
    import impact_graph.ingest.readers  # noqa: F401 - so the libraries' versions are known

    base = Path(__file__).resolve().parents[1]  # the impact_graph package
    h = hashlib.sha256()
    for rel in _READER_SOURCES:
        p = base / rel
        files = sorted(p.glob("*.py")) if p.is_dir() else [p]
        for f in files:
            h.update(f.relative_to(base).as_posix().encode())
            try:
                h.update(f.read_bytes())
            except OSError:
                h.update(b"?")
    for name in _READER_LIBRARIES:
        mod = sys.modules.get(name)
        h.update(f"{name}={getattr(mod, '__version__', '?')};".encode())
    h.update(f"{sys.version};{unicodedata.unidata_version}".encode())
    return h.hexdigest()


def _mapping_file_digest() -> str | None:
    """sha256 of the record mapping file the readers load (``ingest/records.yaml``);
    None when it cannot be read (the reader then reports that)."""
    from impact_graph.ingest.readers.records import default_mapping_path

    try:
        return hashlib.sha256(default_mapping_path().read_bytes()).hexdigest()
    except OSError:
        return None


def _mapping_fingerprint(m: Any) -> str:
    """A stable digest of a parsed `RecordMapping` (sets sorted)."""
    data = {
        "path": str(m.path),
        "required": list(m.required),
        "synonyms": {k: list(v) for k, v in m.synonyms.items()},
        "templates": m.templates,
        "directions": [[d.symbol, sorted(d.values), d.phrases] for d in m.directions],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def mapping_in_use_is_current() -> bool:
    """Whether the record mapping this process reads with is what its file holds now.

    The readers parse ``records.yaml`` once per process (`load_mapping` is cached), so a
    long-running process (the API) keeps reading with the old mapping after the file is
    edited. Entries for record files carry the file's digest, not the parsed mapping's
    (which would cost every new process a ~10 ms YAML parse before it could skip
    anything), so they are only made while the two agree. Parses the file (~10 ms):
    called once per run that read record files."""
    from impact_graph.ingest.errors import IngestError
    from impact_graph.ingest.readers.records import load_mapping

    try:
        in_use = load_mapping()
        current = load_mapping.__wrapped__()  # the file as it is now, past the cache
    except (IngestError, OSError, ValueError):
        return False
    return _mapping_fingerprint(in_use) == _mapping_fingerprint(current)


class FileIndex:
    """The index of one data directory; load it per run, `save` it at the run's end.

    Keys name a file *as it was listed*: its absolute and resolved path, the same for
    the root it was listed under, and the ``--kind`` (see `key`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self._mapping: str | bool | None = False  # False: not computed yet
        self._mapping_checked: bool | None = None
        self._by_file: dict[str, list[tuple[str, str, tuple[str, ...]]]] | None = None
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:  # damaged: rebuilt from the next reads
            log.info("ignoring the file index %s (%s); files are read again", self.path, e)
            return
        if isinstance(data, dict) and data.get("version") == INDEX_VERSION:
            entries = data.get("entries")
            if isinstance(entries, dict):
                self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(
        file: Path, root: Path, kind: str | None, resolved: tuple[Path, Path] | None = None
    ) -> str:
        """The entry's key: ids come from the path relative to the (resolved) root and
        the folder names can decide the kind, so both paths are in it, as given and
        resolved (symlinks; ``resolved`` when the caller has them already), and
        ``--kind``."""
        real_file, real_root = resolved or (Path(file).resolve(), Path(root).resolve())
        parts = (
            os.path.abspath(file),
            os.path.abspath(root),
            str(real_file),
            str(real_root),
            kind or "",
        )
        return "\0".join(parts)

    def stamp(self, fmt: str) -> str | None:
        """What the reader code is for a file of format ``fmt``: the code's fingerprint,
        plus the record mapping file's digest for record formats (read once per index,
        i.e. per run); None when the mapping cannot be read (no entry is used or made)."""
        code = _code_stamp()
        if fmt not in RECORD_FORMATS:
            return code
        if self._mapping is False:
            self._mapping = _mapping_file_digest()
        if self._mapping is None:
            return None
        return f"{code}+{self._mapping}"

    def may_record(self, fmt: str) -> bool:
        """Whether an entry for a file of format ``fmt`` read in this run may be made:
        always, but for record files only while the mapping the readers used is the one
        the stamp's digest names (see `mapping_in_use_is_current`; checked once)."""
        if fmt not in RECORD_FORMATS:
            return True
        if self._mapping_checked is None:
            self._mapping_checked = (
                mapping_in_use_is_current() and _mapping_file_digest() == self._mapping
            )
        return self._mapping_checked

    def get(self, key: str) -> IndexEntry | None:
        """The entry under ``key``, or None (none, or not in the expected shape)."""
        raw = self._entries.get(key)
        if raw is None:
            return None
        try:
            return IndexEntry(
                raw=str(raw["raw"]),
                stamp=str(raw["stamp"]),
                secret=None if raw.get("secret") is None else str(raw["secret"]),
                documents=tuple(IndexedDocument(*map(str, d)) for d in raw["documents"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def roots_of(self, real_file: Path) -> list[tuple[Path, Path, tuple[str, ...]]]:
        """Every root the file ``real_file`` (resolved) was read under: (the root as
        listed, made absolute; the root resolved; the ids of the documents it gave),
        sorted by the listed root.

        Why: a document's id (and a folder's kind) come from the file's path below the
        folder named on the command line, so ingesting ``corpus/stories`` after
        ``corpus`` would add every story again under a second id. The pipeline asks this
        to let a file keep the folder it was first ingested from (`Pipeline._files`).
        Built once per index (one pass over the keys), since the pipeline asks per file.
        """
        if self._by_file is None:
            by_file: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
            for key, raw in self._entries.items():
                parts = key.split("\0")
                if len(parts) != 5 or not isinstance(raw, dict):
                    continue
                docs = raw.get("documents")
                ids = tuple(str(d[0]) for d in docs if d) if isinstance(docs, list) else ()
                by_file.setdefault(parts[2], []).append((parts[1], parts[3], ids))
            self._by_file = by_file
        found = sorted(set(self._by_file.get(str(real_file), ())))
        return [(Path(listed), Path(real), ids) for listed, real, ids in found]

    def put(self, key: str, entry: IndexEntry) -> None:
        """Record (or replace) the entry of ``key``."""
        self._by_file = None
        self._entries[key] = {
            "raw": entry.raw,
            "stamp": entry.stamp,
            "secret": entry.secret,
            "documents": [list(astuple(d)) for d in entry.documents],  # as `get` reads them
        }
        self._dirty = True

    def save(self) -> None:
        """Write the index if anything was added, dropping entries of files that no
        longer exist. A failure to write only costs parsing next time: logged, not raised."""
        if not self._dirty:
            return
        self._entries = {
            k: v for k, v in self._entries.items() if os.path.exists(k.split("\0", 1)[0])
        }
        payload = json.dumps(
            {"version": INDEX_VERSION, "entries": self._entries}, ensure_ascii=False
        )
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(payload)
            os.replace(tmp, self.path)
            tmp = None
            self._dirty = False
        except OSError as e:
            log.warning("could not write the file index %s (%s)", self.path, e)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
