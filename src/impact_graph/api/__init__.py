"""The HTTP API (FastAPI): ``create_app(settings)``; run it with ``impact-graph serve``."""

from impact_graph.api.app import create_app

__all__ = ["create_app"]
