"""Message contracts on the broker: validated when published and when consumed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Message(BaseModel):
    """Fields every message carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    job_id: str = Field(min_length=1, max_length=64)
    owner_id: str = Field(min_length=1, max_length=64)
    occurred_at: datetime = Field(default_factory=utcnow)

    @property
    def message_id(self) -> str:
        """Stable per logical message, so a republished copy is recognised as the same one."""
        return f"{self.job_id}:{self.routing_key}"

    @property
    def routing_key(self) -> str:
        """Routing key on the events exchange (commands use the queue name)."""
        raise NotImplementedError


class ConvertVideo(Message):
    """Command: convert the stored video of a job into an MP3."""

    type: Literal["ConvertVideo"] = "ConvertVideo"
    video_file_id: str

    @property
    def routing_key(self) -> str:
        """Commands route to the convert queue."""
        return "convert"


class JobQueued(Message):
    """Event: a job was accepted and its video stored."""

    type: Literal["JobQueued"] = "JobQueued"
    filename: str

    @property
    def routing_key(self) -> str:
        """Topic for queued jobs."""
        return "job.queued"


class JobSucceeded(Message):
    """Event: the MP3 of a job is stored and can be downloaded."""

    type: Literal["JobSucceeded"] = "JobSucceeded"
    filename: str
    owner_email: str
    duration_seconds: float
    size_bytes: int

    @property
    def routing_key(self) -> str:
        """Topic for finished jobs."""
        return "job.succeeded"


class JobFailed(Message):
    """Event: a job ended without an MP3, with a machine code and a human reason."""

    type: Literal["JobFailed"] = "JobFailed"
    filename: str
    owner_email: str
    code: str
    reason: str

    @property
    def routing_key(self) -> str:
        """Topic for failed jobs."""
        return "job.failed"


JobEvent = Annotated[JobQueued | JobSucceeded | JobFailed, Field(discriminator="type")]
JOB_EVENT = TypeAdapter[JobQueued | JobSucceeded | JobFailed](JobEvent)
