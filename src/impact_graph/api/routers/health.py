"""``GET /health``: is the store there, and are its indexes ready?

For the embedded FalkorDB the server's own status tells "loading" (it does not even
answer PING while it loads a large snapshot) and "indexing" (indexes rebuilt in the
background after a restart) apart from "stopped"; Neo4j reports index states itself.
A store that cannot answer gives 503 with a sentence, so load balancers and people
read the same thing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from impact_graph.api.deps import Services, services
from impact_graph.api.models import Health, IndexOut
from impact_graph.api.problems import problem_response, problem_responses
from impact_graph.store.port import StoreError

router = APIRouter(tags=["health"])


def _server_state(svc: Services) -> tuple[str, str] | None:
    """(state, sentence) of the embedded FalkorDB server, None for other backends."""
    s = svc.settings
    if s.backend != "falkordb" or s.falkordb_url:
        return None
    from impact_graph.store.falkordb_server import FalkorDBServer

    try:
        st = FalkorDBServer(s.data_path, s.falkordb_port).status()
    except Exception as e:  # status must never fail the health check itself
        return "unavailable", f"The embedded FalkorDB status could not be read ({e})."
    sentences = {
        "stopped": f"The embedded FalkorDB in {s.data_path} is not running; start it with "
        "`impact-graph db start`; the API also restarts it by itself on a later request.",
        "loading": "The embedded FalkorDB is loading its data; retry in a few seconds.",
        "indexing": "The embedded FalkorDB is rebuilding its indexes ("
        + "; ".join(st.indexes_building[:3])
        + "); search answers once they are online.",
        "unresponsive": "The embedded FalkorDB runs but does not answer; see "
        f"{s.data_path}/falkordb.log or restart it with `impact-graph db stop` and "
        "`impact-graph db start`.",
        "running": "The store answers.",
    }
    return st.state, sentences.get(st.state, f"The embedded FalkorDB is {st.state}.")


@router.get(
    "/health",
    response_model=Health,
    summary="Health of the API and its graph store",
    description="Backend, store state (FalkorDB: running/loading/indexing via the server "
    "status) and index states. Answers 503 (problem+json with `store` and `backend`) "
    "when the store cannot answer.",
    responses=problem_responses(401, 503),
)
def health(request: Request, svc: Services = Depends(services)) -> Any:  # noqa: B008
    backend = svc.settings.backend
    server = _server_state(svc)

    def down(state: str, detail: str) -> JSONResponse:
        return problem_response(
            request,
            503,
            detail,
            headers={"Retry-After": "5"},
            extra={"backend": backend, "store": state},
        )

    if server is not None and server[0] in ("loading", "stopped", "unresponsive"):
        svc.invalidate(server[1])  # reopened (and restarted) by a later request
        return down(server[0], server[1])
    try:
        store = svc.store()
        stats = store.stats()
    except StoreError as e:
        state = "starting" if svc.store_opening else "unavailable"
        return down(state, str(e))
    indexes = [
        IndexOut(name=i.name, label=i.label, kind=i.kind, properties=i.properties, state=i.state)
        for i in stats.indexes
    ]
    building = [i for i in indexes if i.state != "online"]
    state = server[0] if server is not None else "running"
    if building and state == "running":
        state = "indexing"
    if building:
        detail = (
            f"{len(building)} index(es) are still being built ("
            + ", ".join(f"{i.name}: {i.state}" for i in building[:4])
            + "); search may miss results until they are online."
        )
    else:
        detail = "The store answers and all indexes are online."
    warm = svc.warming  # the start-up warm-up (`Services.start_warm_up`), if any
    search = None if warm is None else ("warming up" if warm.warming_up else "ready")
    if search == "warming up":
        detail += " Search is warming up (loading the embedding model); a search waits for it."
    # The upload path warms up after the search (`warm_up_ingest`, under the ingest
    # lock): an upload sent meanwhile waits for it, so say so while `search` is "ready".
    ingest = getattr(request.app.state, "ingest_warming", None)
    if ingest is not None and ingest.warming_up:
        detail += (
            " Uploads are warming up (language pipelines and readers); an upload waits for it."
        )
    return Health(
        status="degraded" if building else "ok",
        backend=backend,
        store=state,
        detail=detail,
        documents=stats.documents,
        nodes=stats.total_nodes,
        relationships=stats.total_relationships,
        indexes=indexes,
        search=search,
    )
