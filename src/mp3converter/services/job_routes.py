"""The owner's view of jobs, served by the upload role: list, detail and ranged MP3 download."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from mp3converter.adapters.gridfs_store import FileMissing, GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.domain.filenames import content_disposition, mp3_name
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.services.job_views import JobList, JobOut, PageLimit, PageOffset, job_out
from mp3converter.web.bearer import CurrentPrincipal
from mp3converter.web.problems import Problem
from mp3converter.web.ranges import RangeNotSatisfiable, parse_range

job_router = APIRouter()


@job_router.get("/jobs", response_model=JobList)
async def list_jobs(
    request: Request,
    caller: CurrentPrincipal,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> JobList:
    jobs: JobStore = request.app.state.jobs
    found = await jobs.list_for_owner(caller.user_id, limit, offset)
    return JobList(jobs=[job_out(job) for job in found], limit=limit, offset=offset)


async def owned_job(request: Request, job_id: str, owner_id: str) -> Job:
    jobs: JobStore = request.app.state.jobs
    job = await jobs.get(job_id, owner_id=owner_id)
    if job is None:
        raise Problem(404, "job-not-found", f"no job {job_id}")
    return job


@job_router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(request: Request, job_id: str, caller: CurrentPrincipal) -> JobOut:
    return job_out(await owned_job(request, job_id, caller.user_id))


@job_router.get(
    "/download/{job_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/mpeg": {}}}, 206: {"content": {"audio/mpeg": {}}}},
)
async def download(request: Request, job_id: str, caller: CurrentPrincipal) -> Response:
    job = await owned_job(request, job_id, caller.user_id)
    if job.status is not JobStatus.DONE or job.mp3_file_id is None:
        raise Problem(
            409,
            "job-not-done",
            f"job {job_id} is {job.status.value}, not done",
            job_status=job.status.value,
        )
    mp3s: GridFSStore = request.app.state.mp3s
    try:
        info = await mp3s.info(job.mp3_file_id)
    except FileMissing as exc:
        raise Problem(410, "mp3-gone", "the MP3 of this job is no longer stored") from exc
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(mp3_name(job.filename)),
        "ETag": f'"{job.mp3_file_id}"',
    }
    try:
        wanted = parse_range(request.headers.get("range"), info.length)
    except RangeNotSatisfiable as exc:
        raise Problem(
            416,
            "range-not-satisfiable",
            "the range is outside the file",
            headers={"Content-Range": f"bytes */{info.length}"},
        ) from exc
    if wanted is None:
        headers["Content-Length"] = str(info.length)
        return StreamingResponse(mp3s.read(info.file_id), media_type="audio/mpeg", headers=headers)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end}/{info.length}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        mp3s.read(info.file_id, start, end),
        status_code=206,
        media_type="audio/mpeg",
        headers=headers,
    )
