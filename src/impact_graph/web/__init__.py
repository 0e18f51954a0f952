"""The Dutch web UI: server-rendered pages for programme managers.

Jinja2 templates with autoescape and a little JavaScript (the network picture, the
upload form); no front-end build. Mount with ``app.include_router(web.router)``.
"""

from impact_graph.web.pages import router

__all__ = ["router"]
