"""The seed flow end to end: login, upload, convert, notify, download."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer, upload_file
from tests.mail_parts import text_of
from tests.media import ffprobe_json, make_video

pytestmark = pytest.mark.e2e
UNICODE_NAME = "Ünïcødé vidéo 🎬.mp4"


async def test_login_upload_convert_notify_download(platform: Platform, tmp_path: Path) -> None:
    source = make_video(tmp_path / "source.mp4", seconds=6)
    source_duration = float(ffprobe_json(source)["format"]["duration"])
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)

    async with platform.client() as client:
        response = await client.post(
            "/upload", headers=bearer(token), files=upload_file(UNICODE_NAME, source.read_bytes())
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["status"] == "queued"
        job_id = accepted["job_id"]
        assert response.headers["location"] == f"/jobs/{job_id}"

        job = await platform.wait_final(token, job_id)
        assert job["status"] == "done", job
        assert job["progress"] == 1.0
        assert job["filename"] == UNICODE_NAME
        assert job["error"] is None

        listed = await client.get("/jobs", headers=bearer(token))
        assert job_id in [j["job_id"] for j in listed.json()["jobs"]]

        download = await client.get(f"/download/{job_id}", headers=bearer(token))
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/mpeg"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Ünïcødé vidéo 🎬.mp3"

    mp3 = tmp_path / "out.mp3"
    mp3.write_bytes(download.content)
    probed = ffprobe_json(mp3)
    assert probed["format"]["format_name"] == "mp3"
    assert [s["codec_name"] for s in probed["streams"]] == ["mp3"]
    assert abs(float(probed["format"]["duration"]) - source_duration) <= 0.5

    mail = await platform.mailbox.wait_for(lambda m: job_id in text_of(m))
    assert mail["To"] == ADMIN_EMAIL
    assert UNICODE_NAME in mail["Subject"]
    assert f"{platform.gateway}/download/{job_id}" in text_of(mail)


async def test_download_supports_ranges(platform: Platform, tmp_path: Path) -> None:
    source = make_video(tmp_path / "clip.mp4", seconds=3)
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        response = await client.post(
            "/upload", headers=bearer(token), files=upload_file("clip.mp4", source.read_bytes())
        )
        job_id = response.json()["job_id"]
        assert (await platform.wait_final(token, job_id))["status"] == "done"
        full = await client.get(f"/download/{job_id}", headers=bearer(token))
        part = await client.get(
            f"/download/{job_id}", headers={**bearer(token), "Range": "bytes=100-1099"}
        )
        tail = await client.get(
            f"/download/{job_id}", headers={**bearer(token), "Range": "bytes=-10"}
        )
        beyond = await client.get(
            f"/download/{job_id}", headers={**bearer(token), "Range": "bytes=999999999-"}
        )
    assert part.status_code == 206
    assert part.content == full.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(full.content)}"
    assert tail.status_code == 206
    assert tail.content == full.content[-10:]
    assert beyond.status_code == 416
    assert beyond.headers["content-type"] == "application/problem+json"


async def test_every_role_serves_health_readiness_and_metrics(platform: Platform) -> None:
    async with platform.client() as client:
        for role, port in platform.ops_ports.items():
            base = f"http://127.0.0.1:{port}"
            assert (await client.get(f"{base}/healthz")).json()["role"] == role
            ready = await client.get(f"{base}/readyz")
            assert ready.status_code == 200, (role, ready.text)
            metrics = await client.get(f"{base}/metrics")
            assert "mp3converter_http_requests_total" in metrics.text
        for path in ("/metrics", "/readyz", "/healthz"):  # never on the public listener
            assert (await client.get(path)).status_code == 404, path
        docs = await client.get("/docs")
        spec = (await client.get("/openapi.json")).json()
    assert docs.status_code == 200
    assert {"/login", "/users", "/upload", "/jobs", "/jobs/{job_id}", "/download/{job_id}"} <= set(
        spec["paths"]
    )


async def test_cli_creates_users_who_can_log_in(platform: Platform) -> None:
    env = {**platform.roles.env, "NEW_PASSWORD": "cli-user-password"}
    command = [
        sys.executable,
        "-m",
        "mp3converter",
        "users",
        "create",
        "--password-env",
        "NEW_PASSWORD",
        "--email",
    ]
    created = subprocess.run(
        [*command, "cli@example.com"], env=env, capture_output=True, text=True, check=False
    )
    assert created.returncode == 0, created.stderr
    assert await platform.token("cli@example.com", "cli-user-password")
    again = subprocess.run(
        [*command, "CLI@example.com"], env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 1
    assert "cli@example.com" in again.stderr


async def test_ready_command_probes_a_role(platform: Platform) -> None:
    from mp3converter.devstack.secantus import free_port

    def ready(port: int) -> int:
        env = {**platform.roles.env, "OPS_PORT": str(port)}
        command = [sys.executable, "-m", "mp3converter", "ready", "upload"]
        return subprocess.run(command, env=env, capture_output=True, check=False).returncode

    assert ready(platform.ops_ports["upload"]) == 0
    assert ready(free_port()) == 1


async def test_a_fast_start_video_converts_while_it_uploads_end_to_end(
    platform: Platform, tmp_path: Path
) -> None:
    # moov first: the upload role queues the job after the head, the converter reads it as it lands.
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    video = make_video(tmp_path / "web.mp4", seconds=20, faststart=True)
    async with platform.client() as client:
        accepted = await client.post(
            "/upload", headers=bearer(token), files=upload_file("web.mp4", video.read_bytes())
        )
        job = await platform.wait_final(token, accepted.json()["job_id"])
        mp3 = await client.get(f"/download/{job['job_id']}", headers=bearer(token))

    assert job["status"] == "done", job
    out = tmp_path / "web.mp3"
    out.write_bytes(mp3.content)
    assert float(ffprobe_json(out)["format"]["duration"]) == pytest.approx(20.0, abs=0.5)
