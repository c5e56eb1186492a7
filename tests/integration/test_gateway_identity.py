"""Identity through the gateway: API keys, signed download links, revoked users' tokens."""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import jwt

from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.contracts import utcnow
from mp3converter.domain.download_links import LinkSigner
from mp3converter.domain.jobs import Job, JobStatus
from tests.integration.conftest import Stack

MP3 = b"ID3" + os.urandom(4000)


async def user(stack: Stack, email: str) -> tuple[str, dict[str, str]]:
    """A new user (created by the admin): their id and bearer header."""
    admin = await stack.bearer()
    created = await stack.client.post(
        "/users", headers=admin, json={"email": email, "password": "user-password-1"}
    )
    assert created.status_code == 201, created.text
    return created.json()["user_id"], await stack.bearer(email, "user-password-1")


async def done_job(stack: Stack, owner_id: str) -> str:
    """A done job of the owner, with its MP3 stored, as the converter leaves it."""

    async def body() -> AsyncIterator[bytes]:
        yield MP3

    stored = await GridFSStore(stack.db, "mp3s").save(body(), filename="a.mp3", metadata={})
    now, job_id = utcnow(), uuid.uuid4().hex
    await JobStore(stack.db).add(
        Job(
            job_id=job_id,
            owner_id=owner_id,
            owner_email="owner@example.com",
            filename="talk.mp4",
            status=JobStatus.DONE,
            created_at=now,
            updated_at=now,
            mp3_file_id=stored.file_id,
            mp3_size_bytes=len(MP3),
            expires_at=now + timedelta(days=7),
            purge_at=now + timedelta(days=30),
        )
    )
    return job_id


def local(link: str) -> str:
    """The link's path and query, for the in-process gateway."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def test_a_signed_link_downloads_without_any_header(stack: Stack) -> None:
    owner, headers = await user(stack, "ann@example.com")
    job_id = await done_job(stack, owner)
    link = (await stack.client.get(f"/jobs/{job_id}", headers=headers)).json()["download_link"]

    response = await stack.client.get(local(link))
    ranged = await stack.client.get(local(link), headers={"Range": "bytes=0-2"})

    assert link.startswith(f"{stack.settings.public_base_url}/download/{job_id}?")
    assert response.status_code == 200
    assert response.content == MP3
    assert response.headers["content-type"] == "audio/mpeg"
    assert (ranged.status_code, ranged.content) == (206, b"ID3")


async def test_tampered_expired_and_foreign_links_never_stream_a_byte(stack: Stack) -> None:
    owner, headers = await user(stack, "bob@example.com")
    other, _ = await user(stack, "eve@example.com")
    job_id = await done_job(stack, owner)
    link = local(
        (await stack.client.get(f"/jobs/{job_id}", headers=headers)).json()["download_link"]
    )
    signer = LinkSigner(stack.settings.link_signing_keys.get_secret_value())
    expired = f"/download/{job_id}?{signer.query(job_id, owner, int(time.time()) - 1)}"
    forged_owner = f"/download/{job_id}?{signer.query(job_id, other, int(time.time()) + 60)}"
    other_job = link.replace(job_id, await done_job(stack, other))

    answers = {
        "tampered": await stack.client.get(link[:-2] + ("AA" if not link.endswith("AA") else "BB")),
        "incomplete": await stack.client.get(link.split("&s=")[0]),
        "expired": await stack.client.get(expired),
        "another-owner": await stack.client.get(forged_owner),
        "another-job": await stack.client.get(other_job),
    }

    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {
        "tampered": 403,
        "incomplete": 403,
        "expired": 410,
        "another-owner": 404,  # genuine link, but the job is not eve's
        "another-job": 403,
    }
    for response in answers.values():
        assert response.headers["content-type"] == "application/problem+json"
        assert MP3[:100] not in response.content


async def test_a_disabled_users_tokens_and_links_stop_working_within_the_refresh(
    stack: Stack,
) -> None:
    owner, headers = await user(stack, "dan@example.com")
    job_id = await done_job(stack, owner)
    link = local(
        (await stack.client.get(f"/jobs/{job_id}", headers=headers)).json()["download_link"]
    )
    assert (await stack.client.get("/jobs", headers=headers)).status_code == 200

    disabled_at = time.monotonic()
    patched = await stack.client.patch(
        f"/users/{owner}", headers=await stack.bearer(), json={"disabled": True}
    )
    assert patched.status_code == 200
    while (await stack.client.get("/jobs", headers=headers)).status_code == 200:
        assert time.monotonic() - disabled_at < 5, "the token kept working"
        await asyncio.sleep(0.05)
    refused_after = time.monotonic() - disabled_at
    await asyncio.sleep(1.0)  # the upload role's copy of the list is refreshed too

    assert refused_after <= stack.settings.revocation_refresh_seconds + 1.0
    assert (await stack.client.get(link)).status_code == 403
    assert (await stack.client.get(f"/download/{job_id}", headers=headers)).status_code == 401


async def test_an_api_key_works_like_a_token_until_it_is_revoked(stack: Stack) -> None:
    owner, headers = await user(stack, "cid@example.com")
    created = await stack.client.post("/api-keys", headers=headers, json={"name": "ci"})
    key = {"Authorization": f"Bearer {created.json()['key']}"}

    uploaded = await stack.client.post(
        "/upload", headers=key, files={"file": ("a.mp4", io.BytesIO(b"video"), "video/mp4")}
    )
    listed = await stack.client.get("/jobs", headers=key)
    manage = await stack.client.get("/api-keys", headers=key)
    revoked = await stack.client.delete(f"/api-keys/{created.json()['key_id']}", headers=headers)
    await asyncio.sleep(stack.settings.api_key_cache_seconds + 0.2)
    after = await stack.client.get("/jobs", headers=key)
    forged = await stack.client.get(
        "/jobs", headers={"Authorization": f"Bearer {created.json()['key']}x"}
    )

    assert created.status_code == 201
    assert uploaded.status_code == 202, uploaded.text
    job = await JobStore(stack.db).get(uploaded.json()["job_id"])
    assert job is not None
    assert job.owner_id == owner
    assert [j["job_id"] for j in listed.json()["jobs"]] == [uploaded.json()["job_id"]]
    assert manage.status_code == 403
    assert revoked.status_code == 204
    assert after.status_code == 401
    assert forged.status_code == 401


async def test_changing_the_password_ends_sessions_through_the_gateway(stack: Stack) -> None:
    _, headers = await user(stack, "fay@example.com")
    login = await stack.client.post("/login", auth=("fay@example.com", "user-password-1"))
    refresh = login.json()["refresh_token"]

    changed = await stack.client.put(
        "/users/me/password",
        headers=headers,
        json={"current_password": "user-password-1", "new_password": "user-password-2"},
    )
    await asyncio.sleep(stack.settings.revocation_refresh_seconds + 0.6)
    old_token = await stack.client.get("/jobs", headers=headers)
    old_refresh = await stack.client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    new = await stack.client.post(
        "/token",
        data={
            "grant_type": "password",
            "username": "fay@example.com",
            "password": "user-password-2",
        },
    )

    assert changed.status_code == 204
    assert old_token.status_code == 401
    assert old_refresh.json()["error"] == "invalid_grant"
    assert new.status_code == 200
    claims = jwt.decode(new.json()["access_token"], options={"verify_signature": False})
    fresh = {"Authorization": f"Bearer {new.json()['access_token']}"}
    assert claims["email"] == "fay@example.com"
    assert (await stack.client.get("/jobs", headers=fresh)).status_code == 200


async def wait_for_the_revocation_list(stack: Stack) -> None:
    """Long enough for the gateway's and upload's copies of the list, and its key cache, to
    catch up with a change at auth."""
    settings = stack.settings
    await asyncio.sleep(
        max(settings.revocation_refresh_seconds, settings.api_key_cache_seconds) + 0.6
    )


async def test_an_admin_key_has_admin_rights_only_while_its_owner_is_an_admin(
    stack: Stack,
) -> None:
    admin = await stack.bearer()
    eve_id, eve = await user(stack, "eve@example.com")
    before = await stack.client.get("/users", headers=eve)
    promoted = await stack.client.patch(f"/users/{eve_id}", headers=admin, json={"is_admin": True})
    login = await stack.client.post("/login", auth=("eve@example.com", "user-password-1"))
    eve_admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    as_admin = await stack.client.get("/users", headers=eve_admin)
    created = await stack.client.post(
        "/api-keys", headers=eve_admin, json={"name": "ops", "admin": True}
    )
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    by_key = await stack.client.get("/users", headers=key)

    demoted = await stack.client.patch(f"/users/{eve_id}", headers=admin, json={"is_admin": False})
    await wait_for_the_revocation_list(stack)
    key_after = await stack.client.get("/users", headers=key)
    key_jobs = await stack.client.get("/jobs", headers=key)
    old_token = await stack.client.get("/jobs", headers=eve_admin)
    old_refresh = await stack.client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]},
    )

    assert before.status_code == 403
    assert (promoted.status_code, promoted.json()["is_admin"]) == (200, True)
    assert as_admin.status_code == 200
    assert (created.status_code, created.json()["admin"]) == (201, True)
    assert by_key.status_code == 200
    assert (demoted.status_code, demoted.json()["is_admin"]) == (200, False)
    assert key_after.status_code == 403  # the key works on, without admin rights
    assert key_jobs.status_code == 200
    assert old_token.status_code == 401  # demotion voids the tokens that claimed admin rights
    assert old_refresh.json()["error"] == "invalid_grant"


async def test_a_deleted_users_tokens_stop_working_within_the_refresh(stack: Stack) -> None:
    owner, headers = await user(stack, "gus@example.com")
    login = await stack.client.post("/login", auth=("gus@example.com", "user-password-1"))
    assert (await stack.client.get("/jobs", headers=headers)).status_code == 200

    deleted_at = time.monotonic()
    deleted = await stack.client.delete(f"/users/{owner}", headers=await stack.bearer())
    while (await stack.client.get("/jobs", headers=headers)).status_code == 200:
        assert time.monotonic() - deleted_at < 5, "the token kept working"
        await asyncio.sleep(0.05)
    refused_after = time.monotonic() - deleted_at
    refreshed = await stack.client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]},
    )

    assert deleted.status_code == 204
    assert refused_after <= stack.settings.revocation_refresh_seconds + 1.0
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")


async def test_a_disabled_users_api_key_stops_working(stack: Stack) -> None:
    owner, headers = await user(stack, "hal@example.com")
    created = await stack.client.post("/api-keys", headers=headers, json={"name": "ci"})
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    before = await stack.client.get("/jobs", headers=key)

    disabled = await stack.client.patch(
        f"/users/{owner}", headers=await stack.bearer(), json={"disabled": True}
    )
    await wait_for_the_revocation_list(stack)
    after = await stack.client.get("/jobs", headers=key)

    assert (before.status_code, disabled.status_code) == (200, 200)
    assert after.status_code == 401


async def test_every_answer_of_the_gateway_forbids_sniffing_and_referrers(stack: Stack) -> None:
    _, headers = await user(stack, "ivy@example.com")
    answers = {
        "proxied": await stack.client.get("/jobs", headers=headers),
        "refused here": await stack.client.get("/jobs"),
        "token": await stack.client.post("/login", auth=("ivy@example.com", "user-password-1")),
        "not found": await stack.client.get("/no-such-page"),
    }

    for what, response in answers.items():
        assert response.headers["x-content-type-options"] == "nosniff", what
        assert response.headers["referrer-policy"] == "no-referrer", what
    assert [r.status_code for r in answers.values()] == [200, 401, 200, 404]
