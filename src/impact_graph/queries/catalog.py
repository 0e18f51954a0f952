"""Stored research queries: named, parameterised, documented, in Cypher and SPARQL.

Why a YAML catalogue (datasette's "canned queries"): researchers and the same-facts test
suite ask the same questions, so the questions live once, next to their documentation,
in ``queries/research.yaml`` (packaged as ``impact_graph/_queries``); a server adds its
own file with ``IMPACT_GRAPH_QUERIES_FILE`` (a query of the same name replaces the
packaged one).

Parameters are typed, and turning a raw value into the typed one happens here, once, for
the API, the CLI, notebooks and tests alike:

* ``string``, ``integer``, ``number``, ``boolean`` -- as they say;
* ``recognition_level`` -- a level of the recognition ladder ("Effectief volgens goede
  aanwijzingen") or its rank; the query receives the rank (an integer), so "at least"
  is a plain comparison in both languages;
* ``concept`` (with ``scheme:``, e.g. ``challenges``) -- a label, synonym or IRI of a
  vocabulary concept; the query receives the IRIs of the concept and all its narrower
  concepts (a list), so "loneliness" also finds "sociale eenzaamheid".

File format::

    queries:
      <name>:
        title: one line
        description: what it answers and how to read the columns
        params:
          <param>: {type: string, default: ..., description: ...}
        cypher: |
          MATCH ... WHERE x = $param RETURN ...
        sparql: |
          SELECT ... WHERE { ... FILTER(?x = $param) }
"""

from __future__ import annotations

import importlib.resources
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Query-string names the API keeps for itself (they cannot be query parameters).
RESERVED = frozenset({"format", "lang", "shape", "timeout_s", "row_cap"})
TYPES = ("string", "integer", "number", "boolean", "recognition_level", "concept")
LANGUAGES = ("cypher", "sparql")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TRUE = {"true", "1", "yes", "ja", "on"}
_FALSE = {"false", "0", "no", "nee", "off"}


class CatalogError(ValueError):
    """A stored-query file is missing or malformed; the message names the file and entry."""


class ParamError(ValueError):
    """A parameter value is missing, unknown or of the wrong type; names the parameter."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(slots=True, frozen=True)
class ParamSpec:
    """One typed parameter of a stored query."""

    name: str
    type: str = "string"
    description: str = ""
    default: Any = None
    required: bool = False
    scheme: str | None = None  # vocabulary scheme of a ``concept`` parameter
    choices: tuple[Any, ...] = ()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.scheme:
            out["scheme"] = self.scheme
        out["required"] = self.required
        if self.default is not None:
            out["default"] = self.default
        if self.choices:
            out["choices"] = list(self.choices)
        out["description"] = self.description
        return out


@dataclass(slots=True, frozen=True)
class StoredQuery:
    """One named research question with its Cypher and (optionally) SPARQL text."""

    name: str
    title: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    cypher: str | None = None
    sparql: str | None = None
    source: str = ""  # file it came from
    tags: tuple[str, ...] = ()

    @property
    def languages(self) -> list[str]:
        return [lang for lang in LANGUAGES if getattr(self, lang)]

    def text(self, lang: str) -> str:
        """The query text in ``lang``; `ParamError` when this query has none."""
        if lang not in LANGUAGES:
            raise ParamError(f"lang must be one of {', '.join(LANGUAGES)}, not '{lang}'.", "lang")
        text = getattr(self, lang)
        if not text:
            raise ParamError(
                f"The stored query '{self.name}' has no {lang} version; use "
                f"lang={self.languages[0]}.",
                "lang",
            )
        return str(text)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "params": [p.describe() for p in self.params],
            "languages": self.languages,
            "tags": list(self.tags),
            "cypher": self.cypher,
            "sparql": self.sparql,
        }

    def bind(self, raw: Mapping[str, Any], vocab: Any = None) -> dict[str, Any]:
        """Typed parameter values from ``raw`` (strings from a URL, or Python values).

        Unknown names, missing required values and values of the wrong type raise
        `ParamError` naming the parameter; defaults fill in the rest. ``vocab`` (a
        `Vocabulary`) is needed for ``recognition_level`` and ``concept`` parameters.
        """
        known = {p.name: p for p in self.params}
        for name in raw:
            if name not in known:
                allowed = ", ".join(known) or "none"
                raise ParamError(
                    f"The stored query '{self.name}' has no parameter '{name}'; its "
                    f"parameters are: {allowed}.",
                    name,
                )
        out: dict[str, Any] = {}
        for p in self.params:
            value = raw.get(p.name)
            if value is None or (isinstance(value, str) and value == ""):
                if p.required:
                    raise ParamError(
                        f"The stored query '{self.name}' needs the parameter '{p.name}' "
                        f"({p.type}): {p.description}",
                        p.name,
                    )
                value = p.default
            out[p.name] = None if value is None else convert(p, value, vocab, self.name)
        return out


def convert(p: ParamSpec, value: Any, vocab: Any, query: str = "") -> Any:
    """One raw value as the type of ``p`` (see the module docstring)."""
    where = f"Parameter '{p.name}'" + (f" of '{query}'" if query else "")
    t = p.type
    if t == "string":
        out: Any = str(value)
    elif t == "integer":
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            out = int(value)
        except (TypeError, ValueError):
            raise ParamError(f"{where} must be a whole number, not '{value}'.", p.name) from None
    elif t == "number":
        try:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
        except (TypeError, ValueError):
            raise ParamError(f"{where} must be a finite number, not '{value}'.", p.name) from None
    elif t == "boolean":
        if isinstance(value, bool):
            out = value
        elif str(value).strip().lower() in _TRUE:
            out = True
        elif str(value).strip().lower() in _FALSE:
            out = False
        else:
            raise ParamError(f"{where} must be true or false, not '{value}'.", p.name)
    elif t == "recognition_level":
        out = _recognition_rank(where, p.name, value, vocab)
    elif t == "concept":
        out = _concepts(where, p, value, vocab)
    else:  # pragma: no cover - load() refuses unknown types
        raise ParamError(f"{where} has an unknown type '{t}'.", p.name)
    if p.choices and out not in p.choices:
        raise ParamError(
            f"{where} must be one of {', '.join(map(str, p.choices))}, not '{value}'.", p.name
        )
    return out


def _vocab(vocab: Any) -> Any:
    if vocab is None:
        from impact_graph.vocab import load_vocabulary

        vocab = load_vocabulary()
    return vocab


def _recognition_rank(where: str, name: str, value: Any, vocab: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    vocab = _vocab(vocab)
    rank = vocab.recognition_rank(text)
    if rank is None:
        # Per rating scheme: a flat list named 'Promising' twice (Blueprints, CrimeSolutions).
        by_scheme: dict[str, list[str]] = {}
        for c in vocab.recognition_levels():
            scheme = vocab.get(c.broader[0]) if c.broader else None
            key = scheme.pref_nl if scheme is not None else "other"
            by_scheme.setdefault(key, []).append(f"'{c.pref_nl}' ({c.rank})")
        # The Dutch ladder first: the one the ranks 1-5 of the stored queries speak of.
        order = sorted(by_scheme, key=lambda k: (k != "Erkenningstraject", k))
        levels = "; ".join(f"{k}: {', '.join(by_scheme[k])}" for k in order)
        raise ParamError(
            f"{where} must be a ranked recognition level or its rank, not '{text}'; levels "
            f"(rank) per rating scheme: {levels}.",
            name,
        )
    return int(rank)


def _concepts(where: str, p: ParamSpec, value: Any, vocab: Any) -> list[str]:
    vocab = _vocab(vocab)
    text = str(value).strip()
    found = [vocab.get(text)] if vocab.get(text) is not None else vocab.lookup(text, p.scheme)
    found = [c for c in found if c is not None and (p.scheme is None or c.scheme == p.scheme)]
    if not found:
        raise ParamError(
            f"{where}: '{text}' is not a concept of the {p.scheme or 'vocabularies'} "
            "vocabulary; use a label, a synonym or the concept's IRI.",
            p.name,
        )
    iris: list[str] = []
    for c in found:
        iris.extend(sorted(vocab.expand(c.iri, broader=False, narrower=True, depth=20)))
    return list(dict.fromkeys(iris))


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def default_file() -> Path:
    """``research.yaml``: packaged as ``impact_graph/_queries``, or the checkout's."""
    try:
        packaged = importlib.resources.files("impact_graph") / "_queries" / "research.yaml"
        if packaged.is_file():
            return Path(str(packaged))
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover
        pass
    checkout = Path(__file__).resolve().parents[3] / "queries" / "research.yaml"
    if checkout.is_file():
        return checkout
    raise CatalogError(
        "Cannot find the stored queries (research.yaml): looked in the installed package "
        f"(impact_graph/_queries) and in {checkout}; reinstall impact-graph."
    )


def _param(path: Path, qname: str, pname: str, raw: Any) -> ParamSpec:
    where = f"{path}: query '{qname}', parameter '{pname}'"
    if not _NAME_RE.match(str(pname)) or pname in RESERVED:
        raise CatalogError(
            f"{where}: use a lower-case name of letters, digits and '_' that is not one of "
            f"{', '.join(sorted(RESERVED))}."
        )
    raw = raw if isinstance(raw, dict) else {"type": raw or "string"}
    unknown = set(raw) - {"type", "description", "default", "required", "scheme", "choices"}
    if unknown:
        raise CatalogError(f"{where}: unknown keys {', '.join(sorted(unknown))}.")
    ptype = str(raw.get("type", "string"))
    if ptype not in TYPES:
        raise CatalogError(f"{where}: type must be one of {', '.join(TYPES)}, not '{ptype}'.")
    if ptype == "concept" and not raw.get("scheme"):
        raise CatalogError(f"{where}: a concept parameter needs 'scheme' (e.g. challenges).")
    spec = ParamSpec(
        name=str(pname),
        type=ptype,
        description=str(raw.get("description", "")).strip(),
        default=raw.get("default"),
        required=bool(raw.get("required", False)),
        scheme=raw.get("scheme"),
        choices=tuple(raw.get("choices") or ()),
    )
    if spec.default is not None and ptype not in ("recognition_level", "concept"):
        try:
            convert(spec, spec.default, None, qname)
        except ParamError as e:
            raise CatalogError(f"{where}: the default does not fit its type ({e})") from None
    return spec


def _query(path: Path, name: str, raw: Any) -> StoredQuery:
    where = f"{path}: query '{name}'"
    if not _NAME_RE.match(str(name)):
        raise CatalogError(f"{where}: use a lower-case name of letters, digits and '_'.")
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping with title, description, cypher ...")
    unknown = set(raw) - {"title", "description", "params", "cypher", "sparql", "tags"}
    if unknown:
        raise CatalogError(f"{where}: unknown keys {', '.join(sorted(unknown))}.")
    if not raw.get("cypher") and not raw.get("sparql"):
        raise CatalogError(f"{where}: give the query text as 'cypher', 'sparql' or both.")
    params = tuple(_param(path, name, k, v) for k, v in (raw.get("params") or {}).items())
    for lang in LANGUAGES:
        text = raw.get(lang)
        if not text:
            continue
        for pname in re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", str(text)):
            if pname not in {p.name for p in params}:
                raise CatalogError(
                    f"{where}: the {lang} text uses ${pname}, which is not declared under params."
                )
    return StoredQuery(
        name=str(name),
        title=str(raw.get("title") or name).strip(),
        description=str(raw.get("description") or "").strip(),
        params=params,
        cypher=str(raw["cypher"]).strip() if raw.get("cypher") else None,
        sparql=str(raw["sparql"]).strip() if raw.get("sparql") else None,
        source=str(path),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
    )


def load_file(path: Path) -> dict[str, StoredQuery]:
    """All queries of one YAML file; `CatalogError` naming the file and entry if bad."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(
            f"{path}: file not found; check IMPACT_GRAPH_QUERIES_FILE or create the file."
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise CatalogError(f"{path}: cannot be read ({e}).") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(f"{path}: not valid YAML{at}; fix the file.") from None
    if not isinstance(data, dict) or not isinstance(data.get("queries"), dict):
        raise CatalogError(f"{path}: expected a top-level 'queries:' mapping of named queries.")
    return {str(k): _query(path, str(k), v) for k, v in data["queries"].items()}


@dataclass(slots=True)
class Catalog:
    """The stored queries of a server: the packaged ones plus the user's file."""

    queries: dict[str, StoredQuery] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.queries

    def __iter__(self) -> Any:
        return iter(self.queries.values())

    def __len__(self) -> int:
        return len(self.queries)

    def get(self, name: str) -> StoredQuery:
        """The query ``name``; `KeyError` with a sentence listing the known names."""
        try:
            return self.queries[name]
        except KeyError:
            raise KeyError(
                f"There is no stored query '{name}'; GET /queries lists them "
                f"({', '.join(sorted(self.queries))})."
            ) from None


def load_catalog(user_file: Path | str | None = None) -> Catalog:
    """The packaged queries, then ``user_file``'s (same name replaces)."""
    queries = load_file(default_file())
    if user_file:
        queries.update(load_file(Path(user_file).expanduser()))
    return Catalog(queries)
