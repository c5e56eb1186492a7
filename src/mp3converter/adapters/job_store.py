"""Jobs in MongoDB; every state change is one conditional update on the expected state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pymongo import DESCENDING, ReturnDocument

from mp3converter.adapters.mongo import Database, Document
from mp3converter.contracts import utcnow
from mp3converter.domain.jobs import ALLOWED_FROM, FINAL, REQUEUABLE, Job, JobError, JobStatus
from mp3converter.domain.quotas import Usage

FileField = Literal["video_file_id", "mp3_file_id"]
IN_FLIGHT = [JobStatus.QUEUED.value, JobStatus.CONVERTING.value]


def _to_job(doc: Document) -> Job:
    return Job.model_validate({**doc, "job_id": doc["_id"]})


class JobStore:
    """Reads and moves jobs; a move that finds the job in another state changes nothing."""

    def __init__(self, db: Database) -> None:
        self._jobs = db.jobs

    async def add(self, job: Job) -> None:
        """Record a new job."""
        doc = job.model_dump(mode="python", exclude={"job_id"})
        await self._jobs.insert_one({"_id": job.job_id, **doc})

    async def get(self, job_id: str, owner_id: str | None = None) -> Job | None:
        """The job, or None; with owner_id, only if that user owns it."""
        query: Document = {"_id": job_id}
        if owner_id is not None:
            query["owner_id"] = owner_id
        doc = await self._jobs.find_one(query)
        return None if doc is None else _to_job(doc)

    async def list_for_owner(self, owner_id: str, limit: int, skip: int = 0) -> list[Job]:
        """A user's jobs, newest first."""
        cursor = self._jobs.find({"owner_id": owner_id}).sort("created_at", DESCENDING)
        docs = await cursor.skip(skip).limit(limit).to_list()
        return [_to_job(doc) for doc in docs]

    async def in_flight_for_owner(self, owner_id: str, limit: int) -> list[Job]:
        """A user's queued and converting jobs, newest first."""
        query: Document = {"owner_id": owner_id, "status": {"$in": IN_FLIGHT}}
        cursor = self._jobs.find(query).sort("created_at", DESCENDING).limit(limit)
        return [_to_job(doc) for doc in await cursor.to_list()]

    async def move(self, job_id: str, target: JobStatus, **fields: Any) -> Job | None:
        """Move the job to `target` if its state allows it; None if it did not move."""
        update: Document = {"status": target.value, "updated_at": utcnow(), **fields}
        if isinstance(update.get("error"), JobError):
            update["error"] = update["error"].model_dump()
        doc = await self._jobs.find_one_and_update(
            {"_id": job_id, "status": {"$in": [s.value for s in ALLOWED_FROM[target]]}},
            {"$set": update},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else _to_job(doc)

    async def requeue(self, job_id: str) -> Job | None:
        """Put a job back to queued at progress 0 for a replayed command (an operator's act,
        outside the normal state machine): only from REQUEUABLE states, and a failed job only if
        its video is still stored. None if the job does not exist or may not be requeued."""
        requeuable = [
            {"status": {"$in": [s.value for s in REQUEUABLE - FINAL]}},
            {
                "status": {"$in": [s.value for s in REQUEUABLE & FINAL]},
                "video_file_id": {"$ne": None},
            },
        ]
        doc = await self._jobs.find_one_and_update(
            {"_id": job_id, "$or": requeuable},
            {
                "$set": {"status": JobStatus.QUEUED.value, "progress": 0.0, "updated_at": utcnow()},
                "$unset": {"error": "", "expires_at": "", "purge_at": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else _to_job(doc)

    async def set_progress(self, job_id: str, progress: float) -> None:
        """Record progress of a converting job; never moves it backwards."""
        await self._jobs.update_one(
            {"_id": job_id, "status": JobStatus.CONVERTING.value, "progress": {"$lt": progress}},
            {"$set": {"progress": progress, "updated_at": utcnow()}},
        )

    async def delete(self, job_id: str) -> None:
        """Forget a job: an undone upload, or a record past its retention."""
        await self._jobs.delete_one({"_id": job_id})

    async def set_video_size(self, job_id: str, size: int) -> None:
        """Record the size of a video whose job was queued while it still uploaded."""
        await self._jobs.update_one({"_id": job_id}, {"$set": {"video_size_bytes": size}})

    async def forget_file(self, job_id: str, field: FileField) -> None:
        """Record that the job's video or MP3 is no longer stored."""
        await self._jobs.update_one({"_id": job_id}, {"$set": {field: None}})

    async def usage(self, owner_id: str) -> Usage:
        """Jobs of the owner not yet final, and the bytes of the files their jobs still hold.

        One pass over the owner's jobs (it runs twice per upload, and three queries cost a
        database three scans)."""

        def held(field: str, size: str) -> Document:
            # A file counts while the job refers to it: the field is there and not null.
            stored = {"$ne": [{"$ifNull": [f"${field}", None]}, None]}
            return {"$sum": {"$cond": [stored, {"$ifNull": [f"${size}", 0]}, 0]}}

        cursor = await self._jobs.aggregate(
            [
                {"$match": {"owner_id": owner_id}},
                {
                    "$group": {
                        "_id": None,
                        "in_flight": {"$sum": {"$cond": [{"$in": ["$status", IN_FLIGHT]}, 1, 0]}},
                        "videos": held("video_file_id", "video_size_bytes"),
                        "mp3s": held("mp3_file_id", "mp3_size_bytes"),
                    }
                },
            ]
        )
        totals = [doc async for doc in cursor]
        if not totals:
            return Usage(jobs_in_flight=0, stored_bytes=0)
        total = totals[0]
        return Usage(
            jobs_in_flight=int(total["in_flight"]),
            stored_bytes=int(total["videos"]) + int(total["mp3s"]),
        )

    async def with_expired_mp3(self, now: datetime, limit: int) -> list[Job]:
        """Done jobs whose MP3 is still stored past its expiry."""
        query = {
            "status": JobStatus.DONE.value,
            "mp3_file_id": {"$ne": None},
            "expires_at": {"$lte": now},
        }
        return await self._find(query, limit)

    async def past_retention(self, now: datetime, limit: int) -> list[Job]:
        """Jobs whose record is due to be deleted."""
        return await self._find({"purge_at": {"$lte": now}}, limit)

    async def final_with_video(self, statuses: Iterable[JobStatus], limit: int) -> list[Job]:
        """Final jobs (of these statuses) that still hold their video."""
        wanted = [s.value for s in statuses if s in FINAL]
        return await self._find({"status": {"$in": wanted}, "video_file_id": {"$ne": None}}, limit)

    async def referenced(self, field: FileField, file_ids: list[str]) -> set[str]:
        """Which of these file ids a job refers to."""
        cursor = self._jobs.find({field: {"$in": file_ids}}, {field: 1})
        return {doc[field] async for doc in cursor}

    async def _find(self, query: Document, limit: int) -> list[Job]:
        docs = await self._jobs.find(query).limit(limit).to_list()
        return [_to_job(doc) for doc in docs]
