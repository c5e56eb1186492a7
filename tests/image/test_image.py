"""The image as deployments run it: built here, every role in a locked-down container, the seed
flow through them. `make test-image` runs these (`pytest -m image`); `make test` leaves them out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from mp3converter.adapters.media_formats import ALLOWED_DEMUXERS
from mp3converter.roles import ROLES
from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, upload_file
from tests.image.containers import RoleContainers
from tests.image.engine import engine, image_bytes
from tests.mail_parts import text_of
from tests.media import ffprobe_json, make_video
from tests.services import Mailbox

pytestmark = [pytest.mark.image, pytest.mark.timeout(900)]
MAX_IMAGE_MB = 350


def test_image_is_slim(image: str) -> None:
    size_mb = image_bytes(image) / 1e6
    assert size_mb <= MAX_IMAGE_MB, f"{image} is {size_mb:.0f} MB"


def test_every_role_runs_locked_down(containers: RoleContainers) -> None:
    for role in ROLES:
        assert containers.inspect(role, "{{.Config.User}}") == "10001:10001", role
        assert containers.inspect(role, "{{.HostConfig.ReadonlyRootfs}}") == "true", role
        assert containers.inspect(role, "{{.HostConfig.CapDrop}}") != "[]", role
        health = httpx.get(f"http://127.0.0.1:{containers.ops_ports[role]}/healthz", timeout=5)
        assert health.json()["role"] == role


async def test_seed_flow_through_the_containers(
    containers: RoleContainers, image_mailbox: tuple[Mailbox, int], tmp_path: Path
) -> None:
    mailbox, _ = image_mailbox
    source = make_video(tmp_path / "source.mp4", seconds=6)
    gateway = f"http://127.0.0.1:{containers.ports['gateway']}"
    async with httpx.AsyncClient(base_url=gateway, timeout=30.0) as client:
        login = await client.post("/login", auth=(ADMIN_EMAIL, ADMIN_PASSWORD))
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        accepted = await client.post(
            "/upload", headers=bearer(token), files=upload_file("clip.mp4", source.read_bytes())
        )
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        job = await _wait_final(client, token, job_id)
        assert job["status"] == "done", (job, containers.log("converter")[-3000:])
        download = await client.get(f"/download/{job_id}", headers=bearer(token))

    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/mpeg"
    mp3 = tmp_path / "out.mp3"
    mp3.write_bytes(download.content)
    probed = ffprobe_json(mp3)
    assert [s["codec_name"] for s in probed["streams"]] == ["mp3"]
    source_seconds = float(ffprobe_json(source)["format"]["duration"])
    assert abs(float(probed["format"]["duration"]) - source_seconds) <= 0.5
    mail = await mailbox.wait_for(lambda m: job_id in text_of(m))
    assert mail["To"] == ADMIN_EMAIL


async def _wait_final(client: httpx.AsyncClient, token: str, job_id: str) -> dict[str, object]:
    import asyncio

    async with asyncio.timeout(120):
        while True:
            response = await client.get(f"/jobs/{job_id}", headers=bearer(token))
            assert response.status_code == 200, response.text
            job: dict[str, object] = response.json()
            if job["status"] in ("done", "failed"):
                return job
            await asyncio.sleep(0.2)


def _listed(image: str, what: str) -> set[str]:
    # `ffmpeg -demuxers` / `-decoders`: a header, then one " FLAGS name[,alias] description" row each.
    out = subprocess.run(
        [
            *engine(),
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "ffmpeg",
            image,
            "-hide_banner",
            f"-{what}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    names: set[str] = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith((" --", "File formats", "Decoders")):
            names.update(parts[1].split(","))
    return names


def test_the_images_ffmpeg_reads_every_allowed_format(image: str) -> None:
    # The image builds its own ffmpeg with --disable-everything: a demuxer on the allow-list but
    # left out of the build would turn that format's uploads into failures in production only.
    missing = set(ALLOWED_DEMUXERS) - _listed(image, "demuxers")
    assert not missing, f"allowed but not built into the image: {sorted(missing)}"


def test_the_images_ffmpeg_decodes_the_common_codecs(image: str) -> None:
    common = {
        "aac",
        "mp3",
        "ac3",
        "eac3",
        "flac",
        "vorbis",
        "opus",
        "alac",
        "pcm_s16le",
        "h264",
        "hevc",
        "mpeg4",
        "vp8",
        "vp9",
        "mjpeg",
        "png",
    }
    missing = common - _listed(image, "decoders")
    assert not missing, f"not built into the image: {sorted(missing)}"
