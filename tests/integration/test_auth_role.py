"""The auth role's routes in-process on the real MongoDB-wire server: login, users, JWKS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mp3converter.adapters.jwt_keys import jwk_to_public_key
from mp3converter.adapters.token_verifier import StaticKeys, TokenVerifier
from mp3converter.roles import auth
from tests.inprocess import serving_with_ops, settings_for

ADMIN = ("admin@example.com", "an-admin-password-1")


@pytest.fixture
async def listeners(
    mongodb_url: str, mongo_client: Any, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    settings = settings_for(
        mongodb_url,
        "http://127.0.0.1:9",  # auth verifies its own tokens: it never calls an auth URL
        data_dir=tmp_path,
        admin_email=ADMIN[0],
        admin_password=ADMIN[1],
    )
    try:
        async with serving_with_ops(auth.create_app(settings), settings) as served:
            yield served
    finally:
        await mongo_client.drop_database(settings.mongodb_db)


@pytest.fixture
def client(listeners: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> httpx.AsyncClient:
    return listeners[0]


async def token(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post("/login", auth=(email, password))
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


async def test_the_admin_logs_in_and_gets_a_token_the_jwks_verifies(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/login", auth=ADMIN)
    jwks = (await client.get("/.well-known/jwks.json")).json()

    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("bearer", 900)  # 15 minutes
    (jwk,) = jwks["keys"]
    verifier = TokenVerifier(
        StaticKeys({jwk["kid"]: jwk_to_public_key(jwk)}),
        issuer="mp3converter-auth",
        audience="mp3converter",
    )
    principal = await verifier.verify(body["access_token"])
    assert (principal.email, principal.is_admin) == (ADMIN[0], True)


@pytest.mark.parametrize(
    "credentials",
    [(ADMIN[0], "wrong-password"), ("nobody@example.com", ADMIN[1]), None],
    ids=["wrong-password", "unknown-user", "no-credentials"],
)
async def test_bad_credentials_are_401_with_a_basic_challenge(
    client: httpx.AsyncClient, credentials: tuple[str, str] | None
) -> None:
    response = await client.post("/login", auth=credentials)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Basic realm="mp3converter"')
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_admin_creates_users_who_can_log_in_but_not_create_users(
    client: httpx.AsyncClient,
) -> None:
    admin = {"Authorization": f"Bearer {await token(client, *ADMIN)}"}
    new = {"email": "Ana@Example.com", "password": "ana-password-1"}

    created = await client.post("/users", headers=admin, json=new)
    duplicate = await client.post("/users", headers=admin, json={**new, "email": "ana@example.COM"})
    too_short = await client.post(
        "/users", headers=admin, json={"email": "b@example.com", "password": "short"}
    )
    ana = {"Authorization": f"Bearer {await token(client, 'ana@example.com', 'ana-password-1')}"}
    by_ana = await client.post(
        "/users", headers=ana, json={"email": "c@example.com", "password": "c-password-1"}
    )
    anonymous = await client.post("/users", json=new)

    assert created.status_code == 201
    assert created.json()["email"] == "ana@example.com"
    assert created.json()["is_admin"] is False
    assert duplicate.status_code == 409
    assert too_short.status_code == 422
    assert by_ana.status_code == 403
    assert anonymous.status_code == 401


async def test_readiness_checks_the_database_on_the_ops_listener_only(
    listeners: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    public, ops = listeners
    response = await ops.get("/readyz")

    assert response.json() == {"status": "ready", "role": "auth", "checks": {"mongodb": "ok"}}
    assert (await public.get("/readyz")).status_code == 404
