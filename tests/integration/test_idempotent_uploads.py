"""Idempotency-Key on POST /upload, through the gateway to the upload role, on the real stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx

from mp3converter.contracts import utcnow
from mp3converter.domain.idempotency import KEY_LIFETIME
from mp3converter.usecases.retention import Sweeper
from tests.integration.conftest import Stack

BOUNDARY = "test-boundary-7d1c"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40  # stored as is; never converted


def _form(data: bytes, name: str = "clip.mp4") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _headers(auth: dict[str, str], key: str) -> dict[str, str]:
    return {
        **auth,
        "Idempotency-Key": key,
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }


async def _post(stack: Stack, auth: dict[str, str], key: str, data: bytes) -> httpx.Response:
    return await stack.client.post("/upload", headers=_headers(auth, key), content=_form(data))


async def _stored(stack: Stack) -> tuple[int, int]:
    return (
        await stack.db.jobs.count_documents({}),
        await stack.db["videos.files"].count_documents({}),
    )


async def test_a_repeated_upload_returns_the_first_job_and_stores_nothing_twice(
    stack: Stack,
) -> None:
    auth = await stack.bearer()
    first = await _post(stack, auth, '"retry-me-1"', VIDEO)
    again = await _post(stack, auth, '"retry-me-1"', VIDEO)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.json()["status"] == "queued"
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _stored(stack) == (1, 1)

    bare = await _post(stack, auth, "retry-me-1", VIDEO)  # the same key, sent unquoted
    assert bare.json()["job_id"] == first.json()["job_id"]
    fresh = await _post(stack, auth, '"another-key"', VIDEO)
    assert fresh.status_code == 202
    assert fresh.json()["job_id"] != first.json()["job_id"]
    assert await _stored(stack) == (2, 2)


async def test_the_same_key_with_another_file_is_refused(stack: Stack) -> None:
    auth = await stack.bearer()
    first = await _post(stack, auth, '"k-2"', VIDEO)
    assert first.status_code == 202
    other = await _post(stack, auth, '"k-2"', VIDEO[:-1] + b"!")
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("idempotency-key-reused")
    assert await _stored(stack) == (1, 1)


async def test_keys_of_different_users_never_meet(stack: Stack) -> None:
    admin = await stack.bearer()
    created = await stack.client.post(
        "/users", headers=admin, json={"email": "kim@example.com", "password": "kims-password-1"}
    )
    assert created.status_code == 201
    kim = await stack.bearer("kim@example.com", "kims-password-1")
    mine = await _post(stack, admin, '"shared"', VIDEO)
    hers = await _post(stack, kim, '"shared"', VIDEO)
    assert mine.status_code == hers.status_code == 202
    assert mine.json()["job_id"] != hers.json()["job_id"]


async def test_a_key_still_in_flight_answers_409_then_replays(stack: Stack) -> None:
    auth = await stack.bearer()
    body = _form(VIDEO)
    half = len(body) // 2
    go_on = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:half]
        await go_on.wait()
        yield body[half:]

    headers = {**_headers(auth, '"in-flight"'), "Content-Length": str(len(body))}
    first = asyncio.create_task(stack.client.post("/upload", headers=headers, content=slow_body()))
    try:
        async with asyncio.timeout(10):
            while await stack.db.upload_keys.count_documents({}) == 0:
                await asyncio.sleep(0.02)
        meanwhile = await _post(stack, auth, '"in-flight"', VIDEO)
    finally:
        go_on.set()
    assert meanwhile.status_code == 409
    assert meanwhile.json()["type"].endswith("idempotency-key-in-flight")
    assert meanwhile.headers["retry-after"]
    accepted = await first
    assert accepted.status_code == 202, accepted.text
    replayed = await _post(stack, auth, '"in-flight"', VIDEO)
    assert replayed.json()["job_id"] == accepted.json()["job_id"]


async def test_a_failed_upload_frees_its_key(stack: Stack) -> None:
    auth = await stack.bearer()
    empty = await _post(stack, auth, '"after-a-mistake"', b"")
    assert empty.status_code == 422
    retried = await _post(stack, auth, '"after-a-mistake"', VIDEO)
    assert retried.status_code == 202
    assert "idempotent-replayed" not in retried.headers


async def test_a_malformed_key_is_a_400(stack: Stack) -> None:
    auth = await stack.bearer()
    for key in ('"' + "k" * 256 + '"', '"unterminated', "two words", '""'):
        response = await _post(stack, auth, key, VIDEO)
        assert response.status_code == 400, key
        assert response.json()["type"].endswith("bad-idempotency-key")
    assert await _stored(stack) == (0, 0)


async def test_keys_past_their_lifetime_are_swept_and_free(stack: Stack) -> None:
    auth = await stack.bearer()
    first = await _post(stack, auth, '"old"', VIDEO)
    assert first.status_code == 202
    await _post(stack, auth, '"recent"', VIDEO)
    later = utcnow() + KEY_LIFETIME
    await stack.db.upload_keys.update_many(
        {"job_id": first.json()["job_id"]}, {"$set": {"expires_at": utcnow()}}
    )
    report = await Sweeper.on(stack.db, stack.settings).sweep(later - timedelta(hours=1))
    assert report.expired_upload_keys == 1
    assert await stack.db.upload_keys.count_documents({}) == 1
    reused = await _post(stack, auth, '"old"', VIDEO[:-1] + b"?")  # a new upload, not a 422
    assert reused.status_code == 202
    assert reused.json()["job_id"] != first.json()["job_id"]
