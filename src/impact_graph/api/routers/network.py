"""Network pictures over HTTP: ``GET /network`` (JSON) and ``GET /network.html``.

Both take the same parameters and show the same picture (``impact_graph.network``):
the stakeholder network, a focus (ego) view around one node, or the what-works view
around a search. The HTML is one self-contained file (vis-network inlined, no CDN), so
it can be saved and opened offline.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from impact_graph.api.deps import Services, services
from impact_graph.api.problems import ProblemError, problem_responses
from impact_graph.network import NetworkFilters, compute_metrics, network_view
from impact_graph.network.build import MAX_HOPS, NetworkView
from impact_graph.network.render import network_json, render_html

#: Mounted with the app's read dependencies (a key only when reads require one).
router = APIRouter(tags=["network"])

_VALUE_LEN = 200
_ITEMS = 20


def _values(description: str, example: str) -> Any:
    return Query(
        description=description + " Repeat the parameter for several values.",
        max_length=_ITEMS,
        examples=[[example]],
    )


class NetworkParams:
    """The parameters both routes share (a class dependency, so they are declared once)."""

    def __init__(
        self,
        view: Literal["stakeholders", "focus", "whatworks"] = Query(
            "stakeholders",
            description="stakeholders (actors, programmes, interventions), focus (the "
            "neighbourhood of `focus`) or whatworks (challenge — interventions — working "
            "elements — effects — evidence around the search `q`).",
        ),
        focus: str | None = Query(
            None,
            min_length=1,
            max_length=400,
            description="Node id or name at the centre of the focus view.",
            examples=["actor:stichting-welzijn-wadstede"],
        ),
        hops: int = Query(
            1, ge=1, le=MAX_HOPS, description=f"Steps from the focus (1-{MAX_HOPS})."
        ),
        q: str = Query(
            "",
            max_length=500,
            description="The question of the what-works view.",
            examples=["eenzaamheid ouderen"],
        ),
        programme: Annotated[
            list[str], _values("Programmes by id or name.", "Samen Minder Alleen")
        ] = [],  # noqa: B006
        area: Annotated[
            list[str], _values("Areas (municipality, district) by id or name.", "Wadstede")
        ] = [],  # noqa: B006
        challenge: Annotated[list[str], _values("Challenges by id or name.", "eenzaamheid")] = [],  # noqa: B006
        role: Annotated[
            list[str], _values("Actor roles: any part of the role words.", "welzijn")
        ] = [],  # noqa: B006
        size_by: Literal["degree", "betweenness"] = Query(
            "degree", description="Centrality that sizes the nodes: degree or betweenness."
        ),
        isolated: bool = Query(False, description="Also show nodes without any link."),
        derive: bool = Query(
            True,
            description="Derive COLLABORATES_WITH links between actors that share programmes.",
        ),
    ) -> None:
        for name, vals in (
            ("programme", programme),
            ("area", area),
            ("challenge", challenge),
            ("role", role),
        ):
            for v in vals:
                if not v.strip() or len(v) > _VALUE_LEN:
                    raise ProblemError(
                        422,
                        f"Query parameter '{name}' must be 1-{_VALUE_LEN} characters; give a "
                        "name or id, or leave it out.",
                    )
        self.view = view
        self.focus = focus.strip() if focus else None
        self.hops = hops
        self.q = q.strip()
        self.filters = NetworkFilters(
            programme=[v.strip() for v in programme],
            area=[v.strip() for v in area],
            challenge=[v.strip() for v in challenge],
            role=[v.strip() for v in role],
        )
        self.size_by = size_by
        self.isolated = isolated
        self.derive = derive


def build_view(svc: Services, p: NetworkParams) -> NetworkView:
    """The picture for these parameters; parameter errors become 422 problems."""
    store = svc.store()
    search = svc.search() if p.view == "whatworks" else None
    try:
        return network_view(
            store,
            view=p.view,
            focus=p.focus,
            hops=p.hops,
            filters=p.filters,
            q=p.q,
            search=search,
            derive=p.derive,
            isolated=p.isolated,
        )
    except ValueError as e:
        msg = str(e)
        name, sep, rest = msg.partition(":")
        if sep and name.isidentifier():
            msg = f"Query parameter '{name}':{rest}"
        raise ProblemError(422, msg, slug="invalid-parameters") from None


@router.get(
    "/network",
    summary="Network picture as JSON",
    description="Nodes and edges in vis-network's shape (with type, role, programmes, "
    "sources and a plain-text tooltip), degree and betweenness centrality, Louvain "
    "communities, a legend and notes.",
    responses=problem_responses(401, 422, 503),
)
def get_network(
    p: NetworkParams = Depends(),  # noqa: B008
    svc: Services = Depends(services),  # noqa: B008
) -> dict[str, Any]:
    view = build_view(svc, p)
    return network_json(view, compute_metrics(view.graph), size_by=p.size_by)


@router.get(
    "/network.html",
    summary="Network picture as a self-contained HTML page",
    description="The same picture as GET /network, drawn with vis-network (inlined: the "
    "page works offline). Double-click a node for its focus view.",
    response_class=HTMLResponse,
    responses=problem_responses(401, 422, 503),
)
def get_network_html(
    p: NetworkParams = Depends(),  # noqa: B008
    svc: Services = Depends(services),  # noqa: B008
) -> HTMLResponse:
    view = build_view(svc, p)
    html = render_html(
        view,
        compute_metrics(view.graph),
        size_by=p.size_by,
        focus_url=f"/network.html?view=focus&hops={p.hops}&focus=",
    )
    return HTMLResponse(html)
