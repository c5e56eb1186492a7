"""A real conversion followed live: the converter's progress reaches an SSE client at the gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer, upload_file
from tests.media import run_ffmpeg

pytestmark = pytest.mark.e2e


# Noise is costly for LAME: a few seconds of converting, several progress periods; at a low bit
# rate it fits the platform's upload limit. An M4A with its index at the end is converted once
# stored, its length known; an Ogg is converted as it arrives, its length unknown until its end,
# so its progress is told by the bytes fed to ffmpeg.
@pytest.mark.parametrize(("name", "codec"), [("talk.m4a", "aac"), ("talk.ogg", "libopus")])
async def test_a_conversion_streams_progress_then_done(
    platform: Platform, tmp_path: Path, name: str, codec: str
) -> None:
    source = tmp_path / name
    noise = "anoisesrc=sample_rate=44100:duration=900"
    run_ffmpeg(["-f", "lavfi", "-i", noise, "-ac", "2", "-c:a", codec, "-b:a", "24k", str(source)])
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client, asyncio.timeout(120):
        # The caller's stream is opened before the upload, so no progress can come before it:
        # an Ogg is converted while it arrives, and may be nearly done by the time the upload
        # answers. (A stream opened after that sees only what is left, which is the point of it.)
        async with aconnect_sse(client, "GET", "/events", headers=bearer(token)) as s:
            accepted = await client.post(
                "/upload",
                headers=bearer(token),
                files=upload_file(name, source.read_bytes(), "application/octet-stream"),
            )
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job_id"]
            events = await _events_until_final(s.aiter_sse(), job_id)
        # Once final, the job's own stream sends its end and closes.
        async with aconnect_sse(
            client, "GET", f"/jobs/{job_id}/events", headers=bearer(token)
        ) as s:
            after = [sse.event async for sse in s.aiter_sse()]
    assert after == ["done"]
    names = [name for name, _ in events]
    assert names[-1] == "done"
    progress = [data["progress"] for name, data in events if name == "progress"]
    assert len(progress) >= 2, names
    assert progress == sorted(progress)
    done = events[-1][1]
    assert done["job_id"] == job_id
    assert done["status"] == "done"
    assert done["download_link"]


async def _events_until_final(
    stream: AsyncIterator[ServerSentEvent], job_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """The events of one job on the caller's stream, up to and including its end."""
    events: list[tuple[str, dict[str, Any]]] = []
    async for sse in stream:
        data = json.loads(sse.data)
        if data.get("job_id") != job_id:
            continue
        events.append((sse.event, data))
        if sse.event in ("done", "failed"):
            break
    return events
