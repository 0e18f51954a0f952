"""The RDF view of the graph: mapping, stores, SPARQL, export and validation.

Kept import-free on purpose: the SPARQL query worker (``python -m
impact_graph.rdf._worker``) imports this package and must start fast.
"""
