"""Operators' dead-letter tools: list, replay and purge the convert and notification dead letters,
keeping each job's state consistent with what happens to its message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mp3converter.adapters.dead_letters import DeadLetter, HeldLetters, held_letters
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.rabbitmq import Topology
from mp3converter.domain.jobs import FailureCode, Job, JobError, JobStatus

Kind = Literal["convert", "notification"]
KINDS: tuple[Kind, ...] = ("convert", "notification")
Action = Literal["listed", "replayed", "purged", "skipped"]
PURGE_REASON = (
    "the conversion kept failing on a temporary error and an operator discarded it "
    "from the dead-letter queue"
)


@dataclass(frozen=True)
class Report:
    """What happened to one dead letter."""

    queue: Kind
    job_id: str
    type: str
    reason: str
    deaths: int
    died_at: datetime | None
    replays: int
    job_status: str | None
    action: Action
    note: str = ""


def replay_refusal(kind: Kind, job: Job | None) -> str | None:
    """Why a dead letter must not be replayed, or None when it may be."""
    if job is None:
        return "the job no longer exists (deleted by its owner or past retention)"
    if kind == "notification":
        return None  # an event reports an outcome that happened: sending it again is safe
    if job.status is JobStatus.DONE:
        return "the job is already done"
    if job.status is JobStatus.FAILED and job.video_file_id is None:
        return "the job failed and its video is no longer stored"
    return None


@dataclass
class DeadLetters:
    """The dead-letter queues of one deployment, and its jobs."""

    amqp_url: str
    topology: Topology
    jobs: JobStore
    # Fails a job and tells its owner (ConvertJob.fail).
    fail: Callable[[str, JobError], Awaitable[None]]
    limit: int = 1000

    def _queues(self, kind: Kind) -> tuple[str, str]:
        """The dead-letter queue of a kind, and the queue its messages came from."""
        t = self.topology
        return (
            (t.convert_dead, t.convert)
            if kind == "convert"
            else (t.notification_dead, t.notification)
        )

    async def peek(self, kinds: tuple[Kind, ...], job_id: str | None = None) -> list[Report]:
        """Every dead letter (up to the limit per queue); all of them stay where they are."""
        return await self._each(kinds, job_id, self._listed)

    async def replay(self, kinds: tuple[Kind, ...], job_id: str | None = None) -> list[Report]:
        """Send dead letters back to their queue, resetting convert jobs to queued first."""
        return await self._each(kinds, job_id, self._replayed)

    async def purge(self, kinds: tuple[Kind, ...], job_id: str | None = None) -> list[Report]:
        """Remove dead letters; a job not final yet fails, so no one waits for it forever."""
        return await self._each(kinds, job_id, self._purged)

    async def _each(
        self,
        kinds: tuple[Kind, ...],
        job_id: str | None,
        act: Callable[[HeldLetters, Kind, DeadLetter, Job | None], Awaitable[Report]],
    ) -> list[Report]:
        reports: list[Report] = []
        for kind in kinds:
            dead_queue, _ = self._queues(kind)
            async with held_letters(self.amqp_url, dead_queue, self.limit) as held:
                for letter in held.letters:
                    if job_id is None or letter.job_id == job_id:
                        job = await self.jobs.get(letter.job_id)
                        reports.append(await act(held, kind, letter, job))
        return reports

    async def _listed(
        self, held: HeldLetters, kind: Kind, letter: DeadLetter, job: Job | None
    ) -> Report:
        return _report(kind, letter, job, "listed", _job_note(job))

    async def _replayed(
        self, held: HeldLetters, kind: Kind, letter: DeadLetter, job: Job | None
    ) -> Report:
        if refusal := replay_refusal(kind, job):
            return _report(kind, letter, job, "skipped", refusal)
        if kind == "convert":
            job = await self.jobs.requeue(letter.job_id)
            if job is None:
                return _report(kind, letter, job, "skipped", "the job changed meanwhile")
        await held.replay(letter, self._queues(kind)[1])
        note = "job reset to queued" if kind == "convert" else ""
        return _report(kind, letter, job, "replayed", note)

    async def _purged(
        self, held: HeldLetters, kind: Kind, letter: DeadLetter, job: Job | None
    ) -> Report:
        # The job fails before its letter goes: if failing it raises, the letter stays.
        if job is None or job.is_final:
            await held.discard(letter)
            return _report(kind, letter, job, "purged")
        await self.fail(
            job.job_id, JobError(code=FailureCode.RETRIES_EXHAUSTED, reason=PURGE_REASON)
        )
        await held.discard(letter)
        job = await self.jobs.get(job.job_id)
        return _report(kind, letter, job, "purged", "job failed (retries-exhausted)")


def _job_note(job: Job | None) -> str:
    if job is None:
        return "job no longer exists"
    return f"{job.error.code}: {job.error.reason}" if job.error is not None else ""


def _report(
    kind: Kind, letter: DeadLetter, job: Job | None, action: Action, note: str = ""
) -> Report:
    return Report(
        queue=kind,
        job_id=letter.job_id,
        type=letter.type,
        reason=letter.reason,
        deaths=letter.deaths,
        died_at=letter.died_at,
        replays=letter.replays,
        job_status=None if job is None else job.status.value,
        action=action,
        note=note,
    )
