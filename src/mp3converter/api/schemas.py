"""How jobs, accounts and tokens look in the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from mp3converter.domain.download_links import DownloadLinks
from mp3converter.domain.jobs import Job, JobError, JobStatus
from mp3converter.domain.loudness import LoudnessReport
from mp3converter.domain.users import MIN_PASSWORD_LENGTH

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
    download_url: str | None = Field(
        description="The download with `Authorization: Bearer` (relative to the API)"
    )
    download_link: str | None = Field(
        None, description="A signed link that works without any header, until it expires"
    )
    duration_seconds: float | None
    size_bytes: int | None
    expires_at: datetime | None = Field(
        description="When the MP3 is deleted (done jobs); past it the download answers 410"
    )
    retained_until: datetime | None = Field(
        description="When the job record itself is deleted (final jobs)"
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The conversion options asked for (a preset's included); empty: defaults",
    )
    loudness: LoudnessReport | None = Field(
        None, description="With `loudness`: what was measured and reached (done jobs)"
    )


class JobList(BaseModel):
    """A page of the caller's jobs, newest first."""

    jobs: list[JobOut]
    limit: int
    offset: int


class JobAccepted(BaseModel):
    """Answer to an upload: the job that will convert it."""

    job_id: str
    status: JobStatus


def job_out(job: Job, links: DownloadLinks | None = None) -> JobOut:
    """The public view of a job; with `links`, a done job gets a signed download link."""
    done = job.status is JobStatus.DONE
    downloadable = done and job.mp3_file_id is not None
    link = None
    if downloadable and links is not None:
        not_after = int(job.expires_at.timestamp()) if job.expires_at else None
        link = links.for_job(job.job_id, job.owner_id, not_after)
    return JobOut(
        job_id=job.job_id,
        status=job.status,
        progress=1.0 if done else job.progress,
        filename=job.filename,
        created_at=job.created_at,
        updated_at=job.updated_at,
        error=job.error,
        download_url=f"/download/{job.job_id}" if downloadable else None,
        download_link=link,
        duration_seconds=job.duration_seconds,
        size_bytes=job.mp3_size_bytes,
        expires_at=job.expires_at,
        retained_until=job.purge_at,
        options=job.options.public() if job.options is not None else {},
        loudness=job.loudness,
    )


class TokenResponse(BaseModel):
    """An access token for `Authorization: Bearer`, and the refresh token that renews it."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str | None = None


class NewUser(BaseModel):
    """Credentials of an account to create."""

    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    user_id: str
    email: str
    is_admin: bool
    disabled: bool = False
    created_at: datetime | None = None


class UserList(BaseModel):
    """A page of users, oldest first."""

    users: list[UserOut]
    limit: int
    offset: int


class UserChange(BaseModel):
    """What an admin changes about a user; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)

    disabled: bool | None = None
    is_admin: bool | None = None


class PasswordChange(BaseModel):
    """A user changing their own password."""

    model_config = ConfigDict(strict=True)

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class NewApiKey(BaseModel):
    """A personal API key to create."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)
    admin: bool = Field(False, description="admin rights; only an admin may ask for them")


class ApiKeyOut(BaseModel):
    """An API key as its owner sees it (never its secret)."""

    key_id: str
    name: str
    admin: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    """A new key: `key` is shown this once and cannot be recovered."""

    key: str


class ApiKeyList(BaseModel):
    """The caller's API keys, newest first."""

    api_keys: list[ApiKeyOut]
