"""``python -m impact_graph.vocab_vectors``: rebuild the shipped vocabulary vectors."""

from impact_graph.vocab_vectors.build import main

main()
