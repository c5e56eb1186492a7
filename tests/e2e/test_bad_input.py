"""Bad input end to end: each gets a clear answer and every service stays up."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from mp3converter.adapters.jwt_keys import TokenIssuer, load_or_create_key
from tests.e2e.platform import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    MAX_UPLOAD_BYTES,
    Platform,
    bearer,
    upload_file,
)
from tests.mail_parts import text_of
from tests.media import make_video, truncate

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def admin_token(platform: Platform) -> str:
    """A token of the bootstrapped admin."""
    return await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway."""
    async with platform.client() as c:
        yield c


async def _upload_and_wait(
    platform: Platform, token: str, name: str, data: bytes
) -> dict[str, object]:
    async with platform.client() as client:
        response = await client.post(
            "/upload", headers=bearer(token), files=upload_file(name, data)
        )
    assert response.status_code == 202, response.text
    return await platform.wait_final(token, response.json()["job_id"])


def _assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["type"]
    assert body["title"]
    assert body["detail"]
    return body


async def test_empty_file_is_refused(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.post(
        "/upload", headers=bearer(admin_token), files=upload_file("e.mp4", b"")
    )
    assert "empty" in str(_assert_problem(response, 422)["detail"])


async def test_missing_file_field_is_refused(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.post(
        "/upload", headers=bearer(admin_token), files={"video": ("a.mp4", b"data", "video/mp4")}
    )
    assert "file" in str(_assert_problem(response, 422)["detail"])


async def test_not_multipart_is_refused(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.post("/upload", headers=bearer(admin_token), json={"file": "x"})
    _assert_problem(response, 415)


async def test_too_large_upload_is_refused(client: httpx.AsyncClient, admin_token: str) -> None:
    big = os.urandom(MAX_UPLOAD_BYTES + 1024)
    response = await client.post(
        "/upload", headers=bearer(admin_token), files=upload_file("b.mp4", big)
    )
    _assert_problem(response, 413)


async def test_random_bytes_fail_as_not_media(platform: Platform, admin_token: str) -> None:
    job = await _upload_and_wait(platform, admin_token, "random.mp4", os.urandom(200_000))
    assert job["status"] == "failed"
    assert job["error"] == {"code": "not-media", "reason": job["error"]["reason"]}  # type: ignore[index]


async def test_truncated_mp4_fails_with_reason(
    platform: Platform, admin_token: str, tmp_path: Path
) -> None:
    cut = truncate(make_video(tmp_path / "cut.mp4", seconds=6, faststart=True))
    job = await _upload_and_wait(platform, admin_token, "cut.mp4", cut.read_bytes())
    assert job["status"] == "failed"
    assert job["error"]["code"] in {"truncated-input", "not-media"}  # type: ignore[index]
    assert job["error"]["reason"]  # type: ignore[index]


async def test_video_without_audio_fails(
    platform: Platform, admin_token: str, tmp_path: Path
) -> None:
    silent = make_video(tmp_path / "silent.mp4", seconds=2, audio=False)
    job = await _upload_and_wait(platform, admin_token, "silent.mp4", silent.read_bytes())
    assert job["status"] == "failed"
    assert job["error"]["code"] == "no-audio"  # type: ignore[index]
    mail = await platform.mailbox.wait_for(lambda m: str(job["job_id"]) in text_of(m))
    assert "failed" in mail["Subject"].lower()
    assert "audio" in text_of(mail)


async def test_failed_job_cannot_be_downloaded(platform: Platform, admin_token: str) -> None:
    job = await _upload_and_wait(platform, admin_token, "junk.mp4", b"not a video at all" * 100)
    async with platform.client() as client:
        response = await client.get(f"/download/{job['job_id']}", headers=bearer(admin_token))
    _assert_problem(response, 409)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Basic YTpi"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "garbage", "wrong-scheme", "empty"],
)
async def test_protected_routes_need_a_valid_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for method, path in [
        ("GET", "/jobs"),
        ("GET", "/jobs/x"),
        ("GET", "/download/x"),
        ("POST", "/upload"),
        ("POST", "/users"),
    ]:
        response = await client.request(method, path, headers=headers)
        _assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_expired_and_foreign_tokens_are_refused(
    platform: Platform, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    key = load_or_create_key(platform.data_dir / "jwt-ed25519.pem", create=False)
    expired = TokenIssuer(key, "mp3converter-auth", "mp3converter", ttl_seconds=60)
    token = expired.issue(subject="u", email="u@example.com", admin=False)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = claims["iat"] - int(timedelta(minutes=5).total_seconds())
    stale = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": expired.jwk["kid"]})
    response = await client.get("/jobs", headers=bearer(stale))
    assert "expired" in str(_assert_problem(response, 401)["detail"])

    foreign_key = load_or_create_key(tmp_path / "other.pem", create=True)
    forged = TokenIssuer(foreign_key, "mp3converter-auth", "mp3converter", 60).issue(
        subject="u", email="u@example.com", admin=True
    )
    _assert_problem(await client.get("/jobs", headers=bearer(forged)), 401)


async def test_bad_credentials_get_a_basic_challenge(client: httpx.AsyncClient) -> None:
    for auth in [(ADMIN_EMAIL, "wrong-password"), ("nobody@example.com", "whatever-password")]:
        response = await client.post("/login", auth=auth)
        _assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Basic")
    _assert_problem(await client.post("/login"), 401)


async def test_users_are_isolated(
    platform: Platform, client: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    created = await client.post(
        "/users",
        headers=bearer(admin_token),
        json={"email": "second@example.com", "password": "second-password"},
    )
    assert created.status_code == 201, created.text
    assert "password" not in created.text
    duplicate = await client.post(
        "/users",
        headers=bearer(admin_token),
        json={"email": "SECOND@example.com", "password": "second-password"},
    )
    _assert_problem(duplicate, 409)
    second = await platform.token("second@example.com", "second-password")
    _assert_problem(
        await client.post(
            "/users",
            headers=bearer(second),
            json={"email": "third@example.com", "password": "third-password"},
        ),
        403,
    )

    video = make_video(tmp_path / "mine.mp4", seconds=2)
    job = await _upload_and_wait(platform, admin_token, "mine.mp4", video.read_bytes())
    assert job["status"] == "done"
    job_id = job["job_id"]
    for path in (f"/jobs/{job_id}", f"/download/{job_id}"):
        _assert_problem(await client.get(path, headers=bearer(second)), 404)
    theirs = await client.get("/jobs", headers=bearer(second))
    assert theirs.status_code == 200
    assert theirs.json()["jobs"] == []


async def test_every_role_is_still_up(platform: Platform, client: httpx.AsyncClient) -> None:
    assert platform.roles.exited() == {}
    for port in platform.ops_ports.values():
        assert (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200


def _chunked_multipart(payload_chunks: int, chunk: bytes) -> tuple[dict[str, str], Iterator[bytes]]:
    """A multipart body sent with chunked transfer encoding: no Content-Length to check."""
    boundary = "e2e-chunked-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(payload_chunks):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body()


async def test_chunked_upload_over_the_limit_is_refused_midway(
    platform: Platform, admin_token: str
) -> None:
    headers, body = _chunked_multipart(MAX_UPLOAD_BYTES // (1 << 20) + 4, os.urandom(1 << 20))
    async with platform.client() as client:
        jobs_before = len((await client.get("/jobs", headers=bearer(admin_token))).json()["jobs"])
        response = await client.post(
            "/upload", headers={**bearer(admin_token), **headers}, content=_aiter(body)
        )
        _assert_problem(response, 413)
        jobs_after = len((await client.get("/jobs", headers=bearer(admin_token))).json()["jobs"])
    assert jobs_after == jobs_before


async def test_chunked_upload_within_the_limit_is_accepted(
    platform: Platform, admin_token: str, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "chunked.mp4", seconds=2).read_bytes()
    headers, body = _chunked_multipart(1, video)
    async with platform.client() as client:
        response = await client.post(
            "/upload", headers={**bearer(admin_token), **headers}, content=_aiter(body)
        )
    assert response.status_code == 202, response.text
    job = await platform.wait_final(admin_token, response.json()["job_id"])
    assert job["status"] == "done"


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_a_body_padded_with_other_fields_past_the_limit_is_refused(
    platform: Platform, admin_token: str, tmp_path: Path
) -> None:
    """Only the file is stored, but the whole body counts: no endless uploads of ignored fields."""
    boundary = "e2e-padding-boundary"
    video = make_video(tmp_path / "small.mp4", seconds=1).read_bytes()

    def body() -> Iterator[bytes]:
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="padding"\r\n\r\n'.encode()
        for _ in range(MAX_UPLOAD_BYTES // (1 << 20) + 2):
            yield b"p" * (1 << 20)
        yield (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="small.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
        ).encode()
        yield video
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**bearer(admin_token), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with platform.client() as client:
        response = await client.post("/upload", headers=headers, content=_aiter(body()))
    _assert_problem(response, 413)
