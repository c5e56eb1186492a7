"""Message contracts on the broker: validated when published and when consumed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mp3converter.domain.conversion_options import DEFAULT_OPTIONS, ConversionOptions


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

    # Routing key on the commands or events exchange; the topology binds queues with it.
    ROUTING_KEY: ClassVar[str]

    @property
    def message_id(self) -> str:
        """Stable per logical message, so a republished copy is recognised as the same one."""
        return f"{self.job_id}:{self.routing_key}"

    @property
    def routing_key(self) -> str:
        """This message's routing key."""
        return self.ROUTING_KEY


class ConvertVideo(Message):
    """Command: convert the stored video of a job into an MP3."""

    ROUTING_KEY: ClassVar[str] = "convert"
    type: Literal["ConvertVideo"] = "ConvertVideo"
    # Version 2 added the options; a converter accepts both versions.
    version: Literal[1, 2] = 2  # type: ignore[assignment]  # pydantic narrows per class
    video_file_id: str
    # The video is still arriving, and can be read front to back as it does (optional: commands
    # of earlier versions convert the complete file).
    streaming: bool = False
    # What the owner asked for (version 2; a version-1 command converts with the defaults).
    options: ConversionOptions = DEFAULT_OPTIONS


class JobQueued(Message):
    """Event: a job was accepted and its video stored."""

    ROUTING_KEY: ClassVar[str] = "job.queued"
    type: Literal["JobQueued"] = "JobQueued"
    filename: str


class JobProgressed(Message):
    """Event: a converting job got further (at most every half second while ffmpeg runs)."""

    ROUTING_KEY: ClassVar[str] = "job.progressed"
    type: Literal["JobProgressed"] = "JobProgressed"
    progress: float = Field(ge=0.0, le=1.0)

    @property
    def message_id(self) -> str:
        """Each progress report is its own message."""
        return f"{self.job_id}:{self.routing_key}:{self.progress:.3f}"


class JobSucceeded(Message):
    """Event: the MP3 of a job is stored and can be downloaded."""

    ROUTING_KEY: ClassVar[str] = "job.succeeded"
    type: Literal["JobSucceeded"] = "JobSucceeded"
    filename: str
    owner_email: str
    duration_seconds: float
    size_bytes: int


class JobFailed(Message):
    """Event: a job ended without an MP3, with a machine code and a human reason."""

    ROUTING_KEY: ClassVar[str] = "job.failed"
    type: Literal["JobFailed"] = "JobFailed"
    filename: str
    owner_email: str
    code: str
    reason: str


AnyJobEvent = JobQueued | JobProgressed | JobSucceeded | JobFailed
# The binding of a queue that hears every job event: each event's ROUTING_KEY is "job.<what>".
EVERY_JOB_EVENT = "job.#"
JobEvent = Annotated[AnyJobEvent, Field(discriminator="type")]
JOB_EVENT = TypeAdapter[AnyJobEvent](JobEvent)
