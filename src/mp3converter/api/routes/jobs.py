"""The owner's jobs, served by the upload role: list, one job, delete a finished one."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mp3converter.adapters.job_store import JobStore
from mp3converter.api.deps import CurrentPrincipal, JobsDep, LinksDep, Mp3sDep, VideosDep
from mp3converter.api.schemas import JobList, JobOut, PageLimit, PageOffset, job_out
from mp3converter.domain.jobs import Job
from mp3converter.web.problems import Problem

router = APIRouter()


async def owned_job(jobs: JobStore, job_id: str, owner_id: str) -> Job:
    """The job if the caller owns it; another user's job is as unknown as a missing one."""
    job = await jobs.get(job_id, owner_id=owner_id)
    if job is None:
        raise Problem(404, "job-not-found", f"no job {job_id}")
    return job


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    caller: CurrentPrincipal,
    jobs: JobsDep,
    links: LinksDep,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> JobList:
    found = await jobs.list_for_owner(caller.user_id, limit, offset)
    return JobList(jobs=[job_out(job, links) for job in found], limit=limit, offset=offset)


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: str, caller: CurrentPrincipal, jobs: JobsDep, links: LinksDep) -> JobOut:
    return job_out(await owned_job(jobs, job_id, caller.user_id), links)


@router.delete("/jobs/{job_id}", status_code=204)
async def delete_job(
    job_id: str, caller: CurrentPrincipal, jobs: JobsDep, videos: VideosDep, mp3s: Mp3sDep
) -> Response:
    job = await owned_job(jobs, job_id, caller.user_id)
    if not job.is_final:
        raise Problem(
            409,
            "job-in-flight",
            f"job {job_id} is {job.status.value}; it can be deleted once it is done or failed",
            job_status=job.status.value,
        )
    for store, file_id in ((videos, job.video_file_id), (mp3s, job.mp3_file_id)):
        if file_id is not None:
            await store.delete(file_id)
    await jobs.delete(job_id)
    return Response(status_code=204)
