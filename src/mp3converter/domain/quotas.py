"""Per-user limits checked when a video is uploaded."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Usage:
    """What a user holds right now: jobs not yet final, and bytes of videos and MP3s stored."""

    jobs_in_flight: int
    stored_bytes: int

    def plus(self, jobs: int, stored_bytes: int) -> Usage:
        """The usage once an upload of this size is added."""
        return Usage(self.jobs_in_flight + jobs, self.stored_bytes + stored_bytes)


class QuotaKind(StrEnum):
    """Which limit an upload would cross."""

    JOBS = "jobs"
    STORAGE = "storage"


@dataclass(frozen=True)
class QuotaExceeded:
    """An upload refused by a quota, and a sentence that says why."""

    kind: QuotaKind
    limit: int
    used: int
    detail: str


@dataclass(frozen=True)
class Quota:
    """At most `max_jobs_in_flight` jobs queued or converting and `max_stored_bytes` per user."""

    max_jobs_in_flight: int = 10
    max_stored_bytes: int = 20 * 1024**3

    def exceeded(self, after: Usage) -> QuotaExceeded | None:
        """Why usage `after` an upload would be over a limit, or None if it is within them."""
        if after.jobs_in_flight > self.max_jobs_in_flight:
            detail = (
                f"you have {after.jobs_in_flight - 1} conversions queued or running; the limit"
                f" is {self.max_jobs_in_flight}; upload again when one has finished"
            )
            return QuotaExceeded(
                QuotaKind.JOBS, self.max_jobs_in_flight, after.jobs_in_flight, detail
            )
        if after.stored_bytes > self.max_stored_bytes:
            return self.storage_exceeded(after.stored_bytes)
        return None

    def storage_exceeded(self, used: int) -> QuotaExceeded:
        """The refusal of an upload that would store `used` bytes in all."""
        detail = (
            f"this upload would take your stored videos and MP3s past your quota of"
            f" {self.max_stored_bytes} bytes; delete finished jobs or wait for old MP3s to expire"
        )
        return QuotaExceeded(QuotaKind.STORAGE, self.max_stored_bytes, used, detail)

    def room(self, usage: Usage) -> int:
        """Bytes the user may still store."""
        return max(0, self.max_stored_bytes - usage.stored_bytes)
