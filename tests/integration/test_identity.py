"""Identity on the auth role in-process (real MongoDB-wire server): OAuth2 tokens with rotating
refresh, throttled logins, bounded hashing, user management, UTF-8 Basic and API keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from mp3converter.adapters.mongo import Database
from mp3converter.contracts import utcnow
from mp3converter.roles import auth
from tests.inprocess import serving, settings_for

ADMIN = ("admin@example.com", "an-admin-password-1")
NO_STORE = "no-store"


@dataclass
class Auth:
    """The auth role's client and database, with helpers for what most tests do first."""

    client: httpx.AsyncClient
    db: Database

    async def login(self, email: str, password: str) -> httpx.Response:
        return await self.client.post("/login", auth=(email, password))

    async def tokens(self, email: str = ADMIN[0], password: str = ADMIN[1]) -> dict[str, Any]:
        response = await self.client.post(
            "/token", data={"grant_type": "password", "username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def bearer(self, email: str = ADMIN[0], password: str = ADMIN[1]) -> dict[str, str]:
        return {"Authorization": f"Bearer {(await self.tokens(email, password))['access_token']}"}

    async def new_user(self, email: str, password: str = "user-password-1") -> str:  # noqa: S107
        response = await self.client.post(
            "/users", headers=await self.bearer(), json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        user_id: str = response.json()["user_id"]
        return user_id

    async def refresh(self, token: str) -> httpx.Response:
        return await self.client.post(
            "/token", data={"grant_type": "refresh_token", "refresh_token": token}
        )


Start = Callable[..., AbstractAsyncContextManager[Auth]]


@pytest.fixture
def start(mongodb_url: str, mongo_client: Any, tmp_path: Path) -> Start:
    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[Auth]:
        settings = settings_for(
            mongodb_url,
            "http://127.0.0.1:9",
            data_dir=tmp_path,
            admin_email=ADMIN[0],
            admin_password=ADMIN[1],
            **overrides,
        )
        try:
            async with serving(auth.create_app(settings), settings) as client:
                yield Auth(client, mongo_client[settings.mongodb_db])
        finally:
            await mongo_client.drop_database(settings.mongodb_db)

    return running


@pytest.fixture
async def role(start: Start) -> AsyncIterator[Auth]:
    async with start() as running:
        yield running


# --- OAuth2 token endpoint and refresh rotation --------------------------------------------


async def test_the_password_grant_gives_a_short_access_token_and_a_refresh_token(
    role: Auth,
) -> None:
    response = await role.client.post(
        "/token", data={"grant_type": "password", "username": ADMIN[0], "password": ADMIN[1]}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"].startswith("rt_")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900
    assert response.headers["cache-control"] == NO_STORE
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_refresh_rotates_and_a_reused_token_revokes_the_whole_login(role: Auth) -> None:
    first = (await role.tokens())["refresh_token"]

    rotated = await role.refresh(first)
    second = rotated.json()["refresh_token"]
    reused = await role.refresh(first)
    after_reuse = await role.refresh(second)

    assert rotated.status_code == 200
    assert second != first
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert "reused" in reused.json()["error_description"]
    assert reused.headers["cache-control"] == NO_STORE
    # The thief's or the owner's next token: the family is gone either way.
    assert (after_reuse.status_code, after_reuse.json()["error"]) == (400, "invalid_grant")


async def test_revoking_a_refresh_token_ends_it(role: Auth) -> None:
    token = (await role.tokens())["refresh_token"]

    revoked = await role.client.post("/revoke", data={"token": token})
    unknown = await role.client.post("/revoke", data={"token": "rt_never-issued"})
    refreshed = await role.refresh(token)

    assert (revoked.status_code, unknown.status_code) == (200, 200)  # RFC 7009
    assert refreshed.json()["error"] == "invalid_grant"


async def test_refresh_tokens_are_stored_as_their_sha256_only(role: Auth) -> None:
    first = (await role.tokens())["refresh_token"]
    second = (await role.refresh(first)).json()["refresh_token"]

    stored = [doc async for doc in role.db.refresh_tokens.find({})]

    digests = {hashlib.sha256(token.encode()).hexdigest() for token in (first, second)}
    assert {doc["_id"] for doc in stored} == digests
    for token in (first, second):
        assert token not in repr(stored)
        assert token.removeprefix("rt_") not in repr(stored)


async def test_an_expired_refresh_token_is_invalid_grant(role: Auth) -> None:
    token = (await role.tokens())["refresh_token"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    await role.db.refresh_tokens.update_one(
        {"_id": digest}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}}
    )

    refreshed = await role.refresh(token)

    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_revoke_without_a_token_is_an_oauth_invalid_request(role: Auth) -> None:
    response = await role.client.post("/revoke", data={"token_type_hint": "refresh_token"})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": ADMIN[0]}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "password", "username": ADMIN[0], "password": "wrong"}, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "rt_forged"}, "invalid_grant"),
    ],
)
async def test_token_endpoint_errors_use_the_oauth_shape(
    role: Auth, form: dict[str, str], error: str
) -> None:
    response = await role.client.post("/token", data=form)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert response.json()["error_description"]


async def test_login_keeps_working_and_also_returns_a_refresh_token(role: Auth) -> None:
    response = await role.login(*ADMIN)

    assert response.status_code == 200
    assert response.json()["refresh_token"].startswith("rt_")
    assert (await role.refresh(response.json()["refresh_token"])).status_code == 200


# --- UTF-8 passwords ------------------------------------------------------------------------


async def test_a_non_ascii_password_logs_in_with_utf8_basic(role: Auth) -> None:
    password = "pässwörd-ünïcødé-🔑"
    await role.new_user("ute@example.com", password)
    raw = base64.b64encode(f"ute@example.com:{password}".encode()).decode()

    response = await role.client.post("/login", headers={"Authorization": f"Basic {raw}"})

    assert response.status_code == 200, response.text


# --- throttling and bounded hashing ---------------------------------------------------------


async def test_repeated_failures_lock_the_account_before_the_password_is_checked(
    start: Start,
) -> None:
    async with start(login_account_max_failures=3, login_client_max_failures=100) as role:
        failures = [(await role.login(ADMIN[0], "wrong")).status_code for _ in range(3)]
        started = time.monotonic()
        locked = await role.login(*ADMIN)  # the right password, but the account is locked
        locked_after = time.monotonic() - started
        other = await role.client.post(
            "/token",
            data={"grant_type": "password", "username": ADMIN[0], "password": ADMIN[1]},
        )

    assert failures == [401, 401, 401]
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json()["type"].endswith("/login-throttled")
    assert locked_after < 0.1  # no argon2 run (about 0.1-0.2 s each here)
    assert other.status_code == 429
    assert other.json()["error"] == "temporarily_unavailable"


async def test_failures_from_one_client_across_accounts_lock_that_client(start: Start) -> None:
    async with start(login_account_max_failures=100, login_client_max_failures=4) as role:
        statuses = [
            (await role.login(f"user{n}@example.com", "wrong")).status_code for n in range(5)
        ]
        from_elsewhere = await role.client.post(
            "/login", auth=ADMIN, headers={"X-Forwarded-For": "203.0.113.9"}
        )

    assert statuses == [401, 401, 401, 401, 429]
    assert from_elsewhere.status_code == 200


async def test_past_the_hashing_cap_logins_are_refused_quickly(start: Start) -> None:
    async with start(password_hash_concurrency=1, password_hash_queue=1) as role:
        started = time.monotonic()
        responses = await asyncio.gather(
            *(role.login(f"nobody{n}@example.com", "some-password") for n in range(8))
        )
        elapsed = time.monotonic() - started

    statuses = sorted(r.status_code for r in responses)
    busy = [r for r in responses if r.status_code == 503]
    assert statuses.count(401) == 2  # one hashing, one waiting
    assert len(busy) == 6
    assert all(r.headers["retry-after"] == "1" for r in busy)
    assert elapsed < 5


# --- user management --------------------------------------------------------------------------


async def test_an_admin_lists_disables_and_deletes_users(role: Auth) -> None:
    admin = await role.bearer()
    ann_id = await role.new_user("ann@example.com")
    ann_tokens = await role.tokens("ann@example.com", "user-password-1")
    ann = {"Authorization": f"Bearer {ann_tokens['access_token']}"}

    listed = await role.client.get("/users", headers=admin)
    by_ann = await role.client.get("/users", headers=ann)
    disabled = await role.client.patch(f"/users/{ann_id}", headers=admin, json={"disabled": True})
    login = await role.login("ann@example.com", "user-password-1")
    refresh = await role.refresh(ann_tokens["refresh_token"])
    old_token = await role.client.put(
        "/users/me/password",
        headers=ann,
        json={"current_password": "user-password-1", "new_password": "another-pass-1"},
    )
    enabled = await role.client.patch(f"/users/{ann_id}", headers=admin, json={"disabled": False})
    back = await role.login("ann@example.com", "user-password-1")
    deleted = await role.client.delete(f"/users/{ann_id}", headers=admin)
    gone = await role.login("ann@example.com", "user-password-1")

    assert [u["email"] for u in listed.json()["users"]] == [ADMIN[0], "ann@example.com"]
    assert by_ann.status_code == 403
    assert disabled.json()["disabled"] is True
    assert login.status_code == 403
    assert refresh.json()["error"] == "invalid_grant"
    assert old_token.status_code == 401  # the auth role checks revocations in its database
    assert (enabled.status_code, back.status_code) == (200, 200)
    assert deleted.status_code == 204
    assert gone.status_code == 401


async def test_an_admin_cannot_lock_themselves_out(role: Auth) -> None:
    admin = await role.bearer()
    me = next(
        u["user_id"]
        for u in (await role.client.get("/users", headers=admin)).json()["users"]
        if u["email"] == ADMIN[0]
    )

    disable = await role.client.patch(f"/users/{me}", headers=admin, json={"disabled": True})
    demote = await role.client.patch(f"/users/{me}", headers=admin, json={"is_admin": False})
    delete = await role.client.delete(f"/users/{me}", headers=admin)
    unknown = await role.client.patch("/users/nobody", headers=admin, json={"disabled": True})

    assert [disable.status_code, demote.status_code, delete.status_code] == [409, 409, 409]
    assert unknown.status_code == 404


async def test_changing_ones_password_ends_every_session(role: Auth) -> None:
    await role.new_user("bob@example.com", "old-password-1")
    tokens = await role.tokens("bob@example.com", "old-password-1")
    bob = {"Authorization": f"Bearer {tokens['access_token']}"}

    wrong = await role.client.put(
        "/users/me/password",
        headers=bob,
        json={"current_password": "nope", "new_password": "new-password-1"},
    )
    changed = await role.client.put(
        "/users/me/password",
        headers=bob,
        json={"current_password": "old-password-1", "new_password": "new-password-1"},
    )
    old_refresh = await role.refresh(tokens["refresh_token"])
    old_login = await role.login("bob@example.com", "old-password-1")
    new_login = await role.login("bob@example.com", "new-password-1")

    assert wrong.status_code == 403
    assert changed.status_code == 204
    assert old_refresh.json()["error"] == "invalid_grant"
    assert old_login.status_code == 401
    assert new_login.status_code == 200
    fresh = {"Authorization": f"Bearer {new_login.json()['access_token']}"}
    assert (await role.client.get("/api-keys", headers=fresh)).status_code == 200


# --- API keys -----------------------------------------------------------------------------------


async def test_api_keys_are_shown_once_listed_without_secret_exchanged_and_revoked(
    role: Auth,
) -> None:
    await role.new_user("cid@example.com")
    cid = await role.bearer("cid@example.com", "user-password-1")

    created = await role.client.post(
        "/api-keys", headers=cid, json={"name": "ci", "expires_in_days": 30}
    )
    key = created.json()["key"]
    listed = await role.client.get("/api-keys", headers=cid)
    exchanged = await role.client.post("/internal/api-key-tokens", json={"key": key})
    token = exchanged.json()["access_token"]
    by_key = await role.client.post(
        "/api-keys", headers={"Authorization": f"Bearer {token}"}, json={"name": "from-key"}
    )
    admin_key = await role.client.post("/api-keys", headers=cid, json={"name": "x", "admin": True})
    revoked = await role.client.delete(f"/api-keys/{created.json()['key_id']}", headers=cid)
    after = await role.client.post("/internal/api-key-tokens", json={"key": key})
    forged = await role.client.post("/internal/api-key-tokens", json={"key": key[:-3] + "abc"})

    assert created.status_code == 201
    assert created.headers["cache-control"] == NO_STORE
    assert key.startswith(f"mp3c_{created.json()['key_id']}_")
    assert [k["name"] for k in listed.json()["api_keys"]] == ["ci"]
    assert "key" not in listed.json()["api_keys"][0]
    assert key not in listed.text
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["key"], claims["admin"]) == (created.json()["key_id"], False)
    assert by_key.status_code == 403  # keys are managed with a password sign-in only
    assert admin_key.status_code == 403
    assert revoked.status_code == 204
    assert after.status_code == 401
    assert forged.status_code == 401


async def test_api_keys_are_stored_as_their_sha256_only(role: Auth) -> None:
    admin = await role.bearer()
    created = await role.client.post("/api-keys", headers=admin, json={"name": "ci"})
    key = created.json()["key"]
    secret = key.removeprefix(f"mp3c_{created.json()['key_id']}_")

    stored = [doc async for doc in role.db.api_keys.find({})]

    assert len(stored) == 1
    assert stored[0]["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert key not in repr(stored)
    assert secret not in repr(stored)


async def test_a_key_past_its_expiry_is_refused(role: Auth) -> None:
    admin = await role.bearer()
    created = await role.client.post(
        "/api-keys", headers=admin, json={"name": "ci", "expires_in_days": 1}
    )
    key, key_id = created.json()["key"], created.json()["key_id"]
    before = await role.client.post("/internal/api-key-tokens", json={"key": key})
    await role.db.api_keys.update_one(
        {"_id": key_id}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}}
    )

    after = await role.client.post("/internal/api-key-tokens", json={"key": key})

    expires_at = datetime.fromisoformat(created.json()["expires_at"])
    assert expires_at - utcnow() == pytest.approx(timedelta(days=1), abs=timedelta(minutes=1))
    assert before.status_code == 200
    assert after.status_code == 401


async def test_the_revocation_list_names_disabled_users(role: Auth) -> None:
    admin = await role.bearer()
    dan = await role.new_user("dan@example.com")
    await role.client.patch(f"/users/{dan}", headers=admin, json={"disabled": True})

    entries = (await role.client.get("/internal/revocations")).json()["revocations"]

    assert [(e["user_id"], e["blocked"]) for e in entries] == [(dan, True)]
