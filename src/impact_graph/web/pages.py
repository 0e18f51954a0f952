"""Routes of the web UI: search, entity pages, network pages, evidence map, upload.

The pages call the same services as the JSON API (``SearchService``, the entity
helpers, ``impact_graph.network``) in-process, so a page and its API route never
disagree. Input errors (a filter value that does not exist) are shown on the page as a
sentence with status 422; a store that is down gives a 503 page that says so.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from impact_graph.api.auth import require_read_key
from impact_graph.api.deps import Services, services
from impact_graph.api.problems import mb_text_nl
from impact_graph.network import NetworkFilters, compute_metrics, network_view
from impact_graph.network.build import MAX_HOPS, read_stakeholders
from impact_graph.network.render import (
    REL_INVERSE_NL,
    REL_NL,
    TYPE_NL,
    network_json,
    render_fragment,
    render_summary,
    vis_assets,
)
from impact_graph.search.profile import instance_links
from impact_graph.store.port import StoreError

if TYPE_CHECKING:
    from impact_graph.vocab import Vocabulary

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_read_key)])

RESULT_TYPE_NL = {
    "intervention": "Interventie",
    "working_element": "Werkzaam element",
    "chunk": "Tekstfragment",
}
FACET_NL = {
    "type": "Soort",
    "challenge": "Opgave",
    "target_group": "Doelgroep",
    "area": "Gebied",
    "programme": "Programma",
    "evidence_type": "Soort onderbouwing",
    "recognition": "Erkenning",
}
#: Facets that are also filters of the search (recognition has its own minimum select).
FILTER_FACETS = ("type", "challenge", "target_group", "area", "programme", "evidence_type")
VIEW_NL = {"stakeholders": "Betrokkenen", "focus": "Focus", "whatworks": "Wat werkt"}
SIZE_NL = {"degree": "aantal verbindingen", "betweenness": "brugfunctie"}
MAP_ROWS_NL = {"intervention": "interventies", "working_element": "werkzame elementen"}
MAP_COLS_NL = {"outcome": "uitkomsten", "target_group": "doelgroepen"}

#: Dutch names of the node properties an entity page shows, in the order it shows them.
#: The stored names are English (they are the researchers' contract in Cypher, SPARQL and
#: GET /entities/{id}); a programme manager reading the page should not meet them.
PROPERTY_NL = {
    "title": "Titel",
    "kind": "Soort document",
    "kind_reason": "Soort bepaald via",
    "status": "Herkomst van de naam",
    "aliases": "Andere namen",
    "concept": "Begrip in het vocabulaire",
    "outcome": "Uitkomst",
    "direction": "Richting",
    "effect_size": "Effectgrootte",
    "magnitude": "Grootte",
    "measure": "Meetinstrument",
    "sample_size": "Aantal deelnemers",
    "evidence_type": "Soort onderbouwing",
    "rating_level": "Erkenningsniveau",
    "rating_scheme": "Erkenning volgens",
    "indicator": "Indicator",
    "target_value": "Streefwaarde",
    "area": "Gebied",
    "year": "Jaar",
    "date": "Datum",
    "language": "Taal",
    "section": "Hoofdstuk",
    "text": "Tekst",
    "source_url": "Bron op internet",
    "url": "Internetadres",
    "format": "Bestandsvorm",
    "record_key": "Record",
    "position": "Volgnummer",
    "created_at": "Ingelezen op",
}
#: Properties an entity page leaves out: the name (it is the heading) and bookkeeping a
#: reader cannot act on (merge key, extraction rule, content hash, the rank number behind
#: a recognition level, and ``mention_count``, which is one document's count and would
#: read as a total). A fragment's ``start``/``end`` (character offsets in its document) are
#: shown only in the page's "Voor onderzoekers" block: "Begint bij teken 1200" told a
#: reader nothing the fragment's text does not; so is a document's ``path``, a file name on
#: the server that read it ("/tmp/…/reisverslag-2025.md"). GET /entities/{id} still returns
#: every one.
HIDDEN_ON_PAGE = frozenset(
    {"name", "key", "rule", "content_hash", "rating_rank", "complete", "mention_count"}
    | {"start", "end", "path"}
)
KIND_NL = {"story": "verhaal", "policy": "beleid", "research": "onderzoek", "plan": "plan"}
#: Dutch words for the coded values of some properties (anything else is shown as stored).
VALUE_NL: dict[str, dict[str, str]] = {
    "status": {
        "candidate": "kandidaat: in geen vocabulaire (zie Kandidaten)",
        "vocabulary": "uit een vocabulaire",
        "metadata": "uit de gegevens van het document",
    },
    "kind": KIND_NL,
    "language": {"nl": "Nederlands", "en": "Engels"},
    "direction": {
        "+": "positief (+)",
        "-": "negatief (−)",
        "−": "negatief (−)",
        "0": "geen effect (0)",
    },
    # Document.format is the reader's short name (readers._FORMATS): "md" told a policy
    # adviser nothing; the file type a reader knows it by does.
    "format": {
        "md": "tekst met opmaak (Markdown)",
        "txt": "platte tekst",
        "html": "webpagina (HTML)",
        "pdf": "PDF",
        "docx": "Word-document (DOCX)",
        "csv": "tabel (CSV)",
        "json": "gegevensbestand (JSON)",
        "jsonl": "gegevensbestand (JSON, een record per regel)",
        "ris": "literatuurlijst (RIS)",
        "bib": "literatuurlijst (BibTeX)",
    },
}


def kind_reason_nl(reason: str) -> str:
    """The ingest's English reason for a document's kind ("folder 'research'", "front
    matter kind: plan", "detected: 3 policy cue words (…)") said in Dutch for the page;
    a reason of another shape is shown as it is."""
    kind = lambda k: KIND_NL.get(k.strip().strip("'"), k)  # noqa: E731
    if m := re.fullmatch(r"--kind (\S+)", reason):
        return f"de keuze bij het inlezen (--kind {m[1]})"
    if m := re.fullmatch(r"folder '(.*)'", reason):
        return f"de map '{m[1]}'"
    if m := re.fullmatch(r"default for records: (.*)", reason):
        return f"de standaard voor records ({kind(m[1])})"
    if reason.startswith("detected: no cue words"):
        return "de standaard 'plan' (geen kenmerkende woorden gevonden)"
    if m := re.fullmatch(r"detected: (\d+) first-person words \((.*)\)", reason):
        return f"{m[1]} woorden in de ik-vorm ({m[2]})"
    if m := re.fullmatch(r"detected: (\d+) \w+ cue words \((.*)\)", reason):
        return f"{m[1]} kenmerkende woorden ({m[2]})"
    if m := re.fullmatch(r"(.+) kind: (.*)", reason):
        # "kind:" is the front matter's (English) field; the reader gets the Dutch word
        # for it and for the value the file gave ("soort: verhaal" for kind: story).
        where = "de kop van het bestand" if m[1] == "front matter" else m[1]
        return f"{where} (soort: {kind(m[2])})"
    return reason


def relation_nl(relationship: str, direction: str) -> str:
    """How a link on an entity page reads from the page's node: the relationship's Dutch
    label going out ("voert uit"), its ``ig:inverseLabel`` coming in ("wordt uitgevoerd
    door"). A buurtkamer's page said "voert uit (inkomend) | Bibliotheek Wadstede",
    which reads as if the buurtkamer carried out the library; the old wording stays only
    for a type the ontology gives no inverse label."""
    forward = REL_NL.get(relationship, relationship)
    if direction != "in":
        return forward
    return REL_INVERSE_NL.get(relationship) or f"{forward} (inkomend)"


def entity_properties(
    props: dict[str, Any], label: str | None = None, vocab: Vocabulary | None = None
) -> list[tuple[str, str]]:
    """The properties an entity page shows, as (Dutch name, text) in a fixed order:
    known ones first, in `PROPERTY_NL` order, then any other under its stored name,
    so a property the ontology gains still shows. Empty values and `HIDDEN_ON_PAGE`
    are left out; lists are joined with commas.

    With the node's ``label`` and the ``vocab``, the stored English codes and IRIs that
    the vocabularies name in Dutch are shown by those names: an Actor's ``kind``
    ("organisation") by its actor-role group ("organisatie"), a ``concept`` IRI by the
    concept's Dutch prefLabel and its scheme ("eenzaamheid (Opgaven)")."""
    shown: list[tuple[str, str]] = []
    rest = sorted(k for k in props if k not in PROPERTY_NL)
    for k in [*PROPERTY_NL, *rest]:
        v = props.get(k)
        if k in HIDDEN_ON_PAGE or v is None or v == "" or v == []:
            continue
        if k == "url" and v == props.get("source_url"):  # one address, said once
            continue
        if isinstance(v, list | tuple):
            text = ", ".join(str(x) for x in v)
        elif k == "kind_reason":
            text = kind_reason_nl(str(v))
        elif k == "concept" and vocab is not None and (c := vocab.get(str(v))) is not None:
            text = f"{vocab.label(c.iri)} ({vocab.schemes[c.scheme].label_nl})"
        elif k == "status" and label == "Effect" and v == "candidate":
            # An Effect's name is built ("energiecoach → gasverbruik"), never looked up:
            # "kandidaat: in geen vocabulaire" read as if the outcome were unknown.
            text = "samengesteld uit de interventie en de uitkomst"
        elif k == "status" and v == "candidate" and not has_vocabulary(label, vocab):
            # A Goal, Area or Programme is never looked up in a vocabulary, so "kandidaat:
            # in geen vocabulaire" says nothing about it (a Goal page said so).
            continue
        elif k in ("created_at", "date") and (when := dutch_date(v)) is not None:
            text = when
        elif k == "position" and label == "Chunk" and isinstance(v, int):
            # Stored from 0; the fragment's name ("… #4"), the document page ("fragment 4")
            # and a reader count from 1: "Volgnummer 3" under "#4" read as a contradiction.
            text = str(v + 1)
        elif k == "outcome" and label == "Effect":
            text = outcome_nl(str(v), props.get("concept"), vocab)
        elif k == "kind" and label not in (None, "Document"):
            # An Actor's or Area's kind, not a document's: "Soort", in Dutch where the
            # actor-role groups give it (their ig:nodeKind), else as stored ("gemeente").
            kinds = actor_kinds_nl(vocab) if vocab is not None else {}
            shown.append(("Soort", kinds.get(str(v), str(v))))
            continue
        else:
            text = VALUE_NL.get(k, {}).get(str(v), str(v))
        shown.append((PROPERTY_NL.get(k, k), text))
    return shown


MONTHS_NL = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip
#: The time zone a date-time is shown in (the readers are Dutch); UTC where the machine
#: has no time zone data.
SHOWN_TZ = "Europe/Amsterdam"


def dutch_date(value: object) -> str | None:
    """An ISO date or UTC date-time as a Dutch reader writes it: "21 november 2023",
    "28 november 2026 om 18:18" (Dutch time); None when ``value`` is neither.

    Why: the document page said "Ingelezen op 2026-11-28T17:18:15Z" and the upload form
    "(toegevoegd 2026-11-28T17:18:15Z)", a programmer's notation (the stored values stay
    ISO: they are the researchers' contract)."""
    import datetime as dt

    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            d = dt.date.fromisoformat(text)
            return f"{d.day} {MONTHS_NL[d.month - 1]} {d.year}"
        if not re.fullmatch(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})", text
        ):
            return None
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    try:
        from zoneinfo import ZoneInfo

        when, zone = when.astimezone(ZoneInfo(SHOWN_TZ)), ""
    except Exception:  # no time zone data on this machine: say the time is UTC
        when, zone = when.astimezone(dt.UTC), " (UTC)"
    return f"{when.day} {MONTHS_NL[when.month - 1]} {when.year} om {when:%H:%M}{zone}"


def has_vocabulary(label: str | None, vocab: Vocabulary | None) -> bool:
    """Whether nodes of class ``label`` are looked up in a vocabulary: some scheme names
    it as its ``ig:conceptClass``. Unknown (no label or no vocabulary) counts as yes, so
    the status is shown rather than hidden when the page cannot tell."""
    if label is None or vocab is None:
        return True
    return any(s.pg_label == label for s in vocab.schemes.values())


def outcome_nl(outcome: str, concept: Any, vocab: Vocabulary | None) -> str:
    """An Effect's outcome with where it comes from: the vocabulary concept it names and
    that concept's scheme ("gasverbruik (begrip uit Uitkomsten)"), or that no vocabulary
    holds it. The ingest stores the outcome as the concept's Dutch prefLabel and (so far)
    no ``concept`` on the Effect, so the label is looked up, outcomes first."""
    if vocab is None:
        return outcome
    c = vocab.get(str(concept)) if concept else None
    if c is None:
        found = [
            x for x in vocab.lookup(outcome) if x.scheme == "outcomes" or x.pg_label == "Challenge"
        ]
        c = min(found, key=lambda x: x.scheme != "outcomes", default=None)
    if c is None:
        return f"{outcome} (in geen vocabulaire)"
    return f"{outcome} (begrip uit {vocab.schemes[c.scheme].label_nl})"


def actor_kinds_nl(vocab: Vocabulary) -> dict[str, str]:
    """An Actor's stored ``kind`` ("organisation", "person-role", "network") -> the Dutch
    prefLabel of the actor-role top concept that carries it as ``ig:nodeKind``."""
    scheme = vocab.schemes.get("actor-roles")
    tops = [vocab.get(i) for i in scheme.top_concepts] if scheme else []
    return {c.kind: vocab.label(c.iri) for c in tops if c is not None and c.kind}


@lru_cache(maxsize=1)
def type_names_nl() -> dict[str, str]:
    """Dutch name of every node class: the ontology's Dutch ``rdfs:label`` (an Actor is
    "Betrokkene" there, as on the candidates page, in its API and CLI), so TargetGroup,
    Area, LegalBasis, Goal, Document and Chunk are Dutch on the pages too. The network
    pictures' `TYPE_NL` is laid over it; tests/test_web_candidates.py checks the two agree."""
    from impact_graph.ontology import load_schema

    names = {c.label: c.label_nl for c in load_schema().node_classes if c.label_nl}
    return {**names, **TYPE_NL}


@lru_cache(maxsize=1)
def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        TYPE_NL=type_names_nl(),
        KIND_NL=KIND_NL,
        REL_NL=REL_NL,
        relation_nl=relation_nl,
        RESULT_TYPE_NL=RESULT_TYPE_NL,
        FACET_NL=FACET_NL,
        VIEW_NL=VIEW_NL,
    )
    return env


def page(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    html = templates().get_template(name).render(**ctx)
    return HTMLResponse(html, status_code=status)


def error_page(title: str, message: str, status: int) -> HTMLResponse:
    return page("error.html", status=status, title=title, message=message)


def store_down(e: StoreError) -> HTMLResponse:
    return error_page(
        "De kennisgraaf is niet bereikbaar",
        f"{e} Probeer het over enkele seconden opnieuw.",
        503,
    )


# --- static files ---


@router.get("/static/vis-network.min.js")
def vis_js() -> Response:
    """vis-network from the installed pyvis wheel (never a CDN), cached by the browser."""
    return FileResponse(
        vis_assets()[1],
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    allowed = {p.name: p for p in STATIC.iterdir() if p.is_file()}
    if name not in allowed:
        return error_page("Niet gevonden", f"Er is geen bestand '{name}'.", 404)
    media = "text/css" if name.endswith(".css") else "text/javascript"
    return FileResponse(allowed[name], media_type=media, headers={"Cache-Control": "no-cache"})


# --- search ---


def _ladder(svc: Services) -> list[str]:
    try:
        return [c.pref_nl for c in svc.vocab.recognition_levels("Erkenningstraject")]
    except Exception:  # the select is a convenience; the page works without it
        log.debug("recognition ladder unavailable", exc_info=True)
        return []


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    q: str = Query(""),
    challenge: Annotated[list[str], Query()] = [],  # noqa: B006
    target_group: Annotated[list[str], Query()] = [],  # noqa: B006
    area: Annotated[list[str], Query()] = [],  # noqa: B006
    programme: Annotated[list[str], Query()] = [],  # noqa: B006
    evidence_type: Annotated[list[str], Query()] = [],  # noqa: B006
    type: Annotated[list[str], Query()] = [],  # noqa: B006
    min_recognition: str = Query(""),
    offset: str = Query("0"),
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """Home page and search: a question, facets to narrow it, result cards.

    The parameters are checked here, not by FastAPI, so a bad one (a question over 500
    characters, an offset typed into the address bar) gets this page with a Dutch
    sentence instead of the API's English problem+json."""
    from impact_graph.search.models import SearchFilters, SearchRequest
    from impact_graph.search.service import MAX_CANDIDATES

    selected = {
        "challenge": challenge,
        "target_group": target_group,
        "area": area,
        "programme": programme,
        "evidence_type": evidence_type,
        "type": type,
    }
    ctx: dict[str, Any] = {
        "q": q.strip(),
        "selected": selected,
        "min_recognition": min_recognition,
        "ladder": _ladder(svc),
        "resp": None,
        "notes": [],
        "nothing_found": None,
        "error": None,
        "limit": 10,
        "offset": 0,
        "result_cap": MAX_CANDIDATES,
    }
    try:
        _short_enough({"q": q, "min_recognition": min_recognition}, "de zoekvraag")
        offset_n = ctx["offset"] = _whole_number(
            "offset", offset, "De positie in de lijst", MAX_OFFSET
        )
    except ValueError as e:
        ctx["error"] = str(e)
        return page("home.html", status=422, **ctx)
    if not q.strip():
        return page("home.html", **ctx)
    try:
        service = svc.search()
        req = SearchRequest(
            q=q.strip(),
            limit=10,
            offset=offset_n,
            filters=SearchFilters(
                **{k: [v for v in vals if v.strip()] for k, vals in selected.items()},
                min_recognition=min_recognition.strip() or None,
            ),
        )
        ctx["resp"] = service.search(req)
        ctx["notes"], ctx["nothing_found"] = search_notes_nl(ctx["resp"].notes)
    except StoreError as e:
        return store_down(e)
    except ValueError as e:  # also pydantic's ValidationError (an unknown type value)
        ctx["error"] = search_error_nl(e, selected, min_recognition, ctx["ladder"])
        return page("home.html", status=422, **ctx)
    params = [("q", q.strip())] + [(k, v) for k, vals in selected.items() for v in vals]
    if min_recognition:
        params.append(("min_recognition", min_recognition))
    ctx["base_query"] = urlencode(params)
    return page("home.html", **ctx)


#: Longest text a page parameter may hold (the forms' maxlength).
MAX_TEXT = 500
#: Furthest a results page may start.
MAX_OFFSET = 10_000


def _short_enough(fields: dict[str, str], what: str) -> None:
    """A ValueError with a Dutch sentence when a text parameter is over `MAX_TEXT`."""
    for name, value in fields.items():
        if len(value) > MAX_TEXT:
            raise ValueError(
                f"Dat is te lang voor {what} ('{name}': {len(value):,} tekens); houd het "
                f"onder de {MAX_TEXT} tekens.".replace(",", ".")
            )


def _choice(name: str, value: str, allowed: dict[str, str], what: str) -> str:
    """``value`` when it is one of ``allowed`` (value -> Dutch name), else a ValueError
    whose sentence names the field and the choices."""
    if value in allowed:
        return value
    choices = ", ".join(f"{nl} ({v})" for v, nl in allowed.items())
    raise ValueError(f"{what} ('{name}') kan zijn: {choices}; niet '{value[:60]}'.")


def search_error_nl(
    e: ValueError, selected: dict[str, list[str]], min_recognition: str, ladder: list[str]
) -> str:
    """A Dutch sentence for a search filter the page could not use (a stale link, an
    edited address): the search service's sentences are English for the JSON API, and
    an unknown ``type`` came out as pydantic's "1 validation error for SearchFilters"."""
    from pydantic import ValidationError

    if isinstance(e, ValidationError):
        bad = next((v for v in selected["type"] if v not in RESULT_TYPE_NL), "")
        kinds = ", ".join(f"{nl} ({v})" for v, nl in RESULT_TYPE_NL.items())
        return f"Soort ('type') kan zijn: {kinds}; niet '{bad[:60]}'."
    param = str(e).split(":", 1)[0].strip().lower()
    if param == "min_recognition":
        levels = ", ".join(ladder) or "de niveaus in de lijst"
        return (
            f"'{min_recognition[:80]}' is geen niveau van de erkenningsladder; kies bij "
            f"'Minimaal erkend als' een van: {levels}."
        )
    if param in FILTER_FACETS and param in FACET_NL:
        known = re.search(r"'(.*?)'", str(e))
        value = known.group(1) if known else ", ".join(selected.get(param, []))
        return (
            f"{FACET_NL[param]} '{value[:80]}' komt in de kennisgraaf niet voor; kies een "
            "waarde bij 'Verfijnen' of klik op 'Filters wissen'."
        )
    return _sentence(e)


def _sentence(e: Exception) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else "Een invoerveld is ongeldig."
    return msg[0].upper() + msg[1:]


# --- entity pages ---


@router.get("/entiteit/{entity_id:path}", response_class=HTMLResponse)
def entity(
    request: Request,
    entity_id: str,
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """Any node: its properties, neighbours, source documents and quoted sentences."""
    from impact_graph.api.routers.entities import entity_out, neighbours

    try:
        store = svc.store()
        nodes = store.get_nodes([entity_id])
        if not nodes:
            return error_page(
                "Niet gevonden",
                f"Er is geen entiteit met id '{entity_id}'. Zoek haar op via de zoekpagina.",
                404,
            )
        data = entity_out(request, store, nodes[0])
        items = data["neighbours"].items
        if data["neighbours"].total > len(items):  # the API's first page is 50
            items, _total = neighbours(store, entity_id, NEIGHBOURS_SHOWN, 0)
        # A local instance names its general intervention, a general one its instances.
        instance_of, instances = (
            instance_links(store, entity_id) if data["label"] == "Intervention" else ([], [])
        )
        fragments = document_fragments(store, entity_id) if data["label"] == "Document" else []
        stated_in = (
            edge_sentences(store, entity_id)
            if data["provenance"].total == 0 and data["label"] not in ("Document", "Chunk")
            else []
        )
    except StoreError as e:
        return store_down(e)
    focusable = data["label"] in ("Actor", "Programme", "Intervention")
    return page(
        "entity.html",
        e=data,
        props=entity_properties(data["properties"], data["label"], svc.vocab),
        links=distinct_neighbours(items),
        links_cut=data["neighbours"].total > len(items),
        fragments=fragments,
        focusable=focusable,
        instance_of=instance_of,
        instances=instances,
        stated_in=stated_in,
        research=for_researchers(data["id"], data["label"], data["properties"]),
    )


def for_researchers(
    entity_id: str, label: str | None, props: dict[str, Any]
) -> list[tuple[str, str]]:
    """What an entity page keeps for researchers only, as (Dutch name, text): the node
    id (what Cypher, SPARQL and the JSON API know it by) and, for a text fragment, where
    it sits in its document. Shown at the page's foot in a closed "Voor onderzoekers"
    block: the id next to the type label ("actor:bibliotheek-wadstede") and "Begint bij
    teken 1200" were programmers' notation at the top of a page programme managers read."""
    rows = [("Id (voor Cypher, SPARQL en de API)", entity_id)]
    start, end = props.get("start"), props.get("end")
    if label == "Chunk" and isinstance(start, int) and isinstance(end, int):
        rows.append(("Tekenposities in het document", f"{start}–{end}"))
    if props.get("path"):
        rows.append(("Bestand bij het inlezen", str(props["path"])))
    return rows


#: Neighbours an entity page lists (the JSON API pages them by 50).
NEIGHBOURS_SHOWN = 500
#: Text fragments a document's page lists.
FRAGMENTS_SHOWN = 200


def distinct_neighbours(items: list[Any]) -> list[Any]:
    """One row per relationship type, direction and neighbour: a chunk that mentions
    "jongeren" four times has four MENTIONS edges, which a reader wants as one line
    (the one stated by the most documents)."""
    best: dict[tuple[str, str, str], Any] = {}
    for n in items:
        key = (n.relationship, n.direction, n.id)
        if key not in best or n.documents > best[key].documents:
            best[key] = n
    return list(best.values())


def edge_sentences(store: Any, entity_id: str) -> list[Any]:
    """The sentences that state the entity's own relationships (their ``spans``), for a
    node no sentence mentions by name: an Effect ("Zin in Vriendschap → zelfvertrouwen")
    or an Evidence node is built from a sentence, never quoted as a name, so its page
    said "0 zinnen" while the HAS_EFFECT edge held the very sentence that claims it (all
    51 Effects and 9 Evidence nodes of the demo). Chunk edges are left out (they are the
    mentions, which this node has none of), and so is a span longer than
    `SENTENCE_CHARS` on any edge but the claim itself (HAS_EFFECT): a fact taken from a
    document as a whole (an evidence type read from a report) carries the whole document
    as its span, which is no sentence, while a record's claim is its record (400-850
    characters in the demo), which is."""
    from impact_graph.api.routers.entities import resolve_spans
    from impact_graph.model import parse_span_ref

    refs = store.read_query(
        "MATCH (n:Node {id: $id})-[r]-(m) WHERE NOT m:Chunk AND r.spans IS NOT NULL "
        "UNWIND r.spans AS s RETURN DISTINCT type(r), s LIMIT 500",
        {"id": entity_id},
        timeout_s=10.0,
        row_cap=500,
    ).rows
    found: set[tuple[str, int, int, str]] = set()
    for typ, ref in refs:
        try:
            doc, start, end = parse_span_ref(str(ref))
        except ValueError:
            continue
        if 0 < end - start <= SENTENCE_CHARS or (typ == "HAS_EFFECT" and end > start):
            found.add((doc, start, end, str(ref)))
    ordered = sorted(found)[:EDGE_SENTENCES_SHOWN]
    quotes = resolve_spans(store, [ref for *_, ref in ordered])
    return [q for q in quotes if q.text]


#: Sentences an entity page quotes from its relationships when no sentence names it.
EDGE_SENTENCES_SHOWN = 20
#: Longest span of a non-claim edge quoted as a sentence; a whole report is longer.
SENTENCE_CHARS = 600


def document_fragments(store: Any, document_id: str) -> list[dict[str, Any]]:
    """A document's text fragments (chunks) in reading order, for its page: a document
    is not mentioned in sentences, its text is what a reader wants to see. A story's
    fragments hold the pseudonymised text, never the raw one."""
    rows = store.read_query(
        "MATCH (d:Document {id: $id})-[:HAS_CHUNK]->(c:Chunk) "
        "RETURN c.id, c.section, c.text, c.start ORDER BY c.start, c.id LIMIT $limit",
        {"id": document_id, "limit": FRAGMENTS_SHOWN},
        timeout_s=10.0,
        row_cap=FRAGMENTS_SHOWN,
    ).rows
    return [
        {"id": str(cid), "section": "" if sec is None else str(sec), "text": text or ""}
        for cid, sec, text, _start in rows
    ]


# --- network pages ---


@router.get("/netwerk", response_class=HTMLResponse)
def network_page(
    view: str = Query("stakeholders"),
    focus: str = Query(""),
    hops: str = Query("1"),
    q: str = Query(""),
    programme: str = Query(""),
    area: str = Query(""),
    challenge: str = Query(""),
    role: str = Query(""),
    size_by: str = Query("degree"),
    isolated: str = Query(""),
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """The stakeholder network, a focus view or the what-works view, with the form.

    Parameters are checked here (not by FastAPI), so a bad one gets this page with a
    Dutch sentence, not the API's English problem+json."""
    form: dict[str, Any] = {
        "view": view if view in VIEW_NL else "stakeholders",
        "focus": focus.strip(),
        "hops": 1,
        "q": q.strip(),
        "programme": programme.strip(),
        "area": area.strip(),
        "challenge": challenge.strip(),
        "role": role.strip(),
        "size_by": size_by if size_by in SIZE_NL else "degree",
        "isolated": isolated.strip().lower() in ("true", "1", "on", "ja"),
    }
    bad: dict[str, Any] = {
        "form": form,
        "fragment": None,
        "data": None,
        "choices": {"programmes": [], "areas": [], "challenges": [], "nodes": []},
        "challenge_example": challenge_example(svc.vocab, []),
    }
    try:
        _choice("view", view, VIEW_NL, "Weergave")
        _choice("size_by", size_by, SIZE_NL, "Grootte naar")
        texts = ("focus", "q", "programme", "area", "challenge", "role")
        _short_enough({k: form[k] for k in texts}, "dit veld")
        text = hops.strip()
        hops_n = int(text) if text.isascii() and text.isdigit() else 0
        if not 1 <= hops_n <= MAX_HOPS:
            raise ValueError(
                f"Stappen ('hops') moet een heel getal van 1 tot en met {MAX_HOPS} zijn, "
                f"niet '{hops[:20]}'."
            )
        form["hops"] = hops_n
    except ValueError as e:
        return page("network.html", status=422, error=str(e), **bad)
    filters = NetworkFilters(
        programme=[form["programme"]] if form["programme"] else [],
        area=[form["area"]] if form["area"] else [],
        challenge=[form["challenge"]] if form["challenge"] else [],
        role=[form["role"]] if form["role"] else [],
    )
    ctx: dict[str, Any] = {
        "form": form,
        "error": None,
        "fragment": None,
        "data": None,
        "choices": {"programmes": [], "areas": [], "challenges": [], "nodes": []},
    }
    try:
        store = svc.store()
        raw = read_stakeholders(store)
        ctx["choices"] = {
            "programmes": sorted(
                {n["name"] for n in raw.nodes.values() if n["label"] == "Programme"}
            ),
            "areas": sorted(set(raw.areas.values())),
            "challenges": sorted(set(raw.challenges.values())),
            "nodes": sorted({n["name"] for n in raw.nodes.values()})[:3000],
        }
        ctx["challenge_example"] = challenge_example(svc.vocab, ctx["choices"]["challenges"])
        if view == "whatworks" and not form["q"]:
            return page("network.html", **ctx)
        nv = network_view(
            store,
            view=view,  # type: ignore[arg-type]
            focus=form["focus"] or None,
            hops=hops_n,
            filters=filters,
            q=form["q"],
            search=svc.search() if view == "whatworks" else None,
            isolated=isolated,
        )
        data = network_json(nv, compute_metrics(nv.graph), size_by=size_by)
    except StoreError as e:
        return store_down(e)
    except ValueError as e:
        ctx["error"] = network_error_nl(e, form, ctx["choices"])
        return page("network.html", status=422, **ctx)
    data["notes"] = [network_note_nl(n) for n in data.get("notes", [])]
    focus_url = "/netwerk?" + urlencode({"view": "focus", "hops": hops_n, "size_by": size_by})
    ctx["data"] = data
    ctx["fragment"] = render_fragment(
        data,
        script_src="/static/vis-network.min.js",
        focus_url=focus_url + "&focus=",
        entity_url="/entiteit/",
        height="70vh",
    )
    ctx["summary"] = render_summary(data)
    ctx["html_link"] = "/network.html?" + urlencode(
        [(k, str(v).lower() if isinstance(v, bool) else v) for k, v in form.items() if v]
    )
    return page("network.html", **ctx)


def challenge_example(vocab: Vocabulary | None, in_graph: list[str]) -> str:
    """An opgave to show as the Opgave field's example ("bijv. eenzaamheid"): a concept of
    the vocabulary whose nodes are Challenges, one the graph holds when there is one (so
    trying the example shows something), broadest first; "" without a vocabulary. The
    field was empty, and a policy adviser did not know what kind of word it wanted."""
    if vocab is None:
        return ""
    present = set(in_graph)
    ranked = sorted(
        vocab.for_class("Challenge"),
        key=lambda c: (c.pref_nl not in present, bool(c.broader), c.pref_nl),
    )
    return ranked[0].pref_nl if ranked else ""


#: The network form's fields by the parameter name that starts the (English, API-side)
#: sentences of ``impact_graph.network``: the page says them in Dutch, with the label
#: the reader sees on the form.
NETWORK_FIELD_NL = {
    "programme": ("Programma", "programmes"),
    "area": ("Gebied", "areas"),
    "challenge": ("Opgave", "challenges"),
}


def network_error_nl(e: ValueError, form: dict[str, Any], choices: dict[str, list[str]]) -> str:
    """A Dutch sentence for a network parameter the page could not use, naming the
    form field and what to choose instead; the network module's sentences are English
    for the JSON API (whose users read parameter names), and would leak into the page."""
    param = str(e).split(":", 1)[0].strip().lower()

    def some(names: list[str]) -> str:
        return ", ".join(names[:5]) or "nog geen"

    if param == "focus" and not form["focus"]:
        return (
            "Typ bij 'Focus op' de naam van een betrokkene, programma of interventie "
            "(na een paar letters verschijnen suggesties)."
        )
    if param == "focus":
        filtered = any(form[k] for k in ("programme", "area", "challenge", "role"))
        return (
            f"'{form['focus']}' is geen betrokkene, programma of interventie in dit netwerk"
            f"{' met deze filters' if filtered else ''}. Kies een naam uit de suggesties bij "
            f"'Focus op', bijvoorbeeld {some(choices['nodes'])}."
        )
    if param in NETWORK_FIELD_NL:
        label, key = NETWORK_FIELD_NL[param]
        return (
            f"{label} '{form[param]}' komt in de kennisgraaf niet voor; kies er een uit de "
            f"lijst, bijvoorbeeld {some(choices[key])}, of laat het veld leeg."
        )
    if param == "role":
        return (
            f"Geen betrokkene heeft een rol met '{form['role']}' erin; probeer een ander "
            "woord (bijvoorbeeld welzijn, gemeente of school) of laat het veld leeg."
        )
    if param == "q":
        return "Typ een zoekvraag, bijvoorbeeld 'eenzaamheid ouderen'."
    if param == "hops":
        return f"Kies bij 'Stappen' een getal van 1 tot en met {MAX_HOPS}."
    return _sentence(e)


_LEND_FAILED = r"Chunks could not lend their score to what they mention: (.*)"


def search_notes_nl(notes: list[str]) -> tuple[list[str], str | None]:
    """The search service's notes (English, for the API) as the page shows them: in
    Dutch, and the "nothing was found" note apart, as the sentence of an empty list."""
    from impact_graph.search.service import NO_EMBEDDER, NOTHING_FOUND

    shown: list[str] = []
    nothing: str | None = None
    for note in notes:
        if note.startswith(NOTHING_FOUND):
            nothing = (
                "Niets gevonden met deze filters. Haal een filter weg om de resultaten "
                "van de zoekvraag te zien."
                if "with these filters" in note
                else "Niets gevonden: geen woord van de zoekvraag is een bekend begrip of "
                "komt voor in de documenten, en geen passage lijkt er genoeg op. Probeer "
                "andere of minder woorden."
            )
        elif note == NO_EMBEDDER:
            shown.append(
                "Zoeken op betekenis (het taalmodel) deed niet mee: er is geen taalmodel "
                "geladen. De resultaten komen uit begrippen en woorden."
            )
        elif m := re.fullmatch(r"The (\w+) arm failed and was left out: (.*)", note, re.S):
            arm = {"concept": "begrippen", "fulltext": "woorden", "vector": "betekenis"}
            shown.append(
                f"Zoeken op {arm.get(m[1], m[1])} mislukte en deed niet mee ({m[2]}); de "
                "overige resultaten staan hieronder. Probeer het later opnieuw."
            )
        elif m := re.fullmatch(_LEND_FAILED, note, re.S):
            shown.append(
                "Tekstpassages konden hun score niet doorgeven aan wat ze noemen "
                f"({m[1]}); interventies kunnen daardoor lager staan."
            )
        else:
            shown.append(note)
    return shown, nothing


def network_note_nl(note: str) -> str:
    """A network note as the page shows it: the notes are Dutch at their source, counts
    in the right number (`impact_graph.network.build`); only the API's parameter
    (``isolated=true``) is named here as the page's checkbox."""
    return note.replace(
        "(isolated=true toont ze)", "(vink 'Ook zonder verbinding' aan om ze te tonen)"
    )


# --- evidence map ---


@router.get("/bewijskaart", response_class=HTMLResponse)
def evidence_map(
    rows: str = Query("intervention"),
    cols: str = Query("outcome"),
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """The evidence-and-gap map as a matrix: evidence per row × column; gaps stay empty.
    A bad ``rows``/``cols`` gets a Dutch page, not the API's problem+json."""
    try:
        _choice("rows", rows, MAP_ROWS_NL, "Rijen")
        _choice("cols", cols, MAP_COLS_NL, "Kolommen")
        m = svc.search().evidence_map(rows, cols)
    except StoreError as e:
        return store_down(e)
    except ValueError as e:
        return error_page("Ongeldige keuze", _sentence(e), 422)
    cells = {(c.row, c.col): c for c in m.cells}
    return page("evidence_map.html", m=m, cells=cells, rows=rows, cols=cols)


# --- upload ---


@router.get("/uploaden", response_class=HTMLResponse)
def upload_page(request: Request) -> HTMLResponse:
    """A form that posts to ``POST /documents`` with the API key the user types; on a
    server without keys (the demo) it says so before anyone types one, and who can
    change that."""
    keys = getattr(request.app.state, "keys", None)
    settings = getattr(request.app.state, "settings", None)
    max_bytes = getattr(settings, "upload_max_bytes", None)
    return page(
        "upload.html",
        keys_configured=bool(getattr(keys, "hashes", None)),
        max_mb=dutch_mb(max_bytes) if isinstance(max_bytes, int) else None,
        kinds=kind_choices(),
        starting=starting_nl(request.app),
    )


def dutch_mb(n: int) -> str:
    """Bytes as Dutch megabytes, the way the upload page names its limit ('10,5 MB')."""
    return mb_text_nl(n)


#: Endings that make a word the plural of a shorter word of the same kind ("verhalen",
#: "klantreizen", "plannen", "programma's", "stories").
_PLURAL_ENDINGS = ("s", "'s", "en", "nen", "len", "zen", "ies")


def _plural_of(word: str, other: str) -> bool:
    """Whether ``word`` is a plural form of ``other`` (Dutch or English), by its ending
    after the letters the two share ("verhaal" -> "verhalen": "len" after "verha")."""
    if len(word) <= len(other):
        return False
    n = 0
    while n < len(other) and word[n] == other[n]:
        n += 1
    return n >= len(other) - 2 and word[n:] in _PLURAL_ENDINGS


@lru_cache(maxsize=1)
def kind_choices() -> list[tuple[str, str]]:
    """The upload form's kinds as (value, words a user looks for), e.g. ("plan", "plan,
    programma, programma-aanpak, reisverslag of opdracht").

    Why derived: the ingest already knows which words mean which kind (a folder
    "reisverslagen", front matter ``kind: reisverslag``: `KIND_SYNONYMS`), and the menu
    said only "plan of programma-aanpak", so someone holding a reisverslag did not find
    it. Each kind shows its Dutch name first, then its other words that are neither the
    English code nor a plural of a word already shown.
    """
    from impact_graph.ingest.document import KINDS
    from impact_graph.ingest.kinds import KIND_SYNONYMS

    out = []
    for kind in KINDS:
        words = [KIND_NL.get(kind, kind)]
        for word, k in KIND_SYNONYMS.items():
            if k != kind or word in words or word in KINDS:
                continue
            if any(_plural_of(word, w) for w in [kind, *KIND_SYNONYMS] if w != word):
                continue
            words.append(word)
        text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " of " + words[-1]
        out.append((kind, text))
    return out


def starting_nl(app: Any) -> str | None:
    """A Dutch sentence while the service is still starting, else None.

    Why: an upload sent right after a start waits -- for the store to open (it is
    refused with 503 then, and the page sends it again), for the search's warm-up (the
    embedding model) and then the upload path's warm-up (the language pipelines and
    readers; `warm_up_ingest` holds the ingest lock) -- and the page said only "Bezig
    met lezen en verwerken…". ``/health`` reports the model's warm-up but not the upload
    path's, so the page asks this instead.
    """
    svc = getattr(app.state, "services", None)
    if not isinstance(svc, Services):
        return None
    ingest = getattr(app.state, "ingest_warming", None)
    if svc.store_opening:
        what = "de kennisgraaf wordt geopend"
    elif svc.warming is not None and svc.warming.warming_up:
        what = "het taalmodel wordt geladen"
    elif ingest is not None and ingest.warming_up:
        what = "de onderdelen voor het inlezen worden klaargezet"
    else:
        return None
    return (
        f"De dienst is nog aan het opstarten ({what}). Een document dat u nu toevoegt, "
        "wacht daarop en wordt daarna vanzelf verwerkt; laat deze pagina dan open."
    )


@router.get("/uploaden/status")
def upload_status(request: Request) -> JSONResponse:
    """Whether the service is still starting, for the upload form (it asks while an
    upload waits, and before sending one again that was refused while starting)."""
    sentence = starting_nl(request.app)
    return JSONResponse(
        {"starting": sentence is not None, "message": sentence or ""},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/uploaden/eerdere-versies")
def earlier_versions(
    bestand: str = Query("", max_length=300),
    behalve: str = Query("", max_length=300),
    svc: Services = Depends(services),  # noqa: B008
) -> JSONResponse:
    """Documents uploaded before under the same file name as ``bestand``, other than the
    document ``behalve`` (the one just added), for the upload form: uploads are named by
    content, so a corrected version of a file is a new document and the old one keeps
    its facts (counted twice in search and network) until someone deletes it. The form
    says so and offers the delete; before, it said only "Toegevoegd."."""
    from impact_graph.api.routers.documents import meta_path, uploads_dir

    name = bestand.strip()
    if not name:
        return JSONResponse({"items": []})
    uploads = uploads_dir(svc.settings)
    try:
        rows = (
            svc.store()
            .read_query(
                "MATCH (d:Document) WHERE d.path STARTS WITH $dir "
                "RETURN d.id, d.title, d.path, d.created_at ORDER BY d.created_at",
                {"dir": str(uploads)},
                timeout_s=10.0,
                row_cap=10_000,
            )
            .rows
        )
    except StoreError as e:
        return JSONResponse({"items": [], "error": str(e)}, status_code=503)
    items = []
    for did, title, path, created in rows:
        if str(did) == behalve or Path(str(path)).parent != uploads:
            continue
        try:
            meta = json.loads(meta_path(Path(str(path))).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("filename") == name:
            items.append(
                {
                    "id": str(did),
                    "title": str(title or ""),
                    "created_at": dutch_date(created) or created,
                }
            )
    return JSONResponse({"items": items})


# --- candidates ---

#: Rows on one page of the candidate list.
CANDIDATE_PAGE = 50
#: Longest example sentence shown in the list (the entity page shows them whole).
QUOTE_CHARS = 240
CANDIDATE_SORTS = {"documents": "documenten", "mentions": "vermeldingen", "name": "naam"}


def _whole_number(name: str, value: str, what: str, highest: int) -> int:
    """A form field that must be a whole number from 0 to ``highest``: the number, or a
    ValueError whose Dutch sentence names the field and what to type instead."""
    text = value.strip() or "0"
    if not (text.isascii() and text.isdigit()) or int(text) > highest:
        most = f"{highest:,}".replace(",", ".")  # Dutch thousands separator
        raise ValueError(
            f"{what} ('{name}') moet een heel getal van 0 tot en met {most} zijn, niet '{value}'."
        )
    return int(text)


def vocabulary_files_by_class(svc: Services) -> dict[str, list[str]]:
    """The vocabulary file(s) whose concepts become nodes of each class, as paths a
    reviewer can open in the checkout ("ontology/vocabularies/interventions.ttl"): where a
    candidate goes once someone decides it is a concept. Each scheme lives in the file
    named after it (``interventions`` in ``interventions.ttl``); the folder path is shown
    only when that file is really there."""
    from impact_graph.ontology import ontology_dir

    folder = ontology_dir() / "vocabularies"
    out: dict[str, list[str]] = {}
    try:
        schemes = list(svc.vocab.schemes.values())
    except Exception:  # the list is help text; the page works without it
        log.debug("vocabularies unavailable", exc_info=True)
        return out
    for sch in sorted(schemes, key=lambda s: s.name):
        if sch.pg_label:
            name = f"{sch.name}.ttl"
            shown = f"ontology/vocabularies/{name}" if (folder / name).is_file() else name
            out.setdefault(sch.pg_label, []).append(shown)
    return out


#: Where a sentence ends, for cutting an example out of a chunk's text: ., ! or ? before
#: a space or the end (not the point in "€ 40.000" or "o.a."), or a line break.
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


def _around(text: str, start: int, end: int) -> dict[str, str] | None:
    """The sentence of ``text`` around ``text[start:end]`` (cut at ``.``, ``!``, ``?`` or a
    line break, and to about `QUOTE_CHARS`), as before / mention / after, so the page can
    mark the name inside its sentence. None when the offsets do not fit the text."""
    if not 0 <= start < end <= len(text):
        return None
    room = max(QUOTE_CHARS - (end - start), 40) // 2
    lo = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    stop = _SENTENCE_END.search(text, end)
    hi = stop.end() if stop else len(text)
    before, after = text[lo:start], text[end:hi]
    if len(before) > room:
        before = "… " + before[-room:].split(" ", 1)[-1]
    if len(after) > room:
        after = after[:room].rsplit(" ", 1)[0] + " …"
    return {
        "before": " ".join(before.split()) + (" " if before[-1:].isspace() else ""),
        "mention": " ".join(text[start:end].split()),
        "after": (" " if after[:1].isspace() else "") + " ".join(after.split()),
    }


def _example_sentences(store: Any, ids: list[str]) -> dict[str, dict[str, str]]:
    """One sentence per candidate around its first mention (a ``MENTIONS`` edge's offsets
    in its chunk's text), with the document it is in: what a reviewer reads to judge a
    name without opening it. Two queries for the whole page, whatever its length; read
    from the edges and chunks, not from a node's span list."""
    if not ids:
        return {}
    firsts = store.read_query(
        "MATCH (n:Node) WHERE n.id IN $ids "
        "MATCH (c:Chunk)-[m:MENTIONS]->(n) "
        "WITH n.id AS id, c.id AS chunk, m.start AS start, m.end AS end "
        "ORDER BY chunk, start "
        "RETURN id, head(collect([chunk, start, end]))",
        {"ids": ids},
        timeout_s=10.0,
        row_cap=len(ids),
    ).rows
    chunks = sorted({str(first[0]) for _id, first in firsts if first})
    if not chunks:
        return {}
    texts = {
        str(cid): (text or "", int(cstart or 0), str(did), "" if title is None else str(title))
        for cid, text, cstart, did, title in store.read_query(
            "MATCH (c:Chunk) WHERE c.id IN $ids "
            "MATCH (d:Document)-[:HAS_CHUNK]->(c) "
            "RETURN c.id, c.text, c.start, d.id, d.title",
            {"ids": chunks},
            timeout_s=10.0,
            row_cap=len(chunks),
        ).rows
    }
    out: dict[str, dict[str, str]] = {}
    for nid, first in firsts:
        if not first or str(first[0]) not in texts:
            continue
        text, cstart, did, title = texts[str(first[0])]
        try:
            quote = _around(text, int(first[1]) - cstart, int(first[2]) - cstart)
        except (TypeError, ValueError):  # an edge without offsets: no example, no error
            quote = None
        if quote:
            out[str(nid)] = {**quote, "document_id": did, "title": title}
    return out


@router.get("/kandidaten", response_class=HTMLResponse)
def candidates_page(
    label: str = Query("", max_length=60),
    min_documents: str = Query("1", max_length=20),
    min_mentions: str = Query("0", max_length=20),
    sort: str = Query("documents", max_length=20),
    offset: str = Query("0", max_length=20),
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """Names the ingest found that no vocabulary knows, by type, with their document and
    mention counts and one example sentence, for the people who curate the vocabularies;
    with what a candidate is, which file to add it to, and a CSV download."""
    from impact_graph.candidates import (
        MAX_LIMIT,
        candidate_labels,
        count_by_label,
        list_candidates,
        resolve_label,
        stored_documents,
    )

    schema = svc.schema
    dutch = {c.label: c.label_nl or c.label for c in schema.node_classes}
    classes = candidate_labels(schema)
    form = {
        "label": label.strip(),
        "min_documents": min_documents.strip(),
        "min_mentions": min_mentions.strip(),
        "sort": sort if sort in CANDIDATE_SORTS else "documents",
    }
    ctx: dict[str, Any] = {
        "form": form,
        "classes": [(c, dutch.get(c, c)) for c in classes],
        "sorts": CANDIDATE_SORTS,
        "files": vocabulary_files_by_class(svc),
        "error": None,
        "rows": [],
        "total": 0,
        "counts": {},
        "documents": None,
        "quotes": {},
        "offset": 0,
        "page_size": CANDIDATE_PAGE,
        "csv_limit": MAX_LIMIT,
    }
    try:
        if sort not in CANDIDATE_SORTS:
            raise ValueError(
                f"Sorteren ('sort') kan op {', '.join(CANDIDATE_SORTS.values())} "
                f"(documents, mentions, name), niet op '{sort}'."
            )
        docs_min = _whole_number(
            "min_documents", min_documents, "Minimaal aantal documenten", 10**6
        )
        mentions_min = _whole_number(
            "min_mentions", min_mentions, "Minimaal aantal vermeldingen", 10**9
        )
        start = _whole_number("offset", offset, "De positie in de lijst", 10**7)
        cls = None
        if form["label"]:
            try:
                cls = resolve_label(schema, form["label"], parameter="label")
            except ValueError:
                raise ValueError(
                    f"Soort ('label') '{form['label']}' kan geen kandidaat zijn; kies een van: "
                    + ", ".join(dutch.get(c, c) for c in classes)
                    + "."
                ) from None
            form["label"] = cls
    except ValueError as e:
        ctx["error"] = str(e)
        return page("candidates.html", status=422, **ctx)
    try:
        store = svc.store()
        rows, total = list_candidates(
            store,
            schema,
            label=cls,
            min_documents=docs_min,
            min_mentions=mentions_min,
            order=form["sort"],
            limit=CANDIDATE_PAGE,
            offset=start,
        )
        ctx["counts"] = count_by_label(
            store, schema, min_documents=docs_min, min_mentions=mentions_min
        )
        if not rows:
            ctx["documents"] = stored_documents(store)
        ctx["quotes"] = _example_sentences(store, [c.id for c in rows])
    except StoreError as e:
        return store_down(e)
    filters = [
        (k, v)
        for k, v in (
            ("label", cls or ""),
            ("min_documents", str(docs_min)),
            ("min_mentions", str(mentions_min)),
        )
        if v and not (k == "min_documents" and v == "1") and not (k == "min_mentions" and v == "0")
    ]
    ctx.update(
        rows=rows,
        total=total,
        offset=start,
        filtered=bool(filters),
        filter_query=urlencode(filters),
        page_query=urlencode([*filters, ("sort", form["sort"])]),
        csv_href="/candidates?"
        + urlencode(
            [("format", "csv"), ("limit", str(MAX_LIMIT))]
            + [("label", cls)] * bool(cls)
            + [
                ("min_documents", str(docs_min)),
                ("min_mentions", str(mentions_min)),
                ("order", form["sort"]),
            ]
        ),
    )
    return page("candidates.html", **ctx)
