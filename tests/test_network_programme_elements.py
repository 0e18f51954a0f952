"""The what-works picture shows programme-level working elements and local instances.

Why: a plan's werkzame elementen belong to its programme (HAS_PROGRAMME_ELEMENT), not to
one of its interventions, so a picture that followed only HAS_ELEMENT out of the found
interventions hid everything programmes learned. A local intervention (Buurtkamer De
Meeuw) leads to the general one it is an instance of (INSTANCE_OF). Both types are named
in Dutch from the ontology's rdfs:label.
"""

from __future__ import annotations

from impact_graph.model import make_id
from impact_graph.network import compute_metrics, network_json
from impact_graph.network.build import WHATWORKS_RELS, NetworkView, whatworks_graph
from impact_graph.network.render import REL_NL
from impact_graph.ontology import load_schema
from impact_graph.store.port import GraphStore
from tests.factories import doc_batch
from tests.test_network import seed

WOR = make_id("Intervention", "Welzijn op Recept")
SMA = make_id("Programme", "Samen Minder Alleen")
WARM = make_id("WorkingElement", "Warme overdracht")


def seed_programme_elements(store: GraphStore) -> None:
    """Samen Minder Alleen uses Welzijn op Recept and names an element of its approach
    (with evidence); another programme names one but does not use it; a local buurtkamer
    is an instance of the general one."""
    seed(store)
    store.upsert_batch(
        doc_batch(
            "reisverslag-samen",
            [
                ("Programme", "Samen Minder Alleen"),
                ("Intervention", "Welzijn op Recept"),
                ("WorkingElement", "Warme overdracht"),
                ("Evidence", "Reisverslag 2025"),
                ("Programme", "Ander Programma"),
                ("WorkingElement", "Los element"),
                ("Intervention", "Buurtkamer De Meeuw"),
                ("Intervention", "buurtkamer"),
            ],
            [
                ("Samen Minder Alleen", "USES", "Welzijn op Recept"),
                ("Samen Minder Alleen", "HAS_PROGRAMME_ELEMENT", "Warme overdracht"),
                ("Warme overdracht", "SUPPORTED_BY", "Reisverslag 2025"),
                ("Ander Programma", "HAS_PROGRAMME_ELEMENT", "Los element"),
                ("Buurtkamer De Meeuw", "INSTANCE_OF", "buurtkamer"),
            ],
        )
    )


def edge_types(g: object, u: str, v: str) -> set[str]:
    return {d["type"] for _, w, d in g.out_edges(u, data=True) if w == v}  # type: ignore[attr-defined]


def test_whatworks_shows_the_elements_of_programmes_that_use_a_found_intervention(
    store: GraphStore,
) -> None:
    seed_programme_elements(store)
    g = whatworks_graph(store, [WOR])
    assert g.nodes[SMA]["label"] == "Programme"
    assert g.nodes[WARM]["label"] == "WorkingElement"
    assert edge_types(g, SMA, WOR) == {"USES"}
    assert edge_types(g, SMA, WARM) == {"HAS_PROGRAMME_ELEMENT"}
    assert edge_types(g, WARM, make_id("Evidence", "Reisverslag 2025")) == {"SUPPORTED_BY"}
    # A programme that does not use the intervention brings nothing.
    assert make_id("Programme", "Ander Programma") not in g
    assert make_id("WorkingElement", "Los element") not in g
    # What the intervention itself has is still there, each edge once.
    assert make_id("WorkingElement", "Persoonlijk contact") in g
    assert sum(1 for *_, d in g.edges(data=True) if d["type"] == "HAS_PROGRAMME_ELEMENT") == 1
    assert {d["type"] for *_, d in g.edges(data=True)} <= set(WHATWORKS_RELS)


def test_whatworks_follows_a_local_instance_to_the_general_intervention(
    store: GraphStore,
) -> None:
    seed_programme_elements(store)
    local, general = (make_id("Intervention", n) for n in ("Buurtkamer De Meeuw", "buurtkamer"))
    g = whatworks_graph(store, [local])
    assert edge_types(g, local, general) == {"INSTANCE_OF"}
    view = NetworkView(graph=g, kind="whatworks", title="Wat werkt: buurtkamer")
    tips = [e["tip"] for e in network_json(view, compute_metrics(g))["edges"]]
    assert [t.split("\n")[0] for t in tips] == [
        "Buurtkamer De Meeuw — is een lokale uitvoering van — buurtkamer"
    ]


def test_every_relationship_type_has_its_dutch_label_from_the_ontology() -> None:
    schema = load_schema()
    assert {r.type: r.label_nl for r in schema.rel_types} == REL_NL
    assert REL_NL["HAS_PROGRAMME_ELEMENT"] == "heeft werkzaam element van de aanpak"
    assert REL_NL["INSTANCE_OF"] == "is een lokale uitvoering van"
    assert REL_NL["HAS_ELEMENT"] == "heeft werkzaam element"  # as it read before
