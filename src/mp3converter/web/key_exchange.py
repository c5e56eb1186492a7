"""The gateway's side of API keys: trade a key for a short access token at the auth role.

A token is reused for at most `cache_seconds`, so a revoked key stops working within that time;
only a digest of the key is kept in memory.
"""

from __future__ import annotations

import hashlib
import time

import httpx

EXCHANGE_PATH = "/internal/api-key-tokens"
MAX_CACHED = 10_000
# Never hand on a token this close to its expiry.
EXPIRY_MARGIN_SECONDS = 30.0


class KeyExchange:
    """Asks auth for an access token for an API key, and remembers it briefly."""

    def __init__(self, http: httpx.AsyncClient, auth_url: str, cache_seconds: float = 60.0) -> None:
        self._http = http
        self._url = f"{auth_url}{EXCHANGE_PATH}"
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[str, float]] = {}

    async def token_for(self, key: str) -> str | None:
        """An access token for the key, or None if auth refuses it; httpx errors propagate."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        response = await self._http.post(self._url, json={"key": key}, timeout=5.0)
        if response.status_code == 401:
            self._cache.pop(digest, None)
            return None
        response.raise_for_status()
        body = response.json()
        token: str = body["access_token"]
        lifetime = float(body["expires_in"]) - EXPIRY_MARGIN_SECONDS
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[digest] = (token, now + min(self._cache_seconds, lifetime))
        return token
