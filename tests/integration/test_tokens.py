"""Signing keys, issued tokens, and verification against a JWKS served over real HTTP."""

import asyncio
import base64
import hashlib
import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mp3converter.adapters import token_verifier
from mp3converter.adapters.jwt_keys import TokenIssuer, load_or_create_key, public_jwk
from mp3converter.adapters.token_verifier import (
    InvalidToken,
    JwksKeys,
    KeysUnavailable,
    StaticKeys,
    TokenVerifier,
)
from mp3converter.devstack.secantus import free_port
from tests.helpers_jwks import JwksServer, serve_jwks

ISSUER = "mp3converter-auth"
AUDIENCE = "mp3converter"


def issuer_for(key: Ed25519PrivateKey, **overrides: object) -> TokenIssuer:
    fields: dict[str, object] = {"issuer": ISSUER, "audience": AUDIENCE, "ttl_seconds": 600}
    return TokenIssuer(key=key, **{**fields, **overrides})  # type: ignore[arg-type]


def token(key: Ed25519PrivateKey, **overrides: object) -> str:
    return issuer_for(key, **overrides).issue(
        subject="user-1", email="ann@example.com", admin=False
    )


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- keys on disk ---------------------------------------------------------------------------


def test_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "jwt.pem"
    first = load_or_create_key(path, create=True)
    pem = path.read_bytes()

    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_key(path, create=True)
    assert path.read_bytes() == pem
    assert raw_public(again) == raw_public(first)
    assert raw_public(load_or_create_key(path, create=False)) == raw_public(first)


def test_missing_key_is_not_created_when_not_allowed(tmp_path: Path) -> None:
    path = tmp_path / "jwt.pem"
    with pytest.raises(FileNotFoundError, match=r"jwt\.pem"):
        load_or_create_key(path, create=False)
    assert not path.exists()


def test_a_key_of_another_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="not an Ed25519"):
        load_or_create_key(path, create=False)


# --- issued tokens --------------------------------------------------------------------------


def test_issued_token_carries_every_claim_and_the_kid() -> None:
    key = Ed25519PrivateKey.generate()
    issuer = issuer_for(key, ttl_seconds=900)
    encoded = issuer.issue(subject="user-1", email="ann@example.com", admin=True)

    header = jwt.get_unverified_header(encoded)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == issuer.jwk["kid"]
    claims = jwt.decode(encoded, key.public_key(), algorithms=["EdDSA"], audience=AUDIENCE)
    assert set(claims) >= {"sub", "email", "iat", "exp", "iss", "aud", "jti"}
    assert (claims["sub"], claims["email"], claims["admin"]) == ("user-1", "ann@example.com", True)
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    assert claims["exp"] - claims["iat"] == 900
    other = jwt.decode(token(key), key.public_key(), algorithms=["EdDSA"], audience=AUDIENCE)
    assert other["jti"] != claims["jti"]


def test_jwk_is_public_with_an_rfc7638_thumbprint_kid() -> None:
    key = Ed25519PrivateKey.generate()
    jwk = public_jwk(key.public_key())
    assert "d" not in jwk
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
    assert jwk["kid"] == thumbprint.decode()
    assert public_jwk(Ed25519PrivateKey.generate().public_key())["kid"] != jwk["kid"]


async def test_static_keys_verify_the_auth_roles_own_tokens() -> None:
    key = Ed25519PrivateKey.generate()
    kid = public_jwk(key.public_key())["kid"]
    verifier = TokenVerifier(StaticKeys({kid: key.public_key()}), issuer=ISSUER, audience=AUDIENCE)
    principal = await verifier.verify(token(key))
    assert (principal.user_id, principal.email, principal.is_admin) == (
        "user-1",
        "ann@example.com",
        False,
    )


# --- verification against a JWKS over HTTP --------------------------------------------------


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
async def jwks(key: Ed25519PrivateKey) -> AsyncIterator[JwksServer]:
    async with serve_jwks(issuer_for(key).jwks()) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def verifier_for(http: httpx.AsyncClient, url: str, cache_seconds: float = 300) -> TokenVerifier:
    keys = JwksKeys(http, url, cache_seconds=cache_seconds)
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


async def test_valid_token_verifies(
    key: Ed25519PrivateKey, jwks: JwksServer, http: httpx.AsyncClient
) -> None:
    encoded = issuer_for(key).issue(subject="user-9", email="bob@example.com", admin=True)
    principal = await verifier_for(http, jwks.url).verify(encoded)
    assert (principal.user_id, principal.email, principal.is_admin) == (
        "user-9",
        "bob@example.com",
        True,
    )


async def test_jwks_is_fetched_once_then_cached(
    key: Ed25519PrivateKey, jwks: JwksServer, http: httpx.AsyncClient
) -> None:
    verifier = verifier_for(http, jwks.url)
    for _ in range(5):
        await verifier.verify(token(key))
    await asyncio.gather(*(verifier.verify(token(key)) for _ in range(10)))
    assert jwks.requests == 1


async def test_concurrent_first_verifies_fetch_once(
    key: Ed25519PrivateKey, jwks: JwksServer, http: httpx.AsyncClient
) -> None:
    verifier = verifier_for(http, jwks.url)
    await asyncio.gather(*(verifier.verify(token(key)) for _ in range(10)))
    assert jwks.requests == 1


async def test_stale_cache_is_refetched(
    key: Ed25519PrivateKey,
    jwks: JwksServer,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(token_verifier, "MIN_REFETCH_SECONDS", 0.05)
    verifier = verifier_for(http, jwks.url, cache_seconds=0.2)
    await verifier.verify(token(key))
    await verifier.verify(token(key))
    assert jwks.requests == 1
    await asyncio.sleep(0.25)
    await verifier.verify(token(key))
    assert jwks.requests == 2


async def test_a_rotated_key_triggers_exactly_one_refetch(
    key: Ed25519PrivateKey,
    jwks: JwksServer,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(token_verifier, "MIN_REFETCH_SECONDS", 0.1)
    verifier = verifier_for(http, jwks.url)
    await verifier.verify(token(key))
    assert jwks.requests == 1

    new_key = Ed25519PrivateKey.generate()
    jwks.jwks = {"keys": [issuer_for(new_key).jwk, issuer_for(key).jwk]}
    await asyncio.sleep(0.15)  # just past the minimum interval between refetches
    new_tokens = [token(new_key) for _ in range(5)]
    principals = await asyncio.gather(*(verifier.verify(t) for t in new_tokens))

    assert {p.user_id for p in principals} == {"user-1"}
    assert jwks.requests == 2
    await verifier.verify(token(key))  # the old key still works during the rotation
    await verifier.verify(token(new_key))
    assert jwks.requests == 2


async def test_unknown_kids_cannot_make_it_refetch_constantly(
    key: Ed25519PrivateKey, jwks: JwksServer, http: httpx.AsyncClient
) -> None:
    verifier = verifier_for(http, jwks.url)
    await verifier.verify(token(key))
    stranger = Ed25519PrivateKey.generate()
    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown key"):
            await verifier.verify(token(stranger))
    assert jwks.requests == 1


def _tamper_signature(encoded: str) -> str:
    head, payload, signature = encoded.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"


def _tamper_payload(encoded: str) -> str:
    head, payload, signature = encoded.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["admin"] = True
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def _bad_tokens(key: Ed25519PrivateKey) -> dict[str, tuple[str, str]]:
    """Each kind of bad token, with the reason the verifier must give for it."""
    kid = public_jwk(key.public_key())["kid"]
    claims = jwt.decode(token(key), options={"verify_signature": False})
    no_jti = {k: v for k, v in claims.items() if k != "jti"}
    unsupported = "unsupported token algorithm"
    return {
        "expired": (token(key, ttl_seconds=-10), "expired"),
        "wrong audience": (token(key, audience="someone-else"), "Audience"),
        "wrong issuer": (token(key, issuer="evil-auth"), "issuer"),
        "tampered signature": (_tamper_signature(token(key)), "Signature verification"),
        "tampered payload": (_tamper_payload(token(key)), "Signature verification"),
        "missing jti": (
            jwt.encode(no_jti, key, algorithm="EdDSA", headers={"kid": kid}),
            "jti",
        ),
        "alg none": (jwt.encode(claims, "", algorithm="none", headers={"kid": kid}), unsupported),
        "HS256 with the public key": (
            jwt.encode(claims, raw_public(key), algorithm="HS256", headers={"kid": kid}),
            unsupported,
        ),
        "no kid": (jwt.encode(claims, key, algorithm="EdDSA"), unsupported),
        "garbage": ("not-a-token", "malformed"),
        "empty": ("", "malformed"),
        "three dots": ("a.b.c", "malformed"),
    }


BAD_TOKEN_KINDS = list(_bad_tokens(Ed25519PrivateKey.generate()))


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
async def test_bad_tokens_are_invalid(
    key: Ed25519PrivateKey, jwks: JwksServer, http: httpx.AsyncClient, kind: str
) -> None:
    verifier = verifier_for(http, jwks.url)
    await verifier.verify(token(key))  # the same verifier accepts a good token
    bad, reason = _bad_tokens(key)[kind]
    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(bad)


async def test_jwks_server_down_means_keys_unavailable(
    key: Ed25519PrivateKey, http: httpx.AsyncClient
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    with pytest.raises(KeysUnavailable):
        await verifier_for(http, nobody).verify(token(key))


async def test_jwks_server_stopping_means_keys_unavailable_once_stale(
    key: Ed25519PrivateKey, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_verifier, "MIN_REFETCH_SECONDS", 0.05)
    async with serve_jwks(issuer_for(key).jwks()) as server:
        verifier = verifier_for(http, server.url, cache_seconds=0.2)
        await verifier.verify(token(key))
    await verifier.verify(token(key))  # still cached
    await asyncio.sleep(0.25)
    with pytest.raises(KeysUnavailable):
        await verifier.verify(token(key))


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, {"error": "down"}),
        (200, {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "!!"}]}),
    ],
    ids=["http-error", "malformed-key"],
)
async def test_unusable_jwks_means_keys_unavailable(
    key: Ed25519PrivateKey, http: httpx.AsyncClient, status: int, body: object
) -> None:
    async with serve_jwks(body) as server:
        server.status = status
        with pytest.raises(KeysUnavailable):
            await verifier_for(http, server.url).verify(token(key))
        assert server.requests == 1
