"""How jobs look in the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from mp3converter.domain.jobs import Job, JobError, JobStatus

MAX_OFFSET = 1_000_000  # deeper pages are not served (MongoDB skips are bounded integers)
# The page parameters of GET /jobs, shared by the upload role and the gateway's documentation.
PageLimit = Annotated[int, Query(ge=1, le=200)]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


class JobOut(BaseModel):
    """A job as its owner sees it."""

    job_id: str
    status: JobStatus
    progress: float
    filename: str
    created_at: datetime
    updated_at: datetime
    error: JobError | None
    download_url: str | None
    duration_seconds: float | None
    size_bytes: int | None


class JobList(BaseModel):
    """A page of the caller's jobs, newest first."""

    jobs: list[JobOut]
    limit: int
    offset: int


class JobAccepted(BaseModel):
    """Answer to an upload: the job that will convert it."""

    job_id: str
    status: JobStatus


def job_out(job: Job) -> JobOut:
    """The public view of a job."""
    done = job.status is JobStatus.DONE
    return JobOut(
        job_id=job.job_id,
        status=job.status,
        progress=1.0 if done else job.progress,
        filename=job.filename,
        created_at=job.created_at,
        updated_at=job.updated_at,
        error=job.error,
        download_url=f"/download/{job.job_id}" if done else None,
        duration_seconds=job.duration_seconds,
        size_bytes=job.mp3_size_bytes,
    )
