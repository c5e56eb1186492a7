"""Conversion options through the whole platform: form fields before or after the file, the
job echoing them, the MP3 obeying them, and a bad field refused before anything is stored."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer
from tests.media import ffprobe_json, make_video

pytestmark = pytest.mark.e2e


def form(parts: list[tuple[str, str | tuple[str, bytes]]]) -> tuple[bytes, str]:
    """A multipart body with its parts in exactly this order, and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in parts:
        body += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, data = value
            body += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode() + data
        else:
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            body += value.encode()
        body += b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def upload(
    client: httpx.AsyncClient, token: str, parts: list[tuple[str, str | tuple[str, bytes]]]
) -> httpx.Response:
    body, content_type = form(parts)
    headers = {**bearer(token), "Content-Type": content_type}
    return await client.post("/upload", content=body, headers=headers)


async def job_count(client: httpx.AsyncClient, token: str) -> int:
    listed = await client.get("/jobs", params={"limit": 200}, headers=bearer(token))
    return len(listed.json()["jobs"])


async def mp3_of(client: httpx.AsyncClient, job: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    got = await client.get(job["download_link"])
    assert got.status_code == 200, got.text
    path = tmp_path / f"{job['job_id']}.mp3"
    path.write_bytes(got.content)
    return ffprobe_json(path)


async def test_options_after_a_streamed_file_are_honoured(
    platform: Platform, tmp_path: Path
) -> None:
    # A Matroska file reads front to back: its conversion starts before the fields after it
    # arrive; the platform must not keep that early job but convert with the final options.
    video = make_video(tmp_path / "talk.mkv", seconds=6).read_bytes()
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        before = await job_count(client, token)
        fields: list[tuple[str, str | tuple[str, bytes]]] = [("file", ("talk.mkv", video))]
        fields += [("bitrate", "64"), ("channels", "1"), ("title", "Résumé — part 1")]
        accepted = await upload(client, token, fields)
        assert accepted.status_code == 202, accepted.text
        job = await platform.wait_final(token, accepted.json()["job_id"])
        assert job["status"] == "done", job
        assert job["options"] == {
            "bitrate": 64,
            "channels": 1,
            "title": "Résumé — part 1",
            "cover": "auto",
            "audio_track": 0,
        }
        probe = await mp3_of(client, job, tmp_path)
        assert await job_count(client, token) == before + 1  # the early job is gone
    stream = next(s for s in probe["streams"] if s["codec_type"] == "audio")
    assert stream["channels"] == 1
    assert float(stream["bit_rate"]) == pytest.approx(64_000, rel=0.02)
    assert probe["format"]["tags"]["title"] == "Résumé — part 1"


async def test_a_preset_before_the_file_with_loudness(platform: Platform, tmp_path: Path) -> None:
    video = make_video(tmp_path / "talk.mp4", seconds=6).read_bytes()
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        fields: list[tuple[str, str | tuple[str, bytes]]] = [("preset", "speech")]
        fields += [("bitrate", "96"), ("file", ("talk.mp4", video))]
        accepted = await upload(client, token, fields)
        assert accepted.status_code == 202, accepted.text
        job = await platform.wait_final(token, accepted.json()["job_id"])
        assert job["status"] == "done", job
        probe = await mp3_of(client, job, tmp_path)
    assert job["options"]["preset"] == "speech"
    assert (job["options"]["bitrate"], job["options"]["loudness"]) == (96, -19.0)
    loudness = job["loudness"]
    assert loudness["target_lufs"] == -19.0
    assert loudness["output_lufs"] == pytest.approx(-19.0, abs=1.0)
    assert loudness["input_lufs"] < -19.0
    stream = next(s for s in probe["streams"] if s["codec_type"] == "audio")
    assert stream["channels"] == 1
    assert float(stream["bit_rate"]) == pytest.approx(96_000, rel=0.02)


@pytest.mark.parametrize("where", ["before", "after"])
async def test_bad_options_are_refused_and_nothing_is_kept(
    platform: Platform, tmp_path: Path, where: str
) -> None:
    video = make_video(tmp_path / "talk.mkv", seconds=4).read_bytes()
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    bad: list[tuple[str, str | tuple[str, bytes]]] = [
        ("bitrate", "100"),
        ("quality", "3"),
        ("colour", "red"),
    ]
    file_part: list[tuple[str, str | tuple[str, bytes]]] = [("file", ("talk.mkv", video))]
    async with platform.client() as client:
        before = await job_count(client, token)
        refused = await upload(
            client, token, bad + file_part if where == "before" else file_part + bad
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"].endswith("/invalid-options")
        named = {error["loc"][-1] for error in problem["errors"]}
        assert named == {"bitrate", "quality", "colour"}
        assert await job_count(client, token) == before


async def test_presets_are_listed_without_a_token(platform: Platform) -> None:
    async with platform.client() as client:
        listed = await client.get("/presets")
    assert listed.status_code == 200
    presets = {preset["name"]: preset for preset in listed.json()}
    assert set(presets) >= {"podcast", "speech", "music-high", "small"}
    assert presets["podcast"]["options"] == {
        "bitrate": 128,
        "sample_rate": 44100,
        "channels": 2,
        "loudness": -16.0,
    }


async def test_a_replayed_upload_must_carry_the_same_options(
    platform: Platform, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "talk.mp4", seconds=2).read_bytes()
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    file_part: list[tuple[str, str | tuple[str, bytes]]] = [("file", ("talk.mp4", video))]

    async def send(parts: list[tuple[str, str | tuple[str, bytes]]]) -> httpx.Response:
        body, content_type = form(parts)
        headers = {**bearer(token), **key, "Content-Type": content_type}
        return await client.post("/upload", content=body, headers=headers)

    async with platform.client() as client:
        first = await send([("bitrate", "64"), *file_part])
        assert first.status_code == 202, first.text
        again = await send([("bitrate", "64"), *file_part])
        assert again.status_code == 202
        assert again.json()["job_id"] == first.json()["job_id"]
        other = await send([("bitrate", "96"), *file_part])
        assert other.status_code == 422
        assert other.json()["type"].endswith("/idempotency-key-reused")
        bad = await send([*file_part, ("colour", "red")])
        assert bad.status_code == 422
        assert bad.json()["type"].endswith("/invalid-options")
        await platform.wait_final(token, first.json()["job_id"])
