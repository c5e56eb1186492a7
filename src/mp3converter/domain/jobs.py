"""The conversion job and its state machine: queued -> converting -> done | failed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mp3converter.domain.conversion_options import ConversionOptions
from mp3converter.domain.loudness import LoudnessReport


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    CONVERTING = "converting"
    DONE = "done"
    FAILED = "failed"


# Which states a job may be in before it moves to the key state. Converting may be entered again:
# a worker that died mid-job leaves it converting and the redelivered command resumes it.
ALLOWED_FROM: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset(),
    JobStatus.CONVERTING: frozenset({JobStatus.QUEUED, JobStatus.CONVERTING}),
    JobStatus.DONE: frozenset({JobStatus.CONVERTING}),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED, JobStatus.CONVERTING}),
}
FINAL = frozenset({JobStatus.DONE, JobStatus.FAILED})
# An operator replaying a dead-lettered command may put a job back to queued from these states
# only (never from done; a failed job only while its video is still stored).
REQUEUABLE = frozenset({JobStatus.QUEUED, JobStatus.CONVERTING, JobStatus.FAILED})


class FailureCode(StrEnum):
    """Machine-readable reasons a job failed."""

    NOT_MEDIA = "not-media"
    UNSUPPORTED_FORMAT = "unsupported-format"
    PROBE_TIMEOUT = "probe-timeout"
    NO_AUDIO = "no-audio"
    NO_SUCH_AUDIO_TRACK = "no-such-audio-track"
    TRIM_OUT_OF_RANGE = "trim-out-of-range"
    TOO_LONG = "too-long"
    TRUNCATED_INPUT = "truncated-input"
    CONVERSION_FAILED = "conversion-failed"
    CONVERSION_TIMEOUT = "conversion-timeout"
    OUTPUT_TOO_LARGE = "output-too-large"
    SOURCE_MISSING = "source-missing"
    UPLOAD_INCOMPLETE = "upload-incomplete"
    RETRIES_EXHAUSTED = "retries-exhausted"


class JobError(BaseModel):
    """Why a job failed."""

    model_config = ConfigDict(frozen=True)

    code: str
    reason: str


class Job(BaseModel):
    """A user's request to turn one video into an MP3."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    owner_id: str
    owner_email: str
    filename: str
    status: JobStatus
    progress: float = Field(0.0, ge=0.0, le=1.0)
    created_at: datetime
    updated_at: datetime
    error: JobError | None = None
    video_file_id: str | None = None
    mp3_file_id: str | None = None
    video_size_bytes: int | None = None
    mp3_size_bytes: int | None = None
    duration_seconds: float | None = None
    # What the owner asked for (None on jobs recorded before options existed), and the loudness
    # measured and reached when they asked for one.
    options: ConversionOptions | None = None
    loudness: LoudnessReport | None = None
    # Set when the job ends: when its MP3 is deleted, and when the record itself is.
    expires_at: datetime | None = None
    purge_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        """Done or failed: nothing will change it any more."""
        return self.status in FINAL
