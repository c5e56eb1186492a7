"""What a live stream sends: job events from the broker as Server-Sent Events, in order, paced.

Event ids are the microseconds since the epoch at which the state was reached, so a client that
reconnects with `Last-Event-ID` is not sent what it already has. Progress is sent at most every
`PROGRESS_SPACING` seconds per job: a report that comes sooner waits, and is replaced by a newer
one meanwhile; the end of a job is never held back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi.sse import ServerSentEvent
from pydantic import BaseModel

from mp3converter.adapters.job_store import JobStore
from mp3converter.api.schemas import job_out
from mp3converter.contracts import AnyJobEvent, JobFailed, JobProgressed, JobSucceeded
from mp3converter.domain.download_links import DownloadLinks
from mp3converter.domain.jobs import Job, JobStatus

PROGRESS_SPACING = 0.5
# A stream of one job also re-reads it this often, in case its end was never heard (a broker
# outage): a safety net, not the way progress travels.
RECHECK_SECONDS = 60.0


class JobProgress(BaseModel):
    """The data of a `progress` event."""

    job_id: str
    progress: float


def event_id(moment: datetime) -> int:
    """The id of an event that happened at `moment`."""
    return int(moment.timestamp() * 1_000_000)


def resume_point(last_event_id: str | None) -> int:
    """What a reconnecting client has seen already (0: nothing; a malformed id counts as none)."""
    if last_event_id is None or not last_event_id.isdigit() or len(last_event_id) > 20:
        return 0
    return int(last_event_id)


class JobEventStream:
    """The events of one stream: of one job, or of every job of `owner_id`."""

    def __init__(self, jobs: JobStore, links: DownloadLinks, owner_id: str, after: int) -> None:
        self._jobs, self._links, self._owner_id = jobs, links, owner_id
        self._after = after
        self._last_id: dict[str, int] = {}
        self._pending: dict[str, JobProgressed] = {}
        self._sent_progress_at: dict[str, float] = {}

    def opening(self, job: Job) -> ServerSentEvent | None:
        """The job as it stands: always when it is final (the client closes on it), else unless
        the client saw this state already."""
        moment = event_id(job.updated_at)
        if not job.is_final and moment <= self._after:
            return None
        return self._state(job, moment)

    async def follow(
        self, events: asyncio.Queue[AnyJobEvent], *, job_id: str | None = None
    ) -> AsyncIterator[ServerSentEvent]:
        """Events as they come; with `job_id`, until that job ends."""
        while True:
            try:
                async with asyncio.timeout(self._wait_seconds(job_id)):
                    event = await events.get()
            except TimeoutError:
                if self._pending:
                    for sse in self._due_progress():
                        yield sse
                elif job_id is not None:  # a quiet minute: is the job still going?
                    job = await self._jobs.get(job_id, owner_id=self._owner_id)
                    if job is None:
                        return  # deleted meanwhile: nothing more will come
                    if job.is_final:  # its end was never heard
                        yield self._state(job, event_id(job.updated_at))
                        return
                continue
            answer = await self._on_event(event)
            if answer is not None:
                yield answer
            if job_id is not None and isinstance(event, JobSucceeded | JobFailed):
                return

    def _wait_seconds(self, job_id: str | None) -> float:
        if not self._pending:
            return RECHECK_SECONDS if job_id is not None else 3600.0
        now = time.monotonic()
        due = min(self._sent_progress_at.get(j, 0.0) + PROGRESS_SPACING for j in self._pending)
        return max(0.0, due - now)

    def _due_progress(self) -> list[ServerSentEvent]:
        now = time.monotonic()
        due = [
            job
            for job in self._pending
            if now >= self._sent_progress_at.get(job, 0.0) + PROGRESS_SPACING
        ]
        return [self._progress(self._pending.pop(job)) for job in due]

    async def _on_event(self, event: AnyJobEvent) -> ServerSentEvent | None:
        moment = event_id(event.occurred_at)
        final = isinstance(event, JobSucceeded | JobFailed)
        if not final and moment <= max(self._after, self._last_id.get(event.job_id, 0)):
            return None  # seen before the client reconnected, or overtaken by a newer state
        if isinstance(event, JobProgressed):
            if time.monotonic() < self._sent_progress_at.get(event.job_id, 0.0) + PROGRESS_SPACING:
                self._pending[event.job_id] = event
                return None
            return self._progress(event)
        job = await self._jobs.get(event.job_id, owner_id=self._owner_id)
        if job is None:
            return None  # deleted meanwhile
        sse = self._state(job, moment)
        if job.is_final:
            self._forget(job.job_id)
        return sse

    def _progress(self, event: JobProgressed) -> ServerSentEvent:
        self._sent_progress_at[event.job_id] = time.monotonic()
        moment = event_id(event.occurred_at)
        self._last_id[event.job_id] = moment
        data = JobProgress(job_id=event.job_id, progress=event.progress)
        return ServerSentEvent(event="progress", id=str(moment), data=data)

    def _state(self, job: Job, moment: int) -> ServerSentEvent:
        self._last_id[job.job_id] = max(moment, self._last_id.get(job.job_id, 0))
        name = {JobStatus.DONE: "done", JobStatus.FAILED: "failed"}.get(job.status, "state")
        return ServerSentEvent(event=name, id=str(moment), data=job_out(job, self._links))

    def _forget(self, job_id: str) -> None:
        # A long-lived stream of an owner keeps nothing per job once the job has ended.
        self._pending.pop(job_id, None)
        self._sent_progress_at.pop(job_id, None)
        self._last_id.pop(job_id, None)
