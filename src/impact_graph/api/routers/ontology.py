"""``/ontology``: the ontology and its SKOS vocabularies as Turtle, JSON-LD or a readable page.

The content is ``impact.ttl`` plus ``vocabularies/*.ttl`` exactly as the app loaded them
(`impact_graph.ontology.load_graph`), so what researchers read is what the graph and the
RDF view are built from. The HTML page lists classes (with their properties),
relationships (domain -> range, Dutch label and its inverse, edge properties) and
vocabularies (concepts with labels and hierarchy); every text is escaped by Jinja's
autoescape.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from impact_graph.api.problems import ProblemError, problem_responses

router = APIRouter(tags=["sparql"])

_TYPES = {
    "ttl": "text/turtle",
    "turtle": "text/turtle",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "html": "text/html",
}

#: The HTML page (Jinja, autoescaped), shipped next to this module.
TEMPLATE_FILE = "ontology.html"


@lru_cache(maxsize=1)
def _turtle() -> bytes:
    from impact_graph.ontology import load_graph

    return load_graph().serialize(format="turtle", encoding="utf-8")


@lru_cache(maxsize=1)
def _jsonld() -> bytes:
    from impact_graph.ontology import load_graph

    g = load_graph()
    return g.serialize(format="json-ld", context=own_prefixes(), encoding="utf-8")


@lru_cache(maxsize=1)
def own_prefixes() -> dict[str, str]:
    """The prefixes the ontology files themselves declare (``@prefix`` in ``impact.ttl``
    and the vocabularies), for the JSON-LD ``@context``.

    ``load_graph()``'s namespace manager also carries rdflib's default bindings (brick,
    csvw, doap, ...); a context listing those tells a reader the ontology uses them, which it
    does not. Each file is parsed into a graph that binds nothing by default, so only what
    the file declares is collected.
    """
    from rdflib import Graph

    from impact_graph.ontology import ONTOLOGY_FILE, ontology_dir, vocabulary_files

    directory = ontology_dir()
    out: dict[str, str] = {}
    for path in [directory / ONTOLOGY_FILE, *vocabulary_files(directory)]:
        g = Graph(bind_namespaces="none")
        g.parse(path, format="turtle")
        out.update({str(p): str(ns) for p, ns in g.namespaces() if str(p)})
    return dict(sorted(out.items()))


@lru_cache(maxsize=1)
def _html() -> bytes:
    from jinja2 import Environment

    from impact_graph.ontology import inverse_labels, load_schema
    from impact_graph.vocab import load_vocabulary

    vocab = load_vocabulary()
    schemes: list[dict[str, Any]] = []
    for name, s in sorted(vocab.schemes.items()):
        concepts = []
        for c in sorted(vocab.scheme(name), key=lambda c: c.pref_nl.lower()):
            broader = [vocab.get(b) for b in c.broader]
            concepts.append(
                {
                    "iri": c.iri,
                    "pref_nl": c.pref_nl,
                    "pref_en": c.pref_en,
                    "alt_nl": c.alt_nl,
                    "broader_labels": [b.pref_nl for b in broader if b is not None],
                }
            )
        schemes.append(
            {
                "name": name,
                "label_nl": s.label_nl,
                "label_en": s.label_en,
                "pg_label": s.pg_label,
                "value_of": s.value_of,
                "concepts": concepts,
            }
        )
    template = (importlib.resources.files(__package__) / TEMPLATE_FILE).read_text("utf-8")
    env = Environment(autoescape=True)
    return (
        env.from_string(template)
        .render(schema=load_schema(), inverse=inverse_labels("nl"), schemes=schemes)
        .encode()
    )


def _choose(accept: str, fmt: str | None) -> str:
    if fmt:
        media = _TYPES.get(fmt.lower())
        if media is None:
            raise ProblemError(
                406,
                f"format '{fmt}' is not offered; use ttl, jsonld or html.",
                slug="not-acceptable",
            )
        return media
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            return "text/html"
        if media in ("text/turtle", "application/x-turtle"):
            return "text/turtle"
        if media in ("application/ld+json", "application/json"):
            return "application/ld+json"
        if media in ("*/*", "text/*", ""):
            return "text/turtle"
    raise ProblemError(
        406,
        "The ontology is offered as text/turtle, application/ld+json or text/html; accept "
        "one of those.",
        slug="not-acceptable",
    )


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/turtle": {}, "application/ld+json": {}, "text/html": {}}},
    **problem_responses(401, 404, 406),
}

_FORMAT = Query(alias="format", description="ttl, jsonld or html (else Accept).")


@router.get(
    "/ontology",
    summary="The ontology and vocabularies (Turtle, JSON-LD or HTML)",
    description=__doc__,
    responses=_RESPONSES,
    response_class=Response,
)
def ontology(
    request: Request,
    fmt: Annotated[str | None, _FORMAT] = None,
) -> Response:
    return _serve(request, fmt)


@router.get(
    "/ontology.{suffix}",
    summary="The ontology and vocabularies by file suffix (.ttl, .jsonld, .html)",
    description="The same as GET /ontology with the format chosen by the suffix "
    "(`/ontology.ttl`, `/ontology.jsonld`, `/ontology.html`; also `.turtle`, `.json-ld`), "
    "as links and datasette-style URLs expect.",
    responses=_RESPONSES,
    response_class=Response,
)
def ontology_file(
    request: Request,
    suffix: Annotated[str, Path(description="ttl, jsonld or html.", examples=["ttl"])],
) -> Response:
    if suffix.lower() not in _TYPES:
        raise ProblemError(
            404,
            f"There is no /ontology.{suffix}; the ontology is offered as /ontology.ttl, "
            "/ontology.jsonld and /ontology.html (or GET /ontology with Accept or format=).",
            slug="not-found",
        )
    return _serve(request, suffix)


def _serve(request: Request, fmt: str | None) -> Response:
    """One answer for both routes: ``fmt`` (suffix or ``format=``), else Accept."""
    media = _choose(request.headers.get("accept", "*/*"), fmt)
    if media == "text/html":
        return Response(_html(), media_type="text/html; charset=utf-8")
    if media == "application/ld+json":
        return Response(_jsonld(), media_type=media)
    return Response(_turtle(), media_type="text/turtle; charset=utf-8")
