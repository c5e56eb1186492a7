"""Live job updates as Server-Sent Events, served by the upload role.

`GET /jobs/{job_id}/events` sends the job as it stands, its progress, and its end, then closes;
`GET /events` sends every in-flight job of the caller, then whatever happens to any of their
jobs, until the client leaves. Events reach this replica through its own queue on the events
exchange (see usecases/live.py); nothing polls the database per client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from mp3converter.api.deps import CurrentPrincipal, JobsDep, LinksDep, LiveDep
from mp3converter.api.event_stream import JobEventStream, resume_point
from mp3converter.api.routes.jobs import owned_job
from mp3converter.domain.jobs import Job
from mp3converter.usecases.live import MAX_STREAMS_PER_USER
from mp3converter.web.problems import Problem

router = APIRouter()
# The in-flight jobs an owner's stream opens with (the newest; older ones follow as they change).
OWNER_STREAM_JOBS = 100

# One event of the stream (as OpenAPI 3.2 describes Server-Sent Events).
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data", "id"],
    "properties": {
        "event": {"type": "string", "enum": ["state", "progress", "done", "failed"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "retry": {"type": "integer", "minimum": 0},
    },
}
EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: events `state`, `progress`, `done`, `failed`; "
        "data is JSON (a job, or `{job_id, progress}`); ids are for `Last-Event-ID`",
        "content": {"text/event-stream": {"schema": SSE_EVENT}},
    }
}
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)]


async def _owned(job_id: str, caller: CurrentPrincipal, jobs: JobsDep) -> Job:
    # A dependency, so another user's job is a 404 before any event is streamed.
    return await owned_job(jobs, job_id, caller.user_id)


async def _stream_slot(caller: CurrentPrincipal, live: LiveDep) -> AsyncIterator[None]:
    # Held until the response has ended (a dependency's exit runs after it), then given back.
    if not live.claim_stream(caller.user_id):
        raise Problem(
            429,
            "too-many-streams",
            f"at most {MAX_STREAMS_PER_USER} event streams may be open at once; close one first",
            headers={"Retry-After": "5"},
        )
    try:
        yield
    finally:
        live.release_stream(caller.user_id)


StreamSlot = Depends(_stream_slot)


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses=EVENT_STREAM,
    dependencies=[StreamSlot],
    summary="Follow one job live until it ends",
)
async def job_events(
    job: Annotated[Job, Depends(_owned)],
    jobs: JobsDep,
    links: LinksDep,
    live: LiveDep,
    last_event_id: LastEventId = None,
) -> AsyncIterator[ServerSentEvent]:
    stream = JobEventStream(jobs, links, job.owner_id, resume_point(last_event_id))
    with live.watch_job(job.job_id) as events:  # before reading it, so nothing falls between
        current = await jobs.get(job.job_id, owner_id=job.owner_id)
        if current is None:
            return
        if (opening := stream.opening(current)) is not None:
            yield opening
        if current.is_final:
            return
        async for sse in stream.follow(events, job_id=job.job_id):
            yield sse


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses=EVENT_STREAM,
    dependencies=[StreamSlot],
    summary="Follow every job of the caller live",
)
async def owner_events(
    caller: CurrentPrincipal,
    jobs: JobsDep,
    links: LinksDep,
    live: LiveDep,
    last_event_id: LastEventId = None,
) -> AsyncIterator[ServerSentEvent]:
    stream = JobEventStream(jobs, links, caller.user_id, resume_point(last_event_id))
    with live.watch_owner(caller.user_id) as events:
        for job in reversed(await jobs.in_flight_for_owner(caller.user_id, OWNER_STREAM_JOBS)):
            if (opening := stream.opening(job)) is not None:
                yield opening
        async for sse in stream.follow(events):
            yield sse
