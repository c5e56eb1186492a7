"""Retention: removes expired MP3s, job records past their time, and files nobody refers to."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from pymongo.errors import PyMongoError

from mp3converter.adapters.gridfs_store import GridFSStore
from mp3converter.adapters.job_store import FileField, JobStore
from mp3converter.adapters.mongo import Database
from mp3converter.adapters.upload_keys import UploadKeys
from mp3converter.config import Settings
from mp3converter.contracts import utcnow
from mp3converter.domain.jobs import Job, JobStatus

log = logging.getLogger(__name__)
BATCH = 200
FILE_FIELDS: tuple[FileField, ...] = ("video_file_id", "mp3_file_id")
SWEPT = Counter("mp3converter_swept_total", "Things removed by the retention sweeper", ["kind"])


@dataclass
class SweepReport:
    """What one sweep removed."""

    expired_mp3s: int = 0
    purged_jobs: int = 0
    final_videos: int = 0
    orphan_files: int = 0
    unfinished_uploads: int = 0
    expired_upload_keys: int = 0


@dataclass
class Sweeper:
    """One pass deletes what retention says is no longer needed; safe to run from many replicas."""

    jobs: JobStore
    videos: GridFSStore
    mp3s: GridFSStore
    orphan_grace_seconds: float
    keep_done_videos: bool = False
    upload_keys: UploadKeys | None = None

    @classmethod
    def on(cls, db: Database, settings: Settings) -> Sweeper:
        """The sweeper of a deployment's database, with its settings."""
        return cls(
            JobStore(db),
            GridFSStore(db, "videos"),
            GridFSStore(db, "mp3s"),
            settings.orphan_grace_seconds,
            keep_done_videos=not settings.delete_source_after_success,
            upload_keys=UploadKeys(db),
        )

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        """Run every step once."""
        now = now or utcnow()
        report = SweepReport(
            expired_mp3s=await self._expire_mp3s(now),
            purged_jobs=await self._purge_jobs(now),
            final_videos=await self._drop_final_videos(),
        )
        cutoff = now - timedelta(seconds=self.orphan_grace_seconds)
        for field in FILE_FIELDS:
            report.orphan_files += await self._drop_orphans(field, cutoff)
            report.unfinished_uploads += await self._bucket(field).delete_unfinished(cutoff)
        if self.upload_keys is not None:
            report.expired_upload_keys = await self.upload_keys.forget_expired(now)
        for kind, count in vars(report).items():
            SWEPT.labels(kind).inc(count)
        return report

    async def _expire_mp3s(self, now: datetime) -> int:
        count = 0
        while batch := await self.jobs.with_expired_mp3(now, BATCH):
            for job in batch:
                await self._drop(job, "mp3_file_id")
            count += len(batch)
        return count

    async def _purge_jobs(self, now: datetime) -> int:
        count = 0
        while batch := await self.jobs.past_retention(now, BATCH):
            for job in batch:
                await self._drop(job, "video_file_id")
                await self._drop(job, "mp3_file_id")
                await self.jobs.delete(job.job_id)
            count += len(batch)
        return count

    async def _drop_final_videos(self) -> int:
        statuses = (
            [JobStatus.FAILED] if self.keep_done_videos else [JobStatus.FAILED, JobStatus.DONE]
        )
        count = 0
        while batch := await self.jobs.final_with_video(statuses, BATCH):
            for job in batch:
                await self._drop(job, "video_file_id")
            count += len(batch)
        return count

    def _bucket(self, field: FileField) -> GridFSStore:
        return self.videos if field == "video_file_id" else self.mp3s

    async def _drop(self, job: Job, field: FileField) -> None:
        file_id = job.video_file_id if field == "video_file_id" else job.mp3_file_id
        if file_id is not None:
            await self._bucket(field).delete(file_id)
            await self.jobs.forget_file(job.job_id, field)

    async def _drop_orphans(self, field: FileField, cutoff: datetime) -> int:
        store = self._bucket(field)
        count, after = 0, None
        while ids := await store.ids_completed_before(cutoff, after, BATCH):
            referenced = await self.jobs.referenced(field, ids)
            for file_id in ids:
                if file_id not in referenced:
                    await store.delete(file_id)
                    count += 1
            after = ids[-1]
        return count


async def sweep_forever(sweeper: Sweeper, interval_seconds: float) -> None:
    """Sweep now and then every interval; a failed sweep is logged and tried again next time."""
    while True:
        try:
            report = await sweeper.sweep()
            if any(vars(report).values()):
                log.info("retention sweep: %s", report)
        except PyMongoError:
            log.warning(
                "retention sweep failed; next try in %.0f s", interval_seconds, exc_info=True
            )
        await asyncio.sleep(interval_seconds)
