"""The auth role's signing key (Ed25519) and the tokens and JWKS made with it."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from mp3converter.contracts import utcnow

log = logging.getLogger(__name__)
ALGORITHM = "EdDSA"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK, with an RFC 7638 thumbprint as its key id."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
    thumb = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return {**members, "kid": _b64url(thumb), "alg": ALGORITHM, "use": "sig"}


def load_or_create_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 key; in development create one (mode 0600) when it is missing."""
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"JWT signing key {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        log.warning("generated a development JWT signing key at %s", path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


@dataclass(frozen=True)
class TokenIssuer:
    """Signs access tokens."""

    key: Ed25519PrivateKey
    issuer: str
    audience: str
    ttl_seconds: int

    @property
    def jwk(self) -> dict[str, str]:
        """Public JWK of the signing key."""
        return public_jwk(self.key.public_key())

    def jwks(self) -> dict[str, Any]:
        """The JWK Set served at /.well-known/jwks.json."""
        return {"keys": [self.jwk]}

    def issue(
        self,
        *,
        subject: str,
        email: str,
        admin: bool,
        ttl_seconds: int | None = None,
        api_key_id: str | None = None,
    ) -> str:
        """A signed JWT with sub, email, admin, iat, exp, iss, aud, jti (and `key` for a token
        exchanged for an API key)."""
        issued_at = utcnow().timestamp()
        claims: dict[str, Any] = {
            "sub": subject,
            "email": email,
            "admin": admin,
            # Fractional seconds: a token issued just after a revocation in the same second counts.
            "iat": issued_at,
            "exp": issued_at + (ttl_seconds or self.ttl_seconds),
            "iss": self.issuer,
            "aud": self.audience,
            "jti": uuid.uuid4().hex,
        }
        if api_key_id is not None:
            claims["key"] = api_key_id
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.jwk["kid"]})


def jwk_to_public_key(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """Parse a JWK from a JWKS into a public key."""
    key = OKPAlgorithm.from_jwk(jwk)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("JWK is not an Ed25519 public key")
    return key
