"""Hostile uploads through the whole platform: refused cleanly, owner told, nothing kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mp3converter.domain.jobs import FailureCode
from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer, upload_file
from tests.hostile_media import REFUSED_FORMATS, secret_audio
from tests.media import make_video

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def token(platform: Platform) -> str:
    return await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.mark.parametrize("kind", ["hls", "hls-live", "dash", "concat", "sdp", "png"])
async def test_a_playlist_pointing_at_a_local_file_fails_and_the_owner_is_told(
    platform: Platform, token: str, tmp_path: Path, kind: str
) -> None:
    playlist = REFUSED_FORMATS[kind](secret_audio(tmp_path / "outside"))
    started = time.monotonic()
    async with platform.client() as client:
        accepted = await client.post(
            "/upload", headers=bearer(token), files=upload_file(f"{kind}.mp4", playlist)
        )
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        job = await platform.wait_final(token, job_id, timeout=30)
        failed_after = time.monotonic() - started
        download = await client.get(f"/download/{job_id}", headers=bearer(token))

    assert job["status"] == "failed"
    assert job["error"]["code"] == FailureCode.UNSUPPORTED_FORMAT
    assert "not supported" in job["error"]["reason"]
    assert job["retained_until"] is not None
    assert failed_after < 10, failed_after
    assert download.status_code == 409
    mail = await platform.mailbox.wait_for(lambda m: job_id in str(m.get_body()))
    assert mail["Subject"] == f"Conversion failed: {kind}.mp4"


async def test_a_file_name_with_line_separators_converts_and_is_mailed(
    platform: Platform, token: str, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=2).read_bytes()
    async with platform.client() as client:
        accepted = await client.post(
            "/upload",
            headers=bearer(token),
            files=upload_file("talk\u2028part\u20292.mp4", video),
        )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    job = await platform.wait_final(token, job_id)

    assert job["status"] == "done"
    assert job["filename"] == "talk part 2.mp4"
    assert job["expires_at"] is not None
    mail = await platform.mailbox.wait_for(lambda m: job_id in str(m.get_body()))
    assert mail["Subject"] == "Your MP3 is ready: talk part 2.mp4"


async def test_an_absurd_range_through_the_gateway_is_416(
    platform: Platform, token: str, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=2).read_bytes()
    async with platform.client() as client:
        accepted = await client.post(
            "/upload", headers=bearer(token), files=upload_file("r.mp4", video)
        )
        job_id = accepted.json()["job_id"]
        await platform.wait_final(token, job_id)
        response = await client.get(
            f"/download/{job_id}", headers={**bearer(token), "Range": "bytes=" + "9" * 120 + "-"}
        )

    assert response.status_code == 416
    assert response.headers["content-type"] == "application/problem+json"
    assert platform.roles.exited() == {}
