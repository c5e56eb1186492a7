"""Converting one job: fetch the video, probe, run ffmpeg, store the MP3, record the outcome."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
from prometheus_client import Counter, Histogram
from pymongo.errors import PyMongoError

from mp3converter.adapters.ffmpeg import FfmpegConverter
from mp3converter.adapters.gridfs_store import FileMissing, GridFSStore
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.media_errors import MediaError
from mp3converter.adapters.rabbitmq import Broker
from mp3converter.adapters.scratch import scratch_dir
from mp3converter.contracts import ConvertVideo, JobFailed, JobSucceeded
from mp3converter.domain.filenames import mp3_name
from mp3converter.domain.jobs import FailureCode, Job, JobError, JobStatus

log = logging.getLogger(__name__)
OUTCOMES = Counter(
    "mp3converter_jobs_finished_total", "Jobs that reached a final state", ["outcome", "code"]
)
CONVERT_SECONDS = Histogram(
    "mp3converter_conversion_seconds",
    "Wall time of one conversion",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)


@dataclass
class Conversion:
    """Everything one conversion needs; built once per worker."""

    jobs: JobStore
    videos: GridFSStore
    mp3s: GridFSStore
    broker: Broker
    ffmpeg: FfmpegConverter
    work_dir: Path | None
    delete_source: bool
    timeout_seconds: float = 3600.0

    async def run(self, command: ConvertVideo) -> None:
        """Convert the job's video. Transient errors propagate so the command is redelivered."""
        job = await self.jobs.get(command.job_id)
        if job is None:
            log.warning("job %s does not exist (undone upload?); dropping command", command.job_id)
            return
        if job.is_final:
            log.info("job %s is already %s; republishing its outcome only", job.job_id, job.status)
            await self.publish_outcome(job)
            return
        job = await self.jobs.move(job.job_id, JobStatus.CONVERTING, progress=0.0)
        if job is None:
            return  # another delivery moved it meanwhile
        started = time.perf_counter()
        try:
            await self._convert(job, command)
        except MediaError as exc:
            await self.fail(job.job_id, JobError(code=exc.code, reason=exc.reason))
        except FileMissing:
            await self.fail(
                job.job_id,
                JobError(
                    code=FailureCode.SOURCE_MISSING, reason="the uploaded video is no longer stored"
                ),
            )
        finally:
            CONVERT_SECONDS.observe(time.perf_counter() - started)

    async def _convert(self, job: Job, command: ConvertVideo) -> None:
        async with scratch_dir(self.work_dir) as tmp:
            source, target = tmp / "source", tmp / "audio.mp3"
            await self._fetch(command.video_file_id, source)
            info = await self.ffmpeg.probe(source)

            async def on_progress(fraction: float) -> None:
                try:
                    await self.jobs.set_progress(job.job_id, round(min(fraction, 0.99), 3))
                except PyMongoError:
                    log.warning("progress of %s not recorded", job.job_id, exc_info=True)

            try:
                async with asyncio.timeout(self.timeout_seconds) as deadline:
                    result = await self.ffmpeg.convert(source, target, info, on_progress)
            except TimeoutError as exc:
                if not deadline.expired():
                    raise
                reason = f"conversion took longer than {self.timeout_seconds:g} s; stopped"
                raise MediaError(FailureCode.CONVERSION_TIMEOUT, reason) from exc
            name = mp3_name(job.filename)
            stored = await self.mp3s.save(
                _file_chunks(target),
                filename=name,
                metadata={
                    "owner_id": job.owner_id,
                    "job_id": job.job_id,
                    "content_type": "audio/mpeg",
                    "filename": name,
                },
            )
        done = await self.jobs.move(
            job.job_id,
            JobStatus.DONE,
            progress=1.0,
            mp3_file_id=stored.file_id,
            mp3_size_bytes=stored.size,
            duration_seconds=round(result.duration_seconds, 3),
        )
        if done is None:  # finished elsewhere meanwhile: keep theirs, drop ours
            await self.mp3s.delete(stored.file_id)
            return
        if self.delete_source:
            await self.videos.delete(command.video_file_id)
        OUTCOMES.labels("done", "").inc()
        await self.publish_outcome(done)

    async def _fetch(self, file_id: str, path: Path) -> None:
        # A local seekable file: ffmpeg cannot read an MP4 with its moov atom at the end from a pipe.
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in self.videos.read(file_id):
                await out.write(chunk)

    async def fail(self, job_id: str, error: JobError) -> None:
        """Fail the job (if it is not final yet) and announce it."""
        failed = await self.jobs.move(job_id, JobStatus.FAILED, error=error)
        if failed is None:
            return
        log.info("job %s failed: %s (%s)", job_id, error.reason, error.code)
        OUTCOMES.labels("failed", error.code).inc()
        await self.publish_outcome(failed)

    async def publish_outcome(self, job: Job) -> None:
        """Publish JobSucceeded or JobFailed; the same message id each time for one job."""
        if job.status is JobStatus.DONE:
            await self.broker.publish(
                JobSucceeded(
                    job_id=job.job_id,
                    owner_id=job.owner_id,
                    owner_email=job.owner_email,
                    filename=job.filename,
                    duration_seconds=job.duration_seconds or 0.0,
                    size_bytes=job.mp3_size_bytes or 0,
                )
            )
        elif job.status is JobStatus.FAILED and job.error is not None:
            await self.broker.publish(
                JobFailed(
                    job_id=job.job_id,
                    owner_id=job.owner_id,
                    owner_email=job.owner_email,
                    filename=job.filename,
                    code=job.error.code,
                    reason=job.error.reason,
                )
            )


async def _file_chunks(path: Path, size: int = 255 * 1024) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as source:
        while chunk := await source.read(size):
            yield chunk
