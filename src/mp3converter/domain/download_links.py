"""Signed download links: a URL that works without any header, like a presigned URL.

The signature is an HMAC-SHA256 over the job, its owner and the expiry, under one of several keys
(`key_id:secret`, the first signs, all verify), so keys can be rotated without breaking links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlencode

VERSION = "v1"


class LinkRefusal(StrEnum):
    """Why a signed link is refused."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LinkClaims:
    """What a link's query says: whose job, until when, signed with which key."""

    owner_id: str
    expires: int
    key_id: str
    signature: str

    @classmethod
    def from_query(cls, query: dict[str, str]) -> LinkClaims | None:
        """The claims of a query with all four parameters (u, e, k, s), else None."""
        try:
            owner, expires, key_id, signature = (query[k] for k in ("u", "e", "k", "s"))
        except KeyError:
            return None
        if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
            return None
        return cls(owner, int(expires), key_id, signature)


class LinkSigner:
    """Signs and verifies download links with a ring of keys."""

    def __init__(self, keys: str) -> None:
        ring: dict[str, bytes] = {}
        for entry in keys.split(","):
            key_id, sep, secret = entry.strip().partition(":")
            if not sep or not key_id or not secret:
                raise ValueError("link signing keys must be key_id:secret[,key_id:secret...]")
            ring[key_id] = secret.encode()
        self._keys = ring
        self._signing_key_id = next(iter(ring))

    def query(self, job_id: str, owner_id: str, expires: int) -> str:
        """The query string (u, e, k, s) that grants downloading the job until `expires`."""
        key_id = self._signing_key_id
        signature = self._sign(key_id, job_id, owner_id, expires)
        return urlencode({"u": owner_id, "e": expires, "k": key_id, "s": signature})

    def check(self, job_id: str, claims: LinkClaims, now: int) -> LinkRefusal | None:
        """None if the link is genuine and unexpired, else why not."""
        if claims.key_id not in self._keys:
            return LinkRefusal.BAD_SIGNATURE
        expected = self._sign(claims.key_id, job_id, claims.owner_id, claims.expires)
        if not hmac.compare_digest(expected, claims.signature):
            return LinkRefusal.BAD_SIGNATURE
        if claims.expires <= now:
            return LinkRefusal.EXPIRED
        return None

    def _sign(self, key_id: str, job_id: str, owner_id: str, expires: int) -> str:
        message = f"{VERSION}\n{job_id}\n{owner_id}\n{expires}".encode()
        digest = hmac.new(self._keys[key_id], message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class DownloadLinks:
    """Absolute signed links to the public download route, valid for `ttl_seconds`."""

    signer: LinkSigner
    base_url: str
    ttl_seconds: int

    def for_job(self, job_id: str, owner_id: str, not_after: int | None = None) -> str:
        """A link to the job's MP3 that expires after the TTL, or when the MP3 does if sooner."""
        expires = int(time.time()) + self.ttl_seconds
        if not_after is not None:
            expires = min(expires, not_after)
        query = self.signer.query(job_id, owner_id, expires)
        return f"{self.base_url.rstrip('/')}/download/{quote(job_id, safe='')}?{query}"

    def issued_at(self, claims: LinkClaims) -> int:
        """When a link was made, at the latest (its expiry less the TTL)."""
        return claims.expires - self.ttl_seconds
