"""Verifying access tokens locally against the auth role's JWKS (cached, refetched on a new kid)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mp3converter.adapters.jwt_keys import ALGORITHM, jwk_to_public_key
from mp3converter.adapters.revocations import Revocations

REQUIRED_CLAIMS = ["sub", "email", "iat", "exp", "iss", "aud", "jti"]
MIN_REFETCH_SECONDS = 5.0


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not signed by a known key."""


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    user_id: str
    email: str
    is_admin: bool
    # The API key the token was exchanged for, if any: such callers cannot manage keys.
    api_key_id: str | None = None


class KeySource(Protocol):
    """Finds the public key for a key id."""

    async def get(self, kid: str) -> Ed25519PublicKey | None:
        """The key, or None if unknown."""


class StaticKeys:
    """Keys known in-process (the auth role verifies with its own key)."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self._keys = keys

    async def get(self, kid: str) -> Ed25519PublicKey | None:
        """The key, or None if unknown."""
        return self._keys.get(kid)


class JwksKeys:
    """Keys fetched from a JWKS URL, cached, refetched when stale or on an unknown key id."""

    def __init__(self, http: httpx.AsyncClient, url: str, cache_seconds: float) -> None:
        self._http = http
        self._url = url
        self._cache_seconds = cache_seconds
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> Ed25519PublicKey | None:
        """The key; fetches the JWKS when stale, or when kid is new (at most every few seconds)."""
        age = time.monotonic() - self._fetched_at
        if age > self._cache_seconds or (kid not in self._keys and age > MIN_REFETCH_SECONDS):
            await self._refresh(kid)
        return self._keys.get(kid)

    async def _refresh(self, kid: str) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age <= MIN_REFETCH_SECONDS and (kid in self._keys or age <= self._cache_seconds):
                return  # another request refreshed it meanwhile
            response = await self._http.get(self._url, timeout=5.0)
            response.raise_for_status()
            keys = {}
            for jwk in response.json().get("keys", []):
                if jwk.get("kty") == "OKP" and "kid" in jwk:
                    keys[jwk["kid"]] = jwk_to_public_key(jwk)
            self._keys = keys
            self._fetched_at = time.monotonic()


class TokenVerifier:
    """Checks signature, issuer, audience, expiry and required claims."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        revocations: Revocations | None = None,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._revocations = revocations

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; InvalidToken otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise InvalidToken("unsupported token algorithm or key id")
        try:
            key = await self._keys.get(kid)
        except (httpx.HTTPError, ValueError, jwt.InvalidKeyError) as exc:
            # InvalidKeyError: the JWKS held a key that does not parse (a dependency fault, 503).
            raise KeysUnavailable("cannot fetch the signing keys") from exc
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from exc
        user_id = str(claims["sub"])
        if self._revocations is not None and await self._revocations.voids(
            user_id, float(claims["iat"])
        ):
            raise InvalidToken("token revoked")
        key = claims.get("key")
        return Principal(
            user_id=user_id,
            email=str(claims["email"]),
            is_admin=bool(claims.get("admin", False)),
            api_key_id=str(key) if key is not None else None,
        )


class KeysUnavailable(Exception):
    """The JWKS could not be fetched: a dependency problem, not the caller's fault."""
