"""Deciding a document's kind (story, policy, research, plan) and its language.

The kind steers what the extractor looks for, so it must be explainable: every decision
comes with a reason sentence that ends up in ``Document.kind_reason``. The order is the
user's word first (``--kind``), then the document's own word (front matter or record
field), then where the user put it (folder name), and only then a guess from cue words.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from impact_graph.ingest.document import KINDS

#: Folder names (lower-case) that say what a folder holds.
FOLDER_KINDS: dict[str, str] = {
    "story": "story",
    "stories": "story",
    "verhaal": "story",
    "verhalen": "story",
    "klantreis": "story",
    "klantreizen": "story",
    "policy": "policy",
    "policies": "policy",
    "beleid": "policy",
    "research": "research",
    "onderzoek": "research",
    "onderzoeken": "research",
    "studies": "research",
    "plan": "plan",
    "plans": "plan",
    "plannen": "plan",
    "programma": "plan",
    "programmas": "plan",
    "programma's": "plan",
}

#: Synonyms accepted where a kind is given in words (front matter, record field).
KIND_SYNONYMS: dict[str, str] = {
    **FOLDER_KINDS,
    "beleidsnota": "policy",
    "studie": "research",
    "programma-aanpak": "plan",
    "reisverslag": "plan",
    "opdracht": "plan",
}

# Cue words per kind; matched case-insensitively on word boundaries, except the
# abbreviations in _CASE_SENSITIVE ("RCT" must not match inside ordinary words).
_CUES: dict[str, tuple[str, ...]] = {
    "policy": (
        "raadsvoorstel",
        "raadsbesluit",
        "raadsinformatiebrief",
        "coalitieakkoord",
        "collegeprogramma",
        "beleidsnota",
        "beleidskader",
        "beleidsplan",
        "verordening",
        "gemeenteraad",
        "wethouder",
        "besluit",
        "beslispunten",
        "begroting",
    ),
    "research": (
        "RCT",
        "onderzoeksopzet",
        "respondenten",
        "abstract",
        "quasi-experimenteel",
        "effectonderzoek",
        "controlegroep",
        "interventiegroep",
        "meta-analyse",
        "systematische review",
        "steekproef",
        "significant",
        "effectgrootte",
        "methode",
        "procesevaluatie",
        "literatuur",
    ),
    "plan": (
        "programma-aanpak",
        "reisverslag",
        "opdracht",
        "werkzame elementen",
        "vertrekpunt",
        "verkennen",
        "inrichten",
        "doen en leren",
        "governance",
        "samenwerkingspartners",
        "middelen",
        "foto",
    ),
}
_CASE_SENSITIVE = {"RCT"}

# First-person narrative markers: a story speaks as "ik"/"mijn".
_FIRST_PERSON = {"ik", "mijn", "mij", "me", "my"}

_WORD = re.compile(r"[\wÀ-ÿ'’-]+", re.UNICODE)

#: The reason `detect_kind` gives when nothing in the text pointed to a kind. Kept as one
#: constant because later stages ask whether a kind was only defaulted (see
#: `kind_was_defaulted`) and the web page translates it by its start.
DEFAULTED_REASON = "detected: no cue words found, so the default 'plan'"


def _cue_pattern(cue: str) -> re.Pattern[str]:
    flags = 0 if cue in _CASE_SENSITIVE else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){re.escape(cue)}(?![\w-])", flags)


_CUE_PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    kind: [(cue, _cue_pattern(cue)) for cue in cues] for kind, cues in _CUES.items()
}


def normalise_kind(value: object) -> str | None:
    """Map a kind given in words ("verhalen", "Beleid") to one of ``KINDS``, else None."""
    if not isinstance(value, str):
        return None
    key = value.strip().lower()
    if key in KINDS:
        return key
    return KIND_SYNONYMS.get(key)


def kind_from_folders(path: Path, root: Path | None = None) -> tuple[str, str] | None:
    """The kind named by the nearest enclosing folder, with that folder's name.

    Only folders inside (and including) ``root`` count, so a corpus stored under
    ``/home/x/onderzoek/...`` does not make everything research; without a root only
    the file's own folder counts.
    """
    parents = list(path.parents)
    if root is None:
        parents = parents[:1]  # without a root only the file's own folder speaks
    else:
        root_abs = root.resolve()
        parents = [p for p in parents if p.resolve() == root_abs or root_abs in p.resolve().parents]
    for folder in parents:
        kind = FOLDER_KINDS.get(folder.name.lower())
        if kind:
            return kind, folder.name
    return None


def detect_kind(text: str) -> tuple[str, str]:
    """Guess the kind from cue words; returns ``(kind, reason)``.

    Each kind scores the number of cue-word hits; a story scores its first-person
    words ("ik", "mijn") when they make up at least 1.5% of the words. Ties go to the
    earlier kind in the order policy, research, plan, story; no cues at all gives "plan"
    (most programme documents are plans) and says so.
    """
    scores: dict[str, int] = {}
    found: dict[str, Counter[str]] = {}
    for kind, patterns in _CUE_PATTERNS.items():
        hits: Counter[str] = Counter()
        for cue, pat in patterns:
            n = len(pat.findall(text))
            if n:
                hits[cue] = n
        found[kind] = hits
        scores[kind] = sum(hits.values())

    words = [w.lower() for w in _WORD.findall(text)]
    first = Counter(w for w in words if w in _FIRST_PERSON)
    n_first = sum(first.values())
    if words and n_first / len(words) >= 0.015:
        found["story"] = first
        scores["story"] = n_first
    else:
        scores["story"] = 0

    best = max(("policy", "research", "plan", "story"), key=lambda k: scores[k])
    if scores[best] == 0:
        return "plan", DEFAULTED_REASON
    cues = ", ".join(c for c, _ in found[best].most_common(4))
    more = ", …" if len(found[best]) > 4 else ""
    what = "first-person words" if best == "story" else f"{best} cue words"
    return best, f"detected: {scores[best]} {what} ({cues}{more})"


def kind_was_defaulted(reason: str) -> bool:
    """Whether a document's kind is only the fallback "plan": no ``--kind``, no declared
    kind, no folder and no cue word said anything.

    Why: a plan's title names its programme, but a defaulted plan is not known to be a
    plan at all (a stray "Windows.txt"), so the extractor must not take its title -- often
    just the file name -- for a programme.
    """
    return reason == DEFAULTED_REASON


def decide_kind(
    *,
    text: str,
    path: Path,
    root: Path | None = None,
    explicit: str | None = None,
    declared: object = None,
    declared_from: str = "front matter",
    default: str | None = None,
) -> tuple[str, str]:
    """Decide ``(kind, kind_reason)`` in the documented order.

    ``explicit`` is the ``--kind`` value (already validated by :func:`check_kind`);
    ``declared`` is the document's own ``kind`` field; ``default`` (records: "research")
    is used before guessing from cue words when the folder says nothing.
    """
    if explicit:
        return explicit, f"--kind {explicit}"
    declared_kind = normalise_kind(declared)
    if declared_kind:
        return declared_kind, f"{declared_from} kind: {declared}"
    folder = kind_from_folders(path, root)
    if folder:
        return folder[0], f"folder '{folder[1]}'"
    if default:
        return default, f"default for records: {default}"
    return detect_kind(text)


def check_kind(kind: str | None) -> str | None:
    """Validate a user-given kind (``--kind``), accepting the same synonyms as folders.

    Raises ``ValueError`` naming the allowed values, so the CLI can show it as is.
    """
    if kind is None:
        return None
    norm = normalise_kind(kind)
    if norm is None:
        raise ValueError(f"--kind {kind!r} is not a known kind; use one of: {', '.join(KINDS)}.")
    return norm


# --- language -----------------------------------------------------------------------

_NL_STOP = frozenset(
    [
        "de",
        "het",
        "een",
        "en",
        "van",
        "in",
        "is",
        "op",
        "te",
        "dat",
        "die",
        "voor",
        "met",
        "zijn",
        "niet",
        "aan",
        "er",
        "om",
        "ook",
        "als",
        "bij",
        "of",
        "naar",
        "wordt",
        "worden",
        "door",
        "uit",
        "dan",
        "maar",
        "nog",
        "wat",
        "we",
        "ze",
        "hun",
        "deze",
        "dit",
        "kan",
        "geen",
        "meer",
        "zij",
        "heeft",
        "hebben",
        "werd",
        "ons",
        "onze",
        "over",
        "tot",
    ]
)
_EN_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "of",
        "in",
        "is",
        "on",
        "to",
        "that",
        "for",
        "with",
        "are",
        "not",
        "at",
        "it",
        "as",
        "by",
        "or",
        "from",
        "be",
        "was",
        "were",
        "this",
        "these",
        "which",
        "can",
        "more",
        "they",
        "their",
        "has",
        "have",
        "been",
        "its",
        "our",
        "over",
        "than",
        "also",
    ]
)


def detect_language(text: str, declared: object = None) -> str:
    """``"nl"`` or ``"en"``: the declared language if given, else a stop-word count.

    Cheap and good enough to pick the spaCy pipeline; Dutch wins ties because most
    input is Dutch.
    """
    if isinstance(declared, str) and declared.strip():
        return declared.strip().lower()[:2]
    nl = en = 0
    for w in _WORD.findall(text[:20_000]):
        lw = w.lower()
        nl += lw in _NL_STOP
        en += lw in _EN_STOP
    return "en" if en > nl else "nl"
