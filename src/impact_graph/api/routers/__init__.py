"""The API's routers: search, entities, documents, health."""
