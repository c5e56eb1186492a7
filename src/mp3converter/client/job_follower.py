"""Following a job until it ends: live over Server-Sent Events, by polling if the stream fails.

`GET /jobs/{id}/events` sends `state` (the job), `progress` (`{job_id, progress}`) and finally
`done` or `failed` (the job). If the stream cannot be opened (too many streams, a proxy that
buffers) or drops before the end, the job is polled with `GET /jobs/{id}` until it is final.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from httpx_sse import SSEError

from mp3converter.client.errors import ApiError, ClientError, NotLoggedIn, SessionExpired
from mp3converter.client.session import ApiSession

FINAL = ("done", "failed")
POLL_SECONDS = 1.0
OnUpdate = Callable[[str, float], None]  # (status, progress 0..1)


def follow_job(session: ApiSession, job_id: str, on_update: OnUpdate) -> dict[str, Any]:
    """The job once it is done or failed; `on_update` hears its status and progress meanwhile."""
    try:
        job = _follow_stream(session, job_id, on_update)
    except (NotLoggedIn, SessionExpired):
        raise
    except ApiError as exc:
        if exc.status == 404:
            raise
        job = None  # e.g. 429 too-many-streams: polling works as well, only slower
    except (ClientError, SSEError, ValueError):
        job = None  # the stream dropped or was mangled on the way
    return job if job is not None else _poll(session, job_id, on_update)


def _follow_stream(session: ApiSession, job_id: str, on_update: OnUpdate) -> dict[str, Any] | None:
    with session.events(f"/jobs/{quote(job_id, safe='')}/events") as source:
        status = "queued"
        for event in source.iter_sse():
            if event.event not in ("state", "progress", "done", "failed"):
                continue
            data = json.loads(event.data)
            if event.event == "progress":
                on_update("converting", float(data.get("progress", 0.0)))
                continue
            status = str(data.get("status", status))
            on_update(status, float(data.get("progress") or 0.0))
            if status in FINAL:
                job: dict[str, Any] = data
                return job
    return None  # the stream ended before the job did


def _poll(session: ApiSession, job_id: str, on_update: OnUpdate) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = session.request("GET", f"/jobs/{quote(job_id, safe='')}").json()
        on_update(str(job["status"]), float(job.get("progress") or 0.0))
        if job["status"] in FINAL:
            return job
        time.sleep(POLL_SECONDS)
