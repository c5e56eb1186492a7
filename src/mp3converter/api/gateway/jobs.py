"""The caller's jobs, forwarded to the upload role."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from mp3converter.api.deps import GatewayCaller, UpstreamDep
from mp3converter.api.gateway.responses import ERRORS, PROBLEM
from mp3converter.api.routes.events import EVENT_STREAM, LastEventId
from mp3converter.api.schemas import JobList, JobOut, PageLimit, PageOffset

router = APIRouter()


@router.get("/jobs", response_model=JobList, responses=ERRORS, summary="The caller's jobs")
async def list_jobs(
    request: Request,
    caller: GatewayCaller,
    upstream: UpstreamDep,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Response:
    return await upstream.to_upload(request, "/jobs", authorization=caller.authorization)


@router.get("/jobs/{job_id}", response_model=JobOut, responses=ERRORS, summary="One job")
async def get_job(
    request: Request, job_id: str, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_upload(
        request, f"/jobs/{quote(job_id, safe='')}", authorization=caller.authorization
    )


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    responses={409: PROBLEM, **ERRORS},
    summary="Delete a finished job with its files",
)
async def delete_job(
    request: Request, job_id: str, caller: GatewayCaller, upstream: UpstreamDep
) -> Response:
    return await upstream.to_upload(
        request, f"/jobs/{quote(job_id, safe='')}", authorization=caller.authorization
    )


# The streams pass through as they come (the proxy never buffers a response); Last-Event-ID
# travels with the other request headers.
@router.get(
    "/jobs/{job_id}/events",
    responses={**EVENT_STREAM, **ERRORS, 429: PROBLEM},
    summary="Follow one job live until it ends (Server-Sent Events)",
)
async def job_events(
    request: Request,
    job_id: str,
    caller: GatewayCaller,
    upstream: UpstreamDep,
    last_event_id: LastEventId = None,
) -> Response:
    return await upstream.to_upload(
        request, f"/jobs/{quote(job_id, safe='')}/events", authorization=caller.authorization
    )


@router.get(
    "/events",
    responses={**EVENT_STREAM, **ERRORS, 429: PROBLEM},
    summary="Follow every job of the caller live (Server-Sent Events)",
)
async def owner_events(
    request: Request,
    caller: GatewayCaller,
    upstream: UpstreamDep,
    last_event_id: LastEventId = None,
) -> Response:
    return await upstream.to_upload(request, "/events", authorization=caller.authorization)
