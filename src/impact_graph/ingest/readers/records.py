"""Tabular and bibliographic files → one `Parsed` record each.

CSV, JSON, JSON Lines, RIS (rispy) and BibTeX (bibtexparser) all go through the same
column mapping, ``ingest/records.yaml``: it names the synonyms under which a column is
recognised and the sentences the record's text is composed from. Keeping that in one
documented file lets a user add a databank export without touching code.

A bad record never costs the good ones: each reader returns ``(records, row_errors)``
and only a problem with the file as a whole (unreadable, required column missing)
raises.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import string
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from impact_graph.ingest.document import KINDS
from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.kinds import detect_language, normalise_kind
from impact_graph.ingest.readers._common import SAFE_LOADER, Parsed
from impact_graph.model import slugify

_HERE = Path(__file__).resolve()
#: Where the mapping is looked for: the source checkout's ``ingest/records.yaml``, then
#: the copy a wheel carries (pyproject force-includes it as ``impact_graph/_records.yaml``).
MAPPING_CANDIDATES: tuple[Path, ...] = (
    _HERE.parents[4] / "ingest" / "records.yaml",
    _HERE.parents[2] / "_records.yaml",
)


def default_mapping_path() -> Path:
    for candidate in MAPPING_CANDIDATES:
        if candidate.is_file():
            return candidate
    return MAPPING_CANDIDATES[0]


def normalise_column(name: str) -> str:
    """Column names compare without case, accents, or space/hyphen/dot differences."""
    norm = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", norm.lower()).strip("_")


@dataclass(frozen=True, slots=True)
class Direction:
    """One effect direction with the words that mean it and its phrase per language."""

    symbol: str
    values: frozenset[str]
    phrases: dict[str, str]


@dataclass(frozen=True, slots=True)
class RecordMapping:
    """The parsed ``records.yaml``."""

    path: Path
    required: tuple[str, ...]
    synonyms: dict[str, tuple[str, ...]]  # field → normalised column names, in order
    templates: dict[str, list[list[str]]]  # language → entries of alternatives
    directions: tuple[Direction, ...]
    #: Fields whose synonyms name the keys of one object in a list of outcomes
    #: (``outcome_item_fields`` in the YAML); the first is the outcome text itself.
    item_fields: tuple[str, ...] = ("outcome", "direction", "effect_size")
    #: Words that say an effect was good (``favourable``) or bad news (``unfavourable``)
    #: rather than which way the outcome moved (``judgements`` in the YAML): read through
    #: the outcome's desirable direction (`_parse_direction`).
    favourable: frozenset[str] = frozenset()
    unfavourable: frozenset[str] = frozenset()
    #: Words of ``directions`` that some sources mean as a judgement ("positief effect op
    #: eenzaamheid": less of it), ``ambiguous_directions.words`` in the YAML, and how this
    #: mapping reads them (``read_as``): "direction", "judgement" or "refuse" where the
    #: two readings differ (`_parse_direction`).
    ambiguous: frozenset[str] = frozenset()
    ambiguous_read_as: str = "direction"

    def resolve(self, columns: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """Map fields to the file's own column names; also return the ignored columns."""
        by_norm: dict[str, str] = {}
        for col in columns:
            if col is not None:
                by_norm.setdefault(normalise_column(col), col)
        found: dict[str, str] = {}
        used: set[str] = set()
        for field_name, names in self.synonyms.items():
            for name in names:
                col = by_norm.get(name)
                if col is not None and col not in used:
                    found[field_name] = col
                    used.add(col)
                    break
        ignored = [c for c in by_norm.values() if c not in used]
        return found, ignored

    def missing_error(self, path: Path, found: dict[str, str]) -> IngestError | None:
        """The file-level error for required fields no column stands for, if any."""
        missing = [f for f in self.required if f not in found]
        if not missing:
            return None
        parts = [f"{f} (one of: {', '.join(self.synonyms.get(f, (f,)))})" for f in missing]
        return IngestError(
            path,
            f"the required column{'s' if len(missing) > 1 else ''} {'; '.join(parts)} "
            f"{'are' if len(missing) > 1 else 'is'} missing",
            f"rename a column, or add its name as a synonym in {_display(self.path)}",
        )

    def direction(self, value: str) -> Direction | None:
        key = value.strip().lower()
        for d in self.directions:
            if key in d.values:
                return d
        return None

    def judgement(self, value: str) -> bool | None:
        """True for a favourable word ("verbetering"), False for an unfavourable one
        ("verslechtering"), None for any other value."""
        key = value.strip().lower()
        if key in self.favourable:
            return True
        if key in self.unfavourable:
            return False
        return None


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


#: How a mapping may read its ambiguous direction words (``ambiguous_directions.read_as``).
_READ_AS = ("direction", "judgement", "refuse")


@lru_cache(maxsize=8)
def load_mapping(path: Path | None = None) -> RecordMapping:
    """Load and check ``records.yaml`` (cached: it is read once per process)."""
    path = path or default_mapping_path()
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        synonyms = {
            str(name): tuple(normalise_column(c) for c in spec["columns"])
            for name, spec in data["fields"].items()
        }
        templates = {
            str(lang): [[t] if isinstance(t, str) else list(t) for t in entries]
            for lang, entries in data["templates"].items()
        }
        directions = tuple(
            Direction(
                symbol=str(sym),
                values=frozenset(str(v).strip().lower() for v in spec["values"]) | {str(sym)},
                phrases={k: str(v) for k, v in spec.items() if k != "values"},
            )
            for sym, spec in data["directions"].items()
        )
        required = tuple(str(f) for f in data.get("required", []))
        item_fields = tuple(
            str(f) for f in data.get("outcome_item_fields", ["outcome", "direction", "effect_size"])
        )
        loose_spec = data.get("ambiguous_directions") or {}
        ambiguous = frozenset(str(v).strip().lower() for v in loose_spec.get("words") or [])
        read_as = str(loose_spec.get("read_as") or "direction").strip().lower()
        judgements = data.get("judgements") or {}
        favourable, unfavourable = (
            frozenset(str(v).strip().lower() for v in judgements.get(k) or [])
            for k in ("favourable", "unfavourable")
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as e:
        raise IngestError(
            path,
            f"the record mapping cannot be read ({type(e).__name__}: {e})",
            "restore it from the repository or fix its YAML",
        ) from None
    unknown = [f for f in (*required, *item_fields) if f not in synonyms]
    if unknown:
        raise IngestError(
            path,
            f"the fields {unknown} (required or outcome_item_fields) have no 'columns' entry",
            "add them under 'fields'",
        )
    both = sorted(
        (favourable | unfavourable) & {v for d in directions for v in d.values}
        | (favourable & unfavourable)
    )
    if both:
        raise IngestError(
            path,
            f"the words {both} stand in more than one of 'directions' and 'judgements' "
            "(favourable, unfavourable)",
            "keep each word in one place: a direction of change, or a judgement",
        )
    loose = sorted(
        w
        for w in ambiguous
        if not any(w in d.values and d.symbol in ("+", "−") for d in directions)
    )
    if read_as not in _READ_AS:
        raise IngestError(
            path,
            f"ambiguous_directions.read_as is {read_as!r}",
            f"use one of {', '.join(_READ_AS)}",
        )
    if loose:
        raise IngestError(
            path,
            f"the words {loose} of 'ambiguous_directions' are no value of the '+' or '−' direction",
            "list them under 'values' of '+' or '−' in 'directions', or remove them",
        )
    return RecordMapping(
        path,
        required,
        synonyms,
        templates,
        directions,
        item_fields,
        favourable,
        unfavourable,
        ambiguous,
        read_as,
    )


# --- one record ---------------------------------------------------------------------

_NUMBER = re.compile(r"[-−+]?\d+(?:[.,]\d+)?")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")


def _clean(value: Any) -> Any:
    """Strip strings; treat empty strings/lists and None as missing."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, list):
        items = [v for v in (_clean(x) for x in value) if v is not None]
        return items or None
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_as_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _RowProblem(ValueError):
    """A value in one record that cannot be used; becomes an `IngestError` for that row."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def _parse_year(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _YEAR.search(_as_text(value))
    if not m:
        raise _RowProblem(
            f"the year {_as_text(value)!r} is not a four-digit year", "write it as e.g. 2021"
        )
    return int(m.group(1))


def _parse_number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _NUMBER.search(_as_text(value))
    if not m:
        raise _RowProblem(
            f"the effect size {_as_text(value)!r} is not a number",
            "write it as a number such as 0.3 or 0,3, or leave it empty",
        )
    return float(m.group(0).replace(",", ".").replace("−", "-"))


def _parse_authors(value: Any) -> list[str]:
    if isinstance(value, list):
        return [_as_text(v).strip() for v in value if _as_text(v).strip()]
    return [a.strip() for a in re.split(r";|\s+&\s+|\s+and\s+|\s+en\s+", str(value)) if a.strip()]


def _parse_url(value: Any) -> str:
    url = _as_text(value[0] if isinstance(value, list) else value).strip()
    if re.match(r"^10\.\d{4,9}/\S+$", url):  # a bare DOI
        return f"https://doi.org/{url}"
    return url


def _number_text(x: float, lang: str) -> str:
    text = f"{x:g}"
    return text.replace(".", ",") if lang == "nl" else text


def _fill(template: str, values: dict[str, str]) -> str | None:
    names = _names(template)
    if any(not values.get(n) for n in names):
        return None
    sentence = template.format(**{n: values[n] for n in names}).strip()
    return re.sub(r"([.!?…])\s*\.$", r"\1", sentence)


def compose_text(fields: dict[str, Any], mapping: RecordMapping, lang: str) -> str:
    """The record as sentences, per the templates of ``lang`` (falling back to nl)."""
    values = {k: _as_text(v) for k, v in fields.items() if v is not None}
    if "effect_size" in fields:
        values["effect_size"] = _number_text(fields["effect_size"], lang)
    if "authors" in fields:
        values["authors"] = "; ".join(fields["authors"])
    direction = fields.get("direction")
    if direction is not None:
        for d in mapping.directions:
            if d.symbol == direction:
                values["direction_phrase"] = d.phrases.get(lang) or d.phrases.get("nl", "")
    templates = mapping.templates.get(lang) or mapping.templates.get("nl") or []
    per_item = [_item_values(values, item, mapping, lang) for item in fields.get("outcomes", [])]
    lines: list[str] = []
    for alternatives in templates:
        # An entry that speaks of the outcome is said once per outcome of a list.
        item_entry = per_item and any(_OUTCOME_SLOTS & set(_names(t)) for t in alternatives)
        for vals in per_item if item_entry else [values]:
            for template in alternatives:
                sentence = _fill(template, vals)
                if sentence:
                    lines.append(sentence)
                    break
    return "\n".join(lines)


#: Template slots that belong to one outcome: their entry is repeated per outcome item.
_OUTCOME_SLOTS = frozenset({"outcome", "direction_phrase", "effect_size"})


def _names(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def _item_values(
    values: dict[str, str], item: dict[str, Any], mapping: RecordMapping, lang: str
) -> dict[str, str]:
    """The template values with one outcome item's outcome, direction and size."""
    vals = {k: v for k, v in values.items() if k not in _OUTCOME_SLOTS}
    vals["outcome"] = str(item["outcome"])
    if "effect_size" in item:
        vals["effect_size"] = _number_text(item["effect_size"], lang)
    for d in mapping.directions:
        if d.symbol == item.get("direction"):
            vals["direction_phrase"] = d.phrases.get(lang) or d.phrases.get("nl", "")
    return vals


def _set_size(target: dict[str, Any], value: Any) -> None:
    """``effect_size`` as a number; ``magnitude`` as the source writes it ("d = 0,3",
    "-3,9% na twee jaar") when that says more than the number, as extraction keeps it
    from a text."""
    written = " ".join(_as_text(value).split())
    target["effect_size"] = _parse_number(value)
    if written and written != _as_text(target["effect_size"]):
        target["magnitude"] = written


def _parse_direction(value: Any, mapping: RecordMapping, outcome: str | None = None) -> str:
    """The direction of change, "+", "0" or "−", a record's value stands for.

    A favourable or unfavourable word ("verbetering", "harmful") says whether the change
    was good news, not which way ``outcome`` moved: it is read through the outcome's
    desirable direction in the vocabulary (``ig:desirableDirection``), since "verbetering"
    of loneliness is loneliness going down. Without one the value cannot be read and the
    record is refused with what to write instead.

    "positief"/"negatief" (``ambiguous_directions``) say "+"/"−" to some sources and
    good/bad news to others ("positief effect op eenzaamheid": less loneliness). The
    mapping says which its sources mean (``read_as``): as a direction (the default, as
    the field is documented), as a judgement (read like "gunstig"), or "refuse": read only
    where both readings agree (more is better), else the record is refused with what to
    write, rather than stored the wrong way round."""
    from impact_graph.vocab import load_vocabulary  # the ontology's vocabularies, cached

    text = _as_text(value)
    d = mapping.direction(text)
    loose = d is not None and text.strip().lower() in mapping.ambiguous
    if d is not None and not (loose and mapping.ambiguous_read_as != "direction"):
        return d.symbol
    if d is not None and mapping.ambiguous_read_as == "refuse":
        want = load_vocabulary().desirable_direction(outcome) if outcome else None
        if want == "+":
            return d.symbol  # "positief" on sociaal netwerk: up, and good news, either way
        went = "went up" if d.symbol == "+" else "went down"
        news = "good" if d.symbol == "+" else "bad"
        named = repr(outcome) if outcome else "the outcome"
        differ = (
            f"for {outcome!r} (less is better) the two differ"
            if want == "−"
            else f"the vocabulary gives {outcome!r} no desirable direction to tell them apart"
            if outcome
            else "the record names no outcome to tell them apart"
        )
        raise _RowProblem(
            f"the direction {text!r} can mean that {named} {went} or "
            f"that the effect was {news} news, and {differ}",
            f"write + if {outcome or 'the outcome'} went up, − if it went down or 0 for no "
            "effect; or gunstig/ongunstig for good or bad news",
        )
    good = (d.symbol == "+") if d is not None else mapping.judgement(text)
    if good is None:
        allowed = ", ".join(d.symbol for d in mapping.directions)
        raise _RowProblem(
            f"the direction {text!r} is not known",
            f"use one of {allowed} (or positief, geen, negatief, or a word of 'judgements' "
            f"in {_display(mapping.path)} such as gunstig or verbetering)",
        )
    want = load_vocabulary().desirable_direction(outcome) if outcome else None
    if want in ("+", "−"):
        return want if good else ("−" if want == "+" else "+")
    says = "favourable" if good else "unfavourable"
    if outcome:
        why = (
            f"the direction {text!r} says the effect on {outcome!r} was {says}, not whether "
            f"it went up or down, and the vocabulary gives {outcome!r} no desirable direction"
        )
        what = f"write + if {outcome} went up, − if it went down, or 0 for no effect,"
    else:
        why = (
            f"the direction {text!r} says the effect was {says}, not whether its outcome "
            "went up or down, and the record names no outcome"
        )
        what = "name the outcome, or write + (went up), − (went down) or 0 (no effect)"
    raise _RowProblem(
        why,
        f"{what} in the direction field instead; or give the outcome's concept an "
        "ig:desirableDirection in ontology/vocabularies/outcomes.ttl",
    )


def _outcome_items(
    value: list[Any], fields: dict[str, Any], mapping: RecordMapping
) -> list[dict[str, Any]]:
    """A list of outcomes → one dict per outcome (``outcome``, and ``direction``,
    ``effect_size``, ``magnitude`` where known).

    Items are strings, or objects whose keys are read with the synonyms of
    ``mapping.item_fields`` (``{"outcome": "gasverbruik", "direction": "-", "effect_size":
    "-7%"}``): each is one outcome claim, so each becomes its own Effect rather than one
    outcome named by the object's JSON text. The record's own direction applies to items
    without one; its effect size only when there is a single item (a size belongs to one
    outcome).
    """
    out_field, *rest = mapping.item_fields
    items: list[dict[str, Any]] = []
    for n, raw in enumerate(value, start=1):
        item: dict[str, Any] = {}
        if isinstance(raw, dict):
            columns, _ignored = mapping.resolve(raw.keys())
            for name in mapping.item_fields:
                v = _clean(raw.get(columns[name])) if name in columns else None
                if v is not None:
                    item[name] = v
            if out_field not in item:
                keys = ", ".join(mapping.synonyms.get(out_field, (out_field,)))
                raise _RowProblem(
                    f"outcome {n} of the record has no outcome text (one of: {keys})",
                    f"name the outcome in each object, or add its key as a synonym of "
                    f"'{out_field}' in {_display(mapping.path)}",
                )
            item[out_field] = _as_text(item[out_field])
        else:
            item[out_field] = _as_text(raw)
        if "direction" in rest and "direction" in item:
            item["direction"] = _parse_direction(item["direction"], mapping, item[out_field])
        elif "direction" in fields:
            # The record's direction, read for this outcome ("verbetering" can be "+"
            # for one outcome of the list and "−" for another).
            item["direction"] = _parse_direction(fields["direction"], mapping, item[out_field])
        if "effect_size" in rest and "effect_size" in item:
            _set_size(item, item["effect_size"])
        elif "effect_size" in fields and len(value) == 1:
            item["effect_size"] = fields["effect_size"]
            if "magnitude" in fields:
                item["magnitude"] = fields["magnitude"]
        items.append(item)
    return items


def build_record(
    raw: dict[str, Any],
    mapping: RecordMapping,
    *,
    columns: dict[str, str] | None = None,
    ignored: list[str] | None = None,
    fallback_key: str | None = None,
) -> Parsed:
    """One record → `Parsed`; raises `_RowProblem` for a value that cannot be used."""
    if columns is None:
        columns, ignored = mapping.resolve(raw.keys())
    fields: dict[str, Any] = {}
    for name, col in columns.items():
        value = _clean(raw.get(col))
        if value is not None:
            fields[name] = value
    for name in mapping.required:
        if name not in fields:
            col = columns.get(name, name)
            raise _RowProblem(
                f"the record has no {name} (column {col!r} is empty)",
                f"fill in the {name} or remove the record",
            )
    if "year" in fields:
        fields["year"] = _parse_year(fields["year"])
    if "effect_size" in fields:
        _set_size(fields, fields["effect_size"])
    if "authors" in fields:
        fields["authors"] = _parse_authors(fields["authors"])
    if "source_url" in fields:
        fields["source_url"] = _parse_url(fields["source_url"])
    if isinstance(fields.get("outcome"), list):
        items = _outcome_items(fields["outcome"], fields, mapping)
        if len(items) > 1 or set(items[0]) != {"outcome"}:
            fields["outcomes"] = items
        fields["outcome"] = "; ".join(str(i["outcome"]) for i in items)
        if "direction" in fields:
            # The record's own direction, as its outcomes read it: one symbol when they
            # agree, none when a judgement word meant different ones.
            read = {i.get("direction") for i in items} - {None}
            if mapping.direction(_as_text(fields["direction"])) is not None:
                fields["direction"] = _parse_direction(fields["direction"], mapping)
            elif len(read) == 1:
                fields["direction"] = read.pop()
            else:
                del fields["direction"]
    elif "direction" in fields:
        outcome = _as_text(fields["outcome"]) if fields.get("outcome") is not None else None
        fields["direction"] = _parse_direction(fields["direction"], mapping, outcome)
    if "kind" in fields:
        kind = normalise_kind(fields["kind"])
        if kind is None:
            raise _RowProblem(
                f"the kind {fields['kind']!r} is not known", f"use one of {', '.join(KINDS)}"
            )
        fields["kind"] = kind
    for name in ("title", "text", "intervention", "target_group", "challenge", "design",
                 "outcome", "recognition", "recognition_scheme", "area", "language"):  # fmt: skip
        if name in fields:
            fields[name] = _as_text(fields[name])
    lang = detect_language(
        f"{fields.get('title', '')} {fields.get('text', '')}", fields.get("language")
    )
    fields["language"] = lang
    key = fields.pop("id", None)
    meta: dict[str, Any] = dict(fields)
    if ignored:
        meta["ignored_columns"] = list(ignored)
    record_key = slugify(_as_text(key)) if key is not None else fallback_key
    return Parsed(
        text=compose_text(fields, mapping, lang),
        title=fields["title"],
        meta=meta,
        record_key=record_key or None,
        default_kind="research",
    )


# --- files --------------------------------------------------------------------------

RecordsOut = tuple[list[Parsed], list[IngestError]]


def _collect(
    rows: Iterable[tuple[int, dict[str, Any] | IngestError, str | None]],
    path: Path,
    mapping: RecordMapping,
    *,
    columns: dict[str, str] | None = None,
    ignored: list[str] | None = None,
) -> RecordsOut:
    """Build every row, keep row errors apart, make record keys unique and stable."""
    records: list[Parsed] = []
    errors: list[IngestError] = []
    seen: dict[str, int] = {}
    for row, raw, native_key in rows:
        if isinstance(raw, IngestError):
            errors.append(raw)
            continue
        try:
            parsed = build_record(raw, mapping, columns=columns, ignored=ignored)
        except _RowProblem as e:
            errors.append(IngestError(path, e.reason, e.hint, row=row))
            continue
        key = parsed.record_key or native_key or slugify(parsed.title)[:50] or f"row-{row}"
        n = seen.get(key, 0) + 1
        seen[key] = n
        parsed.record_key = key if n == 1 else f"{key}-{n}"
        records.append(parsed)
    if not records and not errors:
        raise IngestError(path, "the file holds no records", "add records or remove the file")
    return records, errors


def _sniff_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(text: str, path: Path, mapping: RecordMapping) -> RecordsOut:
    """CSV with a header row; ``,``, ``;`` (Dutch Excel), tab or ``|`` separated."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        header = reader.fieldnames or []
    except csv.Error as e:
        raise IngestError(
            path, f"the CSV header cannot be read ({e})", "fix the first line"
        ) from None
    columns, ignored = mapping.resolve(header)
    missing = mapping.missing_error(path, columns)
    if missing:
        raise missing

    def rows() -> Iterator[tuple[int, dict[str, Any] | IngestError, str | None]]:
        row = 1  # spreadsheet numbering: the header is row 1
        while True:
            row += 1
            try:
                raw = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield (
                    row,
                    IngestError(
                        path,
                        f"the CSV cannot be read from here on ({e})",
                        "fix the quoting in this row; later rows were not read",
                        row=row,
                    ),
                    None,
                )
                return
            if None in raw:
                yield (
                    row,
                    IngestError(
                        path,
                        f"the row has {len(header) + len(raw[None])} values for "
                        f"{len(header)} columns",
                        "put values that contain the separator between double quotes",
                        row=row,
                    ),
                    None,
                )
                continue
            if all(v is None or not str(v).strip() for v in raw.values()):
                continue  # an empty line of separators
            given = sum(v is not None for v in raw.values())
            if given < len(header):
                # A short row is nearly always half of a record split by an unquoted line
                # break: its other half would become a record of its own, with a piece of
                # text as its title. (Empty values are "" here, not None: ",," is fine.)
                yield (
                    row,
                    IngestError(
                        path,
                        f"the row has {given} value{'s' if given != 1 else ''} for "
                        f"{len(header)} columns",
                        "put values that contain a line break or the separator between "
                        "double quotes, and give every column a value (empty is fine: ,,)",
                        row=row,
                    ),
                    None,
                )
                continue
            yield row, raw, None

    return _collect(rows(), path, mapping, columns=columns, ignored=ignored)


def _json_problem(path: Path, e: json.JSONDecodeError, row: int | None = None) -> IngestError:
    return IngestError(
        path,
        f"invalid JSON at line {e.lineno} column {e.colno} ({e.msg})",
        "fix the JSON syntax" + ("; the other lines were read" if row else ""),
        row=row,
        line=e.lineno if row is None else None,
    )


def _check_required_keys(path: Path, objects: list[dict[str, Any]], mapping: RecordMapping) -> None:
    keys: set[str] = set()
    for obj in objects:
        keys.update(obj.keys())
    if objects:
        columns, _ = mapping.resolve(keys)
        missing = mapping.missing_error(path, columns)
        if missing:
            raise missing


def _not_object(path: Path, row: int, item: Any) -> IngestError:
    return IngestError(
        path,
        f"the record is a JSON {type(item).__name__}, not an object",
        "write each record as an object with named fields",
        row=row,
    )


def read_json(text: str, path: Path, mapping: RecordMapping) -> RecordsOut:
    """A JSON array of objects, an object with such an array under a usual key
    ("records", "items", "data", "studies", "results"), or one object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise _json_problem(path, e) from None
    if isinstance(data, dict):
        for key in ("records", "items", "data", "studies", "results", "interventions"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data]
    if not isinstance(data, list):
        raise IngestError(path, "the JSON holds no records", "use an array of objects")
    _check_required_keys(path, [d for d in data if isinstance(d, dict)], mapping)
    rows = [
        (i, item if isinstance(item, dict) else _not_object(path, i, item), None)
        for i, item in enumerate(data, start=1)
    ]
    return _collect(rows, path, mapping)


def read_jsonl(text: str, path: Path, mapping: RecordMapping) -> RecordsOut:
    """JSON Lines: one object per line; the row number is the line number."""
    rows: list[tuple[int, dict[str, Any] | IngestError, str | None]] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            err = IngestError(
                path,
                f"the line is not valid JSON ({e.msg} at column {e.colno})",
                "fix this line; the other lines were read",
                row=lineno,
            )
            rows.append((lineno, err, None))
            continue
        rows.append(
            (lineno, item if isinstance(item, dict) else _not_object(path, lineno, item), None)
        )
    _check_required_keys(path, [r for _, r, _ in rows if isinstance(r, dict)], mapping)
    return _collect(rows, path, mapping)


def read_ris(text: str, path: Path, mapping: RecordMapping) -> RecordsOut:
    """RIS (Endnote, Zotero, databank exports) via rispy; RIS tags become rispy names."""
    import rispy

    try:
        entries = rispy.loads(text, skip_unknown_tags=True)
    except Exception as e:  # rispy raises plain IOError/ValueError/KeyError on bad input
        detail = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise IngestError(
            path,
            f"the RIS file cannot be parsed ({detail})",
            "check that every record starts with 'TY  - ' and ends with 'ER  - '",
        ) from None
    _check_required_keys(path, entries, mapping)
    return _collect(((i, e, None) for i, e in enumerate(entries, start=1)), path, mapping)


def read_bib(text: str, path: Path, mapping: RecordMapping) -> RecordsOut:
    """BibTeX via bibtexparser 2; LaTeX accents are decoded, the citation key is the
    record key, and blocks that fail to parse are reported with their line."""
    import bibtexparser
    from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors

    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    library = bibtexparser.parse_string(
        text, append_middleware=[LatexDecodingMiddleware(), SeparateCoAuthors()]
    )
    items: list[tuple[int, dict[str, Any] | IngestError, str | None]] = []
    for entry in library.entries:
        raw: dict[str, Any] = {k: f.value for k, f in entry.fields_dict.items()}
        raw.setdefault("entry_type", entry.entry_type)
        items.append((entry.start_line + 1, raw, slugify(entry.key) or None))
    for block in library.failed_blocks:
        line = block.start_line + 1
        items.append(
            (
                line,
                IngestError(
                    path,
                    f"the BibTeX entry starting at line {line} cannot be parsed",
                    "check its braces and commas; the other entries were read",
                    row=line,
                ),
                None,
            )
        )
    items.sort(key=lambda x: x[0])
    _check_required_keys(path, [r for _, r, _ in items if isinstance(r, dict)], mapping)
    return _collect(items, path, mapping)
