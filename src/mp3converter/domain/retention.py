"""How long a job's MP3 and its record are kept once the job has ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

DAY = 86400.0


@dataclass(frozen=True)
class Retention:
    """MP3s are deleted `mp3_seconds` after the job is done; records `job_seconds` after it ends."""

    mp3_seconds: float = 7 * DAY
    job_seconds: float = 30 * DAY

    def when_done(self, now: datetime) -> dict[str, Any]:
        """The expiry fields of a job that is done now; the record outlives its MP3."""
        expires_at = now + timedelta(seconds=self.mp3_seconds)
        return {
            "expires_at": expires_at,
            "purge_at": max(expires_at, now + timedelta(seconds=self.job_seconds)),
        }

    def when_failed(self, now: datetime) -> dict[str, Any]:
        """The expiry field of a job that failed now."""
        return {"purge_at": now + timedelta(seconds=self.job_seconds)}
