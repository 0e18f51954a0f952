"""API keys: writes always need one, reads only when configured.

Keys are configured as sha256 hex digests (``IMPACT_GRAPH_API_KEYS``), so the
configuration never holds a usable secret. A presented key is hashed and compared with
every configured digest in constant time (``hmac.compare_digest``, no early exit over
the list), so neither the key nor which digest matched leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from impact_graph.api.problems import ProblemError
from impact_graph.config import Settings

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

#: Both ways to send a key; auto_error=False so missing keys reach our own sentences.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="Send the API key as `Authorization: Bearer <key>`.",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="Or send the API key as the `X-API-Key` header.",
)

CONFIGURE_HINT = (
    "create a key with `impact-graph keys new` and put its sha256 hash in "
    "IMPACT_GRAPH_API_KEYS (comma-separated), then restart the API"
)


def hash_key(key: str) -> str:
    """The sha256 hex digest that is configured for ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh random key and its hash (for ``impact-graph keys new``)."""
    key = "ig_" + secrets.token_urlsafe(32)
    return key, hash_key(key)


def parse_key_hashes(raw: str) -> tuple[str, ...]:
    """Digests from ``IMPACT_GRAPH_API_KEYS``; refuses anything that is not a digest.

    A plain key pasted there by mistake would otherwise silently never match.
    """
    out = []
    for part in raw.split(","):
        digest = part.strip().lower()
        if not digest:
            continue
        if not _HEX64.match(digest):
            raise ValueError(
                "IMPACT_GRAPH_API_KEYS must hold sha256 hex digests (64 hex characters), "
                f"but one entry starts with '{digest[:6]}…'; configure the hash that "
                "`impact-graph keys new` prints, not the key itself."
            )
        out.append(digest)
    return tuple(dict.fromkeys(out))


class KeyChecker:
    """Checks the key of a request against the configured digests."""

    def __init__(self, settings: Settings) -> None:
        self.hashes = parse_key_hashes(settings.api_keys)
        self.read_key_required = settings.api_read_key_required

    def matches(self, key: str) -> bool:
        presented = hash_key(key).encode()
        ok = False
        for digest in self.hashes:  # no early exit: constant over the list
            ok |= hmac.compare_digest(presented, digest.encode())
        return ok

    def check(self, key: str | None, *, write: bool) -> None:
        """Raise a 401/403/503 problem unless ``key`` may do this request."""
        if not self.hashes:
            what = "writes are" if write else "reads require a key, but keys are"
            raise ProblemError(
                403,
                f"This API has no keys configured, so {what} refused; {CONFIGURE_HINT}.",
                slug="no-keys-configured",
            )
        challenge = {"WWW-Authenticate": 'Bearer realm="impact-graph"'}
        if not key:
            raise ProblemError(
                401,
                "This request needs an API key; send it as `Authorization: Bearer <key>` "
                "or as the `X-API-Key` header.",
                headers=challenge,
            )
        if not self.matches(key):
            raise ProblemError(
                401,
                "The API key is not valid; check it for typos, or ask the administrator "
                "whether its hash is in IMPACT_GRAPH_API_KEYS.",
                headers=challenge,
            )


def _presented_key(
    bearer: HTTPAuthorizationCredentials | None, header_key: str | None
) -> str | None:
    if header_key:
        return header_key.strip()
    if bearer is not None and bearer.credentials:
        return bearer.credentials.strip()
    return None


def _checker(request: Request) -> KeyChecker:
    checker: KeyChecker = request.app.state.keys
    return checker


def require_write_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(api_key_scheme)],
) -> None:
    """Dependency of every POST/DELETE route."""
    _checker(request).check(_presented_key(bearer, header_key), write=True)


def require_read_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(api_key_scheme)],
) -> None:
    """Dependency of every reading route: a no-op unless reads are keyed."""
    checker = _checker(request)
    if checker.read_key_required:
        checker.check(_presented_key(bearer, header_key), write=False)


async def check_read_key(request: Request) -> None:
    """`require_read_key` for code that runs before FastAPI's dependency injection (the
    lean path of POST /cypher and /sparql, `impact_graph.api.lean`): the key is read by
    the same two security schemes and checked by the same `KeyChecker`, so the answer
    (and its 401/403 sentence) is the one the dependency gives."""
    checker = _checker(request)
    if checker.read_key_required:
        bearer = await bearer_scheme(request)
        header_key = await api_key_scheme(request)
        checker.check(_presented_key(bearer, header_key), write=False)
