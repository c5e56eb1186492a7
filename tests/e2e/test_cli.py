"""The command-line client end to end: the real `mp3converter` command against the platform."""

from __future__ import annotations

import asyncio
import json
import os
import random
import stat
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mp3converter.devstack.secantus import free_port
from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer
from tests.media import ffprobe_json, make_video

pytestmark = pytest.mark.e2e
PASSWORD = "cli-e2e-password-0123"
COMMAND_TIMEOUT = 120.0


@dataclass
class Cli:
    """The `mp3converter` command with its own config dir, as one user of the platform."""

    server: str
    email: str
    config_dir: Path
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "MP3CONVERTER_CONFIG_DIR": str(self.config_dir),
            **extra,
        }

    async def run(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mp3converter", *args]
        return await asyncio.to_thread(
            subprocess.run,
            command,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    async def login(self) -> None:
        done = await self.run(
            "login", "--server", self.server, "--email", self.email, MP3CONVERTER_PASSWORD=PASSWORD
        )
        assert done.returncode == 0, done.stderr

    def stored(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.config_dir / "login.json").read_text())
        return data


@pytest.fixture
async def cli(platform: Platform, tmp_path: Path) -> Cli:
    """A fresh user and an empty config dir (each test sees only its own jobs)."""
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    admin = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        created = await client.post(
            "/users", json={"email": email, "password": PASSWORD}, headers=bearer(admin)
        )
    assert created.status_code == 201, created.text
    home = tmp_path / "home"
    home.mkdir()
    return Cli(platform.gateway, email, tmp_path / "config", home)


def _is_mp3(path: Path) -> dict[str, Any]:
    probed = ffprobe_json(path)
    assert probed["format"]["format_name"] == "mp3", probed
    assert [s["codec_name"] for s in probed["streams"] if s["codec_type"] == "audio"] == ["mp3"]
    return probed


async def test_login_stores_a_private_refresh_token_and_converts_two_videos(
    cli: Cli, tmp_path: Path
) -> None:
    await cli.login()
    assert stat.S_IMODE((cli.config_dir / "login.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.config_dir.stat().st_mode) == 0o700
    stored = cli.stored()
    assert stored["credential"] == "refresh_token"
    assert stored["server"] == cli.server
    assert PASSWORD not in (cli.config_dir / "login.json").read_text()

    talk = make_video(tmp_path / "talk.mp4", seconds=3)
    clip = make_video(tmp_path / "clip.mkv", seconds=2)
    out = tmp_path / "out"
    done = await cli.run("convert", str(talk), str(clip), "--output-dir", str(out))

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["clip.mp3", "talk.mp3"]
    assert float(_is_mp3(out / "talk.mp3")["format"]["duration"]) == pytest.approx(3, abs=0.5)
    assert float(_is_mp3(out / "clip.mp3")["format"]["duration"]) == pytest.approx(2, abs=0.5)
    assert f"{talk} → {out / 'talk.mp3'}" in done.stdout
    # The refresh token rotated, and the rotated one was kept: the session still works.
    assert cli.stored()["secret"] != stored["secret"]
    assert (await cli.run("jobs")).returncode == 0


async def test_options_json_output_and_no_file_is_ever_replaced(cli: Cli, tmp_path: Path) -> None:
    await cli.login()
    video = make_video(tmp_path / "lecture.mp4", seconds=3)
    (tmp_path / "lecture.mp3").write_bytes(b"my own notes")

    done = await cli.run("convert", str(video), "--bitrate", "64", "--channels", "1", "--json")

    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["files"]  # stdout is one JSON document, nothing else
    assert result["status"] == "done"
    assert result["error"] is None
    assert result["input"] == str(video)
    assert result["output"] == str(tmp_path / "lecture (1).mp3")  # next to the input
    assert (tmp_path / "lecture.mp3").read_bytes() == b"my own notes"
    probed = _is_mp3(Path(result["output"]))
    assert int(probed["format"]["bit_rate"]) == pytest.approx(64_000, rel=0.1)
    assert probed["streams"][0]["channels"] == 1
    assert result["size_bytes"] == Path(result["output"]).stat().st_size

    listed = await cli.run("jobs", "--json")
    assert listed.returncode == 0, listed.stderr
    (job,) = json.loads(listed.stdout)["jobs"]
    assert job["job_id"] == result["job_id"]
    assert job["options"]["bitrate"] == 64


async def test_a_failing_file_is_reported_with_its_reason_and_the_others_still_convert(
    cli: Cli, tmp_path: Path
) -> None:
    await cli.login()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(random.Random(3).randbytes(50_000))
    good = make_video(tmp_path / "good.mp4", seconds=2)
    out = tmp_path / "out"

    done = await cli.run("convert", str(bad), str(good), str(tmp_path / "missing.mp4"),
                         "-o", str(out), "--json")  # fmt: skip

    assert done.returncode == 1
    results = {Path(r["input"]).name: r for r in json.loads(done.stdout)["files"]}
    assert results["good.mp4"]["status"] == "done"
    assert results["bad.mp4"]["status"] == "failed"
    assert results["bad.mp4"]["job_id"]
    assert results["bad.mp4"]["error"]["code"] in ("not-media", "unsupported-format")
    assert results["missing.mp4"]["error"]["reason"] == "no such file"
    reason = results["bad.mp4"]["error"]["reason"]
    assert f"{bad} failed: {reason}" in done.stderr
    assert f"{tmp_path / 'missing.mp4'} failed: no such file" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["good.mp3"]
    _is_mp3(out / "good.mp3")


async def test_a_bad_option_is_refused_by_the_server_in_its_own_words(
    cli: Cli, tmp_path: Path
) -> None:
    await cli.login()
    video = make_video(tmp_path / "clip.mp4", seconds=1)
    done = await cli.run("convert", str(video), "--start", "5", "--end", "2")
    assert done.returncode == 1
    assert "Unprocessable Entity: some conversion options are not valid" in done.stderr
    assert "end: must be later than start" in done.stderr


async def test_jobs_table_and_download_of_a_job(cli: Cli, tmp_path: Path) -> None:
    await cli.login()
    first = make_video(tmp_path / "first.mp4", seconds=1)
    second = make_video(tmp_path / "second.mp4", seconds=1)
    converted = await cli.run(
        "convert", str(first), str(second), "-o", str(tmp_path), "--json", "--parallel", "1"
    )
    assert converted.returncode == 0, converted.stderr
    ids = [r["job_id"] for r in json.loads(converted.stdout)["files"]]

    listed = json.loads((await cli.run("jobs", "--json")).stdout)["jobs"]
    assert [job["job_id"] for job in listed] == ids[::-1]  # newest first
    table = await cli.run("jobs")
    assert table.returncode == 0, table.stderr
    assert ids[0] in table.stdout
    assert "second.mp4" in table.stdout
    assert table.stdout.index(ids[1]) < table.stdout.index(ids[0])

    target = tmp_path / "downloads"
    fetched = await cli.run("download", ids[0], "--output-dir", str(target), "--json")
    assert fetched.returncode == 0, fetched.stderr
    answer = json.loads(fetched.stdout)
    assert answer == {
        "job_id": ids[0],
        "output": str(target / "first.mp3"),  # from the job's file name
        "size_bytes": (target / "first.mp3").stat().st_size,
    }
    assert (target / "first.mp3").read_bytes() == (tmp_path / "first.mp3").read_bytes()

    unknown = await cli.run("download", str(uuid.uuid4()), "--output-dir", str(target))
    assert unknown.returncode == 1
    assert "Not Found" in unknown.stderr


async def test_files_are_converted_two_at_a_time_unless_told_otherwise(
    cli: Cli, tmp_path: Path
) -> None:
    await cli.login()
    videos = [make_video(tmp_path / f"v{n}.mp4", seconds=8) for n in range(2)]

    async def spans(*flags: str) -> list[tuple[datetime, datetime]]:
        """(created_at, updated_at) of each file's job: when it was uploaded and when done."""
        out = tmp_path / f"out{len(flags)}"
        done = await cli.run("convert", *map(str, videos), "-o", str(out), "--json", *flags)
        assert done.returncode == 0, done.stderr
        ids = {r["job_id"] for r in json.loads(done.stdout)["files"]}
        assert sorted(p.name for p in out.iterdir()) == ["v0.mp3", "v1.mp3"]
        listed = json.loads((await cli.run("jobs", "--json")).stdout)["jobs"]
        return [
            (datetime.fromisoformat(j["created_at"]), datetime.fromisoformat(j["updated_at"]))
            for j in listed
            if j["job_id"] in ids
        ]

    together = await spans()
    one_by_one = await spans("--parallel", "1")
    bad_flag = await cli.run("convert", str(videos[0]), "--parallel", "0")

    # At once: each job was uploaded before the other was done. One by one: the second file
    # was uploaded only after the first was done.
    assert max(created for created, _ in together) < min(done for _, done in together)
    (first, second) = sorted(one_by_one)
    assert first[1] <= second[0]
    assert bad_flag.returncode == 2
    assert "--parallel: must be a whole number from 1 to 8" in bad_flag.stderr


async def test_concurrent_commands_share_the_rotating_refresh_token(cli: Cli) -> None:
    # A refresh token used twice revokes the login: without the lock one of these would end it.
    await cli.login()
    results = await asyncio.gather(*(cli.run("jobs", "--json") for _ in range(4)))
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    assert (await cli.run("jobs")).returncode == 0


async def test_a_revoked_session_says_to_log_in_again_and_logout_revokes(
    cli: Cli, platform: Platform
) -> None:
    await cli.login()
    async with platform.client() as client:
        await client.post("/revoke", data={"token": cli.stored()["secret"]})
    expired = await cli.run("jobs")
    assert expired.returncode == 1
    assert "expired or was revoked" in expired.stderr
    assert "mp3converter login" in expired.stderr

    await cli.login()
    token = cli.stored()["secret"]
    logged_out = await cli.run("logout")
    assert logged_out.returncode == 0, logged_out.stderr
    assert not (cli.config_dir / "login.json").exists()
    async with platform.client() as client:
        reuse = await client.post(
            "/token", data={"grant_type": "refresh_token", "refresh_token": token}
        )
    assert reuse.status_code == 400  # revoked at the server, not only forgotten here
    after = await cli.run("jobs")
    assert after.returncode == 1
    assert "not logged in" in after.stderr


async def test_wrong_password_and_unreachable_server_are_clear(cli: Cli) -> None:
    wrong = await cli.run(
        "login", "--server", cli.server, "--email", cli.email, MP3CONVERTER_PASSWORD="nope-nope"
    )
    assert wrong.returncode == 1
    assert "invalid_grant" in wrong.stderr
    assert not (cli.config_dir / "login.json").exists()

    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = await cli.run(
        "login", "--server", nowhere, "--email", cli.email, MP3CONVERTER_PASSWORD=PASSWORD
    )
    assert unreachable.returncode == 1
    assert f"cannot reach the server at {nowhere}" in unreachable.stderr


async def test_an_api_key_can_be_stored_instead_of_a_session(
    cli: Cli, platform: Platform, tmp_path: Path
) -> None:
    token = await platform.token(cli.email, PASSWORD)
    async with platform.client() as client:
        created = await client.post("/api-keys", json={"name": "cli"}, headers=bearer(token))
    key = created.json()["key"]

    refused = await cli.run(
        "login", "--server", cli.server, "--api-key", MP3CONVERTER_API_KEY="mp3c_x_y"
    )
    assert refused.returncode == 1
    logged_in = await cli.run(
        "login", "--server", cli.server, "--api-key", MP3CONVERTER_API_KEY=key
    )
    assert logged_in.returncode == 0, logged_in.stderr
    assert cli.stored()["credential"] == "api_key"
    assert stat.S_IMODE((cli.config_dir / "login.json").stat().st_mode) == 0o600

    video = make_video(tmp_path / "keyed.mp4", seconds=1)
    done = await cli.run("convert", str(video), "--json")
    assert done.returncode == 0, done.stderr
    _is_mp3(tmp_path / "keyed.mp3")


async def test_convert_without_login_fails_before_uploading(cli: Cli, tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=1)
    done = await cli.run("convert", str(video), "--json")
    assert done.returncode == 1
    assert "not logged in" in done.stderr
    (result,) = json.loads(done.stdout)["files"]
    assert result["status"] == "failed"
    async with httpx.AsyncClient(base_url=cli.server) as client:
        assert (await client.get("/jobs")).status_code == 401  # nothing was sent as anyone
