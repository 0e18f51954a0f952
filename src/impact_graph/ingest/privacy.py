"""AVG (GDPR) pseudonymisation of personal data in texts, before anything is stored.

Residents' stories and customer journeys name people, their family, addresses, phone
numbers and sometimes a BSN. None of that may reach the graph, the RDF view or the
search index, so the pipeline runs every text through :class:`Pseudonymiser` first and
the NLP stage only ever sees the result.

Names get a keyed pseudonym ("Persoon-3f2a9c"): an HMAC of the normalised name with a
secret, so the same person gets the same pseudonym across documents (the story and the
klantreis about mevrouw Jansen still connect) while nobody without the secret can test a
guess. Contact and identity data (e-mail, phone, BSN, address, birth date) become fixed
placeholders ("[e-mail]"): linking on them has no use and would only add risk.

The patterns favour over-redaction: a capitalised word after "ik ben" is treated as a
name even when it is not one. Replacements record where the pseudonym sits in the NEW
text, never the original value.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from impact_graph.ingest.document import Document, Section

#: Replacement kinds.
NAME, EMAIL, PHONE, BSN, ADDRESS, BIRTH_DATE = (
    "name",
    "email",
    "phone",
    "bsn",
    "address",
    "birth_date",
)

PLACEHOLDERS: dict[str, str] = {
    EMAIL: "[e-mail]",
    PHONE: "[telefoonnummer]",
    BSN: "[BSN]",
    ADDRESS: "[adres]",
    BIRTH_DATE: "[geboortedatum]",
}


@dataclass(frozen=True, slots=True)
class Replacement:
    """One replaced value: its kind and where the pseudonym stands in the new text."""

    kind: str
    start: int
    end: int
    pseudonym: str


@dataclass(slots=True)
class PseudonymisedText:
    """The text with personal data replaced, and what was replaced where.

    ``map_offset`` translates an offset in the original text to the new text (for
    section offsets and page starts computed before pseudonymisation).
    """

    text: str
    replacements: list[Replacement] = field(default_factory=list)
    # (old_start, old_end, new_start, new_end) per replacement, sorted: offsets only.
    _moves: list[tuple[int, int, int, int]] = field(default_factory=list, repr=False)

    def map_offset(self, offset: int, *, end: bool = False) -> int:
        """New offset for an old one; inside a replaced span → its start (or ``end``)."""
        i = bisect.bisect_right([m[0] for m in self._moves], offset) - 1
        if i < 0:
            return offset
        old_start, old_end, new_start, new_end = self._moves[i]
        if offset < old_end and offset > old_start:
            return new_end if end else new_start
        if offset == old_start:
            return new_start
        return new_end + (offset - old_end)


# --- patterns -----------------------------------------------------------------------

_UP = "A-ZÀ-ÖØ-Þ"
_LOW = "a-zß-öø-ÿ"
_CAP = rf"[{_UP}][{_LOW}'’]+(?:-[{_UP}][{_LOW}'’]+)*"
_TUSSEN = (
    r"(?:[Vv]an|[Dd]e|[Dd]er|[Dd]en|[Hh]et|[Tt]er|[Tt]en|[Tt]e|[Oo]p|'t|[Ee]l|[Aa]l|"
    r"[Ll]a|[Ll]e|[Dd]u|[Dd]a|[Vv]on)"
)
# A name: up to three capitalised words, each optionally preceded by tussenvoegsels.
_NAME = rf"(?:{_TUSSEN}\s+){{0,2}}{_CAP}(?:\s+(?:{_TUSSEN}\s+){{0,2}}{_CAP}){{0,2}}"

_TITLES = (
    r"(?:[Mm]evrouw|[Mm]evr\.|[Mm]w\.|[Mm]eneer|[Mm]ijnheer|[Dd]hr\.|[Dd]e heer|[Mm]rs?\.|[Mm]s\.)"
)
_RELATIONS = (
    r"(?:zoon|dochter|man|vrouw|moeder|vader|broer|zus|zusje|broertje|opa|oma|"
    r"kleinzoon|kleindochter|partner|vriend|vriendin|buurman|buurvrouw|echtgenoot|"
    r"echtgenote|neef|nicht|oom|tante|kind|zoontje|dochtertje)"
)
_NAME_PATTERNS: tuple[re.Pattern[str], ...] = (
    # "mevrouw Jansen", "meneer Piet (de Vries)": both the name and the bracketed one.
    re.compile(rf"\b{_TITLES}\s+(?P<name>{_NAME})(?:\s*\((?P<name2>{_NAME})\))?"),
    re.compile(
        rf"\b(?:[Ii]k ben|[Ii]k heet|[Mm]ijn naam is|[Mm]y name is|I am)\s+(?P<name>{_NAME})"
    ),
    re.compile(rf"\b[Mm]ijn\s+{_RELATIONS}\s+(?P<name>{_NAME})"),
)
# Capitalised words after "ik ben" that are not names (over-redaction stays the rule).
_NOT_NAMES = frozenset(
    {
        "nederlander", "nederlandse", "marokkaan", "turk", "syriër", "eritreeër", "moslim",
        "christen", "god", "mantelzorger", "vrijwilliger", "moeder", "vader", "oma", "opa",
        "weduwe",
    }
)  # fmt: skip

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)31[\s-]?(?:\(0\)[\s-]?)?|\(?0)[1-9](?:(?:[\s.-]|\)\s?)?\d){8}(?!\d)"
)
_BSN = re.compile(r"(?<![\d.,-])(\d{9}|\d{4}\.\d{2}\.\d{3})(?![\d]|[.,]\d)")
_POSTCODE = re.compile(
    r"(?<![\w-])[1-9]\d{3}\s?(?!SA|SD|SS)[A-Z]{2}(?![\w-])(?:,?\s+\d{1,5}(?:\s?[-]?\s?[A-Za-z0-9]{1,4}\b)?)?"
)
_STREET = re.compile(
    rf"\b[{_UP}][{_LOW}]+(?:straat|laan|weg|plein|gracht|kade|singel|dijk|hof|pad|steeg|"
    rf"dreef|park|markt|baan|erf|veld)\s+\d{{1,5}}(?:\s?-?\s?[a-zA-Z]\b|\s?-\s?\d{{1,4}})?"
)
_MONTHS = (
    r"(?:januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|"
    r"december|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec|january|february|march|"
    r"may|june|july|august|october)\.?"
)
_DATE = (
    rf"(?:\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}|\d{{1,2}}\s+{_MONTHS}\s+\d{{4}}"
    rf"|\d{{4}}-\d{{2}}-\d{{2}})"
)
_BIRTH = re.compile(
    rf"\b(?:geboren\s+op|geboren|geb\.|geboortedatum:?|born\s+on|born|date\s+of\s+birth:?|"
    rf"d\.o\.b\.:?)\s*(?P<date>{_DATE})",
    re.IGNORECASE,
)


def bsn_valid(number: str) -> bool:
    """The 11-proef: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11 (and not 0)."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) != 9:
        return False
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0 and any(digits)


def _norm_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# --- the pseudonymiser --------------------------------------------------------------


class Pseudonymiser:
    """Replaces personal data in texts; one instance per secret (the pipeline's)."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError(
                "Pseudonymiser needs a non-empty secret; set one in the configuration so "
                "pseudonyms cannot be recomputed by others."
            )
        self._key = secret.encode("utf-8")

    def pseudonym(self, name: str) -> str:
        """The stable pseudonym of a person's name under this secret."""
        digest = hmac.new(self._key, _norm_name(name).encode("utf-8"), hashlib.sha256)
        return f"Persoon-{digest.hexdigest()[:6]}"

    def token(self, value: str, length: int = 12) -> str:
        """A keyed, stable hex token for ``value`` (for ids that must not reveal it)."""
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]

    def _known_patterns(self, known_names: Iterable[str]) -> list[tuple[re.Pattern[str], str]]:
        """Patterns for the listed names: the full name (any case), and each capitalised
        part of three letters or more as written ("Fatima" of "Fatima El Amrani")."""
        out: dict[str, tuple[re.Pattern[str], str]] = {}
        for raw in known_names:
            name = " ".join(str(raw).split())
            if not name:
                continue
            words = re.escape(name).replace(r"\ ", r"\s+")
            out.setdefault(
                name.casefold(),
                (re.compile(rf"(?<![\w-]){words}(?![\w-])", re.IGNORECASE), name),
            )
            for part in name.split():
                if len(part) >= 3 and part[0].isupper() and part.casefold() not in _NOT_NAMES:
                    out.setdefault(
                        part, (re.compile(rf"(?<![\w-]){re.escape(part)}(?![\w-])"), part)
                    )
        # Longest first, so "Fatima El Amrani" wins over "Fatima".
        return sorted(out.values(), key=lambda p: -len(p[1]))

    def _find(self, text: str, known_names: Sequence[str]) -> list[tuple[int, int, str, str]]:
        """All (start, end, kind, pseudonym) hits in the original text, unresolved."""
        hits: list[tuple[int, int, str, str]] = []
        for m in _EMAIL.finditer(text):
            hits.append((m.start(), m.end(), EMAIL, PLACEHOLDERS[EMAIL]))
        for m in _PHONE.finditer(text):
            hits.append((m.start(), m.end(), PHONE, PLACEHOLDERS[PHONE]))
        for m in _BSN.finditer(text):
            if bsn_valid(m.group(1)):
                hits.append((m.start(), m.end(), BSN, PLACEHOLDERS[BSN]))
        for pat in (_POSTCODE, _STREET):
            for m in pat.finditer(text):
                hits.append((m.start(), m.end(), ADDRESS, PLACEHOLDERS[ADDRESS]))
        for m in _BIRTH.finditer(text):
            hits.append((m.start("date"), m.end("date"), BIRTH_DATE, PLACEHOLDERS[BIRTH_DATE]))
        for pat, name in self._known_patterns(known_names):
            for m in pat.finditer(text):
                hits.append((m.start(), m.end(), NAME, self.pseudonym(name)))
        for pat in _NAME_PATTERNS:
            for m in pat.finditer(text):
                for group in ("name", "name2"):
                    if group in pat.groupindex and m.group(group):
                        value = m.group(group)
                        if _norm_name(value) in _NOT_NAMES:
                            continue
                        hits.append((m.start(group), m.end(group), NAME, self.pseudonym(value)))
        return hits

    def apply(self, text: str, known_names: Sequence[str] = ()) -> PseudonymisedText:
        """Replace personal data in ``text``; ``known_names`` are the front matter
        ``persons``. Overlapping hits: the earliest wins, then the longest."""
        hits = sorted(self._find(text, known_names), key=lambda h: (h[0], -(h[1] - h[0])))
        out: list[str] = []
        replacements: list[Replacement] = []
        moves: list[tuple[int, int, int, int]] = []
        pos = 0
        new_len = 0
        for start, end, kind, pseudonym in hits:
            if start < pos:  # overlaps one already replaced
                continue
            out.append(text[pos:start])
            new_len += start - pos
            out.append(pseudonym)
            replacements.append(Replacement(kind, new_len, new_len + len(pseudonym), pseudonym))
            moves.append((start, end, new_len, new_len + len(pseudonym)))
            new_len += len(pseudonym)
            pos = end
        out.append(text[pos:])
        return PseudonymisedText("".join(out), replacements, moves)


def _names_of(meta: dict[str, Any]) -> list[str]:
    persons = meta.get("persons") or []
    if isinstance(persons, str):
        persons = [persons]
    return [str(p) for p in persons if p]


# Metadata that names public authors or points elsewhere; left as is.
_META_KEEP = frozenset({"authors", "source_url", "page_starts", "pages", "kind", "language"})


def pseudonymise_document(doc: Document, pseudonymiser: Pseudonymiser) -> Document:
    """A copy of ``doc`` with text, title, section headings and metadata pseudonymised.

    Section offsets and PDF page starts are moved to the new text; ``meta["persons"]``
    is replaced by the pseudonyms; the content hash is recomputed, so it stays stable
    for the same input and secret.
    """
    from impact_graph.ingest.readers._common import content_hash

    names = _names_of(doc.meta)
    result = pseudonymiser.apply(doc.text, names)

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return pseudonymiser.apply(value, names).text
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    meta = {k: (v if k in _META_KEEP else clean(v)) for k, v in doc.meta.items()}
    if names:
        meta["persons"] = [pseudonymiser.pseudonym(n) for n in names]
    if isinstance(meta.get("page_starts"), list):
        meta["page_starts"] = [result.map_offset(int(o)) for o in meta["page_starts"]]
    sections = [
        Section(
            heading=pseudonymiser.apply(s.heading, names).text,
            level=s.level,
            start=result.map_offset(s.start),
            end=result.map_offset(s.end, end=True),
        )
        for s in doc.sections
    ]
    title = pseudonymiser.apply(doc.title, names).text
    meta["pseudonymised"] = True
    # File names of stories often carry the resident's name ("mevrouw-jansen.md"), and the
    # document id and stored path come from the file name: derive both from a keyed token
    # of the original id instead, stable for the same file and secret.
    token = pseudonymiser.token(doc.id)
    meta["stored_path"] = f"{doc.path.parent.name}/{doc.kind}-{token}{doc.path.suffix}"
    return replace(
        doc,
        id=f"document:{doc.kind}-{token}",
        text=result.text,
        title=title,
        sections=sections,
        meta=meta,
        content_hash=content_hash(result.text, title, doc.kind, doc.language, meta),
    )
