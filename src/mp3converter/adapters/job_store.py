"""Jobs in MongoDB; every state change is one conditional update on the expected state."""

from __future__ import annotations

from typing import Any

from pymongo import DESCENDING, ReturnDocument

from mp3converter.adapters.mongo import Database, Document
from mp3converter.contracts import utcnow
from mp3converter.domain.jobs import ALLOWED_FROM, Job, JobError, JobStatus


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

    async def set_progress(self, job_id: str, progress: float) -> None:
        """Record progress of a converting job; never moves it backwards."""
        await self._jobs.update_one(
            {"_id": job_id, "status": JobStatus.CONVERTING.value, "progress": {"$lt": progress}},
            {"$set": {"progress": progress, "updated_at": utcnow()}},
        )

    async def delete(self, job_id: str) -> None:
        """Forget a job (only used to undo a job whose command could not be published)."""
        await self._jobs.delete_one({"_id": job_id})
