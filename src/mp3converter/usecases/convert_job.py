"""The conversion use case: fetch a job's video, probe, run ffmpeg, store the MP3, record the end."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from prometheus_client import Counter, Histogram
from pymongo.errors import PyMongoError

from mp3converter.adapters.ffmpeg import ConversionResult, FfmpegTranscoder, ProgressCallback
from mp3converter.adapters.gridfs_store import CHUNK_SIZE, FileMissing, GridFSStore, file_metadata
from mp3converter.adapters.gridfs_tail import UploadAbandoned, UploadStalled
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.media_errors import MediaError
from mp3converter.adapters.rabbitmq import Broker
from mp3converter.adapters.scratch import scratch_dir
from mp3converter.contracts import ConvertVideo, JobFailed, JobProgressed, JobSucceeded, utcnow
from mp3converter.domain.filenames import mp3_name
from mp3converter.domain.jobs import FailureCode, Job, JobError, JobStatus
from mp3converter.domain.retention import Retention
from mp3converter.domain.streamable import HEAD_BYTES, probe_bytes

log = logging.getLogger(__name__)
FETCH_BATCH_CHUNKS = 4  # 4 MiB of GridFS chunks
OUTCOMES = Counter(
    "mp3converter_jobs_finished_total", "Jobs that reached a final state", ["outcome", "code"]
)
# Every outcome is exported from the start, at 0: the first failure after a start is then an
# increase that rate() and the alert rules see, not a new series that appears at 1.
OUTCOMES.labels("done", "")
for _code in FailureCode:
    OUTCOMES.labels("failed", _code.value)
CONVERT_SECONDS = Histogram(
    "mp3converter_conversion_seconds",
    "Wall time of one conversion",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)


@dataclass
class ConvertJob:
    """Converts the jobs of ConvertVideo commands; built once per converter."""

    jobs: JobStore
    videos: GridFSStore
    mp3s: GridFSStore
    broker: Broker
    ffmpeg: FfmpegTranscoder
    work_dir: Path | None
    delete_source: bool
    retention: Retention = field(default_factory=Retention)
    # A video still uploading that sends nothing for this long is given up.
    upload_stall_seconds: float = 120.0

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
        log.info(
            "converting job %s (%s)", job.job_id, "as it uploads" if command.streaming else "stored"
        )
        started = time.perf_counter()
        try:
            await self._convert(job, command)
        except MediaError as exc:
            await self.fail(job.job_id, JobError(code=exc.code, reason=exc.reason))
        except UploadAbandoned:
            log.info("the upload of job %s was abandoned; nothing to convert", job.job_id)
        except UploadStalled as exc:
            reason = f"the upload stopped before the file was complete ({exc})"
            await self.fail(job.job_id, JobError(code=FailureCode.UPLOAD_INCOMPLETE, reason=reason))
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
            target = tmp / "audio.mp3"

            async def on_progress(fraction: float) -> None:
                await self._report(job, round(min(fraction, 0.99), 3))

            await self._report(job, 0.0)  # watchers learn that it converts
            if command.streaming and not command.options.needs_whole_file:
                result = await self._convert_arriving(job, command, target, on_progress)
            else:
                source = tmp / "source"
                await self._fetch(command.video_file_id, source)
                info = await self.ffmpeg.probe(source)
                result = await self.ffmpeg.convert(
                    source, target, info, on_progress, command.options
                )
            name = mp3_name(job.filename)
            stored = await self.mp3s.save(
                _file_chunks(target),
                filename=name,
                metadata=file_metadata(
                    owner_id=job.owner_id,
                    job_id=job.job_id,
                    filename=name,
                    content_type="audio/mpeg",
                ),
            )
        done = await self.jobs.move(
            job.job_id,
            JobStatus.DONE,
            progress=1.0,
            mp3_file_id=stored.file_id,
            mp3_size_bytes=stored.size,
            duration_seconds=round(result.duration_seconds, 3),
            loudness=None if result.loudness is None else result.loudness.model_dump(),
            **self.retention.when_done(utcnow()),
        )
        if done is None:  # finished elsewhere meanwhile: keep theirs, drop ours
            await self.mp3s.delete(stored.file_id)
            return
        OUTCOMES.labels("done", "").inc()
        log.info(
            "job %s done: %.1f s of audio, %d bytes",
            job.job_id,
            result.duration_seconds,
            stored.size,
        )
        await self.publish_outcome(done)
        if self.delete_source:
            await self._drop_source(done)

    async def _convert_arriving(
        self, job: Job, command: ConvertVideo, target: Path, on_progress: ProgressCallback
    ) -> ConversionResult:
        """Convert a video that can be read front to back while its upload goes on: ffmpeg reads
        GridFS chunks from its stdin as they land, after one probe of the file's head."""

        async def still_wanted() -> bool:
            return await self.jobs.get(job.job_id) is not None  # an abandoned upload is undone

        tail = self.videos.tail(
            command.video_file_id,
            still_wanted=still_wanted,
            stall_seconds=self.upload_stall_seconds,
        )
        chunks = tail.chunks()
        first: list[bytes] = []
        size, needed = 0, None
        async for chunk in chunks:
            first.append(chunk)
            size += len(chunk)
            if needed is None and size >= HEAD_BYTES:
                needed = probe_bytes(b"".join(first)[:HEAD_BYTES])
            if needed is not None and size >= needed:
                break
        head = b"".join(first)
        info = await self.ffmpeg.probe_head(head, target.parent)
        return await self.ffmpeg.convert_stream(
            _replay(head, chunks), target, info, on_progress, tail.fraction_read, command.options
        )

    async def _fetch(self, file_id: str, path: Path) -> None:
        # A local seekable file: ffmpeg cannot read an MP4 with its moov atom at the end from a pipe.
        # Chunks are written in batches: one hop to a worker thread per few MiB, not per chunk.
        with await anyio.to_thread.run_sync(path.open, "wb") as out:
            batch: list[bytes] = []
            async for chunk in self.videos.read(file_id):
                batch.append(chunk)
                if len(batch) >= FETCH_BATCH_CHUNKS:
                    await anyio.to_thread.run_sync(out.writelines, batch)
                    batch = []
            await anyio.to_thread.run_sync(out.writelines, batch)

    async def _report(self, job: Job, progress: float) -> None:
        # Told to live watchers first (the event is stamped when ffmpeg reported), then recorded
        # on the job; neither failing stops the conversion.
        try:
            await self.broker.publish(
                JobProgressed(job_id=job.job_id, owner_id=job.owner_id, progress=progress)
            )
        except Exception:
            log.warning("progress of %s not published", job.job_id, exc_info=True)
        try:
            await self.jobs.set_progress(job.job_id, progress)
        except PyMongoError:
            log.warning("progress of %s not recorded", job.job_id, exc_info=True)

    async def give_up(self, command: ConvertVideo) -> None:
        """A command that ran out of deliveries: its job fails, so no one waits forever."""
        reason = "conversion kept failing on a temporary error; giving up after retries"
        await self.fail(command.job_id, JobError(code=FailureCode.RETRIES_EXHAUSTED, reason=reason))

    async def fail(self, job_id: str, error: JobError) -> None:
        """Fail the job (if it is not final yet) and announce it."""
        failed = await self.jobs.move(
            job_id, JobStatus.FAILED, error=error, **self.retention.when_failed(utcnow())
        )
        if failed is None:
            return
        log.info("job %s failed: %s (%s)", job_id, error.reason, error.code)
        OUTCOMES.labels("failed", error.code).inc()
        await self.publish_outcome(failed)
        await self._drop_source(failed)  # a failed job's video is of no further use

    async def _drop_source(self, job: Job) -> None:
        # Best effort: the owner has heard already; the sweeper removes what is left behind.
        if job.video_file_id is None:
            return
        try:
            await self.videos.delete(job.video_file_id)
            await self.jobs.forget_file(job.job_id, "video_file_id")
        except PyMongoError:
            log.warning("video of job %s not deleted yet; the sweeper will", job.job_id)

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


async def _replay(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk


async def _file_chunks(
    path: Path, size: int = FETCH_BATCH_CHUNKS * CHUNK_SIZE
) -> AsyncIterator[bytes]:
    # Large reads: one hop to a worker thread per few MiB; the GridFS writer cuts the chunks.
    async with await anyio.open_file(path, "rb") as source:
        while chunk := await source.read(size):
            yield chunk
