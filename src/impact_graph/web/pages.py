"""Routes of the web UI: search, entity pages, network pages, evidence map, upload.

The pages call the same services as the JSON API (``SearchService``, the entity
helpers, ``impact_graph.network``) in-process, so a page and its API route never
disagree. Input errors (a filter value that does not exist) are shown on the page as a
sentence with status 422; a store that is down gives a 503 page that says so.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from impact_graph.api.auth import require_read_key
from impact_graph.api.deps import Services, services
from impact_graph.network import NetworkFilters, compute_metrics, network_view
from impact_graph.network.build import MAX_HOPS, read_stakeholders
from impact_graph.network.render import REL_NL, TYPE_NL, network_json, render_fragment, vis_assets
from impact_graph.search.profile import instance_links
from impact_graph.store.port import StoreError

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


@lru_cache(maxsize=1)
def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        TYPE_NL=TYPE_NL,
        REL_NL=REL_NL,
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
    q: str = Query("", max_length=500),
    challenge: Annotated[list[str], Query()] = [],  # noqa: B006
    target_group: Annotated[list[str], Query()] = [],  # noqa: B006
    area: Annotated[list[str], Query()] = [],  # noqa: B006
    programme: Annotated[list[str], Query()] = [],  # noqa: B006
    evidence_type: Annotated[list[str], Query()] = [],  # noqa: B006
    type: Annotated[list[str], Query()] = [],  # noqa: B006
    min_recognition: str = Query("", max_length=200),
    offset: int = Query(0, ge=0, le=10_000),
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """Home page and search: a question, facets to narrow it, result cards."""
    from impact_graph.search.models import SearchFilters, SearchRequest

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
        "error": None,
        "limit": 10,
        "offset": offset,
    }
    if not q.strip():
        return page("home.html", **ctx)
    try:
        service = svc.search()
        req = SearchRequest(
            q=q.strip(),
            limit=10,
            offset=offset,
            filters=SearchFilters(
                **{k: [v for v in vals if v.strip()] for k, vals in selected.items()},
                min_recognition=min_recognition.strip() or None,
            ),
        )
        ctx["resp"] = service.search(req)
    except StoreError as e:
        return store_down(e)
    except ValueError as e:  # also pydantic's ValidationError (an unknown type value)
        ctx["error"] = _sentence(e)
        return page("home.html", status=422, **ctx)
    params = [("q", q.strip())] + [(k, v) for k, vals in selected.items() for v in vals]
    if min_recognition:
        params.append(("min_recognition", min_recognition))
    ctx["base_query"] = urlencode(params)
    return page("home.html", **ctx)


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
    from impact_graph.api.routers.entities import entity_out

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
        # A local instance names its general intervention, a general one its instances.
        instance_of, instances = (
            instance_links(store, entity_id) if data["label"] == "Intervention" else ([], [])
        )
    except StoreError as e:
        return store_down(e)
    focusable = data["label"] in ("Actor", "Programme", "Intervention")
    return page(
        "entity.html", e=data, focusable=focusable, instance_of=instance_of, instances=instances
    )


# --- network pages ---


@router.get("/netwerk", response_class=HTMLResponse)
def network_page(
    view: str = Query("stakeholders", pattern="^(stakeholders|focus|whatworks)$"),
    focus: str = Query("", max_length=400),
    hops: int = Query(1, ge=1, le=MAX_HOPS),
    q: str = Query("", max_length=500),
    programme: str = Query("", max_length=200),
    area: str = Query("", max_length=200),
    challenge: str = Query("", max_length=200),
    role: str = Query("", max_length=200),
    size_by: str = Query("degree", pattern="^(degree|betweenness)$"),
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """The stakeholder network, a focus view or the what-works view, with the form."""
    form = {
        "view": view,
        "focus": focus.strip(),
        "hops": hops,
        "q": q.strip(),
        "programme": programme.strip(),
        "area": area.strip(),
        "challenge": challenge.strip(),
        "role": role.strip(),
        "size_by": size_by,
    }
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
        if view == "whatworks" and not form["q"]:
            return page("network.html", **ctx)
        nv = network_view(
            store,
            view=view,  # type: ignore[arg-type]
            focus=form["focus"] or None,
            hops=hops,
            filters=filters,
            q=form["q"],
            search=svc.search() if view == "whatworks" else None,
        )
        data = network_json(nv, compute_metrics(nv.graph), size_by=size_by)
    except StoreError as e:
        return store_down(e)
    except ValueError as e:
        ctx["error"] = _sentence(e)
        return page("network.html", status=422, **ctx)
    focus_url = "/netwerk?" + urlencode({"view": "focus", "hops": hops, "size_by": size_by})
    ctx["data"] = data
    ctx["fragment"] = render_fragment(
        data,
        script_src="/static/vis-network.min.js",
        focus_url=focus_url + "&focus=",
        height="70vh",
    )
    ctx["html_link"] = "/network.html?" + urlencode(
        [(k, v) for k, v in form.items() if v not in ("", None)]
    )
    return page("network.html", **ctx)


# --- evidence map ---


@router.get("/bewijskaart", response_class=HTMLResponse)
def evidence_map(
    rows: str = Query("intervention", pattern="^(intervention|working_element)$"),
    cols: str = Query("outcome", pattern="^(outcome|target_group)$"),
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    """The evidence-and-gap map as a matrix: evidence per row × column; gaps stay empty."""
    try:
        m = svc.search().evidence_map(rows, cols)
    except StoreError as e:
        return store_down(e)
    except ValueError as e:
        return error_page("Ongeldige keuze", _sentence(e), 422)
    cells = {(c.row, c.col): c for c in m.cells}
    return page("evidence_map.html", m=m, cells=cells, rows=rows, cols=cols)


# --- upload ---


@router.get("/uploaden", response_class=HTMLResponse)
def upload_page() -> HTMLResponse:
    """A form that posts to ``POST /documents`` with the API key the user types."""
    return page("upload.html")
