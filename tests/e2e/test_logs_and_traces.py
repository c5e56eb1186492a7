"""One upload, one trace: gateway → upload → converter → notification, read from the JSON logs
each role process wrote."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.platform import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Platform,
    bearer,
    running_platform,
    upload_file,
)
from tests.mail_parts import text_of
from tests.media import make_video
from tests.services import Mailbox

pytestmark = pytest.mark.e2e
TRACED_ROLES = ("gateway", "upload", "converter", "notification")


@pytest.fixture(scope="module")
async def platform(
    mongodb_url: str, module_mailbox: tuple[Mailbox, int], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """The platform as deployed: JSON lines, at INFO, so every job's lines are there."""
    mailbox, port = module_mailbox
    data_dir: Path = tmp_path_factory.mktemp("traced")
    settings = {"LOG_LEVEL": "INFO", "LOG_FORMAT": "json"}
    async with running_platform(mongodb_url, data_dir, mailbox, port, settings) as running:
        yield running


def log_lines(platform: Platform, role: str) -> list[dict[str, Any]]:
    """Every line the role wrote so far; each must be one JSON object naming the role."""
    lines = []
    for number, text in enumerate(
        (platform.data_dir / "logs" / f"{role}.log").read_text().splitlines()
    ):
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            pytest.fail(f"{role}.log line {number + 1} is not JSON: {text!r}")
        assert line["role"] == role, line
        lines.append(line)
    return lines


async def lines_of_job(platform: Platform, job_id: str) -> dict[str, list[dict[str, Any]]]:
    """Each traced role's lines about the job, once every role has logged one (the last line,
    notification's, comes just after the email has gone)."""
    async with asyncio.timeout(15):
        while True:
            found = {
                role: [line for line in log_lines(platform, role) if line.get("job_id") == job_id]
                for role in TRACED_ROLES
            }
            if all(found.values()):
                return found
            await asyncio.sleep(0.2)


async def convert_and_notify(
    platform: Platform, tmp_path: Path, headers: dict[str, str] | None = None
) -> tuple[str, str]:
    """Upload a video (with extra request headers), wait for done and the email; the job id and
    the token used."""
    video = make_video(tmp_path / "traced.mp4", seconds=2)
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        response = await client.post(
            "/upload",
            headers={**bearer(token), **(headers or {})},
            files=upload_file("traced.mp4", video.read_bytes()),
        )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    assert (await platform.wait_final(token, job_id))["status"] == "done"
    await platform.mailbox.wait_for(lambda m: job_id in text_of(m))
    return job_id, token


async def test_one_trace_id_in_all_four_roles_logs_for_one_job(
    platform: Platform, tmp_path: Path
) -> None:
    job_id, token = await convert_and_notify(platform, tmp_path)
    lines = await lines_of_job(platform, job_id)

    # The gateway's line of the upload request starts the trace (no traceparent was sent).
    (upload_request,) = [
        line for line in lines["gateway"] if line["message"].startswith("POST /upload 202")
    ]
    trace_id = upload_request["trace_id"]
    assert len(trace_id) == 32
    spans: dict[str, set[str]] = {}
    for role in TRACED_ROLES:
        traced = [line for line in lines[role] if line.get("trace_id") == trace_id]
        assert traced, (role, lines[role])
        assert {line["user_id"] for line in traced} == {upload_request["user_id"]}, role
        spans[role] = {line["span_id"] for line in traced}
    # Every role made spans of its own, all in that one trace.
    for role in TRACED_ROLES:
        others = set().union(*(spans[other] for other in TRACED_ROLES if other != role))
        assert not spans[role] & others, role
    assert any("done" in line["message"] for line in lines["converter"])
    assert any("email of job" in line["message"] for line in lines["notification"])

    # Nothing secret was written by any role.
    for role in (*TRACED_ROLES, "auth"):
        text = (platform.data_dir / "logs" / f"{role}.log").read_text()
        assert token not in text, role
        assert ADMIN_PASSWORD not in text, role


async def test_a_callers_traceparent_is_continued_to_the_end(
    platform: Platform, tmp_path: Path
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    job_id, _ = await convert_and_notify(platform, tmp_path, {"traceparent": traceparent})
    lines = await lines_of_job(platform, job_id)
    for role in TRACED_ROLES:
        assert trace_id in {line.get("trace_id") for line in lines[role]}, role
