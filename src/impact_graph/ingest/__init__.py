"""Ingest: files → Documents → Extractions → chunks + vectors → GraphBatches.

torch reads its OpenMP settings once, when it is first loaded, and both the embedding
model (``embed``) and spaCy (``nlp``, through thinc) load it; every import of either
runs this package's ``__init__`` first, so the settings are applied here
(`impact_graph.ingest.embed.torch_thread_env` says which and why).
"""

from impact_graph.ingest.embed import torch_thread_env

torch_thread_env()
