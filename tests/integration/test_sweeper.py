"""Retention on a real MongoDB-wire server: what the sweeper removes, and everything it keeps."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.errors import AutoReconnect

from mp3converter.adapters.gridfs_store import FileMissing, GridFSStore
from mp3converter.adapters.gridfs_writer import GridFSWriter
from mp3converter.adapters.job_store import JobStore
from mp3converter.adapters.mongo import Database
from mp3converter.contracts import utcnow
from mp3converter.domain.jobs import Job, JobStatus
from mp3converter.domain.quotas import Usage
from mp3converter.usecases.retention import Sweeper, SweepReport, sweep_forever

GRACE_SECONDS = 1.0
DATA = b"x" * 300_000  # two GridFS chunks


async def one_chunk() -> AsyncIterator[bytes]:
    yield DATA


async def stored(store: GridFSStore, job_id: str = "") -> str:
    return (await store.save(one_chunk(), filename="f", metadata={"job_id": job_id})).file_id


async def unfinished_upload(db: Database) -> ObjectId:
    """Chunks of an upload that never completed (its process died before the files document)."""
    writer = GridFSWriter(db, "videos", 255 * 1024)
    await writer.write(DATA * 8)  # enough for a batch of chunks to be inserted
    return writer.file_id


def job(owner: str, status: JobStatus, **fields: object) -> Job:
    now = utcnow()
    return Job.model_validate(
        {
            "job_id": uuid.uuid4().hex,
            "owner_id": owner,
            "owner_email": f"{owner}@example.com",
            "filename": "clip.mp4",
            "status": status,
            "created_at": now,
            "updated_at": now,
            **fields,
        }
    )


@pytest.fixture
def stores(db: Database) -> tuple[JobStore, GridFSStore, GridFSStore]:
    return JobStore(db), GridFSStore(db, "videos"), GridFSStore(db, "mp3s")


async def files_of(jobs: JobStore, before: Job) -> tuple[str | None, str | None]:
    """The (video, MP3) file ids a job refers to now; the job must still exist."""
    now = await jobs.get(before.job_id)
    assert now is not None
    return now.video_file_id, now.mp3_file_id


async def exists(store: GridFSStore, file_id: str) -> bool:
    try:
        await store.info(file_id)
    except FileMissing:
        return False
    return True


async def test_one_sweep_removes_exactly_what_retention_says(
    db: Database, stores: tuple[JobStore, GridFSStore, GridFSStore]
) -> None:
    jobs, videos, mp3s = stores
    now = utcnow()
    past, future = now - timedelta(minutes=1), now + timedelta(days=1)

    # Old enough to be orphans by the time of the sweep.
    orphan_video = await stored(videos, "no-such-job")
    orphan_mp3 = await stored(mp3s, "no-such-job")
    dead_upload = await unfinished_upload(db)

    expired = job("ann", JobStatus.DONE, mp3_file_id=await stored(mp3s), mp3_size_bytes=len(DATA))
    expired = expired.model_copy(update={"expires_at": past, "purge_at": future})
    fresh = job("ann", JobStatus.DONE, mp3_file_id=await stored(mp3s), mp3_size_bytes=len(DATA))
    fresh = fresh.model_copy(update={"expires_at": future, "purge_at": future})
    purged = job(
        "ann",
        JobStatus.DONE,
        mp3_file_id=await stored(mp3s),
        video_file_id=await stored(videos),
        expires_at=past,
        purge_at=past,
    )
    failed_with_video = job(
        "bob", JobStatus.FAILED, video_file_id=await stored(videos), purge_at=future
    )
    queued = job("bob", JobStatus.QUEUED, video_file_id=await stored(videos))
    for each in (expired, fresh, purged, failed_with_video, queued):
        await jobs.add(each)

    # ObjectIds (which date unfinished uploads) count whole seconds.
    await asyncio.sleep(GRACE_SECONDS + 1.2)
    # Newer than the grace period: an upload still streaming, a file whose job is being written.
    live_upload = await unfinished_upload(db)
    new_video = await stored(videos, "job-being-recorded")

    sweeper = Sweeper(jobs, videos, mp3s, orphan_grace_seconds=GRACE_SECONDS)
    report = await sweeper.sweep()

    assert report == SweepReport(
        expired_mp3s=2, purged_jobs=1, final_videos=1, orphan_files=2, unfinished_uploads=1
    )
    after_expiry = await jobs.get(expired.job_id)
    assert after_expiry is not None
    assert (after_expiry.status, after_expiry.mp3_file_id) == (JobStatus.DONE, None)
    assert expired.mp3_file_id is not None
    assert not await exists(mp3s, expired.mp3_file_id)
    assert await jobs.get(purged.job_id) is None
    assert purged.mp3_file_id is not None
    assert purged.video_file_id is not None
    assert not await exists(mp3s, purged.mp3_file_id)
    assert not await exists(videos, purged.video_file_id)
    assert failed_with_video.video_file_id is not None
    assert not await exists(videos, failed_with_video.video_file_id)
    assert not await exists(videos, orphan_video)
    assert not await exists(mp3s, orphan_mp3)
    assert await db["videos.chunks"].count_documents({"files_id": dead_upload}) == 0

    # Kept: the unexpired MP3, the queued job's video, and whatever is younger than the grace.
    assert await files_of(jobs, fresh) == (fresh.video_file_id, fresh.mp3_file_id)
    assert fresh.mp3_file_id is not None
    assert await exists(mp3s, fresh.mp3_file_id)
    assert await files_of(jobs, queued) == (queued.video_file_id, None)
    assert queued.video_file_id is not None
    assert await exists(videos, queued.video_file_id)
    assert await exists(videos, new_video)
    assert await db["videos.chunks"].count_documents({"files_id": live_upload}) > 0

    assert await sweeper.sweep() == SweepReport()  # nothing left to do


async def test_usage_counts_jobs_in_flight_and_bytes_still_stored(
    stores: tuple[JobStore, GridFSStore, GridFSStore],
) -> None:
    jobs, _, _ = stores
    for each in (
        job("ann", JobStatus.QUEUED, video_file_id="v1", video_size_bytes=100),
        job("ann", JobStatus.CONVERTING, video_file_id="v2", video_size_bytes=200),
        job("ann", JobStatus.DONE, mp3_file_id="m1", mp3_size_bytes=30, video_size_bytes=999),
        job("ann", JobStatus.DONE, mp3_file_id=None, mp3_size_bytes=40),  # MP3 expired
        job("ann", JobStatus.FAILED, video_size_bytes=500),  # video deleted
        job("ann", JobStatus.FAILED, video_file_id="v4", video_size_bytes=50),  # not swept yet
        job("bob", JobStatus.QUEUED, video_file_id="v3", video_size_bytes=7),
    ):
        await jobs.add(each)

    assert await jobs.usage("ann") == Usage(jobs_in_flight=2, stored_bytes=380)
    assert await jobs.usage("bob") == Usage(jobs_in_flight=1, stored_bytes=7)
    assert await jobs.usage("nobody") == Usage(jobs_in_flight=0, stored_bytes=0)


async def test_operators_can_sweep_once_from_the_command_line(
    db: Database, mongodb_url: str, stores: tuple[JobStore, GridFSStore, GridFSStore]
) -> None:
    jobs, _, _ = stores
    old = job("ann", JobStatus.FAILED, purge_at=utcnow() - timedelta(seconds=1))
    await jobs.add(old)
    env = {**os.environ, "MONGODB_URL": mongodb_url, "MONGODB_DB": db.name}

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mp3converter", "sweep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "purged_jobs=1" in result.stdout.split()
    assert await jobs.get(old.job_id) is None


class FailingFirst(Sweeper):
    """A sweeper whose first pass meets a database outage."""

    passes = 0

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        self.passes += 1
        if self.passes == 1:
            raise AutoReconnect("the database went away")
        return await super().sweep(now)


async def test_sweeping_goes_on_every_interval_after_a_failed_sweep(
    stores: tuple[JobStore, GridFSStore, GridFSStore], caplog: pytest.LogCaptureFixture
) -> None:
    jobs, videos, mp3s = stores
    old = job("ann", JobStatus.FAILED, purge_at=utcnow() - timedelta(seconds=1))
    await jobs.add(old)
    sweeper = FailingFirst(jobs, videos, mp3s, orphan_grace_seconds=GRACE_SECONDS)

    sweeping = asyncio.create_task(sweep_forever(sweeper, interval_seconds=0.1))
    try:
        async with asyncio.timeout(10):
            while sweeper.passes < 4:
                await asyncio.sleep(0.02)
        assert not sweeping.done()  # it never ends on its own
    finally:
        sweeping.cancel()

    assert await jobs.get(old.job_id) is None  # purged by a pass after the failed one
    assert "retention sweep failed; next try in 0 s" in caplog.text
